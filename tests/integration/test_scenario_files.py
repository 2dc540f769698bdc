"""Every bundled scenario file validates, runs on the Simlin engine and passes the checks."""

from __future__ import annotations

import pytest

from transfer_sim.analysis.checks import check_dataset
from transfer_sim.inputs.levers import get_lever
from transfer_sim.inputs.run_settings import final_time
from transfer_sim.inputs.scenarios import list_scenarios, load_scenario
from transfer_sim.model.core import default_scenarios_dir
from transfer_sim.run.runner import run_scenario

FILES = list_scenarios(default_scenarios_dir())
LEVER_FILES = [p for p in FILES if p.stem.startswith("lever-")]


def _value_at(ds, name: str, year: float) -> float:
    return float(ds[name].sel(time=year, method="nearest"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_scenario_file_validates_runs_and_passes_the_checks(path):
    scenario = load_scenario(path)
    ds = run_scenario(scenario, engine="simlin")
    assert float(ds["time"][-1]) == final_time(scenario.final_year)  # the end of that year
    assert ds.attrs["scenario"] == scenario.name
    failed = [f"{c.name}: {c.detail}" for c in check_dataset(ds) if not c.passed]
    assert not failed


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_scenario_file_is_named_after_itself_and_described(path):
    scenario = load_scenario(path)
    assert scenario.name == path.stem
    assert len(scenario.description.split()) >= 10, "describe what the scenario represents"


def test_the_required_scenarios_are_bundled():
    names = {p.stem for p in FILES}
    assert {"no-policy", "policy-as-written", "stronger-package", "weaker-package",
            "late-start", "fund-stops-2013"} <= names
    required_levers = {"approval", "tax-relief", "special-fund", "interest-subsidy", "land",
                       "power-discount", "coal-allocation", "promotion-campaigns",
                       "entry-threshold", "park-upgrades"}
    assert {f"lever-{n}" for n in required_levers} <= names
    assert any(isinstance(v, dict) for p in FILES for v in load_scenario(p).own_levers.values())


@pytest.mark.parametrize("path", LEVER_FILES, ids=lambda p: p.stem)
def test_lever_file_sets_one_measure_on_top_of_no_policy(path):
    scenario = load_scenario(path)
    base = load_scenario("no-policy")
    assert scenario.extends == "no-policy"
    own = dict(scenario.own_levers)
    assert own, "a lever file sets its lever"
    assert len({get_lever(name).section for name in own}) == 1, "one document measure"
    for name, value in own.items():
        lever = get_lever(name)
        assert value == lever.default, f"{name}: the document's package value"
        assert scenario.levers[name] != base.levers[name], f"{name} differs from no-policy"
    changed = {k for k in scenario.levers if scenario.levers[k] != base.levers.get(k)}
    governed = {"tax_exempt_years", "tax_half_years"}
    assert changed - set(own) - governed == set()


def _strength(name: str, value) -> float:
    """How far a lever value is from the policy being off (tax relief: years of relief)."""
    lever = get_lever(name)
    if lever.kind == "option":
        return sum(lever.options[value].values())
    return abs(float(value) - float(lever.off))


@pytest.mark.parametrize(("stem", "stronger"), [("stronger-package", True),
                                                ("weaker-package", False)])
def test_packages_move_every_lever_one_way(stem, stronger):
    scenario = load_scenario(stem)
    assert scenario.extends == "policy-as-written"
    base = load_scenario("policy-as-written")
    moved = 0
    for name, value in scenario.own_levers.items():
        delta = _strength(name, value) - _strength(name, base.levers[name])
        assert (delta >= 0) if stronger else (delta <= 0), name
        moved += delta != 0
    assert moved >= 8


def test_late_start_only_moves_the_start_year():
    scenario = load_scenario("late-start")
    assert scenario.extends == "policy-as-written"
    assert dict(scenario.own_levers) == {"policy_start_year": 2013}
    ds = run_scenario(scenario, engine="simlin", variables=["policy_on"])
    assert _value_at(ds, "policy_on", 2012.5) == 0.0
    assert _value_at(ds, "policy_on", 2013.5) == 1.0


def test_fund_schedule_reaches_the_model():
    scenario = load_scenario("fund-stops-2013")
    assert scenario.levers["special_fund"] == {2011: 30.0, 2014: 0.0}
    ds = run_scenario(scenario, engine="simlin", variables=["special_fund_appropriation"])
    assert _value_at(ds, "special_fund_appropriation", 2010.5) == 0.0
    assert _value_at(ds, "special_fund_appropriation", 2013.5) == 30.0
    assert _value_at(ds, "special_fund_appropriation", 2014.5) == 0.0


def test_power_discount_schedule_reaches_the_model_to_2020():
    scenario = load_scenario("power-discount-deep")
    assert scenario.final_year == 2020
    ds = run_scenario(scenario, engine="simlin", variables=["power_discount"])
    assert _value_at(ds, "power_discount", 2011.5) == 0.04
    assert _value_at(ds, "power_discount", 2012.5) == 0.08
    assert _value_at(ds, "power_discount", 2019.5) == 0.08
