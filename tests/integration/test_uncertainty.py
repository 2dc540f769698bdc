"""Uncertainty files, distributions and samplers (no model run).

Validating an uncertainty file reads the model's catalogue (the model facts), so
these tests need the translated model.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import stats

from transfer_sim.analysis.kpis import required_variables
from transfer_sim.analysis.probabilities import wilson_interval
from transfer_sim.cli import main
from transfer_sim.errors import InputError
from transfer_sim.inputs.levers import LEVERS
from transfer_sim.inputs.uncertainty import (
    DISTRIBUTIONS,
    Uncertainty,
    default_uncertainty_path,
    load_uncertainties,
)
from transfer_sim.model.core import catalogue
from transfer_sim.run.ensemble import SAMPLERS, sample_unit

# --- the bundled file ---------------------------------------------------------------


@pytest.fixture(scope="module")
def default_set():
    return load_uncertainties("default")


def test_default_file_is_bundled_and_loads(default_set):
    assert default_set.path == default_uncertainty_path()
    assert len(default_set) >= 10
    assert default_set.sha256 and default_set.text


def test_every_default_range_has_a_source_and_covers_the_models_own_value(default_set, facts):
    for unc in default_set:
        assert len(unc.source.split()) >= 8, f"{unc.name}: source too thin"
        value = float(facts.value(unc.name))
        lo, hi = unc.support
        assert lo <= value <= hi, f"{unc.name}: model value {value} outside [{lo}, {hi}]"


def test_default_uncertainties_are_scalar_constants_labelled_assumption_or_calibrated(
        default_set):
    cat = catalogue()
    lever_vars = {lv.variable for lv in LEVERS if lv.variable}
    for unc in default_set:
        row = cat.loc[unc.name]
        assert row["Type"] == "Constant" and tuple(row["Subscripts"]) == ()
        assert unc.name not in lever_vars
        comment = str(row["Comment"]).lower()
        assert "assumption" in comment or "calibrated" in comment, unc.name


# --- validation: one line naming the file and the key --------------------------------

GOOD = 'distribution = "uniform"\nmin = 2\nmax = 6\nsource = "a reason for the range"\n'


def _file(tmp_path, body: str, name: str = "u.toml"):
    path = tmp_path / name
    path.write_text(body, encoding="utf-8")
    return path


@pytest.mark.parametrize(("body", "key", "fragment"), [
    ("[uncertainties.cost_elastcity]\n" + GOOD, "cost_elastcity", "did you mean 'cost_elasticity'"),
    ("[uncertainties.power_discount_schedule]\n" + GOOD, "power_discount_schedule",
     "policy lever (power_discount)"),
    ("[uncertainties.special_fund]\n" + GOOD, "special_fund", "policy lever"),
    ("[uncertainties.tax_exempt_years]\n" + GOOD, "tax_exempt_years", "policy lever"),
    ("[uncertainties.reinvestment_rate]\n" + GOOD, "reinvestment_rate", "subscripted by Sector"),
    ("[uncertainties.revenue]\n" + GOOD, "revenue", "not a constant"),
    ("[uncertainties.time_step]\n" + GOOD, "time_step", "simulation control"),
    ('[uncertainties.cost_elasticity]\ndistribution = "beta"\nsource = "x"\n',
     "cost_elasticity", 'allowed: "uniform", "triangular", "truncnormal", "lognormal"'),
    ('[uncertainties.cost_elasticity]\nmin = 1\nmax = 2\nsource = "x"\n', "cost_elasticity",
     "needs distribution"),
    ('[uncertainties.cost_elasticity]\ndistribution = "triangular"\nmin = 1\nmax = 5\n'
     'source = "x"\n', "cost_elasticity", "missing mode"),
    ('[uncertainties.cost_elasticity]\ndistribution = "uniform"\nmin = 1\nmax = 5\nmode = 2\n'
     'source = "x"\n', "cost_elasticity", "unexpected mode"),
    ('[uncertainties.cost_elasticity]\ndistribution = "uniform"\nmin = 5\nmax = 5\n'
     'source = "x"\n', "cost_elasticity", "min (5) must be below max (5)"),
    ('[uncertainties.cost_elasticity]\ndistribution = "triangular"\nmin = 1\nmode = 7\n'
     'max = 5\nsource = "x"\n', "cost_elasticity", "mode (7) must lie between"),
    ('[uncertainties.cost_elasticity]\ndistribution = "truncnormal"\nmean = 4\nsd = 0\n'
     'min = 1\nmax = 5\nsource = "x"\n', "cost_elasticity", "sd must be positive"),
    ('[uncertainties.cost_elasticity]\ndistribution = "truncnormal"\nmean = 9\nsd = 1\n'
     'min = 1\nmax = 5\nsource = "x"\n', "cost_elasticity", "mean (9) must lie between"),
    ('[uncertainties.cost_elasticity]\ndistribution = "lognormal"\nmedian = 4\nsigma = -1\n'
     'source = "x"\n', "cost_elasticity", "sigma must be positive"),
    ('[uncertainties.cost_elasticity]\ndistribution = "lognormal"\nmedian = 0\nsigma = 1\n'
     'source = "x"\n', "cost_elasticity", "median must be positive"),
    ('[uncertainties.cost_elasticity]\ndistribution = "uniform"\nmin = "low"\nmax = 5\n'
     'source = "x"\n', "cost_elasticity.min", "must be a finite number"),
    ('[uncertainties.cost_elasticity]\ndistribution = "uniform"\nmin = 1\nmax = 5\n',
     "cost_elasticity", "needs a non-empty 'source'"),
    ('[uncertainties.cost_elasticity]\ndistribution = "uniform"\nmin = 1\nmax = 5\n'
     'source = "   "\n', "cost_elasticity", "needs a non-empty 'source'"),
    ('[uncertainties.asset_life]\ndistribution = "uniform"\nmin = 10\nmax = 20\nunit = "Dmnl"\n'
     'source = "x"\n', "asset_life.unit", "differs from the model's 'Year'"),
    ('levers = 1\n[uncertainties.cost_elasticity]\n' + GOOD, "levers", "unknown key"),
    ('description = "nothing"\n', "uncertainties", "needs an [uncertainties."),
])
def test_bad_files_name_the_file_and_the_key(tmp_path, body, key, fragment):
    path = _file(tmp_path, body)
    with pytest.raises(InputError) as err:
        load_uncertainties(path)
    message = str(err.value)
    assert "\n" not in message
    assert message.startswith(f"{path}: key '{key}': "), message
    assert fragment in message, message
    if f"[uncertainties.{key}" not in body and f"{key} =" not in body \
            and f"[uncertainties.{key.split('.')[0]}]" not in body:
        assert ": line " not in message  # a missing key has no line
        return
    # the line named is the one that holds the key (or its table)
    line = int(message.split(": line ")[1].split(":")[0])
    leaf = key.split(".")[-1]
    held = body.splitlines()[line - 1]
    assert held.startswith((f"{leaf} =", "[uncertainties.", f"{leaf}=")) or leaf in held, held


def test_malformed_toml_and_missing_file_name_the_file(tmp_path):
    path = _file(tmp_path, "[uncertainties.cost_elasticity\n")
    with pytest.raises(InputError, match=r"u\.toml: key 'uncertainties\.cost_elasticity': "
                                         r"malformed TOML at line 1"):
        load_uncertainties(path)
    with pytest.raises(InputError, match="cannot read the uncertainty file"):
        load_uncertainties(tmp_path / "missing.toml")


def test_a_lever_in_an_uncertainty_file_is_one_line_exit_2_on_the_command_line(tmp_path, capsys):
    path = _file(tmp_path, "[uncertainties.land_price_discount_schedule]\n" + GOOD)
    code = main(["ensemble", "no-policy", "--uncertainty", str(path), "--runs", "2",
                 "-o", str(tmp_path / "e.nc")])
    err = capsys.readouterr().err
    assert code == 2
    assert err.count("\n") == 1 and "policy lever (land_discount)" in err and str(path) in err
    assert not (tmp_path / "e.nc").exists() and not (tmp_path / "e.nc.work").exists()


# --- distributions -------------------------------------------------------------------

CASES = {
    "uniform": ({"min": 2.0, "max": 6.0}, stats.uniform(loc=2, scale=4)),
    "triangular": ({"min": 1.0, "mode": 2.0, "max": 5.0}, stats.triang(0.25, loc=1, scale=4)),
    "truncnormal": ({"mean": 4.0, "sd": 1.0, "min": 3.0, "max": 7.0},
                    stats.truncnorm(-1, 3, loc=4, scale=1)),
    "lognormal": ({"median": 6.0, "sigma": 0.3}, stats.lognorm(0.3, scale=6)),
}


def test_every_distribution_has_a_case():
    assert set(CASES) == set(DISTRIBUTIONS)


@pytest.mark.parametrize("dist", sorted(CASES))
def test_ppf_maps_quantiles_through_the_distribution(dist):
    params, ref = CASES[dist]
    unc = Uncertainty("x", dist, params, source="test")
    q = np.array([0.01, 0.05, 0.25, 0.5, 0.75, 0.95, 0.99])
    np.testing.assert_allclose(unc.ppf(q), ref.ppf(q), rtol=1e-12)
    lo, hi = unc.support
    values = unc.ppf(np.array([0.0, 1.0]))
    assert np.all(np.isfinite(values)) and lo <= values[0] <= values[1] <= hi


@pytest.mark.parametrize("dist", sorted(CASES))
def test_a_latin_hypercube_sample_has_the_distributions_mean_and_spread(dist):
    params, ref = CASES[dist]
    unc = Uncertainty("x", dist, params, source="test")
    x = unc.ppf(sample_unit(4000, 1, "lhs", seed=3)[:, 0])
    assert abs(x.mean() - ref.mean()) < 0.01 * ref.std() + 1e-9
    assert abs(x.std() - ref.std()) < 0.02 * ref.std()


# --- samplers ------------------------------------------------------------------------

@pytest.mark.parametrize("sampler", SAMPLERS)
def test_the_same_seed_gives_the_same_sample_and_another_seed_another(sampler):
    a = sample_unit(50, 4, sampler, seed=11)
    assert a.shape == (50, 4) and np.all((a >= 0) & (a < 1))
    np.testing.assert_array_equal(a, sample_unit(50, 4, sampler, seed=11))
    assert not np.array_equal(a, sample_unit(50, 4, sampler, seed=12))


def test_latin_hypercube_puts_one_point_in_each_stratum():
    n = 37
    u = sample_unit(n, 3, "lhs", seed=5)
    for j in range(3):
        assert sorted(np.floor(u[:, j] * n).astype(int)) == list(range(n))


def test_sobol_with_a_run_count_that_is_not_a_power_of_two_does_not_warn():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        u = sample_unit(100, 3, "sobol", seed=1)
    assert u.shape == (100, 3)
    np.testing.assert_array_equal(u, sample_unit(128, 3, "sobol", seed=1)[:100])


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"sampler": "halton"}, "unknown sampler 'halton'"),
    ({"n": 0}, "runs must be a positive whole number"),
])
def test_bad_sampler_settings_are_input_errors(kwargs, fragment):
    args = {"n": 5, "d": 2, "sampler": "lhs", "seed": 0} | kwargs
    with pytest.raises(InputError, match=fragment):
        sample_unit(**args)


def test_kpi_variables_are_model_outputs_and_cover_every_indicator():
    from transfer_sim.analysis.kpis import KPIS
    from transfer_sim.engines.base import output_variables

    names = required_variables()
    assert set(names) <= set(output_variables(catalogue()))
    assert {k.variable for k in KPIS if k.variable} <= set(names)
    assert {"industrial_revenue", "nonresource_revenue"} <= set(names)


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (412, 1000)])
def test_wilson_interval_matches_scipy(k, n):
    ref = stats.binomtest(k, n).proportion_ci(confidence_level=0.95, method="wilson")
    lo, hi = wilson_interval(k, n)
    assert math.isclose(lo, ref.low, abs_tol=1e-6) and math.isclose(hi, ref.high, abs_tol=1e-6)
