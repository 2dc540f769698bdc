"""``transfer-sim check [--engine] [--final-year] [--lever NAME]``: behaviour checks.

The matrix SDEverywhere's checks use: the model's defaults, every lever alone at its
minimum and at its maximum (option levers: each option), every lever at its minimum
and every lever at its maximum (once as is, which puts the policy's start past the
horizon, and once with the policy starting in its default year). Each case is run
and given every check of :func:`transfer_sim.analysis.checks.check_dataset` (all outputs
finite, stocks non-negative, balances closed). A pass/fail table goes to stdout;
the exit code is 1 when any case fails.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from transfer_sim.analysis.checks import CheckResult, check_dataset
from transfer_sim.cli._common import add_engine
from transfer_sim.errors import InputError, ModelError
from transfer_sim.inputs.levers import LEVERS, Lever, get_lever
from transfer_sim.run.runner import FINAL_YEAR_RANGE, run_levers

__all__ = ["Case", "CaseResult", "matrix", "run_matrix", "format_results", "register"]

#: Final year of the check runs: the longest horizon a scenario may ask for.
DEFAULT_CHECK_YEAR = FINAL_YEAR_RANGE[1]


@dataclass(frozen=True)
class Case:
    """One run of the check matrix.

    Attributes
    ----------
    name : str
        Label in the table, e.g. ``"land_discount = max (0.7 Dmnl)"``.
    levers : dict
        Lever name -> value; levers not in it keep the model's defaults.
    """

    name: str
    levers: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class CaseResult:
    """The checks of one case.

    Attributes
    ----------
    case : Case
        What was run.
    checks : tuple of CheckResult
        Every check's outcome (empty when the run itself failed).
    error : str
        Why the run failed ("" when it ran).
    """

    case: Case
    checks: tuple[CheckResult, ...] = ()
    error: str = ""

    @property
    def passed(self) -> bool:
        """Whether the case ran and every check held."""
        return not self.error and all(c.passed for c in self.checks)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else repr(float(x))


def _bound_case(lever: Lever, which: str) -> Case:
    value = lever.bounds[0] if which == "min" else lever.bounds[1]
    unit = f" {lever.unit}" if lever.unit else ""
    return Case(f"{lever.name} = {which} ({_fmt(value)}{unit})", {lever.name: value})


def matrix(levers: Sequence[str] | None = None) -> list[Case]:
    """Return the check matrix.

    Parameters
    ----------
    levers : sequence of str, optional
        Restrict the one-lever cases to these levers; every lever by default. The
        defaults, all-at-minimum and all-at-maximum cases are always included.

    Returns
    -------
    list of Case
        The defaults; each lever at its minimum and at its maximum (each option
        for option levers); every number and schedule lever at its minimum; every
        one at its maximum; every one at its maximum with the policy starting in
        the default year. Schedule levers take the bound in every year.

    Raises
    ------
    InputError
        For an unknown lever name.
    """
    chosen = [get_lever(n, file=None) for n in levers] if levers else list(LEVERS)
    cases = [Case("defaults (policy as written)", {})]
    for lever in chosen:
        if lever.kind == "option":
            cases += [Case(f'{lever.name} = "{opt}"', {lever.name: opt}) for opt in lever.options]
        else:
            cases += [_bound_case(lever, "min"), _bound_case(lever, "max")]
    numeric = [lv for lv in LEVERS if lv.kind != "option"]
    lowest = {lv.name: lv.bounds[0] for lv in numeric}
    highest = {lv.name: lv.bounds[1] for lv in numeric}
    cases.append(Case("all levers at min", lowest))
    cases.append(Case("all levers at max", highest))
    # At its maximum the start year puts the policy past the horizon, so the case
    # above never switches the other levers on; this one does.
    start = get_lever("policy_start_year")
    cases.append(Case(f"all levers at max, policy from {_fmt(float(start.default))}",
                      {**highest, start.name: start.default}))
    return cases


def run_matrix(cases: Sequence[Case], *, engine: str, final_year: int = DEFAULT_CHECK_YEAR,
               progress: Callable[[int, int, Case], None] | None = None) -> list[CaseResult]:
    """Run every case and check its results.

    Parameters
    ----------
    cases : sequence of Case
        From :func:`matrix`.
    engine : {"simlin", "pysd"}
        Engine to use.
    final_year : int
        Last simulated year, 2015-2020.
    progress : callable, optional
        Called as ``progress(i, n, case)`` before each run.

    Returns
    -------
    list of CaseResult
        A run that the engine cannot complete is a failed case, not an error.
    """
    out = []
    for i, case in enumerate(cases):
        if progress is not None:
            progress(i, len(cases), case)
        try:
            ds = run_levers(case.levers, final_year=final_year, engine=engine)
        except ModelError as exc:
            out.append(CaseResult(case, error=str(exc)))
            continue
        out.append(CaseResult(case, tuple(check_dataset(ds))))
    return out


def _short(check_name: str) -> str:
    return check_name.removeprefix("balance_").replace("stocks_nonnegative", "stocks>=0")


def format_results(results: Sequence[CaseResult]) -> str:
    """Return the pass/fail table, then one line per failure with its detail.

    Parameters
    ----------
    results : sequence of CaseResult
        From :func:`run_matrix`.

    Returns
    -------
    str
        Text for the terminal.
    """
    names: list[str] = []
    for r in results:
        names += [c.name for c in r.checks if c.name not in names]
    header = ["case", *(_short(n) for n in names), "result"]
    rows = [header]
    for r in results:
        by_name = {c.name: c for c in r.checks}
        cells = [("-" if n not in by_name else "ok" if by_name[n].passed else "FAIL")
                 for n in names]
        result = "pass" if r.passed else "ERROR" if r.error else "FAIL"
        rows.append([r.case.name, *cells, result])
    widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
             for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    failed = [r for r in results if not r.passed]
    for r in failed:
        if r.error:
            lines.append(f"ERROR {r.case.name}: {r.error}")
        for c in r.checks:
            if not c.passed:
                lines.append(f"FAIL  {r.case.name}: {c.name}: {c.detail}")
    lines.append(f"{len(results)} cases, {len(results) - len(failed)} passed, "
                 f"{len(failed)} failed")
    return "\n".join(lines)


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
    p.set_defaults(func=_check)


def _progress(i: int, n: int, case: Case) -> None:
    sys.stderr.write(f"\r\033[K[{i + 1}/{n}] {case.name}")
    sys.stderr.flush()


def _check(args: argparse.Namespace) -> int:
    lo, hi = FINAL_YEAR_RANGE
    if not lo <= args.final_year <= hi:
        raise InputError(f"{args.final_year} is not allowed; allowed: a year from {lo} to {hi}",
                         key="final-year")
    cases = matrix(args.levers)
    print(f"Behaviour checks: {len(cases)} runs on {args.engine} to {args.final_year}")
    progress = _progress if sys.stderr.isatty() else None
    try:
        results = run_matrix(cases, engine=args.engine, final_year=args.final_year,
                             progress=progress)
    finally:
        if progress is not None:
            sys.stderr.write("\r\033[K")
    print(format_results(results))
    return 0 if all(r.passed for r in results) else 1
