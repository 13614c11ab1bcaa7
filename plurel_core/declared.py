"""Declared SQL types applied to generated values (a post-step of Stage 3 for SQL schemas).

Stage 3 draws every numerical column as real numbers on the scale its SCM gives. A
column imported from ``CREATE TABLE`` also carries what its declaration allows
(:class:`DeclaredType`, made by :mod:`plurel_core.sql`); :func:`conform_table` maps the
generated values into it, column by column, after the features are drawn and before the
tables are assembled:

- **Bounds from CHECK** — ``CHECK (x BETWEEN a AND b)``, ``CHECK (x >= a AND x < b)``
  (both sides given): the column is mapped affinely from its own [min, max] onto the
  declared range, so it fills it (a constant column takes the middle).
- **Otherwise**, for an integer or ``NUMERIC(p, s)`` column whose spread covers fewer than
  100 steps (1, or 10^-s), the values are first multiplied by a power of ten (a change
  of unit) until it does, so rounding keeps the column's variation; then a one-sided
  CHECK bound (``x > 0``) or the type's range (SMALLINT, TINYINT UNSIGNED, YEAR,
  NUMERIC(p, s)) shifts the column inside (or squeezes it affinely when it is wider).
- **Rounding** — integer types to whole numbers (``int64``, ``Int64`` with NULLs),
  ``NUMERIC(p, s)`` / ``DECIMAL(p, s)`` to ``s`` decimals; results stay within the bounds.
- **Labels** — a categorical column of an integer type (``INTEGER CHECK (x IN (1, 2, 3))``)
  gets integers instead of the label text.

Every map is monotone and per column, so the order of values and hence the dependence
between columns that Stage 3 built is kept. Missing values stay missing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

__all__ = ["DeclaredType", "INTEGER_RANGES", "conform_column", "conform_table"]

_I64 = 2**63 - 1024  # the largest int64 a float64 holds below 2**63
INTEGER_RANGES: dict[str, tuple[int, int]] = {
    "TINYINT": (-128, 127),
    "UTINYINT": (0, 255),
    "SMALLINT": (-32768, 32767),
    "USMALLINT": (0, 65535),
    "MEDIUMINT": (-8388608, 8388607),
    "UMEDIUMINT": (0, 16777215),
    "INT": (-(2**31), 2**31 - 1),
    "UINT": (0, 2**32 - 1),
    "BIGINT": (-_I64, _I64),
    "UBIGINT": (0, _I64),
    "SERIAL": (1, 2**31 - 1),
    "SMALLSERIAL": (1, 32767),
    "BIGSERIAL": (1, _I64),
    "YEAR": (1901, 2155),
}
MIN_STEPS = 100


@dataclass(frozen=True)
class DeclaredType:
    """What a column's declaration allows. ``None`` bounds are open.

    ``low`` / ``high``: bounds from CHECK constraints (``*_strict`` for ``>`` / ``<``);
    ``type_low`` / ``type_high``: the type's own range (integer width, NUMERIC(p, s));
    ``scale``: decimals of NUMERIC(p, s); ``labels``: the column is categorical, so only
    integer labels are turned into integers (codes are never rescaled).
    """

    integer: bool = False
    low: float | None = None
    high: float | None = None
    low_strict: bool = False
    high_strict: bool = False
    type_low: float | None = None
    type_high: float | None = None
    scale: int | None = None
    labels: bool = False  # a categorical column: only its labels become integers

    @property
    def step(self) -> float | None:
        if self.integer:
            return 1.0
        return 10.0**-self.scale if self.scale is not None else None

    def bounds(self) -> tuple[float, float]:
        """Closed bounds ``(lo, hi)`` every value must lie in (strict bounds moved inside)."""
        lo = -math.inf if self.low is None else float(self.low)
        hi = math.inf if self.high is None else float(self.high)
        step = self.step
        if self.integer:
            if math.isfinite(lo):
                lo = math.floor(lo) + 1 if self.low_strict and lo == math.floor(lo) else math.ceil(lo)
            if math.isfinite(hi):
                hi = math.ceil(hi) - 1 if self.high_strict and hi == math.ceil(hi) else math.floor(hi)
        else:

            def inside(b: float) -> float:
                return step if step is not None else 1e-6 * max(1.0, abs(b))

            if self.low_strict and math.isfinite(lo):
                lo += inside(lo)
            if self.high_strict and math.isfinite(hi):
                hi -= inside(hi)
            if step is not None:  # on the grid of representable values
                lo = math.ceil(round(lo / step, 6)) * step if math.isfinite(lo) else lo
                hi = math.floor(round(hi / step, 6)) * step if math.isfinite(hi) else hi
        if self.type_low is not None:
            lo = max(lo, self.type_low)
        if self.type_high is not None:
            hi = min(hi, self.type_high)
        return lo, hi


def _map_onto(v: np.ndarray, lo: float, hi: float) -> np.ndarray:
    mn, mx = float(v.min()), float(v.max())
    if mx == mn:
        return np.full_like(v, (lo + hi) / 2)
    return lo + (v - mn) * ((hi - lo) / (mx - mn))


def conform_column(values: pd.Series, declared: DeclaredType) -> pd.Series:
    """``values`` mapped into ``declared`` (see the module docstring)."""
    text = values.dtype == object or pd.api.types.is_string_dtype(values.dtype)
    if declared.labels or text:
        if not (declared.integer and text):
            return values
        numbers = pd.to_numeric(values, errors="coerce")
        if numbers[values.notna()].isna().any() or (numbers.dropna() % 1 != 0).any():
            return values  # labels that are not whole numbers stay text
        return numbers.astype("Int64") if numbers.isna().any() else numbers.astype(np.int64)
    if not pd.api.types.is_float_dtype(values.dtype) and not pd.api.types.is_integer_dtype(values.dtype):
        return values
    x = values.to_numpy(dtype=np.float64, na_value=np.nan)
    ok = np.isfinite(x)
    lo, hi = declared.bounds()
    if lo > hi:  # contradictory declaration: nothing fits, keep the values
        return values
    step = declared.step
    if ok.any():
        v = x[ok]
        if declared.low is not None and declared.high is not None:
            v = _map_onto(v, lo, hi)
        else:
            spread = float(v.max() - v.min())
            if step is not None and 0 < spread < MIN_STEPS * step:
                v = v * 10.0 ** math.ceil(math.log10(MIN_STEPS * step / spread))
            mn, mx = float(v.min()), float(v.max())
            if mx - mn > hi - lo:
                v = _map_onto(v, lo, hi)
            elif mn < lo:
                v = v + (lo - mn)
            elif mx > hi:
                v = v - (mx - hi)
        if step is not None:
            v = np.round(v / step) * step
            if not declared.integer:
                v = np.round(v, declared.scale)
        x = x.copy()
        x[ok] = np.clip(v, lo, hi)
    if declared.integer:
        if ok.all():
            return pd.Series(x.astype(np.int64), index=values.index, name=values.name)
        return pd.Series(
            pd.array(np.where(ok, x, 0).astype(np.int64), dtype="Int64"), index=values.index, name=values.name
        ).mask(~ok)
    return pd.Series(x, index=values.index, name=values.name)


def conform_table(df: pd.DataFrame, declared: dict[str, DeclaredType]) -> pd.DataFrame:
    """``df`` with every column named in ``declared`` conformed (other columns as they are)."""
    cols = [c for c in df.columns if c in declared]
    if not cols:
        return df
    out = df.copy()
    for c in cols:
        out[c] = conform_column(df[c], declared[c])
    return out
