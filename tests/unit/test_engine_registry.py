"""The engine registry, the Engine protocol's surface, and the WebAssembly guard.

Nothing here builds a real engine (that needs the model facts); the fallback of a
real engine is run in ``tests/integration/test_engine_fallback.py``.
"""

from __future__ import annotations

import logging

import pytest

from transfer_sim import engines
from transfer_sim.engines import simlin_wasm
from transfer_sim.engines.simlin_engine import SimlinEngine
from transfer_sim.errors import InputError, ModelError
from transfer_sim.run import ensemble


class _Fake:
    name = "fake"
    backend = "fake"
    default_time_step = 0.5
    version = "0"

    def __init__(self, model_path=None):
        self.model_path = model_path

    def run(self, spec):
        raise NotImplementedError


@pytest.fixture
def fake(monkeypatch):
    monkeypatch.setitem(engines.ENGINE_REGISTRY, "fake", f"{__name__}:_Fake")
    engines._cached.cache_clear()
    yield
    engines._cached.cache_clear()


def test_registry_names_every_engine_by_module_and_class():
    assert engines.ENGINES == tuple(engines.ENGINE_REGISTRY) == ("simlin", "pysd", "batch")
    for name in engines.ENGINES:
        cls = engines.engine_class(name)
        assert cls.name == name
        for attr in ("version", "default_time_step", "run"):
            assert hasattr(cls, attr), (name, attr)
    assert engines.engine_class("pysd").backend == "pysd"


def test_unknown_engine_is_an_input_error_listing_the_registry():
    with pytest.raises(InputError,
                       match="unknown engine 'nope'; allowed: simlin, pysd, batch") as exc:
        engines.get_engine("nope")
    assert exc.value.key == "engine"


def test_get_engine_shares_and_create_engine_builds_anew(fake):
    shared = engines.get_engine("fake", "m.mdl")
    assert isinstance(shared, _Fake) and shared.model_path == "m.mdl"
    assert engines.get_engine("fake", "m.mdl") is shared
    assert engines.create_engine("fake", "m.mdl") is not shared


def test_ensemble_workers_build_engines_from_the_registry(fake):
    worker = ensemble._worker_engine("fake", "m.mdl")
    assert isinstance(worker, _Fake) and worker.model_path == "m.mdl"
    assert ensemble._worker_engine("fake", "m.mdl") is worker  # one per thread


def test_the_expected_compile_signature_is_the_installed_one():
    assert simlin_wasm.compile_signature() == simlin_wasm.EXPECTED_SIGNATURE
    assert simlin_wasm.wasm_problem() is None and simlin_wasm.wasm_available()


def test_a_changed_signature_falls_back_to_the_vm_with_one_warning(monkeypatch, caplog):
    monkeypatch.setattr("transfer_sim.engines.simlin_engine._WARNED", set())
    monkeypatch.setattr(simlin_wasm, "compile_signature", lambda: "void(*)(int)")
    assert "signature void(*)(int)" in simlin_wasm.wasm_problem()
    assert not simlin_wasm.wasm_available()
    with caplog.at_level(logging.WARNING):
        assert SimlinEngine._choose_backend("auto") == "vm"
        assert SimlinEngine._choose_backend("auto") == "vm"  # e.g. another worker thread
    [record] = caplog.records
    assert "\n" not in record.getMessage() and "using the bytecode VM" in record.getMessage()
    with pytest.raises(ModelError, match="'wasm' is not available"):
        SimlinEngine._choose_backend("wasm")
    assert SimlinEngine._choose_backend("vm") == "vm"


def test_a_missing_wasmtime_is_the_vm_without_a_warning(monkeypatch, caplog):
    monkeypatch.setattr(simlin_wasm, "wasm_problem", lambda: "wasmtime is not installed")
    monkeypatch.setattr("transfer_sim.engines.simlin_engine.wasm_problem",
                        simlin_wasm.wasm_problem)
    with caplog.at_level(logging.WARNING):
        assert SimlinEngine._choose_backend("auto") == "vm"
    assert not caplog.records


def test_unknown_backend_lists_the_allowed():
    with pytest.raises(ModelError, match="allowed: auto, wasm, vm"):
        SimlinEngine._choose_backend("jit")


def test_control_section_copies_are_written_through_unique_temporary_files(tmp_path):
    """Forked workers could share ``id(self)``; each write now has its own temporary."""
    from concurrent.futures import ThreadPoolExecutor

    from transfer_sim.io.atomic import atomic_write_text

    target = tmp_path / "copies" / "transfer-2020-0.25-0.25.mdl"
    target.parent.mkdir()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda i: atomic_write_text(target, "FINAL TIME = 2020\n" * 1000),
                      range(64)))
    assert target.read_text(encoding="utf-8") == "FINAL TIME = 2020\n" * 1000
    assert [p.name for p in target.parent.iterdir()] == [target.name]


def test_auto_takes_the_batch_engine_for_many_runs_only():
    from transfer_sim.inputs.scenarios import Scenario
    from transfer_sim.inputs.uncertainty import Uncertainty, UncertaintySet
    from transfer_sim.run.ensemble_spec import EnsembleSpec

    unc = UncertaintySet((Uncertainty("x", "uniform", {"min": 0.0, "max": 1.0}, "test"),))
    two = [Scenario(name="a"), Scenario(name="b")]
    few = engines.BATCH_FROM_RUNS // 2 - 1
    assert EnsembleSpec(two, unc, runs=few).engine == "simlin"
    assert EnsembleSpec(two, unc, runs=few + 1).engine == "batch"
    assert EnsembleSpec(two, unc, runs=10**5, engine="simlin").engine == "simlin"
    with pytest.raises(InputError, match="allowed: auto, simlin, pysd, batch"):
        EnsembleSpec(two, unc, runs=10, engine="jit")
