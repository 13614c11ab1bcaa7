"""Priors of the PluRel method: frozen dataclasses, validation, JSON round trip, presets.

A prior is one of three kinds, fixed per field:

- a **range** ``(lo, hi)``: sampled uniformly (integers inclusive); ``lo == hi`` fixes it;
- a **set** ``(a, b, ...)``: one element sampled uniformly; one element fixes it;
- a **value**: a plain number, flag or string.

Every field is declared with :func:`prior`, which gives it metadata: its kind, the bounds
or options it accepts (also the bounds the app's controls offer) and a help text in the
paper's terms. The app builds its controls from this metadata, so the UI offers exactly
what the core supports.

The dict/JSON form has the sections ``schema``, ``connectivity``, ``features`` and
``postprocess``; ranges and sets are JSON lists. ``Config.from_json(cfg.to_json()) == cfg``.
"""

from __future__ import annotations

import dataclasses
import datetime as _dt
import json
import math
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

from .errors import ConfigError
from .registry import RegistryOptions

__all__ = [
    "Config",
    "ConfigError",
    "ConnectivityPriors",
    "FeaturePriors",
    "LayoutPriors",
    "PostprocessPriors",
    "PriorSpec",
    "SchemaPriors",
    "PRESETS",
    "iter_priors",
    "prior",
    "prior_groups",
    "load_json",
    "sample_range",
    "sample_set",
    "short_repr",
]

# The options of the set priors below are the names of the stage modules' registries (read
# when first used: those modules import this one); the default priors use the paper's
# options (a registry's built-in entries).
LAYOUT_NAMES = RegistryOptions("plurel_core.graphs", "LAYOUTS")
EDGE_WEIGHT_DISTS = RegistryOptions("plurel_core.graphs", "EDGE_WEIGHTS")
SOURCE_NAMES = RegistryOptions("plurel_core.sources", "SOURCES")
INIT_NAMES = RegistryOptions("plurel_core.mechanisms", "INITS")
ACTIVATION_NAMES = RegistryOptions("plurel_core.mechanisms", "ACTIVATIONS")
AGGREGATION_NAMES = RegistryOptions("plurel_core.mechanisms", "AGGREGATIONS")
TRANSFORM_NAMES = RegistryOptions("plurel_core.postprocess", "TRANSFORMS")
# type_eager / type_lazy are two code paths of Stage 3, not a registry
PROPAGATION_NAMES = ("type_eager", "type_lazy")
SCALE_OPTIONS = (0.01, 0.1, 1.0, 10.0, 100.0)
CYCLE_FRAC_OPTIONS = (0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0)
WS_K_OPTIONS = (2, 4, 6, 8)

MIN_DATE = "1900-01-01"
MAX_DATE = "2100-12-31"


PRIOR_KINDS = ("int_range", "float_range", "set", "int", "float", "bool", "date")
_NUMERIC_KINDS = ("int_range", "float_range", "int", "float")


@dataclass(frozen=True)
class PriorSpec:
    """What one field accepts.

    kind: ``int_range``, ``float_range``, ``set``, ``int``, ``float``, ``bool`` or ``date``.
    lo/hi: inclusive bounds for numbers (also what the app's sliders span).
    options: allowed elements of a ``set`` (a registry's names: :class:`RegistryOptions`).
    label, group: the app's control label and the group (expander) of its stage page that
    holds it; a nested section (``layout``) gives its fields' group in its own metadata.
    sql: whether the prior applies to a schema imported from SQL (the Stage-1 priors that
    shape a sampled schema do not).
    """

    kind: str
    help: str
    lo: float | None = None
    hi: float | None = None
    options: Sequence = ()
    log: bool = False  # the app draws a log-scaled control
    label: str = ""
    group: str = ""
    sql: bool = True


