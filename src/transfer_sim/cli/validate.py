"""``transfer-sim validate SCENARIO...``."""

from __future__ import annotations

import argparse

from transfer_sim.cli import _common as common
from transfer_sim.inputs.scenarios import load_scenario


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``validate`` subcommand."""
    p = common.add_command(sub, "validate", _validate,
                           help="check scenario files without running them")
    common.add_scenarios(p)


def _validate(args: argparse.Namespace) -> int:
    for ref in args.scenarios:
        s = load_scenario(ref)
        print(f"ok  {s.path}  ({s.name}: {len(s.levers)} levers set, final year {s.final_year})")
    return 0
