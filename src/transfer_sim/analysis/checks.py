"""Behaviour checks on results: finite outputs, non-negative stocks, closed balances.

The balances are accounting identities of the model's stock-and-flow structure
(what goes in a chain is somewhere in it or has left it); each is read from model
outputs only, so a broken equation in the ``.mdl`` shows up here.

Costs, prices and the fiscal ledger (:func:`cost_variables`) must never be negative;
:func:`check_dataset` checks them beside the stocks' lower bounds, and
:func:`check_ensemble` gives the same finite / stocks / costs checks to an ensemble
file, variable by variable.

The check matrix (:func:`matrix`, :func:`run_matrix`) is the one SDEverywhere's
checks use: the model's defaults, every lever alone at its minimum and at its
maximum (option levers: each option), every lever at its minimum and every lever at
its maximum (once as is, which puts the policy's start past the horizon, and once
with the policy starting in its default year). Given an uncertainty set, it adds the
strongest package (:func:`strongest_levers`) and the weakest (every lever off) with
every uncertainty at the low end of its support and at the high end
(:func:`uncertainty_ends`). Each case is run and given every check of
:func:`check_dataset`.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from transfer_sim.engines import get_engine
from transfer_sim.errors import ModelError
from transfer_sim.inputs.levers import LEVERS, Lever, LeverValue, get_lever, off_values
from transfer_sim.inputs.run_settings import FINAL_YEAR_RANGE, validate_final_year
from transfer_sim.inputs.scenarios import Scenario
from transfer_sim.inputs.uncertainty import UncertaintySet
from transfer_sim.io.formatting import format_number, jsonable
from transfer_sim.io.progress import Progress
from transfer_sim.io.tables import format_text_table
from transfer_sim.model.facts import model_facts
from transfer_sim.run.plan import plan
from transfer_sim.run.results import to_dataset
from transfer_sim.run.runner import run_levers

__all__ = ["case_dataset", "CheckResult", "check_dataset", "BALANCES", "stock_names", "Case",
           "CaseResult", "matrix", "run_matrix", "format_results", "DEFAULT_CHECK_YEAR",
           "cost_variables", "check_ensemble", "strongest_levers", "weakest_levers",
           "uncertainty_ends", "COST_PATTERN", "GAP_FLOOR"]

#: What makes a model variable a cost, a price or an entry of the fiscal ledger (Python
#: names): relative costs and prices, price indices, the ledger's stocks by payer and
#: their flows. None of them may ever be negative.
COST_PATTERN = re.compile(
    r"cost|price|paid|foregone|subsid|appropriat|matching|park_building|budget|"
    r"tax_raised|tax_burden|tax_rate|^fund_|_fund_")

#: Final year of the check runs: the longest horizon a scenario may ask for.
DEFAULT_CHECK_YEAR = FINAL_YEAR_RANGE[1]

#: Smallest scale a balance gap is measured against (in the terms' units, e.g. 亿元).
GAP_FLOOR = 1e-12

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
    # Terms of subnormal size (a lever at 5e-324 gives a fund of ~1e-321 亿元) carry
    # rounding errors of their own size: gaps are relative to at least GAP_FLOOR.
    return float(np.abs(lhs - rhs).max()) / max(top, GAP_FLOOR)


def cost_variables(names: Sequence[str] | None = None) -> list[str]:
    """Return the model's costs, prices and fiscal-ledger variables (never negative).

    Parameters
    ----------
    names : sequence of str, optional
        Restrict to these names (e.g. a Dataset's variables); every model variable
        by default.

    Returns
    -------
    list of str
        Python names of stocks and auxiliaries matching :data:`COST_PATTERN`; model
        constants and lookups (inputs, not results) and variables that declare a
        negative lower bound are left out.
    """
    facts = model_facts()
    pool = facts.variables if names is None else [n for n in names if n in facts.variables]
    out = []
    for name in pool:
        var = facts.variables[name]
        if var.type in ("Constant", "Lookup") or not COST_PATTERN.search(name):
            continue
        if not np.isnan(var.limits[0]) and var.limits[0] < 0:
            continue
        out.append(name)
    return sorted(out)


def _finite_check(ds: xr.Dataset) -> CheckResult:
    bad = [n for n, da in ds.data_vars.items()
           if np.issubdtype(da.dtype, np.number) and not bool(np.isfinite(da).all())]
    return CheckResult("finite", not bad, "every output finite"
                       + (f"; not finite: {', '.join(bad)}" if bad else ""))


def _below(da: xr.DataArray, floor: float, rtol: float) -> float | None:
    """Return the smallest value of ``da`` if it falls below ``floor`` (beyond ``rtol``)."""
    values = np.asarray(da, dtype=float)
    if values.size == 0 or not np.isfinite(values).any():
        return None
    lo = float(np.nanmin(values))
    return lo if lo < floor - rtol * max(1.0, float(np.nanmax(np.abs(values)))) else None


def _stock_check(ds: xr.Dataset, rtol: float) -> CheckResult:
    facts = model_facts()
    negative = []
    for name in stock_names(ds):
        floor = facts.variables[name].limits[0]  # a signed stock declares its lower bound
        lo = _below(ds[name], 0.0 if np.isnan(floor) else floor, rtol)
        if lo is not None:
            negative.append(f"{name} ({lo:.3g})")
    return CheckResult("stocks_nonnegative", not negative,
                       "every stock >= 0 (or >= the lower bound the model declares)"
                       + (f"; below: {', '.join(negative)}" if negative else ""))


def _cost_check(ds: xr.Dataset, rtol: float) -> CheckResult:
    names = cost_variables(list(ds.data_vars))
    negative = [f"{n} ({lo:.3g})" for n in names
                if (lo := _below(ds[n], 0.0, rtol)) is not None]
    return CheckResult("costs_nonnegative", not negative,
                       f"every cost, price and ledger entry >= 0 ({len(names)} variables)"
                       + (f"; negative: {', '.join(negative)}" if negative else ""))


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
        ``finite``, ``stocks_nonnegative``, the balances, ``costs_nonnegative`` and
        ``indicators_bounded`` (T1 at most the clusters tracked, T5 at most the parks
        ever eligible and the zones, every share in [0, 1]). T3 has no range to check:
        a share of an increment, it is negative when non-resource value added falls
        from 2010 and above 100 % when the resource industry's does (``finite`` covers
        it).
    """
    out = [_finite_check(ds), _stock_check(ds, rtol)]
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
    out.append(_cost_check(ds, rtol))
    out.append(_indicator_check(ds, rtol))
    return out


#: Outputs the indicator bounds read.
_INDICATOR_OUTPUTS = ("total_clusters_over_100yi", "demonstration_parks", "eligible_parks",
                      "total_zones")


def _over(da: xr.DataArray | np.ndarray, top: xr.DataArray | np.ndarray | float,
          rtol: float) -> float:
    """Return how far ``da`` rises above ``top`` at worst (<= 0 when it never does)."""
    excess = np.asarray(da, dtype=float) - np.asarray(top, dtype=float)
    scale = max(1.0, float(np.nanmax(np.abs(np.asarray(top, dtype=float)))))
    return float(np.nanmax(excess)) - rtol * scale


def _indicator_check(ds: xr.Dataset, rtol: float) -> CheckResult:
    text = ("T1 <= the clusters tracked, T5 <= the parks ever eligible and the zones, "
            "shares in [0, 1]")
    missing = [n for n in _INDICATOR_OUTPUTS if n not in ds]
    if missing:
        return CheckResult("indicators_bounded", False, f"{text}; missing {missing}")
    tracked = float(np.sum(np.asarray(model_facts().value("clusters_per_sector"))))
    eligible = ds["eligible_parks"]
    ever = np.maximum.accumulate(eligible.values, axis=eligible.get_axis_num("time"))
    bad = {"T1 (total_clusters_over_100yi)": _over(ds["total_clusters_over_100yi"], tracked,
                                                   rtol),
           "-T1": _over(-ds["total_clusters_over_100yi"], 0.0, rtol),
           "T5 - parks ever eligible": _over(ds["demonstration_parks"], ever, rtol),
           "T5 - total_zones": _over(ds["demonstration_parks"], ds["total_zones"], rtol)}
    for name in ds.data_vars:
        if "share" in name and ds[name].attrs.get("units") == "Dmnl":
            bad[name] = _over(ds[name], 1.0, rtol)
            bad[f"-{name}"] = _over(-ds[name], 0.0, rtol)
    above = [f"{n} by {v:.3g}" for n, v in bad.items() if v > 0]
    return CheckResult("indicators_bounded", not above,
                       text + (f"; above its bound: {', '.join(above)}" if above else ""))


def check_ensemble(source: str | os.PathLike[str] | xr.Dataset, *,
                   rtol: float = 1e-9) -> list[CheckResult]:
    """Check an ensemble file: every value finite, no stock below its bound, no negative cost.

    Parameters
    ----------
    source : path-like or xarray.Dataset
        An ensemble NetCDF file (``transfer-sim ensemble``) or the Dataset read from
        one. A file is read one variable at a time, so large ensembles fit in memory.
    rtol : float
        Tolerance below a bound, relative to the variable's largest magnitude.

    Returns
    -------
    list of CheckResult
        ``finite``, ``stocks_nonnegative`` and ``costs_nonnegative``, over every run,
        scenario and time the file holds; each detail names the worst offenders.
    """
    if isinstance(source, xr.Dataset):
        return [_finite_check(source), _stock_check(source, rtol), _cost_check(source, rtol)]
    with xr.open_dataset(Path(source), engine="h5netcdf") as ds:
        parts = [[] for _ in range(3)]
        for name in ds.data_vars:
            one = ds[[name]].load()
            for i, check in enumerate((_finite_check(one), _stock_check(one, rtol),
                                       _cost_check(one, rtol))):
                parts[i].append(check)
        n_costs = len(cost_variables(list(ds.data_vars)))
    names = ("finite", "stocks_nonnegative", "costs_nonnegative")
    return [_merge(name, checks, n_costs) for name, checks in zip(names, parts, strict=True)]


def _merge(name: str, checks: Sequence[CheckResult], n_costs: int) -> CheckResult:
    """One check from its per-variable results (the failures' details joined)."""
    failed = [c.detail.split("; ", 1)[1] for c in checks if not c.passed]
    what = {"finite": "every value finite",
            "stocks_nonnegative": "every stock >= its declared lower bound",
            "costs_nonnegative": f"every cost, price and ledger entry >= 0 ({n_costs} "
                                 "variables)"}[name]
    return CheckResult(name, not failed, what + (f"; {'; '.join(failed)}" if failed else ""))


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
    text = "employment change since 2010 = total employment - total employment at the end of 2010"
    if "employment_change_since_2010" not in ds or "total_employment" not in ds:
        return CheckResult("balance_jobs", False, f"{text}; missing outputs")
    times = ds["time"].values
    if not np.any(np.isclose(times, 2011.0)):
        return CheckResult("balance_jobs", True, f"{text}; 2011 not in the output, skipped")
    after = ds.sel(time=times[times >= 2011.0 - 1e-9])
    lhs = after["employment_change_since_2010"]
    rhs = after["total_employment"] - ds["total_employment"].sel(time=2011.0, method="nearest")
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
    inputs : dict
        Other model constants (e.g. uncertainties at an end of their range), applied
        over the levers (:func:`transfer_sim.run.plan.plan`'s ``extra_inputs``).
    """

    name: str
    levers: dict[str, Any] = field(default_factory=dict)
    inputs: dict[str, float] = field(default_factory=dict)


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


def _policy_side(lever: Lever) -> float:
    """Return the bound on the policy's side of ``off`` (the default if it equals ``off``)."""
    default, off = float(lever.default), float(lever.off)
    if default == off:
        return default
    return lever.bounds[1] if default > off else lever.bounds[0]


def strongest_levers() -> dict[str, LeverValue]:
    """Return the strongest package: every lever at its policy-side bound.

    Returns
    -------
    dict
        Each number and schedule lever at the bound on the side the document's value
        lies from the lever's ``off`` value (a shorter approval delay, a larger fund,
        a higher entry threshold); levers whose ``off`` is the document's value (start
        year, Western-Development rate, the fund's mode and weights) keep it. An option
        lever is ``"custom"`` when it has that option (its levers are then set at their
        own bounds), else the document's option.
    """
    out: dict[str, LeverValue] = {}
    for lever in LEVERS:
        if lever.kind == "option":
            out[lever.name] = "custom" if "custom" in lever.options else lever.default
        else:
            value = _policy_side(lever)
            out[lever.name] = int(value) if lever.integer else value
    return out


def weakest_levers() -> dict[str, LeverValue]:
    """Return the weakest package: every lever off (:func:`.levers.off_values`)."""
    return off_values()


def uncertainty_ends(uncertainties: UncertaintySet, end: str) -> dict[str, float]:
    """Return every uncertainty at one end of its distribution's support.

    Parameters
    ----------
    uncertainties : UncertaintySet
        From :func:`transfer_sim.inputs.uncertainty.load_uncertainties`.
    end : {"low", "high"}
        Which end.

    Returns
    -------
    dict
        Model constant -> value: the support's bound where it is finite and a
        value the distribution takes, else the most extreme value an ensemble can
        draw (the 1e-9 or 1 - 1e-9 quantile: a lognormal's ends, 0 and infinity).
    """
    if end not in ("low", "high"):
        raise ValueError(f"end must be 'low' or 'high', not {end!r}")
    i, q = (0, 0.0) if end == "low" else (1, 1.0)
    out = {}
    for unc in uncertainties:
        bound = unc.support[i]
        attained = np.isfinite(bound) and unc.distribution != "lognormal"
        out[unc.name] = float(bound) if attained else float(unc.ppf(q))
    return out


def _uncertainty_cases(uncertainties: UncertaintySet) -> list[Case]:
    packages = {"strongest package": strongest_levers(), "weakest package": weakest_levers()}
    return [Case(f"{label}, uncertainties {end}", dict(levers),
                 uncertainty_ends(uncertainties, end))
            for label, levers in packages.items() for end in ("low", "high")]


def matrix(levers: Sequence[str] | None = None,
           uncertainties: UncertaintySet | None = None) -> list[Case]:
    """Return the check matrix.

    Parameters
    ----------
    levers : sequence of str, optional
        Restrict the one-lever cases to these levers; every lever by default. The
        defaults, all-at-minimum and all-at-maximum cases are always included.
    uncertainties : UncertaintySet, optional
        Add the strongest and the weakest package (:func:`strongest_levers`,
        :func:`weakest_levers`), each with every uncertainty at the low end of its
        support and at the high end (:func:`uncertainty_ends`).

    Returns
    -------
    list of Case
        The defaults; each lever at its minimum and at its maximum (each option
        for option levers); every number and schedule lever at its minimum; every
        one at its maximum; every one at its maximum with the policy starting in
        the default year; then, given ``uncertainties``, the four package x
        uncertainty-end cases. Schedule levers take the bound in every year.

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
    if uncertainties is not None:
        cases += _uncertainty_cases(uncertainties)
    return cases


def run_matrix(cases: Sequence[Case], *, engine: str, final_year: int = DEFAULT_CHECK_YEAR,
               progress: Progress | None = None) -> list[CaseResult]:
    """Run every case and check its results.

    Parameters
    ----------
    cases : sequence of Case
        From :func:`matrix`.
    engine : {"simlin", "pysd", "batch"}
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
            ds = case_dataset(case, engine=engine, final_year=final_year)
        except ModelError as exc:
            out.append(CaseResult(case, error=str(exc)))
            continue
        out.append(CaseResult(case, tuple(check_dataset(ds))))
    if progress is not None:
        progress(len(cases), len(cases), "")
    return out


def case_dataset(case: Case, *, engine: str, final_year: int) -> xr.Dataset:
    """Run one case of the matrix: its levers through the runner, its extra inputs over them.

    Parameters
    ----------
    case : Case
        From :func:`matrix`.
    engine : {"simlin", "pysd", "batch"}
        Engine to use.
    final_year : int
        Last simulated year, 2015-2020.
    """
    if not case.inputs:
        return run_levers(case.levers, final_year=final_year, engine=engine)
    spec = plan(Scenario(name=case.name, levers=dict(case.levers), final_year=final_year),
                extra_inputs=case.inputs)
    eng = get_engine(engine)
    return to_dataset(eng.run(spec), attrs={"engine": eng.name, "levers": json.dumps(
        jsonable(case.levers), ensure_ascii=False), "inputs": json.dumps(case.inputs)})


def _short(check_name: str) -> str:
    return (check_name.removeprefix("balance_").replace("stocks_nonnegative", "stocks>=0")
            .replace("costs_nonnegative", "costs>=0").replace("indicators_bounded", "bounded"))


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
