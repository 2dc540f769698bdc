"""``transfer-sim compare SCENARIO... [-o OUT.nc] [--kpis KPIS.csv] [--ensemble ENS.nc]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from transfer_sim.analysis.kpis import KPI_CSV_COLUMNS, format_table, kpi_table
from transfer_sim.analysis.verdicts import format_verdicts, verdicts_from_files, with_verdicts
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
                   f"({','.join(KPI_CSV_COLUMNS)}; with --ensemble also "
                   "runs,p_met,p_met_no_policy,policy_difference,same_verdict_share,"
                   "decided_by_policy,drivers)")
    p.add_argument("--ensemble", type=Path, metavar="ENS.nc",
                   help="print each target's verdict with its odds from an ensemble file "
                        "(transfer-sim ensemble, with no-policy among its scenarios)")
    p.add_argument("--sensitivity", type=Path, action="append", default=[], metavar="S.csv",
                   help="with --ensemble: the drivers of each target from transfer-sim "
                        "sensitivity --method sobol (repeatable, one scenario each)")
    common.add_engine(p)


def _compare(args: argparse.Namespace) -> int:
    """Run the scenarios side by side and print the indicators against the 2015 targets.

    With --ensemble, also each target's verdict with its odds: P(met) under the
    documented uncertainties beside no-policy's, the difference the policy makes, and
    the flag "not decided by the policy" where the verdict is the same with and
    without it in at least 95 % of the members.
    """
    if args.format and args.output is None:
        raise InputError("--format applies to the -o/--output file; give -o OUT",
                         key="format")
    if args.sensitivity and args.ensemble is None:
        raise InputError("--sensitivity names the drivers of the verdicts; give --ensemble "
                         "ENS.nc too", key="sensitivity")
    scenarios = common.scenario_refs(args.scenarios, default=DEFAULT_SCENARIOS)
    if args.output is not None:
        common.check_output(args.output)
        common.output_format(args)
    common.check_output(args.kpis, key="kpis")
    verdicts = None
    if args.ensemble is not None:
        verdicts = verdicts_from_files(args.ensemble, [s.name for s in scenarios],
                                       args.sensitivity)
    ds = compare(scenarios, engine=args.engine)
    table = kpi_table(ds)
    print(format_table(table))
    table = table[list(KPI_CSV_COLUMNS)]
    if verdicts is not None:
        print()
        print(format_verdicts(verdicts))
        table = with_verdicts(table, verdicts)
    if args.kpis is not None:
        common.write_table(table, args.kpis)
    if args.output is not None:
        common.write_output(ds, args)
    return 0
