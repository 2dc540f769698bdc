"""Ensemble and sensitivity figures.

Everything here takes data (an ensemble Dataset, a table) and returns an Axes or a
Figure; nothing runs the model. The statistics they show are computed in
:mod:`transfer_sim.analysis.probabilities`. Plotting functions take an optional ``ax``
and return the Axes they drew on; the multi-panel ones return a Figure.
"""

from __future__ import annotations

from collections.abc import Sequence

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from transfer_sim.analysis.kpis import KPIS, TARGET_YEAR, kpi_series
from transfer_sim.analysis.probabilities import TARGETS, needed_variables
from transfer_sim.errors import InputError
from transfer_sim.plotting.figures import scenario_colors

__all__ = [
    "BANDS",
    "fan_chart",
    "fan_charts",
    "probability_chart",
    "sensitivity_chart",
]

#: Quantiles of the fan charts' bands: 5-95 %, 25-75 % and the median.
BANDS = (0.05, 0.25, 0.5, 0.75, 0.95)


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
    names = list(kpis) if kpis is not None else list(TARGETS)
    unknown = [k for k in names if k not in {kp.name for kp in KPIS}]
    if unknown:
        raise InputError(f"unknown indicator {unknown[0]!r}; allowed: "
                         f"{', '.join(k.name for k in KPIS)}", key="kpis")
    series = kpi_series(ds[needed_variables(ds)])
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


