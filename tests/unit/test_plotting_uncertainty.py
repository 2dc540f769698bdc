"""Fan charts, probability of meeting the targets and sensitivity bars on small made-up data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from transfer_sim.analysis.kpis import KPIS, kpi_series, kpi_values
from transfer_sim.analysis.probabilities import target_probabilities
from transfer_sim.errors import InputError
from transfer_sim.plotting.uncertainty import (
    fan_chart,
    fan_charts,
    probability_chart,
    sensitivity_chart,
)

RUNS = 40
TIME = np.arange(2005, 2015.25, 0.25)
SCENARIOS = ["low", "high"]


def fake_ensemble(seed: int = 0) -> xr.Dataset:
    """Indicators that grow linearly to a per-run 2015 level spread around the target."""
    rng = np.random.default_rng(seed)
    frac = (TIME - TIME[0]) / (TIME[-1] - TIME[0])
    data = {}
    for kpi in KPIS:
        if kpi.variable is None:
            continue
        base = kpi.target if kpi.target is not None else 10.0
        level = base * rng.uniform(0.5, 1.5, size=(len(SCENARIOS), RUNS))
        level[1] *= 1.2  # "high" sits above "low"
        data[kpi.variable] = (("scenario", "run", "time"), level[..., None] * frac)
    nr = data["nonresource_revenue"][1]
    data["industrial_revenue"] = (("scenario", "run", "time"), 1.5 * nr + 100 * frac)
    coords = {"scenario": SCENARIOS, "run": np.arange(RUNS), "time": TIME}
    return xr.Dataset(data, coords=coords)


def test_probability_of_meeting_each_target_is_the_share_of_runs_at_or_above_it():
    ds = fake_ensemble()
    table = target_probabilities(ds)
    targets = [k for k in KPIS if k.target is not None]
    assert len(table) == len(targets) * len(SCENARIOS)
    values = kpi_values(ds)
    for kpi in targets:
        for scen in SCENARIOS:
            row = table[(table["kpi"] == kpi.name) & (table["scenario"] == scen)].iloc[0]
            v = values[kpi.name].sel(scenario=scen).values
            assert row["p_met"] == np.mean(v >= kpi.target)
            assert row["ci_low"] <= row["p_met"] <= row["ci_high"]
            assert row["p05"] <= row["median"] <= row["p95"]
            assert row["runs"] == RUNS
    t2 = table[table["kpi"] == "nonresource_revenue"].set_index("scenario")["p_met"]
    assert t2["high"] > t2["low"]


def test_contribution_rate_is_only_defined_after_the_base_year():
    series = kpi_series(fake_ensemble())["contribution_rate"]
    assert series.sel(time=slice(None, 2010)).isnull().all()
    assert series.sel(time=slice(2010.25, None)).notnull().all()
    # nonresource grows by d, industrial by 1.5 d + 100 frac -> share below 100 %
    assert float(series.max()) < 100


def test_target_probabilities_need_an_ensemble():
    with pytest.raises(InputError, match="no 'run' dimension"):
        target_probabilities(fake_ensemble().isel(run=0))


def test_fan_chart_draws_two_bands_a_median_and_the_target():
    ds = fake_ensemble()
    da = kpi_series(ds)["new_jobs"].sel(scenario="low")
    ax = fan_chart(da, target=45.0, label="low")
    assert isinstance(ax, Axes)
    assert len(ax.collections) == 2  # 5-95 % and 25-75 % bands
    median = ax.lines[0].get_ydata()
    np.testing.assert_allclose(median, da.median("run").values)
    assert any(np.allclose(line.get_ydata(), 45.0) for line in ax.lines[1:])
    with pytest.raises(InputError, match="fan chart needs dims"):
        fan_chart(kpi_series(ds)["new_jobs"])


def test_fan_charts_have_a_row_per_indicator_and_a_column_per_scenario():
    fig = fan_charts(fake_ensemble())
    assert isinstance(fig, Figure)
    targets = [k for k in KPIS if k.target is not None]
    assert len(fig.axes) == len(targets) * len(SCENARIOS)
    assert [a.get_title() for a in fig.axes[:2]] == SCENARIOS
    fig2 = fan_charts(fake_ensemble(), kpis=["special_fund_spent"])
    assert len(fig2.axes) == 2
    with pytest.raises(InputError, match="unknown indicator 'nope'"):
        fan_charts(fake_ensemble(), kpis=["nope"])


def test_probability_chart_has_a_bar_per_target_and_scenario():
    table = target_probabilities(fake_ensemble())
    ax = probability_chart(table)
    heights = sorted(p.get_height() for p in ax.patches)
    assert heights == sorted(table["p_met"].tolist())
    assert ax.get_ylim()[1] > 1


def test_sensitivity_chart_has_a_panel_per_indicator_with_error_bars():
    rows = []
    for kpi in ("a", "b"):
        for i, p in enumerate(["x1", "x2", "x3"]):
            for idx in ("S1", "ST"):
                rows.append({"kpi": kpi, "parameter": p, "index": idx, "value": 0.1 * (i + 1),
                             "conf": 0.02})
    fig = sensitivity_chart(pd.DataFrame(rows))
    assert len(fig.axes) == 2
    assert len(fig.axes[0].patches) == 6  # 3 parameters x (S1, ST)
    with pytest.raises(InputError, match="no S1, ST or mu_star rows"):
        sensitivity_chart(pd.DataFrame(rows).assign(index="sigma"))
