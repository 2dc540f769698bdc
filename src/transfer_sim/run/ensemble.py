"""Uncertainty ensembles: sample, run in blocks on local processes or Dask, stream to disk.

The unit-hypercube sample comes from :mod:`scipy.stats.qmc` (or is given, for
sensitivity analysis) and is mapped through each uncertainty's ``ppf``. Every scenario
runs the same sample (common random numbers), so differences between scenarios are
not sampling noise. A scenario's levers and calibrated ``[parameters]`` apply to each
of its runs; where a calibrated parameter is also an uncertainty, the sampled values
replace the point estimate (recorded in the file's ``scenario_provenance``).

Runs are grouped in blocks of ``chunk_size``. Each block is a task for an executor —
a :class:`concurrent.futures.ProcessPoolExecutor` by default, a Dask cluster's
executor when a scheduler address is given — whose worker builds its engine once and
returns the block's series. The main process writes each finished block to its own
NetCDF file in a work folder beside the output (``OUT.nc.work/``), atomically, so a
block file exists only when complete. The work folder's ``manifest.json`` holds a
fingerprint of everything that determines the results (model, engine, scenarios,
uncertainties, the sample itself, block size): rerunning the same command after an
interruption (Ctrl-C, a killed worker) runs only the missing blocks, and a command
with other settings is refused rather than mixed in. When every block is there, they
are copied one at a time into the output file (written atomically), so memory stays
flat in the number of runs, and the work folder is removed.

The parts: :class:`~transfer_sim.run.ensemble_spec.EnsembleSpec` (what to run, its
fingerprint), :class:`~transfer_sim.run.block_store.BlockStore` (the work folder),
:class:`~transfer_sim.run.executors.Execution` (where to run); this module holds the
worker side (:class:`Block`, :func:`run_block`) and :func:`run_ensemble`, which ties
them together.
"""

from __future__ import annotations

import concurrent.futures as cf
import json
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

import numpy as np

from transfer_sim.engines import RunSpec
from transfer_sim.errors import ModelError, TransferSimError
from transfer_sim.inputs.scenarios import Scenario
from transfer_sim.inputs.uncertainty import UncertaintySet
from transfer_sim.io.atomic import check_writable
from transfer_sim.io.formatting import jsonable
from transfer_sim.io.progress import Progress
from transfer_sim.io.versions import package_version
from transfer_sim.run.block_store import BlockStore, work_dir_for
from transfer_sim.run.ensemble_spec import (
    DEFAULT_SEED,
    SAMPLERS,
    EnsembleSpec,
    default_variables,
    sample_unit,
)
from transfer_sim.run.executors import Execution, open_executor
from transfer_sim.run.plan import with_inputs

__all__ = [
    "SAMPLERS",
    "DEFAULT_SEED",
    "sample_unit",
    "default_variables",
    "run_ensemble",
    "run_block",
    "Block",
    "EnsembleSpec",
    "BlockStore",
    "Execution",
    "work_dir_for",
]


@dataclass(frozen=True)
class Block:
    """A block of runs of one scenario: the unit of work sent to a worker.

    :func:`run_block` runs every row of ``values`` over ``spec`` with the worker
    thread's own engine, built from ``engine`` and ``model_path`` on first use, as one
    ``run_batch`` call (the ``batch`` engine advances the block's runs together).

    Parameters
    ----------
    engine : str
        A key of :data:`transfer_sim.engines.ENGINE_REGISTRY`.
    model_path : str or None
        Model file (must be readable where the worker runs); bundled by default.
    spec : RunSpec
        The scenario's planned run (:func:`transfer_sim.run.plan.plan`).
    names : tuple of str
        Uncertain constants, in sample column order.
    values : numpy.ndarray
        Shape ``(n, len(names))``: the sampled values of the block's runs, applied
        over ``spec`` run by run (:func:`transfer_sim.run.plan.with_inputs`).
    """

    engine: str
    model_path: str | None
    spec: RunSpec
    names: tuple[str, ...]
    values: np.ndarray


_LOCAL = threading.local()


def _worker_engine(name: str, model_path: str | None) -> Any:
    """Return this thread's engine, built on first use (engines are not thread-safe)."""
    cache = getattr(_LOCAL, "engines", None)
    if cache is None:
        cache = _LOCAL.engines = {}
    key = (name, model_path)
    if key not in cache:
        from transfer_sim.engines import create_engine

        cache[key] = create_engine(name, model_path)
    return cache[key]


