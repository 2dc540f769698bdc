"""``transfer-sim run SCENARIO -o OUT.nc``."""

from __future__ import annotations

import argparse

from transfer_sim.cli._common import (
    add_engine,
    add_output,
    check_output,
    output_format,
    write_output,
)
from transfer_sim.inputs.scenarios import load_scenario
from transfer_sim.run.runner import run_scenario


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``run`` subcommand."""
    p = sub.add_parser("run", help="run one scenario and write its results")
    p.add_argument("scenario", help="scenario file or bundled scenario name")
    add_output(p)
    add_engine(p)
    p.set_defaults(func=_run)


def _run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    check_output(args.output)
    output_format(args)
    ds = run_scenario(scenario, engine=args.engine)
    write_output(ds, args)
    return 0
