"""``transfer-sim ensemble SCENARIO... --uncertainty FILE --runs N -o OUT.nc``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import xarray as xr

from transfer_sim.cli import _common as common
from transfer_sim.errors import InputError
from transfer_sim.inputs.uncertainty import load_uncertainties
from transfer_sim.io.atomic import check_writable
from transfer_sim.run.ensemble import SAMPLERS, run_ensemble, work_dir_for


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``ensemble`` subcommand."""
    p = common.add_command(sub, "ensemble", _ensemble,
                           help="run scenarios over sampled uncertainties (resumable)")
    common.add_scenarios(p)
    common.add_uncertainty(p)
    p.add_argument("--runs", type=common.positive_int, required=True, metavar="N",
                   help="sampled points (runs per scenario)")
    p.add_argument("--sampler", choices=SAMPLERS, default="lhs",
                   help="lhs (Latin hypercube, default), sobol (scrambled Sobol') or random")
    p.add_argument("-o", "--output", type=Path, required=True, help="output NetCDF file")
    p.add_argument("--all-variables", action="store_true",
                   help="keep every model output (default: the indicators' variables)")
    common.add_execution(p)


def _ensemble(args: argparse.Namespace) -> int:
    """Run every scenario once per sampled point of the uncertain constants.

    Write one NetCDF file. Blocks of runs are kept in OUT.nc.work/ until the end:
    after an interruption, rerun the same command to resume. Every scenario runs the
    same sampled points, so with no-policy among them each target's verdict is also
    compared member by member with and without the policy.
    """
    from transfer_sim.analysis.probabilities import (
        ensemble_values,
        format_probabilities,
        probabilities_of,
    )
    from transfer_sim.analysis.verdicts import COUNTERFACTUAL, format_verdicts, verdicts

    scenarios = common.scenario_refs(args.scenarios)
    uncertainties = load_uncertainties(args.uncertainty)
    if str(args.output).lower().endswith(".csv"):
        raise InputError("ensembles are written as NetCDF; give a .nc file", key="output")
    check_writable(args.output)
    work = work_dir_for(args.output)
    if work.exists():
        print(f"resuming from {work}", file=sys.stderr)
    try:
        out = run_ensemble(scenarios, uncertainties, runs=args.runs, output=args.output,
                           sampler=args.sampler, seed=args.seed, engine=args.engine,
                           workers=args.workers, scheduler=args.scheduler,
                           chunk_size=args.chunk_size, all_variables=args.all_variables,
                           progress=common.progress_for(args, "ensemble"))
    except KeyboardInterrupt as exc:
        if exc.args:  # where the finished blocks are kept
            print(f"\n{exc.args[0]}", file=sys.stderr)
        raise
    print(f"wrote {out}", file=sys.stderr)
    with xr.open_dataset(out, engine="h5netcdf") as ds:
        values = ensemble_values(ds).load()
    print(format_probabilities(probabilities_of(values)))
    if COUNTERFACTUAL in values["scenario"].values and values.sizes["scenario"] > 1:
        print()
        print(format_verdicts(verdicts(values)))
    return 0
