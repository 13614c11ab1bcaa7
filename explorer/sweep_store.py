"""Finished sweeps, kept by the server and shared by its sessions.

Keyed by ``(priors JSON, SQL text, seed offset, N)``: a reload (a new session), a shared
link or another page asking for the same priors and seeds finds the sweep already run.
"""

from __future__ import annotations

from collections import OrderedDict

import pandas as pd
import streamlit as st

from plurel_core.config import Config
from plurel_core.sweep import COLUMNS

__all__ = ["KEEP", "SweepKey", "finished_sweeps", "records_frame", "store", "sweep_key"]

KEEP = 48  # finished sweeps kept (all sessions): a few MB at most
SweepKey = tuple[str, str, int, int]


@st.cache_resource
def finished_sweeps() -> OrderedDict:
    """The server's ``{SweepKey: DataFrame}`` of finished sweeps, oldest first."""
    return OrderedDict()


def sweep_key(config: Config, sql: str | None, offset: int, n: int) -> SweepKey:
    return (config.validate().to_json(indent=None), sql or "", int(offset), int(n))


def records_frame(records: list[dict]) -> pd.DataFrame:
    if not records:
        return pd.DataFrame(columns=list(COLUMNS))
    return (
        pd.DataFrame.from_records(records, columns=list(COLUMNS)).sort_values("seed").reset_index(drop=True)
    )


def store(key: SweepKey, frame: pd.DataFrame) -> None:
    results = finished_sweeps()
    results[key] = frame
    results.move_to_end(key)
    while len(results) > KEEP:
        results.popitem(last=False)
