"""Three engines behind one interface: ``pysd`` (reference), ``simlin`` and ``batch``.

:data:`ENGINE_REGISTRY` names each engine's class as ``"module:Class"``, imported
only when the engine is built, so choosing Simlin never imports PySD. Both
:func:`get_engine` (one shared instance per process) and the ensemble workers
(:func:`create_engine`, one instance per worker thread) build engines from it.
"""

from __future__ import annotations

import importlib
from functools import lru_cache
from pathlib import Path

from transfer_sim.engines.base import BatchResult, Engine, RawResult, RunSpec, output_variables
from transfer_sim.errors import InputError

__all__ = ["ENGINE_REGISTRY", "ENGINES", "DEFAULT_ENGINE", "AUTO_ENGINE", "BATCH_FROM_RUNS",
           "engine_for_runs", "engine_class", "create_engine",
           "get_engine", "Engine", "RawResult", "BatchResult", "RunSpec", "output_variables"]

#: Engine name -> ``"module:Class"`` of its implementation.
ENGINE_REGISTRY: dict[str, str] = {
    "simlin": "transfer_sim.engines.simlin_engine:SimlinEngine",
    "pysd": "transfer_sim.engines.pysd_engine:PySDEngine",
    "batch": "transfer_sim.engines.batch.engine:BatchEngine",
}
#: Engine names accepted by ``--engine``.
ENGINES = tuple(ENGINE_REGISTRY)
#: The fast engine is the default while the cross-engine equality test passes.
DEFAULT_ENGINE = "simlin"
#: What ensembles and sensitivity take by default: :func:`engine_for_runs` chooses.
AUTO_ENGINE = "auto"
#: Runs (over all scenarios) from which ``auto`` takes the batch engine: below, its start
#: (tracing, and compiling on first use of a grid: ~20 s) costs more than it saves
#: (measured: benchmarks/ensemble.py; Simlin ~70 runs/s a worker, batch several hundred).
BATCH_FROM_RUNS = 2_000


def engine_for_runs(name: str, runs: int) -> str:
    """Resolve ``auto`` for a job of ``runs`` model runs (other names pass through).

    Examples
    --------
    >>> engine_for_runs("auto", 100), engine_for_runs("auto", 10_000), engine_for_runs("pysd", 5)
    ('simlin', 'batch', 'pysd')
    """
    if name != AUTO_ENGINE:
        return name
    return "batch" if runs >= BATCH_FROM_RUNS else DEFAULT_ENGINE


def engine_class(name: str) -> type[Engine]:
    """Return the class registered as ``name``.

    Raises
    ------
    InputError
        For a name that is not in :data:`ENGINE_REGISTRY`.
    """
    if name not in ENGINE_REGISTRY:
        raise InputError(f"unknown engine {name!r}; allowed: {', '.join(ENGINES)}", key="engine")
    module, _, cls = ENGINE_REGISTRY[name].partition(":")
    return getattr(importlib.import_module(module), cls)


def create_engine(name: str = DEFAULT_ENGINE, model_path: str | Path | None = None) -> Engine:
    """Build a new engine instance (engines are not thread-safe: one per thread).

    Parameters
    ----------
    name : str
        A key of :data:`ENGINE_REGISTRY`.
    model_path : path-like, optional
        Model file; the bundled model by default.
    """
    return engine_class(name)(model_path)


def get_engine(name: str = DEFAULT_ENGINE, model_path: str | Path | None = None) -> Engine:
    """Return an engine instance (one per name and model file per process).

    The instance is shared and not thread-safe (Simlin's WebAssembly store is not):
    threads should each use :func:`create_engine`.

    Parameters
    ----------
    name : {"simlin", "pysd", "batch"}
        Engine name.
    model_path : path-like, optional
        Model file; the bundled model by default.
    """
    engine_class(name)  # validates the name before caching
    return _cached(name, str(model_path) if model_path else None)


@lru_cache(maxsize=8)
def _cached(name: str, model_path: str | None) -> Engine:
    return create_engine(name, model_path)
