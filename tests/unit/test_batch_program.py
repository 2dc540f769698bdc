"""Pieces of the batch engine's array program that need no model: lookups, scans, timelines."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transfer_sim.engines.batch.ir import IR, expression
from transfer_sim.engines.batch.program import ArrayProgram, Grid, ramps
from transfer_sim.engines.batch.simulate import python_scan, simulate

finite = st.floats(-1e3, 1e3, allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(start=finite, widths=st.lists(st.floats(1e-3, 50.0), min_size=0, max_size=14),
       data=st.data())
def test_ramps_equal_np_interp(start, widths, data):
    xs = start + np.concatenate([[0.0], np.cumsum(widths)])
    ys = np.asarray(data.draw(st.lists(finite, min_size=len(xs), max_size=len(xs))))
    x = np.concatenate([xs, np.linspace(xs[0] - 5.0, xs[-1] + 5.0, 101),
                        np.asarray(data.draw(st.lists(finite, max_size=20)))])
    scale = max(1.0, float(np.abs(ys).max()))
    np.testing.assert_allclose(ramps(np, x, xs, ys), np.interp(x, xs, ys), rtol=0,
                               atol=1e-12 * scale)


def test_ramps_vertical_step_and_single_point():
    xs, ys = np.array([0.0, 1.0, 1.0, 2.0]), np.array([0.0, 1.0, 3.0, 3.0])
    x = np.array([-1.0, 0.5, 0.999, 1.5, 2.0, 9.0])
    np.testing.assert_allclose(ramps(np, x, xs, ys), np.interp(x, xs, ys), atol=1e-15)
    np.testing.assert_array_equal(ramps(np, x, np.array([3.0]), np.array([7.0])), 7.0)


def test_python_scan_feeds_rows_of_xs():
    xs = {"a": np.arange(4.0), "b": (np.ones((4, 2)),)}

    def body(carry, x):
        return carry + x["a"] + x["b"][0].sum(), [carry]

    carry, (seen,) = python_scan(body, 0.0, xs)
    assert carry == 0 + 1 + 2 + 3 + 4 * 2.0
    np.testing.assert_array_equal(seen, [0.0, 2.0, 5.0, 9.0])


def _program(variables, xp=np):
    return ArrayProgram(IR({"S": ["a", "b"]}, variables), xp)


def _timed_model():
    # w[S] reads only time and constants (evaluated before the loop); x[S] integrates it.
    return {
        "k": {"kind": "const", "dims": ["S"], "value": [1.0, 2.0]},
        "tab": {"kind": "lookup", "dims": [], "x": [0.0, 1.0, 2.0], "y": [0.0, 1.0, 0.0]},
        "w": {"kind": "aux", "dims": ["S"], "expr": expression("k[S] * tab(Time)")},
        "x": {"kind": "stock", "dims": ["S"], "flow": expression("w[S]"),
              "init": expression("0")},
        "total": {"kind": "aux", "dims": [], "expr": expression("SUM(x[S!]) + w[a]")},
    }


@pytest.mark.parametrize("k", [[[1.0, 2.0]], [[1.0, 2.0], [3.0, 4.0]]])
def test_time_only_auxiliaries_are_found_and_integrated(k):
    # One row of k: w is shared by the runs and comes from the timeline; two: per run.
    program = _program(_timed_model())
    assert program.timed == ("w",)
    consts = {"k": np.array(k)}
    grid = Grid(0.0, 2.0, 0.25, 0.5)
    w, x, total = simulate(program, consts, grid, ["w", "x", "total"], 2, python_scan)
    assert w.shape == x.shape == (5, 2, 2) and total.shape == (5, 2)
    t = np.arange(0.0, 2.0, 0.25)
    tent = np.interp(t, [0.0, 1.0, 2.0], [0.0, 1.0, 0.0])
    euler = np.concatenate([[0.0], np.cumsum(0.25 * tent)])[::2]
    k_runs = np.broadcast_to(consts["k"], (2, 2))
    np.testing.assert_allclose(x, euler[:, None, None] * k_runs[None], rtol=1e-15)
    np.testing.assert_allclose(w[:, :, 0], np.interp(grid.times(), [0, 1, 2], [0, 1, 0])[:, None]
                               * k_runs[None, :, 0], rtol=1e-15)
    np.testing.assert_allclose(total, x.sum(axis=2) + w[:, :, 0], rtol=1e-15)


def test_jax_program_equals_numpy_and_has_finite_derivatives():
    jax = pytest.importorskip("jax")
    jnp = pytest.importorskip("jax.numpy")
    jax.config.update("jax_enable_x64", True)
    model = _timed_model()
    # Branches not taken divide by zero and take LN(0): the derivative stays finite.
    model["g"] = {"kind": "aux", "dims": ["S"], "expr": expression(
        "IF THEN ELSE(x[S] > 0, LN(x[S]) + 1 / x[S] + SQRT(x[S]) + x[S] ^ k[S], 0)")}
    model["y"] = {"kind": "stock", "dims": ["S"], "flow": expression("g[S]"),
                  "init": expression("0")}
    grid = Grid(0.0, 1.0, 0.25, 0.5)
    consts = {"k": np.array([[1.0, 2.0]])}
    with np.errstate(divide="ignore", invalid="ignore"):  # the branch not taken, at x = 0
        expected = simulate(_program(model), consts, grid, ["y", "total"], 1, python_scan)
    program = _program(model, jnp)

    def run(k):
        return simulate(program, {"k": k}, grid, ["y", "total"], 1, jax.lax.scan)

    got = jax.jit(run)(jnp.asarray(consts["k"]))
    for a, b in zip(got, expected, strict=True):
        np.testing.assert_allclose(np.asarray(a), b, rtol=1e-13)
    jac = jax.jacfwd(lambda k: run(k)[0])(jnp.asarray(consts["k"]))
    assert np.isfinite(np.asarray(jac)).all()