def run_block(block: Block) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """Run every run of a block (in a worker).

    Parameters
    ----------
    block : Block
        What to run.

    Returns
    -------
    time : numpy.ndarray
        Output times, shape ``(t,)``.
    data : dict
        Variable -> array of shape ``(n, t)`` or ``(n, t, len(SECTORS))``.
    """
    engine = _worker_engine(block.engine, block.model_path)
    specs = [with_inputs(block.spec, dict(zip(block.names, (float(x) for x in row),
                                                strict=True)))
             for row in np.asarray(block.values, dtype=float)]
    result = engine.run_batch(specs)
    return result.time, {v: result.data[v] for v in tuple(block.spec.variables or ())}


_SPEC_OPTIONS = frozenset(f.name for f in fields(EnsembleSpec)) - {"scenarios",
                                                                    "uncertainties"}
_EXECUTION_OPTIONS = frozenset(f.name for f in fields(Execution))


def _spec_and_execution(spec: EnsembleSpec | Sequence[Scenario],
                        uncertainties: UncertaintySet | None, execution: Execution | None,
                        options: Mapping[str, Any]) -> tuple[EnsembleSpec, Execution]:
    """Build the spec and the execution from :func:`run_ensemble`'s keyword options."""
    unknown = sorted(set(options) - _SPEC_OPTIONS - _EXECUTION_OPTIONS)
    if unknown:
        raise TypeError(f"run_ensemble() got unexpected keyword arguments: {unknown}")
    if not isinstance(spec, EnsembleSpec):
        if uncertainties is None:
            raise TypeError("run_ensemble(scenarios, uncertainties, ...) needs uncertainties")
        spec = EnsembleSpec(spec, uncertainties,
                            **{k: v for k, v in options.items() if k in _SPEC_OPTIONS})
    elif uncertainties is not None or set(options) & _SPEC_OPTIONS:
        raise TypeError("give either an EnsembleSpec or scenarios, uncertainties and options")
    if execution is None:
        execution = Execution(**{k: v for k, v in options.items() if k in _EXECUTION_OPTIONS})
    return spec, execution


def run_ensemble(spec: EnsembleSpec | Sequence[Scenario],
                 uncertainties: UncertaintySet | None = None, *,
                 output: str | Path, execution: Execution | None = None,
                 progress: Progress | None = None, attrs: Mapping[str, Any] | None = None,
                 on_block: Callable[[int, int], None] | None = None,
                 **options: Any) -> Path:
    """Run an uncertainty ensemble of one or more scenarios and write it to NetCDF.

    Rerunning the same call after an interruption resumes it: finished blocks are
    kept in the work folder (:func:`work_dir_for`) and only the missing ones run.

    Parameters
    ----------
    spec : EnsembleSpec or sequence of Scenario
        What to run; or the scenarios, with ``uncertainties`` and the spec's other
        fields (``runs``, ``sampler``, ``seed``, ``engine``, ``final_year``, ...) as
        keyword ``options``.
    uncertainties : UncertaintySet, optional
        With scenarios as ``spec``: the uncertain constants.
    output : path-like
        NetCDF file to write (atomically).
    execution : Execution, optional
        Where to run; or ``workers``, ``scheduler``, ``executor`` as keyword
        ``options``. Local processes, one per usable core, by default.
    progress : callable, optional
        ``progress(done, total, label)`` after each block, in runs
        (:mod:`transfer_sim.io.progress`).
    attrs : mapping, optional
        Extra attributes for the output file.
    on_block : callable, optional
        Called as ``on_block(done, total)`` in blocks after each block is written.
    **options
        Fields of :class:`EnsembleSpec` and :class:`Execution`.

    Returns
    -------
    pathlib.Path
        The output file. Its Dataset has dims ``scenario``, ``run``, ``time``,
        ``sector``; each uncertainty's sampled values as a variable over ``run``;
        the outputs over ``(scenario, run, time[, sector])``.

    Raises
    ------
    InputError
        Bad settings, or a work folder left by an ensemble with other settings.
    ModelError
        A run failed or a worker died; finished blocks are kept for a rerun.
    """
    spec, execution = _spec_and_execution(spec, uncertainties, execution, options)
    out = check_writable(output)
    spec.validate()
    store = BlockStore.open(work_dir_for(out), spec.fingerprint(), spec.summary())
    todo = [(s, c) for s in range(len(spec.plans)) for c in range(spec.n_chunks)
            if not store.has(s, c)]
    tracker = _Tracker(spec, todo, progress, on_block)
    if todo:
        _run_blocks(spec, store, todo, execution, tracker)
    store.combine(out, spec, _metadata(spec, store.manifest["created"], attrs))
    store.remove()
    return out


