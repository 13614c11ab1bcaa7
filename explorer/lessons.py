"""Lessons: a question, the state that answers it, what to look at and what to see.

A lesson is a URL: the page, the priors, the seed and the pinned A, plus ``lesson=<id>``
(a lesson of :data:`LESSONS`) or ``note=<text>`` (a lecturer's own question), and
``present=1`` for the presentation mode. Opening it restores the state and shows the
lesson's banner on every page; the presentation mode hides the sidebar and the controls
the lesson does not use, and enlarges text and charts for a projector.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

import streamlit as st

from . import state, urlextra
from .ui import md_escape

__all__ = [
    "LESSONS",
    "Lesson",
    "active_lesson",
    "apply_lesson",
    "draw_banner",
    "lesson_query",
    "presenting",
    "visible_controls",
]

NOTE_MAX = 300  # characters of a lecturer's note kept from a URL


@dataclass(frozen=True)
class Lesson:
    """One lesson: ``params`` are the URL parameters it sets (priors, seed, ``A.*``, view)."""

    id: str
    title: str
    page: str  # url_path of the page it opens on
    question: str
    look_at: str
    expect: str
    params: dict[str, str] = field(default_factory=dict)
    controls: tuple[str, ...] = ()  # the priors the lesson uses (shown in presentation mode)


LESSONS: tuple[Lesson, ...] = (
    Lesson(
        id="affinity",
        title="What the within-cluster affinity does to foreign keys",
        page="connectivity",
        question="A child row prefers parents in the HSBM cluster aligned with its own. What happens to "
        "the links when that preference (the within-cluster affinity) drops to the across affinity?",
        look_at="The block structure A beside B (one log colour scale) and the rows 'links in aligned "
        "clusters' and 'NMI child/parent cluster' of the summary table.",
        expect="A (affinity 0.9) puts almost every link on the block diagonal: nearly all links in aligned "
        "clusters and a high NMI. B (0.002, the across range) spreads the links over all blocks: the share "
        "in aligned clusters falls towards the blocks' share of the grid and the NMI towards 0. The schema "
        "and the row counts are the same (a Stage-2 change).",
        params={
            "preset": "small",
            "seed": "1",
            "A.preset": "small",
            "connectivity.within_affinity": "0.002",
        },
        controls=("connectivity.within_affinity", "connectivity.across_affinity"),
    ),
    Lesson(
        id="levels",
        title="How HSBM levels change FK degree distributions",
        page="connectivity",
        question="Each HSBM level cuts the rows of both tables into clusters again. What do more levels "
        "do to the number of children per parent row?",
        look_at="The degree shares and the log-log CCDF of A (one level of one cluster: no hierarchy) and "
        "B (four levels of 2 parent × 3 child clusters), overlaid on the same axes, and the summary table.",
        expect="A draws every parent uniformly: a narrow, Poisson-like degree distribution. In B one parent "
        "cluster per level is aligned with two child clusters, the other with one, and over four levels "
        "these shares multiply: some parents get many children and more get none (on seed 1 the "
        "unreferenced share rises from about 8 % to 20 % and the largest degree from about 6 to 10).",
        params={
            "preset": "small",
            "seed": "1",
            "A.preset": "small",
            "A.connectivity.levels": "1-1",
            "A.connectivity.parent_clusters": "1-1",
            "A.connectivity.child_clusters": "1-1",
            "connectivity.levels": "4-4",
            "connectivity.parent_clusters": "2-2",
            "connectivity.child_clusters": "3-3",
        },
        controls=("connectivity.levels", "connectivity.parent_clusters", "connectivity.child_clusters"),
    ),
    Lesson(
        id="isolation",
        title="Stage isolation: a Stage-3 change leaves the schema and keys alone",
        page="features",
        question="If only a Stage-3 prior changes (here the SCM aggregations), can the schema or the "
        "foreign keys change?",
        look_at="The banner of the A-beside-B block on the Features page, then the Connectivity and "
        "Schema pages with the same state.",
        expect="The page states that A's and B's schema and foreign keys are identical; only the feature "
        "values differ. Every stage draws from its own random stream, so the earlier stages are exactly "
        "the same database.",
        params={"preset": "small", "seed": "2", "A.preset": "small", "features.aggregations": "max"},
        controls=("features.aggregations",),
    ),
    Lesson(
        id="activations",
        title="How SCM activations shape feature distributions",
        page="features",
        question="The random MLPs of the SCM apply an activation at every node. What does restricting "
        "them to one activation do to the columns?",
        look_at="The feature densities of A (identity only) beside B (sign only), on shared bins.",
        expect="With identity, numerical columns are smooth mixtures of the sources. With sign, every "
        "node's output is −1, 0 or 1 before noise, so B's columns pile up on a few values (on seed 3 the "
        "three commonest values hold about a third of a column's rows, against about 6 % under A).",
        params={
            "preset": "small",
            "seed": "3",
            "A.preset": "small",
            "A.features.activations": "identity",
            "features.activations": "sign",
        },
        controls=("features.activations",),
    ),
    Lesson(
        id="transforms",
        title="What post-processing does to a column",
        page="features",
        question="After the SCM, each numerical column gets one of the post-processing transforms. What "
        "does the rank-uniform transform do compared with none?",
        look_at="The feature densities A (identity) beside B (rank_uniform).",
        expect="A keeps the SCM's skewed, heavy-tailed shapes; B maps every numerical column to an even "
        "spread over [0, 1]: flat histograms. Correlations by rank change little.",
        params={
            "preset": "small",
            "seed": "4",
            "A.preset": "small",
            "A.postprocess.transforms": "identity",
            "postprocess.transforms": "rank_uniform",
        },
        controls=("postprocess.transforms",),
    ),
    Lesson(
        id="layouts",
        title="Schema layouts: which DAG gives deeper schemas?",
        page="vary",
        question="Stage 1 draws the schema DAG from a layout. Which layouts give long chains of foreign "
        "keys, and which give wide, shallow schemas?",
        look_at="The panels (rows per table, with table and FK counts) for each layout on one seed, then "
        "the box plot of schema_depth over N seeds (run the sweeps).",
        expect="ReverseRandomTree and BarabasiAlbert schemas are tree-like with few foreign keys per "
        "table; WattsStrogatz adds more keys between tables. The depth distributions overlap on one seed "
        "but separate over many: one database says little about a prior.",
        params={
            "preset": "small",
            "seed": "0",
            "vary": "schema.layouts",
            "values": "BarabasiAlbert; ReverseRandomTree; WattsStrogatz",
        },
        controls=("schema.layouts",),
    ),
    Lesson(
        id="matched",
        title="Why compare on the same seeds",
        page="sweep",
        question="Does a change of the within-cluster affinity move the FK statistics, or is it noise "
        "between databases?",
        look_at="Run the sweeps, then the A / B tab: the matched-pairs table (Δ, its 95 % interval, d_z, "
        "the signed-rank p) and the densities.",
        expect="fk_locality_mean and fk_cluster_nmi_mean drop on every seed: the interval of Δ is far "
        "from 0 and |d_z| is large, although the spread across seeds is wide. Statistics of Stage 1 "
        "(tables, rows) have Δ exactly 0: the same seeds give the same schemas.",
        params={
            "preset": "small",
            "seed": "0",
            "n": "20",
            "A.preset": "small",
            "connectivity.within_affinity": "0.002",
        },
        controls=("connectivity.within_affinity",),
    ),
)
_BY_ID = {lesson.id: lesson for lesson in LESSONS}


def apply_lesson(lesson: Lesson) -> None:
    """Set the session to the lesson's state (priors, seed, pinned A, extras) at once."""
    from . import pinned
    from .urlstate import decode_state

    core, extra = urlextra.split_params({**lesson.params, "lesson": lesson.id})
    url_state, _ = decode_state(core)
    state.set_preset(url_state.preset)
    state.set_config(url_state.config)
    state.set_seed(url_state.seed)
    state.set_sql(None)
    urlextra.store(extra)
    a, _ = pinned.decode_pinned(extra)
    if a is None:
        pinned.unpin()
    else:
        pinned.set_pinned(*a)
    for key in ("vary_prior", "vary_values"):  # the Vary page re-reads them from the URL
        st.session_state.pop(key, None)


