"""``transfer-sim report SCENARIO... -o report.html [--reference NAME] [--engine]``."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from transfer_sim.cli import _common as common
from transfer_sim.report.html import make_report


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``report`` subcommand."""
    p = common.add_command(
        sub, "report", _report,
        help="write a self-contained HTML report: indicators, figures, attribution, levers "
             "and provenance")
    common.add_scenarios(p)
    p.add_argument("-o", "--output", required=True, type=Path, help="HTML file to write")
    common.add_reference(p, "scenario the others are compared with; added to the comparison "
                            "when not named")
    p.add_argument("--no-attribution", action="store_true",
                   help="leave out the attribution (it takes up to 1,024 runs)")
    p.add_argument("--ensemble", type=Path, metavar="ENS.nc",
                   help="add the probability of meeting each target and fan charts from an "
                        "ensemble file (transfer-sim ensemble)")
    common.add_progress(p)
    common.add_engine(p)


def command_line(args: argparse.Namespace) -> str:
    """Return the command line that makes the same report (defaults written out)."""
    parts = ["transfer-sim", "report", *args.scenarios, "-o", str(args.output),
             "--reference", args.reference, "--engine", args.engine]
    if args.no_attribution:
        parts.append("--no-attribution")
    if getattr(args, "ensemble", None) is not None:
        parts += ["--ensemble", str(args.ensemble)]
    return shlex.join(parts)


def _report(args: argparse.Namespace) -> int:
    """Run the scenarios and write one self-contained HTML file.

    It holds the indicator table, every figure (embedded), the Shapley attribution
    of the last scenario against the reference, the levers side by side and the
    provenance needed to reproduce it. Nothing in it is fetched from the network.
    """
    scenarios = common.scenario_refs(args.scenarios)
    reference = common.scenario_refs([args.reference])[0]
    common.check_html_output(args.output, "report")
    extra = []
    if args.ensemble is not None:
        from transfer_sim.report.ensemble import ensemble_file_sections

        extra = ensemble_file_sections(args.ensemble)
    make_report(scenarios, args.output, reference=reference, engine=args.engine,
                attribute_last=not args.no_attribution, command=command_line(args),
                progress=common.progress_for(args, "attribution"), extra_sections=extra)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0
