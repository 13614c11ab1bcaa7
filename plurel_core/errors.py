"""The project's own error types: bad input, each a ``ValueError`` with a message naming it.

Everything raised for input the generator cannot use (priors, schemas, budgets, files,
command-line arguments) is a :class:`PluRelError`; the app shows these as messages and
anything else as a bug. The modules that raise them re-export them under their old homes
(``plurel_core.config.ConfigError``, ``plurel_core.sql.SQLSchemaError`` ...).
"""

from __future__ import annotations

__all__ = [
    "MAX_LISTED_ERRORS",
    "BudgetError",
    "ConfigError",
    "CorpusError",
    "PluRelError",
    "PriorError",
    "RealDatabaseError",
    "SQLSchemaError",
    "SchemaError",
    "UsageError",
]

# problems a ConfigError message lists (all are in .errors)
MAX_LISTED_ERRORS = 10


class PluRelError(ValueError):
    """Bad input to the generator: a message naming what is wrong, never a bug."""


class PriorError(PluRelError):
    """A prior value the generator does not accept (e.g. an option no registry has)."""


class ConfigError(PriorError):
    """A config with one or more invalid priors; ``.errors`` lists ``(path, message)``."""

    def __init__(self, errors: list[tuple[str, str]]):
        self.errors = list(errors)
        shown = self.errors[:MAX_LISTED_ERRORS]
        lines = "\n".join(f"  - {path}: {msg}" for path, msg in shown)
        if len(self.errors) > len(shown):
            lines += f"\n  - … and {len(self.errors) - len(shown):,} more"
        super().__init__(f"{len(self.errors)} invalid prior(s):\n{lines}")


class SchemaError(PluRelError):
    """A schema the generator cannot fill: e.g. a one-to-one key with more child than parent
    rows, or a time window too short (the message names the table and key)."""


class SQLSchemaError(SchemaError):
    """DDL that cannot be imported; the message names the statement, its line and why."""


class BudgetError(PluRelError):
    """A configuration whose Stage 3 would exceed the memory or work budget."""


class RealDatabaseError(PluRelError):
    """A file that cannot be read as a real database; the message says why."""


class CorpusError(PluRelError):
    """Bad input for a corpus run (the CLI exits with status 2)."""


class UsageError(PluRelError):
    """Bad input given on the command line (exit code 2)."""
