"""``transfer-sim explore [SCENARIO ...] -o explorer.html [--reference NAME]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from transfer_sim.cli._common import DEFAULT_REFERENCE, check_output, scenario_refs
from transfer_sim.errors import InputError
from transfer_sim.report.explorer import DEFAULT_PRESET, HEADLINE_SCENARIOS, write_explorer


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``explore`` subcommand."""
    p = sub.add_parser(
        "explore", help="write a what-if explorer: one HTML file that runs the model in the "
                        "browser, every lever a control",
        description="Write one self-contained HTML file that runs the model's own "
                    "WebAssembly compilation in the page: every lever of the registry as a "
                    "control, the five targets over time, the indicator table and revenue "
                    "by sector, updated on every change. The state lives in the URL "
                    "fragment (#preset=NAME&lever=value...); a button copies it as a "
                    "scenario TOML that extends the preset. Opens from file://, fetches "
                    "nothing.")
    p.add_argument("scenarios", nargs="*", metavar="SCENARIO",
                   help="presets: scenario files or bundled names ('all' for every bundled "
                        f"scenario; default: {' '.join(HEADLINE_SCENARIOS)}); the first one "
                        f"named is the preset a link without one opens (else {DEFAULT_PRESET})")
    p.add_argument("-o", "--output", required=True, type=Path, help="HTML file to write")
    p.add_argument("--reference", default=DEFAULT_REFERENCE, metavar="NAME",
                   help=f"scenario drawn as a ghost line (default {DEFAULT_REFERENCE})")
    p.set_defaults(func=_explore)


def _explore(args: argparse.Namespace) -> int:
    if args.output.suffix.lower() not in (".html", ".htm"):
        shown = args.output.suffix or "(none)"
        raise InputError(f"unknown explorer suffix {shown!r}; allowed: .html, .htm",
                         file=str(args.output), key="output")
    check_output(args.output)
    scenarios = scenario_refs(args.scenarios, default=HEADLINE_SCENARIOS)
    reference = scenario_refs([args.reference])[0]
    # The first scenario named is the default preset; with none named, or 'all' (which
    # names none first), the document's package.
    named = args.scenarios and args.scenarios != ["all"]
    default = scenarios[0].name if named else DEFAULT_PRESET
    path = write_explorer(scenarios, args.output, reference=reference, default_preset=default)
    size = path.stat().st_size
    print(f"wrote {path} ({size / 1e6:.2f} MB)", file=sys.stderr)
    return 0
