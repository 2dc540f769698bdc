"""Benchmark: uncertainty ensembles on Simlin and batch (1 and 2 workers) and on PySD.

Each configuration runs in a fresh subprocess, so that its peak memory (``ru_maxrss``
of the main process and of its worker processes) is its own. Memory flat in N shows
as the same main-process peak for a small and a large ensemble.

Usage::

    python benchmarks/ensemble.py                       # 10,000 runs, 1 and 2 workers,
                                                        # Simlin and batch, 1,000 runs for
                                                        # the flatness check, 200 PySD runs
    python benchmarks/ensemble.py --runs 2000 --pysd-runs 4 --json out.json

Prints one line per configuration and, with ``--json``, writes them all.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path


def one(args: argparse.Namespace) -> dict:
    """Run one configuration in this process and return its figures."""
    from transfer_sim.inputs.scenarios import load_scenario
    from transfer_sim.inputs.uncertainty import load_uncertainties
    from transfer_sim.run.ensemble import EnsembleSpec, Execution, run_ensemble

    scenario = load_scenario(args.scenario)
    unc = load_uncertainties(args.uncertainty)
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "ens.nc"
        t0 = time.perf_counter()
        spec = EnsembleSpec([scenario], unc, runs=args.runs, engine=args.engine, seed=1)
        run_ensemble(spec, output=out, execution=Execution(workers=args.workers))
        wall = time.perf_counter() - t0
        size = out.stat().st_size
    self_kb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    child_kb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return {"engine": args.engine, "workers": args.workers, "runs": args.runs,
            "wall_s": round(wall, 2), "runs_per_s": round(args.runs / wall, 4),
            "peak_rss_main_mb": round(self_kb / 1024, 1),
            "peak_rss_worker_mb": round(child_kb / 1024, 1),
            "output_mb": round(size / 2**20, 1)}


def spawn(engine: str, workers: int, runs: int, args: argparse.Namespace) -> dict:
    """Run one configuration in a fresh interpreter and return its figures."""
    cmd = [sys.executable, __file__, "--one", "--engine", engine, "--workers", str(workers),
           "--runs", str(runs), "--scenario", args.scenario, "--uncertainty", args.uncertainty]
    res = subprocess.run(cmd, check=True, capture_output=True, text=True)
    row = json.loads(res.stdout.strip().splitlines()[-1])
    print(json.dumps(row), flush=True)
    return row


def machine() -> dict:
    """Describe the machine: cores, CPU model, load when the benchmark started."""
    lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout.splitlines()[:10]
    return {"date": datetime.now(UTC).isoformat(timespec="seconds"),
            "nproc": os.cpu_count(), "python": platform.python_version(),
            "loadavg_at_start": os.getloadavg(), "lscpu": lscpu}


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", type=int, default=10_000, help="fast-engine ensemble size")
    p.add_argument("--small-runs", type=int, default=1_000,
                   help="smaller ensemble for the memory-flatness check (0: skip)")
    p.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    p.add_argument("--pysd-runs", type=int, default=200, help="PySD runs (0: skip)")
    p.add_argument("--pysd-workers", type=int, default=2)
    p.add_argument("--scenario", default="policy-as-written")
    p.add_argument("--uncertainty", default="default")
    p.add_argument("--engines", nargs="+", default=["simlin", "batch"],
                   help="fast engines to measure")
    p.add_argument("--engine", default="simlin", help=argparse.SUPPRESS)
    p.add_argument("--one", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--json", type=Path, help="write all figures to this file")
    args = p.parse_args()
    if args.one:
        args.workers = args.workers[0]
        print(json.dumps(one(args)))
        return
    info = machine()
    print(json.dumps({k: v for k, v in info.items() if k != "lscpu"}), flush=True)
    rows = []
    for engine in args.engines:
        for w in args.workers:
            rows.append(spawn(engine, w, args.runs, args))
        if args.small_runs:
            rows.append(spawn(engine, max(args.workers), args.small_runs, args))
    if args.pysd_runs:
        rows.append(spawn("pysd", args.pysd_workers, args.pysd_runs, args))
        fast = next(r for r in rows if r["workers"] == args.pysd_workers
                    and r["engine"] == "simlin" and r["runs"] == args.runs)
        pysd = rows[-1]
        print(f"simlin/pysd speed ratio at {args.pysd_workers} workers: "
              f"{fast['runs_per_s'] / pysd['runs_per_s']:.0f}x")
    if args.json:
        args.json.write_text(json.dumps({"machine": info, "results": rows}, indent=1,
                                        ensure_ascii=False) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
