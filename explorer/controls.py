"""Controls generated from the priors' metadata (``PriorSpec``).

Each prior gets the widget its kind calls for: a range slider for ``int_range`` /
``float_range`` (a log-spaced select slider when ``log``), a multiselect for ``set`` (never
left empty), a slider or number input for ``int`` / ``float``, a toggle for ``bool`` and a
date input for ``date``. The widget shows the current config value; a callback writes the
new value back into the session's config, so the config (not the widget) is the state.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Iterable, Sequence
from typing import Any

import streamlit as st

from plurel_core.config import MAX_DATE, MIN_DATE, Config, PriorSpec, prior_groups
from plurel_core.registry import RegistryOptions

from . import state

__all__ = [
    "MAX_SLIDER_STEPS",
    "float_widget",
    "group_key",
    "default_text",
    "label_for",
    "log_grid",
    "option_groups",
    "prior_control",
    "prior_controls",
    "set_choices",
    "slider_step",
    "stage_controls",
]


def option_groups(path: str) -> dict[str, tuple]:
    """Named groups of a set prior's options, offered next to its multiselect: the traits its
    registry shows as groups (``bounded`` activations, ``trees`` ...), ``{label: options}``."""
    options = Config.spec(path).options
    if not isinstance(options, RegistryOptions):
        return {}
    registry = options.registry()
    groups = {label: registry.having(trait) for trait, label in registry.groups.items()}
    return {label: members for label, members in groups.items() if members}


def set_choices(path: str) -> dict[str, tuple]:
    """Quick choices for a set prior: ``all``, its named groups, then ``only <option>`` each."""
    spec = Config.spec(path)
    if spec.kind != "set":
        raise ValueError(f"prior {path!r} is not a set prior (kind {spec.kind!r})")
    out: dict[str, tuple] = {f"all {len(spec.options)}": tuple(spec.options)}
    for name, members in option_groups(path).items():
        out[f"{name} ({len(members)})"] = tuple(o for o in spec.options if o in members)
    for option in spec.options:
        out[f"only {_fmt(option)}"] = (option,)
    return out


def _on_pick(path: str, key: str) -> None:
    choice = st.session_state.get(key)
    options = set_choices(path).get(choice)
    if options:
        state.set_config(state.get_config().with_value(path, options))
    state.bump_controls()  # redraw the multiselect from the config and clear this box


def label_for(path: str) -> str:
    """The label of a dotted prior path (its metadata's, else its name made readable)."""
    try:
        label = Config.spec(path).label
    except (KeyError, AttributeError):
        label = ""
    return label or path.rsplit(".", 1)[-1].replace("_", " ").capitalize()


def _fmt(value: Any) -> str:
    if isinstance(value, tuple):
        return "[" + ", ".join(_fmt(v) for v in value) + "]"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, float):
        return f"{value:g}"
    return str(value)


def default_text(path: str) -> str:
    """``default: …`` with the paper's value of a prior."""
    return f"default: {_fmt(Config().get(path))}"


def slider_step(spec: PriorSpec, values: Iterable[float]) -> float:
    """A decimal step fine enough for the bounds and the current values, coarse enough to drag."""
    span = float(spec.hi) - float(spec.lo)
    step = 10.0 ** math.floor(math.log10(span / 100.0)) if span > 0 else 0.01
    for _ in range(8):
        if all(abs(v / step - round(v / step)) < 1e-6 for v in [float(spec.lo), *values]):
            break
        step /= 10.0
    return step


MAX_SLIDER_STEPS = 10_000


def float_widget(spec: PriorSpec, values: Iterable[float]) -> tuple[str, float]:
    """``("slider", step)`` when a slider can hit the bounds and values, else ``("number", step)``.

    A bound like 1e-6 next to values like 0.9 would need a million slider steps; such priors
    get a number input, which accepts any value in bounds.
    """
    step = slider_step(spec, values)
    if (float(spec.hi) - float(spec.lo)) / step <= MAX_SLIDER_STEPS:
        return "slider", step
    span = float(spec.hi) - float(spec.lo)
    return "number", 10.0 ** math.floor(math.log10(span / 100.0))


def log_grid(lo: float, hi: float, extra: Iterable[float] = (), integer: bool = False) -> list:
    """Nice log-spaced values 1, 2, 5, 10, ... within [lo, hi], plus ``extra`` values."""
    vals = set()
    if lo > 0:
        e = math.floor(math.log10(lo))
        while 10.0**e <= hi * 10:
            for m in (1, 2, 5):
                v = m * 10.0**e
                if lo <= v <= hi:
                    vals.add(round(v, 12))
            e += 1
    vals.update(float(x) for x in (lo, hi, *extra))
    out = sorted(vals)
    return [int(round(v)) for v in out] if integer else out


def _round(v: float, step: float) -> float:
    digits = max(0, -math.floor(math.log10(step))) + 1 if step > 0 else 6
    return round(float(v), digits)


