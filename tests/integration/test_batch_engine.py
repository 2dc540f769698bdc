"""The batch engine equals Simlin: every bundled scenario and 200 random lever-and-uncertainty sets.

Tolerance: 1e-9 relative to each variable's largest magnitude over the batch, as in
``test_engine_equality`` (measured: ~1e-13). The NumPy path of the same array program
is held equal too, and the derivatives are checked against central differences.
Every test here runs on the scenarios' own time grid (one compilation of each chunk size
and of the derivatives; JAX's persistent cache keeps them for the rest of the run).
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from transfer_sim.engines import RunSpec, get_engine
from transfer_sim.engines.batch.compiled import SMALL_CHUNK
from transfer_sim.engines.batch.ir import load_ir
from transfer_sim.engines.batch.program import ArrayProgram, Grid
from transfer_sim.engines.batch.simulate import python_scan, simulate
from transfer_sim.errors import InputError
from transfer_sim.inputs.levers import random_levers
from transfer_sim.inputs.scenarios import Scenario, list_scenarios, load_scenario
from transfer_sim.inputs.uncertainty import load_uncertainties
from transfer_sim.model.core import model_file
from transfer_sim.run.plan import plan, with_inputs

RTOL = 1e-9
#: Random lever-and-uncertainty sets compared with Simlin (issue 13: at least 200).
RANDOM_SETS = 200


@pytest.fixture(scope="module")
def batch():
    return get_engine("batch")


@pytest.fixture(scope="module")
def simlin():
    return get_engine("simlin")


def _worst(values: np.ndarray, expected: np.ndarray) -> float:
    """Largest difference relative to the variable's largest magnitude."""
    scale = max(float(np.abs(expected).max()), 1e-12)
    return float(np.abs(values - expected).max()) / scale


def _assert_batch_equal(result, references) -> None:
    for name, values in result.data.items():
        expected = np.stack([r.data[name] for r in references])
        worst = _worst(values, expected)
        assert worst <= RTOL, f"{name}: relative difference {worst:.3e}"
    for r in references:
        np.testing.assert_allclose(result.time, r.time, rtol=0, atol=1e-12)


def random_specs(n: int, seed: int = 2026) -> list[RunSpec]:
    """``n`` runs with every lever drawn within its bounds and every uncertainty sampled."""
    rng = np.random.default_rng(seed)
    uncertainties = load_uncertainties("default")
    sampled = uncertainties.values(rng.random((n, len(uncertainties))))
    specs = []
    for row in sampled:
        spec = plan(Scenario(name="random", levers=random_levers(rng)))
        specs.append(with_inputs(spec, dict(zip(uncertainties.names, row, strict=True))))
    return specs


def test_every_bundled_scenario_equals_simlin(batch, simlin):
    specs = [plan(load_scenario(p)) for p in list_scenarios()]
    groups: dict[tuple, list[RunSpec]] = {}
    for spec in specs:
        groups.setdefault((spec.final_time, spec.time_step, spec.saveper), []).append(spec)
    for group in groups.values():
        _assert_batch_equal(batch.run_batch(group), [simlin.run(s) for s in group])


def test_random_lever_and_uncertainty_sets_equal_simlin(batch, simlin):
    specs = random_specs(RANDOM_SETS)
    result = batch.run_batch(specs)
    assert result.runs == RANDOM_SETS
    _assert_batch_equal(result, [simlin.run(s) for s in specs])


def test_a_single_run_and_a_batch_agree(batch):
    """A single run (a small chunk on the longest grid, cut) equals its row of a big batch."""
    specs = random_specs(SMALL_CHUNK + 3, seed=7)
    together = batch.run_batch(specs)
    for i in (0, len(specs) - 1):
        alone = batch.run(specs[i])
        np.testing.assert_array_equal(alone.time, together.time)
        for name, values in alone.data.items():
            worst = _worst(values, together.data[name][i])
            assert worst <= 1e-12, f"{name}: relative difference {worst:.3e}"


def test_the_numpy_path_equals_the_compiled_one(batch, facts):
    """The same program evaluated step by step on NumPy (no JAX) gives the same series."""
    program = ArrayProgram(load_ir(model_file(), facts), np)
    spec = plan(None)
    final_time, time_step, saveper = spec.times(facts)
    grid = Grid(facts.control.initial_time, final_time, time_step, saveper)
    outputs = list(facts.outputs)
    rows = batch.layout.rows(facts, [spec.inputs])
    series = simulate(program, batch.layout.unpack(rows, np), grid, outputs, 1, python_scan)
    ref = batch.run(spec)
    for name, values in zip(outputs, series, strict=True):
        worst = _worst(values[:, 0], ref.data[name])
        assert worst <= RTOL, f"{name}: relative difference {worst:.3e}"


def test_bad_inputs_are_refused_by_name(batch):
    spec = plan(None)
    with pytest.raises(InputError, match="not_a_constant"):
        batch.run(dataclasses.replace(spec, inputs={"not_a_constant": 1.0}))
    with pytest.raises(InputError, match="no_such_output"):
        batch.run(dataclasses.replace(spec, variables=["no_such_output"]))


