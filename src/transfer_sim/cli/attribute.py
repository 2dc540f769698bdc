"""``transfer-sim attribute PACKAGE [--reference REF] [--by ...] [--csv OUT] [--plot OUT]``."""

from __future__ import annotations

import argparse
from pathlib import Path

from transfer_sim.analysis.attribution import MAX_PLAYERS, attribute, format_attribution
from transfer_sim.cli import _common as common
from transfer_sim.inputs.scenarios import load_scenario


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``attribute`` subcommand."""
    p = common.add_command(
        sub, "attribute", _attribute,
        help="split each indicator's change from a reference scenario among the levers "
             "(exact Shapley values)")
    p.add_argument("package", metavar="PACKAGE", help="scenario file or bundled name")
    common.add_reference(p, "scenario to attribute against")
    p.add_argument("--by", choices=("auto", "lever", "section"), default="auto",
                   help="a player is a lever, a section of the document (P1-P10, the "
                        f"section-五 measures), or auto: levers unless more than {MAX_PLAYERS} "
                        "differ (default auto)")
    p.add_argument("--csv", type=Path, metavar="OUT",
                   help="write the table (lever,kpi,contribution,alone,interaction,unit,"
                        "levers,label) as CSV")
    p.add_argument("--plot", type=Path, metavar="OUT",
                   help="write the bar chart (PNG, SVG or PDF by the suffix)")
    common.add_progress(p)
    common.add_engine(p)


def _attribute(args: argparse.Namespace) -> int:
    """Split each indicator's change among the levers in which PACKAGE differs.

    The model runs for every subset of those levers (2^n runs, n <= 10) and each
    indicator's change from the reference is split into each lever's Shapley
    contribution; the table also gives each lever's effect alone and the
    interaction (total change minus the sum of the effects alone).
    """
    package = load_scenario(args.package)
    reference = load_scenario(args.reference)
    common.check_output(args.csv)
    common.check_figure(args.plot, key="plot")
    result = attribute(package, reference, engine=args.engine, by=args.by,
                       progress=common.progress_for(args, "attribute"))
    print(format_attribution(result))
    if args.csv is not None:
        common.write_table(result.table(), args.csv)
    if args.plot is not None:
        from transfer_sim.plotting.figures import plot_attribution, scenario_colors

        fig = plot_attribution(result.table(), color=scenario_colors(
            [reference.name, package.name])[package.name])
        common.write_figure(fig, args.plot)
    return 0
