"""The history figure: observed points against the model's series, one panel a variable.

Takes the table of :func:`transfer_sim.analysis.history.compare_history`, the run it
compared and optionally one scenario's ensemble; nothing runs the model. A flow is drawn
as its rate (units per year); an observation over a period is drawn at the period's
middle as its mean rate over the period (amount / length), with a bar spanning the
period, so partial-year and annual figures share one axis. A stock is drawn as its
value, observations at the period's end. With an ensemble the model's 5-95 % band is
shaded where the ensemble file holds the variable.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from transfer_sim.analysis.calibration.observed import SECTOR_TOTAL
from transfer_sim.analysis.history import BAND_QUANTILES
from transfer_sim.analysis.periods import is_rate
from transfer_sim.errors import InputError

__all__ = ["plot_history", "series_of"]

_MARKERS = {"in": ("o", "black", "observed, in sample"),
            "out": ("s", "C3", "observed, out of sample")}


def series_of(ds: xr.Dataset, variable: str) -> xr.DataArray:
    """Return the model's series of an observed variable (``name``, ``name[sector]``).

    ``name[total]`` is the sum over sectors; other dims (e.g. ``run``) are kept.
    """
    name, _, element = variable.partition("[")
    element = element.rstrip("]")
    if name not in ds:
        raise InputError("results lack this variable", key=name)
    da = ds[name]
    if element == SECTOR_TOTAL:
        return da.sum("sector", keep_attrs=True)
    return da.sel(sector=element) if element else da


def _observed_points(rows: pd.DataFrame, flow: bool) -> tuple[np.ndarray, ...]:
    """Return x, y and half-widths of the observed points (mean rates for a flow)."""
    start = rows["start"].to_numpy(dtype=float)
    end = rows["end"].to_numpy(dtype=float)
    values = rows["observed"].to_numpy(dtype=float)
    if flow:
        return (start + end) / 2, values / (end - start), (end - start) / 2
    return end, values, np.zeros(len(rows))


def _panel(ax: object, variable: str, rows: pd.DataFrame, ds: xr.Dataset,
           ensemble: xr.Dataset | None) -> bool:
    """Draw one variable's panel; return whether a band was drawn."""
    model = series_of(ds, variable)
    units = str(model.attrs.get("units", ""))
    flow = is_rate(units)
    t = model["time"].values
    ax.plot(t, model.values, color="C0", lw=1.5, label="model")
    banded = False
    if ensemble is not None and variable.partition("[")[0] in ensemble:
        q = series_of(ensemble, variable).quantile(list(BAND_QUANTILES), dim="run")
        ax.fill_between(q["time"].values, q.isel(quantile=0).values, q.isel(quantile=1).values,
                        color="C0", alpha=0.2, lw=0, label="model 5-95 %")
        banded = True
    for sample, (marker, color, label) in _MARKERS.items():
        sub = rows[rows["sample"] == sample]
        if sub.empty:
            continue
        x, y, half = _observed_points(sub, flow)
        ax.errorbar(x, y, xerr=half, fmt=marker, color=color, ms=4, capsize=0, lw=1,
                    label=label)
    side = rows["model_side"].iloc[0] if "model_side" in rows else "endogenous"
    ax.set_title(variable + (" (exogenous input)" if side == "exogenous" else ""), fontsize=9)
    ax.set_ylabel(units + (" (periods as mean rates)" if flow else ""), fontsize=7)
    ax.tick_params(labelsize=7)
    return banded


def plot_history(table: pd.DataFrame, ds: xr.Dataset,
                 ensemble: xr.Dataset | None = None) -> Figure:
    """Draw every observed variable of a history table against the model.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`~transfer_sim.analysis.history.compare_history`'s table.
    ds : xarray.Dataset
        The run it compared (dims ``time`` and ``sector``).
    ensemble : xarray.Dataset, optional
        One scenario's ensemble (dims ``run``, ``time``, ``sector``): the 5-95 % band.

    Returns
    -------
    matplotlib.figure.Figure
        One panel a variable; the figure's suptitle says where a band is missing.
    """
    import matplotlib.pyplot as plt

    variables = list(dict.fromkeys(table["variable"]))
    if not variables:
        raise InputError("no observations to plot", key="observed")
    ncol = min(3, len(variables))
    nrow = math.ceil(len(variables) / ncol)
    fig, axes = plt.subplots(nrow, ncol, figsize=(4.2 * ncol, 2.9 * nrow), squeeze=False)
    unbanded = []
    for ax, variable in zip(axes.flat, variables, strict=False):
        if not _panel(ax, variable, table[table["variable"] == variable], ds, ensemble):
            unbanded.append(variable)
    for ax in list(axes.flat)[len(variables):]:
        ax.set_visible(False)
    legend: dict[str, object] = {}
    for ax in axes.flat:
        for handle, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, handle)
    fig.legend(list(legend.values()), list(legend), loc="lower center", ncol=len(legend),
               fontsize=7, frameon=False)
    title = "The model against every sourced observation"
    if ensemble is not None and unbanded:
        title += (f"\n(no band for {len(unbanded)} variables the ensemble file lacks; "
                  "transfer-sim ensemble --all-variables keeps them)")
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.03, 1, 1))
    return fig
