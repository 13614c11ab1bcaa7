"""The app's pages: one list read by the navigation (``app.py``), the pages' links and the tests.

To add a page: write ``views/<n>_<Name>.py`` and add one ``Page`` here.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["PAGES", "STAGE_PAGES", "Page", "page", "page_file"]


@dataclass(frozen=True)
class Page:
    """One page: its URL path (the key lessons and links use), file, title and icon."""

    url_path: str
    file: str  # relative to the app's folder
    title: str
    icon: str
    stage: bool = False  # one of the three PluRel stages
    home_link: str | None = None  # the label of its link on Home's "Where to go next", if any
    lesson: bool = True  # a lesson's link can open it


PAGES: tuple[Page, ...] = (
    Page("home", "views/0_Home.py", "Home", ":material/home:"),
    Page(
        "schema",
        "views/1_Schema.py",
        "Stage 1 · Schema",
        ":material/account_tree:",
        stage=True,
        home_link="Stage 1 · Schema",
    ),
    Page(
        "connectivity",
        "views/2_Connectivity.py",
        "Stage 2 · Connectivity",
        ":material/link:",
        stage=True,
        home_link="Stage 2 · Connectivity",
    ),
    Page(
        "features",
        "views/3_Features.py",
        "Stage 3 · Features",
        ":material/science:",
        stage=True,
        home_link="Stage 3 · Features",
    ),
    Page("export", "views/4_Export.py", "Export", ":material/download:", home_link="Export", lesson=False),
    Page(
        "sweep",
        "views/5_Sweep.py",
        "Sweep",
        ":material/query_stats:",
        home_link="Sweep over many databases",
    ),
    Page("reality", "views/6_Reality.py", "Reality check", ":material/compare:", lesson=False),
    Page("vary", "views/7_Vary.py", "Vary", ":material/tune:"),
    Page("lessons", "views/8_Lessons.py", "Lessons", ":material/school:", lesson=False),
)
"""Every page in navigation order; the first is Home, served at ``/``."""

STAGE_PAGES: tuple[Page, ...] = tuple(p for p in PAGES if p.stage)


def page(url_path: str) -> Page:
    """The page served at ``url_path`` (``"home"`` for Home)."""
    for p in PAGES:
        if p.url_path == url_path:
            return p
    raise KeyError(f"no page {url_path!r}; pages: {[p.url_path for p in PAGES]}")


def page_file(url_path: str) -> str:
    """The file of the page served at ``url_path`` (what ``st.switch_page`` takes)."""
    return page(url_path).file
