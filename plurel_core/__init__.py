"""plurel_core: synthetic relational databases from the PluRel priors.

>>> from plurel_core import Config, generate
>>> db = generate(Config.preset("small"), seed=0)

A long-lived process can run Stage-3 tables side by side in worker processes: start
them once (``workers = start_table_workers()``), then generate inside
``with using_table_workers(workers):`` (or pass ``processes=2`` to one call).
"""

# set before the submodules load, so any of them can import it at module level
__version__ = "0.1.0"

from .config import Config, ConfigError
from .database import Database, Table
from .generate import assemble, generate, sample_features, sample_foreign_keys, sample_schema
from .workers import start_table_workers, stop_table_workers, using_table_workers

__all__ = [
    "Config",
    "ConfigError",
    "Database",
    "Table",
    "generate",
    "assemble",
    "sample_schema",
    "sample_foreign_keys",
    "sample_features",
    "start_table_workers",
    "stop_table_workers",
    "using_table_workers",
]
