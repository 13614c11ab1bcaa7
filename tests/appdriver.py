"""Drive the running app in headless Chromium: start a server, open pages, time script runs.

Used by the browser tests and by ``benchmarks/bench_app.py``. A script run is observed on
the attribute Streamlit sets on its root element (``data-test-script-state``) with a
MutationObserver, so even a run shorter than any polling interval is seen and timed.
"""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

# window.__st.start / .end: performance.now() of the last transition into / out of a run,
# seen on the root element's data-test-script-state. A browser short of CPU can apply a
# whole run's messages (new session … script finished) in one render, so the attribute
# never leaves "notRunning" and that run shows no transition at all. So the server's
# messages are read too (raw ForwardMsg protobuf, one per WebSocket message; only the
# top-level field numbers are needed): .session / .finished: performance.now() of the last
# new_session (field 4) and of the last script_finished (field 6) of a run that was not
# cut short for a rerun (status 2). .input: performance.now() of the last key press or
# pointer press anywhere on the page (seen before any widget handles it): the moment a
# person gives the input, without the time the driver spends finding and scrolling to the
# element first.
WATCH_RUNS = """
window.__st = {start: 0, end: 0, state: null, session: 0, finished: 0, input: 0};
for (const kind of ['keydown', 'pointerdown']) {
  window.addEventListener(kind, () => { window.__st.input = performance.now(); }, {capture: true});
}
const __stObserver = new MutationObserver(records => {
  const now = performance.now();
  records.forEach((r, i) => {
    const next = i + 1 < records.length ? records[i + 1].oldValue
                                         : r.target.getAttribute('data-test-script-state');
    if (next === 'running' && r.oldValue !== 'running') window.__st.start = now;
    if (r.oldValue === 'running' && next !== 'running') window.__st.end = now;
    window.__st.state = next;
  });
});
__stObserver.observe(document, {
  attributes: true, subtree: true, attributeOldValue: true,
  attributeFilter: ['data-test-script-state'],
});
const __stRead = data => {
  const b = new Uint8Array(data);
  let i = 0;
  const varint = () => {
    let x = 0, s = 0, c;
    do { c = b[i++]; x += (c & 0x7f) * 2 ** s; s += 7; } while (c & 0x80 && i < b.length);
    return x;
  };
  while (i < b.length) {
    const tag = varint(), field = Math.floor(tag / 8), wire = tag & 7;
    if (wire === 0) {
      const value = varint();
      if (field === 6 && value !== 2) window.__st.finished = performance.now();
    } else if (wire === 2) {
      const n = varint();
      i += n;
      if (field === 4) window.__st.session = performance.now();
    } else if (wire === 1) { i += 8; } else if (wire === 5) { i += 4; } else { break; }
  }
};
const __StSocket = window.WebSocket;
window.WebSocket = class extends __StSocket {
  constructor(...args) {
    super(...args);
    this.addEventListener('message', ev => {
      if (ev.data instanceof ArrayBuffer) __stRead(ev.data);
    });
  }
};
"""
# a run that started after t0 is over: its end was seen on the attribute, or its
# script_finished message came after the last new_session (and the page has rendered it)
RUN_OVER = (
    "t0 => window.__st.state !== 'running' && ((window.__st.end > t0 && window.__st.state === 'notRunning')"
    " || (window.__st.finished > t0 && window.__st.finished > window.__st.session))"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def app_server(log_path: Path, timeout: float = 180.0) -> Iterator[tuple[str, float]]:
    """Run the app as ``scripts/app`` does on a free loopback port; yields (URL, seconds until healthy)."""
    port = free_port()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    with open(log_path, "wb") as log:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "explorer.serve",  # what scripts/app runs
                "--server.headless", "true", "--server.port", str(port),
                "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false",
            ],
            cwd=ROOT, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.time() + timeout
            while True:
                try:
                    with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                        if r.read().strip() == b"ok":
                            break
                except OSError:
                    pass
                if proc.poll() is not None or time.time() > deadline:
                    raise RuntimeError(f"streamlit server did not start; see {log_path}")
                time.sleep(0.1)
            yield url, time.perf_counter() - t0
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def act(page, action: Callable[[], object], timeout: float = 120_000, artifacts: Path | None = None) -> float:
    """Do ``action`` and wait until the script run it triggers has finished; returns the
    seconds from the input event (key or pointer press; from the start of ``action`` if it
    gave none) to the end of that run."""
    t0 = page.evaluate("performance.now()")
    action()
    try:
        page.wait_for_function(RUN_OVER, arg=t0, timeout=timeout)
    except Exception:
        if artifacts is not None:  # what the page showed when no run came: for the failure report
            page.screenshot(path=str(artifacts / "act_timeout.png"), full_page=True)
            (artifacts / "act_timeout.json").write_text(
                json.dumps({"url": page.url, "t0": t0, "st": page.evaluate("JSON.stringify(window.__st)")})
            )
        raise
    return page.evaluate(_INPUT_TO_END, t0) / 1000.0


# milliseconds from the action's input event to the end of its run (the attribute's
# transition, or the script_finished message when the browser rendered the run in one go)
_INPUT_TO_END = """t0 => {
  const st = window.__st;
  const end = st.end > t0 ? st.end : st.finished;
  return end - (st.input > t0 ? st.input : t0);
}"""


def open_page(page, url: str, timeout: float = 120_000) -> float:
    """Load ``url`` and wait for its first script run to finish; returns seconds from navigation."""
    t0 = time.perf_counter()
    page.goto(url)
    page.wait_for_function(f"() => window.__st && ({RUN_OVER})(0)", timeout=timeout)
    return time.perf_counter() - t0


# charts whose plotly SVG is drawn (a chart has two .main-svg layers, so counting those
# would take one chart for two)
_DRAWN_CHARTS = """n => Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]'))
    .filter(c => c.querySelector('.js-plotly-plot .main-svg')).length >= n"""


def wait_for_charts(page, n: int, timeout: float = 30_000) -> None:
    """Wait until at least ``n`` of the page's plotly charts have drawn."""
    page.wait_for_function(_DRAWN_CHARTS, arg=n, timeout=timeout)


# every plotly chart of the page has its SVG, and every graph frame has drawn its network
_ALL_DRAWN = """() => {
  const charts = Array.from(document.querySelectorAll('[data-testid="stPlotlyChart"]'));
  const graphs = Array.from(document.querySelectorAll('iframe'))
    .filter(f => (f.srcdoc || '').includes('graphNetwork'));
  return charts.every(c => c.querySelector('.js-plotly-plot .main-svg'))
    && graphs.every(f => f.contentDocument && f.contentDocument.body
                         && f.contentDocument.body.getAttribute('data-drawn') === '1');
}"""


def wait_until_drawn(page, settle: float = 200, timeout: float = 30_000) -> None:
    """Wait until the page shows what its last run sent: every plotly chart and every graph
    drawn (they draw after the run has finished), then ``settle`` ms more."""
    page.wait_for_function(_ALL_DRAWN, timeout=timeout)
    page.wait_for_timeout(settle)
