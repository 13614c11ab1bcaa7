"""Random streams keyed by stage and table.

Every random draw of a database comes from a ``numpy.random.Generator`` built from the
integer seed plus a tuple of string keys (stage name, table name, ...). The keys are hashed
with BLAKE2b, not Python's ``hash``, so a stream is the same in every process and on every
Python version. Separate streams are what make the stages independent: moving a Stage-3
prior never consumes a draw from the Stage-1 or Stage-2 streams.
"""

from __future__ import annotations

import hashlib

import numpy as np

__all__ = ["stream", "stream_key", "key_words"]


def _digest(keys: tuple, size: int) -> bytes:
    """BLAKE2b of ``keys`` (as text, separated by a unit separator), ``size`` bytes."""
    text = "\x1f".join(str(k) for k in keys).encode("utf-8")
    return hashlib.blake2b(text, digest_size=size).digest()


def _checked_seed(seed: int) -> int:
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    return int(seed)


def key_words(*keys: object) -> list[int]:
    """Stable 32-bit words derived from ``keys`` (strings, ints, ...)."""
    digest = _digest(keys, 16)
    return [int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4)]


def stream(seed: int, *keys: object) -> np.random.Generator:
    """The generator for ``keys`` under ``seed``.

    ``stream(0, "features", "table_3")`` always yields the same sequence of draws,
    independent of any other stream and of the order streams are created in.
    """
    return np.random.Generator(
        np.random.PCG64(np.random.SeedSequence([_checked_seed(seed), *key_words(*keys)]))
    )


def stream_key(seed: int, *keys: object) -> int:
    """A 64-bit key for ``keys`` under ``seed``, for counter-based streams
    (:func:`plurel_core.draws.counter_words`): as stable as :func:`stream`, and far cheaper
    to make when a stream is only a few thousand words."""
    return int.from_bytes(_digest((_checked_seed(seed), *keys), 8), "little")
