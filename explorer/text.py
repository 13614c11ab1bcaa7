"""User-given text inside the app's markdown: quoted as inline code, never rendered.

URL parameters, file names and config values reach notices and captions that Streamlit
renders as markdown, where ``![x](http://…)`` would make the browser fetch an address and
``[text](http://…)`` would show a link. Inside a code span nothing is rendered. Pure (no
Streamlit), so :mod:`explorer.urlstate` can use it too.
"""

from __future__ import annotations

import re

from plurel_core.config import QUOTE_CHARS

__all__ = ["md_code", "md_escape", "short_text"]

_CONTROL = re.compile(r"[\x00-\x1f\x7f\u2028\u2029]")
_TICKS = re.compile(r"`+")


def short_text(text: object, limit: int = QUOTE_CHARS) -> str:
    """``text`` on one line (control characters as ``\\xNN``), cut to ``limit`` characters."""
    out = str(text)
    if len(out) > limit:
        out = out[: limit - 1] + "…"
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", out)


def md_code(text: object, limit: int = QUOTE_CHARS) -> str:
    """``text`` (shortened by :func:`short_text`) as a markdown code span that shows it literally."""
    body = short_text(text, limit)
    # a fence longer than any backtick run inside, padded so edge backticks stay content
    fence = "`" * (max((len(m) for m in _TICKS.findall(body)), default=0) + 1)
    return f"{fence} {body} {fence}" if body else "` `"


def md_escape(text: object) -> str:
    """Text shown literally inside Streamlit markdown (user-given names)."""
    out = str(text)
    for ch in "\\`*_{}[]()<>#+-.!|~$:":
        out = out.replace(ch, "\\" + ch)
    return out