def prior(
    default: Any,
    kind: str,
    help: str,
    *,
    lo: float | None = None,
    hi: float | None = None,
    options: Sequence = (),
    log: bool = False,
    label: str = "",
    group: str = "",
    sql: bool = True,
) -> Any:
    """Declare one prior: a field of a section dataclass with its :class:`PriorSpec`.

    Everything else reads the spec, so a field declared with it is validated, read from
    and written to JSON and the URL, and given a control on its stage page without
    further code.

    Parameters
    ----------
    default : tuple, number, bool, str or RegistryOptions
        The paper's value: a tuple ``(lo, hi)`` for a range, a tuple of options for a set
        (or a :class:`RegistryOptions`: every built-in entry of that registry), else a
        number, flag or ``YYYY-MM-DD`` string.
    kind : str
        ``"int_range"``, ``"float_range"``, ``"set"``, ``"int"``, ``"float"``, ``"bool"``
        or ``"date"``: what :meth:`Config.validate` accepts, how JSON lists and URL values
        are read back (lists become tuples, integral floats integers) and which control
        the app draws (range slider, multiselect, slider or number box, toggle, date box).
    help : str
        What the prior does, in the paper's terms: the control's tooltip.
    lo : float, optional
        Inclusive lower bound of a number or range (required for those kinds): smaller
        values are rejected with both bounds named; where the app's slider starts.
    hi : float, optional
        Inclusive upper bound, likewise (where the slider ends).
    options : sequence, optional
        Allowed elements of a ``set`` (a :class:`RegistryOptions` follows its registry, so
        an option registered later is accepted and offered too); the multiselect's choices.
    log : bool, default False
        The app draws a log-scaled control (and the prior search moves the value by
        factors, not steps); for priors whose bounds span decades.
    label : str, optional
        The control's label; empty: the field name made readable.
    group : str, optional
        The expander of the stage page that holds the control; empty: the section's name.
    sql : bool, default True
        Whether the prior applies to a schema imported from SQL; ``False`` (the Stage-1
        priors that shape a sampled schema) hides its control while an SQL schema is used.

    Returns
    -------
    dataclasses.Field
        To assign to the section's attribute; its metadata ``"prior"`` is the
        :class:`PriorSpec`. A nested section (``layout``) is a plain ``field`` whose
        metadata gives its controls' ``group`` (and ``sql``) instead.
    """
    # a declaration the validation or the app could not read fails on import, not on use
    if kind not in PRIOR_KINDS:
        raise ValueError(f"prior kind {kind!r}; expected one of {PRIOR_KINDS}")
    if kind in _NUMERIC_KINDS and (lo is None or hi is None):
        raise ValueError(f"a {kind} prior needs its bounds lo= and hi=")
    # (a registry's options are not counted here: its module imports this one)
    if kind == "set" and not isinstance(options, RegistryOptions) and len(options) == 0:
        raise ValueError("a set prior needs its options=")
    spec = PriorSpec(kind, help, lo=lo, hi=hi, options=options, log=log, label=label, group=group, sql=sql)
    meta = {"prior": spec}
    if isinstance(default, RegistryOptions):  # every option the paper uses
        return field(default_factory=lambda: default.registry().builtin(), metadata=meta)
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class LayoutPriors:
    """Parameters of the seven DAG layouts (used for the schema and for each SCM)."""

    er_p: tuple[float, float] = prior(
        (0.3, 0.8),
        "float_range",
        "ErdosRenyi: edge probability p of G(n, p).",
        lo=0.0,
        hi=1.0,
        label="ErdosRenyi edge probability p",
    )
    ba_m: int = prior(
        2,
        "int",
        "BarabasiAlbert: edges each new node attaches with (preferential attachment).",
        lo=1,
        hi=6,
        label="BarabasiAlbert edges per new node m",
    )
    ba_sink_edge_dropout: float = prior(
        0.4,
        "float",
        "BarabasiAlbert: probability that a sink with >1 incoming edge loses one of them.",
        lo=0.0,
        hi=1.0,
        label="BarabasiAlbert sink-edge dropout",
    )
    ba_flip_leaf_edge_prob: float = prior(
        0.0,
        "float",
        "BarabasiAlbert: probability that a sink's single edge is flipped (if the in-degree cap allows).",
        lo=0.0,
        hi=1.0,
        label="BarabasiAlbert leaf-edge flip prob.",
    )
    ba_max_in_degree: int = prior(
        4,
        "int",
        "BarabasiAlbert: in-degree cap for flipped leaf edges.",
        lo=1,
        hi=20,
        label="BarabasiAlbert in-degree cap",
    )
    ws_k: tuple[int, ...] = prior(
        (2, 4),
        "set",
        "WattsStrogatz: ring-lattice neighbours k.",
        options=WS_K_OPTIONS,
        label="WattsStrogatz neighbours k",
    )
    ws_p: tuple[float, float] = prior(
        (0.1, 0.3),
        "float_range",
        "WattsStrogatz: rewiring probability.",
        lo=0.0,
        hi=1.0,
        label="WattsStrogatz rewiring p",
    )
    layered_depth: tuple[int, int] = prior(
        (2, 8),
        "int_range",
        "Layered: number of layers (at least one node each).",
        lo=1,
        hi=20,
        label="Layered depth",
    )
    layered_edge_dropout: float = prior(
        0.1,
        "float",
        "Layered: probability each edge between consecutive layers is dropped.",
        lo=0.0,
        hi=1.0,
        label="Layered edge dropout",
    )
    edge_weight_dists: tuple[str, ...] = prior(
        EDGE_WEIGHT_DISTS,
        "set",
        "Distribution of edge weights, one chosen per graph: N(0,1), lognormal, standard Cauchy, U(-2, 2).",
        options=EDGE_WEIGHT_DISTS,
        label="Edge-weight distributions",
    )


