"""The fast engine: Simlin's Rust simulator (``pysimlin``) reading the same ``.mdl``."""

from __future__ import annotations

import logging
import os
import re
from pathlib import Path

import numpy as np

from transfer_sim.engines.base import (
    ArrayInput,
    FactsEngine,
    RawResult,
    RunSpec,
    expand_inputs,
    flat_overrides,
)
from transfer_sim.engines.simlin_wasm import WasmSimulation, compile_module, wasm_problem
from transfer_sim.errors import ModelError
from transfer_sim.model.core import cache_dir, write_cache_file

__all__ = ["SimlinEngine", "BACKENDS"]

_LOG = logging.getLogger(__name__)
#: Fallback warnings already given in this process (each is one line, given once,
#: however many engines an ensemble's worker threads build).
_WARNED: set[str] = set()


def _warn_once(message: str) -> None:
    if message not in _WARNED:
        _WARNED.add(message)
        _LOG.warning("%s", message)

#: How Simlin runs the model: its WebAssembly compilation under wasmtime (``wasm``,
#: ~7x faster) or its bytecode VM (``vm``); ``auto`` takes wasm when available and
#: falls back to the VM, with one warning line, when libsimlin's compile function has
#: another C signature or compiling fails. Chosen by ``$TRANSFER_SIM_SIMLIN_BACKEND``.
BACKENDS = ("auto", "wasm", "vm")


