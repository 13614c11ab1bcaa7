"""Reality check: where a real database sits in the distribution the priors induce.

Sanity-checking priors means asking whether databases like a real one are typical under
them. This module puts the :func:`~plurel_core.stats.database_stats` of a real database
(:mod:`plurel_core.real`) beside a sweep under the priors (:mod:`plurel_core.sweep`):

- :func:`placement`: per statistic, the real value, the sweep's central 95 % and median, the
  real value's percentile within the sweep, and a flag when it falls outside the central
  95 %;
- :func:`synthetic_twin`: a database generated from the real database's own schema under
  the priors (row counts, columns and values from the priors), and :func:`fk_comparison`,
  :func:`table_comparison`, :func:`column_comparison` to set the two side by side;
- :func:`suggest_priors`: a bounded, deterministic, stoppable search over chosen priors
  that moves the real statistics towards the middle of the sweep.

The ``compare`` subcommand of ``python -m plurel_core`` (:func:`add_arguments`,
:func:`run`) writes the placement as CSV or an offline HTML report with the charts.
"""

from __future__ import annotations

import argparse
import html
import math
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from .budget import COMMAND_LINE_BUDGET, Stage3Budget
from .cli_inputs import load_config
from .config import PRESETS, Config, short_repr
from .database import Database
from .errors import PriorError, RealDatabaseError, UsageError
from .generate import generate
from .stats import (
    STAT_FIELDS,
    column_kind,
    database_stats,
    feature_columns,
    fk_parent_positions,
    gini,
    spec_columns,
)
from .sweep import MAX_DATABASES, sweep

if TYPE_CHECKING:  # .real loads sqlglot (through .sql): see run()
    from .real import RealDatabase

__all__ = [
    "CENTRAL",
    "COMPARED_STATS",
    "SEARCH_PRIORS",
    "Comparison",
    "PriorSuggestion",
    "percentile_rank",
    "placement",
    "placement_score",
    "compare_real",
    "TWIN_ROWS",
    "synthetic_twin",
    "fk_degree_counts",
    "fk_comparison",
    "table_comparison",
    "column_comparison",
    "prior_candidates",
    "suggest_priors",
    "report_html",
    "write_report",
    "add_arguments",
    "run",
]

CENTRAL = 0.95  # a real value outside the sweep's central 95 % is flagged
# statistics that describe a database (not how it was made)
COMPARED_STATS: tuple[str, ...] = tuple(s for s in STAT_FIELDS if s not in ("layout", "generation_seconds"))
REPORT_SUFFIXES = (".csv", ".html")


# -- where it sits -----------------------------------------------------------------------


def percentile_rank(value: float, sample: Sequence[float] | np.ndarray) -> float:
    """Percentile (0–100) of ``value`` within ``sample``: the share of sample values below
    it plus half the share equal to it (mid-rank, so a value equal to a constant sample sits
    at 50). NaN if ``value`` is not finite or the sample has no finite values."""
    x = np.asarray(sample, dtype=np.float64)
    x = x[np.isfinite(x)]
    if not len(x) or value is None or not np.isfinite(value):
        return math.nan
    below = np.count_nonzero(x < value)
    equal = np.count_nonzero(x == value)
    return float(100.0 * (below + 0.5 * equal) / len(x))


