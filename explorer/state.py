"""Per-session state of the explorer, kept in non-widget ``st.session_state`` keys.

Widget values vanish when their widget is not drawn (e.g. on another page), so the config,
seed, preset, uploaded schema and view selections live in plain keys that every page reads.
Controls write into them through callbacks (see :mod:`explorer.controls`).
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import streamlit as st

from plurel_core.config import PRESETS, Config

from . import urlextra
from .text import md_code
from .urlstate import MAX_SEED, VIEW_KEYS, decode_state, encode_state

__all__ = [
    "ASSET_SCHEMAS",
    "bump_controls",
    "control_version",
    "example_schemas",
    "get_config",
    "get_preset",
    "get_seed",
    "get_sql",
    "get_view",
    "init_state",
    "new_seed",
    "notices",
    "pop_notices",
    "prune_view",
    "push_notice",
    "reset_to_defaults",
    "set_config",
    "set_preset",
    "set_seed",
    "set_sql",
    "set_view",
    "sync_url",
]

_CFG = "px_config"
_SEED = "px_seed"
_PRESET = "px_preset"
_VER = "px_ctl_version"
_SQL = "px_sql"  # (name, text) of the schema given as SQL, or None
_VIEW = "px_view"
_NOTICES = "px_notices"
_INIT = "px_initialised"
_URL = "px_last_url"

ASSET_SCHEMAS = Path(__file__).resolve().parent.parent / "assets" / "schemas"


def example_schemas() -> dict[str, Path]:
    """Example SQL schemas shipped under ``assets/schemas`` (name → file)."""
    if not ASSET_SCHEMAS.is_dir():
        return {}
    return {p.stem: p for p in sorted(ASSET_SCHEMAS.glob("*.sql"))}


def init_state() -> None:
    """Restore state from the URL on a session's first run, and again after Back / Forward.

    Every change writes the state into the URL, so the browser keeps one history entry per
    state; when the user goes back, the run carries the older entry's URL, which then wins
    over the session's state (otherwise the end of the run would write the newer state over it).
    """
    ss = st.session_state
    if not ss.get(_INIT):
        ss[_VER] = 0
        ss[_NOTICES] = []
        _apply_url()
        ss[_INIT] = True
    elif _history_navigation() and dict(st.query_params.to_dict()) != ss.get(_URL):
        _apply_url()
        bump_controls()


def _history_navigation() -> bool:
    """Whether this run comes from the browser's Back / Forward."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    return bool(getattr(get_script_run_ctx(), "is_history_navigation", False))


def _apply_url() -> None:
    """Config, seed, preset, SQL example and view selections from the URL."""
    ss = st.session_state
    params, extra = urlextra.split_params(st.query_params.to_dict())
    urlextra.store(extra)  # pinned A, sweep seeds, lesson: read by their own modules
    ss.pop("px_pinned_decoded", None)  # the pinned A is decoded again from these
    state, problems = decode_state(params)
    ss[_CFG] = state.config
    ss[_SEED] = state.seed
    ss[_PRESET] = state.preset
    ss[_SQL] = None
    view = dict(state.view)
    sql_name = view.pop("sql", None)
    if sql_name:
        examples = example_schemas()
        if sql_name in examples:
            ss[_SQL] = (sql_name, examples[sql_name].read_text(encoding="utf-8"))
        else:
            problems.append(
                f"sql={md_code(sql_name)} ignored: not an example schema ({', '.join(examples) or 'none'})"
            )
    ss[_VIEW] = view
    if problems:
        push_notice("Some URL parameters were ignored:\n- " + "\n- ".join(problems))


def _ensure() -> None:
    if not st.session_state.get(_INIT):
        init_state()


def get_config() -> Config:
    _ensure()
    return st.session_state[_CFG]


def set_config(cfg: Config) -> None:
    st.session_state[_CFG] = cfg


def get_seed() -> int:
    _ensure()
    return int(st.session_state[_SEED])


def set_seed(seed: int, *, redraw_controls: bool = True) -> None:
    """Make ``seed`` the session's seed. ``redraw_controls=False`` when the seed box already
    shows it (the user typed it): a redraw makes the browser build every control anew."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ValueError(f"seed must be an integer in [0, {MAX_SEED}], got {seed!r}")
    st.session_state[_SEED] = seed
    if redraw_controls:
        bump_controls()


def new_seed() -> int:
    """A fresh random seed (from the OS, not a shared generator)."""
    seed = secrets.randbelow(1_000_000)
    set_seed(seed)
    return seed


def get_preset() -> str:
    _ensure()
    return st.session_state[_PRESET]


def set_preset(name: str) -> None:
    """Switch to a preset: every prior takes the preset's value."""
    st.session_state[_CFG] = Config.preset(name)
    st.session_state[_PRESET] = name
    bump_controls()


def reset_to_defaults() -> None:
    """The paper's priors (preset ``paper``), keeping the seed and dropping any SQL schema."""
    set_preset("paper")
    st.session_state[_SQL] = None


def get_sql() -> tuple[str, str] | None:
    """``(name, DDL text)`` when the schema comes from SQL instead of Stage-1 priors."""
    _ensure()
    return st.session_state.get(_SQL)


def set_sql(value: tuple[str, str] | None) -> None:
    st.session_state[_SQL] = value


def get_view(key: str, default: Any = None) -> Any:
    return st.session_state.get(_VIEW, {}).get(key, default)


def set_view(key: str, value: Any) -> None:
    """Keep a view selection (``None`` drops it: the page's default, not in the URL)."""
    if key not in VIEW_KEYS:
        raise ValueError(f"unknown view key {key!r}; allowed: {VIEW_KEYS}")
    view = st.session_state.setdefault(_VIEW, {})
    if value is None:
        view.pop(key, None)
    else:
        view[key] = value


def prune_view(tables: Iterable[str], foreign_keys: Iterable[str]) -> None:
    """Drop view selections the current schema does not have (a ``fk=`` of an older schema).

    ``foreign_keys`` are ``child.column`` names. The pages fall back to their first option
    for such a selection; without this the stale value would stay in the URL.
    """
    view = st.session_state.get(_VIEW, {})
    if view.get("table") is not None and view["table"] not in set(tables):
        view.pop("table")
    if view.get("fk") is not None and view["fk"] not in set(foreign_keys):
        view.pop("fk")
        view.pop("level", None)


def control_version() -> int:
    """Part of every control's key: bumping it redraws all controls from the config."""
    return int(st.session_state.get(_VER, 0))


def bump_controls() -> None:
    st.session_state[_VER] = control_version() + 1


def push_notice(text: str) -> None:
    st.session_state.setdefault(_NOTICES, []).append(text)


def notices() -> list[str]:
    return list(st.session_state.get(_NOTICES, []))


def pop_notices() -> list[str]:
    out = notices()
    st.session_state[_NOTICES] = []
    return out


def sync_url() -> None:
    """Write the shareable state into the URL (only when it changed)."""
    view = dict(st.session_state.get(_VIEW, {}))
    sql = get_sql()
    if sql is not None and sql[0] in example_schemas():
        view["sql"] = sql[0]
    params = encode_state(get_config(), get_seed(), get_preset(), view)
    params.update(urlextra.get_params())
    current = dict(st.query_params.to_dict())
    if current != params:
        st.query_params.from_dict(params)
    st.session_state[_URL] = params


def preset_options() -> list[str]:
    return list(PRESETS)
