"""Ensemble and sensitivity figures and the probability-of-target table.

Everything here takes data (an ensemble Dataset, a table) and returns a table, an
Axes or a Figure; nothing runs the model. Plotting functions take an optional ``ax``
and return the Axes they drew on; the multi-panel ones return a Figure.
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from transfer_sim.analysis.kpis import KPIS, TARGET_YEAR
from transfer_sim.errors import InputError
from transfer_sim.plotting.figures import scenario_colors
from transfer_sim.run.ensemble import kpi_series, kpi_values

__all__ = [
    "BANDS",
    "target_probabilities",
    "format_probabilities",
    "wilson_interval",
    "fan_chart",
    "fan_charts",
    "probability_chart",
    "sensitivity_chart",
    "report_sections",
    "ensemble_file_sections",
]

#: Quantiles of the fan charts' bands: 5-95 %, 25-75 % and the median.
BANDS = (0.05, 0.25, 0.5, 0.75, 0.95)
_TARGETS = {k.name: k for k in KPIS if k.target is not None}


def wilson_interval(successes: int, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Return the Wilson score interval of a binomial proportion.

    Parameters
    ----------
    successes : int
        Runs that met the target.
    n : int
        Runs.
    z : float
        Normal quantile (1.96 for 95 %).

    Returns
    -------
    tuple of float
        ``(low, high)`` in [0, 1]; ``(nan, nan)`` when ``n`` is 0.
    """
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return (max(0.0, centre - half), min(1.0, centre + half))


def target_probabilities(ds: xr.Dataset, year: float = TARGET_YEAR) -> pd.DataFrame:
    """Return the probability of meeting each of the document's targets per scenario.

    Parameters
    ----------
    ds : xarray.Dataset
        An ensemble (dims ``scenario``, ``run``, ``time``).
    year : float
        Year the targets refer to (2015).

    Returns
    -------
    pandas.DataFrame
        Columns ``scenario, kpi, label, unit, target, runs, p_met, ci_low, ci_high,
        p05, median, p95``: the share of runs with the indicator at or above its
        target, its 95 % Wilson interval (sampling error of the ensemble), and the
        indicator's 5 %, 50 % and 95 % quantiles. Runs where an indicator is
        undefined (NaN) are left out of its count.
    """
    if "run" not in ds.dims:
        raise InputError("not an ensemble: the results have no 'run' dimension", key="run")
    values = kpi_values(ds[[v for v in _needed(ds)]], year)
    scenarios = ([str(s) for s in ds["scenario"].values] if "scenario" in ds.dims
                 else [str(ds.attrs.get("scenario", "run"))])
    rows = []
    for name, kpi in _TARGETS.items():
        da = values[name]
        for scen in scenarios:
            v = da.sel(scenario=scen) if "scenario" in da.dims else da
            arr = np.asarray(v.values, dtype=float).ravel()
            arr = arr[np.isfinite(arr)]
            met = int(np.sum(arr >= kpi.target))
            lo, hi = wilson_interval(met, arr.size)
            q = np.quantile(arr, [0.05, 0.5, 0.95]) if arr.size else [np.nan] * 3
            rows.append({"scenario": scen, "kpi": name, "label": kpi.label, "unit": kpi.unit,
                         "target": float(kpi.target), "runs": int(arr.size),
                         "p_met": met / arr.size if arr.size else np.nan,
                         "ci_low": lo, "ci_high": hi,
                         "p05": float(q[0]), "median": float(q[1]), "p95": float(q[2])})
    return pd.DataFrame(rows)


def _needed(ds: xr.Dataset) -> list[str]:
    names = {k.variable for k in KPIS if k.variable} | {"nonresource_revenue",
                                                         "industrial_revenue"}
    return [n for n in ds.data_vars if n in names]


def format_probabilities(table: pd.DataFrame) -> str:
    """Format a :func:`target_probabilities` table for the terminal.

    One row per target, a column per scenario: ``P(met) [95 % interval]``.
    """
    scenarios = list(dict.fromkeys(table["scenario"]))
    header = ["target", "unit", "2015 target"] + scenarios
    lines = []
    for kpi in dict.fromkeys(table["kpi"]):
        sub = table[table["kpi"] == kpi].set_index("scenario")
        first = sub.iloc[0]
        cells = [str(first["label"]), str(first["unit"]), f">= {first['target']:g}"]
        for s in scenarios:
            r = sub.loc[s]
            cells.append(f"{100 * r['p_met']:.0f} % [{100 * r['ci_low']:.0f}-"
                         f"{100 * r['ci_high']:.0f}]")
        lines.append(cells)
    widths = [max(len(str(c)) for c in col) for col in zip(header, *lines, strict=True)]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(str(c).ljust(w) if i < 3 else str(c).rjust(w)
                         for i, (c, w) in enumerate(zip(cells, widths, strict=True)))

    runs = int(table["runs"].max()) if len(table) else 0
    out = [f"Probability of meeting each target ({runs} runs; 95 % interval)", fmt(header),
           "  ".join("-" * w for w in widths)]
    return "\n".join(out + [fmt(c) for c in lines])


