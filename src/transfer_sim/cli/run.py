"""``transfer-sim run SCENARIO -o OUT.nc``."""

from __future__ import annotations

import argparse

from transfer_sim.cli import _common as common
from transfer_sim.inputs.scenarios import load_scenario
from transfer_sim.run.runner import run_scenario


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``run`` subcommand."""
    p = common.add_command(sub, "run", _run, help="run one scenario and write its results")
    p.add_argument("scenario", help="scenario file or bundled scenario name")
    common.add_output(p)
    common.add_engine(p)


def _run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    common.check_output(args.output)
    common.output_format(args)
    ds = run_scenario(scenario, engine=args.engine)
    common.write_output(ds, args)
    return 0
