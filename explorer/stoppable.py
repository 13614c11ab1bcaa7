"""Long work in a page run that the user can stop: a progress bar, a Stop button, and
everything finished so far kept.

A click on Stop reruns the page. Streamlit starts the new run at once and ends the
interrupted one only at its next Streamlit call, so the interrupted run keeps what it
finishes in the session state as it goes (:class:`Held`) and the new run shows that:
"Stopped: 12 of 50 databases". The Stop button's callback also marks the work as stopped
(it runs first thing in the new run), and the work asks :meth:`StoppableRun.should_stop`
between databases, so an interrupted run also ends between two databases instead of
after a whole step of several of them (a sweep of a prior search), which kept generating
beside the pages that followed.

:func:`run_sweeps` runs sweeps (one or several: A and B, one per value of a prior) this
way; the Sweep, Reality and Vary pages all use it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import streamlit as st

from .sweep_store import records_frame

__all__ = ["Held", "StoppableRun", "SweepJob", "held", "run_sweeps", "stopped_note"]

_HELD = "stoppable_held"  # {run name: Held} of the last run of each name


@dataclass
class Held:
    """What a run (named per page) has finished; kept after a stop for the rerun to show."""

    key: Hashable
    total: int  # units the run was asked for (databases, sweeps)
    unit: str = "databases"
    done: int = 0
    records: list[dict] = field(default_factory=list)  # finished databases of the sweep in progress
    result: Any = None  # the best result so far (a search)
    label: str = ""  # what is in progress (e.g. "B", a prior's value)
    part_key: Hashable = None  # the sweep in progress (run_sweeps)
    part_total: int = 0  # its databases
    stop_requested: bool = False
    finished: bool = False

    def frame(self) -> pd.DataFrame:
        """The finished databases of the sweep in progress, by seed (a copy: the
        interrupted run may still append to ``records`` until its next Streamlit call)."""
        return records_frame(list(self.records))


def held(name: str, key: Hashable | None = None) -> Held | None:
    """What the last run named ``name`` kept, if it was stopped (not finished) and, when
    ``key`` is given, was run for ``key``."""
    h = st.session_state.get(_HELD, {}).get(name)
    if h is None or h.finished or (key is not None and h.key != key):
        return None
    return h


def _request_stop(name: str) -> None:
    h = st.session_state.get(_HELD, {}).get(name)
    if h is not None:
        h.stop_requested = True


def stopped_note(h: Held) -> str:
    """The note "Stopped after k of n databases" (and, of several sweeps, how far the one in
    progress came)."""
    text = f"Stopped after {h.done} of {h.total} {h.unit}"
    if h.part_total and h.part_total != h.total:
        text += f" ({h.label or 'the sweep in progress'}: {len(h.records)} of {h.part_total} seeds)"
    return text + "."


class StoppableRun:
    """A progress bar and a Stop button for ``total`` units of work named ``name`` (one per
    page), for ``key`` (what the work is for: priors, seeds).

    Create it where the bar should appear; call :meth:`advance` after each unit and
    :meth:`finish` at the end. Until then, :func:`held` returns what it finished.
    """

    def __init__(self, name: str, key: Hashable, total: int, unit: str = "databases", label: str = ""):
        self.name = name
        # kept before the first unit: a Stop click reruns the page, which then shows it
        self.held = Held(key=key, total=int(total), unit=unit, label=label)
        st.session_state.setdefault(_HELD, {})[name] = self.held
        self._bar = st.progress(0.0, text=self._text())
        st.button(
            "Stop",
            key=f"stoppable_stop:{name}",
            on_click=_request_stop,
            args=(name,),
            help=f"Stop after the {unit} in progress; the finished ones are kept.",
        )

    def _text(self) -> str:
        h = self.held
        return f"{h.label + ': ' if h.label else ''}{h.done} / {h.total} {h.unit}"

    def should_stop(self) -> bool:
        """Whether Stop was clicked. Also a Streamlit call: in a run that a rerun replaced,
        it ends the run here, between two units of work."""
        _ = _HELD in st.session_state  # the interrupted run ends at a Streamlit call
        return self.held.stop_requested

    def advance(self, done: int | None = None, text: str | None = None) -> None:
        """One more unit finished (or ``done`` in all); moves the bar."""
        h = self.held
        h.done = h.done + 1 if done is None else int(done)
        self._bar.progress(min(h.done / max(h.total, 1), 1.0), text=text or self._text())

    def keep(self, result: Any) -> None:
        """The best result so far (shown after a stop)."""
        self.held.result = result

    def finish(self) -> None:
        self.held.finished = True


@dataclass(frozen=True)
class SweepJob:
    """One sweep of ``n`` databases for ``key``: ``items()`` yields their records."""

    label: str
    key: Hashable
    n: int
    items: Callable[[], Iterator[dict]]


def run_sweeps(
    name: str, jobs: Sequence[SweepJob], store: Callable[[Hashable, pd.DataFrame], None], key: Hashable
) -> bool:
    """Run ``jobs`` one after the other under one progress bar and Stop button; each
    finished sweep goes to ``store(job.key, frame)``. Returns whether all finished.

    ``key`` names the whole run (for :func:`held`). On a stop, :func:`held` has the
    databases of the sweep in progress (``records``; ``part_key``, ``label``: its job's)
    and ``done``: the databases finished over all jobs.
    """
    total = sum(job.n for job in jobs)
    run = StoppableRun(name, key, total, "databases")
    h = run.held
    for job in jobs:
        h.label, h.part_key, h.part_total, h.records = job.label, job.key, job.n, []
        items = job.items()
        try:
            for rec in items:
                h.records.append(rec)
                of_job = f"{job.label + ': ' if job.label else ''}{len(h.records)} / {job.n} databases"
                run.advance(text=f"{of_job} ({h.done + 1} / {total} in all)" if len(jobs) > 1 else of_job)
                if run.should_stop():
                    return False
        finally:
            close = getattr(items, "close", None)
            if close is not None:
                close()  # cancels the databases not started yet
        store(job.key, records_frame(h.records))
    run.finish()
    return True
