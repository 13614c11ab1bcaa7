"""Figure builders for the explorer: plotly figures and self-contained vis-network pages.

Pure functions of stage results (no Streamlit), so every view can be tested without a
browser. They need plotly and pyvis, which the core's dependencies leave out: install the
``viz`` extra (``pip install 'plurel-explorer[viz]'``; the ``app`` extra includes it). The
rest of ``plurel_core`` never imports this package at module level.
"""

VIZ_EXTRA = "pip install 'plurel-explorer[viz]'"

try:
    import plotly  # noqa: F401
except ImportError as exc:  # a core-only install
    raise ImportError(
        f"plurel_core.viz draws its figures with plotly, which plurel_core does not install: {VIZ_EXTRA}"
    ) from exc

from .figures import (  # noqa: E402 (after the check above)
    bipartite_sample,
    block_heatmap,
    block_link_counts,
    block_matrices_figure,
    block_matrix_figure,
    correlation_frame,
    correlation_heatmap,
    degree_ccdf,
    degree_ccdf_points,
    degree_histogram,
    feature_figure,
    feature_grid_figure,
    fk_degrees,
    hsbm_level_labels,
    numeric_codes,
    pipeline_dot,
    row_cluster_labels,
    schema_table_frame,
    time_series_figure,
    ts_components_figure,
    unreferenced_share,
)
from .network import (  # noqa: E402
    SCHEMA_LEGEND,
    SCM_LEGEND,
    fit_height,
    generation_positions,
    network_html,
    safe_json,
    schema_graph_data,
    schema_graph_html,
    scm_frame_height,
    scm_graph_data,
    scm_graph_html,
    scm_graph_page,
    scm_node_counts,
    scm_parent_groups,
    vis_network_js,
)

__all__ = [
    "SCHEMA_LEGEND",
    "SCM_LEGEND",
    "bipartite_sample",
    "block_heatmap",
    "block_matrix_figure",
    "block_matrices_figure",
    "block_link_counts",
    "hsbm_level_labels",
    "correlation_frame",
    "correlation_heatmap",
    "degree_ccdf",
    "degree_ccdf_points",
    "degree_histogram",
    "feature_figure",
    "feature_grid_figure",
    "fit_height",
    "fk_degrees",
    "generation_positions",
    "network_html",
    "numeric_codes",
    "pipeline_dot",
    "row_cluster_labels",
    "safe_json",
    "schema_graph_data",
    "schema_graph_html",
    "schema_table_frame",
    "scm_frame_height",
    "scm_graph_data",
    "scm_graph_html",
    "scm_graph_page",
    "scm_node_counts",
    "scm_parent_groups",
    "time_series_figure",
    "ts_components_figure",
    "unreferenced_share",
    "vis_network_js",
]
