"""``transfer-sim compare SCENARIO... [-o OUT.nc] [--kpis KPIS.csv]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from transfer_sim.analysis.kpis import format_table, kpi_table
from transfer_sim.cli import _common as common
from transfer_sim.errors import InputError
from transfer_sim.run.runner import compare

#: The scenarios compared when none are named.
DEFAULT_SCENARIOS = ("no-policy", "policy-as-written")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``compare`` subcommand."""
    p = common.add_command(sub, "compare", _compare,
                           help="run scenarios side by side and print the indicator table "
                                "against the 2015 targets")
    common.add_scenarios(p, nargs="*", default=DEFAULT_SCENARIOS)
    common.add_output(p, required=False)
    p.add_argument("--kpis", type=Path, help="write the indicator table as CSV "
                   "(scenario,kpi,year,value,unit,target,met)")
    common.add_engine(p)


def _compare(args: argparse.Namespace) -> int:
    if args.format and args.output is None:
        raise InputError("--format applies to the -o/--output file; give -o OUT",
                         key="format")
    scenarios = common.scenario_refs(args.scenarios, default=DEFAULT_SCENARIOS)
    if args.output is not None:
        common.check_output(args.output)
    common.output_format(args)
    common.check_output(args.kpis, key="kpis")
    ds = compare(scenarios, engine=args.engine)
    table = kpi_table(ds)
    print(format_table(table))
    if args.kpis is not None:
        cols = ["scenario", "kpi", "year", "value", "unit", "target", "met"]
        common.write_table(table[cols], args.kpis)
    if args.output is not None:
        common.write_output(ds, args)
    return 0