def placement(real_stats: dict[str, Any], sweep_df: pd.DataFrame, central: float = CENTRAL) -> pd.DataFrame:
    """Per compared statistic: ``real``, the sweep's ``low`` / ``median`` / ``high`` (the
    central ``central`` interval), ``percentile`` of the real value in the sweep and
    ``outside`` (``"below"``, ``"above"`` or ``""``), plus ``databases`` (finite sweep values).

    A real value is outside when its percentile is below ``(1 - central) / 2`` × 100 or above
    ``(1 + central) / 2`` × 100.
    """
    if not 0 < central < 1:
        raise ValueError(f"central must be in (0, 1), got {central!r}")
    # rounded: 50 * (1 - 0.95) is 2.5000000000000022 in floating point
    lo_pct, hi_pct = round(50 * (1 - central), 9), round(50 * (1 + central), 9)
    rows = []
    for name in COMPARED_STATS:
        if name not in real_stats or name not in sweep_df.columns:
            continue
        values = pd.to_numeric(sweep_df[name], errors="coerce").to_numpy(dtype=np.float64)
        finite = values[np.isfinite(values)]
        real = float(real_stats[name]) if real_stats[name] is not None else math.nan
        pct = percentile_rank(real, finite)
        outside = ""
        if np.isfinite(pct):
            outside = "below" if pct < lo_pct else "above" if pct > hi_pct else ""
        q = np.quantile(finite, [lo_pct / 100, 0.5, hi_pct / 100]) if len(finite) else [math.nan] * 3
        rows.append(
            {
                "statistic": name,
                "real": real,
                "low": float(q[0]),
                "median": float(q[1]),
                "high": float(q[2]),
                "percentile": pct,
                "outside": outside,
                "databases": len(finite),
            }
        )
    return pd.DataFrame(
        rows, columns=["statistic", "real", "low", "median", "high", "percentile", "outside", "databases"]
    )


def placement_score(place: pd.DataFrame) -> float:
    """How far the real statistics sit from the middle of the sweep: the mean of
    ((percentile − 50) / 50)² over statistics with a percentile (0 = all at the median,
    1 = all at an extreme). NaN when no statistic has a percentile."""
    pct = pd.to_numeric(place["percentile"], errors="coerce").to_numpy(dtype=np.float64)
    pct = pct[np.isfinite(pct)]
    if not len(pct):
        return math.nan
    return float(np.mean(((pct - 50.0) / 50.0) ** 2))


@dataclass
class Comparison:
    """A real database against a sweep under ``config`` (seeds ``seed_offset`` …)."""

    real: RealDatabase
    config: Config
    real_stats: dict[str, Any]
    sweep: pd.DataFrame
    placement: pd.DataFrame
    seed_offset: int = 0
    same_schema: bool = False
    stopped: bool = False


def compare_real(
    real: RealDatabase,
    config: Config,
    num_dbs: int = 50,
    seed_offset: int = 0,
    workers: int = 1,
    *,
    same_schema: bool = False,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    budget: Stage3Budget = COMMAND_LINE_BUDGET,
) -> Comparison:
    """Statistics of ``real`` placed in a sweep of ``num_dbs`` databases under ``config``.

    ``same_schema``: the sweep generates from the real database's schema (row counts and
    features still from the priors) instead of sampling a schema per seed; the schema
    statistics then match by construction and only the rest is compared. ``budget``:
    Stage 3's limits for every database of the sweep.
    """
    real_stats = database_stats(real.db)
    table = sweep(
        config,
        num_dbs,
        seed_offset,
        workers,
        progress=progress,
        should_stop=should_stop,
        schema=real.ddl if same_schema else None,
        dialect="sqlite" if same_schema else None,
        budget=budget,
    )
    return Comparison(
        real=real,
        config=config,
        real_stats=real_stats,
        sweep=table,
        placement=placement(real_stats, table),
        seed_offset=seed_offset,
        same_schema=same_schema,
        stopped=len(table) < num_dbs,
    )


# -- the synthetic twin ------------------------------------------------------------------


TWIN_ROWS = ("priors", "real")


def synthetic_twin(
    real: RealDatabase,
    config: Config,
    seed: int = 0,
    rows: str = "priors",
    budget: Stage3Budget = COMMAND_LINE_BUDGET,
) -> Database:
    """A database generated under ``config`` from the real database's own schema: same
    tables, keys, foreign keys and columns; FK degrees and values from the priors.

    ``rows``: ``"priors"`` draws each table's row count from the schema priors (as a SQL
    schema import does); ``"real"`` keeps the real counts (an empty table gets one row, as
    its children need a parent), so degrees and values compare at equal size. ``budget``:
    Stage 3's limits, as in :func:`~plurel_core.generate.generate`.
    """
    from .sql import schema_from_sql  # loaded already by .real, which read `real`: see run()

    if rows not in TWIN_ROWS:
        raise ValueError(f"rows must be one of {list(TWIN_ROWS)}, got {rows!r}")
    config = config.validate()
    schema = schema_from_sql(real.ddl, config.schema, seed, dialect="sqlite")
    if rows == "real":
        for name, spec in schema.tables.items():
            n = max(len(real.db.tables[name].df), 1)
            schema.tables[name] = replace(spec, num_rows=n)
            schema.graph.nodes[name]["num_rows"] = n
    return generate(config, seed, schema=schema, budget=budget)


