"""Priors: defaults, JSON round trip, presets, and validation that names every bad field."""

from __future__ import annotations

import dataclasses
import json

import pytest

from plurel_core import Config, ConfigError, config
from plurel_core.config import PRESETS, iter_priors, prior


def test_default_is_the_paper_preset_with_the_papers_numbers():
    cfg = Config()
    assert cfg == Config.preset("paper")
    assert cfg.schema.num_tables == (3, 20)
    assert cfg.schema.entity_rows == (500, 1000)
    assert cfg.schema.activity_rows == (2000, 5000)
    assert cfg.schema.num_cols == (3, 40)
    assert set(cfg.schema.layouts) == {"BarabasiAlbert", "ReverseRandomTree", "WattsStrogatz"}
    assert cfg.connectivity.levels == (1, 5)
    assert cfg.connectivity.within_affinity == 0.9
    assert cfg.connectivity.across_affinity == (0.001, 0.002)
    assert cfg.features.embedding_dim == 32
    assert len(cfg.features.activations) == 29
    assert len(cfg.features.scm_layouts) == 7
    assert cfg.postprocess.nan_frac == (0.01, 0.1)
    assert cfg.postprocess.binarize_categoricals is True


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_every_preset_is_valid_and_round_trips(name):
    cfg = Config.preset(name)
    assert cfg.problems() == []
    assert Config.from_json(cfg.to_json()) == cfg
    assert set(json.loads(cfg.to_json())) == {"schema", "connectivity", "features", "postprocess"}


def test_small_preset_is_small():
    s = Config.preset("small").schema
    assert 3 <= s.num_tables[0] and s.num_tables[1] <= 6
    assert s.activity_rows[1] <= 500 and s.entity_rows[0] >= 10


def test_round_trip_of_a_modified_config_is_exact():
    cfg = (
        Config()
        .with_value("schema.num_tables", (4, 4))
        .with_value("features.layout.er_p", (0.25, 0.5))
        .with_value("connectivity.across_affinity", (0.01, 0.05))
        .with_value("features.activations", ("tanh", "sin"))
        .with_value("postprocess.binarize_categoricals", False)
        .with_value("schema.time_start", "2000-02-29")
    )
    back = Config.from_json(cfg.to_json())
    assert back == cfg
    assert Config.from_json(back.to_json(indent=None)) == cfg
    assert set(cfg.diff(Config())) == {
        "schema.num_tables",
        "features.layout.er_p",
        "connectivity.across_affinity",
        "features.activations",
        "postprocess.binarize_categoricals",
        "schema.time_start",
    }


def test_missing_keys_keep_defaults():
    cfg = Config.from_dict({"schema": {"num_tables": [5, 6]}})
    assert cfg.schema.num_tables == (5, 6)
    assert cfg.schema.entity_rows == Config().schema.entity_rows


def _paths(exc: ConfigError) -> list[str]:
    return [p for p, _ in exc.errors]


def test_every_problem_is_reported_at_once_with_its_path_value_and_allowed():
    bad = {
        "schema": {
            "num_tables": [8, 3],  # lo > hi
            "layouts": [],  # empty set
            "entity_rows": [-5, 10],  # negative rows
            "categorical_prob": 1.5,  # probability outside [0, 1]
            "colour": "blue",  # unknown key
        },
        "connectivity": {"within_affinity": -0.1},
        "features": {"activations": ["relu", "swoosh"], "scm_layouts": ["Grid"]},
        "postprocess": {"nan_frac": [0.1, 2.0], "binarize_categoricals": "yes"},
        "extras": {},
    }
    with pytest.raises(ConfigError) as info:
        Config.from_dict(bad)
    paths = _paths(info.value)
    for expected in [
        "schema.num_tables",
        "schema.layouts",
        "schema.entity_rows",
        "schema.categorical_prob",
        "schema.colour",
        "connectivity.within_affinity",
        "features.activations",
        "features.scm_layouts",
        "postprocess.nan_frac",
        "postprocess.binarize_categoricals",
        "extras",
    ]:
        assert expected in paths, expected
    text = str(info.value)
    assert "[8, 3]" in text and "lo must not exceed hi" in text
    assert "swoosh" in text and "relu" in text  # the bad option and the allowed list
    assert "Grid" in text and "ReverseRandomTree" in text
    assert "1.5" in text and "[0, 1]" in text
    assert "unknown key" in text


