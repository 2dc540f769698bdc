"""``transfer-sim levers``: every lever with unit, bounds, default and source."""

from __future__ import annotations

import argparse

from transfer_sim.inputs.levers import LEVERS


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``levers`` subcommand."""
    p = sub.add_parser("levers", help="list every policy lever")
    p.set_defaults(func=_levers)


def _fmt(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def _levers(args: argparse.Namespace) -> int:
    rows = [("lever", "kind", "unit", "bounds", "default", "off", "section", "description")]
    for lv in LEVERS:
        bounds = ("|".join(lv.options) if lv.kind == "option"
                  else f"{_fmt(lv.bounds[0])}..{_fmt(lv.bounds[1])}")
        rows.append((lv.name, lv.kind, lv.unit or "-", bounds, _fmt(lv.default), _fmt(lv.off),
                     lv.section, lv.description))
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r[:-1], widths, strict=True)) + "  " + r[-1])
    return 0
