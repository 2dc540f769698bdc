"""``transfer-sim validate SCENARIO...``."""

from __future__ import annotations

import argparse

from transfer_sim.inputs.scenarios import load_scenario


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``validate`` subcommand."""
    p = sub.add_parser("validate", help="check scenario files without running them")
    p.add_argument("scenarios", nargs="+", metavar="SCENARIO")
    p.set_defaults(func=_validate)


def _validate(args: argparse.Namespace) -> int:
    for ref in args.scenarios:
        s = load_scenario(ref)
        print(f"ok  {s.path}  ({s.name}: {len(s.levers)} levers set, final year {s.final_year})")
    return 0
