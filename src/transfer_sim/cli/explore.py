"""``transfer-sim explore [SCENARIO ...] -o explorer.html [--reference NAME]``."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from transfer_sim.cli import _common as common
from transfer_sim.report.explorer import DEFAULT_PRESET, HEADLINE_SCENARIOS, write_explorer


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``explore`` subcommand."""
    p = common.add_command(
        sub, "explore", _explore,
        help="write a what-if explorer: one HTML file that runs the model in the browser, "
             "every lever a control")
    common.add_scenarios(p, nargs="*", default=HEADLINE_SCENARIOS,
                         more="; they are the presets, and the first one named is the preset "
                              f"a link without one opens (else {DEFAULT_PRESET})")
    p.add_argument("-o", "--output", required=True, type=Path, help="HTML file to write")
    common.add_reference(p, "scenario drawn as a ghost line")


def _explore(args: argparse.Namespace) -> int:
    """Write one self-contained HTML file that runs the model in the page.

    The page runs the model's own WebAssembly compilation: every lever of the
    registry is a control, and the five targets over time, the indicator table and
    revenue by sector update on every change. The state lives in the URL fragment
    (#preset=NAME&lever=value...); a button copies it as a scenario TOML that
    extends the preset. Opens from file://, fetches nothing.
    """
    common.check_html_output(args.output, "explorer")
    scenarios = common.scenario_refs(args.scenarios, default=HEADLINE_SCENARIOS)
    reference = common.scenario_refs([args.reference])[0]
    # The first scenario named is the default preset; with none named, or 'all' (which
    # names none first), the document's package.
    named = args.scenarios and args.scenarios != ["all"]
    default = scenarios[0].name if named else DEFAULT_PRESET
    path = write_explorer(scenarios, args.output, reference=reference, default_preset=default)
    size = path.stat().st_size
    print(f"wrote {path} ({size / 1e6:.2f} MB)", file=sys.stderr)
    return 0
