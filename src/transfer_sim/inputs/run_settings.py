"""Run settings a scenario or a caller may choose: the final year and the time step.

The one place that says which values are allowed; scenario files, the runner,
ensembles, attribution, calibration and the command line all validate through
:func:`validate_final_year` and :func:`validate_time_step`.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from transfer_sim.errors import InputError

__all__ = ["FINAL_YEAR_RANGE", "DEFAULT_FINAL_YEAR", "TIME_STEP_RANGE", "validate_final_year",
           "validate_time_step", "final_time", "final_year_of"]

#: Final years a run may have: the document's 2015 up to 2020.
FINAL_YEAR_RANGE = (2015, 2020)
#: Final year of a run that does not choose one (the end of the 12th Five-Year Plan).
DEFAULT_FINAL_YEAR = 2015
#: Smallest and largest time step [Year] a scenario file (or ``--time-step``) may set.
TIME_STEP_RANGE = (2.0 ** -8, 0.25)


def final_time(final_year: int) -> float:
    """Return the simulated end of a run to ``final_year``: the end of that year [Year].

    A figure "in 2015" is the flow over the calendar year 2015 or a stock at its end,
    so a run to 2015 simulates to Time = 2016.

    Examples
    --------
    >>> final_time(2015)
    2016.0
    """
    return float(final_year) + 1.0


def final_year_of(time: float) -> int:
    """Return the last whole year a run that ends at ``time`` covers.

    The inverse of :func:`final_time`.

    Examples
    --------
    >>> final_year_of(2016.0)
    2015
    """
    return int(round(time)) - 1


def validate_final_year(value: Any, *, key: str = "final_year", file: str | None = None) -> int:
    """Check a final year and return it as an int.

    Parameters
    ----------
    value : int
        A whole year in :data:`FINAL_YEAR_RANGE` (an ``int``: ``2016.0`` is refused,
        as in a TOML file).
    key : str
        Key or option that gave the value, for the message.
    file : str, optional
        File that gave the value, for the message.

    Returns
    -------
    int

    Raises
    ------
    InputError
        For anything else, naming the allowed years.

    Examples
    --------
    >>> validate_final_year(2018)
    2018
    """
    lo, hi = FINAL_YEAR_RANGE
    whole = isinstance(value, int | np.integer) and not isinstance(value, bool)
    if not whole or not lo <= value <= hi:
        raise InputError(f"{value!r} is not allowed; allowed: a whole year from {lo} to {hi}",
                         file=file, key=key)
    return int(value)


def validate_time_step(value: Any, *, key: str = "time_step", file: str | None = None,
                       largest: float = TIME_STEP_RANGE[1]) -> float | None:
    """Check an integration step [Year] and return it as a float (None stays None).

    Parameters
    ----------
    value : float or None
        A power of two from :data:`TIME_STEP_RANGE`'s smallest to ``largest``; None
        for the model's own step.
    key : str
        Key or option that gave the value, for the message.
    file : str, optional
        File that gave the value, for the message.
    largest : float
        Largest step allowed: 0.25 Year for scenario files and the command line;
        the library's run functions accept up to 1 Year (coarse steps for
        convergence checks).

    Returns
    -------
    float or None

    Raises
    ------
    InputError
        For anything else (not a number, not a power of two, out of range), naming
        what is allowed.

    Examples
    --------
    >>> validate_time_step(0.0625), validate_time_step(None)
    (0.0625, None)
    """
    if value is None:
        return None
    lo = TIME_STEP_RANGE[0]
    ok = (isinstance(value, int | float | np.floating) and not isinstance(value, bool)
          and math.isfinite(value) and lo <= value <= largest
          and float(math.log2(value)).is_integer())
    if not ok:
        raise InputError(f"{value!r} is not allowed; allowed: a power of two from 2^-8 to "
                         f"{largest:g} Year (e.g. 0.0625)", file=file, key=key)
    return float(value)
