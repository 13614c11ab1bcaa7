"""Registries are the one source of option names and traits: config, app and stages read them."""

from __future__ import annotations

import numpy as np
import pytest

from plurel_core import Config, ConfigError, generate
from plurel_core.config import PRESETS
from plurel_core.errors import PriorError
from plurel_core.graphs import EDGE_WEIGHTS, LAYOUTS
from plurel_core.mechanisms import ACTIVATIONS, AGGREGATIONS, INITS, random_activation
from plurel_core.postprocess import TRANSFORMS
from plurel_core.registry import Registry
from plurel_core.sources import SOURCES

SET_PRIORS = {
    "schema.layouts": LAYOUTS,
    "features.scm_layouts": LAYOUTS,
    "schema.layout.edge_weight_dists": EDGE_WEIGHTS,
    "features.source_types": SOURCES,
    "features.init_schemes": INITS,
    "features.activations": ACTIVATIONS,
    "features.aggregations": AGGREGATIONS,
    "postprocess.transforms": TRANSFORMS,
}


@pytest.mark.parametrize(("path", "registry"), SET_PRIORS.items())
def test_an_unknown_option_is_refused_naming_every_registered_one(path: str, registry: Registry) -> None:
    with pytest.raises(ConfigError) as err:
        Config().with_value(path, ("no_such_option",)).validate()
    [(where, message)] = err.value.errors
    assert where == path
    assert "'no_such_option'" in message
    assert f"allowed: {list(registry)}" in message


def test_a_registered_option_is_accepted_offered_and_left_out_of_the_defaults() -> None:
    path = "features.activations"
    cube = ACTIVATIONS.register("cube", lambda rng: lambda x: x * x * x)
    try:
        assert "cube" in Config.spec(path).options
        cfg = Config().with_value(path, ("tanh", "cube")).validate()
        assert Config.from_json(cfg.to_json()) == cfg
        assert "cube" not in Config().features.activations  # the paper's priors are unchanged
        assert ACTIVATIONS.lookup("cube") is cube
        db = generate(Config.preset("small").with_value(path, ("cube",)), 0)
        assert db.tables
    finally:
        ACTIVATIONS.unregister("cube")
    assert "cube" not in Config.spec(path).options
    with pytest.raises(ConfigError, match="cube"):
        Config().with_value(path, ("cube",)).validate()


def test_lookup_of_an_unknown_name_lists_the_registry() -> None:
    with pytest.raises(PriorError, match=r"unknown activation 'nope'; allowed: \['relu', 'elu'"):
        ACTIVATIONS.lookup("nope")
    with pytest.raises(ValueError, match="allowed:.*'tanh'"):
        random_activation(np.random.default_rng(0), ("nope",))


def test_registering_twice_or_removing_a_paper_option_is_refused() -> None:
    with pytest.raises(ValueError, match="already registered"):
        ACTIVATIONS.register("tanh", lambda rng: np.tanh)
    with pytest.raises(ValueError, match="paper's options"):
        ACTIVATIONS.unregister("tanh")
    assert "tanh" in ACTIVATIONS


def test_the_defaults_are_the_paper_options_of_each_registry() -> None:
    cfg = Config()
    assert cfg.features.activations == ACTIVATIONS.builtin()
    assert cfg.features.scm_layouts == LAYOUTS.builtin()
    assert cfg.postprocess.transforms == TRANSFORMS.builtin()
    assert len(cfg.features.activations) == 29
    assert PRESETS["paper"]["config"] == {}


def _app_group(path: str, label: str) -> tuple:
    from explorer.controls import set_choices

    return next(members for name, members in set_choices(path).items() if name.startswith(label + " ("))


@pytest.mark.parametrize("seed", range(6))
def test_bounded_activations_stay_within_the_bound_that_skips_their_clamp(seed: int) -> None:
    # the Stage-3 kernels skip the clamp of a "bounded" activation; the app offers the same
    # trait as its "bounded" quick choice (which once listed random_sines: a sum of sines
    # with N(0, 1) amplitudes, not bounded)
    x = np.linspace(-1e4, 1e4, 200_001, dtype=np.float32)
    bounded = _app_group("features.activations", "bounded")
    assert bounded == ACTIVATIONS.having("bounded")
    for name in bounded:
        fn = ACTIVATIONS[name](np.random.default_rng(seed))
        assert np.abs(fn(x.copy())).max() <= 7.0, name


def test_the_app_groups_are_the_registry_traits() -> None:
    assert (
        _app_group("schema.layouts", "trees") == LAYOUTS.having("tree") == ("RandomTree", "ReverseRandomTree")
    )
    assert _app_group("features.source_types", "i.i.d.") == ("uniform", "gaussian", "beta", "mixed")
    assert _app_group("features.init_schemes", "normal") == INITS.having("normal")
