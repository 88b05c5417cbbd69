"""``python -m ferrotypes.tour``: see ``ferrotypes.tour``."""

import os
import sys

from ferrotypes.tour import main

try:
    status = main()
except BrokenPipeError:  # e.g. piped into `head`: stop quietly
    os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
    status = 1
sys.exit(status)
