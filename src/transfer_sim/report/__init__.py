"""The self-contained HTML report.

Everything in :mod:`transfer_sim.report.html` is importable from here.
"""

from transfer_sim.report.html import *  # noqa: F403 - the subpackage's public face
from transfer_sim.report.html import __all__  # noqa: F401
