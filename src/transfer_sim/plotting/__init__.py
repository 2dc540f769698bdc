"""Figures from result Datasets; never runs the model.

Everything in :mod:`transfer_sim.plotting.figures` is importable from here.
"""

from transfer_sim.plotting.figures import *  # noqa: F403 - the subpackage's public face
from transfer_sim.plotting.figures import __all__  # noqa: F401
