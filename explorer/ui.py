"""Small layout helpers shared by the pages: errors as messages, graph frames, selections."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any, TypeVar

import streamlit as st

from plurel_core.errors import ConfigError, PluRelError, SchemaError, SQLSchemaError
from plurel_core.viz import vis_network_js

from . import state
from .stages import BudgetError, SizeError, cached_schema, current_keys, preview_notice
from .text import md_code, md_escape, short_text

__all__ = [
    "NOT_IN_LINK",
    "graph_frame",
    "graph_script_src",
    "preview_banner",
    "short_count",
    "legend",
    "md_escape",
    "report_errors",
    "show_bug",
    "run_or_report",
    "sql_in_link",
    "sql_upload",
    "view_select",
]

NOT_IN_LINK = (
    "An uploaded schema is not part of the page's link: opened elsewhere, the link uses the Stage-1 "
    "priors instead. To share this database, share the config bundle (sidebar → Config file), which "
    "carries the SQL."
)

# Streamlit serves this folder (beside app.py) at <base URL>/app/static/ (enableStaticServing)
STATIC_DIR = Path(__file__).resolve().parent.parent / "static"

T = TypeVar("T")


# what the user can fix: the project's own errors (invalid priors, schemas the generator
# cannot fill, budgets, SQL imports) and the explorer's size limit; any other exception is a bug
USER_ERRORS: tuple[type[Exception], ...] = (PluRelError, SizeError)

BUG_NOTE = (
    "**This is a bug in PluRel Explorer**, not a problem with your priors or files. "
    "Please report it with this page's link (it holds the priors and the seed) and the details below."
)


def _message(exc: BaseException) -> str:
    # messages quote user text (uploaded SQL names, config values): escaped, so none of it
    # renders as markdown (links, images), and cut to a bounded length
    if isinstance(exc, ConfigError):
        lines = "\n".join(
            f"- {md_code(path)}: {md_escape(short_text(msg, 300))}" for path, msg in exc.errors[:12]
        )
        return f"The priors are not a valid combination:\n{lines}"
    if isinstance(exc, SizeError | BudgetError):  # (escaped where made: explorer.stages)
        return str(exc)
    text = md_escape(short_text(exc, 2000))
    if isinstance(exc, SQLSchemaError):
        return f"The SQL schema could not be imported: {text}"
    if isinstance(exc, SchemaError):
        return f"The generator cannot fill this schema: {text}"
    return f"The generator cannot use these priors: {text}"


def show_bug(exc: Exception) -> None:
    """Show an unexpected exception as what it is: a bug, with its traceback."""
    st.error(BUG_NOTE, icon=":material/bug_report:")
    st.exception(exc)


@contextlib.contextmanager
def report_errors() -> Iterator[None]:
    """Show the project's own errors (invalid priors, size refusals, schema import errors) as
    ``st.error`` messages; anything else is a bug, shown with its traceback and a note saying so.
    Either way the page stops there."""
    try:
        yield
    except USER_ERRORS as exc:
        st.error(_message(exc))
        state.sync_url()  # st.stop ends the run before app.py would record the state in the URL
        st.stop()
    except Exception as exc:  # (Streamlit's stop and rerun signals are not Exceptions)
        show_bug(exc)
        state.sync_url()
        st.stop()


def run_or_report(fn: Callable[[], T]) -> T:
    """``fn()``, or an error message and a stop of the page for a user-fixable problem."""
    with report_errors():
        return fn()
    raise AssertionError("unreachable")  # pragma: no cover


def preview_banner() -> bool:
    """Say so when the pages show a row-sampled preview (priors above the size limit)."""
    note = preview_notice()
    if note is not None:
        st.info(note, icon=":material/zoom_out:")
    return note is not None


@st.cache_resource(show_spinner=False)
def graph_script_src() -> str | None:
    """Where the app serves the vis-network script for the graph pages, or None to inline it.

    Inlined, every graph sends about 480 KB to the browser on every rerun, which then parses
    the script again; served, a graph page is a few KB and the browser caches the script.
    The file is copied once from pyvis under a name with its content hash (a new pyvis gives
    a new name); where the folder cannot be written, the graphs inline the script.
    """
    text = vis_network_js()
    name = f"vis-network-{hashlib.sha256(text.encode()).hexdigest()[:12]}.min.js"
    target = STATIC_DIR / name
    try:
        if not target.is_file() or target.read_text(encoding="utf-8") != text:
            STATIC_DIR.mkdir(exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=STATIC_DIR, prefix=".vis-", suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text)
            os.chmod(tmp, 0o644)
            os.replace(tmp, target)
    except OSError:
        return None
    if not st.get_option("server.enableStaticServing"):
        return None
    base = str(st.get_option("server.baseUrlPath") or "").strip("/")
    return f"/{base}/app/static/{name}" if base else f"/app/static/{name}"


def graph_frame(html: str, height: int) -> None:
    """Draw a self-contained graph page (vis-network) in an iframe of fixed height."""
    st.iframe(html, height=height + 8)


def view_select(
    label: str,
    options: Sequence[str],
    view_key: str,
    *,
    container: Any = None,
    help: str | None = None,
    format_func: Callable[[str], str] = str,
) -> str:
    """A selectbox whose choice is kept in the view state (and the URL) across pages and reruns."""
    where = container if container is not None else st
    options = list(options)
    current = state.get_view(view_key)
    index = options.index(current) if current in options else 0
    key = f"view:{view_key}:{state.control_version()}"

    def _store() -> None:
        state.set_view(view_key, st.session_state[key])

    choice = where.selectbox(
        label, options, index=index, key=key, on_change=_store, help=help, format_func=format_func
    )
    if choice != current:
        state.set_view(view_key, choice)
    return choice


def legend(items: dict[str, str]) -> None:
    """A one-line colour legend (label → CSS colour), names escaped by markdown rules."""
    parts = [f":{_color_name(c)}-background[{label}]" for label, c in items.items()]
    st.caption(" ".join(parts))


def _color_name(css: str) -> str:
    return {
        "#dbe9f6": "blue",
        "#fde2c8": "orange",
        "#c6f6d5": "green",
        "#e2e8f0": "gray",
        "#fefcbf": "yellow",
        "#e9d8fd": "violet",
    }.get(css, "gray")


def short_count(n: int) -> str:
    """A count in at most five characters, so it fits a metric: 9,999 · 12.3k · 123k · 1.23M."""
    n = int(n)
    if abs(n) < 10_000:
        return f"{n:,}"
    for scale, unit in ((1e9, "G"), (1e6, "M"), (1e3, "k")):
        if abs(n) >= scale:
            text = f"{n / scale:.3g}"
            return (text if len(text) <= 4 else f"{n / scale:.0f}") + unit
    return str(n)  # pragma: no cover


def _pick_example(key: str) -> None:
    st.session_state.pop(_SQL_ERROR, None)
    name = st.session_state.get(key)
    examples = state.example_schemas()
    if name in examples:
        state.set_sql((name, examples[name].read_text(encoding="utf-8")))
    else:
        state.set_sql(None)
    state.bump_controls()


_SQL_ERROR = "px_sql_upload_error"


def sql_upload(file_name: str, raw: bytes) -> tuple[tuple[str, str] | None, str | None]:
    """``((name, DDL text), None)`` for an upload the SQL import accepts, else ``(None, message)``.

    The import runs here (through the Stage-1 cache, so the page then finds it done): a file
    it rejects never replaces the working schema. A file identical to a shipped example
    takes the example's name, so the page's link can name it.
    """
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        return None, f"{file_name}: not UTF-8 text; the upload was not used."
    for name, path in state.example_schemas().items():
        if path.read_text(encoding="utf-8").strip() == text.strip():
            return (name, path.read_text(encoding="utf-8")), None
    try:
        k = current_keys()
    except PluRelError:
        k = None  # invalid priors: the page names them; the import is checked once they are fixed
    if k is not None:
        try:
            cached_schema(k.seed, k.schema, text)
        except PluRelError as exc:
            return None, f"{file_name} was not used (the previous schema stays): {exc}"
    return (file_name.rsplit(".", 1)[0] or "upload", text), None


def _upload_sql(key: str) -> None:
    upload = st.session_state.get(key)
    if upload is None:
        st.session_state.pop(_SQL_ERROR, None)
        return
    value, error = sql_upload(upload.name, upload.getvalue())
    if error is not None:
        st.session_state[_SQL_ERROR] = error
        return
    st.session_state.pop(_SQL_ERROR, None)
    state.set_sql(value)
    state.bump_controls()


def sql_in_link(sql: tuple[str, str] | None) -> bool:
    """Whether the page's link restores the schema (only shipped examples can be named in it)."""
    return sql is None or sql[0] in state.example_schemas()


