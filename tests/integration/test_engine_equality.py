"""Cross-engine equality: every bundled scenario gives the same results on PySD, Simlin and batch.

Tolerance: 1e-9 relative to each variable's largest magnitude. Both engines use Euler
integration on the same equations; measured differences are ~1e-13 (floating-point
order of operations). Both run at a coarse step of 0.5 year so that the whole folder
runs on PySD in about a minute: equality of the engines does not depend on the step,
and one scenario is also compared at a finer step, to 2020.

Only the cross-engine tests run PySD (marked ``pysd``); the WebAssembly = VM and
fork tests run Simlin alone.
"""

from __future__ import annotations

import numpy as np
import pytest

from transfer_sim.engines import RunSpec, get_engine
from transfer_sim.inputs.scenarios import list_scenarios, load_scenario
from transfer_sim.run.runner import run_scenario

RTOL = 1e-9


def _assert_equal(a, b):
    assert set(a.data_vars) == set(b.data_vars)
    np.testing.assert_array_equal(a["time"].values, b["time"].values)
    for name in a.data_vars:
        x, y = a[name].values, b[name].values
        scale = max(float(np.abs(y).max()), 1e-12)
        worst = float(np.abs(x - y).max()) / scale
        assert worst <= RTOL, f"{name}: relative difference {worst:.3e}"
        assert a[name].attrs["units"] == b[name].attrs["units"]
        assert a[name].dims == b[name].dims


@pytest.mark.pysd
@pytest.mark.parametrize("path", list_scenarios(), ids=lambda p: p.stem)
def test_scenario_equal_on_every_engine(path):
    scenario = load_scenario(path)
    ref = run_scenario(scenario, engine="pysd", time_step=0.5)
    for engine in ("simlin", "batch"):
        _assert_equal(run_scenario(scenario, engine=engine, time_step=0.5), ref)


@pytest.mark.pysd
def test_equal_at_a_finer_step_to_2020():
    scenario = load_scenario("policy-as-written")
    fast = run_scenario(scenario, engine="simlin", final_year=2020, time_step=0.25)
    ref = run_scenario(scenario, engine="pysd", final_year=2020, time_step=0.25)
    _assert_equal(fast, ref)


@pytest.mark.pysd
def test_engines_report_their_names():
    assert get_engine("simlin").name == "simlin"
    assert get_engine("pysd").name == "pysd"
    assert get_engine("batch").name == "batch"


@pytest.mark.parametrize("path", list_scenarios(), ids=lambda p: p.stem)
def test_simlin_wasm_equals_simlin_vm(path):
    """Simlin's WebAssembly compilation (the default) equals its bytecode VM."""
    from transfer_sim.engines.simlin_engine import SimlinEngine
    from transfer_sim.engines.simlin_wasm import wasm_available
    from transfer_sim.run.plan import plan

    assert wasm_available(), "wasmtime is a dependency: the fast path must be there"
    spec = plan(load_scenario(path))
    wasm = SimlinEngine(backend="wasm").run(spec)
    vm = SimlinEngine(backend="vm").run(spec)
    np.testing.assert_array_equal(wasm.time, vm.time)
    for name, values in vm.data.items():
        scale = max(float(np.abs(values).max()), 1e-12)
        worst = float(np.abs(wasm.data[name] - values).max()) / scale
        assert worst <= RTOL, f"{name}: relative difference {worst:.3e}"


def test_simlin_backend_is_wasm_by_default_and_recorded():
    from transfer_sim.run.runner import run_levers

    assert get_engine("simlin").backend == "wasm"
    ds = run_levers({}, engine="simlin", variables=["nonresource_revenue"])
    assert ds.attrs["engine_backend"] == "wasm"


def _child_run(queue):
    from transfer_sim.engines.simlin_engine import SimlinEngine

    raw = SimlinEngine(backend="wasm").run(RunSpec(variables=["nonresource_revenue"]))
    queue.put(float(raw.data["nonresource_revenue"][-1]))


@pytest.mark.slow
def test_wasm_engine_can_be_built_in_a_forked_worker():
    """Ensemble workers fork from a process that may already hold a wasm engine."""
    import multiprocessing

    from transfer_sim.engines.simlin_engine import SimlinEngine

    parent = SimlinEngine(backend="wasm").run(RunSpec(variables=["nonresource_revenue"]))
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    proc = ctx.Process(target=_child_run, args=(queue,))
    proc.start()
    proc.join(120)
    if proc.is_alive():
        proc.kill()
        pytest.fail("a forked worker building its own wasm engine hung")
    assert queue.get(timeout=5) == float(parent.data["nonresource_revenue"][-1])