def fan_chart(series: xr.DataArray, *, ax: Axes | None = None, target: float | None = None,
              color: str | None = None, label: str | None = None) -> Axes:
    """Draw a fan chart: 5-95 % and 25-75 % bands and the median over time.

    Parameters
    ----------
    series : xarray.DataArray
        Dims ``run`` and ``time`` (one scenario).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's by default.
    target : float, optional
        Draws the 2015 target as a dashed line and a marker at the target year.
    color : str, optional
        Colour of the bands and median.
    label : str, optional
        Legend label of the median.

    Returns
    -------
    matplotlib.axes.Axes
    """
    if set(series.dims) != {"run", "time"}:
        raise InputError(f"fan chart needs dims ('run', 'time'), got {series.dims}",
                         key="series")
    if ax is None:
        _, ax = plt.subplots(figsize=(6, 3.5))
    da = series.dropna("time", how="all")
    q = da.quantile(list(BANDS), dim="run", skipna=True)
    t = da["time"].values
    line = ax.plot(t, q.sel(quantile=0.5).values, color=color, lw=1.8,
                   label=label or "median")[0]
    c = line.get_color()
    ax.fill_between(t, q.sel(quantile=0.05).values, q.sel(quantile=0.95).values,
                    color=c, alpha=0.18, lw=0, label="5-95 %")
    ax.fill_between(t, q.sel(quantile=0.25).values, q.sel(quantile=0.75).values,
                    color=c, alpha=0.35, lw=0, label="25-75 %")
    if target is not None:
        ax.axhline(target, color="black", ls="--", lw=1, label=f"{TARGET_YEAR} target")
        ax.plot([TARGET_YEAR], [target], marker="o", color="black", ms=4)
    units = series.attrs.get("units")
    if units:
        ax.set_ylabel(str(units))
    ax.set_xlabel("year")
    return ax


def fan_charts(ds: xr.Dataset, kpis: Sequence[str] | None = None) -> Figure:
    """Fan charts of the indicators over time: a row per indicator, a column per scenario.

    Parameters
    ----------
    ds : xarray.Dataset
        An ensemble.
    kpis : sequence of str, optional
        Indicator names; those with a target (T1-T5) by default.

    Returns
    -------
    matplotlib.figure.Figure
    """
    names = list(kpis) if kpis is not None else list(_TARGETS)
    unknown = [k for k in names if k not in {kp.name for kp in KPIS}]
    if unknown:
        raise InputError(f"unknown indicator {unknown[0]!r}; allowed: "
                         f"{', '.join(k.name for k in KPIS)}", key="kpis")
    series = kpi_series(ds[_needed(ds)])
    scenarios = ([str(s) for s in ds["scenario"].values] if "scenario" in ds.dims else [None])
    colors = scenario_colors([s for s in scenarios if s is not None])
    fig, axes = plt.subplots(len(names), len(scenarios), squeeze=False, sharex=True,
                             sharey="row", figsize=(3.6 * len(scenarios) + 1,
                                                    2.4 * len(names) + 0.6))
    for i, name in enumerate(names):
        da = series[name]
        target = da.attrs.get("target")
        for j, scen in enumerate(scenarios):
            sub = da.sel(scenario=scen) if scen is not None else da
            ax = fan_chart(sub, ax=axes[i, j], target=target,
                           color=colors.get(scen, f"C{j}") if scen is not None else None)
            if i == 0:
                ax.set_title(scen or "ensemble")
            if j == 0:
                ax.set_ylabel(f"{name}\n[{da.attrs.get('units', '')}]")
            else:
                ax.set_ylabel("")
            if i < len(names) - 1:
                ax.set_xlabel("")
    axes[0, -1].legend(fontsize="small", loc="upper left")
    fig.suptitle(f"Indicators under uncertainty ({ds.sizes.get('run', 0)} runs)")
    fig.tight_layout()
    return fig


def probability_chart(table: pd.DataFrame, *, ax: Axes | None = None) -> Axes:
    """Bar chart of the probability of meeting each target, per scenario.

    Parameters
    ----------
    table : pandas.DataFrame
        From :func:`target_probabilities`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on.

    Returns
    -------
    matplotlib.axes.Axes
        Bars with the 95 % Wilson intervals as error bars.
    """
    if ax is None:
        _, ax = plt.subplots(figsize=(7, 3.5))
    kpis = list(dict.fromkeys(table["kpi"]))
    scenarios = list(dict.fromkeys(table["scenario"]))
    colors = scenario_colors(scenarios)
    width = 0.8 / max(1, len(scenarios))
    x = np.arange(len(kpis))
    for j, scen in enumerate(scenarios):
        sub = table[table["scenario"] == scen].set_index("kpi").reindex(kpis)
        p = sub["p_met"].to_numpy(dtype=float)
        err = np.vstack([p - sub["ci_low"].to_numpy(dtype=float),
                         sub["ci_high"].to_numpy(dtype=float) - p])
        ax.bar(x + (j - (len(scenarios) - 1) / 2) * width, p, width, yerr=err, capsize=2,
               label=scen, color=colors[scen])
    ax.set_xticks(x, kpis, rotation=20, ha="right")
    ax.set_ylim(0, 1.05)
    ax.set_ylabel(f"P(target met in {TARGET_YEAR})")
    ax.legend(fontsize="small")
    return ax