@pytest.mark.parametrize(
    "path,value,needle",
    [
        ("schema.num_cols", (0, 5), "allowed range"),
        ("schema.num_tables", (2.5, 4), "integers"),
        ("schema.time_start", "1990-13-01", "YYYY-MM-DD"),
        ("schema.time_end", "1980-01-01", "after schema.time_start"),
        ("features.embedding_dim", 0, "allowed range"),
        ("features.layout.ws_k", (3,), "unknown option"),
        ("features.aggregations", ("sum", "sum"), "must not repeat"),
        ("connectivity.levels", (1, 9), "allowed range"),
        ("postprocess.transforms", ("log",), "unknown option"),
        ("schema.val_frac", 0.95, "schema.val_frac"),
    ],
)
def test_each_kind_of_invalid_value_is_named(path, value, needle):
    cfg = Config().with_value(path, value)
    with pytest.raises(ConfigError) as info:
        cfg.validate()
    assert needle in str(info.value)
    reported = _paths(info.value)
    assert path in reported or (path == "schema.val_frac" and "schema.test_frac" in reported)


def test_non_object_and_broken_json_are_rejected():
    with pytest.raises(ConfigError, match="expected an object"):
        Config.from_dict([1, 2])
    with pytest.raises(ConfigError, match="not valid JSON"):
        Config.from_json("{nope")
    with pytest.raises(ConfigError, match="schema"):
        Config.from_dict({"schema": 3})


def test_unknown_preset_lists_the_available_ones():
    with pytest.raises(ConfigError, match="paper"):
        Config.preset("huge")


def test_every_prior_has_help_and_a_spec():
    for section in ("schema", "connectivity", "features", "postprocess"):
        for path, _value, spec in iter_priors(getattr(Config(), section), section + "."):
            assert spec.help, path
            assert Config.spec(path) == spec


def test_a_prior_declared_with_prior_is_validated_and_read_from_json(monkeypatch):
    declared = prior(3, "int", "A prior added in a test.", lo=1, hi=5, label="New prior")
    extended = dataclasses.make_dataclass(
        "ConnectivityWithNewPrior",
        [("new_prior", int, declared)],
        bases=(config.ConnectivityPriors,),
        frozen=True,
    )
    monkeypatch.setitem(config.SECTIONS, "connectivity", extended)
    assert Config().connectivity.new_prior == 3
    assert Config.spec("connectivity.new_prior").label == "New prior"
    assert Config.from_json('{"connectivity": {"new_prior": 4.0}}').connectivity.new_prior == 4
    with pytest.raises(ConfigError, match=r"connectivity\.new_prior: got 9; allowed range is \[1, 5\]"):
        Config.from_dict({"connectivity": {"new_prior": 9}})


@pytest.mark.parametrize(
    ("args", "kwargs", "needle"),
    [
        ((0.5, "number", "help"), {"lo": 0.0, "hi": 1.0}, "prior kind 'number'"),
        ((0.5, "float", "help"), {"lo": 0.0}, "needs its bounds"),
        (((1, 2), "int_range", "help"), {}, "needs its bounds"),
        ((("a",), "set", "help"), {}, "needs its options"),
    ],
)
def test_a_prior_declaration_validation_could_not_read_fails_when_declared(args, kwargs, needle):
    with pytest.raises(ValueError, match=needle):
        prior(*args, **kwargs)
