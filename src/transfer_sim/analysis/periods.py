"""Model values over the period an observed figure covers.

A figure "in 2015" is the flow over the calendar year [2015, 2016) or a stock at its
end; a partial-year figure (Jan-Aug, H1, Q1-Q3) is the flow over those months. Flows
are read from the model's cumulative stock of the rate (``cumulative <rate>``, an
``INTEG`` of the rate from the initial time): the amount over ``[start, end)`` is
its difference between the two times, exact at saved times and linearly interpolated
between them. Where the model has no cumulative stock of a rate, the rate's saved
series is integrated by the trapezoidal rule (error of order ``saveper²``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import xarray as xr

from transfer_sim.errors import InputError

__all__ = ["Period", "parse_period", "period_value", "cumulative_name", "is_rate",
           "PERIOD_EXAMPLES"]

_MONTHS = ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec")
_NAMED = {"year": (1, 12), "": (1, 12), "h1": (1, 6), "h2": (7, 12)}
#: Period spellings accepted in observed-data files.
PERIOD_EXAMPLES = ("year", "Jan-Aug", "Jan-Apr", "H1", "H2", "Q1", "Q1-Q3", "Q4", "Sep")


@dataclass(frozen=True)
class Period:
    """Months ``first``..``last`` (1-12, inclusive) of calendar year ``year``."""

    year: int
    first: int = 1
    last: int = 12

    @property
    def start(self) -> float:
        """Start time [Year]."""
        return self.year + (self.first - 1) / 12

    @property
    def end(self) -> float:
        """End time [Year] (exclusive)."""
        return self.year + self.last / 12

    @property
    def whole_year(self) -> bool:
        """Whether the period is the calendar year."""
        return (self.first, self.last) == (1, 12)

    @property
    def label(self) -> str:
        """``2012`` for a whole year, else e.g. ``2012 Jan-Aug``."""
        if self.whole_year:
            return str(self.year)
        months = _MONTHS[self.first - 1].title()
        if self.last != self.first:
            months += "-" + _MONTHS[self.last - 1].title()
        return f"{self.year} {months}"


def _month(text: str) -> int | None:
    text = text.strip().lower()[:3]
    return _MONTHS.index(text) + 1 if text in _MONTHS else None


def parse_period(year: int, text: str | None) -> Period:
    """Return the period ``text`` names within ``year``.

    Parameters
    ----------
    year : int
        Calendar year.
    text : str or None
        ``year`` (or empty) for the whole year; ``H1``/``H2``; quarters ``Q1``..``Q4``
        or a range ``Q1-Q3``; months ``Sep`` or a range ``Jan-Aug``.

    Examples
    --------
    >>> parse_period(2012, "Jan-Aug").label, parse_period(2012, "Q1-Q3").end
    ('2012 Jan-Aug', 2012.75)
    >>> parse_period(2015, None).whole_year
    True
    """
    raw = "" if text is None else str(text).strip()
    key = raw.lower()
    if key in _NAMED:
        first, last = _NAMED[key]
        return Period(int(year), first, last)
    quarters = re.fullmatch(r"q([1-4])(?:\s*-\s*q([1-4]))?", key)
    if quarters:
        a, b = int(quarters.group(1)), int(quarters.group(2) or quarters.group(1))
        if a <= b:
            return Period(int(year), 3 * a - 2, 3 * b)
    parts = [p for p in re.split(r"\s*-\s*", key) if p]
    months = [_month(p) for p in parts]
    if 1 <= len(parts) <= 2 and all(months) and months[0] <= months[-1]:
        return Period(int(year), months[0], months[-1])
    raise InputError(f"unknown period {raw!r}; allowed: {', '.join(PERIOD_EXAMPLES)}",
                     key="period")


def cumulative_name(variable: str) -> str:
    """Return the Python name of the model's cumulative stock of a rate variable."""
    return f"cumulative_{variable}"


def is_rate(units: str | None) -> bool:
    """Whether a model unit is per year (a flow), e.g. ``yiyuan/Year``."""
    return bool(units) and bool(re.search(r"/\s*\(?\s*Year\b", str(units)))


def _interp(da: xr.DataArray, t: float) -> xr.DataArray:
    times = da["time"].values
    if t < times.min() - 1e-9 or t > times.max() + 1e-9:
        raise InputError(f"time {t:g} is outside the results ({times.min():g}-"
                         f"{times.max():g}); run the model further", key="time")
    return da.interp(time=t) if not np.any(np.isclose(times, t)) else da.sel(
        time=t, method="nearest")


def _integrate(da: xr.DataArray, start: float, end: float) -> xr.DataArray:
    times = da["time"].values
    inside = times[(times > start + 1e-12) & (times < end - 1e-12)]
    grid = np.concatenate([[start], inside, [end]])
    values = da.interp(time=grid)
    return values.integrate("time")


def period_value(ds: xr.Dataset, variable: str, period: Period) -> xr.DataArray:
    """Return the model's value of ``variable`` for ``period``.

    Parameters
    ----------
    ds : xarray.Dataset
        Results (any other dims, e.g. ``scenario`` or ``run``, are kept).
    variable : str
        Python name of a model output; a rate (units per ``Year``) gives the amount
        over the period, a stock its value at the period's end.
    period : Period
        The months the figure covers.

    Returns
    -------
    xarray.DataArray
        Without the ``time`` dim.
    """
    if variable not in ds:
        raise InputError("results lack this variable", key=variable)
    da = ds[variable]
    if not is_rate(da.attrs.get("units")):
        return _interp(da, period.end)
    cum = cumulative_name(variable)
    if cum in ds:
        return _interp(ds[cum], period.end) - _interp(ds[cum], period.start)
    return _integrate(da, period.start, period.end)
