"""Indicators on small hand-made Datasets (no model run)."""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr

from transfer_sim.analysis.kpis import (
    KPIS,
    contribution_rate,
    contribution_series,
    format_table,
    kpi_series,
    kpi_table,
    kpi_values,
    required_variables,
)
from transfer_sim.errors import InputError

TIME = np.arange(2005.0, 2015.25, 0.25)


def _ds(scale: float = 1.0) -> xr.Dataset:
    t = TIME - 2005
    nr = 2000 * scale * (1 + t)            # non-resource revenue grows linearly
    res = 1000 + 100 * t                    # resource revenue
    data = {
        "total_clusters_over_100yi": 6.0 * t * scale,
        "nonresource_revenue": nr,
        "industrial_revenue": nr + res,
        "new_jobs": np.where(TIME >= 2010, 9.0 * (TIME - 2010) * scale, 0.0),
        "demonstration_parks": 2.0 * t,
        "fund_spent": 10.0 * t,
        "tax_foregone_to_date": 1.0 * t,
        "power_discount_paid": 2.0 * t,
        "fiscal_cost_per_job": np.full_like(t, 3.0),
    }
    return xr.Dataset({k: ("time", v, {"units": "x"}) for k, v in data.items()},
                      coords={"time": TIME})


def test_values_and_met_flags_at_2015():
    table = kpi_table(_ds()).set_index("kpi")
    assert table.loc["clusters_over_100yi", "value"] == pytest.approx(60)
    assert bool(table.loc["clusters_over_100yi", "met"]) is True    # >= target
    assert table.loc["nonresource_revenue", "value"] == pytest.approx(22000)
    assert bool(table.loc["nonresource_revenue", "met"]) is True
    assert table.loc["new_jobs", "value"] == pytest.approx(45)
    assert bool(table.loc["demonstration_parks", "met"]) is True     # 20 parks
    assert table.loc["special_fund_spent", "met"] is pd_na()
    assert set(table["year"]) == {2015}


def pd_na():
    import pandas as pd

    return pd.NA


def test_missed_when_below_target():
    table = kpi_table(_ds(scale=0.5)).set_index("kpi")
    assert bool(table.loc["clusters_over_100yi", "met"]) is False
    assert bool(table.loc["new_jobs", "met"]) is False


def test_contribution_rate_is_share_of_increment():
    ds = _ds()
    # non-resource grows 2000/yr, resource 100/yr: 10000 / 10500
    assert float(contribution_rate(ds)) == pytest.approx(100 * 10000 / 10500)


def test_scenario_dim_gives_one_row_per_scenario_and_kpi():
    both = xr.concat([_ds(), _ds(0.5)], dim=xr.DataArray(["a", "b"], dims="scenario",
                                                         name="scenario"))
    table = kpi_table(both)
    assert len(table) == 2 * len(KPIS)
    assert list(dict.fromkeys(table["scenario"])) == ["a", "b"]
    text = format_table(table)
    assert "MISSED" in text and "met" in text and "a" in text.splitlines()[1]


def test_year_outside_results_is_an_input_error():
    with pytest.raises(InputError, match="not in the results"):
        kpi_table(_ds(), year=2020)


def test_every_kpi_has_unit_and_label():
    for kpi in KPIS:
        assert kpi.unit and kpi.label
    assert [k.name for k in KPIS[:5]] == ["clusters_over_100yi", "nonresource_revenue",
                                          "contribution_rate", "new_jobs",
                                          "demonstration_parks"]


def test_t3_over_time_is_the_increment_share_of_each_year_and_undefined_until_2010():
    ds = _ds()
    series = contribution_series(ds)
    t = ds["time"].values
    after = t > 2010
    d_nr = ds["nonresource_revenue"].values - 2000 * 6
    d_ind = ds["industrial_revenue"].values - (2000 * 6 + 1500)
    np.testing.assert_allclose(series.values[after], 100 * d_nr[after] / d_ind[after],
                               rtol=1e-14)
    assert np.isnan(series.values[~after]).all()
    for year in (2011.0, 2013.5, 2015.0):
        assert float(contribution_rate(ds, year)) == float(series.sel(time=year))


def test_the_table_series_and_values_agree_and_need_only_the_required_variables():
    ds = _ds()[required_variables()]
    table = kpi_table(ds).set_index("kpi")["value"]
    values = kpi_values(ds)
    series = kpi_series(ds)
    for kpi in KPIS:
        assert float(values[kpi.name]) == table[kpi.name]
        assert float(series[kpi.name].sel(time=2015.0)) == table[kpi.name]
        assert series[kpi.name].attrs["units"] == kpi.unit
    with pytest.raises(InputError, match="results lack the variable 'industrial_revenue'"):
        kpi_table(ds.drop_vars("industrial_revenue"))
