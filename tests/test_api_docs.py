"""The public API documents its parameters and results in numpydoc sections."""

from __future__ import annotations

import inspect
import itertools

import pytest

import plurel_core
from plurel_core import Config, config

# every public function of the package, and the declaration of a prior (how to extend)
PUBLIC = [name for name in plurel_core.__all__ if inspect.isfunction(getattr(plurel_core, name))]
DOCUMENTED = {name: getattr(plurel_core, name) for name in PUBLIC} | {"config.prior": config.prior}
CONFIG_METHODS = ["from_dict", "with_value", "preset", "validate", "problems"]


def _sections(doc: str) -> set[str]:
    lines = inspect.cleandoc(doc).splitlines()
    return {a.strip() for a, b in itertools.pairwise(lines) if b.strip() and set(b.strip()) == {"-"}}


@pytest.mark.parametrize("name", DOCUMENTED)
def test_public_functions_have_parameters_and_returns(name: str) -> None:
    fn = DOCUMENTED[name]
    sections = _sections(fn.__doc__)
    # a context manager's docstring says what it yields (numpydoc's "Yields")
    sections |= {"Returns"} if "Yields" in sections else set()
    params = inspect.signature(fn).parameters
    assert {"Parameters", "Returns"} <= sections or (not params and "Returns" in sections), name
    documented = inspect.cleandoc(fn.__doc__)
    for param in inspect.signature(fn).parameters:
        assert f"\n{param} : " in documented, f"{name}: {param}"


@pytest.mark.parametrize("name", CONFIG_METHODS)
def test_config_methods_have_returns(name: str) -> None:
    assert "Returns" in _sections(getattr(Config, name).__doc__), name