@dataclass(frozen=True)
class SchemaPriors:
    """Stage 1: the schema as a DAG of tables."""

    num_tables: tuple[int, int] = prior(
        (3, 20),
        "int_range",
        "Number of tables in the database (nodes of the schema DAG).",
        lo=1,
        hi=60,
        label="Tables",
        group="Tables and rows",
        sql=False,
    )
    layouts: tuple[str, ...] = prior(
        ("BarabasiAlbert", "ReverseRandomTree", "WattsStrogatz"),
        "set",
        "DAG layouts the schema is drawn from (one per database). An edge parent → child is a foreign key.",
        options=LAYOUT_NAMES,
        label="Schema layouts",
        group="Tables and rows",
        sql=False,
    )
    layout: LayoutPriors = field(
        default_factory=LayoutPriors, metadata={"group": "Layout parameters", "sql": False}
    )
    entity_rows: tuple[int, int] = prior(
        (500, 1000),
        "int_range",
        "Rows of an entity table (a table some other table points to).",
        lo=1,
        hi=1_000_000,
        log=True,
        label="Rows per entity table",
        group="Tables and rows",
    )
    activity_rows: tuple[int, int] = prior(
        (2000, 5000),
        "int_range",
        "Rows of an activity table (a sink of the schema DAG: time-stamped events).",
        lo=1,
        hi=10_000_000,
        log=True,
        label="Rows per activity table",
        group="Tables and rows",
    )
    num_cols: tuple[int, int] = prior(
        (3, 40),
        "int_range",
        "Feature columns per table, drawn from a power law on this range.",
        lo=1,
        hi=200,
        label="Feature columns per table",
        group="Columns",
        sql=False,
    )
    num_cols_exponent: float = prior(
        1.0,
        "float",
        "Power-law exponent a of P(k) ∝ k^-a for the column count: larger → more narrow tables.",
        lo=0.0,
        hi=5.0,
        label="Column-count power-law exponent",
        group="Columns",
        sql=False,
    )
    categorical_prob: float = prior(
        0.5,
        "float",
        "Probability that a feature column is categorical (else numerical).",
        lo=0.0,
        hi=1.0,
        label="Categorical share",
        group="Columns",
        sql=False,
    )
    num_categories: tuple[int, int] = prior(
        (2, 10),
        "int_range",
        "Categories of a categorical feature column.",
        lo=2,
        hi=100,
        label="Categories per categorical column",
        group="Columns",
    )
    time_start: str = prior(
        "1990-01-01",
        "date",
        "Earliest day of the database's time window.",
        label="Time window start",
        group="Time window",
    )
    time_end: str = prior(
        "2025-01-01",
        "date",
        "Latest day of the database's time window.",
        label="Time window end",
        group="Time window",
    )
    val_frac: float = prior(
        0.8,
        "float",
        "Validation cut-off: this fraction of the way through the time window.",
        lo=0.0,
        hi=1.0,
        label="Validation cut-off (fraction)",
        group="Time window",
    )
    test_frac: float = prior(
        0.9,
        "float",
        "Test cut-off: this fraction of the way through the time window.",
        lo=0.0,
        hi=1.0,
        label="Test cut-off (fraction)",
        group="Time window",
    )


@dataclass(frozen=True)
class ConnectivityPriors:
    """Stage 2: foreign keys from a hierarchical stochastic block model (HSBM)."""

    levels: tuple[int, int] = prior(
        (1, 5),
        "int_range",
        "HSBM levels L per foreign key: more levels → each child draws from a tighter pool of parents.",
        lo=1,
        hi=5,
        label="HSBM levels",
        group="HSBM priors",
    )
    parent_clusters: tuple[int, int] = prior(
        (1, 3),
        "int_range",
        "Clusters per HSBM level on the parent side.",
        lo=1,
        hi=3,
        label="Parent clusters per level",
        group="HSBM priors",
    )
    child_clusters: tuple[int, int] = prior(
        (1, 3),
        "int_range",
        "Clusters per HSBM level on the child side.",
        lo=1,
        hi=3,
        label="Child clusters per level",
        group="HSBM priors",
    )
    within_affinity: float = prior(
        0.9,
        "float",
        "Block-matrix value on the 'diagonal' (parent and child cluster aligned).",
        lo=1e-6,
        hi=1.0,
        label="Within-cluster affinity",
        group="HSBM priors",
    )
    across_affinity: tuple[float, float] = prior(
        (0.001, 0.002),
        "float_range",
        "Block-matrix values off the diagonal, drawn uniformly per cell.",
        lo=1e-6,
        hi=1.0,
        log=True,
        label="Across-cluster affinity",
        group="HSBM priors",
    )


