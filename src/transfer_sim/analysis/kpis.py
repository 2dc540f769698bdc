"""Indicators against the document's five 2015 targets, plus the fiscal ledger by payer.

A figure "in year Y" follows the statistics' convention: a flow is the amount over the
calendar year [Y, Y+1), read from the model's cumulative stock of the rate
(:mod:`transfer_sim.analysis.periods`); a stock is its value at the end of the year,
Time = Y + 1. The 2015 targets are therefore read at the end of 2015, and a run "to
2015" simulates to Time = 2016 (:func:`transfer_sim.inputs.run_settings.final_time`).

Each indicator says how it is read (:class:`Kpi`): ``stock``, ``flow`` or T3's
``share_of_increment`` — the non-resource share of the increment of industrial value
added at comparable prices between the base year 2010 and Y (the document's 贡献率,
二: "对全区工业经济的贡献率达到50％以上"), from the annual real value added of the
non-resource and the resource industry. The model computes the same quantities for
2015 as its own variables (``nonresource_revenue_in_target_year``,
``contribution_rate``); a test holds the two readings equal.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
import xarray as xr

from transfer_sim.analysis.periods import cumulative_name
from transfer_sim.errors import InputError
from transfer_sim.io.tables import format_text_table

__all__ = ["KPIS", "Kpi", "kpi_table", "kpi_series", "kpi_values", "format_table", "by_scenario",
           "required_variables", "net_fiscal_return", "NET_FISCAL_RETURN", "TARGET_YEAR",
           "BASE_YEAR", "Reading", "KPI_CSV_COLUMNS", "TARGET_CODES"]

#: Year the document's targets refer to (end of the 12th Five-Year Plan).
TARGET_YEAR = 2015
#: Base year of increments (end of the 11th Five-Year Plan).
BASE_YEAR = 2010

Reading = Literal["stock", "flow", "share_of_increment"]
#: Columns of the KPI CSV (``transfer-sim compare --kpis``); with ``--ensemble`` the
#: verdict columns (:data:`transfer_sim.analysis.verdicts.VERDICT_COLUMNS`) follow.
KPI_CSV_COLUMNS = ("scenario", "kpi", "year", "value", "unit", "target", "met")


@dataclass(frozen=True)
class Kpi:
    """An indicator: a model output read in a given year, with its target if any.

    Parameters
    ----------
    name : str
        Column value in KPI tables.
    variable : str
        Model output it is read from.
    unit : str
        Unit of the value.
    target : float or None
        The document's target, where it has one (met when value >= target).
    label : str
        English label with the document's Chinese term.
    reading : {"stock", "flow", "share_of_increment"}
        ``stock``: the value at the end of year Y; ``flow``: the amount over year Y
        (``variable`` is a rate with a cumulative stock); ``share_of_increment``: 100 x
        the increment of ``variable``'s annual flow since :data:`BASE_YEAR` over the
        increment of the sum of it and ``other``'s.
    other : str, optional
        The second rate of a ``share_of_increment``.
    """

    name: str
    variable: str
    unit: str
    target: float | None
    label: str
    reading: Reading = "stock"
    other: str | None = None


KPIS: tuple[Kpi, ...] = (
    Kpi("clusters_over_100yi", "total_clusters_over_100yi", "cluster", 60,
        "T1 clusters with revenue > 100 亿元 (产业集群)"),
    Kpi("nonresource_revenue", "nonresource_revenue", "yiyuan", 20000,
        "T2 non-resource sales revenue in the year (销售收入)", "flow"),
    Kpi("contribution_rate", "nonresource_real_value_added", "%", 50,
        "T3 contribution to industrial value-added growth since 2010 (贡献率)",
        "share_of_increment", "resource_real_value_added"),
    Kpi("new_jobs", "jobs_brought_by_transfer", "wanren", 45,
        "T4 new jobs brought since 2010, 万人 (带动新增就业)"),
    Kpi("demonstration_parks", "demonstration_parks", "park", 20,
        "T5 demonstration parks (示范园区)"),
    Kpi("employment_change", "employment_change_since_2010", "wanren", None,
        "change in non-resource employment since 2010, 万人 (就业变化)"),
    Kpi("special_fund_spent", "fund_spent", "yiyuan", None, "special fund spent (专项资金)"),
    Kpi("tax_foregone", "tax_foregone_to_date", "yiyuan", None, "income tax foregone (两免三减半)"),
    Kpi("regional_budget_cost", "regional_budget_cost", "yiyuan", None,
        "cost to the region's budget (自治区财政)"),
    Kpi("local_government_cost", "local_government_cost", "yiyuan", None,
        "cost to league and city budgets (盟市配套)"),
    Kpi("power_discount_cost", "power_discount_paid", "yiyuan", None,
        "cost to generators and the grid (直购电)"),
    Kpi("western_development_cost", "western_development_cost_to_centre_to_date", "yiyuan",
        None, "cost to the centre (西部大开发)"),
    Kpi("transfer_tax_raised", "transfer_tax_raised_to_date", "yiyuan", None,
        "local taxes raised by transferred projects (税收回流)"),
    Kpi("fiscal_cost_per_job", "fiscal_cost_per_job", "yiyuan/wanren", None,
        "public cost per job brought, 万元 a job"),
)


#: Each target's short code in the document's order (``"clusters_over_100yi"`` -> ``"T1"``),
#: read from the labels.
TARGET_CODES: dict[str, str] = {k.name: k.label.split()[0] for k in KPIS
                                if k.target is not None}


#: The package's net fiscal return against the counterfactual (4: who pays, what flows back):
#: the extra budget revenue to date (taxes of the industry the package brought included)
#: minus the extra public cost (regional and local budgets), against ``no-policy``.
NET_FISCAL_RETURN = Kpi("net_fiscal_return", "budget_revenue_to_date", "yiyuan", None,
                        "net fiscal return against no-policy (财政净收益)")
#: Outputs the net fiscal return is read from.
_LEDGER = ("budget_revenue_to_date", "fiscal_cost")


def net_fiscal_return(ds: xr.Dataset, year: int = TARGET_YEAR,
                      reference: str = "no-policy") -> xr.DataArray | None:
    """Return each scenario's extra budget revenue minus its extra public cost [亿元].

    Both to the end of ``year``, against the ``reference`` scenario (the counterfactual);
    None when ``ds`` has no such scenario or lacks the ledger's outputs.

    Parameters
    ----------
    ds : xarray.Dataset
        Results with a ``scenario`` dim.
    year : int
        Year whose end the ledger is read at.
    reference : str
        The counterfactual scenario.
    """
    if "scenario" not in ds.dims or reference not in ds["scenario"].values \
            or any(n not in ds for n in _LEDGER):
        return None
    years = np.array([float(year)])
    revenue = _end_of(ds["budget_revenue_to_date"], years).isel(time=0, drop=True)
    cost = _end_of(ds["fiscal_cost"], years).isel(time=0, drop=True)
    net = revenue - cost
    return net - net.sel(scenario=reference, drop=True)


def _needed(kpi: Kpi) -> list[str]:
    names = [kpi.variable, *([kpi.other] if kpi.other else [])]
    if kpi.reading == "stock":
        return names
    return [cumulative_name(n) for n in names]


def required_variables() -> list[str]:
    """Return the model outputs the indicators (:data:`KPIS`) are read from.

    Examples
    --------
    >>> "cumulative_nonresource_revenue" in required_variables()
    True
    """
    return list(dict.fromkeys([*(n for k in KPIS for n in _needed(k)), *_LEDGER]))


def _end_of(da: xr.DataArray, years: np.ndarray) -> xr.DataArray:
    """Return ``da`` at the end of each year (Time = Y + 1), with ``time`` = Y."""
    times = da["time"].values
    ends = years + 1.0
    missing = [y for y, e in zip(years, ends, strict=True) if not np.any(np.isclose(times, e))]
    if missing:
        raise InputError(f"year {missing[0]:g} is not complete in the results (they end at "
                         f"{times.max():g}; a figure in year Y needs Time = Y + 1)", key="year")
    out = da.sel(time=ends, method="nearest")
    return out.assign_coords(time=years.astype(float))


def _annual_flow(ds: xr.Dataset, rate: str, years: np.ndarray) -> xr.DataArray:
    cum = ds[cumulative_name(rate)]
    return _end_of(cum, years) - _end_of(cum, years - 1.0).assign_coords(time=years)


def _read(ds: xr.Dataset, kpi: Kpi, years: np.ndarray) -> xr.DataArray:
    for name in _needed(kpi):
        if name not in ds:
            raise InputError(f"results lack the variable {name!r}", key=kpi.name)
    if kpi.reading == "stock":
        return _end_of(ds[kpi.variable], years)
    if kpi.reading == "flow":
        return _annual_flow(ds, kpi.variable, years)
    base = np.array([float(BASE_YEAR)])
    share = _annual_flow(ds, kpi.variable, years)
    other = _annual_flow(ds, kpi.other, years)
    d_share = share - _annual_flow(ds, kpi.variable, base).isel(time=0, drop=True)
    d_total = d_share + other - _annual_flow(ds, kpi.other, base).isel(time=0, drop=True)
    rate = 100 * d_share / d_total.where(d_total != 0)
    return rate.where(rate["time"] > BASE_YEAR)


def _years(ds: xr.Dataset) -> np.ndarray:
    """Calendar years complete in ``ds`` (their end is an output time), and whose start is."""
    times = ds["time"].values
    first, last = int(np.ceil(times.min() - 1e-9)), int(np.floor(times.max() + 1e-9)) - 1
    return np.arange(first, last + 1, dtype=float)


def kpi_series(ds: xr.Dataset, years: Sequence[int] | None = None) -> xr.Dataset:
    """Return every indicator in every complete year of the results.

    Parameters
    ----------
    ds : xarray.Dataset
        Results (one run, several scenarios, or an ensemble) with
        :func:`required_variables`.
    years : sequence of int, optional
        Calendar years; every year whose start and end are in the results by default
        (T3 is NaN up to the base year).

    Returns
    -------
    xarray.Dataset
        Variables named like :data:`KPIS`, with the dims of the results but ``sector``
        (``time`` holds the year Y the figure is in) and ``units``, ``long_name``,
        ``target``.
    """
    yrs = np.asarray(years, dtype=float) if years is not None else _years(ds)
    out = {}
    for kpi in KPIS:
        da = _read(ds, kpi, yrs)
        da = da.drop_vars([c for c in da.coords if c not in da.dims]).copy(deep=False)
        da.attrs = {"units": kpi.unit, "long_name": kpi.label, "reading": kpi.reading}
        if kpi.target is not None:
            da.attrs["target"] = float(kpi.target)
        out[kpi.name] = da
    return xr.Dataset(out)


def kpi_values(ds: xr.Dataset, year: int = TARGET_YEAR) -> xr.Dataset:
    """Return every indicator in ``year`` (the document's 2015 by default).

    Parameters
    ----------
    ds : xarray.Dataset
        An ensemble (dims ``scenario``, ``run``, ``time``) or any results.
    year : int
        Year the figures are in (flows over it, stocks at its end).

    Returns
    -------
    xarray.Dataset
        One variable per KPI over the remaining dims (``scenario``, ``run``).
    """
    series = kpi_series(ds, [year])
    return series.isel(time=0, drop=True)


def kpi_table(ds: xr.Dataset, year: int = TARGET_YEAR) -> pd.DataFrame:
    """Return the indicator table for every scenario in ``ds``.

    Parameters
    ----------
    ds : xarray.Dataset
        Results of one run or of several (dim ``scenario``).
    year : int
        Year the figures are in (the document's 2015 by default).

    Returns
    -------
    pandas.DataFrame
        Columns ``scenario, kpi, label, year, value, unit, target, met``; ``met`` is
        True/False where the document has a target and missing otherwise. With a
        ``no-policy`` scenario among them, a last indicator: the net fiscal return
        against it (:func:`net_fiscal_return`).
    """
    scenarios = [str(s) for s in ds["scenario"].values] if "scenario" in ds.dims else [
        str(ds.attrs.get("scenario", "run"))]
    at_year = kpi_values(ds, year)
    net = net_fiscal_return(ds, year)
    rows = []
    for kpi in (*KPIS, *((NET_FISCAL_RETURN,) if net is not None else ())):
        values = net if kpi is NET_FISCAL_RETURN else at_year[kpi.name]
        for scen in scenarios:
            v = values.sel(scenario=scen) if "scenario" in values.dims else values
            value = float(v)
            met = pd.NA if kpi.target is None else bool(value >= kpi.target)
            rows.append({"scenario": scen, "kpi": kpi.name, "label": kpi.label,
                         "year": int(year), "value": value, "unit": kpi.unit,
                         "target": kpi.target if kpi.target is not None else np.nan,
                         "met": met})
    return pd.DataFrame(rows)


def by_scenario(table: pd.DataFrame, lead: Callable[[pd.Series], list[str]],
                cell: Callable[[pd.Series], str]) -> tuple[list[str], list[list[str]]]:
    """Pivot a long table for the terminal: a row per indicator, a column per scenario.

    Parameters
    ----------
    table : pandas.DataFrame
        One row per scenario and indicator, with columns ``scenario`` and ``kpi``
        (a :func:`kpi_table` or a target-probability table).
    lead : callable
        The indicator's first row -> the cells before the scenario columns.
    cell : callable
        The row of one scenario -> its cell.

    Returns
    -------
    scenarios : list of str
        The scenario columns, in table order.
    rows : list of list of str
        One row of cells per indicator, in table order.
    """
    scenarios = list(dict.fromkeys(table["scenario"]))
    rows = []
    for kpi in dict.fromkeys(table["kpi"]):
        sub = table[table["kpi"] == kpi].set_index("scenario")
        rows.append(lead(sub.iloc[0]) + [cell(sub.loc[s]) for s in scenarios])
    return scenarios, rows


def format_table(table: pd.DataFrame) -> str:
    """Format a KPI table for the terminal: one row per indicator, a column per scenario."""
    def lead(first: pd.Series) -> list[str]:
        target = "" if pd.isna(first["target"]) else f">= {first['target']:g}"
        return [str(first["label"]), str(first["unit"]), target]

    def cell(r: pd.Series) -> str:
        mark = "" if pd.isna(r["met"]) else (" met" if r["met"] else " MISSED")
        return f"{r['value']:,.1f}{mark}"

    scenarios, rows = by_scenario(table, lead, cell)
    year = int(table["year"].iloc[0])
    return format_text_table(["indicator", "unit", "target", *scenarios], rows,
                             align="lll" + "r" * len(scenarios),
                             title=f"Indicators in {year} against the document's targets")