def lesson_query(lesson: Lesson, present: bool = False) -> str:
    """The query string that opens ``lesson``."""
    params = {**lesson.params, "lesson": lesson.id}
    if present:
        params["present"] = "1"
    return urlencode(params)


def active_lesson() -> Lesson | None:
    lid = urlextra.get_param("lesson")
    return _BY_ID.get(lid) if lid else None


def presenting() -> bool:
    return urlextra.get_param("present") == "1"


def visible_controls(paths: list[str]) -> list[str]:
    """In presentation mode with a lesson, only the priors the lesson uses."""
    lesson = active_lesson()
    if not presenting() or lesson is None:
        return paths
    return [p for p in paths if p in lesson.controls]


_PRESENT_CSS = """
<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"] {display: none;}
html, .stApp {font-size: 19px;}
.stMainBlockContainer {padding-top: 4.2rem; padding-bottom: 1rem; max-width: 100%;}
/* the lesson banner stands in for the page's title and its introduction */
[data-testid="stElementContainer"]:has(h1),
[data-testid="stElementContainer"]:has(h1) + [data-testid="stElementContainer"] {display: none;}
[data-testid="stExpander"] summary p, label p {font-size: 1.05rem !important;}
[data-testid="stMain"] h4 {font-size: 1.1rem; padding: 0.2rem 0;}
</style>
"""


def draw_banner() -> None:
    """The lesson banner (and the presentation mode's styles) on every page."""
    lesson = active_lesson()
    note = urlextra.get_param("note")
    lid = urlextra.get_param("lesson")
    if lid and lesson is None:
        urlextra.set_param("lesson", None)
        state.push_notice(f"lesson={lid[:20]!r} ignored: not a lesson ({', '.join(_BY_ID)}).")
    if presenting():
        st.html(_PRESENT_CSS)
    if lesson is None and not note:
        return
    with st.container(border=True):
        if lesson is not None:
            st.markdown(f"**Lesson · {md_escape(lesson.title)}** — {md_escape(lesson.question)}")
            with st.expander("What to look at, and what you should see", expanded=not presenting()):
                st.markdown(
                    f"**Look at:** {md_escape(lesson.look_at)}\n\n**You should see:** {md_escape(lesson.expect)}"
                )
        if note:
            st.markdown(f"**Question:** {md_escape(note[:NOTE_MAX])}")
