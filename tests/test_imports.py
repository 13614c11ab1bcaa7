"""Every module of ``plurel_core`` imports on its own, and the package leaves the heavy
optional libraries unloaded.

A cycle between modules can fail or not depending on which of them is imported first, so
each module is imported first in a fresh process. Any ``import plurel_core.<module>``
runs the package's ``__init__`` to the end before the module itself, so one interpreter
imports ``plurel_core`` and then forks a child per module: each child starts exactly as a
fresh interpreter would at that point, without paying again for numba and pandas.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import plurel_core

PACKAGE = Path(plurel_core.__file__).parent
# loaded only for the features that need them: SQL import, figures, corpora
HEAVY = ("sqlglot", "plotly", "pyvis", "dask", "distributed")

_SCRIPT = """
import importlib, json, os, sys, traceback

heavy = json.loads(sys.argv[2])
import plurel_core

report = {"plurel_core": [m for m in heavy if m in sys.modules], "failed": {}, "heavy": {}}
for name in json.loads(sys.argv[1]):
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: import this one module first
        os.close(read)
        try:
            importlib.import_module(name)
            got = {"heavy": [m for m in heavy if m in sys.modules]}
        except BaseException:
            got = {"error": traceback.format_exc()[-3000:]}
        with os.fdopen(write, "w") as out:
            json.dump(got, out)
        os._exit(0)
    os.close(write)
    with os.fdopen(read) as child:
        text = child.read()
    _, status = os.waitpid(pid, 0)
    got = json.loads(text) if text else {"error": f"exit status {status}"}
    if "error" in got:
        report["failed"][name] = got["error"]
    else:
        report["heavy"][name] = got["heavy"]
print(json.dumps(report))
"""


def module_names() -> list[str]:
    """Every module of the package but ``__main__`` (which runs the command line)."""
    names = []
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = ("plurel_core", *path.relative_to(PACKAGE).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if parts[-1] != "__main__":
            names.append(".".join(parts))
    return names


@pytest.fixture(scope="module")
def report() -> dict:
    proc = subprocess.run(
        [sys.executable, "-c", _SCRIPT, json.dumps(module_names()), json.dumps(HEAVY)],
        cwd=PACKAGE.parent,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    return json.loads(proc.stdout.splitlines()[-1])


def test_the_module_list_covers_the_package() -> None:
    names = module_names()
    assert {"plurel_core", "plurel_core.cli", "plurel_core.sql", "plurel_core.viz.network"} <= set(names)
    assert "plurel_core.__main__" not in names


def test_every_module_imports_when_it_is_imported_first(report: dict) -> None:
    assert report["failed"] == {}, "\n\n".join(f"{n}:\n{tb}" for n, tb in report["failed"].items())


def test_importing_plurel_core_leaves_the_heavy_optional_libraries_unloaded(report: dict) -> None:
    assert report["plurel_core"] == []


def test_the_command_line_starts_without_the_heavy_optional_libraries(report: dict) -> None:
    # every command, `--help` included, imports the module that lists them
    assert report["heavy"]["plurel_core.cli"] == []