#: Outputs and constants for the finite-difference check: the targets' inputs and a
#: lever schedule, a scalar lever and an uncertain parameter.
FD_OUTPUTS = ("cumulative_nonresource_revenue", "jobs_brought_by_transfer", "fiscal_cost")
FD_WRT = ("land_price_discount_schedule", "investment_sensitivity",
          "power_discount_schedule[y2013]")


def test_derivatives_match_central_differences(batch, facts):
    spec = plan(load_scenario("policy-as-written"), variables=list(FD_OUTPUTS))
    got = batch.derivatives(spec, FD_WRT)
    row = batch.layout.row(facts, spec.inputs)
    directions = batch.directions(FD_WRT)
    for label, direction in zip(FD_WRT, directions, strict=True):
        scale = max(float(np.abs(row[direction != 0]).max()), 1.0)
        h = 1e-5 * scale
        up = batch.run_rows(spec, row + h * direction)
        down = batch.run_rows(spec, row - h * direction)
        for name in FD_OUTPUTS:
            fd = (up.data[name][0] - down.data[name][0]) / (2 * h)
            exact = got.of(name, label)
            tol = 1e-5 * max(float(np.abs(fd).max()), float(np.abs(exact).max()), 1e-9)
            np.testing.assert_allclose(exact, fd, rtol=0, atol=tol,
                                       err_msg=f"d {name} / d {label}")
    for name in FD_OUTPUTS:
        np.testing.assert_allclose(got.values[name], batch.run(spec).data[name], rtol=1e-12)


def test_calibration_jacobian_is_exact_and_matches_differences():
    """The calibration's exact Jacobian (batch) equals central differences on Simlin."""
    from transfer_sim.analysis import calibration as cal
    from transfer_sim.analysis.calibration.fit import _jacobian
    from transfer_sim.analysis.calibration.problem import CalibrationProblem

    observed = cal.load_observed()
    names = ["investment_sensitivity", "reinvestment_rate[chemicals]"]
    exact = CalibrationProblem(observed, names, engine="batch")
    by_differences = CalibrationProblem(observed, names, engine="simlin")
    assert exact.exact_jacobian and not by_differences.exact_jacobian
    x = exact.start_vector()
    rows = np.ones(len(observed), dtype=bool)
    got = _jacobian(exact, x, rows)
    want = _jacobian(by_differences, x, rows)
    assert got.shape == want.shape == (len(observed), len(names))
    assert np.abs(got).max() > 0
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-5 * np.abs(want).max())
    np.testing.assert_allclose(exact.simulate(x), by_differences.simulate(x), rtol=RTOL)


def test_calibration_on_the_batch_engine_runs_each_generation_as_one_batch():
    """Differential evolution evaluates a whole population per run_batch; the fit improves."""
    from transfer_sim.analysis import calibration as cal

    result = cal.calibrate(None, ["investment_sensitivity", "zone_establishment"],
                           engine="batch", maxiter=3, popsize=4, seed=1)
    assert result.settings["engine"] == "batch"
    assert result.settings["jacobian"] == "exact (forward mode)"
    assert result.payoff <= result.payoff_start
    same = cal.calibrate(None, ["investment_sensitivity", "zone_establishment"],
                         engine="batch", maxiter=3, popsize=4, seed=1)
    assert same.payoff == pytest.approx(result.payoff, rel=1e-12)


def _if_sites(ir) -> dict[int, str]:
    """Each ``IF THEN ELSE`` of the model (its argument list's id) -> the variable it is in."""
    sites: dict[int, str] = {}

    def walk(node, owner: str) -> None:
        if isinstance(node, list) and node:
            if isinstance(node[0], str):
                if node[0] == "call" and node[1] == "if_then_else":
                    sites[id(node[2])] = owner
                for part in node[1:]:
                    walk(part, owner)
            else:
                for part in node:
                    walk(part, owner)

    for name, record in ir.variables.items():
        for key in ("expr", "flow", "init"):
            if key in record:
                walk(record[key], name)
    return sites


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
def test_the_random_sets_take_both_branches_of_every_if_then_else(batch, facts, monkeypatch):
    """The equality above covers each conditional both ways (some run, some time)."""
    from transfer_sim.engines.batch import program as prog

    ir = load_ir(model_file(), facts)
    sites = _if_sites(ir)
    assert len(sites) >= 10
    seen: dict[int, set[bool]] = {}
    original = prog._Frame._call

    def recording(frame, function, args):
        if function == "if_then_else":
            cond = np.asarray(frame.p.truth(frame.eval(args[0])[0]))
            seen.setdefault(id(args), set()).update(np.unique(cond).tolist())
        return original(frame, function, args)

    monkeypatch.setattr(prog._Frame, "_call", recording)
    specs = random_specs(RANDOM_SETS)
    program = ArrayProgram(ir, np)
    rows = batch.layout.rows(facts, [s.inputs for s in specs])
    final_time, time_step, saveper = specs[0].times(facts)
    grid = Grid(facts.control.initial_time, final_time, time_step, saveper)
    simulate(program, batch.layout.unpack(rows, np), grid, list(facts.outputs), len(specs),
             python_scan)
    one_way = sorted({owner for site, owner in sites.items() if seen.get(site) != {False, True}})
    assert not one_way, f"IF THEN ELSE taken one way only in {one_way}"
