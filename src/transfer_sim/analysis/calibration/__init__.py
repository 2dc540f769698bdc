"""Calibration: observed series -> payoff -> fitted parameters with intervals.

The steps, each a module here:

1. :mod:`~transfer_sim.analysis.calibration.observed` reads and checks the observed
   series (:func:`load_observed`, :func:`check_observed`).
2. :mod:`~transfer_sim.analysis.calibration.problem`: :class:`CalibrationProblem`
   turns parameter values into model values at the observed years and the payoff.
3. :mod:`~transfer_sim.analysis.calibration.fit`: :func:`calibrate` screens, searches
   globally, polishes locally and computes intervals.
4. :mod:`~transfer_sim.analysis.calibration.result`: :class:`CalibrationResult`
   writes the fitted values as a scenario layer (TOML) or a table (CSV).

Figures of a result are in :mod:`transfer_sim.plotting.calibration`.
"""

from transfer_sim.analysis.calibration.fit import SearchSettings, calibrate
from transfer_sim.analysis.calibration.observed import (
    CONFIDENCE_SIGMA,
    HORIZON,
    OBSERVED_COLUMNS,
    check_observed,
    default_observed_path,
    load_observed,
)
from transfer_sim.analysis.calibration.problem import CalibrationProblem
from transfer_sim.analysis.calibration.result import CalibrationResult, goodness_of_fit

__all__ = [
    "OBSERVED_COLUMNS",
    "CONFIDENCE_SIGMA",
    "HORIZON",
    "default_observed_path",
    "load_observed",
    "check_observed",
    "CalibrationProblem",
    "CalibrationResult",
    "SearchSettings",
    "calibrate",
    "goodness_of_fit",
]
