"""Comparing choices in the running app (headless Chromium): pin → change → both shown, the
sweep's A/B and a click on its scatter, vary one prior, lesson links.

Uses the server and browser fixtures and the run-waiting helpers of ``test_browser``;
screenshots go to ``test-artifacts/teach_*.png`` at 1400×1000 and 1280×720.
"""

from __future__ import annotations

import pytest

from tests.test_browser import (  # noqa: F401 - server and browser are fixtures
    ARTIFACTS,
    WATCH_RUNS,
    _act,
    _open,
    _query,
    browser,
    playwright_sync,
    server,
)

pytestmark = pytest.mark.browser


def _new_page(browser, width: int = 1400, height: int = 1000):  # noqa: F811
    context = browser.new_context(viewport={"width": width, "height": height})
    context.add_init_script(WATCH_RUNS)
    return context, context.new_page()


@pytest.fixture
def page(browser):  # noqa: F811
    context, pg = _new_page(browser)
    yield pg
    context.close()


def _no_exception(page) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0, "exception box"


def _shot(page, name: str, full: bool = True) -> None:
    page.screenshot(path=str(ARTIFACTS / f"teach_{name}.png"), full_page=full)


def _selected(select) -> str:
    """The shown value of a selectbox (the value of its combobox input)."""
    return select.locator('input[role="combobox"]').first.input_value()


def _wait_plots(page, n: int) -> None:
    page.wait_for_function(
        """n => document.querySelectorAll('[data-testid="stPlotlyChart"] .js-plotly-plot .main-svg').length >= n""",
        arg=n,
        timeout=30_000,
    )


def test_sweep_ab_and_a_scatter_click_picks_its_database(server, page) -> None:  # noqa: F811
    query = "preset=small&seed=1&n=4&offset=40&A.preset=small&connectivity.within_affinity=0.002"
    _open(page, f"{server}/sweep?{query}")
    _act(page, lambda: page.get_by_role("button", name="Run sweeps A and B").click(), timeout=240_000)
    _no_exception(page)
    page.get_by_role("tab", name="A / B").click()
    page.get_by_text("Matched pairs").wait_for(timeout=20_000)
    _wait_plots(page, 1)
    _shot(page, "sweep_ab")
    page.get_by_role("tab", name="Scatter").click()
    _wait_plots(page, 1)
    chart = page.locator('[data-testid="stPlotlyChart"]').filter(has=page.locator(".scatterlayer")).first
    points = chart.locator(".scatterlayer .point")
    points.first.wait_for(timeout=20_000)
    assert points.count() == 4
    pick = page.locator('[data-testid="stSelectbox"]').filter(has_text="Database (seed)").first
    assert _selected(pick) == "40"
    box = points.nth(2).bounding_box()
    _act(page, lambda: page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2))
    _no_exception(page)
    _shot(page, "sweep_scatter_click")
    assert _selected(pick) != "40" and _selected(pick) in ("41", "42", "43"), _selected(pick)
