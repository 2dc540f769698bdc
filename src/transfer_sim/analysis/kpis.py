"""Indicators against the document's five 2015 targets, plus the fiscal ones.

Every indicator is read from model outputs; the only arithmetic done here is the
contribution rate T3 (a ratio of two increments between 2010 and the KPI year),
which the document defines on the region's statistics, not on a model stock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from transfer_sim.errors import InputError
from transfer_sim.io.tables import format_text_table

__all__ = ["KPIS", "Kpi", "kpi_table", "kpi_series", "kpi_values", "format_table",
           "required_variables", "TARGET_YEAR", "BASE_YEAR", "contribution_rate",
           "contribution_series"]

#: Year the document's targets refer to (end of the 12th Five-Year Plan).
TARGET_YEAR = 2015
#: Base year of increments (end of the 11th Five-Year Plan).
BASE_YEAR = 2010


@dataclass(frozen=True)
class Kpi:
    """An indicator.

    Parameters
    ----------
    name : str
        Column value in KPI tables.
    variable : str or None
        Model output it reads at the KPI year (None for computed ones).
    unit : str
        Unit of the value.
    target : float or None
        The document's target, where it has one (met when value >= target).
    label : str
        English label with the document's Chinese term.
    """

    name: str
    variable: str | None
    unit: str
    target: float | None
    label: str


KPIS: tuple[Kpi, ...] = (
    Kpi("clusters_over_100yi", "total_clusters_over_100yi", "cluster", 60,
        "T1 clusters with revenue > 100 亿元 (产业集群)"),
    Kpi("nonresource_revenue", "nonresource_revenue_in_target_year", "yiyuan", 20000,
        "T2 non-resource sales revenue (销售收入)"),
    Kpi("contribution_rate", "contribution_rate", "%", 50,
        "T3 contribution to industrial growth since 2010 (贡献率)"),
    Kpi("new_jobs", "jobs_brought_by_transfer", "wanren", 45,
        "T4 new jobs brought since 2010, 万人 (带动新增就业)"),
    Kpi("demonstration_parks", "demonstration_parks", "park", 20,
        "T5 demonstration parks (示范园区)"),
    Kpi("special_fund_spent", "fund_spent", "yiyuan", None, "special fund spent (专项资金)"),
    Kpi("tax_foregone", "tax_foregone_to_date", "yiyuan", None, "income tax foregone (两免三减半)"),
    Kpi("power_discount_cost", "power_discount_paid", "yiyuan", None,
        "power discount cost (直购电)"),
    Kpi("fiscal_cost_per_job", "fiscal_cost_per_job", "yiyuan/wanren", None,
        "fiscal cost per new job, 万元 a job"),
)
#: Outputs T3 (the contribution rate, computed here) is a ratio of.
_T3_VARIABLES = ("nonresource_revenue", "industrial_revenue")


def required_variables() -> list[str]:
    """Return the model outputs the indicators (:data:`KPIS`) are computed from.

    Examples
    --------
    >>> "industrial_revenue" in required_variables()
    True
    """
    names = [k.variable for k in KPIS if k.variable is not None]
    return list(dict.fromkeys([*names, *_T3_VARIABLES]))


def _at(da: xr.DataArray, year: float) -> xr.DataArray:
    """Return ``da`` at ``year`` (which must be an output time)."""
    times = da["time"].values
    if not np.any(np.isclose(times, year)):
        raise InputError(f"year {year:g} is not in the results ({times.min():g}-{times.max():g})",
                         key="year")
    return da.sel(time=year, method="nearest")


def _need(ds: xr.Dataset, names: Sequence[str], kpi: str) -> None:
    for name in names:
        if name not in ds:
            raise InputError(f"results lack the variable {name!r}", key=kpi)


def contribution_series(ds: xr.Dataset, base_year: float = BASE_YEAR) -> xr.DataArray:
    """Return T3 over time: the non-resource share of the industrial revenue increment [%].

    The increment of each output time is taken from ``base_year``; T3 is NaN at and
    before the base year and where the industrial increment is zero.

    Parameters
    ----------
    ds : xarray.Dataset
        Results with ``nonresource_revenue`` and ``industrial_revenue`` (any other
        dims, e.g. ``scenario`` and ``run``, are kept).
    base_year : float
        Start of the increments (2010, the end of the 11th Five-Year Plan).

    Returns
    -------
    xarray.DataArray
        Dims of the inputs (``time`` included).
    """
    _need(ds, _T3_VARIABLES, "contribution_rate")
    nr, ind = ds["nonresource_revenue"], ds["industrial_revenue"]
    d_nr = nr - _at(nr, base_year).drop_vars("time")
    d_ind = ind - _at(ind, base_year).drop_vars("time")
    rate = 100 * d_nr / d_ind.where(d_ind != 0)
    return rate.where(rate["time"] > base_year)


def contribution_rate(ds: xr.Dataset, year: float = TARGET_YEAR,
                      base_year: float = BASE_YEAR) -> xr.DataArray:
    """Return T3 at ``year``: :func:`contribution_series` read at one year [%].

    Parameters
    ----------
    ds : xarray.Dataset
        Results with ``nonresource_revenue`` and ``industrial_revenue``.
    year, base_year : float
        End and start of the increment.
    """
    return _at(contribution_series(ds, base_year), year)


def kpi_series(ds: xr.Dataset, base_year: float = BASE_YEAR) -> xr.Dataset:
    """Return every indicator over time, one variable per KPI name.

    Parameters
    ----------
    ds : xarray.Dataset
        Results (one run, several scenarios, or an ensemble) with
        :func:`required_variables`.
    base_year : float
        Start of the increments of T3 (contribution rate), which is defined only
        after it (NaN before).

    Returns
    -------
    xarray.Dataset
        Variables named like :data:`KPIS`, with their dims (``scenario``, ``run``,
        ``time``) and ``units``, ``long_name``, ``target``.
    """
    out = {}
    for kpi in KPIS:
        if kpi.variable is None:
            da = contribution_series(ds, base_year)
        else:
            _need(ds, [kpi.variable], kpi.name)
            da = ds[kpi.variable]
        da = da.drop_vars([c for c in da.coords if c not in da.dims]).copy(deep=False)
        da.attrs = {"units": kpi.unit, "long_name": kpi.label}
        if kpi.target is not None:
            da.attrs["target"] = float(kpi.target)
        out[kpi.name] = da
    return xr.Dataset(out)


def kpi_values(ds: xr.Dataset, year: float = TARGET_YEAR) -> xr.Dataset:
    """Return every indicator at ``year`` (the document's 2015 by default).

    Parameters
    ----------
    ds : xarray.Dataset
        An ensemble (dims ``scenario``, ``run``, ``time``) or any results.
    year : float
        Year to read the indicators at.

    Returns
    -------
    xarray.Dataset
        One variable per KPI over the remaining dims (``scenario``, ``run``).
    """
    series = kpi_series(ds)
    return xr.Dataset({k: _at(v, year).drop_vars("time") for k, v in series.items()})


def kpi_table(ds: xr.Dataset, year: float = TARGET_YEAR) -> pd.DataFrame:
    """Return the indicator table for every scenario in ``ds``.

    Parameters
    ----------
    ds : xarray.Dataset
        Results of one run or of several (dim ``scenario``).
    year : float
        Year to read the indicators at (the document's 2015 by default).

    Returns
    -------
    pandas.DataFrame
        Columns ``scenario, kpi, label, year, value, unit, target, met``; ``met`` is
        True/False where the document has a target and missing otherwise.
    """
    scenarios = [str(s) for s in ds["scenario"].values] if "scenario" in ds.dims else [
        str(ds.attrs.get("scenario", "run"))]
    at_year = kpi_values(ds, year)
    rows = []
    for kpi in KPIS:
        values = at_year[kpi.name]
        for scen in scenarios:
            v = values.sel(scenario=scen) if "scenario" in values.dims else values
            value = float(v)
            met = pd.NA if kpi.target is None else bool(value >= kpi.target)
            rows.append({"scenario": scen, "kpi": kpi.name, "label": kpi.label,
                         "year": int(year), "value": value, "unit": kpi.unit,
                         "target": kpi.target if kpi.target is not None else np.nan,
                         "met": met})
    return pd.DataFrame(rows)


def format_table(table: pd.DataFrame) -> str:
    """Format a KPI table for the terminal: one row per indicator, a column per scenario."""
    scenarios = list(dict.fromkeys(table["scenario"]))
    header = ["indicator", "unit", "target", *scenarios]
    rows = []
    for kpi in dict.fromkeys(table["kpi"]):
        sub = table[table["kpi"] == kpi].set_index("scenario")
        first = sub.iloc[0]
        target = "" if pd.isna(first["target"]) else f">= {first['target']:g}"
        cells = [str(first["label"]), str(first["unit"]), target]
        for s in scenarios:
            r = sub.loc[s]
            mark = "" if pd.isna(r["met"]) else (" met" if r["met"] else " MISSED")
            cells.append(f"{r['value']:,.1f}{mark}")
        rows.append(cells)
    year = int(table["year"].iloc[0])
    return format_text_table(header, rows, align="lll" + "r" * len(scenarios),
                             title=f"Indicators in {year} against the document's targets")
