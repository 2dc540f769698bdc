"""Overrides written into the WebAssembly module's memory equal ``set_value``'s.

The memory writer (:mod:`transfer_sim.engines.simlin_memory`, the default) and the
fallback, one ``set_value`` call per element, must leave the same bytes in the
module for every constant element, and give the same runs, bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest

from transfer_sim.engines import RunSpec, simlin_wasm
from transfer_sim.engines.simlin_engine import SimlinEngine
from transfer_sim.engines.simlin_memory import memory_view
from transfer_sim.engines.simlin_wasm import WRITER_VARIABLE, WasmSimulation
from transfer_sim.errors import ModelError
from transfer_sim.model.facts import CONTROL_VARIABLES

pytestmark = pytest.mark.skipif(not simlin_wasm.wasm_available(), reason="no wasmtime")

#: Outputs compared in the engine-level runs (a stock by sector and two aggregates).
VARS = ["operating_assets", "nonresource_revenue", "cumulative_nonresource_revenue"]


@pytest.fixture(scope="module")
def engine():
    return SimlinEngine(backend="wasm")


@pytest.fixture(scope="module")
def sims(engine):
    """The same compiled model twice: the memory writer and the set_value fallback."""
    model = engine.model
    return WasmSimulation(model, writer="memory"), WasmSimulation(model, writer="set_value")


def _constant_slots(facts, sim):
    """Slot name -> slot of every element of every model constant (not the control ones)."""
    constants = {n for n, v in facts.variables.items()
                 if v.type == "Constant" and n not in CONTROL_VARIABLES}
    return {name: slot for name, slot in sim.slots.items()
            if name.split("[", 1)[0] in constants}


def test_every_constant_element_is_written_where_set_value_writes(facts, sims):
    memory, fallback = sims
    assert memory.writer == "memory" and fallback.writer == "set_value"
    layout, store = memory._layout, memory._store
    slots = _constant_slots(facts, memory)
    assert len(slots) > 500  # every element of ~140 constants, 2-D ones included
    for name, slot in slots.items():
        assert layout.settable[slot], name
        memory._clear(store)
        predicted = np.array(memory_view(memory._memory, store))
        layout.write(predicted, np.array([slot]), np.array([1234.5 + slot]))
        assert memory._set_value(store, slot, 1234.5 + slot) == 0
        assert np.array_equal(predicted, memory_view(memory._memory, store)), name


def test_random_override_sets_give_the_same_runs(facts, sims):
    memory, fallback = sims
    slots = np.array(sorted(_constant_slots(facts, memory).values()))
    defaults = memory._defaults[slots]
    rng = np.random.default_rng(13)
    for _ in range(12):
        chosen = rng.random(slots.size) < rng.uniform(0.05, 0.5)
        values = defaults[chosen] * rng.uniform(0.8, 1.2, size=int(chosen.sum()))
        a = memory.run_slots(slots[chosen], values)
        b = fallback.run_slots(slots[chosen], values)
        assert np.isfinite(a).any()
        np.testing.assert_array_equal(a, b)
    # a repeated slot takes its last value, as repeated set_value calls do
    first, second = np.flatnonzero(defaults)[:2]
    pick = [first, second, first]
    repeated, twice = slots[pick], np.array([2.0, 3.0, 1.0]) * defaults[pick]
    np.testing.assert_array_equal(memory.run_slots(repeated, twice),
                                  fallback.run_slots(repeated[1:], twice[1:]))
    # and a run afterwards with no overrides is the model's own run again
    np.testing.assert_array_equal(memory.run_slots(slots[:0], defaults[:0]),
                                  fallback.run({}))


def _random_inputs(facts, rng):
    """Some scalar and some one-dimensional constants, scaled at random."""
    out = {}
    for name, var in facts.variables.items():
        if (var.type != "Constant" or name in CONTROL_VARIABLES or len(var.subscripts) > 1
                or rng.random() > 0.3):
            continue
        value = facts.constants[name]
        if var.subscripts:
            default = value.to_numpy().reshape(-1)
            out[name] = default * rng.uniform(0.8, 1.2, size=default.size)
        else:
            out[name] = float(value) * rng.uniform(0.8, 1.2)
    return out


def test_the_engine_gives_the_same_results_with_either_writer(facts, engine, monkeypatch):
    fallback = SimlinEngine(backend="wasm")
    with monkeypatch.context() as env:  # the writer is chosen when a module is compiled
        env.setenv(WRITER_VARIABLE, "set_value")
        fallback.run(RunSpec(final_time=2016.0, variables=VARS))
    vm = SimlinEngine(backend="vm")  # takes the inputs by name, through flat_overrides
    rng = np.random.default_rng(5)
    for i in range(6):
        spec = RunSpec(inputs=_random_inputs(facts, rng), final_time=2016.0, variables=VARS)
        a, b = engine.run(spec), fallback.run(spec)
        np.testing.assert_array_equal(a.time, b.time)
        for name in VARS:
            np.testing.assert_array_equal(a.data[name], b.data[name])
        if i < 2:
            c = vm.run(spec)
            for name in VARS:
                np.testing.assert_allclose(a.data[name], c.data[name], rtol=1e-12)
    assert next(iter(fallback._wasm.values())).writer == "set_value"
    assert all(sim.writer == "memory" for sim in engine._wasm.values())


def test_a_layout_that_cannot_be_probed_falls_back_to_set_value(engine, monkeypatch):
    monkeypatch.setattr(simlin_wasm, "probe", lambda *args: None)
    assert WasmSimulation(engine.model).writer == "set_value"
    with pytest.raises(ModelError, match="could not be probed"):
        WasmSimulation(engine.model, writer="memory")


def test_an_unknown_writer_is_one_line(engine, monkeypatch):
    monkeypatch.setenv(WRITER_VARIABLE, "fast")
    with pytest.raises(ModelError, match="unknown override writer 'fast'; allowed: auto"):
        WasmSimulation(engine.model)


@pytest.mark.parametrize("writer", ["memory", "set_value"])
def test_a_variable_that_is_not_a_constant_cannot_be_set(engine, writer):
    sim = WasmSimulation(engine.model, writer=writer)
    with pytest.raises(ModelError, match="cannot set 'nonresource_revenue'"):
        sim.run({"nonresource_revenue": 1.0})
