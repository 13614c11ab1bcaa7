"""The shared sidebar: preset, seed, reset, config JSON in and out."""

from __future__ import annotations

import json
from typing import Any

import streamlit as st

from plurel_core import export
from plurel_core.config import PRESETS, Config, ConfigError, load_json, short_repr

from . import pinned, state
from .controls import label_for
from .downloads import file_stem
from .text import md_code
from .ui import md_escape, sql_in_link
from .urlstate import MAX_SEED

__all__ = ["config_bundle_text", "draw_sidebar", "load_bundle"]

# problems of an uploaded config listed in its notice (the rest are counted)
MAX_LISTED = 12


def config_bundle_text() -> str:
    """The session's priors, seed (and SQL schema) as a config bundle (``plurel_core.export``)."""
    sql = state.get_sql()
    return export.config_bundle(state.get_config(), state.get_seed(), sql[1] if sql else None)


def load_bundle(text: str) -> tuple[Config, int | None, str | None]:
    """Parse a saved config: a config bundle (config + seed [+ SQL]) or a bare config object.

    Returns ``(config, seed or None, schema SQL or None)``; raises ``ConfigError`` naming
    what is wrong (a seed the explorer cannot use included: nothing is applied then).
    """
    data = load_json(text, "<file>")
    if not isinstance(data, dict):
        raise ConfigError([("<file>", f"expected a JSON object, got {type(data).__name__}")])
    if "format" in data or "seed" in data:
        data = {"format": export.BUNDLE_FORMAT, **data}
        cfg, seed, sql = export.load_bundle(json.dumps(data))
        if seed > MAX_SEED:
            raise ConfigError(
                [("seed", f"got {short_repr(seed)}; the explorer takes seeds in [0, {MAX_SEED}]")]
            )
        return cfg, seed, sql
    return Config.from_dict(data), None, None


def _on_preset(key: str) -> None:
    state.set_preset(st.session_state[key])


def _on_seed(key: str) -> None:
    value = st.session_state[key]
    if value is not None:
        state.set_seed(int(value), redraw_controls=False)  # the box shows it already


def _on_upload(key: str) -> None:
    upload = st.session_state.get(key)
    if upload is None:
        return
    name = md_code(upload.name)
    try:
        cfg, seed, sql = load_bundle(upload.getvalue().decode("utf-8", errors="replace"))
    except ConfigError as exc:
        shown = exc.errors[:MAX_LISTED]
        more = len(exc.errors) - len(shown)
        state.push_notice(
            f"The config file {name} was not loaded:\n"
            + "\n".join(f"- {md_code(p)}: {md_code(m, 300)}" for p, m in shown)
            + (f"\n- … and {more:,} more" if more else "")
        )
        return
    # everything was checked above: applied all together, or (above) not at all
    state.set_preset(_closest_preset(cfg))
    state.set_config(cfg)
    state.set_sql((upload.name.rsplit(".", 1)[0], sql) if sql else None)
    if seed is not None:
        state.set_seed(seed)
    state.bump_controls()
    state.push_notice(f"Loaded the config from {name}" + (f" with seed {seed}." if seed is not None else "."))


def draw_sidebar() -> None:
    """Preset, seed, reset, changed priors, config upload/download."""
    ver = state.control_version()
    sb = st.sidebar
    sb.markdown("### :material/hub: PluRel Explorer")
    names = list(PRESETS)
    preset = state.get_preset()
    key = f"sb_preset:{ver}"
    sb.selectbox(
        "Preset",
        names,
        index=names.index(preset) if preset in names else 0,
        key=key,
        on_change=_on_preset,
        args=(key,),
        format_func=lambda n: n,
        help="Named sets of priors from the core. Choosing one replaces every prior.\n\n"
        + "\n".join(f"- **{n}**: {PRESETS[n]['description']}" for n in names),
    )
    sb.caption(PRESETS.get(preset, {}).get("description", ""))
    key = f"sb_seed:{ver}"
    sb.number_input(
        "Seed",
        min_value=0,
        max_value=MAX_SEED,
        value=state.get_seed(),
        step=1,
        key=key,
        on_change=_on_seed,
        args=(key,),
        help="All randomness of a database comes from this integer plus the priors. default: 0",
    )
    sb.button(
        "New seed",
        icon=":material/casino:",
        on_click=state.new_seed,
        help="Draw a fresh random seed.",
        width="stretch",
    )
    sb.button(
        "Reset to paper defaults",
        icon=":material/restart_alt:",
        on_click=state.reset_to_defaults,
        help="Reset to paper defaults: every prior back to the paper's value (preset `paper`); the seed is kept.",
        width="stretch",
    )
    base = Config.preset(preset) if preset in PRESETS else Config()
    changed = base.diff(state.get_config())
    if changed:
        with sb.expander(f"{len(changed)} prior(s) differ from `{preset}`"):
            for path, (old, new) in changed.items():
                st.markdown(f"- {label_for(path)} (`{path}`): {_short(old)} → **{_short(new)}**")
    else:
        sb.caption(f"All priors as in preset `{preset}`.")
    knots = state.get_config().features.encoder_knots
    if knots:
        # an approximation is never silent: every page says it is on, and how to turn it off
        sb.warning(
            f"**Approximation on** (`features.encoder_knots` = {knots}): each numerical encoder "
            f"runs on at most {knots} quantile knots of its input and rows reuse their bucket's "
            "value, so Stage 3 is not what PluRel computes. Set it to 0 for exact rows.",
            icon=":material/warning:",
        )
    pinned.draw_pin_control()
    sql = state.get_sql()
    if sql is not None:
        sb.info(f"Schema from SQL: **{md_escape(sql[0])}** (Stage-1 structure priors unused).")
        if not sql_in_link(sql):
            sb.warning("This uploaded schema is not in the page's link.", icon=":material/link_off:")
    with sb.expander("Config file"):
        st.download_button(
            "Download config + seed (JSON)",
            data=config_bundle_text(),
            file_name=file_stem(state.get_config(), state.get_seed(), sql[1] if sql else None)
            + "_config.json",
            mime="application/json",
            width="stretch",
        )
        key = f"sb_upload:{ver}"
        st.file_uploader(
            "Load a config JSON (+ seed)",
            type=["json"],
            key=key,
            on_change=_on_upload,
            args=(key,),
            help='A file saved here or by the export: {"config": {...}, "seed": n} or a bare config object.',
        )


def _short(value: Any) -> str:
    text = json.dumps(list(value) if isinstance(value, tuple) else value)
    return text if len(text) <= 40 else text[:39] + "…"


def _closest_preset(cfg: Config) -> str:
    """The preset a loaded config differs least from (keeps its URL short)."""
    return min(PRESETS, key=lambda name: (len(Config.preset(name).diff(cfg)), name != "paper"))
