"""The batch engine's array program (NumPy path) equals Simlin on the model's defaults.

Tolerance: 1e-9 relative to each variable's largest magnitude, as in
``test_engine_equality``. Lever sets, scenarios and the JAX path are still to come.
"""

from __future__ import annotations

import numpy as np

from transfer_sim.engines import RunSpec, get_engine
from transfer_sim.engines.batch.ir import translate_file
from transfer_sim.engines.batch.program import ArrayProgram, Grid
from transfer_sim.engines.batch.simulate import python_scan, simulate
from transfer_sim.model.core import model_file
from transfer_sim.model.facts import model_facts

RTOL = 1e-9


def test_numpy_program_equals_simlin_on_defaults():
    facts = model_facts()
    names = {v.real_name: n for n, v in facts.variables.items()}
    program = ArrayProgram(translate_file(model_file(), names), np)
    c = facts.control
    grid = Grid(c.initial_time, c.final_time, c.time_step, c.saveper)
    outputs = list(facts.outputs)
    consts = {k: v[None] for k, v in program.defaults().items()}
    series = simulate(program, consts, grid, outputs, 1, python_scan)
    ref = get_engine("simlin").run(RunSpec())
    np.testing.assert_allclose(grid.times(), ref.time, rtol=0, atol=1e-12)
    for name, values in zip(outputs, series, strict=True):
        expected = ref.data[name]
        scale = max(float(np.abs(expected).max()), 1e-12)
        worst = float(np.abs(values[:, 0] - expected).max()) / scale
        assert worst <= RTOL, f"{name}: relative difference {worst:.3e}"