class SimlinEngine(FactsEngine):
    """Run the model with Simlin.

    Constants are overridden per element (``name[y2011]``), so year schedules need
    no edit of the model file. Each run is a new simulation of the loaded model: no
    state carries over between runs.

    A run with another final time, time step or save interval uses a copy of the
    model whose control section states them (pysimlin 0.8.5's ``set_sim_specs``
    refuses every patch because of an error in its own stdlib ``npv`` model), kept
    in the cache beside PySD's translation and loaded once per process.

    Simlin runs the model either as its own WebAssembly compilation of the model
    under wasmtime (the default when available: the same simulation, about 7x
    faster) or in its bytecode VM; ``backend`` or ``$TRANSFER_SIM_SIMLIN_BACKEND``
    chooses (:data:`BACKENDS`), and a test holds the two equal.

    Parameters
    ----------
    model_path : path-like, default: the bundled model
        The ``.mdl`` that Simlin loads.
    backend : {"auto", "wasm", "vm"}, optional
        How to run; ``$TRANSFER_SIM_SIMLIN_BACKEND`` or ``auto`` by default.
    """

    name = "simlin"
    distribution = "pysimlin"

    def __init__(self, model_path: str | Path | None = None, backend: str | None = None):
        import simlin

        self._requested = backend or os.environ.get("TRANSFER_SIM_SIMLIN_BACKEND", "auto")
        self.backend = self._choose_backend(self._requested)
        self._wasm: dict[tuple[float, float, float], WasmSimulation] = {}
        self._columns: dict[tuple, np.ndarray] = {}
        self._simlin = simlin
        super().__init__(model_path)
        self._text = self.model_path.read_text(encoding="utf-8")
        self._model = self._load(self.model_path)
        self._subscripted = {n for n, v in self._facts.variables.items() if v.subscripts}
        control = self._facts.control
        self._models = {(control.final_time, control.time_step, control.saveper): self._model}

    @staticmethod
    def _choose_backend(choice: str) -> str:
        """``wasm`` or ``vm``; ``auto`` falls back to the VM (one warning line)."""
        if choice not in BACKENDS:
            raise ModelError(f"unknown Simlin backend {choice!r}; allowed: {', '.join(BACKENDS)}")
        if choice == "vm":
            return "vm"
        problem = wasm_problem()
        if problem is None:
            return "wasm"
        if choice == "wasm":
            raise ModelError(f"Simlin backend 'wasm' is not available: {problem}")
        if problem != "wasmtime is not installed":
            _warn_once(f"Simlin: {problem}; using the bytecode VM")
        return "vm"

    def _load(self, path: Path):  # noqa: ANN202 - simlin type
        try:
            return self._simlin.load(path)
        except Exception as exc:
            raise ModelError(f"{path}: Simlin could not load the model: {exc}") from exc

    def _model_for(self, specs: tuple[float, float, float]):  # noqa: ANN202 - simlin type
        if specs in self._models:
            return self._models[specs]
        text = self._text
        for name, value in zip(("FINAL TIME", "TIME STEP", "SAVEPER"), specs, strict=True):
            text = re.sub(rf"^({name}\s*=\s*)([0-9.eE+-]+)",
                          lambda m, v=value: f"{m.group(1)}{v!r}", text, count=1,
                          flags=re.MULTILINE)
        key = "-".join(f"{v:g}" for v in specs)
        path = write_cache_file(
            cache_dir() / f"{self._facts.sha256[:20]}-simlin" / f"transfer-{key}.mdl", text)
        self._models[specs] = self._load(path)
        return self._models[specs]

    def wasm_module(self, specs: tuple[float, float, float]) -> tuple[bytes, bytes]:
        """Return Simlin's WebAssembly module of the model for these run settings.

        Parameters
        ----------
        specs : tuple of float
            ``(final time, time step, save interval)``, as :meth:`RunSpec.times` gives them.

        Returns
        -------
        tuple of bytes
            The module and its layout blob (see :mod:`transfer_sim.engines.simlin_wasm`).
        """
        return compile_module(self._model_for(specs))

    @property
    def writer(self) -> str | None:
        """How overrides reach the compiled modules (``"memory"``, ``"set_value"``).

        ``None`` before the first WebAssembly run and on the bytecode VM.
        """
        if self.backend != "wasm" or not self._wasm:
            return None
        return "/".join(sorted({sim.writer for sim in self._wasm.values()}))

    @property
    def model(self):  # noqa: ANN201 - simlin type
        """The loaded ``simlin.Model`` (for checks and loop analysis)."""
        return self._model

    def _overrides(self, inputs) -> dict[str, float]:
        return flat_overrides(self._facts, inputs)

    def _wasm_for(self, specs: tuple[float, float, float]) -> WasmSimulation | None:
        """Return the compiled model for ``specs``; ``None`` after falling back to the VM."""
        if specs not in self._wasm:
            try:
                self._wasm[specs] = WasmSimulation(self._model_for(specs))
            except Exception as exc:
                if self._requested == "wasm":
                    raise ModelError(f"Simlin could not compile the model to WebAssembly: "
                                     f"{exc}; set TRANSFER_SIM_SIMLIN_BACKEND=vm") from exc
                _warn_once("Simlin could not compile the model to WebAssembly ("
                           f"{' '.join(str(exc).split())}); using the bytecode VM")
                self.backend = "vm"
                return None
        return self._wasm[specs]

    def _slots(self, specs: tuple[float, float, float], sim: WasmSimulation, name: str,
               elements: tuple[str, ...] | None = None) -> np.ndarray:
        """Return the slots of ``name``, or of ``name[e]`` for each of ``elements``."""
        key = (specs, name, elements)
        if key not in self._columns:
            names = [name] if elements is None else [f"{name}[{e}]" for e in elements]
            self._columns[key] = np.array([sim.slot(n) for n in names], dtype=np.int64)
        return self._columns[key]

    def _slot_values(self, specs: tuple[float, float, float], sim: WasmSimulation,
                     inputs) -> tuple[np.ndarray, np.ndarray]:
        """Return inputs as slots and values (checked as :func:`flat_overrides` checks them)."""
        expanded = expand_inputs(self._facts, inputs)
        if not expanded:
            return np.zeros(0, dtype=np.int64), np.zeros(0)
        slots, values = [], []
        for name, value in expanded.items():
            array = isinstance(value, ArrayInput)
            slots.append(self._slots(specs, sim, name, value.elements if array else None))
            values.append(value.values if array else [value])
        return np.concatenate(slots), np.concatenate(values)

    def _run_wasm(self, spec: RunSpec, specs: tuple[float, float, float]) -> RawResult | None:
        sim = self._wasm_for(specs)
        if sim is None:
            return None
        names = list(spec.variables) if spec.variables is not None else self._outputs
        sectors = self._facts.sectors
        columns = [self._slots(specs, sim, name, sectors if name in self._subscripted else None)
                   for name in ["time", *names]]
        table = sim.run_slots(*self._slot_values(specs, sim, spec.inputs),
                              columns=np.concatenate(columns))
        data, start = {}, 0
        for name, cols in zip(["time", *names], columns, strict=True):
            block = table[:, start:start + cols.size]
            data[name] = block if name in self._subscripted else block[:, 0]
            start += cols.size
        time = data.pop("time")
        return RawResult(time=time, data=data)

    def run(self, spec: RunSpec) -> RawResult:
        """Run the model once from its defaults plus ``spec.inputs``."""
        specs = spec.times(self._facts)
        if self.backend == "wasm":
            result = self._run_wasm(spec, specs)
            if result is not None:
                return result
        model = self._model_for(specs)
        try:
            sim = model.simulate(overrides=self._overrides(spec.inputs))
            sim.run_to_end()
        except Exception as exc:
            raise ModelError(f"Simlin run failed: {exc}") from exc
        time = sim.get_series("time")
        names = list(spec.variables) if spec.variables is not None else self._outputs
        data: dict[str, np.ndarray] = {}
        for name in names:
            if name in self._subscripted:
                data[name] = np.stack([sim.get_series(f"{name}[{s}]")
                                       for s in self._facts.sectors], axis=1)
            else:
                data[name] = sim.get_series(name)
        return RawResult(time=time, data=data)

