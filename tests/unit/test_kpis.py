"""Indicators on small hand-made Datasets (no model run).

The data are built so that every indicator has a value known by hand: stocks are read at
the end of the year (Time = Y + 1), flows are the amount over the year from their
cumulative stock, and T3 is the share of the increment of real value added.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from transfer_sim.analysis.kpis import (
    BASE_YEAR,
    KPIS,
    format_table,
    kpi_series,
    kpi_table,
    kpi_values,
    required_variables,
)
from transfer_sim.errors import InputError

TIME = np.arange(2005.0, 2016.25, 0.25)


def _ds(scale: float = 1.0) -> xr.Dataset:
    t = TIME - 2005
    # rates that grow linearly: rate(t) = a + b t  ->  cumulative a t + b t^2 / 2
    def cum(a: float, b: float) -> np.ndarray:
        return a * t + b * t ** 2 / 2

    data = {
        "total_clusters_over_100yi": 6.0 * (t - 1) * scale,     # 60 at Time 2016 (scale 1)
        "cumulative_nonresource_revenue": cum(1000 * scale, 2000 * scale),
        "cumulative_nonresource_real_value_added": cum(400, 200 * scale),
        "cumulative_resource_real_value_added": cum(300, 20),
        "jobs_brought_by_transfer": np.where(TIME >= 2011, 9.0 * (TIME - 2011) * scale, 0.0),
        "demonstration_parks": 2.0 * (t - 1),
    }
    for name in ("employment_change_since_2010", "fund_spent", "tax_foregone_to_date",
                 "regional_budget_cost", "local_government_cost", "power_discount_paid",
                 "western_development_cost_to_centre_to_date", "transfer_tax_raised_to_date",
                 "fiscal_cost_per_job", "budget_revenue_to_date", "fiscal_cost"):
        data[name] = 1.0 * t
    return xr.Dataset({k: ("time", v, {"units": "x"}) for k, v in data.items()},
                      coords={"time": TIME})


def test_values_and_met_flags_in_2015():
    table = kpi_table(_ds()).set_index("kpi")
    assert table.loc["clusters_over_100yi", "value"] == pytest.approx(60)   # end of 2015
    assert bool(table.loc["clusters_over_100yi", "met"]) is True    # >= target
    # flow over [2015, 2016): 1000 + 2000 * (10 + 11) / 2 = 22,000 (the rate on 1 January
    # 2015 is 21,000 and on 1 January 2016 23,000)
    assert table.loc["nonresource_revenue", "value"] == pytest.approx(22000)
    assert bool(table.loc["nonresource_revenue", "met"]) is True
    assert table.loc["new_jobs", "value"] == pytest.approx(45)
    assert bool(table.loc["demonstration_parks", "met"]) is True     # 20 parks
    assert table.loc["special_fund_spent", "met"] is pd.NA
    assert set(table["year"]) == {2015}


def test_missed_when_below_target():
    table = kpi_table(_ds(scale=0.5)).set_index("kpi")
    assert bool(table.loc["clusters_over_100yi", "met"]) is False
    assert bool(table.loc["new_jobs", "met"]) is False
    assert bool(table.loc["nonresource_revenue", "met"]) is False


def test_contribution_rate_is_the_share_of_the_value_added_increment():
    # annual flows of year Y: nonresource 400 + 200 (Y - 2005 + 0.5), resource 300 + 20 (...)
    # increments 2010 -> 2015: 1000 and 100
    value = float(kpi_values(_ds())["contribution_rate"])
    assert value == pytest.approx(100 * 1000 / 1100)


def test_t3_is_undefined_up_to_the_base_year_and_grows_with_the_increment():
    series = kpi_series(_ds())["contribution_rate"]
    years = series["time"].values
    assert np.isnan(series.values[years <= BASE_YEAR]).all()
    after = series.sel(time=years[years > BASE_YEAR])
    np.testing.assert_allclose(after.values, 100 * 200 / 220, rtol=1e-12)  # linear flows


def test_scenario_dim_gives_one_row_per_scenario_and_kpi():
    both = xr.concat([_ds(), _ds(0.5)], dim=xr.DataArray(["a", "b"], dims="scenario",
                                                         name="scenario"))
    table = kpi_table(both)
    assert len(table) == 2 * len(KPIS)
    assert list(dict.fromkeys(table["scenario"])) == ["a", "b"]
    text = format_table(table)
    assert "MISSED" in text and "met" in text and "a" in text.splitlines()[1]


def test_a_year_the_results_do_not_complete_is_an_input_error():
    with pytest.raises(InputError, match="year 2016 is not complete in the results"):
        kpi_table(_ds(), year=2016)
    with pytest.raises(InputError, match="needs Time = Y \\+ 1"):
        kpi_table(_ds().sel(time=slice(None, 2015.0)))


def test_every_kpi_has_unit_label_and_a_known_reading():
    for kpi in KPIS:
        assert kpi.unit and kpi.label
        assert kpi.reading in ("stock", "flow", "share_of_increment")
        assert (kpi.other is not None) == (kpi.reading == "share_of_increment")
    assert [k.name for k in KPIS[:5]] == ["clusters_over_100yi", "nonresource_revenue",
                                          "contribution_rate", "new_jobs",
                                          "demonstration_parks"]


def test_the_table_series_and_values_agree_and_need_only_the_required_variables():
    ds = _ds()[required_variables()]
    table = kpi_table(ds).set_index("kpi")["value"]
    values = kpi_values(ds)
    series = kpi_series(ds)
    assert series["time"].values[0] == 2005 and series["time"].values[-1] == 2015
    for kpi in KPIS:
        assert float(values[kpi.name]) == table[kpi.name]
        assert float(series[kpi.name].sel(time=2015.0)) == pytest.approx(table[kpi.name])
        assert series[kpi.name].attrs["units"] == kpi.unit
    with pytest.raises(InputError, match="results lack the variable "
                                         "'cumulative_nonresource_revenue'"):
        kpi_table(ds.drop_vars("cumulative_nonresource_revenue"))


def test_net_fiscal_return_is_extra_revenue_minus_extra_cost_against_no_policy():
    base = _ds()
    t = TIME - 2005
    ledger = {"budget_revenue_to_date": 100.0 * t, "fiscal_cost": 0.0 * t}
    policy = {"budget_revenue_to_date": 130.0 * t, "fiscal_cost": 20.0 * t}
    runs = [base.assign({k: ("time", v) for k, v in d.items()}) for d in (ledger, policy)]
    both = xr.concat(runs, dim=xr.DataArray(["no-policy", "package"], dims="scenario",
                                            name="scenario"))
    table = kpi_table(both).set_index(["kpi", "scenario"])["value"]
    # to the end of 2015 (t = 11): revenue +30 x 11, cost +20 x 11
    assert table[("net_fiscal_return", "package")] == pytest.approx(10 * 11)
    assert table[("net_fiscal_return", "no-policy")] == 0
    alone = xr.concat(runs[1:], dim=xr.DataArray(["package"], dims="scenario",
                                                name="scenario"))
    assert "net_fiscal_return" not in set(kpi_table(alone)["kpi"])  # no counterfactual
