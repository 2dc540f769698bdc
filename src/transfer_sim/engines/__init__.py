"""Two engines behind one interface: ``pysd`` (reference) and ``simlin`` (fast)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from transfer_sim.engines.base import Engine, RawResult, RunSpec, output_variables
from transfer_sim.errors import InputError

__all__ = ["ENGINES", "DEFAULT_ENGINE", "get_engine", "Engine", "RawResult", "RunSpec",
           "output_variables"]

#: Engine names accepted by ``--engine``.
ENGINES = ("simlin", "pysd")
#: The fast engine is the default while the cross-engine equality test passes.
DEFAULT_ENGINE = "simlin"


def get_engine(name: str = DEFAULT_ENGINE, model_path: str | Path | None = None) -> Engine:
    """Return an engine instance (one per name and model file per process).

    Parameters
    ----------
    name : {"simlin", "pysd"}
        Engine name.
    model_path : path-like, optional
        Model file; the bundled model by default.
    """
    if name not in ENGINES:
        raise InputError(f"unknown engine {name!r}; allowed: {', '.join(ENGINES)}", key="engine")
    return _cached(name, str(model_path) if model_path else None)


@lru_cache(maxsize=8)
def _cached(name: str, model_path: str | None) -> Engine:
    if name == "pysd":
        from transfer_sim.engines.pysd_engine import PySDEngine

        return PySDEngine(model_path)
    from transfer_sim.engines.simlin_engine import SimlinEngine

    return SimlinEngine(model_path)
