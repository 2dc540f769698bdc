"""``transfer-sim attribute PACKAGE [--reference REF] [--by ...] [--csv OUT] [--plot OUT]``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path

from transfer_sim.analysis.attribution import MAX_PLAYERS, attribute, format_attribution
from transfer_sim.cli._common import add_engine, check_output
from transfer_sim.errors import InputError
from transfer_sim.inputs.scenarios import load_scenario
from transfer_sim.io.atomic import atomic_path

#: Reference scenario when none is named (the counterfactual).
DEFAULT_REFERENCE = "no-policy"
#: Figure formats ``--plot`` writes.
PLOT_FORMATS = ("png", "svg", "pdf")


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``attribute`` subcommand."""
    p = sub.add_parser(
        "attribute",
        help="split each indicator's change from a reference scenario among the levers "
             "(exact Shapley values)",
        description="Run the model for every subset of the levers in which PACKAGE differs "
                    "from the reference (2^n runs, n <= 10) and split each indicator's "
                    "change into each lever's Shapley contribution; the table also gives "
                    "each lever's effect alone and the interaction (total change minus the "
                    "sum of the effects alone).")
    p.add_argument("package", metavar="PACKAGE", help="scenario file or bundled name")
    p.add_argument("--reference", default=DEFAULT_REFERENCE, metavar="REF",
                   help=f"scenario to attribute against (default {DEFAULT_REFERENCE})")
    p.add_argument("--by", choices=("auto", "lever", "section"), default="auto",
                   help="a player is a lever, a section of the document (P1-P10, the "
                        f"section-五 measures), or auto: levers unless more than {MAX_PLAYERS} "
                        "differ (default auto)")
    p.add_argument("--csv", type=Path, metavar="OUT",
                   help="write the table (lever,kpi,contribution,alone,interaction,unit,"
                        "levers,label) as CSV")
    p.add_argument("--plot", type=Path, metavar="OUT",
                   help="write the bar chart (PNG, SVG or PDF by the suffix)")
    add_engine(p)
    p.set_defaults(func=_attribute)


def progress_printer(label: str) -> Callable[..., None]:
    """Return a ``progress(done, total)`` callback drawing a bar on a terminal's stderr.

    Off a terminal it prints only the start and the end, one line each.
    """
    tty = sys.stderr.isatty()
    state = {"shown": -1}

    def show(done: int, total: int, _label: str = "") -> None:
        if not tty:
            if done == 1:
                print(f"{label}: {total} runs", file=sys.stderr)
            if done == total:
                print(f"{label}: done", file=sys.stderr)
            return
        pct = 100 * done // total
        if pct == state["shown"] and done != total:
            return
        state["shown"] = pct
        bar = "#" * (pct // 4)
        end = "\n" if done == total else ""
        print(f"\r{label} [{bar:<25}] {done}/{total} runs", end=end, file=sys.stderr,
              flush=True)

    return show


def _attribute(args: argparse.Namespace) -> int:
    package = load_scenario(args.package)
    reference = load_scenario(args.reference)
    check_output(args.csv)
    check_output(args.plot)
    fmt = args.plot.suffix.lstrip(".").lower() if args.plot is not None else ""
    if args.plot is not None and fmt not in PLOT_FORMATS:
        raise InputError(f"{args.plot}: unknown figure format {fmt!r}; allowed: "
                         f"{', '.join(PLOT_FORMATS)}", key="plot")
    result = attribute(package, reference, engine=args.engine, by=args.by,
                       progress=progress_printer("attribute"))
    print(format_attribution(result))
    if args.csv is not None:
        with atomic_path(args.csv) as tmp:
            result.table().to_csv(tmp, index=False)
        print(f"wrote {args.csv}", file=sys.stderr)
    if args.plot is not None:
        from transfer_sim.plotting.figures import plot_attribution, scenario_colors

        fig = plot_attribution(result.table(), color=scenario_colors(
            [reference.name, package.name])[package.name])
        with atomic_path(args.plot) as tmp:
            fig.savefig(tmp, format=fmt, dpi=120)
        print(f"wrote {args.plot}", file=sys.stderr)
    return 0
