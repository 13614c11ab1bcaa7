"""Each diagnostic fires on a database built to trigger it and stays silent on a clean one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from plurel_core.config import Config
from plurel_core.database import ColumnSpec
from plurel_core.diagnostics import Diagnostic, diagnose, diagnostics_markdown
from tests.test_stats import make_db

N_PARENT = 200
N_CHILD = 1000


def clean_frames(seed: int = 0) -> tuple[dict[str, pd.DataFrame], list[tuple[str, str, str]]]:
    """A parent and a child table with informative, independent, well-scaled columns."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=N_PARENT)
    parent = pd.DataFrame(
        {
            "x": x,
            "w": rng.uniform(0, 10, size=N_PARENT),
            "vip": rng.random(N_PARENT) < 0.5,
            "tier": rng.integers(0, 4, size=N_PARENT),
        }
    )
    ref = rng.integers(0, N_PARENT, size=N_CHILD)
    child = pd.DataFrame(
        {
            "parent": ref,
            "y": x[ref] + rng.normal(size=N_CHILD),
            "z": rng.gamma(2.0, size=N_CHILD),
            "flag": rng.random(N_CHILD) < 0.3,
        }
    )
    return {"parent": parent, "child": child}, [("child", "parent", "parent")]


def find(diags: list[Diagnostic], table: str, column: str | None, text: str) -> Diagnostic:
    hits = [d for d in diags if d.table == table and d.column == column and text in d.message]
    assert len(hits) == 1, f"expected one '{text}' on {table}.{column}, got {diags}"
    return hits[0]


def test_clean_database_has_no_diagnostics():
    frames, fks = clean_frames()
    assert diagnose(make_db(frames, fks)) == []


def with_child_column(name: str, values) -> list[Diagnostic]:
    frames, fks = clean_frames()
    frames["child"][name] = values
    return diagnose(make_db(frames, fks))


def test_constant_column():
    diags = with_child_column("c", np.full(N_CHILD, 2.5))
    d = find(diags, "child", "c", "constant column")
    assert "2.5" in d.message and d.severity == "warning"
    assert d.prior == "features.activations"
    assert len(diags) == 1


def test_near_constant_numerical_column():
    values = np.zeros(N_CHILD)
    values[:5] = [1.0, 2.0, 3.0, 4.0, 5.0]  # 99.5 % zeros
    diags = with_child_column("c", values)
    assert "99.5%" in find(diags, "child", "c", "near-constant").message
    assert len(diags) == 1


def test_dominant_class():
    values = np.ones(N_CHILD, dtype=bool)
    values[:3] = False
    diags = with_child_column("b", values)
    assert "99.7%" in find(diags, "child", "b", "dominant class").message
    assert len(diags) == 1


def test_dominant_class_of_a_binarised_categorical_blames_binarisation():
    frames, fks = clean_frames()
    values = np.ones(N_CHILD, dtype=bool)
    values[0] = False
    frames["child"]["b"] = values
    db = make_db(frames, fks)
    spec = db.schema.tables["child"]
    cols = tuple(
        ColumnSpec("b", "categorical", num_categories=7) if c.name == "b" else c for c in spec.columns
    )
    db.schema.tables["child"] = type(spec)(**{**spec.__dict__, "columns": cols})
    assert find(diagnose(db), "child", "b", "dominant class").prior == "postprocess.binarize_categoricals"


def test_extreme_magnitude():
    rng = np.random.default_rng(1)
    diags = with_child_column("big", rng.normal(size=N_CHILD) * 3e6)
    d = find(diags, "child", "big", "extreme magnitude")
    assert d.prior == "features.activation_clamp"
    assert len(diags) == 1


def test_near_duplicate_columns():
    frames, fks = clean_frames()
    rng = np.random.default_rng(2)
    frames["child"]["z2"] = 3 * frames["child"]["z"] - 1 + rng.normal(size=N_CHILD) * 1e-4
    diags = diagnose(make_db(frames, fks))
    assert "near-duplicate of z" in find(diags, "child", "z2", "near-duplicate").message
    assert len(diags) == 1


def test_column_removed_by_binarisation():
    frames, fks = clean_frames()
    db = make_db(frames, fks, extra_columns={"child": [ColumnSpec("gone", "categorical", num_categories=2)]})
    diags = diagnose(db)
    d = find(diags, "child", "gone", "removed by binarisation")
    assert d.severity == "info" and d.prior == "postprocess.binarize_categoricals"
    assert len(diags) == 1


def test_mostly_unreferenced_parents():
    frames, fks = clean_frames()
    # a second parent with 1000 rows, of which the children use only the first 50
    rng = np.random.default_rng(4)
    big = pd.DataFrame({"v": rng.normal(size=1000)})
    ref = np.arange(N_CHILD) % 50
    frames = {"big": big, **frames}
    frames["child"]["big"] = ref
    frames["child"]["y"] += big["v"].to_numpy()[ref]
    diags = diagnose(make_db(frames, [*fks, ("child", "big", "big")]))
    d = find(diags, "child", "big", "never referenced")
    assert "95.0%" in d.message and d.prior == "schema.activity_rows"
    assert len(diags) == 1


def test_children_on_a_handful_of_parents():
    frames, fks = clean_frames()
    # every parent referenced once, then 10 000 more children on parent 0
    ref = np.concatenate([np.arange(N_PARENT), np.zeros(10_000, dtype=np.int64)])
    rng = np.random.default_rng(5)
    x = frames["parent"]["x"].to_numpy()
    frames["child"] = pd.DataFrame({"parent": ref, "y": x[ref] + rng.normal(size=len(ref))})
    diags = diagnose(make_db(frames, fks))
    d = find(diags, "child", "parent", "point at only 5")
    assert d.prior == "connectivity.levels"
    assert not [x for x in diags if "never referenced" in x.message]
    assert len(diags) == 1


def test_table_without_cross_table_signal():
    frames, fks = clean_frames()
    rng = np.random.default_rng(6)
    frames["child"]["y"] = rng.normal(size=N_CHILD)  # no longer depends on the parent's x
    diags = diagnose(make_db(frames, fks))
    d = find(diags, "child", None, "no cross-table signal")
    assert "parent" in d.message
    assert len(diags) == 1


def test_every_blamed_prior_is_a_config_path():
    frames, fks = clean_frames()
    child = frames["child"]
    child["c"] = 1.0
    child["big"] = np.linspace(-2e6, 2e6, N_CHILD)
    child["b"] = np.arange(N_CHILD) > 0
    diags = diagnose(make_db(frames, fks, extra_columns={"parent": [ColumnSpec("gone", "categorical")]}))
    assert len(diags) >= 4
    assert diags[-1].severity == "info"  # warnings first
    for d in diags:
        Config().get(d.prior)


def test_markdown_rendering():
    assert diagnostics_markdown([]) == "No problems found."
    md = diagnostics_markdown(
        [
            Diagnostic("warning", "t_1", "col*", "constant column: <b>x</b>", "features.activations"),
            Diagnostic("info", "t", None, "removed", None),
        ]
    )
    lines = md.splitlines()
    assert len(lines) == 2 and lines[0].startswith("- ⚠️") and lines[1].startswith("- ℹ️")
    assert "`features.activations`" in lines[0]
    assert "<b>" not in md and "col\\*" in md and "t\\_1" in md


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_clean_database_stays_silent_across_seeds(seed):
    frames, fks = clean_frames(seed)
    assert diagnose(make_db(frames, fks)) == []
