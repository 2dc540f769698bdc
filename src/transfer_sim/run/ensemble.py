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
"""

from __future__ import annotations

import concurrent.futures as cf
import contextlib
import hashlib
import json
import math
import multiprocessing
import os
import shutil
import sys
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr
from scipy.stats import qmc

from transfer_sim.analysis.kpis import BASE_YEAR, KPIS, TARGET_YEAR
from transfer_sim.engines import DEFAULT_ENGINE, ENGINES, RunSpec
from transfer_sim.engines.base import output_variables
from transfer_sim.errors import InputError, ModelError, TransferSimError
from transfer_sim.inputs import levers as _levers
from transfer_sim.inputs import parameters as _parameters
from transfer_sim.inputs.uncertainty import UncertaintySet
from transfer_sim.model.core import SECTORS, catalogue, default_model_path, model_hash
from transfer_sim.run.results import atomic_path, check_writable
from transfer_sim.run.runner import _check_final_year

__all__ = [
    "SAMPLERS",
    "DEFAULT_SEED",
    "sample_unit",
    "kpi_variables",
    "run_ensemble",
    "run_block",
    "Block",
    "kpi_values",
    "kpi_series",
    "work_dir_for",
]

#: Samplers accepted by ``--sampler``.
SAMPLERS = ("lhs", "sobol", "random")
#: Seed used when none is given, so that the same command gives the same sample.
DEFAULT_SEED = 0
#: Extra model outputs the indicators need besides the KPI variables.
_KPI_EXTRA = ("industrial_revenue", "revenue")
_MANIFEST = "manifest.json"


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


def kpi_variables() -> list[str]:
    """Return the model outputs the indicators (:data:`~transfer_sim.analysis.kpis.KPIS`) need."""
    names = [k.variable for k in KPIS if k.variable is not None]
    return list(dict.fromkeys([*names, *_KPI_EXTRA]))


@dataclass(frozen=True)
class Block:
    """A block of runs of one scenario: the unit of work sent to a worker.

    Parameters
    ----------
    engine : str
        Engine name.
    model_path : str or None
        Model file (must be readable where the worker runs); bundled by default.
    inputs : mapping
        The scenario's model inputs (from its levers).
    names : tuple of str
        Uncertain constants, in sample column order.
    values : numpy.ndarray
        Shape ``(n, len(names))``: the sampled values of the block's runs.
    final_time, time_step, saveper : float
        Run settings (``time_step`` None for the model's own).
    variables : tuple of str
        Outputs to return.
    """

    engine: str
    model_path: str | None
    inputs: Mapping[str, Any]
    names: tuple[str, ...]
    values: np.ndarray
    final_time: float
    time_step: float | None
    saveper: float
    variables: tuple[str, ...]


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
    time: np.ndarray | None = None
    columns: dict[str, list[np.ndarray]] = {v: [] for v in block.variables}
    for row in np.asarray(block.values, dtype=float):
        inputs = dict(block.inputs)
        inputs.update(zip(block.names, (float(x) for x in row), strict=True))
        raw = engine.run(RunSpec(inputs=inputs, final_time=block.final_time,
                                 time_step=block.time_step, saveper=block.saveper,
                                 variables=block.variables))
        if time is None:
            time = raw.time
        for v in block.variables:
            columns[v].append(raw.data[v])
    assert time is not None  # a block has at least one run (built by _blocks)
    return time, {v: np.stack(arrs) for v, arrs in columns.items()}


@dataclass(frozen=True)
class _ScenarioPlan:
    name: str
    inputs: Mapping[str, Any]
    time_step: float | None
    provenance: Mapping[str, Any]


def work_dir_for(output: str | os.PathLike[str]) -> Path:
    """Return the work folder of an ensemble written to ``output`` (``OUT.nc.work``)."""
    p = Path(output)
    return p.with_name(p.name + ".work")


def _default_chunk_size(runs: int) -> int:
    return int(min(500, max(10, math.ceil(runs / 100))))


def _default_workers() -> int:
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, np.ndarray):
        return [float(x) for x in value.ravel()]
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def _scenario_plans(scenarios: Sequence[Any], final_year: int,
                    uncertain: Sequence[str],
                    model_path: str | None) -> list[_ScenarioPlan]:
    """Resolve each scenario's levers and calibrated parameters into model inputs.

    A constant that is both set by a scenario's ``[parameters]`` (a point estimate)
    and sampled as an uncertainty takes the sampled values; the provenance records
    which point estimates the uncertainties replaced.
    """
    names = [s.name for s in scenarios]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"scenario names must be unique; repeated: {', '.join(dupes)}",
                         key="scenario")
    plans = []
    for s in scenarios:
        file = str(s.path) if getattr(s, "path", None) else None
        inputs = _levers.resolve(s.levers, file=file, final_year=final_year)
        params = dict(getattr(s, "parameters", None) or {})
        inputs.update(_parameters.to_inputs(params, model_path=model_path))
        prov = dict(s.provenance()) if hasattr(s, "provenance") else {"scenario": s.name}
        prov["levers"] = _jsonable(dict(s.levers))
        if params:
            prov["parameters"] = _jsonable(params)
        replaced = sorted(set(uncertain) & set(inputs))
        if replaced:
            prov["parameters_replaced_by_uncertainties"] = replaced
        plans.append(_ScenarioPlan(s.name, inputs, s.time_step, prov))
    return plans


def _check_variables(variables: Sequence[str], model_path: str | None) -> tuple[str, ...]:
    cat = catalogue(model_path)
    allowed = set(output_variables(cat))
    bad = [v for v in variables if v not in allowed]
    if bad:
        raise InputError(f"not a model output: {', '.join(bad)}", key="variables")
    return tuple(variables)


def _var_attrs(cat: Any, name: str) -> dict[str, str]:
    row = cat.loc[name]
    units = row["Units"] if isinstance(row["Units"], str) and row["Units"] else "Dmnl"
    return {"units": units, "long_name": str(row["Real Name"]),
            "description": " ".join(str(row["Comment"]).split())}


def _block_name(s: int, c: int) -> str:
    return f"s{s:03d}-c{c:06d}.h5"


def _write_block(work: Path, s: int, c: int, start: int, time: np.ndarray,
                 data: Mapping[str, np.ndarray]) -> None:
    """Write one finished block as an HDF5 file, atomically (temporary name, rename)."""
    import h5py

    target = work / _block_name(s, c)
    tmp = target.with_suffix(f".{os.getpid()}.part")
    try:
        # One dataset for the whole block: HDF5 object look-ups cost ~0.3 ms each.
        n = next(iter(data.values())).shape[0]
        columns = [(v, a.shape[2] if a.ndim == 3 else 0) for v, a in data.items()]
        values = np.concatenate([a.reshape(n, len(time), -1) for a in data.values()], axis=2)
        with h5py.File(tmp, "w") as f:
            f.attrs["start"] = start
            f.attrs["columns"] = json.dumps(columns)
            f.create_dataset("time", data=time)
            f.create_dataset("values", data=values)
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise


def _prepare_work(work: Path, fingerprint: str, summary: Mapping[str, Any]) -> dict[str, Any]:
    manifest_path = work / _MANIFEST
    if manifest_path.exists():
        try:
            manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            manifest = {}
        if manifest.get("fingerprint") != fingerprint:
            raise InputError(f"work folder {work} holds an unfinished ensemble with other "
                             "settings; rerun that command to finish it, or delete the folder",
                             key="output")
        return manifest
    if work.exists() and any(work.iterdir()):
        raise InputError(f"work folder {work} exists without a manifest; delete it",
                         key="output")
    work.mkdir(parents=True, exist_ok=True)
    manifest = {"fingerprint": fingerprint,
                "created": datetime.now(UTC).isoformat(timespec="seconds"), **summary}
    tmp = manifest_path.with_suffix(".part")
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1), encoding="utf-8")
    os.replace(tmp, manifest_path)
    return manifest


@contextlib.contextmanager
def _executor(workers: int | None, scheduler: str | None,
              executor: cf.Executor | None) -> Iterator[tuple[cf.Executor, int]]:
    """Yield ``(executor, tasks to keep in flight)``."""
    if executor is not None:
        yield executor, 2 * max(1, workers or _default_workers())
        return
    if scheduler is not None:
        try:
            from distributed import Client
        except ImportError as exc:  # pragma: no cover - a declared dependency
            raise ModelError(f"--scheduler needs dask.distributed ({exc})") from None
        try:
            # Connect timeout: dask's distributed.comm.timeouts.connect (30 s default).
            client = Client(scheduler)
        except (OSError, TimeoutError) as exc:
            raise InputError(f"cannot reach the Dask scheduler at {scheduler!r} ({exc})",
                             key="scheduler") from None
        try:
            threads = sum(client.nthreads().values()) or 1
            yield client.get_executor(), 2 * threads
        finally:
            client.close()
        return
    n = workers if workers is not None else _default_workers()
    if isinstance(n, bool) or not isinstance(n, int) or n < 1:
        raise InputError(f"workers must be a positive whole number, got {n!r}", key="workers")
    pool = cf.ProcessPoolExecutor(max_workers=n, mp_context=_mp_context())
    try:
        yield pool, 2 * n
    except BaseException:
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    else:
        pool.shutdown(wait=True)


def _mp_context() -> multiprocessing.context.BaseContext:
    """Return the start method for local workers.

    ``fork`` where it is the platform's safe default (Linux, Python < 3.12): workers
    inherit the imported package and the model catalogue and start in about a second.
    Elsewhere ``forkserver`` (preloading this package) or ``spawn``: Python 3.12+
    warns that forking a multi-threaded process (the pool's own manager thread) may
    deadlock, and 3.14 no longer forks by default.
    """
    methods = multiprocessing.get_all_start_methods()
    if "fork" in methods and sys.platform.startswith("linux") and sys.version_info < (3, 12):
        return multiprocessing.get_context("fork")
    if "forkserver" in methods:
        ctx = multiprocessing.get_context("forkserver")
        ctx.set_forkserver_preload(["transfer_sim.run.ensemble"])
        return ctx
    return multiprocessing.get_context("spawn")


def _progress(total: int, initial: int, enabled: bool) -> Any:
    from tqdm import tqdm

    return tqdm(total=total, initial=initial, unit="run", desc="ensemble", file=sys.stderr,
                disable=None if enabled else True, dynamic_ncols=True)


def run_ensemble(scenarios: Sequence[Any], uncertainties: UncertaintySet, *, runs: int,
                 output: str | os.PathLike[str], sampler: str = "lhs",
                 seed: int = DEFAULT_SEED, engine: str = DEFAULT_ENGINE,
                 workers: int | None = None, scheduler: str | None = None,
                 executor: cf.Executor | None = None, chunk_size: int | None = None,
                 variables: Sequence[str] | None = None, all_variables: bool = False,
                 final_year: int | None = None, saveper: float = 0.25,
                 unit_sample: np.ndarray | None = None,
                 model_path: str | os.PathLike[str] | None = None, progress: bool = True,
                 attrs: Mapping[str, Any] | None = None,
                 on_block: Callable[[int, int], None] | None = None) -> Path:
    """Run an uncertainty ensemble of one or more scenarios and write it to NetCDF.

    Rerunning the same call after an interruption resumes it: finished blocks are
    kept in the work folder (:func:`work_dir_for`) and only the missing ones run.

    Parameters
    ----------
    scenarios : sequence of Scenario
        Scenarios (each runs every sampled point).
    uncertainties : UncertaintySet
        The uncertain constants and their distributions.
    runs : int
        Number of sampled points (runs per scenario).
    output : path-like
        NetCDF file to write (atomically).
    sampler : {"lhs", "sobol", "random"}
        Sampler of :func:`sample_unit` (ignored with ``unit_sample``).
    seed : int
        Sampler seed; the same seed gives the same ensemble.
    engine : {"simlin", "pysd"}
        Engine to run the model with.
    workers : int, optional
        Local worker processes; the number of usable cores by default.
    scheduler : str, optional
        Address of a Dask scheduler (``tcp://host:8786``); runs on that cluster
        instead of local processes. Workers need this package and the model file.
    executor : concurrent.futures.Executor, optional
        An executor to use as is (e.g. a Dask client's ``get_executor()``).
    chunk_size : int, optional
        Runs per block; from ``runs`` by default (10 to 500). Part of the
        fingerprint: resuming needs the same value.
    variables : sequence of str, optional
        Outputs to keep; the indicators' (:func:`kpi_variables`) by default.
    all_variables : bool
        Keep every model output.
    final_year : int, optional
        Last simulated year; the latest the scenarios ask for by default.
    saveper : float
        Output interval [Year].
    unit_sample : numpy.ndarray, optional
        A given unit-hypercube sample of shape ``(runs, len(uncertainties))``
        (e.g. Saltelli's), used instead of ``sampler``.
    model_path : path-like, optional
        Model file; the bundled model by default.
    progress : bool
        Show a progress bar on a terminal (stderr).
    attrs : mapping, optional
        Extra attributes for the output file.
    on_block : callable, optional
        Called in the main process as ``on_block(done, total)`` after each block
        is written (progress hooks, tests).

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
    if engine not in ENGINES:
        raise InputError(f"unknown engine {engine!r}; allowed: {', '.join(ENGINES)}",
                         key="engine")
    if not scenarios:
        raise InputError("no scenarios given", key="scenario")
    out = check_writable(output)
    mpath = str(model_path) if model_path is not None else None
    if all_variables:
        names = tuple(output_variables(catalogue(mpath)))
    else:
        names = _check_variables(list(variables) if variables is not None
                                 else kpi_variables(), mpath)
    fy = _check_final_year(final_year if final_year is not None
                           else max(s.final_year for s in scenarios))
    plans = _scenario_plans(scenarios, fy, uncertainties.names, mpath)
    d = len(uncertainties)
    if unit_sample is None:
        unit = sample_unit(runs, d, sampler, seed)
        sample_desc = {"sampler": sampler, "seed": int(seed)}
    else:
        unit = np.asarray(unit_sample, dtype=float)
        if unit.shape != (runs, d) or not np.all((unit >= 0) & (unit <= 1)):
            raise InputError(f"given sample must be ({runs}, {d}) in [0, 1], got shape "
                             f"{unit.shape}", key="sample")
        sample_desc = {"sampler": "given"}
    values = uncertainties.values(unit)
    chunk = chunk_size if chunk_size is not None else _default_chunk_size(runs)
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise InputError(f"chunk size must be a positive whole number, got {chunk!r}",
                         key="chunk_size")
    mfile = Path(mpath) if mpath else default_model_path()
    spec = {
        "engine": engine, "model_sha256": model_hash(mfile), "final_year": fy,
        "saveper": float(saveper), "variables": list(names), "chunk_size": chunk,
        "runs": int(runs), **sample_desc,
        "sample_sha256": hashlib.sha256(np.ascontiguousarray(values).tobytes()).hexdigest(),
        "uncertainties": [{"name": u.name, "distribution": u.distribution,
                           "params": dict(u.params)} for u in uncertainties],
        "scenarios": [{"name": p.name, "inputs": _jsonable(dict(p.inputs)),
                       "time_step": p.time_step} for p in plans],
    }
    fingerprint = hashlib.sha256(json.dumps(spec, sort_keys=True).encode()).hexdigest()
    work = work_dir_for(out)
    manifest = _prepare_work(work, fingerprint, {
        "scenarios": [p.name for p in plans], "runs": int(runs), **sample_desc})
    n_chunks = math.ceil(runs / chunk)
    todo = [(s, c) for s in range(len(plans)) for c in range(n_chunks)
            if not (work / _block_name(s, c)).exists()]
    total_blocks = len(plans) * n_chunks
    done_blocks = total_blocks - len(todo)

    def block_for(s: int, c: int) -> Block:
        lo, hi = c * chunk, min(runs, (c + 1) * chunk)
        plan = plans[s]
        return Block(engine=engine, model_path=mpath, inputs=plan.inputs,
                     names=tuple(uncertainties.names), values=values[lo:hi],
                     final_time=float(fy), time_step=plan.time_step, saveper=float(saveper),
                     variables=names)

    done_runs = len(plans) * runs - sum(min(runs, (c + 1) * chunk) - c * chunk
                                        for _, c in todo)
    bar = _progress(len(plans) * runs, done_runs, progress)
    try:
        if todo:
            with _executor(workers, scheduler, executor) as (pool, in_flight):
                pending: dict[cf.Future, tuple[int, int]] = {}
                queue = iter(todo)
                try:
                    for key in queue:
                        pending[pool.submit(run_block, block_for(*key))] = key
                        if len(pending) >= in_flight:
                            break
                    while pending:
                        finished, _ = cf.wait(pending, return_when=cf.FIRST_COMPLETED)
                        for fut in finished:
                            s, c = pending.pop(fut)
                            time, data = _result(fut, plans[s].name, c, work, done_blocks,
                                                 total_blocks)
                            _write_block(work, s, c, c * chunk, time, data)
                            done_blocks += 1
                            bar.update(next(iter(data.values())).shape[0])
                            if on_block is not None:
                                on_block(done_blocks, total_blocks)
                            nxt = next(queue, None)
                            if nxt is not None:
                                pending[pool.submit(run_block, block_for(*nxt))] = nxt
                except KeyboardInterrupt:
                    for fut in pending:
                        fut.cancel()
                    print(f"\nensemble interrupted: {done_blocks} of {total_blocks} blocks kept "
                          f"in {work}; rerun the same command to resume", file=sys.stderr)
                    raise
    finally:
        bar.close()
    meta = {
        "title": "transfer-sim uncertainty ensemble of model/transfer.mdl",
        "model_file": mfile.name, "model_sha256": spec["model_sha256"],
        "transfer_sim_version": _package_version(), "pysd_version": version("pysd"),
        "pysimlin_version": version("pysimlin"), "created": manifest["created"],
        "engine": engine, "runs": int(runs), "final_year": fy,
        **{k: v for k, v in sample_desc.items()},
        "uncertainty_file": str(uncertainties.path) if uncertainties.path else "",
        "uncertainty_sha256": uncertainties.sha256,
        "uncertainty_description": uncertainties.description,
        "uncertainties": json.dumps(spec["uncertainties"], ensure_ascii=False),
        "scenario_provenance": json.dumps({p.name: _jsonable(dict(p.provenance))
                                           for p in plans}, ensure_ascii=False),
    }
    for k, v in (attrs or {}).items():
        meta[k] = v if isinstance(v, str | int | float) else json.dumps(_jsonable(v))
    _combine(work, out, plans, uncertainties, values, names, runs, chunk, n_chunks, mpath, meta)
    shutil.rmtree(work, ignore_errors=True)
    return out


def _result(fut: cf.Future, scenario: str, c: int, work: Path, done: int,
            total: int) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    kept = f"{done} of {total} blocks are kept in {work}; rerun the same command to resume"
    try:
        return fut.result()
    except cf.process.BrokenProcessPool as exc:
        raise ModelError(f"a worker process died ({exc}); {kept}") from None
    except TransferSimError as exc:
        raise ModelError(f"scenario {scenario!r} block {c}: {exc}; {kept}") from exc
    except Exception as exc:
        raise ModelError(f"scenario {scenario!r} block {c} failed: "
                         f"{type(exc).__name__}: {exc}; {kept}") from exc


def _package_version() -> str:
    try:
        return version("transfer-sim")
    except Exception:  # running from a source tree without installation
        return "0+unknown"


def _combine(work: Path, out: Path, plans: Sequence[_ScenarioPlan],
             uncertainties: UncertaintySet, values: np.ndarray, names: Sequence[str],
             runs: int, chunk: int, n_chunks: int, model_path: str | None,
             meta: Mapping[str, Any]) -> None:
    """Copy the block files one at a time into the output (atomically)."""
    import h5netcdf
    import h5py

    cat = catalogue(model_path)
    with h5py.File(work / _block_name(0, 0), "r") as first:
        time = first["time"][()]
        columns = [(str(v), int(w)) for v, w in json.loads(first.attrs["columns"])]
    if [v for v, _ in columns] != list(names):
        raise ModelError(f"block files in {work} hold other variables; delete the folder "
                         "and rerun")
    ndims = {v: 3 if w else 2 for v, w in columns}
    with atomic_path(out) as tmp:
        with h5netcdf.File(tmp, "w") as f:
            f.dimensions = {"scenario": len(plans), "run": runs, "time": len(time),
                            "sector": len(SECTORS)}
            sv = f.create_variable("scenario", ("scenario",), dtype=h5py.string_dtype())
            sv[:] = np.array([p.name for p in plans], dtype=object)
            sv.attrs["long_name"] = "scenario"
            rv = f.create_variable("run", ("run",), dtype="i8")
            rv[:] = np.arange(runs, dtype=np.int64)
            rv.attrs["long_name"] = "ensemble run (sampled point)"
            tv = f.create_variable("time", ("time",), dtype="f8")
            tv[:] = time
            tv.attrs.update({"units": "Year", "long_name": "time"})
            secv = f.create_variable("sector", ("sector",), dtype=h5py.string_dtype())
            secv[:] = np.array(list(SECTORS), dtype=object)
            secv.attrs["long_name"] = "non-resource sector"
            for j, unc in enumerate(uncertainties):
                uv = f.create_variable(unc.name, ("run",), dtype="f8")
                uv[:] = values[:, j]
                uv.attrs.update({**_var_attrs(cat, unc.name), "role": "sampled uncertainty",
                                 "distribution": unc.describe(), "source": unc.source})
            rows = min(runs, chunk, 100)  # HDF5 chunks of <= 100 runs: small caches
            for v in names:
                dims = ("scenario", "run", "time") + (("sector",) if ndims[v] == 3 else ())
                shape = (1, rows, len(time)) + ((len(SECTORS),) if ndims[v] == 3 else ())
                var = f.create_variable(v, dims, dtype="f8", chunks=shape)
                var.attrs.update(_var_attrs(cat, v))
            for k, v in meta.items():
                f.attrs[k] = v
        # Fill the data through h5py: h5netcdf's per-slice writes cost ~3 ms each.
        with h5py.File(tmp, "r+") as f:
            targets = {v: f[v] for v in names}
            for s in range(len(plans)):
                for c in range(n_chunks):
                    with h5py.File(work / _block_name(s, c), "r") as blk:
                        if not np.array_equal(blk["time"][()], time):
                            raise ModelError(f"block {_block_name(s, c)} has other output "
                                             "times; delete the work folder and rerun")
                        lo = int(blk.attrs["start"])
                        block = blk["values"][()]
                    hi, k = lo + block.shape[0], 0
                    for v, width in columns:
                        part = block[:, :, k:k + max(width, 1)]
                        targets[v][s, lo:hi, ...] = part if width else part[:, :, 0]
                        k += max(width, 1)


def _at(da: xr.DataArray, year: float) -> xr.DataArray:
    times = da["time"].values
    if not np.any(np.isclose(times, year)):
        raise InputError(f"year {year:g} is not in the results ({times.min():g}-"
                         f"{times.max():g})", key="year")
    return da.sel(time=year, method="nearest")


def kpi_series(ds: xr.Dataset, base_year: float = BASE_YEAR) -> xr.Dataset:
    """Return every indicator over time, one variable per KPI name.

    Parameters
    ----------
    ds : xarray.Dataset
        An ensemble (or any results with the indicators' variables).
    base_year : float
        Start of the increments of T3 (contribution rate), which is defined only
        after it (NaN before).

    Returns
    -------
    xarray.Dataset
        Variables named like :data:`~transfer_sim.analysis.kpis.KPIS`, with their dims
        (``scenario``, ``run``, ``time``) and ``units``, ``long_name``, ``target``.
    """
    out = {}
    for kpi in KPIS:
        if kpi.variable is None:
            nr, ind = ds["nonresource_revenue"], ds["industrial_revenue"]
            d_ind = ind - _at(ind, base_year).drop_vars("time")
            da = 100 * (nr - _at(nr, base_year).drop_vars("time")) / d_ind.where(d_ind != 0)
            da = da.where(da["time"] > base_year)
        else:
            if kpi.variable not in ds:
                raise InputError(f"results lack the variable {kpi.variable!r}", key=kpi.name)
            da = ds[kpi.variable]
        da = da.drop_vars([c for c in da.coords if c not in da.dims]).copy(deep=False)
        da.attrs = {"units": kpi.unit, "long_name": kpi.label}
        if kpi.target is not None:
            da.attrs["target"] = float(kpi.target)
        out[kpi.name] = da
    return xr.Dataset(out)


def kpi_values(ds: xr.Dataset, year: float = TARGET_YEAR) -> xr.Dataset:
    """Return every indicator at ``year`` (the document's 2015 by default).

    Parameters
    ----------
    ds : xarray.Dataset
        An ensemble (dims ``scenario``, ``run``, ``time``) or any results.
    year : float
        Year to read the indicators at.

    Returns
    -------
    xarray.Dataset
        One variable per KPI over the remaining dims (``scenario``, ``run``).
    """
    series = kpi_series(ds)
    return xr.Dataset({k: _at(v, year).drop_vars("time") for k, v in series.items()})
