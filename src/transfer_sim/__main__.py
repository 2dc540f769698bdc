"""``python -m transfer_sim``: the command line."""

import sys

from transfer_sim.cli import main

sys.exit(main())