@dataclass(frozen=True)
class FeaturePriors:
    """Stage 3: one structural causal model (SCM) per table."""

    scm_layouts: tuple[str, ...] = prior(
        LAYOUT_NAMES,
        "set",
        "DAG layouts an SCM graph is drawn from (one per table).",
        options=LAYOUT_NAMES,
        label="SCM layouts",
        group="SCM graph",
    )
    layout: LayoutPriors = field(default_factory=LayoutPriors, metadata={"group": "SCM layout parameters"})
    column_node_frac: tuple[float, float] = prior(
        (0.3, 0.9),
        "float_range",
        "Share of SCM nodes that are columns: c columns give c + ceil(c / frac) + extra nodes.",
        lo=0.1,
        hi=1.0,
        label="Column-node fraction",
        group="SCM graph",
    )
    extra_nodes: int = prior(
        3,
        "int",
        "Extra SCM nodes added to every graph.",
        lo=0,
        hi=20,
        label="Extra SCM nodes",
        group="SCM graph",
    )
    latent_categorical_prob: float = prior(
        0.5,
        "float",
        "Probability that a latent SCM node is categorical.",
        lo=0.0,
        hi=1.0,
        label="Categorical latent share",
        group="SCM graph",
    )
    latent_categories: tuple[int, int] = prior(
        (2, 10),
        "int_range",
        "Categories of a categorical latent node.",
        lo=2,
        hi=100,
        label="Categories per latent node",
        group="SCM graph",
    )
    source_types: tuple[str, ...] = prior(
        SOURCE_NAMES,
        "set",
        "Generators of exogenous values at source nodes (in-degree 0): time series, uniform, gaussian, beta, mixed.",
        options=SOURCE_NAMES,
        label="Source types",
        group="Sources",
    )
    source_scales: tuple[float, ...] = prior(
        SCALE_OPTIONS,
        "set",
        "Scale of a source's value range [lo, hi] ⊂ [0, scale].",
        options=SCALE_OPTIONS,
        label="Source scales",
        group="Sources",
    )
    trend_exponent: tuple[float, float] = prior(
        (0.0, 2.0),
        "float_range",
        "ts sources: exponent α of the trend (t/n)^α.",
        lo=0.0,
        hi=5.0,
        label="Trend exponent α",
        group="Sources",
    )
    cycle_fracs: tuple[float, ...] = prior(
        CYCLE_FRAC_OPTIONS,
        "set",
        "ts sources: cycle length f = ceil(n · q) as a fraction q of the rows.",
        options=CYCLE_FRAC_OPTIONS,
        label="Cycle length fractions q",
        group="Sources",
    )
    ar_rho: tuple[float, float] = prior(
        (0.0, 0.9),
        "float_range",
        "ts sources: AR(1) coefficient ρ of the noise.",
        lo=0.0,
        hi=0.99,
        label="AR(1) coefficient ρ",
        group="Sources",
    )
    activity_noise_std: float = prior(
        0.05,
        "float",
        "ts sources in activity tables: AR(1) innovation σ.",
        lo=0.0,
        hi=10.0,
        label="Noise σ (activity tables)",
        group="Sources",
    )
    entity_noise_std: float = prior(
        1.0,
        "float",
        "ts sources in entity tables: AR(1) innovation σ (no trend, no cycle).",
        lo=0.0,
        hi=10.0,
        label="Noise σ (entity tables)",
        group="Sources",
    )
    beta_shape: tuple[float, float] = prior(
        (0.5, 5.0),
        "float_range",
        "beta sources: shapes a, b of Beta(a, b).",
        lo=0.05,
        hi=50.0,
        label="Beta source shapes",
        group="Sources",
    )
    mixed_components: tuple[int, int] = prior(
        (2, 3),
        "int_range",
        "mixed sources: sub-generators each row picks among.",
        lo=2,
        hi=4,
        label="Mixed-source components",
        group="Sources",
    )
    embedding_dim: int = prior(
        32,
        "int",
        "Embedding dimension d of every mechanism.",
        lo=2,
        hi=256,
        label="Embedding dimension d",
        group="Mechanisms",
    )
    mlp_layers: tuple[int, int] = prior(
        (2, 4),
        "int_range",
        "Layers of each random MLP (encoders, decoders).",
        lo=1,
        hi=8,
        label="MLP depth (layers)",
        group="Mechanisms",
    )
    weight_density: tuple[float, float] = prior(
        (0.3, 1.0),
        "float_range",
        "Bernoulli density masking each MLP weight matrix (rescaled by 1/density).",
        lo=0.01,
        hi=1.0,
        label="Weight density",
        group="Mechanisms",
    )
    init_schemes: tuple[str, ...] = prior(
        INIT_NAMES,
        "set",
        "Weight initialisation schemes, one drawn per weight matrix.",
        options=INIT_NAMES,
        label="Init schemes",
        group="Mechanisms",
    )
    activations: tuple[str, ...] = prior(
        ACTIVATION_NAMES,
        "set",
        "Activations, one drawn per hidden layer.",
        options=ACTIVATION_NAMES,
        label="Activations",
        group="Mechanisms",
    )
    activation_log_scale: tuple[float, float] = prior(
        (-1.0, 1.0),
        "float_range",
        "Each activation is multiplied by e^U(lo, hi).",
        lo=-5.0,
        hi=5.0,
        label="Activation log-scale",
        group="Mechanisms",
    )
    aggregations: tuple[str, ...] = prior(
        AGGREGATION_NAMES,
        "set",
        "How a node combines its parents' embeddings, one per node.",
        options=AGGREGATION_NAMES,
        label="Aggregations",
        group="Mechanisms",
    )
    propagation_modes: tuple[str, ...] = prior(
        PROPAGATION_NAMES,
        "set",
        "type_eager: typed encoders/decoders; type_lazy: all numerical, categoricals quantised afterwards.",
        options=PROPAGATION_NAMES,
        label="Propagation modes",
        group="Mechanisms",
    )
    noise_alpha: tuple[float, float] = prior(
        (0.5, 5.0),
        "float_range",
        "Node noise Beta(α, β)/d: range of α (per node).",
        lo=0.05,
        hi=50.0,
        label="Noise Beta α",
        group="Noise and typing",
    )
    noise_beta: tuple[float, float] = prior(
        (0.5, 5.0),
        "float_range",
        "Node noise Beta(α, β)/d: range of β (per node).",
        lo=0.05,
        hi=50.0,
        label="Noise Beta β",
        group="Noise and typing",
    )
    lazy_permute_prob: tuple[float, float] = prior(
        (0.3, 1.0),
        "float_range",
        "type_lazy: probability that a quantised column's labels are permuted.",
        lo=0.0,
        hi=1.0,
        label="Lazy: label permute prob.",
        group="Noise and typing",
    )
    lazy_reverse_prob: tuple[float, float] = prior(
        (0.2, 0.8),
        "float_range",
        "type_lazy: probability that a quantised column's labels are reversed.",
        lo=0.0,
        hi=1.0,
        label="Lazy: label reverse prob.",
        group="Noise and typing",
    )
    activation_clamp: float = prior(
        1e6,
        "float",
        "Activations are clamped to ± this value.",
        lo=1.0,
        hi=1e30,
        log=True,
        label="Activation clamp",
        group="Noise and typing",
    )
    embedding_clamp: float = prior(
        1e4,
        "float",
        "Stacked parent embeddings are clamped to ± this value.",
        lo=1.0,
        hi=1e30,
        log=True,
        label="Embedding clamp",
        group="Noise and typing",
    )
    encoder_knots: int = prior(
        0,
        "int",
        "Approximation, off (0) in every preset: K > 0 evaluates each numerical encoder on at most K "
        "quantile knots of its input, rows reusing their bucket's value (faster, not what PluRel computes). "
        "0 evaluates every row exactly.",
        lo=0,
        hi=65536,
        label="Encoder knots (approximation)",
        group="Mechanisms",
    )


