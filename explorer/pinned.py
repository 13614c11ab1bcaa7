"""The pinned A: a copy of the priors kept while the user changes them (the current B).

Every stage page then draws A beside B on the same seed, and the Sweep page compares the
two on the same seeds. A lives in the session state and in the URL (``A.preset`` and
``A.<prior path>`` for the priors that differ from that preset, see
:mod:`explorer.urlextra`), so a reload or a shared link keeps it.

A keeps the SQL schema it was pinned with (or none: its Stage 1 then samples a schema from
its priors), so B may use another SQL schema or none. An example schema is named in the URL
(``A.sql``); an uploaded one is kept by the session only, like B's.
"""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from plurel_core.config import Config

from . import state, urlextra
from .text import md_code
from .urlstate import decode_state, encode_state

__all__ = [
    "changed_priors",
    "changed_stages",
    "decode_pinned",
    "draw_pin_control",
    "encode_pinned",
    "get_pinned",
    "get_pinned_sql",
    "pin_current",
    "schema_sources",
    "set_pinned",
    "unpin",
]

_PINNED = "px_pinned"  # (Config, preset) or None
_PINNED_SQL = "px_pinned_sql"  # (name, DDL text) of A's SQL schema, or None
_DECODED = "px_pinned_decoded"
STAGE_OF_SECTION = {"schema": 1, "connectivity": 2, "features": 3, "postprocess": 3}


def encode_pinned(config: Config, preset: str = "paper", sql_name: str | None = None) -> dict[str, str]:
    """URL parameters of A: ``A.preset``, the priors that differ from it and ``A.sql``, the
    example SQL schema A was pinned with (if any)."""
    params = encode_state(config, 0, preset)
    params.pop("seed", None)
    if sql_name:
        params["sql"] = sql_name
    return {urlextra.PIN_PREFIX + k: v for k, v in params.items()}


def _decode_sql(params: Mapping[str, str]) -> tuple[tuple[str, str] | None, list[str]]:
    name = params.get(urlextra.PIN_PREFIX + "sql")
    if not name:
        return None, []
    examples = state.example_schemas()
    if name not in examples:
        shown = name if len(name) <= 40 else name[:39] + "…"
        return None, [f"A: sql={shown!r} ignored: not an example schema ({', '.join(examples) or 'none'})"]
    return (name, examples[name].read_text(encoding="utf-8")), []


def decode_pinned(params: Mapping[str, str]) -> tuple[tuple[Config, str] | None, list[str]]:
    """A from URL parameters (``None`` without any ``A.`` key) and notices for what was ignored."""
    mine = {k[len(urlextra.PIN_PREFIX) :]: v for k, v in params.items() if k.startswith(urlextra.PIN_PREFIX)}
    if not mine:
        return None, []
    mine.pop("seed", None)
    url_state, notices = decode_state(mine)
    return (url_state.config, url_state.preset), [f"A: {n}" for n in notices]


def get_pinned() -> Config | None:
    """The pinned priors, or None."""
    ss = st.session_state
    if not ss.get(_DECODED):
        ss[_DECODED] = True
        params = urlextra.get_params()
        pinned, notices = decode_pinned(params)
        sql, sql_notices = _decode_sql(params) if pinned else (None, [])
        ss[_PINNED], ss[_PINNED_SQL] = pinned, sql
        notices += sql_notices
        if notices:
            state.push_notice("Some parameters of the pinned A were ignored:\n- " + "\n- ".join(notices))
    pinned = ss.get(_PINNED)
    return pinned[0] if pinned else None


def get_pinned_sql() -> tuple[str, str] | None:
    """``(name, DDL text)`` of the SQL schema A was pinned with, or None (A's Stage 1
    samples its schema from A's priors)."""
    get_pinned()
    return st.session_state.get(_PINNED_SQL)


def pin_current() -> None:
    """Pin the current priors (and SQL schema) as A (replacing any earlier A)."""
    set_pinned(state.get_config(), state.get_preset(), state.get_sql())


def set_pinned(cfg: Config, preset: str = "paper", sql: tuple[str, str] | None = None) -> None:
    """Pin ``cfg`` (with the SQL schema ``sql``, if given) as A."""
    st.session_state[_PINNED] = (cfg, preset)
    st.session_state[_PINNED_SQL] = sql
    st.session_state[_DECODED] = True
    name = sql[0] if sql is not None and sql[0] in state.example_schemas() else None
    urlextra.set_params(encode_pinned(cfg, preset, name), prefix=urlextra.PIN_PREFIX)


def unpin() -> None:
    st.session_state[_PINNED] = None
    st.session_state[_PINNED_SQL] = None
    st.session_state[_DECODED] = True
    urlextra.set_params({}, prefix=urlextra.PIN_PREFIX)


def _source(sql: tuple[str, str] | None) -> str:
    return "the Stage-1 priors" if sql is None else f"the SQL schema {md_code(sql[0], 60)}"


def schema_sources(a_sql: tuple[str, str] | None, b_sql: tuple[str, str] | None) -> str | None:
    """What A's and B's schemas come from, when that differs (another SQL schema, or SQL
    against the Stage-1 priors); None when both have the same source."""
    if (a_sql and a_sql[1]) == (b_sql and b_sql[1]):
        return None
    return f"A's schema comes from {_source(a_sql)}, B's from {_source(b_sql)}"


def changed_priors(a: Config, b: Config) -> dict[str, tuple]:
    """``{prior path: (A value, B value)}`` for the priors that differ."""
    return a.diff(b)


def changed_stages(a: Config, b: Config) -> set[int]:
    """The stages (1, 2, 3) whose priors differ between A and B."""
    return {STAGE_OF_SECTION[path.split(".", 1)[0]] for path in a.diff(b)}


def _short(value: object) -> str:
    text = str(list(value) if isinstance(value, tuple) else value)
    return text if len(text) <= 30 else text[:29] + "…"


def draw_pin_control() -> None:
    """The sidebar's "Pin as A" block: pin/unpin and the priors B changes."""
    sb = st.sidebar
    a = get_pinned()
    if a is None:
        sb.button(
            "Pin as A",
            icon=":material/push_pin:",
            on_click=pin_current,
            width="stretch",
            help="Keep the current priors as A: every stage page then shows A beside your changes (B) "
            "on the same seed, and the Sweep page compares them on the same seeds.",
        )
        return
    diff = changed_priors(a, state.get_config())
    with sb.container(border=True):
        st.markdown(f"**A is pinned** · {len(diff)} prior(s) changed since")
        for path, (va, vb) in list(diff.items())[:6]:
            st.caption(f"`{path}`: {_short(va)} → **{_short(vb)}**")
        sources = schema_sources(get_pinned_sql(), state.get_sql())
        if sources is not None:
            st.caption(sources + ".")
        cols = st.columns(2)
        cols[0].button("Re-pin", on_click=pin_current, help="Pin the current priors as A.", width="stretch")
        cols[1].button("Unpin A", on_click=unpin, width="stretch")
