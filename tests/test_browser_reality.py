"""The Reality check page in headless Chromium: uploads (broken, odd), a sweep, offline charts.

Uses the server, browser and helpers of ``test_browser``; saves screenshots at 1400×1000
under ``test-artifacts/``.
"""

from __future__ import annotations

import re
import sqlite3

import pytest

from .appdriver import wait_for_charts
from .test_browser import (  # noqa: F401 - fixtures
    ARTIFACTS,
    WATCH_RUNS,
    _act,
    _assert_loopback_only,
    _metric,
    _open,
    browser,
    playwright_sync,
    server,
)
from .test_real import ODD

pytestmark = pytest.mark.browser


@pytest.fixture
def small_page(browser, server):  # noqa: F811
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(WATCH_RUNS)
    pg = context.new_page()
    pg.requests = []
    pg.on("request", lambda req: pg.requests.append(req.url))
    yield pg
    context.close()


def _no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0


def _upload(page, path) -> None:
    chooser = (
        page.locator('[data-testid="stFileUploader"]')
        .filter(has_text="SQLite file")
        .locator('input[type="file"]')
    )
    _act(page, lambda: chooser.set_input_files(str(path)))
    page.wait_for_function("() => window.__st.state === 'notRunning'")
    page.wait_for_timeout(500)


def test_reality_page_uploads_and_places_the_example(server, small_page, tmp_path) -> None:  # noqa: F811
    page = small_page
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    _open(page, f"{server}/reality?preset=small&seed=1")
    _no_exception(page)
    assert _metric(page, "Tables") == "11"

    # a file that is not SQLite: a message, no traceback
    _act(page, lambda: page.get_by_text("Upload a SQLite file").click())
    bad = tmp_path / "notes.sqlite"
    bad.write_text("CREATE TABLE t (a INT);\n")
    _upload(page, bad)
    _no_exception(page)
    alert = page.locator('[data-testid="stAlert"]').filter(has_text="cannot be compared").first
    assert "not a SQLite database file" in alert.inner_text()
    page.screenshot(path=str(ARTIFACTS / "reality_broken_upload.png"))

    # an odd but valid file: read with notes
    odd = tmp_path / "odd.sqlite"
    conn = sqlite3.connect(odd)
    conn.executescript(ODD)
    conn.execute("INSERT INTO \"order items\" VALUES (NULL, 2.5, '<b>x</b>')")
    conn.commit()
    conn.close()
    _upload(page, odd)
    _no_exception(page)
    assert _metric(page, "Tables") == "6"
    page.locator('[data-testid="stExpander"] summary').filter(has_text="odd.sqlite").click()
    page.get_by_text("SQLite's internal table; skipped").first.wait_for(timeout=10_000)

    # back to the example: a sweep of 4 databases and its charts
    _act(page, lambda: page.get_by_text("Example: Chinook").click())
    assert _metric(page, "Tables") == "11"
    n_box = page.locator('[data-testid="stNumberInput"]').filter(has_text="Databases N")
    n_input = n_box.locator("input")
    n_input.fill("4")
    page.wait_for_timeout(500)  # let the widget take the edit before Enter applies it
    try:
        _act(page, lambda: n_input.press("Enter"), timeout=20_000)
    except playwright_sync.TimeoutError:  # the edit was taken without a run: Tab applies it
        _act(page, lambda: n_input.press("Tab"))
    assert n_input.input_value() == "4"
    _act(page, lambda: page.get_by_role("button", name="Run sweep").click(), timeout=180_000)
    _no_exception(page)
    wait_for_charts(page, 2)
    page.get_by_text("fall outside the central 95%").first.wait_for(timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "reality_sweep.png"))
    charts = page.locator('[data-testid="stPlotlyChart"]')
    charts.nth(1).scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "reality_distributions.png"))

    _act(page, lambda: page.get_by_role("tab", name="Synthetic twin").click(), timeout=120_000)
    wait_for_charts(page, 3)
    _no_exception(page)
    page.screenshot(path=str(ARTIFACTS / "reality_twin.png"))
    for i, name in ((1, "reality_twin_fk"), (2, "reality_twin_column")):
        charts.nth(i).scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / f"{name}.png"))
    assert page.locator("b").filter(has_text="x").count() == 0  # a value from the file is never markup
    assert dialogs == []
    _assert_loopback_only(page)