def sensitivity_chart(indices: pd.DataFrame) -> Figure:
    """Bar charts of sensitivity indices with confidence intervals, a panel per indicator.

    Parameters
    ----------
    indices : pandas.DataFrame
        From :func:`transfer_sim.analysis.sensitivity.sobol_indices` (``S1``/``ST``) or
        :func:`transfer_sim.analysis.sensitivity.morris_indices` (``mu_star``): columns
        ``kpi, parameter, index, value, conf``.

    Returns
    -------
    matplotlib.figure.Figure
    """
    kinds = [k for k in ("S1", "ST", "mu_star") if k in set(indices["index"])]
    if not kinds:
        raise InputError("no S1, ST or mu_star rows to plot", key="index")
    kpis = list(dict.fromkeys(indices["kpi"]))
    params = list(dict.fromkeys(indices["parameter"]))
    fig, axes = plt.subplots(len(kpis), 1, squeeze=False,
                             figsize=(max(6.0, 0.45 * len(params) + 2), 2.6 * len(kpis) + 0.8))
    width = 0.8 / len(kinds)
    x = np.arange(len(params))
    for i, kpi in enumerate(kpis):
        ax = axes[i, 0]
        for j, kind in enumerate(kinds):
            sub = indices[(indices["kpi"] == kpi) & (indices["index"] == kind)]
            sub = sub.set_index("parameter").reindex(params)
            ax.bar(x + (j - (len(kinds) - 1) / 2) * width, sub["value"].to_numpy(dtype=float),
                   width, yerr=sub["conf"].to_numpy(dtype=float), capsize=2, label=kind,
                   color=f"C{j}")
        ax.set_title(kpi, fontsize="medium")
        ax.set_xticks(x, params if i == len(kpis) - 1 else [""] * len(params), rotation=60,
                      ha="right")
        ax.axhline(0, color="grey", lw=0.5)
        ax.set_ylabel("index" if kinds != ["mu_star"] else "mu*")
        if i == 0:
            ax.legend(fontsize="small")
    fig.tight_layout()
    return fig


def report_sections(ds: xr.Dataset, *, source: str = "") -> list:
    """Return the HTML report's sections for an ensemble.

    Parameters
    ----------
    ds : xarray.Dataset
        An ensemble file's Dataset.
    source : str
        The ensemble file's name, quoted in the captions.

    Returns
    -------
    list of transfer_sim.report.Section
        "Probability of meeting the targets" (table and chart) and "Indicators
        under uncertainty" (fan charts).
    """
    from transfer_sim.report.html import Section, figure_html, table_html

    table = target_probabilities(ds)
    where = f" from {source}" if source else ""
    runs = int(ds.sizes.get("run", 0))
    shown = table[["scenario", "label", "target", "p_met", "ci_low", "ci_high", "p05",
                   "median", "p95"]].rename(columns={
                       "label": "indicator", "p_met": "P(met)", "ci_low": "95 % low",
                       "ci_high": "95 % high", "p05": "5 %", "p95": "95 %"})
    fig = probability_chart(table).figure
    try:
        chart = figure_html(fig, alt="probability of meeting each 2015 target",
                            caption=f"Share of {runs} ensemble runs{where} meeting each target; "
                                    "bars show 95 % Wilson intervals.")
    finally:
        plt.close(fig)
    fans = fan_charts(ds)
    try:
        fan = figure_html(fans, alt="fan charts of the target indicators",
                          caption=f"Median, 25-75 % and 5-95 % of {runs} runs{where}; dashed "
                                  f"line: the {TARGET_YEAR} target.")
    finally:
        plt.close(fans)
    return [Section("Probability of meeting the targets", table_html(shown) + chart),
            Section("Indicators under uncertainty", fan)]


def ensemble_file_sections(path: str | os.PathLike[str]) -> list:
    """Read an ensemble file and return its report sections (see :func:`report_sections`).

    Raises
    ------
    InputError
        When the file cannot be read or holds no ensemble.
    """
    p = Path(path)
    try:
        ds = xr.open_dataset(p, engine="h5netcdf")
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the ensemble file ({exc})", file=str(p)) from None
    with ds:
        if "run" not in ds.dims:
            raise InputError("not an ensemble file (no 'run' dimension)", file=str(p))
        return report_sections(ds, source=p.name)
