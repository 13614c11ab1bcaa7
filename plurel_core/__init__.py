"""plurel_core: synthetic relational databases from the PluRel priors.

>>> from plurel_core import Config, generate
>>> db = generate(Config.preset("small"), seed=0)
"""

from .config import Config, ConfigError
from .database import Database, Table
from .generate import assemble, generate, sample_features, sample_foreign_keys, sample_schema

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
]
__version__ = "0.1.0"
