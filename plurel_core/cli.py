"""Command line: ``python -m plurel_core <command> ...`` (also installed as ``plurel``).

Commands live in the ``SUBCOMMANDS`` registry: each is a :class:`Subcommand` with a help
line, an ``add_arguments(parser)`` and a ``run(args) -> int``; :func:`build_parser` builds the
argparse tree from it, so a new command (e.g. ``sweep``, ``corpus``) is one registry entry.

Exit codes: 0 success; 2 bad arguments or input (one message on stderr naming what is
wrong, no traceback, nothing half-written); 1 an unexpected failure (message only).
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from . import compare as _compare
from . import corpus as _corpus
from . import sweep as _sweep
from .cli_inputs import UsageError, add_source_arguments, load_config, load_schema_sql, report_skipped
from .config import short_repr
from .export import DIRECTORY_FORMATS, FORMATS, check_destination, export
from .generate import generate
from .schema import sample_schema

__all__ = ["main", "build_parser", "OutputError", "Subcommand", "SUBCOMMANDS", "Terminated", "UsageError"]


class OutputError(RuntimeError):
    """The output could not be written (disk full, I/O error): exit code 1, no traceback."""


class Terminated(BaseException):
    """SIGTERM arrived: raised where the program is, so ``finally`` blocks and the exports'
    clean-up of their temporary files run (exit code 143)."""


@contextlib.contextmanager
def _terminate_cleanly() -> Iterator[None]:
    """Turn SIGTERM into :class:`Terminated` while the block runs (main thread only)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def _raise(signum: int, frame: object) -> None:
        raise Terminated

    previous = signal.signal(signal.SIGTERM, _raise)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@dataclass(frozen=True)
class Subcommand:
    help: str
    add_arguments: Callable[[argparse.ArgumentParser], None]
    run: Callable[[argparse.Namespace], int]


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"got {text!r}; expected a non-negative integer") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"got {value}; expected a non-negative integer")
    return value


def add_selection_arguments(parser: argparse.ArgumentParser) -> None:
    """``--seed``, ``--preset`` / ``--config``, ``--schema`` and ``--dialect``: which database."""
    parser.add_argument("--seed", type=_seed, required=True, help="integer seed of the database (>= 0)")
    add_source_arguments(parser, "CREATE TABLE statements to use instead of sampling the schema (Stage 1)")


def load_selection(args: argparse.Namespace):
    """``(config, seed, schema_sql, schema)`` from the selection arguments."""
    from .sql import schema_from_sql  # sqlglot is loaded only when --schema is given

    config = load_config(args)
    sql = load_schema_sql(args)
    schema = None
    if sql is not None:
        try:
            schema = schema_from_sql(sql, config.schema, args.seed, dialect=args.dialect)
        except ValueError as exc:
            raise UsageError(f"--schema {args.schema}: {exc}") from None
        report_skipped(args, schema.skipped_statements)
    return config, args.seed, sql, schema


# --------------------------------------------------------------------------------------
# generate


def _generate_arguments(parser: argparse.ArgumentParser) -> None:
    add_selection_arguments(parser)
    parser.add_argument("--format", required=True, choices=sorted(FORMATS), help="output format")
    parser.add_argument(
        "--out",
        required=True,
        metavar="PATH",
        help="output file (sqlite, csv zip, ddl) or folder (parquet, relbench); replaced atomically. "
        "Refused unless --force: a folder holding anything but a previous parquet/relbench export, "
        "and anything that is not a regular file or folder (a device, FIFO, socket or link)",
    )
    parser.add_argument(
        "--force",
        action="store_true",
        help="replace whatever --out is: a non-empty folder of other files, a device, FIFO or link",
    )


def _generate(args: argparse.Namespace) -> int:
    config, seed, sql, schema = load_selection(args)
    out = Path(args.out)
    where = f"--out {short_repr(args.out)}"
    # checked before generating too: a refusal should not come after minutes of work
    try:
        check_destination(out, args.format in DIRECTORY_FORMATS, args.force)
    except ValueError as exc:
        raise UsageError(f"{where}: {str(exc).removeprefix('out: ')}") from None
    with _terminate_cleanly():
        db = generate(config, seed, schema=schema)
        try:
            export(db, args.format, out, config=config, schema_sql=sql, force=args.force)
        except ValueError as exc:
            raise UsageError(f"{where}: {str(exc).removeprefix('out: ')}") from None
        except OSError as exc:
            raise OutputError(f"{where}: cannot write: {exc.strerror or exc}") from None
    summary = db.summary()
    print(
        f"wrote {args.format} to {out}: {summary['tables']} tables, {summary['rows']:,} rows, "
        f"{summary['foreign_keys']} foreign keys"
    )
    return 0


