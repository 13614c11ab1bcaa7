"""Shared test setup."""

from __future__ import annotations

import pytest

from plurel_core import stop_table_workers


@pytest.fixture(autouse=True)
def _no_table_workers_left_behind(request):
    """The explorer starts the shared Stage-3 table workers in whatever process runs it
    (here: pytest's, for the in-process app tests). Stop them after each test, so every
    other test sees in-process generation unless it starts workers itself."""
    yield
    if request.module.__name__.rsplit(".", 1)[-1] != "test_workers":
        stop_table_workers()