def fk_degree_counts(db: Database) -> dict[str, np.ndarray]:
    """``{"child(cols) → parent": children per parent row}`` for every resolvable FK (the
    same counts the FK statistics use; NULL and dangling references count for no parent)."""
    out: dict[str, np.ndarray] = {}
    for child, fk in db.schema.foreign_keys():
        pos = fk_parent_positions(db, child, fk)
        if pos is None:
            continue
        n_parent = len(db.tables[fk.parent].df)
        out[_fk_label(child, fk)] = np.bincount(pos[pos >= 0], minlength=n_parent)
    return out


def _fk_label(child: str, fk) -> str:
    return f"{child}({', '.join(fk.columns)}) → {fk.parent}"


def _degree_summary(counts: np.ndarray | None) -> dict[str, float]:
    if counts is None or not len(counts):
        return {"gini": math.nan, "unreferenced": math.nan, "max": math.nan}
    return {"gini": gini(counts), "unreferenced": float(np.mean(counts == 0)), "max": float(counts.max())}


def fk_comparison(real_db: Database, twin_db: Database) -> pd.DataFrame:
    """Per FK of the real schema: Gini of children per parent row, share of unreferenced
    parent rows and the largest number of children, real and twin side by side."""
    real_counts = fk_degree_counts(real_db)
    twin_counts = fk_degree_counts(twin_db)
    rows = []
    for label in dict.fromkeys([*real_counts, *twin_counts]):
        r = _degree_summary(real_counts.get(label))
        t = _degree_summary(twin_counts.get(label))
        rows.append(
            {
                "foreign key": label,
                "Gini real": r["gini"],
                "Gini twin": t["gini"],
                "unreferenced real": r["unreferenced"],
                "unreferenced twin": t["unreferenced"],
                "max children real": r["max"],
                "max children twin": t["max"],
            }
        )
    return pd.DataFrame(rows)


def table_comparison(real_db: Database, twin_db: Database) -> pd.DataFrame:
    """Rows per table, real and twin."""
    names = list(dict.fromkeys([*real_db.tables, *twin_db.tables]))
    return pd.DataFrame(
        {
            "table": names,
            "rows real": [len(real_db.tables[n].df) if n in real_db.tables else math.nan for n in names],
            "rows twin": [len(twin_db.tables[n].df) if n in twin_db.tables else math.nan for n in names],
        }
    )


def column_comparison(real_db: Database, twin_db: Database) -> pd.DataFrame:
    """Per feature column of the real database, matched by table and name: kind, share of
    missing values and number of distinct values, real and twin (NaN where the twin has no
    such column, e.g. dropped by binarisation)."""
    rows = []
    for name, table in real_db.tables.items():
        specs = spec_columns(real_db.schema.tables.get(name))
        twin = twin_db.tables.get(name)
        for col in feature_columns(real_db, name):
            s = table.df[col]
            t = twin.df[col] if twin is not None and col in twin.df.columns else None
            rows.append(
                {
                    "table": name,
                    "column": col,
                    "kind real": column_kind(s, specs.get(col)),
                    "kind twin": column_kind(t, spec_columns(twin_db.schema.tables.get(name)).get(col))
                    if t is not None
                    else "",
                    "NaN share real": float(s.isna().mean()) if len(s) else math.nan,
                    "NaN share twin": float(t.isna().mean()) if t is not None and len(t) else math.nan,
                    "distinct real": int(s.nunique(dropna=True)),
                    "distinct twin": int(t.nunique(dropna=True)) if t is not None else math.nan,
                }
            )
    return pd.DataFrame(rows)


# -- suggesting priors ---------------------------------------------------------------------

