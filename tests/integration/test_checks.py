"""Checks of costs and ensembles, the packages at the levers' ends, the uncertainty cases."""

from __future__ import annotations

import numpy as np
import pytest

from transfer_sim.analysis import checks
from transfer_sim.inputs.levers import LEVERS, off_values, resolve
from transfer_sim.inputs.scenarios import load_scenario
from transfer_sim.inputs.uncertainty import load_uncertainties
from transfer_sim.run.ensemble import run_ensemble
from transfer_sim.run.runner import run_levers


@pytest.fixture(scope="module")
def unc():
    return load_uncertainties("default")


@pytest.fixture(scope="module")
def ds():
    return run_levers({}, final_year=2015)


def test_cost_variables_cover_the_ledger_prices_and_relative_costs(facts):
    names = checks.cost_variables()
    for must in ("relative_capital_cost", "relative_unit_cost", "product_price",
                 "park_power_price", "fund_spent", "tax_foregone_to_date",
                 "interest_subsidies_paid", "power_discount_paid", "regional_budget_cost",
                 "local_government_cost", "special_fund_balance",
                 "western_development_cost_to_centre_to_date"):
        assert must in names
    for name in names:
        var = facts.variables[name]
        assert var.type not in ("Constant", "Lookup")
        assert np.isnan(var.limits[0]) or var.limits[0] >= 0


def test_a_negative_cost_and_a_nan_fail_the_checks(ds):
    assert all(c.passed for c in checks.check_dataset(ds))
    bad = ds.copy(deep=True)
    bad["relative_capital_cost"][5] = -0.25
    bad["fund_spent"][3] = np.nan
    by_name = {c.name: c for c in checks.check_dataset(bad)}
    assert not by_name["costs_nonnegative"].passed
    assert "relative_capital_cost (-0.25)" in by_name["costs_nonnegative"].detail
    assert not by_name["finite"].passed and "fund_spent" in by_name["finite"].detail
    assert [c.passed for c in checks.check_ensemble(bad)] == [False, True, False]


def test_strongest_package_is_every_lever_at_its_policy_side_bound():
    strongest = checks.strongest_levers()
    assert set(strongest) == {lv.name for lv in LEVERS}
    resolve(strongest)  # a valid lever set
    for lever in LEVERS:
        value = strongest[lever.name]
        if lever.kind == "option":
            assert value == "custom"
        elif lever.default == lever.off:
            assert value == lever.default
        else:
            lo, hi = lever.bounds
            assert value == (hi if float(lever.default) > float(lever.off) else lo)
    assert strongest["approval_delay"] == 0.25 and strongest["entry_threshold"] == 10
    assert checks.weakest_levers() == off_values()


@pytest.mark.parametrize(("name", "levers"), [("strongest-package", checks.strongest_levers),
                                              ("weakest-package", checks.weakest_levers)])
def test_the_package_scenario_files_set_every_lever_as_derived(name, levers):
    scenario = load_scenario(name)
    assert {k: float(v) if not isinstance(v, str) else v for k, v in scenario.levers.items()} \
        == {k: float(v) if not isinstance(v, str) else v for k, v in levers().items()}


def test_uncertainty_ends_are_the_supports_ends(unc):
    low, high = checks.uncertainty_ends(unc, "low"), checks.uncertainty_ends(unc, "high")
    assert list(low) == list(high) == unc.names
    for u in unc:
        lo, hi = u.support
        assert lo <= low[u.name] < high[u.name] <= hi
        if u.distribution != "lognormal":
            assert (low[u.name], high[u.name]) == (lo, hi)
        else:
            assert (low[u.name], high[u.name]) == (float(u.ppf(0.0)), float(u.ppf(1.0)))
    with pytest.raises(ValueError, match="low"):
        checks.uncertainty_ends(unc, "middle")


def test_matrix_adds_both_packages_at_both_uncertainty_ends(unc):
    plain = checks.matrix()
    cases = checks.matrix(uncertainties=unc)
    assert cases[:len(plain)] == plain
    extra = cases[len(plain):]
    assert [c.name for c in extra] == [
        "strongest package, uncertainties low", "strongest package, uncertainties high",
        "weakest package, uncertainties low", "weakest package, uncertainties high"]
    assert [c.levers for c in extra] == [checks.strongest_levers()] * 2 + [off_values()] * 2
    assert [c.inputs for c in extra] == [checks.uncertainty_ends(unc, e)
                                         for e in ("low", "high")] * 2


def test_a_case_with_inputs_runs_them(unc):
    low = checks.uncertainty_ends(unc, "low")
    case = checks.Case("x", {}, {"loan_interest_rate": low["loan_interest_rate"]})
    (result,) = checks.run_matrix([case], engine="simlin", final_year=2015)
    assert result.passed, [c.detail for c in result.checks if not c.passed]
    plain = run_levers({}, final_year=2015)
    ran = checks.case_dataset(case, engine="simlin", final_year=2015)
    assert not np.allclose(ran["relative_capital_cost"], plain["relative_capital_cost"])


@pytest.mark.slow
def test_check_ensemble_on_a_small_ensemble_of_both_packages(tmp_path, unc):
    out = tmp_path / "ens.nc"
    scenarios = [load_scenario("strongest-package"), load_scenario("weakest-package")]
    run_ensemble(scenarios, unc, runs=20, output=out, seed=11, workers=1,
                 all_variables=True)
    results = checks.check_ensemble(out)
    assert [c.name for c in results] == ["finite", "stocks_nonnegative", "costs_nonnegative"]
    assert all(c.passed for c in results), [c.detail for c in results if not c.passed]
    assert f"({len(checks.cost_variables())} variables)" in results[2].detail


def test_balances_of_subnormal_amounts_pass_and_real_gaps_fail(ds):
    tiny = ds.copy(deep=True)
    for name in ("fund_appropriated", "special_fund_balance", "fund_spent"):
        tiny[name] = ds[name] * 1e-321  # rounding of subnormals: relative errors ~1e-2
    by_name = {c.name: c for c in checks.check_dataset(tiny)}
    assert by_name["balance_special_fund"].passed, by_name["balance_special_fund"].detail
    gap = ds.copy(deep=True)
    gap["fund_spent"] = ds["fund_spent"] * (1 + 1e-6)
    assert not {c.name: c for c in checks.check_dataset(gap)}["balance_special_fund"].passed