class _Tracker:
    """Counts finished blocks and runs and reports them."""

    def __init__(self, spec: EnsembleSpec, todo: Sequence[tuple[int, int]],
                 progress: Progress | None, on_block: Callable[[int, int], None] | None):
        self.total_blocks = len(spec.plans) * spec.n_chunks
        self.blocks = self.total_blocks - len(todo)
        self.total_runs = len(spec.plans) * spec.runs
        self.runs = self.total_runs - sum(hi - lo for lo, hi in
                                          (spec.chunk_rows(c) for _, c in todo))
        self._progress, self._on_block = progress, on_block

    def start(self) -> None:
        """Report where the work starts, once the executor is up.

        A failure to start the executor is then the only thing printed.
        """
        if self._progress is not None:
            self._progress(self.runs, self.total_runs,
                           f"block {self.blocks} of {self.total_blocks}")

    def done(self, runs: int) -> None:
        self.blocks += 1
        self.runs += runs
        if self._progress is not None:
            self._progress(self.runs, self.total_runs,
                           f"block {self.blocks} of {self.total_blocks}")
        if self._on_block is not None:
            self._on_block(self.blocks, self.total_blocks)

    def kept(self, work: Path) -> str:
        return (f"{self.blocks} of {self.total_blocks} blocks are kept in {work}; "
                "rerun the same command to resume")


def _block(spec: EnsembleSpec, s: int, c: int) -> Block:
    lo, hi = spec.chunk_rows(c)
    return Block(engine=spec.engine, model_path=spec.model, spec=spec.plans[s].spec,
                 names=tuple(spec.uncertainties.names), values=spec.values[lo:hi])


def _run_blocks(spec: EnsembleSpec, store: BlockStore, todo: Iterable[tuple[int, int]],
                execution: Execution, tracker: _Tracker) -> None:
    """Run the blocks in ``todo`` on the executor, writing each as it finishes."""
    with open_executor(execution) as (pool, in_flight):
        tracker.start()
        pending: dict[cf.Future, tuple[int, int]] = {}
        queue = iter(todo)

        def submit() -> None:
            key = next(queue, None)
            if key is not None:
                pending[pool.submit(run_block, _block(spec, *key))] = key

        try:
            for _ in range(in_flight):
                submit()
            while pending:
                finished, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                for fut in finished:
                    s, c = pending.pop(fut)
                    time, data = _result(fut, spec.plans[s].name, c, tracker.kept(store.folder))
                    store.write_block(s, c, spec.chunk_rows(c)[0], time, data)
                    tracker.done(next(iter(data.values())).shape[0])
                    submit()
        except KeyboardInterrupt:
            for fut in pending:
                fut.cancel()
            raise KeyboardInterrupt(f"ensemble interrupted: {tracker.kept(store.folder)}"
                                    ) from None


def _result(fut: cf.Future, scenario: str, c: int,
            kept: str) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    try:
        return fut.result()
    except cf.process.BrokenProcessPool as exc:
        raise ModelError(f"a worker process died ({exc}); {kept}") from None
    except TransferSimError as exc:
        raise ModelError(f"scenario {scenario!r} block {c}: {exc}; {kept}") from exc
    except Exception as exc:
        raise ModelError(f"scenario {scenario!r} block {c} failed: "
                         f"{type(exc).__name__}: {exc}; {kept}") from exc


def _metadata(spec: EnsembleSpec, created: str,
              attrs: Mapping[str, Any] | None) -> dict[str, Any]:
    """Return the output file's attributes (provenance)."""
    unc = spec.uncertainties
    meta: dict[str, Any] = {
        "title": "transfer-sim uncertainty ensemble of model/transfer.mdl",
        "model_file": spec.model_file.name, "model_sha256": spec.description()["model_sha256"],
        "transfer_sim_version": package_version("transfer-sim"),
        "pysd_version": package_version("pysd"), "pysimlin_version": package_version("pysimlin"),
        "created": created, "engine": spec.engine, "runs": int(spec.runs),
        "final_year": spec.run_final_year, **spec.sample_description,
        "uncertainty_file": str(unc.path) if unc.path else "",
        "uncertainty_sha256": unc.sha256, "uncertainty_description": unc.description,
        "uncertainties": json.dumps(spec.uncertainty_rows, ensure_ascii=False),
        "scenario_provenance": json.dumps({p.name: jsonable(dict(p.provenance))
                                           for p in spec.plans}, ensure_ascii=False),
    }
    for k, v in (attrs or {}).items():
        meta[k] = v if isinstance(v, str | int | float) else json.dumps(jsonable(v))
    return meta
