"""The fast engine: Simlin's Rust simulator (``pysimlin``) reading the same ``.mdl``."""

from __future__ import annotations

import os
import re
from importlib.metadata import version
from pathlib import Path

import numpy as np

from transfer_sim.engines.base import (
    RawResult,
    RunSpec,
    output_variables,
    subscript_elements,
    year_elements,
)
from transfer_sim.engines.simlin_wasm import WasmSimulation, wasm_available
from transfer_sim.errors import ModelError
from transfer_sim.model.core import SECTORS, cache_dir, catalogue, default_model_path, model_hash

__all__ = ["SimlinEngine", "BACKENDS"]

#: How Simlin runs the model: its WebAssembly compilation under wasmtime (``wasm``,
#: ~8x faster) or its bytecode VM (``vm``); ``auto`` takes wasm when available.
#: Chosen by ``$TRANSFER_SIM_SIMLIN_BACKEND``.
BACKENDS = ("auto", "wasm", "vm")


class SimlinEngine:
    """Run the model with Simlin.

    Constants are overridden per element (``name[y2011]``), so year schedules need
    no edit of the model file. Each run is a new simulation of the loaded model: no
    state carries over between runs.

    A run with another final time, time step or save interval uses a copy of the
    model whose control section states them (pysimlin 0.8.5's ``set_sim_specs``
    refuses every patch because of an error in its own stdlib ``npv`` model), kept
    in the cache beside PySD's translation and loaded once per process.

    Simlin runs the model either as its own WebAssembly compilation of the model
    under wasmtime (the default when available: the same simulation, about 8x
    faster) or in its bytecode VM; ``backend`` or ``$TRANSFER_SIM_SIMLIN_BACKEND``
    chooses (:data:`BACKENDS`), and a test holds the two equal.

    Parameters
    ----------
    model_path : path-like, optional
        Model file; the bundled model by default.
    backend : {"auto", "wasm", "vm"}, optional
        How to run; ``$TRANSFER_SIM_SIMLIN_BACKEND`` or ``auto`` by default.
    """

    name = "simlin"

    def __init__(self, model_path: str | Path | None = None, backend: str | None = None):
        import simlin

        choice = backend or os.environ.get("TRANSFER_SIM_SIMLIN_BACKEND", "auto")
        if choice not in BACKENDS:
            raise ModelError(f"unknown Simlin backend {choice!r}; allowed: {', '.join(BACKENDS)}")
        if choice == "wasm" and not wasm_available():
            raise ModelError("Simlin backend 'wasm' needs the wasmtime package")
        self.backend = "wasm" if choice == "wasm" or (choice == "auto"
                                                      and wasm_available()) else "vm"
        self._wasm: dict[tuple[float, float, float], WasmSimulation] = {}
        self._columns: dict[tuple[tuple[float, float, float], str], object] = {}

        self.model_path = Path(model_path) if model_path else default_model_path()
        self._simlin = simlin
        self._text = self.model_path.read_text(encoding="utf-8")
        self._hash = model_hash(self.model_path)
        self._model = self._load(self.model_path)
        self._catalogue = catalogue(self.model_path)
        self._outputs = output_variables(self._catalogue)
        self._subscripted = {n for n, s in self._catalogue["Subscripts"].items() if s}
        self._default_dt = float(self._model.time_spec.dt)
        self._default_specs = (self._control("FINAL TIME"), self._default_dt,
                               self._control("SAVEPER"))
        self._models = {self._default_specs: self._model}
        self._years = year_elements()

    def _load(self, path: Path):  # noqa: ANN202 - simlin type
        try:
            return self._simlin.load(path)
        except Exception as exc:
            raise ModelError(f"{path}: Simlin could not load the model: {exc}") from exc

    def _control(self, name: str) -> float:
        match = re.search(rf"^{name}\s*=\s*([0-9.eE+-]+)", self._text, flags=re.MULTILINE)
        if match is None:
            raise ModelError(f"{self.model_path}: no {name} in the control section")
        return float(match.group(1))

    def _model_for(self, specs: tuple[float, float, float]):  # noqa: ANN202 - simlin type
        if specs in self._models:
            return self._models[specs]
        text = self._text
        for name, value in zip(("FINAL TIME", "TIME STEP", "SAVEPER"), specs, strict=True):
            text = re.sub(rf"^({name}\s*=\s*)([0-9.eE+-]+)",
                          lambda m, v=value: f"{m.group(1)}{v!r}", text, count=1,
                          flags=re.MULTILINE)
        key = "-".join(f"{v:g}" for v in specs)
        path = cache_dir() / f"{self._hash[:20]}-simlin" / f"transfer-{key}.mdl"
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            tmp = path.with_suffix(f".{id(self)}.tmp")
            tmp.write_text(text, encoding="utf-8")
            tmp.replace(path)
        self._models[specs] = self._load(path)
        return self._models[specs]

    @property
    def version(self) -> str:
        """Version of the ``pysimlin`` package."""
        return version("pysimlin")

    @property
    def model(self):  # noqa: ANN201 - simlin type
        """The loaded ``simlin.Model`` (for checks and loop analysis)."""
        return self._model

    def _overrides(self, inputs) -> dict[str, float]:
        out: dict[str, float] = {}
        for name, value in inputs.items():
            if np.ndim(value) == 0:
                out[name] = float(value)
                continue
            elements = subscript_elements(self._catalogue, name)
            values = np.asarray(value, dtype=float)
            if values.shape != (len(elements),):
                raise ModelError(f"{name}: expected {len(elements)} values, got {values.shape}")
            for element, v in zip(elements, values, strict=True):
                out[f"{name}[{element}]"] = float(v)
        return out

    def _wasm_for(self, specs: tuple[float, float, float]) -> WasmSimulation:
        if specs not in self._wasm:
            try:
                self._wasm[specs] = WasmSimulation(self._model_for(specs))
            except Exception as exc:
                raise ModelError(f"Simlin could not compile the model to WebAssembly: {exc}; "
                                 "set TRANSFER_SIM_SIMLIN_BACKEND=vm") from exc
        return self._wasm[specs]

    def _column(self, specs: tuple[float, float, float], sim: WasmSimulation,
                name: str) -> object:
        key = (specs, name)
        if key not in self._columns:
            if name in self._subscripted:
                self._columns[key] = [sim.slot(f"{name}[{s}]") for s in SECTORS]
            else:
                self._columns[key] = sim.slot(name)
        return self._columns[key]

    def _run_wasm(self, spec: RunSpec, specs: tuple[float, float, float]) -> RawResult:
        sim = self._wasm_for(specs)
        table = sim.run(self._overrides(spec.inputs))
        names = list(spec.variables) if spec.variables is not None else self._outputs
        data = {name: table[:, self._column(specs, sim, name)] for name in names}
        return RawResult(time=table[:, sim.slot("time")], data=data)

    def run(self, spec: RunSpec) -> RawResult:
        """Run the model once from its defaults plus ``spec.inputs``."""
        dt = spec.time_step if spec.time_step is not None else self._default_dt
        specs = (float(spec.final_time), float(dt), float(spec.saveper))
        if self.backend == "wasm":
            return self._run_wasm(spec, specs)
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
                data[name] = np.stack([sim.get_series(f"{name}[{s}]") for s in SECTORS], axis=1)
            else:
                data[name] = sim.get_series(name)
        return RawResult(time=time, data=data)
