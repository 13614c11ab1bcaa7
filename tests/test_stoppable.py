"""Long work a page can stop (explorer.stoppable) under AppTest: what a stop keeps and says."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from explorer.stoppable import Held, stopped_note
from explorer.sweep_store import finished_sweeps
from plurel_core.config import Config
from plurel_core.sweep import sweep_one

from .apptest import open_app, open_page


def _two_sweeps_stopped_in_the_second():
    import streamlit as st

    from explorer import stoppable

    def job(label: str, key: str, stop_at: int | None):
        def items():
            for seed in range(3):
                if seed == stop_at:
                    # what the Stop button's callback does, first thing in the rerun
                    st.session_state["stoppable_held"]["t"].stop_requested = True
                yield {"seed": seed}

        return stoppable.SweepJob(label, key, 3, items)

    stored = st.session_state.setdefault("stored", {})
    if st.button("Run", key="go"):
        jobs = [job("A", "ka", None), job("B", "kb", 1)]
        st.session_state["ok"] = stoppable.run_sweeps(
            "t", jobs, lambda k, f: stored.update({k: len(f)}), "both"
        )
    h = stoppable.held("t", "both")
    if h is not None:
        st.warning(stoppable.stopped_note(h))


def test_a_stop_keeps_the_finished_sweeps_and_the_seeds_done() -> None:
    at = AppTest.from_function(_two_sweeps_stopped_in_the_second, default_timeout=60)
    at.run()
    at.button(key="go").click().run()
    assert not at.exception, [e.value for e in at.exception]
    assert at.session_state["ok"] is False
    assert at.session_state["stored"] == {"ka": 3}  # the finished sweep is stored, the stopped one not
    h = at.session_state["stoppable_held"]["t"]
    assert (h.done, h.total, h.part_key, h.label) == (5, 6, "kb", "B")
    assert list(h.frame()["seed"]) == [0, 1]  # the seeds done of the sweep in progress
    assert [w.value for w in at.warning] == ["Stopped after 5 of 6 databases (B: 2 of 3 seeds)."]
    # the Stop button (drawn by the run) marks the run as stopped in the rerun it starts
    h.stop_requested = False
    at.button(key="stoppable_stop:t").click().run()
    assert at.session_state["stoppable_held"]["t"].stop_requested


def test_stopped_note_of_one_sweep_and_of_a_search() -> None:
    one = Held(key="k", total=50, part_key="k", part_total=50, records=[{"seed": 0}] * 12, done=12)
    assert stopped_note(one) == "Stopped after 12 of 50 databases."
    search = Held(key="s", total=12, unit="sweeps", done=3)
    assert stopped_note(search) == "Stopped after 3 of 12 sweeps."


def test_sweep_page_shows_the_databases_a_stopped_sweep_finished() -> None:
    # the server keeps finished sweeps across sessions: one another test finished under
    # these priors would be shown instead of the stopped one
    finished_sweeps.clear()
    small = Config.preset("small")
    records = [sweep_one(small, seed) for seed in (0, 1)]
    at = open_app(300, preset="small", seed="0", n="3")
    key = (small.validate().to_json(indent=None), "", 0, 3)
    at.session_state["stoppable_held"] = {
        "sweep": Held(key=(key, None), total=3, done=2, records=records, part_key=key, part_total=3)
    }
    open_page(at, "views/5_Sweep.py")
    assert [w.value for w in at.warning] == [
        "Stopped after 2 of 3 databases. Run the sweep again for all of them."
    ]
    table = next(d for d in at.dataframe if "seed" in d.value.columns)
    assert list(table.value["seed"]) == [0, 1]
    assert not next(b for b in at.button if b.key == "sweep_run").disabled  # the full sweep can still run
