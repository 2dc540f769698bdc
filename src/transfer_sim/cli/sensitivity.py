"""``transfer-sim sensitivity SCENARIO --uncertainty FILE [--method sobol|morris] -o OUT.csv``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from transfer_sim.analysis.kpis import KPIS
from transfer_sim.analysis.sensitivity import METHODS, TARGET_KPIS, run_sensitivity
from transfer_sim.cli import _common as common
from transfer_sim.inputs.scenarios import load_scenario
from transfer_sim.inputs.uncertainty import load_uncertainties
from transfer_sim.io.atomic import check_writable


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``sensitivity`` subcommand."""
    p = common.add_command(
        sub, "sensitivity", _sensitivity,
        help="global sensitivity of the indicators (Sobol' or Morris)")
    p.add_argument("scenario", help="scenario file or bundled name")
    common.add_uncertainty(p)
    p.add_argument("--method", choices=METHODS, default="sobol", help="default sobol")
    p.add_argument("--runs", type=common.positive_int, default=None, metavar="N",
                   help="sobol: base sample, a power of two (default 256; N*(d+2) model "
                        "runs); morris: trajectories (default 20; r*(d+1) model runs)")
    p.add_argument("--levels", type=common.positive_int, default=4,
                   help="Morris grid levels (even; default 4)")
    p.add_argument("--kpi", action="append", choices=[k.name for k in KPIS], metavar="KPI",
                   help=f"indicator to analyse (repeatable; default: {', '.join(TARGET_KPIS)})")
    p.add_argument("-o", "--output", type=Path, required=True,
                   help="indices table (CSV: scenario,kpi,method,parameter,index,value,conf,...)")
    p.add_argument("--figure", type=Path, help="bar charts of the indices (PNG, SVG or PDF)")
    p.add_argument("--runs-file", type=Path,
                   help="NetCDF file for the model runs (default: OUTPUT with .runs.nc)")
    common.add_execution(p)


def _sensitivity(args: argparse.Namespace) -> int:
    """Sobol' first- and total-order indices, or Morris screening, with intervals.

    Sobol' indices come from Saltelli sampling; each indicator is analysed against
    the uncertain constants. The model runs are kept as an ensemble file
    (--runs-file) and resume like one.
    """
    from transfer_sim.plotting.uncertainty import sensitivity_chart

    scenario = load_scenario(args.scenario)
    uncertainties = load_uncertainties(args.uncertainty)
    runs = args.runs if args.runs is not None else (256 if args.method == "sobol" else 20)
    runs_file = args.runs_file or args.output.with_suffix(".runs.nc")
    for path in (args.output, runs_file):
        check_writable(path)
    common.check_figure(args.figure)
    d = len(uncertainties)
    total = runs * (d + 2) if args.method == "sobol" else runs * (d + 1)
    print(f"{args.method}: {d} uncertainties, {total} model runs -> {runs_file}",
          file=sys.stderr)
    table = run_sensitivity(scenario, uncertainties, method=args.method, runs=runs,
                            runs_file=runs_file, kpis=args.kpi, levels=args.levels,
                            seed=args.seed, engine=args.engine, workers=args.workers,
                            scheduler=args.scheduler, chunk_size=args.chunk_size,
                            progress=common.progress_for(args, "sensitivity"))
    table.insert(0, "scenario", scenario.name)
    common.write_table(table, args.output)
    if args.figure is not None:
        chart = sensitivity_chart(table[table["index"].isin(["S1", "ST", "mu_star"])])
        common.write_figure(chart, args.figure)
    main = table[table["index"].isin(["ST", "mu_star"])].copy()
    for kpi, sub in main.groupby("kpi", sort=False):
        top = sub.sort_values("value", ascending=False).head(5)
        ranked = ", ".join(f"{r.parameter} {r.value:.2f}±{r.conf:.2f}" for r in top.itertuples())
        print(f"{kpi}: {ranked}")
    return 0
