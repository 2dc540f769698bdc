"""``transfer-sim levers``: every lever with unit, bounds, default and source."""

from __future__ import annotations

import argparse

from transfer_sim.cli import _common as common
from transfer_sim.inputs.levers import LEVERS
from transfer_sim.io.formatting import format_number
from transfer_sim.io.tables import format_text_table


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``levers`` subcommand."""
    common.add_command(sub, "levers", _levers, help="list every policy lever")


def _levers(args: argparse.Namespace) -> int:
    header = ("lever", "kind", "unit", "bounds", "default", "off", "section", "description")
    rows = []
    for lv in LEVERS:
        bounds = ("|".join(lv.options) if lv.kind == "option"
                  else f"{format_number(lv.bounds[0])}..{format_number(lv.bounds[1])}")
        rows.append((lv.name, lv.kind, lv.unit or "-", bounds, format_number(lv.default),
                     format_number(lv.off), lv.section, lv.description))
    print(format_text_table(header, rows, rule=False))
    return 0
