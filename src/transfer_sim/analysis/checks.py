"""Behaviour checks on results: finite outputs, non-negative stocks, closed balances.

The balances are accounting identities of the model's stock-and-flow structure
(what goes in a chain is somewhere in it or has left it); each is read from model
outputs only, so a broken equation in the ``.mdl`` shows up here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import xarray as xr

from transfer_sim.model.facts import model_facts

__all__ = ["CheckResult", "check_dataset", "BALANCES", "stock_names"]

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
