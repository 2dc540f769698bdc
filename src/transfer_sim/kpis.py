"""Indicators against the document's five 2015 targets, plus the fiscal ones.

Every indicator is read from model outputs; the only arithmetic done here is the
contribution rate T3 (a ratio of two increments between 2010 and the KPI year),
which the document defines on the region's statistics, not on a model stock.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass

import numpy as np
import pandas as pd
import xarray as xr

from .errors import InputError

__all__ = ["KPIS", "Kpi", "kpi_table", "format_table", "TARGET_YEAR", "BASE_YEAR",
           "contribution_rate"]

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


def _at(da: xr.DataArray, year: float) -> xr.DataArray:
    times = da["time"].values
    if not np.any(np.isclose(times, year)):
        raise InputError(f"year {year:g} is not in the results ({times.min():g}-{times.max():g})",
                         key="year")
    return da.sel(time=year, method="nearest")


def contribution_rate(ds: xr.Dataset, year: float = TARGET_YEAR,
                      base_year: float = BASE_YEAR) -> xr.DataArray:
    """Return T3: the non-resource share of the industrial revenue increment [%].

    Parameters
    ----------
    ds : xarray.Dataset
        Results with ``nonresource_revenue`` and ``industrial_revenue``.
    year, base_year : float
        End and start of the increment.
    """
    nr = ds["nonresource_revenue"]
    ind = ds["industrial_revenue"]
    d_nr = _at(nr, year) - _at(nr, base_year)
    d_ind = _at(ind, year) - _at(ind, base_year)
    return 100 * d_nr / d_ind.where(d_ind != 0)


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
    rows = []
    for kpi in KPIS:
        if kpi.variable is None:
            values = contribution_rate(ds, year)
        else:
            if kpi.variable not in ds:
                raise InputError(f"results lack the variable {kpi.variable!r}", key=kpi.name)
            values = _at(ds[kpi.variable], year)
        for scen in scenarios:
            v = values.sel(scenario=scen) if "scenario" in values.dims else values
            value = float(v)
            met = pd.NA if kpi.target is None else bool(value >= kpi.target)
            rows.append({"scenario": scen, "kpi": kpi.name, "label": kpi.label,
                         "year": int(year), "value": value, "unit": kpi.unit,
                         "target": kpi.target if kpi.target is not None else np.nan,
                         "met": met})
    return pd.DataFrame(rows)


def _width(text: str) -> int:
    """Terminal width of ``text`` (CJK characters take two columns)."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def format_table(table: pd.DataFrame) -> str:
    """Format a KPI table for the terminal: one row per indicator, a column per scenario."""
    scenarios = list(dict.fromkeys(table["scenario"]))
    header = ["indicator", "unit", "target"] + scenarios
    lines = []
    for kpi in dict.fromkeys(table["kpi"]):
        sub = table[table["kpi"] == kpi].set_index("scenario")
        first = sub.iloc[0]
        target = "" if pd.isna(first["target"]) else f">= {first['target']:g}"
        cells = [str(first["label"]), str(first["unit"]), target]
        for s in scenarios:
            r = sub.loc[s]
            mark = "" if pd.isna(r["met"]) else (" met" if r["met"] else " MISSED")
            cells.append(f"{r['value']:,.1f}{mark}")
        lines.append(cells)
    widths = [max(_width(str(c)) for c in col) for col in zip(header, *lines, strict=True)]

    def fmt(cells: list[str]) -> str:
        out = []
        for i, (c, w) in enumerate(zip(cells, widths, strict=True)):
            pad = " " * (w - _width(str(c)))
            out.append(f"{c}{pad}" if i < 3 else f"{pad}{c}")
        return "  ".join(out)

    year = int(table["year"].iloc[0])
    out = [f"Indicators in {year} against the document's targets", fmt(header),
           "  ".join("-" * w for w in widths)]
    out += [fmt(c) for c in lines]
    return "\n".join(out)
