"""Registries: the options a set prior offers, name → function, each entry with its traits.

A registry is the one place an option is named. ``config.py`` reads the allowed names of
its set priors from here (:class:`RegistryOptions`), the app offers them as choices and
groups them by the traits the registry shows as groups (``bounded``, ``trees`` ...), and
the stage code asks traits instead of keeping its own lists (``ACTIVATIONS.has("tanh",
"bounded")``).

The entries a registry is built with are the paper's options, which the default priors
use; :meth:`Registry.register` adds an option that config validation and the app accept
but the defaults leave out, so the presets' databases stay the same.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any, Generic, TypeVar, overload

from .errors import PriorError

__all__ = ["Entry", "Registry", "RegistryOptions", "TraitSet", "tagged"]

T = TypeVar("T")


@dataclass(frozen=True)
class Entry(Generic[T]):
    """A registry value with its traits (see :func:`tagged`)."""

    fn: T
    traits: frozenset[str]


def tagged(fn: T, *traits: str) -> Entry[T]:
    """``fn`` with traits, for a registry literal: ``"tanh": tagged(_tanh, "bounded")``."""
    return Entry(fn, frozenset(traits))


class Registry(Mapping[str, T]):
    """An ordered ``name → function`` mapping whose entries carry traits.

    Parameters
    ----------
    kind : str
        What an entry is, in messages (``"activation"``).
    entries : dict
        ``name → function`` or ``name → tagged(function, *traits)``: the paper's options.
    groups : dict, optional
        ``trait → label`` of the traits the app offers as quick choices, in order.
    """

    def __init__(
        self, kind: str, entries: Mapping[str, T | Entry[T]], groups: Mapping[str, str] | None = None
    ):
        self.kind = kind
        self.groups: dict[str, str] = dict(groups or {})
        self._fns: dict[str, T] = {}
        self._traits: dict[str, frozenset[str]] = {}
        for name, value in entries.items():
            self._add(name, value)
        self._builtin = tuple(self._fns)

    def _add(self, name: str, value: T | Entry[T]) -> None:
        entry = value if isinstance(value, Entry) else Entry(value, frozenset())
        self._fns[name] = entry.fn
        self._traits[name] = entry.traits

    # -- Mapping ------------------------------------------------------------------------
    def __getitem__(self, name: str) -> T:
        return self._fns[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._fns)

    def __len__(self) -> int:
        return len(self._fns)

    def __repr__(self) -> str:
        return f"Registry({self.kind!r}, {list(self._fns)})"

    # -- names and traits ---------------------------------------------------------------
    def names(self) -> tuple[str, ...]:
        """Every option, in registration order."""
        return tuple(self._fns)

    def builtin(self) -> tuple[str, ...]:
        """The options the registry was built with: the paper's, used by the default priors."""
        return self._builtin

    def traits(self, name: str) -> frozenset[str]:
        """The traits of one option (``lookup`` errors for an unknown name)."""
        self.lookup(name)
        return self._traits[name]

    def has(self, name: str, trait: str) -> bool:
        """Whether option ``name`` has ``trait`` (False for unknown names)."""
        return trait in self._traits.get(name, ())

    def having(self, trait: str) -> tuple[str, ...]:
        """The options with ``trait``, in registration order."""
        return tuple(n for n, t in self._traits.items() if trait in t)

    def trait_set(self, trait: str) -> TraitSet:
        """A live set of the options with ``trait`` (options registered later included)."""
        return TraitSet(self, trait)

    def lookup(self, name: str) -> T:
        """The function of ``name``, or :class:`PriorError` listing every option."""
        try:
            return self._fns[name]
        except (KeyError, TypeError):
            raise PriorError(f"unknown {self.kind} {str(name)[:60]!r}; allowed: {list(self._fns)}") from None

    # -- extension ----------------------------------------------------------------------
    @overload
    def register(self, name: str, fn: T, *traits: str) -> T: ...
    @overload
    def register(self, name: str, fn: None = None, *traits: str) -> Callable[[T], T]: ...
    def register(self, name: str, fn: T | None = None, *traits: str) -> Any:
        """Add option ``name`` (also as a decorator: ``@ACTIVATIONS.register("cube")``).

        The option is accepted by config validation and offered by the app; the default
        priors (the paper's) leave it out. Names must be new.
        """

        def add(f: T) -> T:
            if name in self._fns:
                raise ValueError(f"{self.kind} {name!r} is already registered")
            self._add(name, Entry(f, frozenset(traits)))
            return f

        return add if fn is None else add(fn)

    def unregister(self, name: str) -> None:
        """Remove an option added by :meth:`register` (the paper's options stay)."""
        if name in self._builtin:
            raise ValueError(f"{self.kind} {name!r} is one of the paper's options and cannot be removed")
        self._fns.pop(name, None)
        self._traits.pop(name, None)


class TraitSet(AbstractSet[str]):
    """The options of a registry with one trait, read at each use (``name in set``)."""

    def __init__(self, registry: Registry, trait: str):
        self.registry = registry
        self.trait = trait

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.registry.has(name, self.trait)

    def __iter__(self) -> Iterator[str]:
        return iter(self.registry.having(self.trait))

    def __len__(self) -> int:
        return len(self.registry.having(self.trait))


class RegistryOptions(Sequence[str]):
    """The current names of a registry, read when used: a set prior's allowed options.

    ``config.py`` cannot import the stage modules (they import it), so it names the
    registry by module and attribute; the module is imported on first use.
    """

    def __init__(self, module: str, attr: str):
        self.module = module
        self.attr = attr

    def registry(self) -> Registry:
        return getattr(importlib.import_module(self.module), self.attr)

    def __getitem__(self, i: Any) -> Any:
        names = self.registry().names()
        return names[i]

    def __len__(self) -> int:
        return len(self.registry())

    def __iter__(self) -> Iterator[str]:
        return iter(self.registry().names())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name in self.registry()

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RegistryOptions):
            return (self.module, self.attr) == (other.module, other.attr)
        return NotImplemented

    def __hash__(self) -> int:
        return hash((self.module, self.attr))

    def __repr__(self) -> str:
        return f"RegistryOptions({self.module}.{self.attr})"
