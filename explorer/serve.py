"""Start the explorer with its work done before the first visitor arrives.

    python -m explorer.serve [streamlit options]

``streamlit run app.py`` imports the generator, loads its compiled kernels and starts the
Stage-3 table workers only when the first page is opened, so the first visitor waits for
all of it (several seconds). This launcher does that work first — imports, one tiny
database (which loads the compiled kernels from their on-disk cache, or compiles them
on a fresh install), the table workers (they warm up in the background) — and then runs
the same Streamlit server in the same process, which reuses all of it.
"""

from __future__ import annotations

import logging
import sys
import time
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app.py"


def warm_up() -> float:
    """Import what the pages use, generate one tiny database, start the table workers; seconds."""
    t0 = time.perf_counter()
    import plotly.graph_objects  # noqa: F401 - the figure builders' first import is the slowest
    import streamlit  # noqa: F401 - makes its loggers, so the level below sticks

    # the pages' cached functions are defined before the server exists; Streamlit says so
    # once per function, though each cache is made when first called, under the server
    logging.getLogger("streamlit.runtime.caching.cache_data_api").setLevel(logging.ERROR)

    import explorer.diagnostics_panel  # noqa: F401
    import explorer.sidebar  # noqa: F401
    import explorer.ui  # noqa: F401
    from plurel_core import Config, generate
    from plurel_core.workers import freeze_startup_heap, start_table_workers

    small = Config.preset("small")
    for path, value in (("schema.num_tables", (3, 3)), ("schema.entity_rows", (20, 20))):
        small = small.with_value(path, value)
    generate(small.with_value("schema.activity_rows", (40, 40)), seed=0)
    start_table_workers()
    freeze_startup_heap()  # what is loaded by now lives as long as the server
    return time.perf_counter() - t0


def main(argv: list[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    seconds = warm_up()
    print(f"PluRel Explorer: generator ready in {seconds:.1f} s; starting the server", flush=True)
    from streamlit.web import cli

    sys.argv = ["streamlit", "run", str(APP), *args]
    return cli.main()


if __name__ == "__main__":
    sys.exit(main())
