"""What an ensemble is: scenarios, uncertainties, the sample and the run settings.

:class:`EnsembleSpec` holds everything that determines an ensemble's results and
nothing about where it runs (see :mod:`transfer_sim.run.executors`) or where it is
written (see :mod:`transfer_sim.run.block_store`). Its :meth:`~EnsembleSpec.fingerprint`
is what a work folder's manifest records, so that a resumed ensemble is the same
one. Each scenario is planned once (:func:`transfer_sim.run.plan.plan`); the sampled
uncertainties are added run by run in the workers.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
from scipy.stats import qmc

from transfer_sim.analysis.kpis import required_variables
from transfer_sim.engines import AUTO_ENGINE, DEFAULT_ENGINE, ENGINES, RunSpec, engine_for_runs
from transfer_sim.engines.base import output_variables
from transfer_sim.errors import InputError
from transfer_sim.inputs.run_settings import validate_final_year
from transfer_sim.inputs.scenarios import Scenario
from transfer_sim.inputs.uncertainty import UncertaintySet
from transfer_sim.io.formatting import jsonable
from transfer_sim.model.core import catalogue, default_model_path, model_hash
from transfer_sim.run.plan import DEFAULT_SAVEPER, plan

__all__ = ["EnsembleSpec", "ScenarioPlan", "SAMPLERS", "DEFAULT_SEED", "sample_unit",
           "default_variables"]

#: Samplers accepted by ``--sampler``.
SAMPLERS = ("lhs", "sobol", "random")
#: Seed used when none is given, so that the same command gives the same sample.
DEFAULT_SEED = 0
#: Kept by default besides the indicators' outputs: revenue by sector.
_SECTOR_VIEW = ("revenue",)


def default_variables() -> list[str]:
    """Return the outputs an ensemble keeps by default: the indicators' and revenue by sector."""
    return list(dict.fromkeys([*required_variables(), *_SECTOR_VIEW]))


def sample_unit(n: int, d: int, sampler: str = "lhs", seed: int = DEFAULT_SEED) -> np.ndarray:
    """Draw ``n`` points in the unit hypercube ``[0, 1)^d``.

    Parameters
    ----------
    n : int
        Number of points (runs).
    d : int
        Number of dimensions (uncertainties).
    sampler : {"lhs", "sobol", "random"}
        Latin hypercube, scrambled Sobol' sequence, or plain pseudo-random points.
        Sobol' points are drawn as the next power of two and the first ``n`` kept.
    seed : int
        Seed of :func:`numpy.random.default_rng`; the same seed gives the same points.

    Returns
    -------
    numpy.ndarray
        Shape ``(n, d)``.
    """
    if sampler not in SAMPLERS:
        raise InputError(f"unknown sampler {sampler!r}; allowed: {', '.join(SAMPLERS)}",
                         key="sampler")
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise InputError(f"runs must be a positive whole number, got {n!r}", key="runs")
    rng = np.random.default_rng(seed)
    if sampler == "lhs":
        return qmc.LatinHypercube(d, rng=rng).random(n)
    if sampler == "sobol":
        m = max(0, math.ceil(math.log2(n)))
        return qmc.Sobol(d, scramble=True, rng=rng).random_base2(m)[:n]
    return rng.random((n, d))


@dataclass(frozen=True)
class ScenarioPlan:
    """One scenario of an ensemble, planned: its run (without the sampled values).

    Attributes
    ----------
    name : str
        The scenario's name, its label on the output's ``scenario`` axis.
    spec : RunSpec
        The scenario's run (:func:`transfer_sim.run.plan.plan`).
    provenance : mapping
        What the output file records about the scenario.
    """

    name: str
    spec: RunSpec
    provenance: Mapping[str, Any]


