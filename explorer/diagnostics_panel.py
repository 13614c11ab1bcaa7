"""The diagnostics panel of the stage pages: warnings about the current database.

:func:`plurel_core.diagnostics.diagnose` checks a generated database for degenerate output
(constant columns, dominant classes, foreign keys that ignore most parents, tables without
cross-table signal, ...) and names the prior likely behind each problem. The panel shows
them in an expander, collapsed by default: the counts first, then the items that concern the
page's stage in one tab and the other stages' behind their count in another.

The check runs only while the panel is open: it needs all three stages (on the Stage-1 and
Stage-2 pages, a Stage-3 generation). A page reserves the panel's place with
:func:`diagnostics_slot` and fills it with :func:`draw_diagnostics` after its own views:
the page's charts appear first, and the panel follows once the database exists. The result
is cached by the same keys as the database (:mod:`explorer.stages`); nothing runs when the
priors are invalid or the database is over the size limit.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

import streamlit as st

from plurel_core.config import Config
from plurel_core.diagnostics import (
    DOMINANT_CLASS_SHARE,
    EXTREME_MAGNITUDE,
    NEAR_CONSTANT_SHARE,
    NEAR_DUPLICATE_CORR,
    UNREFERENCED_SHARE,
    Diagnostic,
    diagnose,
)
from plurel_core.errors import PluRelError

from .controls import label_for
from .lessons import presenting
from .stages import cached_database, cached_schema, current_keys, size_problem, stage3_problem
from .ui import md_escape

__all__ = [
    "MAX_SHOWN",
    "PANEL_LABEL",
    "Finding",
    "Stage",
    "cached_diagnostics",
    "current_diagnostics",
    "diagnostics_label",
    "diagnostics_slot",
    "draw_diagnostics",
    "finding_markdown",
    "split_by_stage",
]

Stage = Literal["schema", "connectivity", "features"]
Area = Literal["fk", "column", "table"]

# a pathological config can flag hundreds of columns; the first ones say enough
MAX_SHOWN = 150

_STAGE_OF_SECTION = {
    "schema": "Stage 1",
    "connectivity": "Stage 2",
    "features": "Stage 3",
    "postprocess": "Stage 3",
}


@dataclass(frozen=True)
class Finding:
    """A diagnostic plus what it is about: a foreign key, a feature column or a whole table."""

    diagnostic: Diagnostic
    area: Area


@st.cache_data(max_entries=16, show_spinner="Checking the database for degenerate output…")
def cached_diagnostics(
    seed: int, schema_json: str, sql: str, connectivity_json: str, features_json: str, postprocess_json: str
) -> tuple[Finding, ...] | str:
    """The findings of ``diagnose`` on the cached database, or the message of a failed generation.

    Failures are returned (not raised) so they are cached too: the page that owns the failing
    stage shows the error; the panel only says it could not check.
    """
    try:
        db = cached_database(seed, schema_json, sql, connectivity_json, features_json, postprocess_json)
    except PluRelError as exc:
        return str(exc)
    fk_columns = {(child, fk.name) for child, fk in db.schema.foreign_keys()}
    out = []
    for d in diagnose(db):
        if d.column is None:
            area: Area = "table"
        elif (d.table, d.column) in fk_columns:
            area = "fk"
        else:
            area = "column"
        out.append(Finding(d, area))
    return tuple(out)


def current_diagnostics() -> tuple[tuple[Finding, ...] | None, str | None]:
    """``(findings, None)`` for the session's database, or ``(None, why not)``.

    Never generates a database the stage pages would refuse: invalid priors, a rejected SQL
    schema or a database over the size limit give a reason instead.
    """
    try:
        k = current_keys()
        schema = cached_schema(k.seed, k.schema, k.sql)
    except PluRelError:
        return None, "the priors or the SQL schema are not valid (see the message on this page)."
    if size_problem(schema) is not None:
        return None, "the database would exceed the explorer's size limit."
    if stage3_problem(schema, k.features) is not None:
        return None, "Stage 3 would exceed the explorer's memory or work budget."
    result = cached_diagnostics(k.seed, k.schema, k.sql, k.connectivity, k.features, k.postprocess)
    if isinstance(result, str):
        return None, f"the database could not be generated: {md_escape(result)}"
    return result, None


def _relevant(finding: Finding, stage: Stage) -> bool:
    prior = finding.diagnostic.prior or ""
    if stage == "schema":
        return prior.startswith("schema.")
    if stage == "connectivity":
        return finding.area == "fk" or prior.startswith("connectivity.")
    return finding.area != "fk"  # Stage 3: every column and table finding


def split_by_stage(findings: Sequence[Finding], stage: Stage) -> tuple[list[Finding], list[Finding]]:
    """``(findings that concern the stage, the others)``, each in ``diagnose``'s order.

    Stage 1: problems blamed on a schema prior; Stage 2: foreign-key problems (and anything
    blamed on a connectivity prior); Stage 3: column and table (feature) problems.
    """
    if stage not in ("schema", "connectivity", "features"):
        raise ValueError(f"stage: got {stage!r}; allowed: 'schema', 'connectivity', 'features'")
    mine = [f for f in findings if _relevant(f, stage)]
    rest = [f for f in findings if not _relevant(f, stage)]
    return mine, rest


def diagnostics_label(findings: Sequence[Finding] | None) -> str:
    """``Diagnostics (N warnings)`` (plus ``, M notes`` for informational items)."""
    if findings is None:
        return "Diagnostics (not run)"
    warnings = sum(f.diagnostic.severity == "warning" for f in findings)
    notes = len(findings) - warnings
    text = f"Diagnostics ({warnings} warning{'' if warnings == 1 else 's'}"
    if notes:
        text += f", {notes} note{'' if notes == 1 else 's'}"
    return text + ")"


def _prior_text(prior: str | None) -> str:
    if not prior:
        return ""
    try:
        Config.spec(prior)
    except (KeyError, ValueError, AttributeError):
        # not a path of this config: show it as plain text
        return f" · prior {md_escape(prior)}"
    stage = _STAGE_OF_SECTION.get(prior.split(".", 1)[0], "")
    return f" · prior `{prior}` ({md_escape(label_for(prior))}, {stage})"


def finding_markdown(finding: Finding) -> str:
    """One markdown bullet: severity, ``table.column`` (escaped), message (escaped), prior."""
    d = finding.diagnostic
    icon = ":material/warning:" if d.severity == "warning" else ":material/info:"
    where = d.table if d.column is None else f"{d.table}.{d.column}"
    return f"- {icon} **{md_escape(where)}** — {md_escape(d.message)}{_prior_text(d.prior)}"


def _bullets(findings: Sequence[Finding]) -> str:
    lines = [finding_markdown(f) for f in findings[:MAX_SHOWN]]
    if len(findings) > MAX_SHOWN:
        lines.append(f"- … and {len(findings) - MAX_SHOWN} more")
    return "\n".join(lines)


_STAGE_TITLE = {
    "schema": "Stage-1 priors",
    "connectivity": "Foreign keys",
    "features": "Feature columns and tables",
}


def diagnostics_slot(container: Any = None) -> Any:
    """Reserve the panel's place (an ``st.empty``) before the page draws its views."""
    where = container if container is not None else st
    return where.empty()