# priors the search may move (the issue of a real database is usually one of these)
SEARCH_PRIORS: dict[str, str] = {
    "schema.num_tables": "tables per database",
    "schema.entity_rows": "rows per entity table",
    "schema.activity_rows": "rows per activity table",
    "schema.num_cols": "feature columns per table",
    "connectivity.levels": "HSBM levels",
    "connectivity.within_affinity": "HSBM affinity within a block",
    "connectivity.across_affinity": "HSBM affinity across blocks",
    "postprocess.nan_frac": "missing share of float columns",
}


def _clip(v: float, lo: float | None, hi: float | None) -> float:
    if lo is not None:
        v = max(v, lo)
    if hi is not None:
        v = min(v, hi)
    return v


def prior_candidates(config: Config, path: str) -> list[Any]:
    """Values the search tries for one prior, near the current one: a range is shifted
    (by factors ¼, ½, 2, 4 for log-scaled priors and wide integer ranges, else by half and
    one width), or cut to its lower or upper half; a number is moved the same way. Valid
    values only, the current one excluded, in a fixed order."""
    spec = Config.spec(path)
    cur = config.get(path)
    out: list[Any] = []
    if spec.kind in ("int_range", "float_range"):
        lo, hi = cur
        is_int = spec.kind == "int_range"
        multiplicative = spec.log or (is_int and lo > 0 and hi / max(lo, 1) >= 1 and hi >= 50)
        if multiplicative:
            moves = [(lo * f, hi * f) for f in (0.25, 0.5, 2.0, 4.0)]
        elif is_int:
            width = max(hi - lo, 1)
            half = max(width // 2, 1)
            moves = [(lo + d, hi + d) for d in (-width, -half, half, width)]
        else:
            width = max(hi - lo, (spec.hi - spec.lo) / 20)
            moves = [(lo + d, hi + d) for d in (-width, -width / 2, width / 2, width)]
        if is_int:
            mid = (lo + hi) // 2
            moves += [(lo, mid), (min(mid + 1, hi), hi)]
        else:
            mid = (lo + hi) / 2
            moves += [(lo, mid), (mid, hi)]
        for a, b in moves:
            a, b = _clip(a, spec.lo, spec.hi), _clip(b, spec.lo, spec.hi)
            if is_int:
                a, b = int(round(a)), int(round(b))
            out.append((min(a, b), max(a, b)))
    elif spec.kind in ("int", "float"):
        if spec.log:
            moves = [cur * f for f in (0.25, 0.5, 2.0, 4.0)]
        else:
            step = (spec.hi - spec.lo) / 10 if spec.kind == "float" else 1
            moves = [cur + d for d in (-2 * step, -step, step, 2 * step)]
        for v in moves:
            v = _clip(v, spec.lo, spec.hi)
            out.append(int(round(v)) if spec.kind == "int" else float(v))
    else:
        raise PriorError(f"{path}: the search moves numbers and ranges, not {spec.kind} priors")
    seen: list[Any] = []
    for v in out:
        if v == cur or v in seen:
            continue
        if not config.with_value(path, v).problems():
            seen.append(v)
    return seen


@dataclass
class PriorSuggestion:
    """The result of :func:`suggest_priors`."""

    config: Config
    changes: dict[str, tuple[Any, Any]]
    before: pd.DataFrame
    after: pd.DataFrame
    score_before: float
    score_after: float
    evaluations: int
    stopped: bool = False
    history: list[dict[str, Any]] = field(default_factory=list)


def suggest_priors(
    real_stats: dict[str, Any],
    config: Config,
    priors: Sequence[str],
    *,
    num_dbs: int = 8,
    seed_offset: int = 0,
    max_evaluations: int = 24,
    rounds: int = 2,
    workers: int = 1,
    schema: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    should_stop: Callable[[], bool] | None = None,
    best_so_far: Callable[[PriorSuggestion], None] | None = None,
    allowed: Callable[[Config], bool] | None = None,
    budget: Stage3Budget = COMMAND_LINE_BUDGET,
) -> PriorSuggestion:
    """Move ``priors`` so the real statistics sit nearer the middle of the sweep.

    Coordinate search: for each prior in turn, try its :func:`prior_candidates`, each judged
    by :func:`placement_score` on a sweep of ``num_dbs`` databases (always the same seeds),
    and keep a candidate only if it lowers the score; at most ``rounds`` passes and
    ``max_evaluations`` sweeps (the baseline included). Deterministic for given arguments.
    ``progress(done, max_evaluations)`` after every sweep; when ``should_stop()`` turns
    true the best priors found so far are returned (``stopped``). ``best_so_far(result)``
    receives the result as it stands after every sweep (for a caller that may be
    interrupted, e.g. a page rerun). ``allowed(config)`` false skips a candidate without a
    sweep (e.g. one whose databases would be too large to generate here); ``budget``:
    Stage 3's limits for every database of every sweep.
    """
    unknown = [p for p in priors if p not in SEARCH_PRIORS]
    if unknown:
        raise PriorError(f"priors: {unknown} cannot be searched; choose from {list(SEARCH_PRIORS)}")
    if not priors:
        raise PriorError("priors: choose at least one prior to search")
    if isinstance(max_evaluations, bool) or not isinstance(max_evaluations, int) or max_evaluations < 2:
        raise PriorError(f"max_evaluations must be an integer ≥ 2, got {max_evaluations!r}")
    config = config.validate()
    done = 0
    history: list[dict[str, Any]] = []

    def stop() -> bool:
        return should_stop is not None and should_stop()

    def evaluate(cfg: Config) -> tuple[float, pd.DataFrame] | None:
        nonlocal done
        table = sweep(cfg, num_dbs, seed_offset, workers, should_stop=should_stop, schema=schema,
                      dialect="sqlite" if schema else None, budget=budget)  # fmt: skip
        if len(table) < num_dbs:
            return None  # stopped part-way: not a fair score
        done += 1
        place = placement(real_stats, table)
        if progress is not None:
            progress(done, max_evaluations)
        return placement_score(place), place

    if progress is not None:
        progress(0, max_evaluations)
    first = evaluate(config)
    if first is None:
        empty = placement(real_stats, pd.DataFrame())
        return PriorSuggestion(config, {}, empty, empty, math.nan, math.nan, 0, True)
    best_score, before = first
    best_cfg, best_place = config, before
    history.append({"prior": "(start)", "value": None, "score": best_score, "kept": True})
    stopped = False

    def snapshot(stopped: bool) -> PriorSuggestion:
        return PriorSuggestion(
            config=best_cfg,
            changes=config.diff(best_cfg),
            before=before,
            after=best_place,
            score_before=first[0],
            score_after=best_score,
            evaluations=done,
            stopped=stopped,
            history=list(history),
        )

    if best_so_far is not None:
        best_so_far(snapshot(True))
    for _ in range(rounds):
        improved = False
        for path in priors:
            for value in prior_candidates(best_cfg, path):
                if done >= max_evaluations or stop():
                    stopped = stop()
                    break
                cand = best_cfg.with_value(path, value)
                if allowed is not None and not allowed(cand):
                    history.append({"prior": path, "value": value, "score": math.nan, "kept": False})
                    continue
                result = evaluate(cand)
                if result is None:
                    stopped = True
                    break
                score, place = result
                kept = score < best_score - 1e-12
                history.append({"prior": path, "value": value, "score": score, "kept": kept})
                if kept:
                    best_score, best_cfg, best_place, improved = score, cand, place, True
                if best_so_far is not None:
                    best_so_far(snapshot(True))
            if stopped or done >= max_evaluations:
                break
        if stopped or done >= max_evaluations or not improved:
            break
    return snapshot(stopped)


# -- report ------------------------------------------------------------------------------


def _atomic_write(out: Path, data: bytes) -> None:
    directory = out.parent if str(out.parent) else Path(".")
    fd, tmp = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=directory)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, out)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _table_html(df: pd.DataFrame) -> str:
    # to_html escapes cell text: names from the file are shown as text
    return df.to_html(index=False, na_rep="–", float_format=lambda v: f"{v:.4g}", border=0, classes="t")