def _positive_int(value: Any, what: str, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise InputError(f"{what} must be a positive whole number, got {value!r}", key=key)
    return int(value)


def _default_chunk_size(runs: int, engine: str = DEFAULT_ENGINE) -> int:
    """Return the runs per block: about 100 blocks; for ``batch`` ~20 whole compiled chunks."""
    if engine == "batch":
        from transfer_sim.engines.batch.compiled import chunk_size

        per_call = chunk_size()
        return int(per_call * min(16, max(1, math.ceil(runs / 20 / per_call))))
    return int(min(500, max(10, math.ceil(runs / 100))))


@dataclass(frozen=True)
class EnsembleSpec:
    """Everything that determines an ensemble's results.

    Parameters
    ----------
    scenarios : sequence of Scenario
        Scenarios (each runs every sampled point); names must be unique.
    uncertainties : UncertaintySet
        The uncertain constants and their distributions.
    runs : int
        Number of sampled points (runs per scenario).
    sampler : {"lhs", "sobol", "random"}
        Sampler of :func:`sample_unit` (ignored with ``unit_sample``).
    seed : int
        Sampler seed; the same seed gives the same ensemble.
    unit_sample : numpy.ndarray, optional
        A given unit-hypercube sample of shape ``(runs, len(uncertainties))``
        (e.g. Saltelli's), used instead of ``sampler``.
    engine : {"auto", "simlin", "pysd", "batch"}
        Engine to run the model with; ``auto`` (the default) takes ``batch`` from
        :data:`~transfer_sim.engines.BATCH_FROM_RUNS` runs over all scenarios, else
        ``simlin`` (:func:`~transfer_sim.engines.engine_for_runs`); the resolved name
        is what the spec holds.
    final_year : int, optional
        Last simulated year; the latest the scenarios ask for by default.
    saveper : float
        Output interval [Year].
    variables : sequence of str, optional
        Outputs to keep; :func:`default_variables` by default.
    all_variables : bool
        Keep every model output.
    chunk_size : int, optional
        Runs per block; from ``runs`` by default (10 to 500).
    model_path : path-like, optional
        Model file (readable where the workers run); the bundled model by default.

    Raises
    ------
    InputError
        For an unknown engine or no scenarios (at once); other settings are checked
        by :meth:`validate`.
    """

    scenarios: Sequence[Scenario]
    uncertainties: UncertaintySet
    runs: int
    sampler: str = "lhs"
    seed: int = DEFAULT_SEED
    unit_sample: np.ndarray | None = None
    engine: str = AUTO_ENGINE
    final_year: int | None = None
    saveper: float = DEFAULT_SAVEPER
    variables: Sequence[str] | None = None
    all_variables: bool = False
    chunk_size: int | None = None
    model_path: str | os.PathLike[str] | None = None

    def __post_init__(self) -> None:
        if self.engine not in (*ENGINES, AUTO_ENGINE):
            raise InputError(f"unknown engine {self.engine!r}; allowed: "
                             f"{', '.join((AUTO_ENGINE, *ENGINES))}", key="engine")
        if not self.scenarios:
            raise InputError("no scenarios given", key="scenario")
        runs = self.runs if isinstance(self.runs, int) else 0
        object.__setattr__(self, "engine", engine_for_runs(self.engine,
                                                           runs * len(self.scenarios)))

    def validate(self) -> EnsembleSpec:
        """Check every setting (and plan every scenario); return the spec."""
        for prop in ("outputs", "run_final_year", "plans", "values", "block_size"):
            getattr(self, prop)
        return self

    # -- settings, checked
    @property
    def model(self) -> str | None:
        """The model file as a string (None for the bundled one)."""
        return str(self.model_path) if self.model_path is not None else None

    @cached_property
    def model_file(self) -> Path:
        """The model file."""
        return Path(self.model) if self.model else default_model_path()

    @cached_property
    def outputs(self) -> tuple[str, ...]:
        """The outputs kept, checked against the model."""
        allowed = output_variables(catalogue(self.model))
        if self.all_variables:
            return tuple(allowed)
        wanted = list(self.variables) if self.variables is not None else default_variables()
        bad = [v for v in wanted if v not in set(allowed)]
        if bad:
            raise InputError(f"not a model output: {', '.join(bad)}", key="variables")
        return tuple(wanted)

    @cached_property
    def run_final_year(self) -> int:
        """The final year of every run (checked)."""
        fy = self.final_year if self.final_year is not None else max(
            s.final_year for s in self.scenarios)
        return validate_final_year(fy)

    @cached_property
    def plans(self) -> tuple[ScenarioPlan, ...]:
        """Each scenario planned (levers and calibrated parameters resolved)."""
        names = [s.name for s in self.scenarios]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InputError(f"scenario names must be unique; repeated: {', '.join(dupes)}",
                             key="scenario")
        return tuple(self._plan(s) for s in self.scenarios)

    def _plan(self, s: Scenario) -> ScenarioPlan:
        spec = plan(s, final_year=self.run_final_year, variables=self.outputs,
                    saveper=self.saveper, model_path=self.model)
        prov = dict(s.provenance())
        prov["levers"] = jsonable(dict(s.levers))
        if s.parameters:
            prov["parameters"] = jsonable(dict(s.parameters))
        replaced = sorted(set(self.uncertainties.names) & set(spec.inputs))
        if replaced:
            prov["parameters_replaced_by_uncertainties"] = replaced
        return ScenarioPlan(s.name, spec, prov)

    @cached_property
    def sample_description(self) -> dict[str, Any]:
        """How the sample was drawn (``sampler``, ``seed``), for the file and manifest."""
        if self.unit_sample is not None:
            return {"sampler": "given"}
        return {"sampler": self.sampler, "seed": int(self.seed)}

    @cached_property
    def values(self) -> np.ndarray:
        """The sampled values, shape ``(runs, len(uncertainties))``."""
        d = len(self.uncertainties)
        if self.unit_sample is None:
            unit = sample_unit(self.runs, d, self.sampler, self.seed)
        else:
            unit = np.asarray(self.unit_sample, dtype=float)
            if unit.shape != (self.runs, d) or not np.all((unit >= 0) & (unit <= 1)):
                raise InputError(f"given sample must be ({self.runs}, {d}) in [0, 1], got "
                                 f"shape {unit.shape}", key="sample")
        return self.uncertainties.values(unit)

    @cached_property
    def block_size(self) -> int:
        """Runs per block (checked)."""
        chunk = self.chunk_size if self.chunk_size is not None else _default_chunk_size(
            self.runs, self.engine)
        return _positive_int(chunk, "chunk size", "chunk_size")

    @property
    def n_chunks(self) -> int:
        """Blocks per scenario."""
        return math.ceil(self.runs / self.block_size)

    def chunk_rows(self, c: int) -> tuple[int, int]:
        """Return the first and one-past-last run of block ``c``."""
        return c * self.block_size, min(self.runs, (c + 1) * self.block_size)

    # -- identity
    @cached_property
    def uncertainty_rows(self) -> list[dict[str, Any]]:
        """Each uncertainty as ``{name, distribution, params}``."""
        return [{"name": u.name, "distribution": u.distribution, "params": dict(u.params)}
                for u in self.uncertainties]

    def description(self) -> dict[str, Any]:
        """Return everything that determines the results, as JSON-safe values."""
        return {
            "engine": self.engine, "model_sha256": model_hash(self.model_file),
            "final_year": self.run_final_year, "saveper": float(self.saveper),
            "variables": list(self.outputs), "chunk_size": self.block_size,
            "runs": int(self.runs), **self.sample_description,
            "sample_sha256": hashlib.sha256(
                np.ascontiguousarray(self.values).tobytes()).hexdigest(),
            "uncertainties": self.uncertainty_rows,
            "scenarios": [{"name": p.name, "inputs": jsonable(dict(p.spec.inputs)),
                           "time_step": p.spec.time_step} for p in self.plans],
        }

    def fingerprint(self) -> str:
        """Return the SHA-256 of :meth:`description`: equal fingerprints, equal results."""
        return hashlib.sha256(json.dumps(self.description(), sort_keys=True).encode()
                              ).hexdigest()

    def summary(self) -> dict[str, Any]:
        """Return what a work folder's manifest shows a reader besides the fingerprint."""
        return {"scenarios": [p.name for p in self.plans], "runs": int(self.runs),
                **self.sample_description}
