"""Benchmark the three engines on the bundled model, one core each.

For each engine: one run of the full model (2005-2020, the model's time step), then
N runs with random in-bounds lever values (every lever drawn uniformly within its
bounds; schedules as one value for all years; options drawn among their names).
Prints runs/s, the per-run median, peak memory and the simlin/pysd ratio. For Simlin
also the floor of a run: the compiled simulation with no overrides and only ``time``
read back. Simlin is measured with each override writer of ``--simlin-writers``
(``auto``: into the module's memory; ``set_value``: one call per element, the fallback).

The batch engine runs its N random lever sets as one ``run_batch`` (the loop's
median is then the batch's time over N). Its compile time is measured twice, in
fresh processes: with an empty JAX compilation cache (``cold``) and with the cache
the first filled (``cached``); both include tracing the model and the first chunk.

Each engine is measured in its own subprocess, pinned to one core where ``taskset``
exists, so that runs/s are per core and peak memory (max RSS) is that engine's alone.

Usage::

    python benchmarks/engines.py                 # 1000 simlin, 10000 batch, 3 pysd runs
    python benchmarks/engines.py --pysd-runs 0   # no PySD (it takes ~90 s a run)
    python benchmarks/engines.py --simlin-writers auto   # the default writer alone
    python benchmarks/engines.py --batch-runs 0  # no batch engine
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date

import numpy as np

from transfer_sim.analysis.kpis import required_variables
from transfer_sim.engines import RunSpec, get_engine
from transfer_sim.engines.simlin_wasm import WRITER_VARIABLE
from transfer_sim.inputs import levers
from transfer_sim.inputs.scenarios import Scenario
from transfer_sim.run.plan import plan

#: Outputs an ensemble or a calibration reads: the KPI variables.
KPI_VARIABLES = required_variables()
#: The model's defaults run to 2020.
TO_2020 = Scenario(name="defaults", final_year=2020)


def _random_specs(runs: int, seed: int) -> list[RunSpec]:
    rng = np.random.default_rng(seed)
    return [plan(Scenario(name="random", levers=levers.random_levers(rng), final_year=2020),
                 variables=KPI_VARIABLES) for _ in range(runs)]


def _check_finite(engine_name: str, data: dict[str, np.ndarray]) -> None:
    if not all(np.isfinite(v).all() for v in data.values()):
        raise SystemExit(f"{engine_name}: non-finite output")


def measure(engine_name: str, runs: int, seed: int) -> dict[str, float]:
    """Measure one engine in this process."""
    t0 = time.perf_counter()
    engine = get_engine(engine_name)
    engine.run(plan(TO_2020))
    first = time.perf_counter() - t0
    t0 = time.perf_counter()
    engine.run(plan(TO_2020))
    full = time.perf_counter() - t0

    specs = _random_specs(runs, seed)
    out: dict[str, float] = {}
    if engine_name == "batch":
        t0 = time.perf_counter()
        engine.run_batch(specs[:engine.chunk])  # compiles (or loads) the chunk's code
        out["chunk_first_s"] = time.perf_counter() - t0
        t_all = time.perf_counter()
        result = engine.run_batch(specs)
        total = time.perf_counter() - t_all
        _check_finite(engine_name, result.data)
        times = [total / runs]
    else:
        times = []
        t_all = time.perf_counter()
        for spec in specs:
            t0 = time.perf_counter()
            raw = engine.run(spec)
            times.append(time.perf_counter() - t0)
            _check_finite(engine_name, raw.data)
        total = time.perf_counter() - t_all
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    backend = getattr(engine, "backend", engine_name)
    if getattr(engine, "writer", None):
        backend = f"{backend}, {engine.writer}"
    out.update({"backend": backend, "first_run_s": first, "full_run_s": full, "runs": runs,
                "runs_per_s": runs / total, "median_ms": 1e3 * statistics.median(times),
                "peak_mb": peak_mb})
    if engine_name == "simlin" and specs:
        out["floor_ms"] = _floor_ms(engine, specs[0], min(runs, 200))
    return out


def _floor_ms(engine, like: RunSpec, runs: int) -> float:
    """Median time of a run with no overrides that reads back only ``time``."""
    spec = RunSpec(final_time=like.final_time, time_step=like.time_step,
                   saveper=like.saveper, variables=[])
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        engine.run(spec)
        times.append(time.perf_counter() - t0)
    return 1e3 * statistics.median(times)


def _child(engine_name: str, runs: int, seed: int,
           env: dict[str, str] | None = None) -> dict[str, float]:
    pin = ["taskset", "-c", "0"] if shutil.which("taskset") else []
    out = subprocess.run([*pin, sys.executable, __file__, "--child", engine_name, "--runs",
                          str(runs), "--seed", str(seed)],
                         capture_output=True, text=True, check=True,
                         env={**os.environ, **(env or {})})
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--simlin-runs", type=int, default=1000)
    parser.add_argument("--pysd-runs", type=int, default=3)
    parser.add_argument("--batch-runs", type=int, default=10_000)
    parser.add_argument("--simlin-writers", default="auto,set_value",
                        help="Simlin override writers to measure, comma-separated")
    parser.add_argument("--seed", type=int, default=20111)
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--runs", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.runs, args.seed)))
        return
    # Translate once and read the model facts before timing anything.
    from transfer_sim.model.core import translated_model_path
    from transfer_sim.model.facts import model_facts

    translated_model_path()
    model_facts()
    res = {}
    for writer in args.simlin_writers.split(","):
        key = "simlin" if writer == "auto" else f"simlin-{writer}"
        res[key] = _child("simlin", args.simlin_runs, args.seed, {WRITER_VARIABLE: writer})
    if args.batch_runs > 0:
        with tempfile.TemporaryDirectory() as empty:
            cold = _child("batch", 64, args.seed, {"JAX_COMPILATION_CACHE_DIR": empty})
            cached = _child("batch", 64, args.seed, {"JAX_COMPILATION_CACHE_DIR": empty})
        res["batch"] = _child("batch", args.batch_runs, args.seed)
        res["batch"]["compile_cold_s"] = cold["first_run_s"] + cold["chunk_first_s"]
        res["batch"]["compile_cached_s"] = cached["first_run_s"] + cached["chunk_first_s"]
    if args.pysd_runs > 0:
        res["pysd"] = _child("pysd", args.pysd_runs, args.seed)
    cpu = platform.processor() or platform.machine()
    print(f"transfer-sim engine benchmark, {date.today()}, {os.cpu_count()} cores, {cpu}, "
          f"Python {platform.python_version()}")
    print("one full run = 2005-2020 at the model's time step, all outputs; "
          "loop = random in-bounds levers, KPI outputs")
    header = f"{'engine':24} {'full run':>10} {'loop runs':>10} {'runs/s':>10} " \
             f"{'median':>10} {'peak RSS':>10}"
    print(header)
    print("-" * len(header))
    for name, r in res.items():
        engine = name.partition("-")[0]
        label = f"{engine} ({r['backend']})" if r["backend"] != engine else engine
        print(f"{label:24} {r['full_run_s'] * 1e3:8.1f}ms {r['runs']:10d} {r['runs_per_s']:10.2f} "
              f"{r['median_ms']:8.2f}ms {r['peak_mb']:8.0f}MB")
    floor = next((r["floor_ms"] for r in res.values() if "floor_ms" in r), None)
    if floor is not None:
        print(f"simlin floor: {floor:.2f} ms a run (the compiled simulation, no overrides, "
              f"only time read back), {1e3 / floor:.0f} runs/s at most")
    if "batch" in res:
        b = res["batch"]
        print(f"batch: compile (trace, compile, first chunk; both chunk sizes) "
              f"{b['compile_cold_s']:.1f} s with an empty cache, {b['compile_cached_s']:.1f} s "
              f"from the cache; {b['runs']} runs in one run_batch at {b['runs_per_s']:.0f} "
              "runs/s on one core")
        if "simlin" in res:
            print(f"ratio batch/simlin, random-lever runs/s: "
                  f"{b['runs_per_s'] / res['simlin']['runs_per_s']:.1f}x")
    if "pysd" not in res or "simlin" not in res:
        return
    s, p = res["simlin"], res["pysd"]
    print(f"ratio simlin/pysd: full run {p['full_run_s'] / s['full_run_s']:.0f}x faster, "
          f"runs/s {s['runs_per_s'] / p['runs_per_s']:.0f}x, "
          f"peak memory {s['peak_mb'] / p['peak_mb']:.2f}x")


if __name__ == "__main__":
    main()
