"""Shareable state in the page URL: seed, preset and every prior that differs from the preset.

Encoding (one query parameter per item, values URL-encoded by the browser):

=====================  ==========================================  =========================
what                   key                                         value
=====================  ==========================================  =========================
seed                   ``seed``                                    non-negative integer
preset                 ``preset``                                  a name in ``config.PRESETS``
a range prior          dotted path, e.g. ``schema.num_tables``     ``lo-hi`` (``4-8``, ``-1-0.5``,
                                                                   ``1e-06-0.002``); ``5`` = ``5-5``
a set prior            e.g. ``features.aggregations``              comma list ``sum,max``
a number prior         e.g. ``schema.categorical_prob``            ``0.3``
a flag prior           e.g. ``postprocess.binarize_categoricals``  ``1`` / ``0``
a date prior           e.g. ``schema.time_start``                  ``YYYY-MM-DD``
view                   ``table``, ``fk``, ``sql``, ``level``,      a table name, an FK
                       ``tab``                                     ``child.column``, an example
                                                                   schema name, the HSBM level of
                                                                   the block views, the open
                                                                   Stage-3 tab
=====================  ==========================================  =========================

Priors equal to the preset's value are omitted, so ``?seed=3&preset=small`` is a complete
URL. :func:`decode_state` never raises on user input: anything it cannot use is dropped and
named in the returned notices (user text quoted as markdown code, cut to a short prefix),
and the rest still applies.

Parsing takes time linear in the text: the number grammar has one way to match a string
(a regex with two ways would backtrack over every split of a long digit run, so one
crafted link could hold the server for minutes), and keys and values longer than
:data:`MAX_PARAM_CHARS` are dropped unread.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from plurel_core.config import PRESETS, SECTIONS, Config, ConfigError, PriorSpec, iter_priors

from .text import md_code

__all__ = [
    "VIEW_KEYS",
    "MAX_NOTICES",
    "MAX_PARAM_CHARS",
    "MAX_SEED",
    "UrlState",
    "all_prior_paths",
    "decode_state",
    "decode_value",
    "encode_state",
    "encode_value",
]

VIEW_KEYS = ("table", "fk", "sql", "level", "tab")
MAX_SEED = 2**31 - 1
# the longest key or value read: the longest valid value (every option of the largest set
# prior) is under 400 characters
MAX_PARAM_CHARS = 500
# notices listed one by one; the rest are counted
MAX_NOTICES = 12
# one way to match any text: digits, then optionally a point and digits (no split of a
# digit run between two quantifiers), then optionally an exponent
_NUM = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?"
_RANGE = re.compile(rf"({_NUM})[ \t]*(?:-|\.\.|~|,)[ \t]*({_NUM})")
_SINGLE = re.compile(_NUM)
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


@dataclass
class UrlState:
    """What a URL restores: config, seed, preset and view selections."""

    config: Config
    seed: int = 0
    preset: str = "paper"
    view: dict[str, str] = field(default_factory=dict)


def all_prior_paths() -> list[str]:
    """Every dotted prior path of a config, in declaration order."""
    cfg = Config()
    return [p for sec in SECTIONS for p, _, _ in iter_priors(getattr(cfg, sec), sec + ".")]


def _num(x: Any) -> str:
    if isinstance(x, bool):
        return "1" if x else "0"
    if isinstance(x, int):
        return str(x)
    f = float(x)
    return str(int(f)) + ".0" if f.is_integer() and abs(f) < 1e15 else repr(f)


def encode_value(spec: PriorSpec, value: Any) -> str:
    """The URL text of one prior value (see the module docstring)."""
    if spec.kind in ("int_range", "float_range"):
        lo, hi = value
        return f"{_num(lo)}-{_num(hi)}"
    if spec.kind == "set":
        return ",".join(_num(v) if not isinstance(v, str) else v for v in value)
    if spec.kind == "bool":
        return "1" if value else "0"
    if spec.kind in ("int", "float"):
        return _num(value)
    return str(value)


def _parse_number(text: str, want_int: bool) -> int | float:
    f = float(text)
    if not math.isfinite(f):
        raise ValueError("not finite")
    if want_int:
        if not f.is_integer():
            raise ValueError("not an integer")
        return int(f)
    return f


def decode_value(spec: PriorSpec, text: str) -> Any:
    """Parse the URL text of one prior; raises ``ValueError`` saying what was expected."""
    kind = spec.kind
    if kind in ("int_range", "float_range"):
        want_int = kind == "int_range"
        m = _RANGE.fullmatch(text.strip())
        if m:
            return (_parse_number(m.group(1), want_int), _parse_number(m.group(2), want_int))
        m = _SINGLE.fullmatch(text.strip())
        if m:
            v = _parse_number(m.group(0), want_int)
            return (v, v)
        raise ValueError("not a range lo-hi")
    if kind == "set":
        items = [t.strip() for t in text.split(",") if t.strip()]
        if not items:
            raise ValueError("empty set")
        by_text = {encode_value(PriorSpec("set", ""), (o,)): o for o in spec.options}
        out = []
        for item in items:
            if item in by_text:
                out.append(by_text[item])
                continue
            try:  # numeric options written differently (0.10, 1e-1)
                num = float(item)
                match = [o for o in spec.options if not isinstance(o, str) and float(o) == num]
            except ValueError:
                match = []
            if not match:
                raise ValueError(
                    f"unknown option {md_code(item)}; allowed: {', '.join(map(str, spec.options))}"
                )
            out.append(match[0])
        return tuple(dict.fromkeys(out))
    if kind == "bool":
        low = text.strip().lower()
        if low in ("1", "true", "yes", "on"):
            return True
        if low in ("0", "false", "no", "off"):
            return False
        raise ValueError("not 1/0")
    if kind in ("int", "float"):
        m = _SINGLE.fullmatch(text.strip())
        if not m:
            raise ValueError("not a number")
        return _parse_number(m.group(0), kind == "int")
    if not _DATE.fullmatch(text.strip()):
        raise ValueError("not a date YYYY-MM-DD")
    return text.strip()


def encode_state(
    config: Config, seed: int, preset: str = "paper", view: Mapping[str, str] | None = None
) -> dict[str, str]:
    """Query parameters for a state: seed, preset, priors that differ from the preset, view."""
    base = Config.preset(preset) if preset in PRESETS else Config()
    out = {"seed": str(int(seed)), "preset": preset if preset in PRESETS else "paper"}
    for path in base.diff(config):
        out[path] = encode_value(Config.spec(path), config.get(path))
    for key in VIEW_KEYS:
        if view and view.get(key):
            out[key] = str(view[key])
    return out


def _first(value: Any) -> str:
    if isinstance(value, (list, tuple)):
        return str(value[-1]) if value else ""
    return str(value)


def decode_state(params: Mapping[str, Any]) -> tuple[UrlState, list[str]]:
    """A state from query parameters, plus one notice per ignored parameter.

    Never raises on user input: an unknown key, an unparsable value, a value the config
    rejects or a combination that is invalid (e.g. ``lo > hi``) is dropped and named in the
    notices, and the remaining parameters still apply. Keys and values longer than
    :data:`MAX_PARAM_CHARS` are dropped unread; at most :data:`MAX_NOTICES` notices are
    listed, the rest counted in a last one.
    """
    notices: list[str] = []
    raw: dict[str, str] = {}
    for k, v in params.items():
        key, text = str(k), _first(v)
        if len(key) > MAX_PARAM_CHARS or len(text) > MAX_PARAM_CHARS:
            notices.append(
                f"{md_code(key)} ignored: longer than {MAX_PARAM_CHARS} characters "
                f"({len(key) + len(text):,} in key and value)"
            )
            continue
        raw[key] = text
    preset = raw.pop("preset", "paper") or "paper"
    if preset not in PRESETS:
        notices.append(f"preset={md_code(preset)} ignored: unknown preset (available: {', '.join(PRESETS)})")
        preset = "paper"
    seed = 0
    if "seed" in raw:
        text = raw.pop("seed")
        try:
            seed = int(text)
            if not 0 <= seed <= MAX_SEED:
                raise ValueError
        except ValueError:
            notices.append(f"seed={md_code(text)} ignored: expected an integer in [0, {MAX_SEED}]")
            seed = 0
    view = {k: raw.pop(k) for k in VIEW_KEYS if k in raw and raw[k]}
    for k in VIEW_KEYS:
        raw.pop(k, None)
    config = Config.preset(preset)
    paths = set(all_prior_paths())
    for key, text in raw.items():
        if key not in paths:
            notices.append(f"{md_code(key)} ignored: not a known prior or setting")
            continue
        spec = Config.spec(key)
        try:
            value = decode_value(spec, text)
        except ValueError as exc:
            notices.append(f"{key}={md_code(text)} ignored: {exc}")
            continue
        candidate = config.with_value(key, value)
        errs = [msg for path, msg in candidate.problems() if path == key]
        if errs:
            notices.append(f"{key}={md_code(text)} ignored: {errs[0]}")
            continue
        config = candidate
    try:
        config.validate()
    except ConfigError as exc:
        # a combination of individually valid values (e.g. time_end before time_start)
        bad = {path for path, _ in exc.errors}
        base = Config.preset(preset)
        for path in sorted(bad):
            notices.append(f"{path} ignored: {dict(exc.errors)[path]}")
            if path in paths:
                config = config.with_value(path, base.get(path))
        if config.problems():  # still inconsistent: fall back to the preset entirely
            notices.append("all priors in the URL ignored: they do not form a valid config")
            config = base
    if len(notices) > MAX_NOTICES:
        rest = len(notices) - (MAX_NOTICES - 1)
        notices = [*notices[: MAX_NOTICES - 1], f"… and {rest:,} more parameters ignored"]
    return UrlState(config=config, seed=seed, preset=preset, view=view), notices