_OPEN_KEY = "diagnostics_open"
# the label is part of the panel's identity: it stays the same while the panel can be open,
# or each change would close it; the counts are inside
PANEL_LABEL = "Diagnostics: checks of the generated database"


def _panel_label() -> str:
    """The panel's label: fixed, except when the check cannot run at all."""
    try:
        keys = current_keys()
        if size_problem(cached_schema(keys.seed, keys.schema, keys.sql)) is not None:
            return "Diagnostics (not run: over the size limit)"
    except PluRelError:
        return "Diagnostics (not run)"
    return PANEL_LABEL


def draw_diagnostics(stage: Stage, slot: Any = None) -> tuple[Finding, ...] | None:
    """Draw the panel (into ``slot`` if given) and return the findings, or None when not run.

    Collapsed by default, and the check (which needs all three stages, so on the Stage-1 and
    Stage-2 pages a Stage-3 generation) runs only while the panel is open. Inside, the page's
    own stage comes first; the other stages' findings sit in a second tab behind their count.
    Not drawn in a lesson's presentation mode, which keeps the screen for the lesson's
    controls and chart.
    """
    if presenting():
        return None
    where = slot.container() if slot is not None else st.container()
    with where:
        panel = st.expander(_panel_label(), key=_OPEN_KEY, on_change="rerun", icon=":material/rule:")
        if not panel.open:
            return None
        findings, reason = current_diagnostics()
        with panel:
            if findings is None:
                st.markdown(f"Diagnostics were not run: {reason}")
                return None
            st.markdown(f"**{diagnostics_label(findings)}**")
            st.caption(
                "Checks on the database of the current priors and seed (`plurel_core.diagnostics`), each "
                "with the prior most likely behind it. Thresholds: one value or class above "
                f"{max(NEAR_CONSTANT_SHARE, DOMINANT_CLASS_SHARE):.0%} of the rows, |value| above "
                f"{EXTREME_MAGNITUDE:.0e}, |r| above {NEAR_DUPLICATE_CORR} between two columns, more "
                f"than {UNREFERENCED_SHARE:.0%} of a parent's rows never referenced."
            )
            if not findings:
                st.markdown(":material/check_circle: No problems found.")
                return findings
            mine, rest = split_by_stage(findings, stage)
            own, other = st.tabs([f"{_STAGE_TITLE[stage]} ({len(mine)})", f"Other stages ({len(rest)})"])
            with own:
                st.markdown(_bullets(mine) if mine else f"{_STAGE_TITLE[stage]}: nothing found.")
            with other:
                st.markdown(_bullets(rest) if rest else "Nothing found.")
    return findings
