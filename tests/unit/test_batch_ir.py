"""The batch engine's translation and array program on small expressions (no model run)."""

from __future__ import annotations

import numpy as np

from transfer_sim.engines.batch.ir import IR, expression
from transfer_sim.engines.batch.program import ArrayProgram, Grid
from transfer_sim.engines.batch.simulate import python_scan, simulate


def test_expression_nodes():
    node = expression("IF THEN ELSE(a > 1, SUM(b[Sector!]), 0)")
    assert node[0] == "call" and node[1] == "if_then_else"
    assert node[2][0] == ["logic", [">"], [["ref", "a", None], ["num", 1.0]]]
    assert node[2][1] == ["call", "sum", [["ref", "b", ["Sector!"]]]]


def _program(variables):
    return ArrayProgram(IR({"S": ["a", "b"]}, variables), np)


def test_stock_with_sum_and_broadcast_matches_closed_form():
    # x[S] grows at rate k[S]; total = SUM(x[S!]); Euler with dt = 0.5 over 2 years.
    ir = {
        "k": {"kind": "const", "dims": ["S"], "value": [0.1, 0.2]},
        "x": {"kind": "stock", "dims": ["S"], "flow": expression("k[S] * x[S]"),
              "init": expression("1")},
        "total": {"kind": "aux", "dims": [], "expr": expression("SUM(x[S!])")},
    }
    program = _program(ir)
    consts = {k: v[None] for k, v in program.defaults().items()}
    grid = Grid(0.0, 2.0, 0.5, 1.0)
    x, total = simulate(program, consts, grid, ["x", "total"], 1, python_scan)
    expected = np.array([[1.0, 1.0], [1.05 ** 2, 1.1 ** 2], [1.05 ** 4, 1.1 ** 4]])
    np.testing.assert_allclose(x[:, 0], expected, rtol=1e-15)
    np.testing.assert_allclose(total[:, 0], expected.sum(axis=1), rtol=1e-15)


def test_zidz_and_both_branches_and_runs_axis():
    ir = {
        "a": {"kind": "const", "dims": [], "value": 0.0},
        "y": {"kind": "aux", "dims": [], "expr": expression(
            "IF THEN ELSE(a > 0, ZIDZ(1, a), -1)")},
    }
    program = _program(ir)
    consts = {"a": np.array([0.0, 4.0])}
    (y,) = simulate(program, consts, Grid(0.0, 1.0, 1.0, 1.0), ["y"], 2, python_scan)
    np.testing.assert_array_equal(y[0], [-1.0, 0.25])
