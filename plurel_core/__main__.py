"""``python -m plurel_core``: the command line (see :mod:`plurel_core.cli`)."""

import sys

from .cli import main
from .workers import freeze_startup_heap

freeze_startup_heap()  # this process is the command line's: its imports are done
sys.exit(main())
