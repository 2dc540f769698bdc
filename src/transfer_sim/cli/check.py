"""``transfer-sim check [--engine] [--final-year] [--lever NAME] [--uncertainty FILE]``.

Behaviour checks. Runs the check matrix of :mod:`transfer_sim.analysis.checks` (the
model's defaults, every lever alone at its minimum and maximum, all levers at their
minimum and at their maximum, and the strongest and the weakest package with every
uncertainty of ``--uncertainty`` at the low and at the high end of its range) and
gives each case every check of
:func:`transfer_sim.analysis.checks.check_dataset`. A pass/fail table goes to stdout;
the exit code is 1 when any case fails.
"""

from __future__ import annotations

import argparse

from transfer_sim.analysis.checks import (
    DEFAULT_CHECK_YEAR,
    format_results,
    matrix,
    run_matrix,
)
from transfer_sim.cli._common import add_engine, add_progress, progress_for
from transfer_sim.inputs.run_settings import validate_final_year
from transfer_sim.inputs.uncertainty import load_uncertainties

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``check`` subcommand."""
    p = sub.add_parser(
        "check", help="behaviour checks: every lever at its minimum and maximum, all at "
                      "minimum, all at maximum, the strongest and weakest package at the "
                      "uncertainties' ends; exit 1 on a failure")
    add_engine(p)
    p.add_argument("--final-year", type=int, default=DEFAULT_CHECK_YEAR,
                   help=f"last simulated year (default {DEFAULT_CHECK_YEAR})")
    p.add_argument("--lever", action="append", metavar="NAME", dest="levers",
                   help="check only this lever alone (repeatable; the all-at-minimum and "
                        "all-at-maximum cases always run)")
    p.add_argument("--uncertainty", default="default", metavar="FILE",
                   help="uncertainty file whose low and high ends the strongest and the "
                        "weakest package are run at (default: the bundled 'default'; "
                        "'none' leaves these cases out)")
    add_progress(p)
    p.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    final_year = validate_final_year(args.final_year, key="final-year")
    uncertainties = (None if args.uncertainty == "none"
                     else load_uncertainties(args.uncertainty))
    cases = matrix(args.levers, uncertainties)
    print(f"Behaviour checks: {len(cases)} runs on {args.engine} to {final_year}")
    results = run_matrix(cases, engine=args.engine, final_year=final_year,
                         progress=progress_for(args, "check"))
    print(format_results(results))
    return 0 if all(r.passed for r in results) else 1