def report_html(comparison: Comparison, twin: Database | None = None, twin_seed: int | None = None) -> str:
    """A self-contained HTML page: notes, the placement table and charts, and the twin's
    side-by-side charts; plotly's script is inlined once (opens offline)."""
    from .viz import reality  # plotly: the viz extra is optional, only this report needs it

    real = comparison.real
    placed = [
        ("Percentile of the real database in the sweep", reality.percentile_figure(comparison.placement)),
        (
            "Distributions under the priors, the real value marked",
            reality.placement_figure(comparison.sweep, comparison.placement),
        ),
    ]
    twin_figures: list[tuple[str, Any]] = []
    tables: list[tuple[str, pd.DataFrame]] = []
    if twin is not None:
        rows = table_comparison(real.db, twin)
        twin_figures.append(("Rows per table: real and synthetic twin", reality.rows_figure(rows)))
        real_counts, twin_counts = fk_degree_counts(real.db), fk_degree_counts(twin)
        for label in real_counts:
            fig = reality.fk_overlay_figure(real_counts[label], twin_counts.get(label), label)
            twin_figures.append((f"Children per parent row: {label}", fig))
        tables += [
            ("Foreign keys", fk_comparison(real.db, twin)),
            ("Columns", column_comparison(real.db, twin)),
        ]

    def figures_html(figures: list[tuple[str, Any]], with_script: bool) -> str:
        # plotly.js goes inline with the first figure of the page only
        return "".join(
            f"<h3>{html.escape(title)}</h3>"
            + fig.to_html(
                full_html=False, include_plotlyjs=with_script and i == 0, config={"displaylogo": False}
            )
            for i, (title, fig) in enumerate(figures)
        )

    flagged = comparison.placement[comparison.placement["outside"] != ""]
    seeds = f"seeds {comparison.seed_offset}…{comparison.seed_offset + len(comparison.sweep) - 1}"
    summary = (
        f"{len(flagged)} of {comparison.placement['percentile'].notna().sum()} statistics outside the "
        f"central {CENTRAL:.0%} of {len(comparison.sweep)} databases ({seeds}"
        f"{', real schema' if comparison.same_schema else ''})."
    )
    notes = "".join(f"<li>{html.escape(n)}</li>" for n in real.notes) or "<li>nothing to note</li>"
    twin_html = "".join(f"<h3>{html.escape(t)}</h3>{_table_html(df)}" for t, df in tables)
    twin_head = (
        f"<h2>Synthetic twin (seed {twin_seed})</h2><p>Generated from the real schema under the same priors.</p>"
        if twin is not None
        else ""
    )
    priors = html.escape(comparison.config.to_json())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Reality check: {html.escape(real.name)}</title>
