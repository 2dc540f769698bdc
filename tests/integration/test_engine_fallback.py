"""Simlin's ``auto`` backend falls back to the bytecode VM with one warning line."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from transfer_sim.engines import RunSpec, simlin_engine, simlin_wasm
from transfer_sim.engines.simlin_engine import SimlinEngine
from transfer_sim.errors import ModelError

VARS = ["nonresource_revenue", "operating_assets"]


@pytest.fixture(autouse=True)
def _fresh_warnings(monkeypatch):
    monkeypatch.setattr(simlin_engine, "_WARNED", set())


@pytest.fixture(scope="module")
def vm_result():
    return SimlinEngine(backend="vm").run(RunSpec(variables=VARS))


def _equal(a, b):
    np.testing.assert_array_equal(a.time, b.time)
    for name in VARS:
        np.testing.assert_allclose(a.data[name], b.data[name], rtol=1e-12)


def test_a_changed_ffi_signature_gives_the_vm_and_one_warning(monkeypatch, caplog, vm_result):
    monkeypatch.setattr(simlin_wasm, "compile_signature", lambda: "void(*)(struct X *)")
    with caplog.at_level(logging.WARNING):
        engine = SimlinEngine(backend="auto")
        result = engine.run(RunSpec(variables=VARS))
        engine.run(RunSpec(variables=VARS, final_time=2012.0))
        assert SimlinEngine(backend="auto").backend == "vm"  # a second engine: no new line
    assert engine.backend == "vm"
    [record] = caplog.records
    assert "signature void(*)(struct X *)" in record.getMessage()
    assert "\n" not in record.getMessage()
    _equal(result, vm_result)


def test_a_failed_compilation_gives_the_vm_and_one_warning(monkeypatch, caplog, vm_result):
    def broken(model):
        raise RuntimeError("compile failed\nin libsimlin")

    monkeypatch.setattr(simlin_engine, "WasmSimulation", broken)
    engine = SimlinEngine(backend="auto")
    assert engine.backend == "wasm"
    with caplog.at_level(logging.WARNING):
        result = engine.run(RunSpec(variables=VARS))
        engine.run(RunSpec(variables=VARS))
        SimlinEngine(backend="auto").run(RunSpec(variables=VARS))
    assert engine.backend == "vm"
    [record] = caplog.records
    assert "compile failed in libsimlin" in record.getMessage()
    assert "\n" not in record.getMessage()
    _equal(result, vm_result)


def test_an_explicit_wasm_backend_does_not_fall_back(monkeypatch):
    def broken(model):
        raise RuntimeError("compile failed")

    monkeypatch.setattr(simlin_engine, "WasmSimulation", broken)
    with pytest.raises(ModelError, match="could not compile the model to WebAssembly"):
        SimlinEngine(backend="wasm").run(RunSpec(variables=VARS))
