"""Vary one prior: the values to try, parsed from text or split from the prior's range.

A value list is written ``v1; v2; …`` with each value in the URL syntax of
:mod:`explorer.urlstate` (``0.002``, ``2-4``, ``sum,max``, ``1``), so it also lives in the
URL as ``values=…``. Each value is checked against the config: the ones it rejects are
named and dropped.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from plurel_core.config import Config

from .urlstate import decode_value, encode_value

__all__ = [
    "MAX_VALUES",
    "STAGE_STATS",
    "format_values",
    "parse_values",
    "stage_of",
    "step_values",
    "value_label",
]

MAX_VALUES = 5
# the sweep statistic each stage's priors move most directly (the page offers all of them)
STAGE_STATS = {1: "tables", 2: "fk_locality_mean", 3: "parent_dependence_mean"}
_STAGE = {"schema": 1, "connectivity": 2, "features": 3, "postprocess": 3}


def stage_of(path: str) -> int:
    """The stage (1, 2 or 3) a prior path belongs to."""
    return _STAGE[path.split(".", 1)[0]]


def step_values(path: str, steps: int) -> list[Any]:
    """``steps`` (2–5) values spanning the prior's allowed range: evenly spaced (log-spaced
    for log priors); ranges become single points; sets try one option each; flags both."""
    if not 2 <= steps <= MAX_VALUES:
        raise ValueError(f"steps must be in [2, {MAX_VALUES}], got {steps}")
    spec = Config.spec(path)
    if spec.kind == "bool":
        return [False, True]
    if spec.kind == "set":
        return [(o,) for o in spec.options[:steps]]
    if spec.kind == "date" or spec.lo is None or spec.hi is None:
        raise ValueError(f"{path} has no range to split; type its values instead")
    lo, hi = float(spec.lo), float(spec.hi)
    if spec.log and lo > 0:
        points = np.geomspace(lo, hi, steps)
    else:
        points = np.linspace(lo, hi, steps)
    if spec.kind in ("int", "int_range"):
        points = np.unique(np.round(points).astype(int))
        values: list[Any] = [int(p) for p in points]
    else:
        values = [float(f"{p:.4g}") for p in points]
    if spec.kind.endswith("_range"):
        return [(v, v) for v in values]
    return values


def format_values(path: str, values: list[Any]) -> str:
    spec = Config.spec(path)
    return "; ".join(encode_value(spec, v) for v in values)


def parse_values(base: Config, path: str, text: str) -> tuple[list[Any], list[str]]:
    """Values of ``path`` from ``v1; v2; …`` and one message per value that was dropped
    (unparsable, rejected by the config, a repeat, or beyond :data:`MAX_VALUES`)."""
    spec = Config.spec(path)
    values: list[Any] = []
    problems: list[str] = []
    for item in (t.strip() for t in str(text).split(";")):
        if not item:
            continue
        shown = item if len(item) <= 20 else item[:19] + "…"
        try:
            value = decode_value(spec, item)
        except ValueError as exc:
            problems.append(f"{shown!r}: {exc}")
            continue
        errs = [m for p, m in base.with_value(path, value).problems() if p == path]
        if errs:
            problems.append(f"{shown!r}: {errs[0]}")
            continue
        if value in values:
            continue
        if len(values) == MAX_VALUES:
            problems.append(f"{shown!r}: at most {MAX_VALUES} values")
            continue
        values.append(value)
    return values, problems


def value_label(path: str, value: Any) -> str:
    """Short text of one value for a panel title."""
    text = encode_value(Config.spec(path), value)
    return text if len(text) <= 24 else text[:23] + "…"