# --------------------------------------------------------------------------------------
# describe


def _describe_arguments(parser: argparse.ArgumentParser) -> None:
    add_selection_arguments(parser)


def describe_schema(schema) -> str:
    """A plain-text summary of a schema: tables, kinds, rows, columns and foreign keys."""
    lines = [
        f"{len(schema.tables)} tables ({schema.source}, layout {schema.layout}); "
        f"window {schema.t0.date()} .. {schema.t1.date()}, "
        f"val {schema.val_timestamp.date()}, test {schema.test_timestamp.date()}"
    ]
    for t in schema.tables.values():
        kinds: dict[str, int] = {}
        for c in t.columns:
            kinds[c.kind] = kinds.get(c.kind, 0) + 1
        cols = ", ".join(f"{n} {k}" for k, n in kinds.items()) or "none"
        key = t.pkey_col or (",".join(c.name for c in t.key_columns) or "-")
        lines.append(
            f"- {t.name}: {t.kind}, {t.num_rows:,} rows, key {key}, time {t.time_col or '-'}; columns: {cols}"
        )
        for fk in t.foreign_keys:
            flags = [
                f
                for f, on in (("nullable", fk.nullable), ("1:1", fk.one_to_one), ("deferred", fk.deferred))
                if on
            ]
            extra = f" [{', '.join(flags)}]" if flags else ""
            lines.append(
                f"    FK ({', '.join(fk.columns)}) -> {fk.parent} ({', '.join(fk.parent_columns)}){extra}"
            )
        for g in t.unique_groups:
            lines.append(f"    UNIQUE ({', '.join(g)})")
    return "\n".join(lines)


def _describe(args: argparse.Namespace) -> int:
    config, seed, _, schema = load_selection(args)
    if schema is None:
        schema = sample_schema(config.schema, seed)
    print(describe_schema(schema))
    return 0


SUBCOMMANDS: dict[str, Subcommand] = {
    "generate": Subcommand("generate one database and export it", _generate_arguments, _generate),
    "describe": Subcommand("print the schema a seed + priors (or SQL) give", _describe_arguments, _describe),
    "sweep": Subcommand("statistics of N databases, one row per seed", _sweep.add_arguments, _sweep.run),
    "corpus": Subcommand(_corpus.COMMAND_HELP, _corpus.add_corpus_arguments, _corpus.run_corpus_command),
}
SUBCOMMANDS["compare"] = Subcommand(_compare.COMMAND_HELP, _compare.add_arguments, _compare.run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m plurel_core",
        description="Synthetic relational databases from the PluRel priors.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, cmd in SUBCOMMANDS.items():
        p = sub.add_parser(name, help=cmd.help, description=cmd.help)
        cmd.add_arguments(p)
        p.set_defaults(_run=cmd.run)
    return parser


def _clip(message: str, limit: int = 4000) -> str:
    """A message cut to ``limit`` characters: values are quoted short already, this bounds
    whatever else a message may carry."""
    return message if len(message) <= limit else message[: limit - 1] + "…"


def main(argv: list[str] | None = None) -> int:
    """Run the command line; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # --help (0) or argparse errors (2, message already printed)
        return int(exc.code or 0)
    try:
        return int(args._run(args))
    except ValueError as exc:  # UsageError, ConfigError and the core's checks of its input
        print(f"error: {_clip(str(exc))}", file=sys.stderr)
        return 2
    except OutputError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Terminated:
        print("terminated", file=sys.stderr)
        return 143
    except MemoryError:
        print("error: out of memory; reduce the priors' sizes (rows, columns, SCM width)", file=sys.stderr)
        return 1
    except Exception as exc:  # no traceback for users; the message names the failure
        print(f"error: unexpected {type(exc).__name__}: {_clip(str(exc))}", file=sys.stderr)
        return 1