@dataclass(frozen=True)
class PostprocessPriors:
    """Post-processing of each table's feature columns."""

    transforms: tuple[str, ...] = prior(
        TRANSFORM_NAMES,
        "set",
        "Transform applied to each float feature column, one drawn per column.",
        options=TRANSFORM_NAMES,
        label="Column transforms",
        group="Post-processing",
    )
    nan_frac: tuple[float, float] = prior(
        (0.01, 0.1),
        "float_range",
        "Share of rows set missing, drawn once per table, in every float feature column.",
        lo=0.0,
        hi=1.0,
        label="Missing-value share",
        group="Post-processing",
    )
    binarize_categoricals: bool = prior(
        True,
        "bool",
        "Integer categorical columns become booleans (value > 0); a column left constant is dropped.",
        label="Binarize integer categoricals",
        group="Post-processing",
    )


SECTIONS: dict[str, type] = {
    "schema": SchemaPriors,
    "connectivity": ConnectivityPriors,
    "features": FeaturePriors,
    "postprocess": PostprocessPriors,
}


def load_json(text: str, where: str = "<json>") -> Any:
    """``json.loads(text)``, or ``ConfigError`` naming ``where`` for text that is not JSON or
    nests too deeply (the parser stops at Python's recursion limit, about 1000 levels; a
    config needs 3)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError([(where, f"not valid JSON: {exc}")]) from None
    except RecursionError:
        raise ConfigError([(where, "nested too deeply (a config needs 3 levels)")]) from None


def iter_priors(obj: Any, prefix: str = "") -> Iterator[tuple[str, Any, PriorSpec]]:
    """Yield ``(dotted path, value, spec)`` for every prior below a dataclass instance."""
    for f in fields(obj):
        value = getattr(obj, f.name)
        path = f"{prefix}{f.name}"
        if dataclasses.is_dataclass(value):
            yield from iter_priors(value, path + ".")
        else:
            yield path, value, f.metadata["prior"]


def prior_groups(sections: Sequence[str], *, sql: bool = False) -> dict[str, list[str]]:
    """The app's controls of a stage page: ``{group: [dotted prior paths]}``.

    Parameters
    ----------
    sections : sequence of str
        Config sections the page shows (``"schema"``, ``("features", "postprocess")`` ...).
    sql : bool, default False
        Leave out the priors that do not apply to a schema imported from SQL.

    Returns
    -------
    dict
        Groups in the order their first prior is declared, the groups of nested sections
        (layout parameters) last; each group's paths in declaration order.
    """
    leaves: dict[str, list[str]] = {}
    nested: dict[str, list[str]] = {}
    for section in sections:
        obj = getattr(Config(), section)
        for f in fields(obj):
            value = getattr(obj, f.name)
            path = f"{section}.{f.name}"
            if dataclasses.is_dataclass(value):
                if sql and not f.metadata.get("sql", True):
                    continue
                group = f.metadata.get("group") or f.name
                for sub, _, spec in iter_priors(value, path + "."):
                    if not (sql and not spec.sql):
                        nested.setdefault(group, []).append(sub)
            else:
                spec = f.metadata["prior"]
                if not (sql and not spec.sql):
                    leaves.setdefault(spec.group or section, []).append(path)
    return {**leaves, **nested}


# how many characters of a bad value a message quotes: a huge value (a multi-megabyte
# config) must not make a message of the same size
QUOTE_CHARS = 60


def short_repr(value: Any, limit: int = QUOTE_CHARS) -> str:
    """``repr(value)`` cut to ``limit`` characters (with ``…`` when cut): what messages quote."""
    try:
        text = repr(list(value) if isinstance(value, tuple) else value)
    except RecursionError:  # a very deeply nested value
        text = f"<deeply nested {type(value).__name__}>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _short_key(key: str, limit: int = QUOTE_CHARS) -> str:
    return key if len(key) <= limit else key[: limit - 1] + "…"


def _fmt(v: Any) -> str:
    return short_repr(v)


def _is_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def _check(path: str, value: Any, spec: PriorSpec) -> list[tuple[str, str]]:
    """Errors for one prior value (already coerced to its Python form where possible)."""
    errs: list[tuple[str, str]] = []
    bad = f"got {_fmt(value)}"
    bounds = f"[{spec.lo:g}, {spec.hi:g}]" if spec.lo is not None else ""
    if spec.kind in ("int_range", "float_range"):
        want_int = spec.kind == "int_range"
        ok_elem = (lambda x: isinstance(x, int) and not isinstance(x, bool)) if want_int else _is_number
        if not (isinstance(value, tuple) and len(value) == 2 and all(ok_elem(x) for x in value)):
            kind = "integers" if want_int else "numbers"
            return [(path, f"{bad}; expected a range [lo, hi] of two {kind} within {bounds}")]
        lo, hi = value
        if not all(math.isfinite(x) for x in value):
            errs.append((path, f"{bad}; range ends must be finite"))
        elif lo > hi:
            errs.append((path, f"{bad}; lo must not exceed hi"))
        elif lo < spec.lo or hi > spec.hi:
            errs.append((path, f"{bad}; allowed range is {bounds}"))
    elif spec.kind == "set":
        if not isinstance(value, tuple):
            return [(path, f"{bad}; expected a list of options from {list(spec.options)}")]
        if len(value) == 0:
            errs.append((path, f"{bad}; the set must not be empty (allowed: {list(spec.options)})"))
        # elements may be anything JSON holds (lists, objects): compared, never hashed
        unknown = [v for v in value if not any(_same_option(v, o) for o in spec.options)]
        if unknown:
            errs.append((path, f"unknown option(s) {short_repr(unknown)}; allowed: {list(spec.options)}"))
        elif len(set(value)) != len(value):
            errs.append((path, f"{bad}; options must not repeat"))
    elif spec.kind in ("int", "float"):
        ok = (
            (isinstance(value, int) and not isinstance(value, bool))
            if spec.kind == "int"
            else _is_number(value)
        )
        if not ok:
            errs.append(
                (path, f"{bad}; expected {'an integer' if spec.kind == 'int' else 'a number'} in {bounds}")
            )
        elif not math.isfinite(value) or value < spec.lo or value > spec.hi:
            errs.append((path, f"{bad}; allowed range is {bounds}"))
    elif spec.kind == "bool":
        if not isinstance(value, bool):
            errs.append((path, f"{bad}; expected true or false"))
    elif spec.kind == "date":
        try:
            day = _dt.date.fromisoformat(value) if isinstance(value, str) else None
        except ValueError:
            day = None
        if day is None:
            errs.append((path, f"{bad}; expected a date YYYY-MM-DD"))
        elif not (MIN_DATE <= day.isoformat() <= MAX_DATE):
            errs.append((path, f"{bad}; allowed dates are {MIN_DATE} .. {MAX_DATE}"))
    return errs


def _same_option(value: Any, option: Any) -> bool:
    """``value == option`` for a JSON value and an allowed option (``True`` is not ``1``)."""
    if isinstance(value, bool) != isinstance(option, bool):
        return False
    return isinstance(value, (str, int, float)) and value == option


def _coerce(value: Any, spec: PriorSpec) -> Any:
    """JSON form → Python form (lists → tuples, integral floats → int for int kinds)."""
    if spec.kind in ("int_range", "float_range", "set") and isinstance(value, list):
        value = tuple(value)
    if isinstance(value, tuple):
        if spec.kind == "int_range" or (spec.kind == "set" and all(isinstance(o, int) for o in spec.options)):
            value = tuple(int(x) if _is_number(x) and float(x).is_integer() else x for x in value)
        elif spec.kind == "float_range" or (
            spec.kind == "set" and all(isinstance(o, float) for o in spec.options)
        ):
            value = tuple(float(x) if _is_number(x) else x for x in value)
    elif spec.kind == "float" and _is_number(value):
        value = float(value)
    elif spec.kind == "int" and isinstance(value, float) and value.is_integer():
        value = int(value)
    return value


def _section_from_dict(cls: type, data: Any, prefix: str, errors: list[tuple[str, str]]) -> Any:
    if not isinstance(data, dict):
        errors.append((prefix.rstrip("."), f"got {short_repr(data)}; expected an object"))
        return cls()
    known = {f.name: f for f in fields(cls)}
    for key in data:
        if key not in known:
            errors.append((f"{prefix}{_short_key(key)}", f"unknown key; allowed keys: {sorted(known)}"))
    kwargs = {}
    for name, f in known.items():
        if name not in data:
            continue
        if "prior" not in f.metadata:  # nested LayoutPriors
            kwargs[name] = _section_from_dict(LayoutPriors, data[name], f"{prefix}{name}.", errors)
        else:
            kwargs[name] = _coerce(data[name], f.metadata["prior"])
    return cls(**kwargs)


def _section_to_dict(obj: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in fields(obj):
        v = getattr(obj, f.name)
        if dataclasses.is_dataclass(v):
            out[f.name] = _section_to_dict(v)
        else:
            out[f.name] = list(v) if isinstance(v, tuple) else v
    return out


@dataclass(frozen=True)
class Config:
    """All priors of one PluRel generator. ``Config()`` is the paper's setting."""

    # each section's class is read from SECTIONS when a Config is made, so a section
    # extended there (a new prior) is used everywhere
    schema: SchemaPriors = field(default_factory=lambda: SECTIONS["schema"]())
    connectivity: ConnectivityPriors = field(default_factory=lambda: SECTIONS["connectivity"]())
    features: FeaturePriors = field(default_factory=lambda: SECTIONS["features"]())
    postprocess: PostprocessPriors = field(default_factory=lambda: SECTIONS["postprocess"]())

    # -- validation -------------------------------------------------------------------
    def problems(self) -> list[tuple[str, str]]:
        """Every problem of this config.

        Returns
        -------
        list of (str, str)
            ``(dotted prior path, message)`` per problem; empty when the config is valid.
        """
        errs: list[tuple[str, str]] = []
        for section in SECTIONS:
            obj = getattr(self, section)
            for path, value, spec in iter_priors(obj, section + "."):
                errs.extend(_check(path, value, spec))
        s = self.schema
        dates_ok = not _check("", s.time_start, _date_spec) and not _check("", s.time_end, _date_spec)
        if dates_ok and s.time_end <= s.time_start:
            errs.append(
                (
                    "schema.time_end",
                    f"got {s.time_end!r}; must be after schema.time_start {s.time_start!r}",
                )
            )
        if _is_number(s.val_frac) and _is_number(s.test_frac) and s.val_frac > s.test_frac:
            errs.append(
                ("schema.test_frac", f"got {s.test_frac!r}; must be ≥ schema.val_frac {s.val_frac!r}")
            )
        return errs

    def validate(self) -> Config:
        """Check every prior at once.

        Returns
        -------
        Config
            ``self``, when valid.

        Raises
        ------
        ConfigError
            Listing every problem (``.errors``: ``(path, message)`` pairs).
        """
        errs = self.problems()
        if errs:
            raise ConfigError(errs)
        return self

    # -- dict / JSON ------------------------------------------------------------------
    def to_dict(self) -> dict[str, dict[str, Any]]:
        """The dict form: ``{section: {prior: value}}``, ranges and sets as lists."""
        return {name: _section_to_dict(getattr(self, name)) for name in SECTIONS}

    @classmethod
    def from_dict(cls, data: Any, *, validate: bool = True) -> Config:
        """Build from the dict form; missing keys keep the paper's defaults.

        Parameters
        ----------
        data : dict
            ``{section: {prior: value}}`` with the sections ``schema``, ``connectivity``,
            ``features``, ``postprocess`` (each optional); ranges and sets as lists.
        validate : bool, default True
            Also check the values (else only the keys and shapes are read).

        Returns
        -------
        Config

        Raises
        ------
        ConfigError
            Naming every unknown key and invalid value.
        """
        errors: list[tuple[str, str]] = []
        if not isinstance(data, dict):
            raise ConfigError([("<config>", f"got {type(data).__name__}; expected an object with sections")])
        for key in data:
            if key not in SECTIONS:
                errors.append((_short_key(key), f"unknown section; allowed: {list(SECTIONS)}"))
        kwargs = {}
        for name, sec_cls in SECTIONS.items():
            if name in data:
                kwargs[name] = _section_from_dict(sec_cls, data[name], name + ".", errors)
        cfg = cls(**kwargs)
        if validate:
            errors.extend(cfg.problems())
        if errors:
            raise ConfigError(errors)
        return cfg

    def to_json(self, indent: int | None = 2) -> str:
        """The JSON text of :meth:`to_dict` (``Config.from_json(cfg.to_json()) == cfg``)."""
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> Config:
        """:meth:`from_dict` of JSON text; ``ConfigError`` also for text that is not JSON."""
        return cls.from_dict(load_json(text, "<json>"))

    # -- paths (used by the app and the URL state) --------------------------------------
    def get(self, path: str) -> Any:
        """The value of one prior by dotted path (``"features.layout.er_p"``)."""
        obj: Any = self
        for part in path.split("."):
            obj = getattr(obj, part)
        return obj

    def with_value(self, path: str, value: Any) -> Config:
        """A copy with one prior replaced.

        Parameters
        ----------
        path : str
            Dotted prior path, e.g. ``"features.layout.er_p"``.
        value
            The new value; lists are read as ranges or sets (not validated here: call
            :meth:`validate`).

        Returns
        -------
        Config

        Raises
        ------
        ConfigError
            ``path`` names no prior.
        """
        parts = path.split(".")

        def rec(obj: Any, i: int) -> Any:
            if not dataclasses.is_dataclass(obj) or parts[i] not in {f.name for f in fields(obj)}:
                raise ConfigError([(path, "unknown prior")])
            if i == len(parts) - 1:
                spec = next(f for f in fields(obj) if f.name == parts[i]).metadata.get("prior")
                return replace(obj, **{parts[i]: _coerce(value, spec) if spec else value})
            return replace(obj, **{parts[i]: rec(getattr(obj, parts[i]), i + 1)})

        return rec(self, 0)

    def diff(self, other: Config) -> dict[str, tuple[Any, Any]]:
        """``{path: (self value, other value)}`` for every prior that differs."""
        out = {}
        for section in SECTIONS:
            mine = dict((p, v) for p, v, _ in iter_priors(getattr(self, section), section + "."))
            for p, v, _ in iter_priors(getattr(other, section), section + "."):
                if mine[p] != v:
                    out[p] = (mine[p], v)
        return out

    @staticmethod
    def spec(path: str) -> PriorSpec:
        """The ``PriorSpec`` of a dotted prior path."""
        obj: Any = Config()
        parts = path.split(".")
        for part in parts[:-1]:
            obj = getattr(obj, part)
        for f in fields(obj):
            if f.name == parts[-1] and "prior" in f.metadata:
                return f.metadata["prior"]
        raise KeyError(path)

    @classmethod
    def preset(cls, name: str) -> Config:
        """A named preset.

        Parameters
        ----------
        name : str
            ``paper`` (= ``Config()``), ``small``, ``uniform_fks``, ``star``, ``linear_scm``
            or ``large`` (see ``PRESETS``).

        Returns
        -------
        Config

        Raises
        ------
        ConfigError
            For an unknown name, listing the presets.
        """
        if name not in PRESETS:
            raise ConfigError([("preset", f"unknown preset {name!r}; available: {sorted(PRESETS)}")])
        return cls.from_dict(PRESETS[name]["config"])


