"""``python -m rnnviz``: see ``rnnviz.cli``."""

import sys

from .cli import main

sys.exit(main())
