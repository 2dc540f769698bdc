"""The self-contained HTML report.

Everything in :mod:`transfer_sim.report.html` and :mod:`transfer_sim.report.ensemble` is
importable from here.
"""

from transfer_sim.report import ensemble as _ensemble
from transfer_sim.report import html as _html
from transfer_sim.report.ensemble import *  # noqa: F403 - the subpackage's public face
from transfer_sim.report.html import *  # noqa: F403

__all__ = [*_html.__all__, *_ensemble.__all__]
