"""The project's own error types: problems with the input, each a ``ValueError``.

Everything raised for bad input (priors, schemas, budgets, files) is a :class:`PluRelError`;
the app shows these as messages and anything else as a bug.
"""

from __future__ import annotations

__all__ = ["PluRelError", "PriorError"]


class PluRelError(ValueError):
    """Bad input to the generator: a message naming what is wrong, never a bug."""


class PriorError(PluRelError):
    """A prior value the generator does not accept (e.g. an option no registry has)."""
