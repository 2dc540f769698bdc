"""Properties of scenarios drawn from the lever registry's bounds (Simlin engine)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategies import BY_KIND, lever_set, lever_value, scenarios
from transfer_sim.analysis.checks import check_dataset, stock_names
from transfer_sim.inputs.levers import LEVERS, resolve, validate_value
from transfer_sim.inputs.run_settings import final_time
from transfer_sim.inputs.scenarios import dump_scenario, load_scenario
from transfer_sim.run.runner import FINAL_YEAR_RANGE, run_scenario

FAST = settings(max_examples=25, deadline=None,
                suppress_health_check=[HealthCheck.too_slow])


def test_every_lever_kind_has_a_strategy():
    kinds = {lever.kind for lever in LEVERS}
    assert kinds <= set(BY_KIND), f"no strategy for lever kinds {kinds - set(BY_KIND)}"


@pytest.mark.parametrize("lever", LEVERS, ids=lambda lv: lv.name)
@FAST
@given(data=st.data())
def test_every_lever_strategy_draws_valid_values(lever, data):
    final_year = data.draw(st.integers(*FINAL_YEAR_RANGE))
    value = data.draw(lever_value(lever, final_year))
    assert validate_value(lever.name, value, final_year=final_year) is not None


@FAST
@given(data=st.data())
def test_any_lever_set_resolves_to_model_inputs(data):
    final_year = data.draw(st.integers(*FINAL_YEAR_RANGE))
    levers = data.draw(lever_set(final_year))
    inputs = resolve(levers, final_year=final_year)
    for lever in LEVERS:
        if lever.name in levers and lever.variable is not None:
            value = np.asarray(inputs[lever.variable])
            lo, hi = lever.bounds
            assert np.all((value >= lo) & (value <= hi)), lever.name


@FAST
@given(scenario=scenarios())
def test_any_scenario_runs_with_finite_nonnegative_stocks(scenario):
    ds = run_scenario(scenario, engine="simlin")
    assert float(ds["time"][-1]) == final_time(scenario.final_year)
    results = {c.name: c for c in check_dataset(ds)}
    assert stock_names(ds), "no stocks in the output"
    assert results["finite"].passed, results["finite"].detail
    assert results["stocks_nonnegative"].passed, results["stocks_nonnegative"].detail


@FAST
@given(scenario=scenarios(time_steps=True, text=True))
def test_load_dump_load_round_trips(scenario):
    with tempfile.TemporaryDirectory() as tmp:
        first = Path(tmp) / "first.toml"
        first.write_text(dump_scenario(scenario), encoding="utf-8")
        loaded = load_scenario(first)
        second = Path(tmp) / "second.toml"
        second.write_text(dump_scenario(loaded), encoding="utf-8")
        again = load_scenario(second)
    for s in (loaded, again):
        assert dict(s.levers) == dict(scenario.levers)
        assert (s.name, s.description) == (scenario.name, scenario.description)
        assert (s.final_year, s.time_step) == (scenario.final_year, scenario.time_step)
    assert dump_scenario(again) == dump_scenario(loaded)
