"""Stage 2 · Connectivity: how foreign keys pick parent rows (hierarchical block model)."""

from __future__ import annotations

import numpy as np
import streamlit as st

from explorer import state
from explorer.compare_views import draw_connectivity_comparison
from explorer.controls import stage_controls
from explorer.diagnostics_panel import diagnostics_slot, draw_diagnostics
from explorer.stages import current_foreign_keys, current_schema, preview_schema, row_scale
from explorer.ui import md_escape, preview_banner, run_or_report, short_count, view_select
from plurel_core.viz import (
    bipartite_sample,
    block_heatmap,
    block_link_counts,
    block_matrices_figure,
    degree_ccdf,
    degree_histogram,
    fk_degrees,
    hsbm_level_labels,
    row_cluster_labels,
    unreferenced_share,
)

st.title("Stage 2 · Connectivity")
st.caption(
    "Each child row gets one parent row per foreign key. Rows of both tables are cut into contiguous "
    "clusters at every HSBM level; a child prefers parents whose clusters align with its own "
    "(within-affinity) over the rest (across-affinity). More levels and clusters → tighter pools of parents."
)

controls, view = st.columns([1, 2.7], gap="medium")
with controls:
    stage_controls(["connectivity"])

with view:
    diagnostics = diagnostics_slot()  # filled last: the key charts draw first
    schema = run_or_report(current_schema)
    fks = run_or_report(current_foreign_keys)
    if preview_banner():
        schema = preview_schema(schema, row_scale(schema))
    if not fks.samples:
        st.info("This schema has no foreign keys (a single table): nothing to connect.")
        draw_diagnostics("connectivity", diagnostics)
        st.stop()
    labels = {
        f"{child}.{name}": f"{child}.{name} → {s.fk.parent}" for (child, name), s in fks.samples.items()
    }
    choice = view_select(
        "Foreign key",
        list(labels),
        "fk",
        help="child table . FK column → parent table",
        format_func=labels.get,
    )
    child, _, fk_name = choice.partition(".")
    draw_connectivity_comparison(choice)  # A beside B when A is pinned
    sample = next(s for (c, n), s in fks.samples.items() if f"{c}.{n}" == choice)
    parent = sample.fk.parent
    n_parent = schema.tables[parent].num_rows
    n_child = len(sample.parent_rows)
    degrees = fk_degrees(sample.parent_rows, n_parent)
    hsbm = sample.hsbm
    m = st.columns(5)
    m[0].metric("Child rows", short_count(n_child), help=f"{n_child:,} rows of {md_escape(child)}")
    m[1].metric("Parent rows", short_count(n_parent), help=f"{n_parent:,} rows of {md_escape(parent)}")
    m[2].metric(
        "Unreferenced",
        f"{unreferenced_share(degrees):.1%}",
        help="Share of the parent rows no child row points to.",
    )
    m[3].metric("Max children", int(degrees.max()) if len(degrees) else 0)
    if hsbm is not None:
        m[4].metric(
            "HSBM levels",
            hsbm.levels,
            help=f"parent clusters per level {list(hsbm.parent_clusters)}, child {list(hsbm.child_clusters)}",
        )
        st.caption(
            f"Clusters per level — parent side {list(hsbm.parent_clusters)}, child side {list(hsbm.child_clusters)} "
            f"→ {int(np.prod(hsbm.parent_clusters))} × {int(np.prod(hsbm.child_clusters))} base clusters."
        )
    else:
        m[4].metric("HSBM levels", "—", help="no block model behind this key (e.g. a 1:1 or deferred key)")
    left, right = st.columns(2)
    left.plotly_chart(degree_histogram(degrees), width="stretch")
    right.plotly_chart(degree_ccdf(degrees), width="stretch")
    if hsbm is not None:
        levels = ["base clusters"] + [f"level {i}" for i in range(hsbm.levels)]
        level = state.get_view("level")
        grain = st.segmented_control(
            "Clusters shown in the block structure",
            levels,
            default=f"level {level}" if f"level {level}" in levels else "base clusters",
            key=f"grain:{choice}",
            help="Base clusters are the finest cut (every level's digit); level l groups rows by their "
            "cluster at that HSBM level (level 0 is the coarsest).",
        )
        grain = grain or "base clusters"
        state.set_view("level", None if grain == "base clusters" else grain.split()[-1])
    else:
        grain = "row bins"
    if hsbm is None:
        parent_lab = row_cluster_labels(n_parent, None)
        child_lab = row_cluster_labels(n_child, None)
        what = "row bin"
    elif grain == "base clusters":
        parent_lab, child_lab, what = hsbm.parent_base, hsbm.child_base, "HSBM base cluster"
    else:
        level = int(grain.split()[-1])
        parent_lab = hsbm_level_labels(hsbm.parent_base, hsbm.parent_clusters, level)
        child_lab = hsbm_level_labels(hsbm.child_base, hsbm.child_clusters, level)
        what = f"level-{level} cluster"
    counts = block_link_counts(sample.parent_rows, parent_lab, child_lab)
    left, right = st.columns(2)
    left.plotly_chart(block_heatmap(counts, f"Links: parent × child ({what})", what=what), width="stretch")
    right.plotly_chart(bipartite_sample(sample.parent_rows, n_parent, child_lab), width="stretch")
    if hsbm is not None and hsbm.blocks:
        # built only while open (a closed expander's chart would still be made and sent)
        blocks = st.expander(
            "Block matrices B_l per level (one shared log colour scale)",
            key="block_matrices_open",
            on_change="rerun",
        )
        if blocks.open:
            with blocks:
                st.plotly_chart(block_matrices_figure(hsbm.blocks), width="stretch", key="block_matrices")

# needs Stage 3 too (cached); foreign-key findings first
draw_diagnostics("connectivity", diagnostics)
