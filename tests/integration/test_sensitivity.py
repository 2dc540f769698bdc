"""Sobol' and Morris indices: analytic functions with known indices, then the model."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from transfer_sim.analysis.sensitivity import (
    MORRIS_TAIL,
    TARGET_KPIS,
    morris_indices,
    morris_sample,
    morris_unit_to_quantile,
    run_sensitivity,
    sobol_indices,
    sobol_sample,
)
from transfer_sim.cli import main
from transfer_sim.errors import InputError
from transfer_sim.inputs.scenarios import load_scenario
from transfer_sim.inputs.uncertainty import Uncertainty, UncertaintySet

# --- Ishigami: f = sin x1 + a sin^2 x2 + b x3^4 sin x1, x_i ~ U(-pi, pi) -------------

A, B = 7.0, 0.1


def ishigami_exact() -> dict[str, np.ndarray]:
    """Exact first- and total-order indices (Ishigami & Homma 1990; Sobol' & Levitan 1999)."""
    v1 = 0.5 * (1 + B * np.pi**4 / 5) ** 2
    v2 = A**2 / 8
    v13 = B**2 * np.pi**8 * (1 / 18 - 1 / 50)
    var = v1 + v2 + v13
    return {"S1": np.array([v1, v2, 0.0]) / var,
            "ST": np.array([v1 + v13, v2, v13]) / var}


def ishigami_set() -> UncertaintySet:
    return UncertaintySet(tuple(
        Uncertainty(f"x{i}", "uniform", {"min": -np.pi, "max": np.pi},
                    source="Ishigami test function") for i in (1, 2, 3)))


def test_sobol_indices_of_the_ishigami_function_match_the_exact_values_within_their_ci():
    unc = ishigami_set()
    unit = sobol_sample(unc.names, 4096, seed=11)
    assert unit.shape == (4096 * 5, 3)
    x = unc.values(unit)
    y = np.sin(x[:, 0]) + A * np.sin(x[:, 1]) ** 2 + B * x[:, 2] ** 4 * np.sin(x[:, 0])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = sobol_indices({"ishigami": y}, unc.names, seed=5)
    exact = ishigami_exact()
    for idx in ("S1", "ST"):
        sub = table[table["index"] == idx].set_index("parameter").loc[unc.names]
        err = np.abs(sub["value"].to_numpy() - exact[idx])
        assert np.all(err <= sub["conf"].to_numpy()), (idx, err, sub["conf"].to_numpy())
        assert np.all(sub["conf"].to_numpy() < 0.05)  # the intervals are informative
    assert set(table["conf_level"]) == {0.95} and set(table["runs"]) == {4096 * 5}


def test_sobol_sample_needs_a_power_of_two():
    with pytest.raises(InputError, match="power of two"):
        sobol_sample(["a", "b"], 100)


def test_a_constant_or_undefined_output_gets_nan_indices_without_warnings():
    unit = sobol_sample(["a", "b"], 64, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = sobol_indices({"flat": np.ones(len(unit)),
                               "nan": np.where(unit[:, 0] > 0.5, np.nan, 1.0)}, ["a", "b"])
    assert table["value"].isna().all() and table["conf"].isna().all()


def test_morris_mu_star_of_a_linear_function_is_its_slope_over_the_quantile_range():
    lo = np.array([0.0, 10.0, -1.0])
    hi = np.array([2.0, 30.0, 1.0])
    slope = np.array([3.0, 0.5, 0.0])
    unc = UncertaintySet(tuple(
        Uncertainty(f"p{i}", "uniform", {"min": float(lo[i]), "max": float(hi[i])},
                    source="linear test") for i in range(3)))
    unit = morris_sample(unc.names, 10, levels=4, seed=2)
    x = unc.values(morris_unit_to_quantile(unit))
    y = x @ slope
    table = morris_indices(unit, {"lin": y}, unc.names, levels=4, seed=3)
    mu_star = table[table["index"] == "mu_star"].set_index("parameter")["value"]
    sigma = table[table["index"] == "sigma"].set_index("parameter")["value"]
    expected = slope * (hi - lo) * (1 - 2 * MORRIS_TAIL)
    np.testing.assert_allclose(mu_star.loc[unc.names].to_numpy(), expected, rtol=1e-9,
                               atol=1e-12)
    np.testing.assert_allclose(sigma.to_numpy(), 0, atol=1e-9)


@pytest.mark.parametrize(("kwargs", "fragment"), [
    ({"trajectories": 1}, "at least 2 trajectories"),
    ({"levels": 3}, "levels must be an even number"),
])
def test_bad_morris_settings_are_input_errors(kwargs, fragment):
    args = {"names": ["a", "b"], "trajectories": 4, "levels": 4} | kwargs
    with pytest.raises(InputError, match=fragment):
        morris_sample(args.pop("names"), args.pop("trajectories"), **args)


# --- the model -----------------------------------------------------------------------

TWO = """
[uncertainties.competitor_attractiveness]
distribution = "lognormal"
median = 6
sigma = 0.3
source = "test: the bundled range"

[uncertainties.loan_interest_rate]
distribution = "uniform"
min = 0.0435
max = 0.069
source = "test: the bundled range"
"""


def test_model_sobol_through_the_command_writes_indices_and_a_figure(tmp_path, capsys):
    unc_file = tmp_path / "two.toml"
    unc_file.write_text(TWO, encoding="utf-8")
    out, fig = tmp_path / "idx.csv", tmp_path / "idx.png"
    code = main(["sensitivity", "policy-as-written", "--uncertainty", str(unc_file),
                 "--runs", "16", "--workers", "1", "--quiet", "-o", str(out),
                 "--figure", str(fig)])
    printed = capsys.readouterr().out
    assert code == 0
    table = pd.read_csv(out)
    assert set(table["kpi"]) == set(TARGET_KPIS)
    assert set(table["index"]) == {"S1", "ST"} and set(table["runs"]) == {16 * 4}
    assert fig.stat().st_size > 10_000 and (tmp_path / "idx.runs.nc").exists()
    # Revenue moves with the competitors' pull, far more than with the lending rate
    # (which only scales the capital-cost term of the relative unit cost).
    st = table[(table["kpi"] == "nonresource_revenue") & (table["index"] == "ST")]
    st = st.set_index("parameter")["value"]
    assert st["competitor_attractiveness"] > 0.5 > st["loan_interest_rate"]
    assert "nonresource_revenue: competitor_attractiveness" in printed


def test_model_morris_screening_runs_on_the_default_set(tmp_path):
    from transfer_sim.inputs.uncertainty import load_uncertainties

    unc = load_uncertainties("default")
    table = run_sensitivity(load_scenario("policy-as-written"), unc, method="morris", runs=2,
                            runs_file=tmp_path / "m.nc", kpis=["new_jobs"], workers=2)
    mu = table[table["index"] == "mu_star"].set_index("parameter")
    assert list(mu.index) == unc.names and len(table) == 3 * len(unc)
    assert np.all(np.isfinite(mu["value"])) and np.all(mu["value"] >= 0)
    assert mu["value"].max() > 0
