"""Behaviour checks on results: finite outputs, non-negative stocks, closed balances.

The balances are accounting identities of the model's stock-and-flow structure
(what goes in a chain is somewhere in it or has left it); each is read from model
outputs only, so a broken equation in the ``.mdl`` shows up here.

The check matrix (:func:`matrix`, :func:`run_matrix`) is the one SDEverywhere's
checks use: the model's defaults, every lever alone at its minimum and at its
maximum (option levers: each option), every lever at its minimum and every lever at
its maximum (once as is, which puts the policy's start past the horizon, and once
with the policy starting in its default year). Each case is run and given every
check of :func:`check_dataset`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from transfer_sim.errors import ModelError
from transfer_sim.inputs.levers import LEVERS, Lever, get_lever
from transfer_sim.inputs.run_settings import FINAL_YEAR_RANGE, validate_final_year
from transfer_sim.io.formatting import format_number
from transfer_sim.io.progress import Progress
from transfer_sim.io.tables import format_text_table
from transfer_sim.model.facts import model_facts
from transfer_sim.run.runner import run_levers

__all__ = ["CheckResult", "check_dataset", "BALANCES", "stock_names", "Case", "CaseResult",
           "matrix", "run_matrix", "format_results", "DEFAULT_CHECK_YEAR"]

#: Final year of the check runs: the longest horizon a scenario may ask for.
DEFAULT_CHECK_YEAR = FINAL_YEAR_RANGE[1]

#: name -> (left-hand terms, right-hand terms, description).
BALANCES: dict[str, tuple[tuple[str, ...], tuple[str, ...], str]] = {
    "projects": (
        ("cumulative_signed_projects",),
        ("projects_in_pipeline", "operating_projects", "never_landed_projects",
         "retired_projects"),
        "all projects ever signed = in pipeline + operating + never landed + retired"),
    "investment": (
        ("cumulative_signed_investment",),
        ("signed_investment", "approved_investment", "investment_under_construction",
         "abandoned_investment", "completed_investment"),
        "investment ever signed = in pipeline + never landed + completed"),
    "tax_vintages": (
        ("completed_investment",),
        ("exempt_assets", "half_rate_assets", "full_rate_assets_entered"),
        "completed capacity = exempt + half rate + full rate (两免三减半 chain)"),
    "special_fund": (
        ("fund_appropriated",),
        ("special_fund_balance", "fund_spent"),
        "appropriated = balance + spent"),
}


@dataclass(frozen=True)
class CheckResult:
    """Outcome of one check.

    Attributes
    ----------
    name : str
        Check name.
    passed : bool
        Whether it held everywhere.
    detail : str
        What was checked, and the worst case when it failed.
    """

    name: str
    passed: bool
    detail: str


def stock_names(ds: xr.Dataset) -> list[str]:
    """Return the model stocks present in ``ds``."""
    stocks = set(model_facts().stocks)
    return sorted(n for n in ds.data_vars if n in stocks)


def _rel_gap(lhs: xr.DataArray, rhs: xr.DataArray, scale: xr.DataArray | None = None) -> float:
    """Largest |lhs - rhs| relative to the largest magnitude of ``scale`` (or the terms)."""
    ref = np.maximum(np.abs(lhs), np.abs(rhs)) if scale is None else np.abs(scale)
    top = float(ref.max())
    return float(np.abs(lhs - rhs).max()) / (top if top > 0 else 1.0)


def check_dataset(ds: xr.Dataset, *, rtol: float = 1e-9) -> list[CheckResult]:
    """Run every behaviour check on a results Dataset.

    Parameters
    ----------
    ds : xarray.Dataset
        Results (any extra dims such as ``scenario`` or ``run`` are checked too).
    rtol : float
        Tolerance of the balances, relative to the largest term.

    Returns
    -------
    list of CheckResult
    """
    out: list[CheckResult] = []
    bad = [n for n, da in ds.data_vars.items()
           if np.issubdtype(da.dtype, np.number) and not bool(np.isfinite(da).all())]
    out.append(CheckResult("finite", not bad,
                           "every output finite" + (f"; not finite: {', '.join(bad)}" if bad
                                                    else "")))
    negative = []
    for name in stock_names(ds):
        da = ds[name]
        lo = float(da.min())
        if lo < -rtol * max(1.0, float(np.abs(da).max())):
            negative.append(f"{name} ({lo:.3g})")
    out.append(CheckResult("stocks_nonnegative", not negative,
                           "every stock >= 0" + (f"; negative: {', '.join(negative)}"
                                                 if negative else "")))
    for name, (lhs_terms, rhs_terms, text) in BALANCES.items():
        missing = [t for t in (*lhs_terms, *rhs_terms) if t not in ds]
        if missing:
            out.append(CheckResult(f"balance_{name}", False, f"{text}; missing {missing}"))
            continue
        lhs = sum(ds[t] for t in lhs_terms)
        rhs = sum(ds[t] for t in rhs_terms)
        gap = _rel_gap(lhs, rhs)
        out.append(CheckResult(f"balance_{name}", gap <= rtol,
                               f"{text}; largest relative gap {gap:.2e}"))
    out.append(_asset_balance(ds, rtol))
    out.append(_jobs_balance(ds, rtol))
    return out


def _asset_balance(ds: xr.Dataset, rtol: float) -> CheckResult:
    text = "operating + retired - initial = completed + reinvested"
    need = ("operating_assets", "retired_assets", "completed_investment",
            "cumulative_reinvestment")
    if any(n not in ds for n in need):
        return CheckResult("balance_assets", False, f"{text}; missing outputs")
    lhs = ds["operating_assets"] + ds["retired_assets"] - ds["operating_assets"].isel(time=0)
    rhs = ds["completed_investment"] + ds["cumulative_reinvestment"]
    gap = _rel_gap(lhs, rhs, scale=ds["operating_assets"] + ds["retired_assets"])
    return CheckResult("balance_assets", gap <= rtol, f"{text}; largest relative gap {gap:.2e}")


def _jobs_balance(ds: xr.Dataset, rtol: float) -> CheckResult:
    text = "new jobs = total employment - total employment in 2010"
    if "new_jobs" not in ds or "total_employment" not in ds:
        return CheckResult("balance_jobs", False, f"{text}; missing outputs")
    times = ds["time"].values
    if not np.any(np.isclose(times, 2010.0)):
        return CheckResult("balance_jobs", True, f"{text}; 2010 not in the output, skipped")
    after = ds.sel(time=times[times >= 2010.0])
    lhs = after["new_jobs"]
    rhs = after["total_employment"] - ds["total_employment"].sel(time=2010.0, method="nearest")
    gap = _rel_gap(lhs, rhs, scale=after["total_employment"])
    return CheckResult("balance_jobs", gap <= rtol, f"{text}; largest relative gap {gap:.2e}")


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


def _bound_case(lever: Lever, which: str) -> Case:
    value = lever.bounds[0] if which == "min" else lever.bounds[1]
    unit = f" {lever.unit}" if lever.unit else ""
    return Case(f"{lever.name} = {which} ({format_number(value)}{unit})", {lever.name: value})


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
    cases.append(Case(f"all levers at max, policy from {format_number(float(start.default))}",
                      {**highest, start.name: start.default}))
    return cases


def run_matrix(cases: Sequence[Case], *, engine: str, final_year: int = DEFAULT_CHECK_YEAR,
               progress: Progress | None = None) -> list[CaseResult]:
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
        ``progress(done, total, label)`` (:mod:`transfer_sim.io.progress`): before
        each run with the case's name, and once when all are done.

    Returns
    -------
    list of CaseResult
        A run that the engine cannot complete is a failed case, not an error.
    """
    final_year = validate_final_year(final_year)
    out = []
    for i, case in enumerate(cases):
        if progress is not None:
            progress(i, len(cases), case.name)
        try:
            ds = run_levers(case.levers, final_year=final_year, engine=engine)
        except ModelError as exc:
            out.append(CaseResult(case, error=str(exc)))
            continue
        out.append(CaseResult(case, tuple(check_dataset(ds))))
    if progress is not None:
        progress(len(cases), len(cases), "")
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
    rows = []
    for r in results:
        by_name = {c.name: c for c in r.checks}
        cells = [("-" if n not in by_name else "ok" if by_name[n].passed else "FAIL")
                 for n in names]
        result = "pass" if r.passed else "ERROR" if r.error else "FAIL"
        rows.append([r.case.name, *cells, result])
    lines = [format_text_table(header, rows)]
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
