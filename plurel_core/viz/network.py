"""vis-network HTML pages for the schema DAG and each table's SCM graph.

A page either inlines the vis-network script shipped inside the ``pyvis`` package (a
self-contained file, about 480 KB) or loads it from ``script_src``, a same-origin path where
the app serves that same script, so each graph page is a few KB and the browser parses
the script from its cache. Nothing else is linked, so graphs render offline. Every name that reaches the page (table, column
and node names can come from an uploaded schema) is treated as untrusted text: node labels
are drawn on the canvas, tooltips are set as text (vis-network assigns string titles via
``innerText``), and the JSON embedded in the script escapes ``<``, ``>`` and ``&`` so no
name can close the script tag.
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import networkx as nx

from ..database import Schema, SCMTrace, TableSpec
from . import VIZ_EXTRA

__all__ = [
    "ENTITY_STYLE",
    "ACTIVITY_STYLE",
    "SCM_STYLES",
    "UNUSED_STYLE",
    "SCHEMA_LEGEND",
    "SCM_LEGEND",
    "fit_height",
    "generation_positions",
    "network_html",
    "safe_json",
    "schema_graph_data",
    "schema_graph_html",
    "table_tooltip",
    "scm_frame_height",
    "scm_graph_data",
    "scm_graph_html",
    "scm_graph_page",
    "scm_node_counts",
    "scm_parent_groups",
    "vis_network_js",
]

ENTITY_STYLE = {"shape": "box", "color": {"background": "#dbe9f6", "border": "#2b6cb0"}}
ACTIVITY_STYLE = {"shape": "ellipse", "color": {"background": "#fde2c8", "border": "#c05621"}}
SCM_STYLES = {
    "source": {"shape": "triangle", "color": {"background": "#c6f6d5", "border": "#2f855a"}},
    "latent": {"shape": "dot", "color": {"background": "#e2e8f0", "border": "#718096"}},
    "column": {"shape": "box", "color": {"background": "#fefcbf", "border": "#b7791f"}},
    "parent": {"shape": "diamond", "color": {"background": "#e9d8fd", "border": "#6b46c1"}},
}
# a node that reaches no column keeps its kind's shape, greyed out: it cannot affect the data
UNUSED_STYLE = {"color": {"background": "#f7fafc", "border": "#cbd5e0"}, "font": {"color": "#a0aec0"}}
# the graphs' legends (label → node background), from the styles the graphs use
SCHEMA_LEGEND = {
    "entity table": ENTITY_STYLE["color"]["background"],
    "activity table": ACTIVITY_STYLE["color"]["background"],
}
SCM_LEGEND = {
    "source node": SCM_STYLES["source"]["color"]["background"],
    "latent node": SCM_STYLES["latent"]["color"]["background"],
    "column node": SCM_STYLES["column"]["color"]["background"],
    "parent-table input": SCM_STYLES["parent"]["color"]["background"],
    "reaches no column (not evaluated)": UNUSED_STYLE["color"]["background"],
}
_MAX_LABEL = 28
# an absolute path on the app's own origin, of characters that need no escaping in HTML
_SAME_ORIGIN_PATH = re.compile(r"/(?!/)[A-Za-z0-9._/-]*")


@functools.lru_cache(maxsize=1)
def vis_network_js() -> str:
    """The vis-network standalone script bundled with pyvis (newest version found)."""
    try:
        import pyvis  # the viz extra is optional, and only the graph pages need pyvis
    except ImportError as exc:
        raise ImportError(
            f"the graph pages inline the vis-network script shipped with pyvis: {VIZ_EXTRA}"
        ) from exc

    lib = Path(pyvis.__file__).parent / "lib"
    candidates = sorted(lib.glob("vis-*/vis-network.min.js"), key=lambda p: _version_key(p.parent.name))
    if not candidates:
        raise FileNotFoundError(f"no vis-network.min.js under {lib}")
    text = candidates[-1].read_text(encoding="utf-8")
    if "</script" in text.lower():  # would end the inline script early
        raise ValueError("vis-network script contains a closing script tag; cannot inline it")
    return text


def _version_key(name: str) -> tuple[int, ...]:
    parts = name.removeprefix("vis-").split(".")
    return tuple(int(p) if p.isdigit() else 0 for p in parts)


def safe_json(obj: Any) -> str:
    """JSON that is safe inside an HTML ``<script>``: ``<``, ``>``, ``&`` and line separators escaped."""
    text = json.dumps(obj, ensure_ascii=False, allow_nan=False)
    return (
        text.replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


_TEMPLATE = """<!DOCTYPE html>
<html><head><meta charset="utf-8">
<style>
html, body {{ margin: 0; padding: 0; background: #ffffff; }}
#graph {{ width: 100%; height: {height}px; }}
html:fullscreen #graph {{ height: 100vh; }}
#tools {{ position: absolute; top: 6px; right: 6px; z-index: 4; display: flex; gap: 4px; }}
#tools button {{ font: 12px sans-serif; padding: 2px 8px; border: 1px solid #a0aec0; border-radius: 4px;
  background: #ffffffe6; color: #2d3748; cursor: pointer; }}
#tools button:hover {{ background: #edf2f7; }}
div.vis-tooltip {{ position: absolute; visibility: hidden; padding: 6px 8px; white-space: pre;
  font: 11px/1.3 ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: #1a202c;
  background: #fffdf2; border: 1px solid #a0aec0; border-radius: 4px;
  box-shadow: 2px 2px 8px rgba(0,0,0,.18); pointer-events: none; z-index: 5; }}
</style>
{script}
</head><body>
<div id="tools"><button id="fit" title="Fit the whole graph into the frame">Fit</button>
<button id="full" title="Show the graph full screen (Esc leaves)">Full screen</button></div>
<div id="graph"></div>
<script>
(function () {{
  var data = {data};
  // edges come as [from, to, title, style]: an SCM can have thousands, most sharing a style
  var edges = data.edges.map(function (e) {{
    var edge = Object.assign({{}}, data.edgeStyles[e[3]]);
    edge.from = e[0];
    edge.to = e[1];
    if (e[2] !== null) edge.title = e[2];
    return edge;
  }});
  var network = new vis.Network(
    document.getElementById("graph"),
    {{ nodes: new vis.DataSet(data.nodes), edges: new vis.DataSet(edges) }},
    data.options
  );
  // groups of nodes drawn as one node until clicked (e.g. a parent table's input columns)
  var groups = data.groups || [];
  function collapse(g) {{
    network.cluster({{
      joinCondition: function (node) {{ return node.cid === g.cid; }},
      clusterNodeProperties: g.node
    }});
  }}
  groups.forEach(collapse);
  // fit the drawing, but never magnify a small graph beyond its natural size
  function fit() {{
    network.fit({{ animation: false }});
    if (network.getScale() > 1) network.moveTo({{ scale: 1, animation: false }});
  }}
  network.on("click", function (p) {{
    if (p.nodes.length !== 1) return;
    var id = p.nodes[0];
    // members go back to where they were drawn (the default piles them on the group's node)
    if (network.isCluster(id)) {{
      network.openCluster(id, {{ releaseFunction: function (at, positions) {{ return positions; }} }});
      fit();
      return;
    }}
    var node = data.nodes.find(function (n) {{ return n.id === id; }});
    var g = node && groups.find(function (x) {{ return x.cid === node.cid; }});
    if (g) {{ collapse(g); fit(); }}
  }});
  document.getElementById("fit").onclick = fit;
  document.getElementById("full").onclick = function () {{
    if (document.fullscreenElement) document.exitFullscreen();
    else document.documentElement.requestFullscreen();
  }};
  document.addEventListener("fullscreenchange", function () {{
    document.getElementById("full").textContent = document.fullscreenElement ? "Exit full screen" : "Full screen";
    setTimeout(function () {{ network.redraw(); fit(); }}, 50);
  }});
  fit();
  window.graphNetwork = network;  // for checks from outside the frame (browser tests)
  network.once("afterDrawing", function () {{ document.body.setAttribute("data-drawn", "1"); }});
}})();
</script>
</body></html>
"""


def network_html(
    nodes: list[dict],
    edges: list[dict],
    *,
    height: int = 480,
    options: dict | None = None,
    groups: list[dict] | None = None,
    script_src: str | None = None,
) -> str:
    """A complete HTML page drawing ``nodes``/``edges`` with vis-network.

    ``nodes``/``edges`` are vis-network DataSet items (``id``, ``label``, ``title``, ``x``,
    ``y``, ``from``, ``to``, ...). String ``title``s are shown as plain text. Each of
    ``groups`` (``{"cid": ..., "node": {...}}``) draws the nodes whose ``cid`` matches as the
    one ``node`` until it is clicked; clicking one of its members collapses it again. The
    page fits the drawing into the frame and has Fit and Full-screen buttons. Edges travel
    packed (each distinct style once); more than ``STRAIGHT_EDGES_ABOVE`` are drawn straight. The script is
    inlined, or loaded from ``script_src`` (a same-origin path such as
    ``/app/static/vis-network.min.js``; no scheme or host, so nothing leaves the server).
    """
    if not isinstance(height, int) or height <= 0:
        raise ValueError(f"height must be a positive integer, got {height!r}")
    if script_src is not None and not _SAME_ORIGIN_PATH.fullmatch(script_src):
        raise ValueError(
            f"script_src must be a same-origin path like /app/static/x.js, got {script_src[:80]!r}"
        )
    opts = {
        "physics": {"enabled": False},
        "interaction": {"hover": True, "tooltipDelay": 80, "navigationButtons": False},
        "edges": {"arrows": {"to": {"enabled": True, "scaleFactor": 0.6}}, "smooth": {"type": "cubicBezier"}},
        "nodes": {"font": {"face": "sans-serif", "size": 16}},
    }
    if len(edges) > STRAIGHT_EDGES_ABOVE:
        # curves cost the browser several times more to draw, and thousands of them
        # overlap anyway
        opts["edges"] = {**opts["edges"], "smooth": False}
    if options:
        opts.update(options)
    packed, styles = _packed_edges(edges)
    payload = safe_json(
        {"nodes": nodes, "edges": packed, "edgeStyles": styles, "options": opts, "groups": groups or []}
    )
    if script_src is None:
        script = f"<script>{vis_network_js()}</script>"
    else:
        script = f'<script src="{script_src}"></script>'
    return _TEMPLATE.format(height=height, script=script, data=payload)


# graphs with more edges than this draw them as straight lines
STRAIGHT_EDGES_ABOVE = 600


def _packed_edges(edges: list[dict]) -> tuple[list[list], list[dict]]:
    """Edges as ``[from, to, title or None, style index]`` and the distinct styles (every
    other key of an edge): a third of the bytes for an SCM of thousands of edges that
    share a few styles. The page unpacks them."""
    index: dict[str, int] = {}
    styles: list[dict] = []
    packed = []
    for edge in edges:
        style = {k: v for k, v in edge.items() if k not in ("from", "to", "title")}
        # (equal styles built alike have equal reprs; one built in another key order is
        # merely sent twice)
        key = repr(style)
        if key not in index:
            index[key] = len(styles)
            styles.append(style)
        packed.append([edge["from"], edge["to"], edge.get("title"), index[key]])
    return packed, styles


def generation_positions(
    graph: nx.DiGraph,
    *,
    dx: float = 220.0,
    dy: float = 90.0,
    max_per_column: int = 8,
    sub_dx: float | None = None,
) -> dict[Any, tuple[float, float]]:
    """Left-to-right positions: x by topological generation, nodes of a generation stacked in y.

    Within a generation nodes are ordered by the mean y of their predecessors, which keeps
    edges short and the drawing stable for a given graph. A generation with more than
    ``max_per_column`` nodes is folded into several narrow sub-columns, so wide graphs stay
    readable when fitted to a frame.
    """
    if max_per_column < 1:
        raise ValueError(f"max_per_column must be ≥ 1, got {max_per_column}")
    simple = _acyclic(graph)
    pos: dict[Any, tuple[float, float]] = {}
    x = 0.0
    sub_dx = dx * 0.45 if sub_dx is None else sub_dx
    for layer in nx.topological_generations(simple):

        def barycentre(n: Any) -> float:
            ys = [pos[p][1] for p in simple.predecessors(n) if p in pos]
            return sum(ys) / len(ys) if ys else 0.0

        ordered = sorted(layer, key=lambda n: (barycentre(n), str(n)))
        n_cols = -(-len(ordered) // max_per_column)
        per_col = -(-len(ordered) // n_cols)
        for c in range(n_cols):
            chunk = ordered[c * per_col : (c + 1) * per_col]
            offset = (len(chunk) - 1) / 2.0
            # stagger sub-columns by half a row so edges into them do not overlap
            shift = (c % 2) * dy / 2.0 if n_cols > 1 else 0.0
            for i, node in enumerate(chunk):
                pos[node] = (x + c * sub_dx, (i - offset) * dy + shift)
        x += (n_cols - 1) * sub_dx + dx
    return pos


def _acyclic(graph: nx.DiGraph) -> nx.DiGraph:
    """A simple DAG on the same nodes for placing them.

    Imported schemas may have self-references and foreign-key cycles: self-loops are dropped
    and, if a cycle remains, every edge that points backwards in the graph's node order
    (the schema's generation order) is ignored for placement (it is still drawn).
    """
    simple = nx.DiGraph(graph)
    simple.remove_edges_from(list(nx.selfloop_edges(simple)))
    if nx.is_directed_acyclic_graph(simple):
        return simple
    order = {n: i for i, n in enumerate(graph.nodes)}
    simple.remove_edges_from([(u, v) for u, v in list(simple.edges) if order[u] > order[v]])
    return simple


def _short(text: str) -> str:
    return text if len(text) <= _MAX_LABEL else text[: _MAX_LABEL - 1] + "…"


# the schema frame is at least 240 px tall: 15 tooltip lines of 11 px monospace (14.3 px a
# line, plus padding) fit in it
MAX_TOOLTIP_LINES = 15


def table_tooltip(name: str, spec: TableSpec, max_lines: int = MAX_TOOLTIP_LINES) -> list[str]:
    """A table's hover text: kind, rows, keys, time column and feature columns.

    One line per column while that fits in ``max_lines``; a wide table lists its columns by
    type instead, several names per line (with a count of any left over), so the tooltip
    never grows taller than the graph frame that clips it.
    """
    head = [f"{name}  ({spec.kind} table, {spec.num_rows:,} rows)"]
    if spec.pkey_col is not None:
        head.append(f"  {spec.pkey_col}: primary key")
    for key in spec.key_columns:
        head.append(f"  {key.name}: key ({key.kind})")
    for fk in spec.foreign_keys:
        head.append(f"  {fk.name}: foreign key → {fk.parent}")
    if spec.time_col is not None:
        head.append(f"  {spec.time_col}: time")
    per_column = []
    for col in spec.columns:
        extra = f", {col.num_categories} categories" if col.kind in ("categorical", "text") else ""
        sql = f" [{col.sql_type}]" if col.sql_type else ""
        per_column.append(f"  {col.name}: {col.kind}{extra}{sql}")
    if len(head) + len(per_column) <= max_lines:
        return head + per_column
    if len(head) > max_lines // 2:  # many keys: keep the first ones
        head = head[: max_lines // 2] + [f"  … {len(head) - max_lines // 2} more keys"]
    by_kind: dict[str, list[str]] = {}
    for col in spec.columns:
        by_kind.setdefault(col.kind, []).append(col.name)
    body = []
    for kind, names in by_kind.items():
        wrapped = _wrap_names(names, width=72)
        body.append(f"  {len(names)} {kind}:")
        body.extend("    " + line for line in wrapped)
    room = max_lines - len(head)
    if len(body) > room:
        shown = body[: room - 1]
        listed = sum(line.count(",") + 1 for line in shown if line.startswith("    "))
        shown.append(f"  … {len(spec.columns) - listed} more columns")
        body = shown
    return head + body


def schema_graph_data(schema: Schema) -> tuple[list[dict], list[dict]]:
    """vis-network nodes and edges for the schema DAG (entity boxes, activity ellipses)."""
    pos = generation_positions(schema.graph, dx=140.0, dy=70.0, max_per_column=6, sub_dx=110.0)
    nodes = []
    for name, spec in schema.tables.items():
        lines = table_tooltip(name, spec)
        x, y = pos.get(name, (0.0, 0.0))
        style = ENTITY_STYLE if spec.kind == "entity" else ACTIVITY_STYLE
        nodes.append(
            {
                "id": name,
                "label": f"{_short(name)}\n{spec.num_rows:,} rows",
                "title": "\n".join(lines),
                "x": x,
                "y": y,
                "group": spec.kind,
                **style,
            }
        )
    edges = []
    for child, fk in schema.foreign_keys():
        edges.append(
            {
                "from": fk.parent,
                "to": child,
                "title": f"{child}.{fk.name} → {fk.parent}" + (" (nullable)" if fk.nullable else ""),
                "dashes": bool(fk.deferred),
            }
        )
    return nodes, edges


def fit_height(nodes: list[dict], *, width_px: int = 900, lo: int = 240, hi: int = 520) -> int:
    """A frame height (px) matching the drawing's aspect ratio at ``width_px``, within [lo, hi]."""
    xs = [n.get("x", 0.0) for n in nodes] or [0.0]
    ys = [n.get("y", 0.0) for n in nodes] or [0.0]
    w = max(xs) - min(xs) + 160.0
    h = max(ys) - min(ys) + 120.0
    return int(min(hi, max(lo, width_px * h / w)))


def schema_graph_html(schema: Schema, *, height: int = 460, script_src: str | None = None) -> str:
    """The schema DAG as a page: parents left of children, hover lists columns (``script_src``:
    see :func:`network_html`)."""
    nodes, edges = schema_graph_data(schema)
    return network_html(nodes, edges, height=height, script_src=script_src)


def _node_title(node: Any, attrs: dict) -> str:
    kind = attrs.get("kind", "latent")
    lines = [f"node {node}: {kind}"]
    if attrs.get("column") is not None:
        lines.append(f"column: {attrs['column']}")
    typ = attrs.get("type", "numerical")
    if typ == "categorical":
        typ += f" ({attrs.get('num_categories', 0)} categories)"
    lines.append(f"type: {typ}")
    if attrs.get("source") is not None:
        lines.append(f"source generator: {attrs['source']}")
    if attrs.get("aggregation") is not None and kind != "source":
        lines.append(f"aggregation: {attrs['aggregation']}")
    acts = attrs.get("activations")
    if acts:
        lines.append("activations: " + _fmt_activations(acts))
    if attrs.get("reaches_column") is False:
        lines.append("reaches no column: not evaluated (no MLPs drawn)")
    return "\n".join(lines)


def _fmt_activations(acts: Any) -> str:
    if isinstance(acts, dict):
        return "; ".join(f"{k}: {_fmt_activations(v)}" for k, v in acts.items())
    if isinstance(acts, (list, tuple)):
        return ", ".join(_fmt_activations(a) for a in acts)
    return str(acts)


def scm_node_counts(trace: SCMTrace) -> dict[str, int]:
    """Nodes of an SCM by role: ``nodes``, ``sources``, ``latent``, ``columns``, ``parent_inputs``.

    A source node can also be a column node (e.g. the root of a RandomTree SCM): its ``kind``
    is ``column`` and ``is_source`` (or a ``source`` generator) marks it as a source too, so
    it counts in both.
    """
    nodes = trace.graph.nodes(data=True)
    return {
        "nodes": trace.graph.number_of_nodes(),
        "sources": sum(
            1 for _, a in nodes if a.get("kind") == "source" or a.get("is_source") or a.get("source")
        ),
        "latent": sum(1 for _, a in nodes if a.get("kind", "latent") == "latent"),
        "columns": sum(1 for _, a in nodes if a.get("kind") == "column"),
        "parent_inputs": len(trace.parent_inputs),
    }


def _scm_positions(graph: nx.DiGraph, aspect: float = 2.0) -> dict[Any, tuple[float, float]]:
    """Generation positions with the column height whose drawing is closest to ``aspect``
    (width / height), so a large SCM fills a frame instead of being a thin strip."""
    best: tuple[float, dict[Any, tuple[float, float]]] | None = None
    for per_column in (7, 10, 14, 20):
        pos = generation_positions(graph, dx=170.0, dy=60.0, max_per_column=per_column)
        xs = [p[0] for p in pos.values()] or [0.0]
        ys = [p[1] for p in pos.values()] or [0.0]
        ratio = (max(xs) - min(xs) + 160.0) / (max(ys) - min(ys) + 120.0)
        score = abs(math.log(ratio / aspect))
        if best is None or score < best[0] - 1e-9:
            best = (score, pos)
        if ratio <= aspect * 1.25:  # taller columns would only make it taller
            break
    assert best is not None
    return best[1]


def scm_graph_data(trace: SCMTrace) -> tuple[list[dict], list[dict]]:
    """vis-network nodes and edges for one SCM: sources, latents, columns (+ parent-table inputs)."""
    graph = trace.graph
    pos = _scm_positions(graph)
    nodes = []
    for node, attrs in graph.nodes(data=True):
        kind = attrs.get("kind", "latent")
        label = str(attrs["column"]) if attrs.get("column") is not None else f"{kind[0]}{node}"
        x, y = pos[node]
        nodes.append(
            {
                "id": f"n{node}",
                "label": _short(label),
                "title": _node_title(node, attrs),
                "x": x,
                "y": y,
                "size": 12,
                **SCM_STYLES.get(kind, SCM_STYLES["latent"]),
                **(UNUSED_STYLE if attrs.get("reaches_column") is False else {}),
            }
        )
    edges = []
    for u, v, attrs in graph.edges(data=True):
        w = attrs.get("weight")
        colour = "#2b6cb0" if (w is None or float(w) >= 0) else "#c53030"
        if graph.nodes[v].get("reaches_column") is False:
            colour = UNUSED_STYLE["color"]["border"]  # into a node that cannot affect the data
        edges.append(
            {
                "from": f"n{u}",
                "to": f"n{v}",
                "title": f"{u} → {v}" + (f"  weight {float(w):.3g}" if w is not None else ""),
                "color": {"color": colour, "opacity": 0.7},
            }
        )
    return nodes, edges


def _parent_table(label: str, parents: Sequence[str]) -> str:
    """The parent table of a ``parent_table.column`` input (table names may contain dots)."""
    for name in sorted(parents, key=len, reverse=True):
        if label.startswith(name + "."):
            return name
    return label.partition(".")[0]


def scm_parent_groups(
    trace: SCMTrace, pos: dict[Any, tuple[float, float]], parents: Sequence[str] = ()
) -> tuple[list[dict], list[dict]]:
    """Nodes of the parent-table inputs and one collapsed group per parent table.

    Parent-table features condition every non-source node, so they are drawn without edges,
    left of the SCM. Collapsed, a parent table is one node (spread over the SCM's height);
    opened, its inputs form a grid left of that node no taller than the table's share of
    the height, so a table with dozens of inputs does not stretch the drawing.
    """
    by_table: dict[str, list[str]] = {}
    for label in trace.parent_inputs:
        by_table.setdefault(_parent_table(str(label), parents), []).append(str(label))
    if not by_table:
        return [], []
    xs = [p[0] for p in pos.values()] or [0.0]
    ys = [p[1] for p in pos.values()] or [0.0]
    top, span = min(ys), max(ys) - min(ys)
    slot = max(span / len(by_table), 90.0)
    x0 = min(xs) - 230.0
    centre = (min(ys) + max(ys)) / 2.0 - slot * (len(by_table) - 1) / 2.0
    nodes: list[dict] = []
    groups: list[dict] = []
    k = 0
    for t, (table, labels) in enumerate(by_table.items()):
        y = centre + t * slot if span < slot * len(by_table) else top + (t + 0.5) * slot
        per_col = max(1, int(slot // 42.0))
        n_cols = -(-len(labels) // per_col)
        for i, label in enumerate(labels):
            c, r = divmod(i, per_col)
            rows = min(per_col, len(labels) - c * per_col)
            nodes.append(
                {
                    "id": f"p{k}",
                    "cid": f"parent:{table}",
                    "label": _short(label[len(table) + 1 :] if label.startswith(table + ".") else label),
                    "title": f"parent-table feature {label}\nconditions every non-source node\n"
                    "(click to fold the table's inputs again)",
                    "x": x0 - 20.0 - (n_cols - 1 - c) * 120.0,
                    "y": y + (r - (rows - 1) / 2.0) * 42.0,
                    "size": 10,
                    **SCM_STYLES["parent"],
                }
            )
            k += 1
        shown = "\n".join(_wrap_names([lab[len(table) + 1 :] for lab in labels]))
        groups.append(
            {
                "cid": f"parent:{table}",
                "node": {
                    "id": f"parent:{table}",
                    "label": f"{_short(table)}\n{len(labels)} input{'' if len(labels) == 1 else 's'}",
                    "title": f"parent table {table}: {len(labels)} feature columns\n"
                    f"condition every non-source node (click to show them)\n{shown}",
                    "x": x0 + 40.0,
                    "y": y,
                    "size": 16,
                    **SCM_STYLES["parent"],
                },
            }
        )
    return nodes, groups


def _wrap_names(names: Sequence[str], width: int = 72) -> list[str]:
    """Names joined by commas into lines of at most ``width`` characters."""
    lines, line = [], ""
    for name in names:
        piece = name if not line else ", " + name
        if line and len(line) + len(piece) > width:
            lines.append(line + ",")
            line, piece = "", name
        line += piece
    if line:
        lines.append(line)
    return lines


def _scm_folded(
    trace: SCMTrace, parents: Sequence[str]
) -> tuple[list[dict], list[dict], list[dict], list[dict]]:
    """``(SCM nodes, parent-table inputs, edges, one group per parent table)``."""
    nodes, edges = scm_graph_data(trace)
    pos = {n["id"]: (n["x"], n["y"]) for n in nodes}
    inputs, groups = scm_parent_groups(trace, pos, parents)
    return nodes, inputs, edges, groups


def scm_graph_page(
    trace: SCMTrace, *, parents: Sequence[str] = (), width_px: int = 900, script_src: str | None = None
) -> tuple[str, int]:
    """``(html, frame height)`` of one table's SCM graph, with the layout computed once.

    The parent-table inputs are folded into one node per parent table (``parents``: the
    table's parent tables, to split ``table.column`` labels whose table names hold dots);
    the height matches the folded drawing's aspect (see :func:`fit_height`). ``script_src``:
    see :func:`network_html`.
    """
    nodes, inputs, edges, groups = _scm_folded(trace, parents)
    height = fit_height(nodes + [g["node"] for g in groups], width_px=width_px, lo=300, hi=560)
    html = network_html(nodes + inputs, edges, height=height, groups=groups, script_src=script_src)
    return html, height


def scm_graph_html(
    trace: SCMTrace, *, height: int = 460, parents: Sequence[str] = (), script_src: str | None = None
) -> str:
    """One table's SCM graph as a page; hover shows type, aggregation, activations.

    The parent-table inputs are folded into one node per parent table (see
    :func:`scm_graph_page`).
    """
    nodes, inputs, edges, groups = _scm_folded(trace, parents)
    return network_html(nodes + inputs, edges, height=height, groups=groups, script_src=script_src)


def scm_frame_height(trace: SCMTrace, *, width_px: int = 900) -> int:
    """A frame height for the SCM graph with its parent tables folded (see :func:`fit_height`)."""
    return scm_graph_page(trace, width_px=width_px)[1]
