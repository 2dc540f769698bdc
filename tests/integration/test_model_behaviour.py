"""Model behaviour on the fast engine: convergence, extreme conditions, policy effect.

These run Simlin (milliseconds a run); the PySD runs are kept to the engine-equality
and reference tests.
"""

from __future__ import annotations

import numpy as np
import pytest

from transfer_sim.analysis.kpis import kpi_table
from transfer_sim.engines import RunSpec, get_engine
from transfer_sim.inputs import levers
from transfer_sim.inputs.scenarios import list_scenarios, load_scenario
from transfer_sim.model.core import SECTORS
from transfer_sim.run.runner import run_levers, run_scenario

ENGINE = "simlin"


def _kpis(ds):
    return kpi_table(ds).set_index("kpi")["value"]


@pytest.mark.parametrize("path", list_scenarios(), ids=lambda p: p.stem)
def test_time_step_converges(path):
    """Halving TIME STEP moves no indicator by more than 0.5 % (every bundled scenario)."""
    scenario = load_scenario(path)
    dt = scenario.time_step or get_engine(ENGINE).default_time_step
    coarse = _kpis(run_scenario(scenario, engine=ENGINE, time_step=dt))
    fine = _kpis(run_scenario(scenario, engine=ENGINE, time_step=dt / 2))
    moved = (coarse - fine).abs() / fine.abs().where(fine.abs() > 0, 1.0)
    assert moved.max() <= 0.005, f"{moved.idxmax()} moved {100 * moved.max():.2f} %"


def test_no_special_fund_park_infrastructure_only_depreciates():
    ds = run_levers({"special_fund": 0}, engine=ENGINE, final_year=2020)
    infra = ds["park_infrastructure"].values
    assert np.all(np.diff(infra) < 0)
    assert float(ds["park_infrastructure_investment"].max()) == 0.0
    assert float(ds["fund_spent"].max()) == 0.0


def test_policy_that_never_starts_costs_nothing():
    ds = run_levers({"policy_start_year": 2100}, engine=ENGINE, final_year=2020)
    for name in ("tax_foregone_to_date", "power_discount_paid", "fund_spent",
                 "demonstration_parks"):
        assert float(np.abs(ds[name]).max()) == 0.0, name
    # and it is the same as the counterfactual's revenue path
    off = run_levers(levers.off_values(), engine=ENGINE, final_year=2020)
    np.testing.assert_allclose(ds["nonresource_revenue"], off["nonresource_revenue"],
                               rtol=1e-12)


def test_prohibitive_power_price_stops_power_intensive_attraction():
    engine = get_engine(ENGINE)
    names = ["relocation_to_region", "region_share_of_relocation"]
    base = engine.run(RunSpec(inputs={}, variables=names))
    dear = engine.run(RunSpec(inputs={"catalogue_power_price": 30.0}, variables=names))
    share_base = base.data["region_share_of_relocation"]
    share_dear = dear.data["region_share_of_relocation"]
    sectors = list(SECTORS)
    for s in ("chemicals", "metallurgy", "building_materials", "emerging"):
        i = sectors.index(s)
        assert share_dear[:, i].max() < 0.01 * share_base[:, i].max(), s
    # and the power-intensive sectors lose more than the labour-intensive ones
    kept = share_dear.max(axis=0) / share_base.max(axis=0)
    assert kept[sectors.index("metallurgy")] < kept[sectors.index("textiles")]
    assert kept[sectors.index("chemicals")] < kept[sectors.index("equipment")]


def test_policy_as_written_beats_no_policy_on_revenue_and_jobs():
    policy = _kpis(run_levers({}, engine=ENGINE))
    none = _kpis(run_levers(levers.off_values(), engine=ENGINE))
    assert policy["nonresource_revenue"] > none["nonresource_revenue"]
    assert policy["new_jobs"] > none["new_jobs"]


def test_identical_before_the_policy_starts():
    policy = run_levers({}, engine=ENGINE)
    none = run_levers(levers.off_values(), engine=ENGINE)
    before = policy["time"] < 2011
    np.testing.assert_allclose(policy["nonresource_revenue"].where(before, drop=True),
                               none["nonresource_revenue"].where(before, drop=True), rtol=1e-12)


def test_each_run_gives_what_it_gives_alone():
    a_alone = run_levers({"special_fund": 120}, engine=ENGINE)
    run_levers({"power_discount": 0.15, "approval_delay": 3}, engine=ENGINE)
    a_after = run_levers({"special_fund": 120}, engine=ENGINE)
    default_after = run_levers({}, engine=ENGINE)
    default_alone = run_levers(engine=ENGINE)
    for name in ("nonresource_revenue", "new_jobs"):
        np.testing.assert_array_equal(a_alone[name], a_after[name])
        np.testing.assert_array_equal(default_after[name], default_alone[name])


def test_runs_to_2020():
    ds = run_levers({}, engine=ENGINE, final_year=2020)
    assert float(ds["time"].max()) == 2020.0
    assert bool(np.isfinite(ds["nonresource_revenue"]).all())


@pytest.mark.parametrize("name", ["power_discount", "special_fund", "approval_delay"])
def test_schedules_reach_the_model(name):
    lever = levers.get_lever(name)
    lo, hi = lever.bounds
    ds = run_levers({name: {2011: lo, 2013: hi}}, engine=ENGINE)
    series = ds[{"power_discount": "power_discount",
                 "special_fund": "special_fund_appropriation",
                 "approval_delay": "approval_delay"}[name]]
    assert float(series.sel(time=2012.0)) == pytest.approx(lo)
    assert float(series.sel(time=2014.0)) == pytest.approx(hi)
