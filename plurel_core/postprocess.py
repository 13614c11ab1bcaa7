"""Post-processing of a table's raw SCM columns into its feature frame.

Per column, in the order of the table spec, with draws from ``stream(seed, "postprocess",
table)`` (one NaN share for the table, then one transform per float column, in column
order) and the missing rows from ``stream(seed, "postprocess", table, "nan", column)``:

- numerical columns: a transform from :data:`TRANSFORMS`, then ``⌊f · n⌋`` rows set to
  NaN, with one share ``f ~ U(nan_frac)`` for every float column of the table, except
  columns a SQL schema declares ``NOT NULL`` (``ColumnSpec.nullable`` false), which keep
  every value;
- categorical columns without labels: booleans ``code > 0`` when ``binarize_categoricals``
  (a column left with a single value is dropped), else the integer codes;
- boolean columns: ``code > 0``; categorical columns with labels: the label of each code;
- text columns: the string ``"<column>_<code>"`` (or the label when labels are given);
- date columns: the value's position between the column's minimum and maximum, mapped
  linearly into the window ``[t0, t1]`` as ``datetime64[s]``.

Only float columns ever hold NaN; no value is infinite.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pandas as pd

from .config import PostprocessPriors, sample_range, sample_set
from .database import TableSpec
from .registry import Registry
from .rng import stream

__all__ = ["TRANSFORMS", "postprocess_table", "implant_nans", "nan_count", "to_window"]


def _rank_uniform(x: np.ndarray) -> np.ndarray:
    # ordinal rank r of every value (ties broken by row order, so every value is distinct),
    # as (r + 1) / (n + 1)
    n = x.shape[0]
    out = np.empty(n, dtype=np.float64)
    out[np.argsort(x, kind="stable")] = np.arange(1, n + 1) / (n + 1.0)
    return out


def _standardize(x: np.ndarray) -> np.ndarray:
    if x.shape[0] == 0:
        return x.copy()
    # (x - mean) / max(std, 1e-8): a near-constant column stays near zero instead of being
    # blown up to unit scale
    centred = x - x.mean()
    return centred / max(float(centred.std()), 1e-8)


TRANSFORMS: Registry[Callable[[np.ndarray], np.ndarray]] = Registry(
    "transform",
    {
        "identity": lambda x: x.copy(),
        "rank_uniform": _rank_uniform,
        "signed_log1p": lambda x: np.copysign(np.log1p(np.abs(x)), x),
        "signed_sqrt": lambda x: np.copysign(np.sqrt(np.abs(x)), x),
        "standardize": _standardize,
    },
)
"""Float-column transforms: ``TRANSFORMS[name](x: float64 array) -> float64 array``."""


def nan_count(frac: float, n: int) -> int:
    """The rows a share ``frac`` of ``n`` sets missing: ``⌊frac · n⌋``."""
    return int(math.floor(frac * n))


def implant_nans(x: np.ndarray, frac: float, rng: np.random.Generator) -> np.ndarray:
    """A float copy of ``x`` with exactly ``⌊frac · n⌋`` uniformly chosen rows set to NaN."""
    if not 0.0 <= frac <= 1.0:
        raise ValueError(f"frac: got {frac!r}; expected a share in [0, 1]")
    out = np.array(x, dtype=np.float64, copy=True)
    m = nan_count(frac, out.shape[0])
    if m:
        out[rng.choice(out.shape[0], size=m, replace=False)] = np.nan
    return out


def to_window(x: np.ndarray, t0: pd.Timestamp, t1: pd.Timestamp) -> np.ndarray:
    """Values mapped linearly from ``[min, max]`` onto ``[t0, t1]`` as ``datetime64[s]``."""
    lo_s = pd.Timestamp(t0).value // 10**9
    hi_s = pd.Timestamp(t1).value // 10**9
    x = np.asarray(x, dtype=np.float64)
    if x.shape[0] == 0:
        return np.array([], dtype="datetime64[s]")
    lo, hi = float(x.min()), float(x.max())
    u = (x - lo) / (hi - lo) if hi > lo else np.zeros_like(x)
    secs = lo_s + np.floor(u * (hi_s - lo_s)).astype(np.int64)
    return np.clip(secs, lo_s, hi_s).astype("datetime64[s]")


def postprocess_table(
    spec: TableSpec,
    raw: dict,
    t0: pd.Timestamp,
    t1: pd.Timestamp,
    post: PostprocessPriors,
    seed: int,
) -> tuple[pd.DataFrame, dict[str, dict]]:
    """The feature frame of one table from its raw SCM columns, plus per-column details.

    ``raw[column]`` has ``.values`` (float for numerical/date columns, integer codes for
    the others). Details per column: ``output`` (dtype kind), ``transform`` and
    ``nan_frac`` (float columns), ``dropped`` (a binarised column left constant).
    """
    rng = stream(seed, "postprocess", spec.name)
    n = spec.num_rows
    # one NaN share for the whole table (every float column gets ⌊frac · n⌋ missing rows)
    frac = sample_range(rng, post.nan_frac)
    data: dict[str, object] = {}
    details: dict[str, dict] = {}
    for col in spec.columns:
        if col.name not in raw:
            continue
        v = raw[col.name].values
        info: dict[str, object] = {"kind": col.kind, "dropped": False}
        if col.kind == "numerical":
            transform = sample_set(rng, post.transforms)
            if transform not in TRANSFORMS:
                raise ValueError(f"transform: got {transform!r}; allowed: {list(TRANSFORMS)}")
            x = TRANSFORMS[transform](np.asarray(v, dtype=np.float64))
            # values beyond float64 range cannot arise (inputs are float32), but keep it finite
            x = np.nan_to_num(x, nan=0.0, posinf=np.finfo(np.float64).max, neginf=-np.finfo(np.float64).max)
            # a column's missing rows come from a stream of its own, so keeping a NOT NULL
            # column whole changes no other column
            col_frac = frac if col.nullable else 0.0
            nrng = stream(seed, "postprocess", spec.name, "nan", col.name)
            data[col.name] = implant_nans(x, col_frac, nrng)
            info.update(
                output="float", transform=transform, nan_frac=col_frac, nan_count=nan_count(col_frac, n)
            )
        elif col.kind == "date":
            data[col.name] = to_window(v, t0, t1)
            info.update(output="datetime")
        else:
            codes = np.asarray(v, dtype=np.int64)
            if col.kind == "boolean":
                data[col.name] = codes > 0
                info.update(output="bool")
            elif col.labels:
                data[col.name] = np.asarray(col.labels, dtype=object)[codes]
                info.update(output="label")
            elif col.kind == "text":
                data[col.name] = np.char.add(f"{col.name}_", codes.astype(str)).astype(object)
                info.update(output="text")
            elif post.binarize_categoricals:
                b = codes > 0
                if n > 0 and (b.all() or not b.any()):
                    info.update(output="bool", dropped=True)
                else:
                    data[col.name] = b
                    info.update(output="bool")
            else:
                data[col.name] = codes
                info.update(output="int")
        details[col.name] = info
    frame = pd.DataFrame(data, index=pd.RangeIndex(n))
    return frame, details
