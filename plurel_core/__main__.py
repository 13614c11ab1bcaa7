"""``python -m plurel_core``: the command line (see :mod:`plurel_core.cli`)."""

import sys

from .cli import main

sys.exit(main())