def _on_change(path: str, key: str) -> None:
    spec = Config.spec(path)
    value = st.session_state.get(key)
    if spec.kind == "set":
        if not value:
            state.push_notice(
                f"{label_for(path)}: keep at least one option selected (the set cannot be empty)."
            )
            state.bump_controls()
            return
        value = tuple(o for o in spec.options if o in value)  # keep the canonical order
    elif spec.kind in ("int_range", "float_range"):
        value = tuple(value)
    elif spec.kind == "date":
        value = value.isoformat() if isinstance(value, dt.date) else str(value)
    if spec.kind == "float_range":
        value = tuple(float(v) for v in value)
    state.set_config(state.get_config().with_value(path, value))


def prior_control(path: str, container: Any = None) -> Any:
    """Draw the control of one prior (dotted path) and return its current value."""
    where = container if container is not None else st
    spec = Config.spec(path)
    value = state.get_config().get(path)
    key = f"ctl{state.control_version()}:{path}"
    label = label_for(path)
    helptext = f"{spec.help}\n\n{default_text(path)} · prior `{path}`"
    common = dict(key=key, help=helptext, on_change=_on_change, args=(path, key))
    kind = spec.kind
    if kind in ("int_range", "float_range"):
        integer = kind == "int_range"
        lo, hi = value
        if spec.log:
            grid = log_grid(float(spec.lo), float(spec.hi), (lo, hi), integer=integer)
            return where.select_slider(label, options=grid, value=(lo, hi), format_func=_fmt, **common)
        if integer:
            return where.slider(label, int(spec.lo), int(spec.hi), (int(lo), int(hi)), step=1, **common)
        widget, step = float_widget(spec, value)
        if widget == "slider":
            return where.slider(
                label,
                float(spec.lo),
                float(spec.hi),
                (_round(lo, step), _round(hi, step)),
                step=step,
                **common,
            )
        grid = log_grid(float(spec.lo), float(spec.hi), (lo, hi)) if spec.lo > 0 else None
        if grid is not None:
            return where.select_slider(label, options=grid, value=(lo, hi), format_func=_fmt, **common)
        raise ValueError(f"prior {path!r}: range too fine for a slider and not positive for a log scale")
    if kind == "set":
        chosen = where.multiselect(
            label, options=list(spec.options), default=list(value), format_func=_fmt, **common
        )
        pick = f"pick{state.control_version()}:{path}"
        where.selectbox(
            f"{label}: set to",
            list(set_choices(path)),
            index=None,
            key=pick,
            placeholder="Quick set…",
            help="Set this prior to all options, a named group or one option in one step.",
            on_change=_on_pick,
            args=(path, pick),
            label_visibility="collapsed",
        )
        return chosen
    if kind == "int":
        if spec.hi - spec.lo <= 300:
            return where.slider(label, int(spec.lo), int(spec.hi), int(value), step=1, **common)
        return where.number_input(label, int(spec.lo), int(spec.hi), int(value), step=1, **common)
    if kind == "float":
        if spec.log:
            grid = [
                10.0**e for e in range(math.floor(math.log10(spec.lo)), math.ceil(math.log10(spec.hi)) + 1)
            ]
            grid = sorted({float(g) for g in grid if spec.lo <= g <= spec.hi} | {float(value)})
            return where.select_slider(label, options=grid, value=float(value), format_func=_fmt, **common)
        widget, step = float_widget(spec, [value])
        if widget == "slider":
            return where.slider(
                label, float(spec.lo), float(spec.hi), _round(value, step), step=step, **common
            )
        return where.number_input(
            label, float(spec.lo), float(spec.hi), float(value), step=step, format="%g", **common
        )
    if kind == "bool":
        return where.toggle(label, value=bool(value), **common)
    if kind == "date":
        return where.date_input(
            label,
            value=dt.date.fromisoformat(value),
            min_value=dt.date.fromisoformat(MIN_DATE),
            max_value=dt.date.fromisoformat(MAX_DATE),
            **common,
        )
    raise ValueError(f"prior {path!r} has unknown kind {kind!r}")


def prior_controls(paths: Iterable[str], container: Any = None) -> None:
    from .lessons import visible_controls  # a lesson in presentation mode shows only its priors

    for path in visible_controls(list(paths)):
        prior_control(path, container)


def group_key(group: str) -> str:
    """The session-state key of a control group's expander (open or closed), shared by the
    pages that show the group."""
    return f"controls:{group}"


def stage_controls(
    sections: Sequence[str], *, sql: bool = False, expanded: Iterable[str] | None = None
) -> None:
    """The controls of a stage page, built from the priors' metadata: one expander per group
    (:func:`plurel_core.config.prior_groups`), the groups in ``expanded`` open at first (by
    default the first); only an open group's controls are built. ``sql`` leaves out the
    priors an imported schema does not use."""
    from .lessons import presenting, visible_controls

    groups = prior_groups(sections, sql=sql)
    opened = set(expanded) if expanded is not None else set(list(groups)[:1])
    if presenting():
        opened = set(groups)  # a lesson shows only its own priors: all of them at once
    for group, paths in groups.items():
        if not visible_controls(paths):
            continue  # a lesson in presentation mode uses none of them
        # a closed group's controls are not built: the browser then draws only the open
        # groups' widgets on every run (on the Stage-3 page, 35 elements instead of 84);
        # opening one reruns the page
        box = st.expander(group, expanded=group in opened, key=group_key(group), on_change="rerun")
        if box.open:
            with box:
                prior_controls(paths)