def _skipped_notice(sql: str) -> str:
    """The statements of ``sql`` the import leaves out (views, triggers, data ...), or ""."""
    from plurel_core.sql import skipped_notice

    try:
        k = current_keys()
        return skipped_notice(cached_schema(k.seed, k.schema, sql).skipped_statements)
    except PluRelError:
        return ""  # the page shows the error itself


def _use_priors() -> None:
    st.session_state.pop(_SQL_ERROR, None)
    state.set_sql(None)
    state.bump_controls()


def schema_source_picker() -> None:
    """Choose the schema source: Stage-1 priors, an example SQL schema or an uploaded DDL file."""
    sql = state.get_sql()
    examples = state.example_schemas()
    error = st.session_state.get(_SQL_ERROR)
    with st.expander("Schema from SQL (optional)", expanded=sql is not None or error is not None):
        st.caption(
            "Instead of sampling the structure, take tables, keys and column types from `CREATE TABLE` "
            "DDL. Row counts and the time window still come from the priors. Only table definitions "
            "take effect; nothing in the file is executed."
        )
        ver = state.control_version()
        names = ["(none: use Stage-1 priors)", *examples]
        current = sql[0] if sql is not None and sql[0] in examples else names[0]
        key = f"sql_example:{ver}"
        st.selectbox(
            "Example schema",
            names,
            index=names.index(current),
            key=key,
            on_change=_pick_example,
            args=(key,),
            help="Real schemas shipped with the explorer (assets/schemas).",
        )
        key = f"sql_upload:{ver}"
        st.file_uploader(
            "Upload DDL (.sql)",
            type=["sql", "txt"],
            key=key,
            on_change=_upload_sql,
            args=(key,),
            help="SQLite, PostgreSQL or MySQL CREATE TABLE statements.",
        )
        if error is not None:
            st.error(md_escape(error), icon=":material/error:")
        if sql is not None:
            st.info(f"Using the SQL schema **{md_escape(sql[0])}**.")
            if not sql_in_link(sql):
                st.warning(NOT_IN_LINK, icon=":material/link_off:")
            notice = _skipped_notice(sql[1])
            if notice:
                st.text(notice)  # plain text: statement kinds come from the file
            st.button("Use Stage-1 priors again", on_click=_use_priors)
