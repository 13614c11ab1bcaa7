"""Inputs shared by the CLI commands: where the priors and the SQL schema come from.

``generate``, ``describe``, ``sweep`` and ``corpus`` all take ``--preset`` / ``--config``,
``--schema`` and ``--dialect``; this module declares those arguments once and reads them
with one set of checks and messages, and lists the statements of ``--schema`` that were
skipped (views, triggers, ...) on stderr the same way for each command.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from .config import PRESETS, Config, ConfigError
from .errors import UsageError

__all__ = [
    "UsageError",
    "add_source_arguments",
    "check_schema_sql",
    "load_config",
    "load_schema_sql",
    "read_text_file",
    "report_skipped",
]

MAX_CONFIG_BYTES = 10_000_000


def read_text_file(path: str, what: str, limit: int | None = None) -> str:
    """The UTF-8 text of ``path``; ``what`` (the option) names it in every error."""
    p = Path(path)
    if not p.is_file():
        raise UsageError(f"{what}: {path!r} is not a readable file")
    if limit is not None and p.stat().st_size > limit:
        raise UsageError(f"{what}: {path!r} is {p.stat().st_size:,} bytes; the limit is {limit:,} bytes")
    try:
        return p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"{what}: cannot read {path!r}: {exc}") from None


def add_source_arguments(parser: argparse.ArgumentParser, schema_help: str) -> None:
    """``--preset`` / ``--config`` (one required), ``--schema`` and ``--dialect``."""
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--preset", choices=sorted(PRESETS), help="a named set of priors")
    group.add_argument("--config", metavar="FILE.json", help="priors as JSON (see Config.to_json)")
    parser.add_argument("--schema", metavar="FILE.sql", help=schema_help)
    parser.add_argument(
        "--dialect",
        choices=["sqlite", "postgres", "mysql"],
        help="SQL dialect of --schema (default: detected)",
    )


def load_config(args: argparse.Namespace) -> Config:
    """The priors named by ``--preset`` or read from ``--config``."""
    if args.preset is not None:
        return Config.preset(args.preset)
    text = read_text_file(args.config, "--config", limit=MAX_CONFIG_BYTES)
    try:
        return Config.from_json(text)
    except ConfigError as exc:
        raise UsageError(f"--config {args.config}: {exc}") from None


def load_schema_sql(args: argparse.Namespace) -> str | None:
    """The text of ``--schema`` (size-capped), or None; ``--dialect`` needs ``--schema``."""
    if args.schema is None:
        if args.dialect is not None:
            raise UsageError("--dialect only applies together with --schema")
        return None
    from .sql import MAX_SQL_BYTES  # sqlglot (through .sql) is loaded only when --schema is given

    return read_text_file(args.schema, "--schema", limit=MAX_SQL_BYTES)


def report_skipped(args: argparse.Namespace, skipped: Sequence) -> None:
    """List on stderr the statements of ``--schema`` that were skipped (nothing if none)."""
    if skipped:
        from .sql import skipped_notice  # sqlglot is loaded only when --schema is given

        print(f"--schema {args.schema}: {skipped_notice(skipped)}", file=sys.stderr)


def check_schema_sql(args: argparse.Namespace, sql: str) -> None:
    """Read ``--schema`` once before any database is generated, for the commands that
    generate many: a bad one is a :class:`UsageError` naming the file, and the statements
    skipped are listed once (:func:`report_skipped`), not by every database's worker."""
    from .sql import parse_schema  # sqlglot is loaded only when --schema is given

    try:
        parsed = parse_schema(sql, args.dialect)
    except ValueError as exc:
        raise UsageError(f"--schema {args.schema}: {exc}") from None
    report_skipped(args, parsed.skipped)
