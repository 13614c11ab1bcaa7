"""Comparing choices in the running app (headless Chromium): pin → change → both shown, the
sweep's A/B and a click on its scatter, vary one prior, lesson links.

Uses the server and browser fixtures and the run-waiting helpers of ``test_browser``;
screenshots go to ``test-artifacts/teach_*.png`` at 1400×1000 and 1280×720.
"""

from __future__ import annotations

import re

import pytest

from tests.appdriver import WATCH_RUNS, wait_for_charts
from tests.test_browser import (  # noqa: F401 - server and browser are fixtures
    ARTIFACTS,
    _act,
    _open,
    _query,
    browser,
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
    wait_for_charts(page, n)


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


def test_pin_then_change_shows_a_beside_b(server, page) -> None:  # noqa: F811
    _open(page, f"{server}/connectivity?preset=small&seed=1")
    _no_exception(page)
    assert page.get_by_text("A beside B").count() == 0
    _act(page, lambda: page.get_by_role("button", name="Pin as A").click())
    assert _query(page).get("A.preset") == "small", page.url
    # change a Stage-2 prior with the keyboard: one step of the levels slider
    slider = page.locator('[data-testid="stSlider"]').filter(has_text="HSBM levels").first
    handle = slider.locator('input[type="range"]').last
    handle.scroll_into_view_if_needed()
    handle.focus()
    _act(page, lambda: handle.press("ArrowLeft"))
    _no_exception(page)
    assert "connectivity.levels" in _query(page), page.url
    page.get_by_text("A beside B · seed 1").wait_for(timeout=20_000)
    page.get_by_text("Changed priors (A → B)").first.wait_for(timeout=20_000)
    _wait_plots(page, 6)
    # the overlay has a legend entry for A and for B
    overlay = page.locator('[data-testid="stPlotlyChart"]').filter(has_text="CCDF P(D ≥ k)").first
    legend = " ".join(overlay.locator(".legend .legendtext").all_text_contents())
    assert "A" in legend and "B" in legend, legend
    overlay.scroll_into_view_if_needed()
    _shot(page, "pin_connectivity_1400", full=False)


def test_vary_draws_one_panel_per_value(server, page) -> None:  # noqa: F811
    _open(
        page, f"{server}/vary?preset=small&seed=1&vary=connectivity.within_affinity&values=0.002%3B0.1%3B0.9"
    )
    _no_exception(page)
    _wait_plots(page, 1)
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    _shot(page, "vary_1400", full=False)
    titles = chart.locator(".annotation-text").all_text_contents()
    assert len(titles) == 3 and titles[0].startswith("0.002"), titles
    assert chart.locator(".scatterlayer .trace").count() == 3
    _shot(page, "vary_1400", full=False)


def test_vary_sweeps_stop_and_keep_the_seeds_done(server, page) -> None:  # noqa: F811
    values = "0.002%3B0.05%3B0.3"  # three sweeps of N = 20 seeds: 60 databases
    _open(page, f"{server}/vary?preset=small&seed=1&vary=connectivity.within_affinity&values={values}")
    _no_exception(page)
    page.get_by_role("button", name="Run 3 sweep(s)").click()
    # progress over all sweeps; stop once a few databases are done
    page.get_by_text(re.compile(r"\(([3-9]|[1-5][0-9]) / 60 in all\)")).wait_for(timeout=180_000)
    stop = page.get_by_test_id("stMainBlockContainer").get_by_role("button", name="Stop")
    _act(page, lambda: stop.click())
    _no_exception(page)
    warning = page.locator('[data-testid="stAlert"]').filter(has_text="Stopped after").first
    warning.wait_for(timeout=30_000)
    text = warning.inner_text()
    done = int(re.search(r"Stopped after (\d+) of 60 databases", text).group(1))
    assert 3 <= done < 60, text
    # the seeds done are kept and shown: one box per value swept (the one in progress
    # labelled with its seeds)
    seeds = re.search(r"\((0\.\d+): (\d+) of 20 seeds\)", text)
    assert seeds is not None, text
    _wait_plots(page, 2)
    boxes = page.locator('[data-testid="stPlotlyChart"]').nth(1).locator(".boxlayer .trace")
    assert boxes.count() == done // 20 + (1 if int(seeds.group(2)) else 0)
    assert page.get_by_role("button", name=re.compile(r"Run [1-3] sweep\(s\)")).is_enabled()
    _shot(page, "vary_stopped_1400")


# true once the lesson's first control and the first chart are inside the first screen
_FITS_FIRST_SCREEN = """() => {
  const fits = el => {
    if (!el) return false;
    const r = el.getBoundingClientRect();
    return r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight;
  };
  return fits(document.querySelector('[data-testid="stMain"] [data-testid="stSlider"]'))
      && fits(document.querySelector('[data-testid="stPlotlyChart"]'));
}"""


def test_lesson_link_opens_the_same_view_in_a_fresh_context(server, browser) -> None:  # noqa: F811
    from explorer.lessons import LESSONS, lesson_query

    lesson = next(x for x in LESSONS if x.id == "affinity")
    url = f"{server}/{lesson.page}?{lesson_query(lesson, present=True)}"
    views = {}
    for size in ((1400, 1000), (1280, 720)):
        context, pg = _new_page(browser, *size)
        try:
            _open(pg, url)
            _no_exception(pg)
            pg.get_by_text("A beside B · seed 1").wait_for(timeout=30_000)
            _wait_plots(pg, 4)
            # the presentation styles arrive with the page's HTML element, just after the run
            pg.locator('[data-testid="stSidebar"]').wait_for(state="hidden", timeout=10_000)
            q = _query(pg)
            views[size] = (q.get("connectivity.within_affinity"), q.get("A.preset"), q.get("lesson"))
            # presentation mode: the lesson's control and a chart fit the projector's first screen
            control = pg.locator('[data-testid="stMain"] [data-testid="stSlider"]').first
            chart = pg.locator('[data-testid="stPlotlyChart"]').first
            # the layout settles after the charts draw (fonts, the folded expander): wait for it
            try:
                pg.wait_for_function(_FITS_FIRST_SCREEN, timeout=15_000)
            except Exception:
                _shot(pg, f"lesson_present_{size[0]}_failed", full=False)
            for box in (control.bounding_box(), chart.bounding_box()):
                assert box["y"] >= 0 and box["y"] + box["height"] <= size[1], (size, box)
            _shot(pg, f"lesson_present_{size[0]}", full=False)
            views[size] += (chart.count(),)
        finally:
            context.close()
    assert views[(1400, 1000)][:3] == views[(1280, 720)][:3] == ("0.002", "small", "affinity")


def test_stage3_change_keeps_schema_and_keys_and_lessons_page_draws(server, browser) -> None:  # noqa: F811
    context, pg = _new_page(browser, 1280, 720)
    try:
        _open(pg, f"{server}/features?preset=small&seed=2&A.preset=small&features.aggregations=max")
        _no_exception(pg)
        pg.get_by_text("schema and foreign keys are identical").wait_for(timeout=30_000)
        _wait_plots(pg, 2)
        pg.get_by_text("A beside B · seed 2").scroll_into_view_if_needed()
        _shot(pg, "features_ab_1280", full=False)
        _open(pg, f"{server}/lessons")
        _no_exception(pg)
        pg.get_by_role("button", name="Open lesson").first.wait_for(timeout=30_000)
        _shot(pg, "lessons_1280", full=False)
        assert pg.get_by_role("button", name="Open lesson").count() >= 6
    finally:
        context.close()
