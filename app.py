"""PluRel Explorer: tune the priors of the three PluRel stages and see what each one does.

Run with ``streamlit run app.py``. This file draws the navigation and the shared sidebar
(preset, seed, reset, config in/out); each page lives in ``views/`` and only reads the
session state and draws.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from explorer import lessons, state
from explorer.pages import PAGES
from explorer.sidebar import draw_sidebar
from explorer.stages import prune_view
from plurel_core.workers import table_workers, using_table_workers

st.set_page_config(page_title="PluRel Explorer", page_icon="🧬", layout="wide")

HERE = Path(__file__).resolve().parent
# (the pages live in views/, not pages/: Streamlit runs the first session of a server in its
# older multipage mode when a folder of that name sits beside the entry script, which breaks
# deep links)

state.init_state()

home = st.Page(HERE / PAGES[0].file, title=PAGES[0].title, icon=PAGES[0].icon, default=True)


def _home_alias() -> None:
    state.sync_url()  # the switch keeps the shareable state in the URL
    st.switch_page(home, query_params=st.query_params.to_dict())


pages = [home] + [st.Page(HERE / p.file, title=p.title, icon=p.icon, url_path=p.url_path) for p in PAGES[1:]]
# Home is served at "/"; "/home" (an old or hand-written link) leads there instead of to a
# blocking "Page not found" dialog
pages.append(st.Page(_home_alias, title="Home", url_path="home", visibility="hidden"))

nav = st.navigation(pages, position="top")
draw_sidebar()
lessons.draw_banner()
for text in state.pop_notices():
    st.warning(text)
# the page's generations run their Stage-3 tables on the server's table workers, once
# started (explorer.stages starts them after the first generation)
with using_table_workers(table_workers()):
    nav.run()
prune_view()
state.sync_url()
