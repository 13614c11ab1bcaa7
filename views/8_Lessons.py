"""Lessons: questions about the priors, each opening the state that answers it."""

from __future__ import annotations

from urllib.parse import urlencode

import streamlit as st

from explorer import pinned, state, urlextra
from explorer.lessons import LESSONS, NOTE_MAX, apply_lesson, lesson_query
from explorer.pages import PAGES, page_file
from explorer.ui import md_escape
from explorer.urlstate import encode_state

state.init_state()

st.title("Lessons")
st.caption(
    "Each lesson asks one question about the design space of the priors and opens the state that answers "
    "it: priors, seed and a pinned A to compare with. Open it here, or share its link (add `present=1` for "
    "the presentation mode: no sidebar, only the lesson's controls, larger text)."
)


def _open(lesson_id: str) -> None:
    lesson = next(x for x in LESSONS if x.id == lesson_id)
    apply_lesson(lesson)
    st.session_state["lessons_go"] = page_file(lesson.page)


go = st.session_state.pop("lessons_go", None)
if go:
    st.switch_page(go)

for lesson in LESSONS:
    with st.container(border=True):
        st.markdown(f"#### {md_escape(lesson.title)}\n{md_escape(lesson.question)}")
        changed = {k: v for k, v in lesson.params.items() if k not in ("preset",)}
        st.caption(
            f"Opens **{lesson.page}** with preset `{lesson.params.get('preset', 'paper')}`; sets "
            + ", ".join(f"`{k}={v}`" for k, v in changed.items())
        )
        cols = st.columns([1, 4])
        cols[0].button("Open lesson", key=f"lesson_open:{lesson.id}", on_click=_open, args=(lesson.id,))
        cols[1].code(f"/{lesson.page}?{lesson_query(lesson, present=True)}", language=None)
        with st.expander("What to look at, and what the student should see"):
            st.markdown(
                f"**Look at:** {md_escape(lesson.look_at)}\n\n**Should see:** {md_escape(lesson.expect)}"
            )

st.subheader("Make a lesson from the current state")
st.caption("The link carries the current priors, seed, the pinned A (if any) and your question.")
c = st.columns([1, 3])
choices = [p.url_path for p in PAGES if p.lesson]
page = c[0].selectbox("Page", choices, index=choices.index("connectivity"), key="lesson_page")
note = c[1].text_input("Question for the students", key="lesson_note", max_chars=NOTE_MAX)
present = st.checkbox("Presentation mode", value=True, key="lesson_present")
params = encode_state(state.get_config(), state.get_seed(), state.get_preset())
extra = {k: v for k, v in urlextra.get_params().items() if k.startswith(urlextra.PIN_PREFIX)}
a = pinned.get_pinned()
if a is not None and not extra:
    a_sql = pinned.get_pinned_sql()
    example = a_sql[0] if a_sql is not None and a_sql[0] in state.example_schemas() else None
    extra = pinned.encode_pinned(a, state.get_preset(), example)
params.update(extra)
if note.strip():
    params["note"] = note.strip()
if present:
    params["present"] = "1"
st.code(f"/{page}?{urlencode(params)}", language=None)
st.caption("Append it to the app's address; it opens the same view in any browser.")
