"""``transfer-sim report SCENARIO... -o report.html [--reference NAME] [--engine]``."""

from __future__ import annotations

import argparse
import shlex
import sys
from pathlib import Path

from transfer_sim.cli import _common as common
from transfer_sim.errors import InputError
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
    p.add_argument("--no-elasticities", action="store_true",
                   help="leave out the local elasticities of the targets to the levers (the "
                        "batch engine's derivatives; compiling them once takes about a minute)")
    p.add_argument("--ensemble", type=Path, metavar="ENS.nc",
                   help="open with each target's verdict with its odds (with no-policy in the "
                        "ensemble: beside no-policy's, and whether the policy decides it), "
                        "and add the probabilities and fan charts (transfer-sim ensemble)")
    p.add_argument("--sensitivity", type=Path, action="append", default=[], metavar="S.csv",
                   help="with --ensemble: the drivers of each target from transfer-sim "
                        "sensitivity --method sobol (repeatable, one scenario each)")
    common.add_progress(p)
    common.add_engine(p)


def command_line(args: argparse.Namespace) -> str:
    """Return the command line that makes the same report (defaults written out)."""
    parts = ["transfer-sim", "report", *args.scenarios, "-o", str(args.output),
             "--reference", args.reference, "--engine", args.engine]
    if args.no_attribution:
        parts.append("--no-attribution")
    if getattr(args, "no_elasticities", False):
        parts.append("--no-elasticities")
    if getattr(args, "ensemble", None) is not None:
        parts += ["--ensemble", str(args.ensemble)]
    for path in getattr(args, "sensitivity", None) or ():
        parts += ["--sensitivity", str(path)]
    return shlex.join(parts)


def _report(args: argparse.Namespace) -> int:
    """Run the scenarios and write one self-contained HTML file.

    With --ensemble it opens with each target's verdict with its odds and says which
    targets the policy does not decide. It holds the indicator table, every figure
    (embedded), the Shapley attribution of the last scenario against the reference, the
    local elasticities of the targets to the levers at the last scenario's point,
    the levers side by side and the provenance needed to reproduce it. Nothing in it
    is fetched from the network.
    """
    scenarios = common.scenario_refs(args.scenarios)
    reference = common.scenario_refs([args.reference])[0]
    common.check_html_output(args.output, "report")
    if args.sensitivity and args.ensemble is None:
        raise InputError("--sensitivity names the drivers of the verdicts; give --ensemble "
                         "ENS.nc too", key="sensitivity")
    lead, extra = [], []
    if args.ensemble is not None:
        from transfer_sim.analysis.verdicts import verdicts_from_files
        from transfer_sim.report.ensemble import ensemble_file_sections, verdict_section

        names = [s.name for s in scenarios]
        v = verdicts_from_files(args.ensemble, names, args.sensitivity)
        lead = [verdict_section(v, source=args.ensemble.name,
                                indices=", ".join(p.name for p in args.sensitivity))]
        extra = ensemble_file_sections(args.ensemble)
    if not args.no_elasticities:
        from transfer_sim.report.html import elasticity_section

        extra.insert(0, elasticity_section(scenarios[-1]))
    make_report(scenarios, args.output, reference=reference, engine=args.engine,
                attribute_last=not args.no_attribution, command=command_line(args),
                progress=common.progress_for(args, "attribution"), extra_sections=extra,
                lead_sections=lead)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0
