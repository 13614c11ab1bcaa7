"""Query parameters beyond the priors: the pinned A, the sweep's seeds, the lesson view.

:mod:`explorer.urlstate` reads every parameter as a prior; the parameters named here are
taken out before it does (:func:`split_params`) and written back by ``state.sync_url``.

==================  =============================================  =====================
what                key                                            value
==================  =============================================  =====================
pinned A            ``A.preset``, ``A.<prior path>``               as for the priors
sweep seeds         ``n``, ``offset``                              integers
lesson view         ``lesson``, ``note``, ``present``              a lesson id, text, ``1``
vary one prior      ``vary``, ``values``                           a prior path, a
                                                                   ``;``-separated list
==================  =============================================  =====================
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import streamlit as st

__all__ = [
    "EXTRA_KEYS",
    "PIN_PREFIX",
    "get_param",
    "get_params",
    "set_param",
    "set_params",
    "split_params",
    "store",
]

PIN_PREFIX = "A."
EXTRA_KEYS = ("n", "offset", "lesson", "note", "present", "vary", "values")
_EXTRA = "px_url_extra"


def _is_extra(key: str) -> bool:
    return key in EXTRA_KEYS or key.startswith(PIN_PREFIX)


def split_params(params: Mapping[str, Any]) -> tuple[dict[str, Any], dict[str, str]]:
    """``(priors and view parameters, the parameters of this module)``."""
    core: dict[str, Any] = {}
    extra: dict[str, str] = {}
    for key, value in params.items():
        if _is_extra(str(key)):
            extra[str(key)] = str(value[-1] if isinstance(value, (list, tuple)) and value else value)
        else:
            core[key] = value
    return core, extra


def get_params() -> dict[str, str]:
    """This session's extra parameters (restored from the URL on its first run)."""
    return dict(st.session_state.get(_EXTRA, {}))


def store(extra: Mapping[str, str]) -> None:
    st.session_state[_EXTRA] = dict(extra)


def get_param(key: str, default: str | None = None) -> str | None:
    return st.session_state.get(_EXTRA, {}).get(key, default)


def set_param(key: str, value: str | None) -> None:
    """Set (or with ``None`` drop) one extra parameter; it reaches the URL at the end of the run."""
    if not _is_extra(key):
        raise ValueError(f"{key!r} is not an extra URL parameter")
    extra = st.session_state.setdefault(_EXTRA, {})
    if value is None:
        extra.pop(key, None)
    else:
        extra[key] = str(value)


def set_params(values: Mapping[str, str | None], prefix: str | None = None) -> None:
    """Replace the parameters starting with ``prefix`` (or set ``values`` only) at once."""
    extra = st.session_state.setdefault(_EXTRA, {})
    if prefix is not None:
        for key in [k for k in extra if k.startswith(prefix)]:
            del extra[key]
    for key, value in values.items():
        set_param(key, value)
