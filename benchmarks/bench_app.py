"""What a person waits for in the browser: input → view updated, on the `paper` preset.

    python benchmarks/bench_app.py [--seeds 5] [--out timings.json]

Starts the app on a loopback port, drives headless Chromium (Debian's ``/usr/bin/chromium``)
with Playwright and times, per stage page, each control kind from the input event (the
key or pointer press as the page receives it, so the driver's own work of finding and
scrolling to the element is not counted) to the end of the script run it triggers
(observed on Streamlit's script-run state, as the browser tests do):

- slider: one keyboard step of a range slider (Tables / HSBM levels / Column-node fraction);
- number: one step of a number input (Within-cluster affinity; Stage 2 only: the other
  stage pages have no number-input prior);
- multi-select: one option removed (Schema layouts / SCM layouts; Stage 2 has none);
- seed: the sidebar seed's + button.

Every change gives a value not seen before on that page (so nothing is served from a
cache filled by an earlier step): per seed 0..N-1 the page is opened fresh and each
control is moved twice in one direction. Each input comes once the page shows the last
one (its charts and graphs drawn, which they are after the run has finished), as a
person's next input would. Also timed: the first load after server start,
the first visit of each page and switches between visited pages. Prints median and p95.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.appdriver import (  # noqa: E402
    CHROMIUM,
    CHROMIUM_ARGS,
    WATCH_RUNS,
    act,
    app_server,
    open_page,
    wait_until_drawn,
)

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts"

# page path → {kind: (label, how to move it)}
SLIDERS = {
    "schema": ("Tables", 1, "ArrowLeft"),
    "connectivity": ("HSBM levels", 1, "ArrowLeft"),
    "features": ("Column-node fraction", 0, "ArrowRight"),
}
NUMBERS = {"connectivity": "Within-cluster affinity"}
MULTISELECTS = {"schema": "Schema layouts", "features": "SCM layouts"}
PAGE_LINKS = {
    "schema": "Stage 1 · Schema",
    "connectivity": "Stage 2 · Connectivity",
    "features": "Stage 3 · Features",
}


def _slider(page, label: str, thumb: int, key: str) -> float:
    slider = page.locator('[data-testid="stSlider"]').filter(has_text=label).first
    handle = slider.locator('input[type="range"]').nth(thumb)
    handle.scroll_into_view_if_needed()
    handle.focus()
    return act(page, lambda: handle.press(key), artifacts=ARTIFACTS)


def _number_step_down(page, label: str) -> float:
    box = page.locator('[data-testid="stNumberInput"]').filter(has_text=label).first
    button = box.get_by_test_id("stNumberInputStepDown")
    button.scroll_into_view_if_needed()
    return act(page, button.click, artifacts=ARTIFACTS)


def _multiselect_remove_one(page, label: str) -> float:
    box = page.locator('[data-testid="stMultiSelect"]').filter(has_text=label).first
    button = box.locator('button[aria-label^="Remove "]').first  # the last may be folded away
    button.scroll_into_view_if_needed()
    return act(page, button.click, artifacts=ARTIFACTS)


def _seed_up(page) -> float:
    box = (
        page.locator('[data-testid="stSidebar"] [data-testid="stNumberInput"]').filter(has_text="Seed").first
    )
    return act(page, box.get_by_test_id("stNumberInputStepUp").click, artifacts=ARTIFACTS)


def _summary(values: list[float]) -> str:
    if not values:
        return "-"
    ordered = sorted(values)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    return f"median {statistics.median(values):5.2f} s  p95 {p95:5.2f} s  (n={len(values)})"


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1, two changes per control each")
    parser.add_argument("--out", type=Path, help="also write every timing as JSON")
    args = parser.parse_args()
    if args.seeds < 1:
        parser.error("--seeds must be >= 1")
    from playwright.sync_api import sync_playwright

    timings: dict[str, list[float]] = {}

    def record(name: str, seconds: float) -> None:
        timings.setdefault(name, []).append(seconds)
        print(f"  {name:28s} {seconds:6.3f} s", flush=True)

    with app_server(ARTIFACTS / "bench-app-server.log") as (url, started), sync_playwright() as p:
        record("server start (to healthy)", started)
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1400, "height": 1000})
        context.add_init_script(WATCH_RUNS)
        page = context.new_page()
        record("first load", open_page(page, f"{url}/schema?seed=0"))
        for name in ("connectivity", "features"):
            wait_until_drawn(page)
            record("first visit", act(page, page.get_by_role("link", name=PAGE_LINKS[name]).click))
        for i in range(10):
            name = ("schema", "connectivity", "features")[i % 3]
            wait_until_drawn(page)
            record("page switch", act(page, page.get_by_role("link", name=PAGE_LINKS[name]).click))
        for name in ("schema", "connectivity", "features"):
            for seed in range(args.seeds):
                for kind in ("slider", "number", "multi-select", "seed"):
                    if kind == "number" and name not in NUMBERS:
                        continue
                    if kind == "multi-select" and name not in MULTISELECTS:
                        continue
                    open_page(page, f"{url}/{name}?seed={seed}")
                    for _ in range(2):
                        # as a person would: the next input once the page shows the last one
                        wait_until_drawn(page)
                        if kind == "slider":
                            t = _slider(page, *SLIDERS[name])
                        elif kind == "number":
                            t = _number_step_down(page, NUMBERS[name])
                        elif kind == "multi-select":
                            t = _multiselect_remove_one(page, MULTISELECTS[name])
                        else:
                            t = _seed_up(page)
                        record(f"{name} {kind}", t)
        browser.close()

    print("\nInput → view updated (script run finished), paper preset:")
    for name, values in timings.items():
        print(f"  {name:28s} {_summary(values)}")
    if args.out:
        args.out.write_text(json.dumps(timings, indent=2))


if __name__ == "__main__":
    t = time.perf_counter()
    main()
    print(f"\n({time.perf_counter() - t:.0f} s in all)")
