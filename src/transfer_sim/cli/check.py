"""``transfer-sim check [--engine] [--final-year] [--lever NAME]``: behaviour checks.

Runs the check matrix of :mod:`transfer_sim.analysis.checks` (the model's defaults,
every lever alone at its minimum and maximum, all levers at their minimum and at
their maximum) and gives each case every check of
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

__all__ = ["register"]


def register(sub: argparse._SubParsersAction) -> None:
    """Add the ``check`` subcommand."""
    p = sub.add_parser(
        "check", help="behaviour checks: every lever at its minimum and maximum, all at "
                      "minimum, all at maximum; exit 1 on a failure")
    add_engine(p)
    p.add_argument("--final-year", type=int, default=DEFAULT_CHECK_YEAR,
                   help=f"last simulated year (default {DEFAULT_CHECK_YEAR})")
    p.add_argument("--lever", action="append", metavar="NAME", dest="levers",
                   help="check only this lever alone (repeatable; the all-at-minimum and "
                        "all-at-maximum cases always run)")
    add_progress(p)
    p.set_defaults(func=_check)


def _check(args: argparse.Namespace) -> int:
    final_year = validate_final_year(args.final_year, key="final-year")
    cases = matrix(args.levers)
    print(f"Behaviour checks: {len(cases)} runs on {args.engine} to {final_year}")
    results = run_matrix(cases, engine=args.engine, final_year=final_year,
                         progress=progress_for(args, "check"))
    print(format_results(results))
    return 0 if all(r.passed for r in results) else 1
