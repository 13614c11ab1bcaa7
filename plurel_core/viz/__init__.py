"""Figure builders for the explorer: plotly figures and self-contained vis-network pages.

Pure functions of stage results (no Streamlit), so every view can be tested without a
browser.
"""

from .figures import (
    bipartite_sample,
    block_heatmap,
    block_link_counts,
    block_matrix_figure,
    correlation_frame,
    correlation_heatmap,
    degree_ccdf,
    degree_ccdf_points,
    degree_histogram,
    feature_figure,
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
from .network import (
    fit_height,
    generation_positions,
    network_html,
    safe_json,
    schema_graph_data,
    schema_graph_html,
    scm_graph_data,
    scm_graph_html,
    vis_network_js,
)

__all__ = [
    "bipartite_sample",
    "block_heatmap",
    "block_matrix_figure",
    "block_link_counts",
    "hsbm_level_labels",
    "correlation_frame",
    "correlation_heatmap",
    "degree_ccdf",
    "degree_ccdf_points",
    "degree_histogram",
    "feature_figure",
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
    "scm_graph_data",
    "scm_graph_html",
    "time_series_figure",
    "ts_components_figure",
    "unreferenced_share",
    "vis_network_js",
]
