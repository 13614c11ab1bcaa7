"""The app under Streamlit's AppTest, opened the same way by every app test module."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).resolve().parent.parent / "app.py")
TIMEOUT = 180  # seconds for one script run (a sweep under load included)


def assert_no_exception(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def open_app(timeout: float = TIMEOUT, **query: str) -> AppTest:
    """A fresh session of the app, opened with ``query`` as its URL parameters, after its first run."""
    at = AppTest.from_file(APP, default_timeout=timeout)
    for k, v in query.items():
        at.query_params[k] = v
    at.run()
    assert_no_exception(at)
    return at


def open_page(at: AppTest, page: str) -> AppTest:
    """Switch ``at`` to ``page`` (a path under views/) and run it."""
    at.switch_page(page)
    at.run()
    assert_no_exception(at)
    return at


def open_control_groups(at: AppTest) -> AppTest:
    """Open every control group of the page (only an open group's controls are built) and rerun."""
    from explorer.controls import group_key
    from plurel_core.config import SECTIONS, prior_groups

    groups = set(prior_groups(list(SECTIONS))) | set(prior_groups(list(SECTIONS), sql=True))
    shown = [e.label for e in at.expander if e.label in groups]
    for label in shown:
        at.session_state[group_key(label)] = True
    at.run()
    assert_no_exception(at)
    return at