<style>
body {{ font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1300px; color: #1a202c; }}
table.t {{ border-collapse: collapse; font-size: 13px; }}
table.t td, table.t th {{ padding: 2px 8px; border-bottom: 1px solid #e2e8f0; text-align: right; }}
table.t td:first-child, table.t th:first-child {{ text-align: left; }}
details pre {{ font-size: 12px; }}
</style></head><body>
<h1>Reality check: {html.escape(real.name)}</h1>
<p>{html.escape(summary)}</p>
<h2>Where it sits</h2>
{_table_html(comparison.placement)}
{figures_html(placed, True)}
{twin_head}
{figures_html(twin_figures, False)}
{twin_html}
<h2>Reading the file</h2><ul>{notes}</ul>
<details><summary>Priors</summary><pre>{priors}</pre></details>
</body></html>
"""


def write_report(comparison: Comparison, out: str | os.PathLike, twin: Database | None = None,
                 twin_seed: int | None = None) -> Path:  # fmt: skip
    """Write the placement to ``out``: ``.csv`` (the table) or ``.html`` (the report),
    atomically (a temporary file in the same folder, then a rename)."""
    out = Path(out)
    suffix = out.suffix.lower()
    if suffix not in REPORT_SUFFIXES:
        raise UsageError(f"out must end in .csv or .html, got {short_repr(str(out))}")
    if suffix == ".csv":
        data = comparison.placement.to_csv(index=False).encode("utf-8")
    else:
        data = report_html(comparison, twin, twin_seed).encode("utf-8")
    _atomic_write(out, data)
    return out


# -- command line -----------------------------------------------------------------------

COMMAND_HELP = "place a real SQLite database in the distribution of a sweep under the priors"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``python -m plurel_core compare``."""
    parser.add_argument("--real", required=True, metavar="FILE", help="the real database: a SQLite file")
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--preset", choices=sorted(PRESETS), help="a named set of priors")
    group.add_argument("--config", metavar="FILE.json", help="priors as JSON (see Config.to_json)")
    parser.add_argument("--num-dbs", type=int, required=True, metavar="N", help="databases in the sweep")
    parser.add_argument("--seed-offset", type=int, default=0, metavar="K", help="first seed (default 0)")
    parser.add_argument("--workers", type=int, default=1, metavar="W", help="worker processes (default 1)")
    parser.add_argument(
        "--same-schema",
        action="store_true",
        help="generate the sweep from the real database's schema instead of sampling one per seed",
    )
    parser.add_argument("--out", required=True, metavar="FILE", help="report: .csv (table) or .html (charts)")
    parser.add_argument(
        "--twin-rows",
        choices=TWIN_ROWS,
        default="priors",
        help="row counts of the synthetic twin in the HTML report: drawn from the priors (default) or the real ones",
    )
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def _fail(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def run(args: argparse.Namespace) -> int:
    """Run ``compare``: 0 on success; 2 for bad arguments or an unreadable real database
    (one message on stderr, nothing written); 130 when interrupted (nothing written)."""
    try:
        config = load_config(args).validate()
        for name, value, lo, hi in (
            ("--num-dbs", args.num_dbs, 1, MAX_DATABASES),
            ("--seed-offset", args.seed_offset, 0, None),
            ("--workers", args.workers, 1, 256),
        ):
            if value < lo or (hi is not None and value > hi):
                raise UsageError(f"{name} must be in [{lo}, {hi if hi is not None else '…'}], got {value}")
        out = Path(args.out)
        if out.suffix.lower() not in REPORT_SUFFIXES:
            raise UsageError(f"--out must end in .csv or .html, got {short_repr(args.out)}")
        if not (out.parent if str(out.parent) else Path(".")).is_dir():
            raise UsageError(f"--out: the folder {short_repr(str(out.parent))} does not exist")
        # imported here, so that the command line's other commands start without sqlglot
        from .real import read_sqlite

        real = read_sqlite(args.real)
    except RealDatabaseError as exc:
        return _fail(f"--real: {exc}")
    except ValueError as exc:  # ConfigError, UsageError
        return _fail(str(exc))

    for note in real.notes:
        print(f"note: {note}", file=sys.stderr)

    def report(done: int, total: int) -> None:
        if not args.quiet:
            print(f"\rcompare: {done}/{total} databases", end="" if done < total else "\n", file=sys.stderr)

    start = time.perf_counter()
    try:
        comparison = compare_real(
            real, config, args.num_dbs, args.seed_offset, args.workers, same_schema=args.same_schema,
            progress=report,
        )  # fmt: skip
        twin = None
        if out.suffix.lower() == ".html":
            twin = synthetic_twin(real, config, args.seed_offset, rows=args.twin_rows)
        write_report(comparison, out, twin, args.seed_offset)
    except KeyboardInterrupt:
        print("\ncompare: interrupted, nothing written", file=sys.stderr)
        return 130
    except ValueError as exc:  # the priors cannot generate from the real schema
        return _fail(str(exc))
    flagged = comparison.placement[comparison.placement["outside"] != ""]
    print(
        f"wrote {out}: {len(flagged)} of {len(comparison.placement)} statistics of {real.name} outside the "
        f"central {CENTRAL:.0%} of {len(comparison.sweep)} databases"
        + (f" ({', '.join(flagged['statistic'])})" if len(flagged) else "")
        + f" in {time.perf_counter() - start:.1f} s"
    )
    return 0