def test_html_report_draws_its_charts_offline(browser, tmp_path) -> None:  # noqa: F811
    from plurel_core.cli import main

    from .test_real import CHINOOK

    out = tmp_path / "report.html"
    args = ["compare", "--real", str(CHINOOK), "--preset", "small", "--num-dbs", "3", "--quiet"]
    assert main([*args, "--out", str(out)]) == 0
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    asked: list[str] = []

    def block_network(route) -> None:
        asked.append(route.request.url)
        if route.request.url.startswith("file:"):
            route.continue_()
        else:
            route.abort()

    context.route("**/*", block_network)
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.goto(out.as_uri())
    # percentiles, distributions, rows per table and one chart per foreign key (11)
    page.wait_for_function(
        "() => document.querySelectorAll('.js-plotly-plot .main-svg').length >= 14", timeout=30_000
    )
    assert page.locator(".js-plotly-plot").count() == 14
    page.screenshot(path=str(ARTIFACTS / "reality_report.png"))
    page.locator(".js-plotly-plot").nth(3).scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / "reality_report_fk.png"))
    context.close()
    assert errors == []
    assert [u for u in asked if not u.startswith("file:")] == []


def test_runs_are_seen_when_the_browser_is_short_of_cpu(server, small_page) -> None:  # noqa: F811
    """A browser short of CPU (as in the whole suite on a busy machine) can apply a quick
    run's messages in one render: the root's script-run state never leaves "notRunning",
    and a wait on that attribute alone never ended. The driver also reads the server's
    messages (new session, script finished), so each of these runs is seen."""
    page = small_page
    _open(page, f"{server}/reality?preset=small&seed=0")
    cdp = page.context.new_cdp_session(page)
    cdp.send("Emulation.setCPUThrottlingRate", {"rate": 20})
    try:
        for tab in ("Suggest priors", "Where it sits", "Suggest priors"):
            _act(page, lambda tab=tab: page.get_by_role("tab", name=tab).click(), timeout=60_000)
    finally:
        cdp.send("Emulation.setCPUThrottlingRate", {"rate": 1})
    page.get_by_text("Priors to search").wait_for(timeout=10_000)
    _no_exception(page)


def test_prior_search_stops_and_keeps_the_best_so_far(server, small_page) -> None:  # noqa: F811
    page = small_page
    _open(page, f"{server}/reality?preset=small&seed=0")
    _act(page, lambda: page.get_by_role("tab", name="Suggest priors").click())
    for label, value in (("Databases per sweep", "3"), ("Max. sweeps", "40")):
        box = page.locator('[data-testid="stNumberInput"]').filter(has_text=label).locator("input")
        box.fill(value)
        page.wait_for_timeout(500)
        try:
            _act(page, lambda box=box: box.press("Enter"), timeout=20_000)
        except playwright_sync.TimeoutError:
            _act(page, lambda box=box: box.press("Tab"))
        assert box.input_value() == value
    page.get_by_role("button", name="Search").click()
    # the search reports after every sweep; stop once a couple of them are done
    page.get_by_text(re.compile(r"^[2-9] / 40 sweeps")).wait_for(timeout=180_000)
    stop = page.get_by_test_id("stTabs").get_by_role("button", name="Stop")
    _act(page, lambda: stop.click(), timeout=120_000)
    _no_exception(page)
    warning = page.locator('[data-testid="stAlert"]').filter(has_text="Stopped after").first
    warning.wait_for(timeout=30_000)
    done = int(re.search(r"Stopped after (\d+) sweep", warning.inner_text()).group(1))
    assert 2 <= done < 40
    page.get_by_text("Distance from the middle").wait_for(timeout=10_000)
    page.screenshot(path=str(ARTIFACTS / "reality_search_stopped.png"))