_date_spec = PriorSpec("date", "")

PRESETS: dict[str, dict[str, Any]] = {
    "paper": {"description": "The paper's priors (Kothapalli et al., 2026).", "config": {}},
    "small": {
        "description": "3–6 tables with tens to a few hundred rows: for teaching and quick checks.",
        "config": {
            "schema": {
                "num_tables": [3, 6],
                "entity_rows": [20, 100],
                "activity_rows": [100, 300],
                "num_cols": [2, 8],
            },
        },
    },
    "uniform_fks": {
        "description": "Paper priors but every foreign key uniform (one HSBM level, one cluster): no locality.",
        "config": {"connectivity": {"levels": [1, 1], "parent_clusters": [1, 1], "child_clusters": [1, 1]}},
    },
    "star": {
        "description": "Star / snowflake schemas only (ReverseRandomTree): one fact table, many dimensions.",
        "config": {"schema": {"layouts": ["ReverseRandomTree"], "num_tables": [4, 10]}},
    },
    "linear_scm": {
        "description": "Simple mechanisms: identity activations, sum aggregation, eager typing.",
        "config": {
            "features": {
                "activations": ["identity"],
                "aggregations": ["sum"],
                "propagation_modes": ["type_eager"],
            }
        },
    },
    "large": {
        "description": "Bigger databases for throughput checks: 10–30 tables, 10x the paper's rows.",
        "config": {
            "schema": {
                "num_tables": [10, 30],
                "entity_rows": [5000, 10000],
                "activity_rows": [20000, 50000],
            }
        },
    },
}


def sample_range(rng: Any, value: tuple) -> Any:
    """Uniform draw from a range prior (integers inclusive)."""
    lo, hi = value
    if isinstance(lo, int) and isinstance(hi, int):
        return int(rng.integers(lo, hi + 1))
    return float(rng.uniform(lo, hi)) if hi > lo else float(lo)


def sample_set(rng: Any, value: tuple) -> Any:
    """Uniform draw from a set prior."""
    return value[int(rng.integers(len(value)))]
