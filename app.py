"""PluRel Explorer: tune the priors of the three PluRel stages and see what each one does.

Run with ``streamlit run app.py``. This file draws the navigation and the shared sidebar
(preset, seed, reset, config in/out); each page lives in ``views/`` and only reads the
session state and draws.
"""

from __future__ import annotations

from pathlib import Path

import streamlit as st

from explorer import lessons, state
from explorer.sidebar import draw_sidebar
from explorer.stages import prune_view

st.set_page_config(page_title="PluRel Explorer", page_icon="🧬", layout="wide")

HERE = Path(__file__).resolve().parent
# Not "pages/": Streamlit runs the first session of a server in its older multipage mode
# when a folder of that name sits beside the entry script, which breaks deep links.
PAGES = HERE / "views"

state.init_state()

home = st.Page(PAGES / "0_Home.py", title="Home", icon=":material/home:", default=True)


def _home_alias() -> None:
    state.sync_url()  # the switch keeps the shareable state in the URL
    st.switch_page(home, query_params=st.query_params.to_dict())


pages = [
    home,
    st.Page(
        PAGES / "1_Schema.py", title="Stage 1 · Schema", icon=":material/account_tree:", url_path="schema"
    ),
    st.Page(
        PAGES / "2_Connectivity.py",
        title="Stage 2 · Connectivity",
        icon=":material/link:",
        url_path="connectivity",
    ),
    st.Page(
        PAGES / "3_Features.py", title="Stage 3 · Features", icon=":material/science:", url_path="features"
    ),
    st.Page(PAGES / "4_Export.py", title="Export", icon=":material/download:", url_path="export"),
]
pages.append(st.Page(PAGES / "5_Sweep.py", title="Sweep", icon=":material/query_stats:", url_path="sweep"))
pages.append(
    st.Page(PAGES / "6_Reality.py", title="Reality check", icon=":material/compare:", url_path="reality")
)
pages.append(st.Page(PAGES / "7_Vary.py", title="Vary", icon=":material/tune:", url_path="vary"))
pages.append(st.Page(PAGES / "8_Lessons.py", title="Lessons", icon=":material/school:", url_path="lessons"))
# Home is served at "/"; "/home" (an old or hand-written link) leads there instead of to a
# blocking "Page not found" dialog
pages.append(st.Page(_home_alias, title="Home", url_path="home", visibility="hidden"))

nav = st.navigation(pages, position="top")
draw_sidebar()
lessons.draw_banner()
for text in state.pop_notices():
    st.warning(text)
nav.run()
prune_view()
state.sync_url()
