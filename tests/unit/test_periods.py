"""Period-aware model values (no model run): flows over months, stocks at period end."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from transfer_sim.analysis.periods import (
    Period,
    cumulative_name,
    is_rate,
    parse_period,
    period_value,
)
from transfer_sim.errors import InputError

G = 0.15  # growth of the hand-made rate, per year


def _ds(saveper: float = 1 / 64, with_cumulative: bool = True) -> xr.Dataset:
    t = np.arange(2005, 2017 + 1e-9, saveper)
    rate = 100 * np.exp(G * (t - 2005))
    data = {"sales": ("time", rate, {"units": "yiyuan/Year"}),
            "parks": ("time", 10 + t - 2005, {"units": "park"})}
    if with_cumulative:
        data[cumulative_name("sales")] = ("time", 100 / G * (np.exp(G * (t - 2005)) - 1),
                                          {"units": "yiyuan"})
    return xr.Dataset(data, coords={"time": t})


def _exact(start: float, end: float) -> float:
    return 100 / G * (np.exp(G * (end - 2005)) - np.exp(G * (start - 2005)))


@pytest.mark.parametrize(("text", "first", "last"), [
    ("year", 1, 12), (None, 1, 12), ("Jan-Aug", 1, 8), ("H1", 1, 6), ("H2", 7, 12),
    ("Q1-Q3", 1, 9), ("Q4", 10, 12), ("Sep", 9, 9), ("jan - apr", 1, 4)])
def test_period_spellings(text, first, last):
    p = parse_period(2012, text)
    assert (p.first, p.last) == (first, last)
    assert p.start == pytest.approx(2012 + (first - 1) / 12)
    assert p.end == pytest.approx(2012 + last / 12)


@pytest.mark.parametrize("text", ["Aug-Jan", "Q3-Q1", "H3", "2012", "Smarch"])
def test_unknown_periods_are_refused_with_what_is_allowed(text):
    with pytest.raises(InputError, match="allowed: year, Jan-Aug"):
        parse_period(2012, text)


def test_an_annual_flow_is_the_amount_over_the_calendar_year_not_the_rate_on_1_january():
    ds = _ds()
    value = float(period_value(ds, "sales", parse_period(2015, "year")))
    assert value == pytest.approx(_exact(2015, 2016), rel=1e-12)
    # reading the rate at Time = 2015 understates it by about half a year's growth
    assert float(ds["sales"].sel(time=2015.0)) < 0.95 * value


def test_a_partial_year_flow_is_the_amount_over_its_months():
    ds = _ds(saveper=0.25)  # Jan-Aug ends between saved times: cumulative interpolated
    value = float(period_value(ds, "sales", parse_period(2012, "Jan-Aug")))
    # linear between saved times: error of order saveper² (0.16 % here at 0.25 year)
    assert value == pytest.approx(_exact(2012, 2012 + 8 / 12), rel=2e-3)
    assert value < float(period_value(ds, "sales", parse_period(2012, "year")))


def test_without_a_cumulative_stock_the_rate_is_integrated():
    ds = _ds(saveper=1 / 64, with_cumulative=False)
    value = float(period_value(ds, "sales", parse_period(2012, "Q1-Q3")))
    assert value == pytest.approx(_exact(2012, 2012.75), rel=1e-5)


def test_a_stock_is_read_at_the_end_of_the_period():
    ds = _ds()
    assert float(period_value(ds, "parks", parse_period(2015, "year"))) == pytest.approx(21.0)
    assert float(period_value(ds, "parks", Period(2015, 1, 6))) == pytest.approx(20.5)


def test_other_dims_are_kept_and_times_outside_the_run_refused():
    ds = xr.concat([_ds(), 2 * _ds()], dim="scenario")
    value = period_value(ds, "sales", parse_period(2015, "year"))
    assert value.dims == ("scenario",)
    assert float(value[1]) == pytest.approx(2 * float(value[0]))
    with pytest.raises(InputError, match="outside the results"):
        period_value(_ds(), "sales", parse_period(2017, "year"))


def test_rate_units():
    assert is_rate("yiyuan/Year") and is_rate("yikWh/Year") and is_rate("wanren/(Year)")
    assert not is_rate("yiyuan") and not is_rate("park") and not is_rate(None)
