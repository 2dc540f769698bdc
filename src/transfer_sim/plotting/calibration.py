"""Calibration figures: an observed series against the model, and the fitted intervals.

Each takes a :class:`~transfer_sim.analysis.calibration.CalibrationResult` and an
optional ``ax``, and returns the Axes it drew on; nothing runs the model.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from transfer_sim.analysis.calibration.result import CalibrationResult
from transfer_sim.errors import InputError

__all__ = ["plot_fit", "plot_intervals"]


def plot_fit(result: CalibrationResult, variable: str, *, ax: Any = None) -> Any:
    """Plot one observed series against the model at the starting and fitted values.

    Parameters
    ----------
    result : CalibrationResult
        A calibration.
    variable : str
        An observed variable (e.g. ``"industrial_revenue"``).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure's by default.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3.2))
    traj = result.trajectories[result.trajectories["variable"] == variable]
    obs = result.observations[result.observations["variable"] == variable]
    if obs.empty:
        raise InputError(f"no observations of {variable!r}; observed: "
                         f"{', '.join(dict.fromkeys(result.observations['variable']))}",
                         key="variable")
    ax.plot(traj["time"], traj["start"], color="0.6", ls="--", label="model, start")
    ax.plot(traj["time"], traj["fitted"], color="C0", label="model, fitted")
    for sample, marker in (("fit", "o"), ("holdout", "s")):
        o = obs[obs["sample"] == sample]
        if o.empty:
            continue
        err = o["observed"] * o["sigma"]
        ax.errorbar(o["year"], o["observed"], yerr=err, fmt=marker,
                    color="k" if sample == "fit" else "C3", capsize=2, ms=4,
                    label="observed (fitted)" if sample == "fit" else "observed (held out)")
    if result.settings.get("fit_until") is not None:
        ax.axvline(result.settings["fit_until"] + 0.5, color="0.8", lw=1)
    unit = result.observations.get("unit")
    ax.set_title(variable)
    ax.set_xlabel("year")
    ax.set_ylabel(unit.iloc[0] if unit is not None else "")
    ax.legend(fontsize=7, frameon=False)
    return ax


def plot_intervals(result: CalibrationResult, *, ax: Any = None) -> Any:
    """Plot each fitted parameter with its 95 % interval within its search bounds.

    Values are shown as a fraction of the search range (0 = lower bound, 1 =
    upper), so parameters of different units share one axis; intervals that reach
    past the bounds are clipped at the axis edge and their parameter is marked.

    Returns
    -------
    matplotlib.axes.Axes
    """
    import matplotlib.pyplot as plt

    fitted = result.parameters[result.parameters["fitted"]]
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 0.4 * len(fitted) + 1))
    span = fitted["bound_max"] - fitted["bound_min"]
    centre = (fitted["value"] - fitted["bound_min"]) / span
    lo = ((fitted["lower_95"] - fitted["bound_min"]) / span).clip(-0.05, 1.05)
    hi = ((fitted["upper_95"] - fitted["bound_min"]) / span).clip(-0.05, 1.05)
    start = (fitted["start"] - fitted["bound_min"]) / span
    y = np.arange(len(fitted))
    colors = ["C0" if ok else "C3" for ok in fitted["identifiable"]]
    ax.hlines(y, lo.fillna(-0.05), hi.fillna(1.05), colors=colors, lw=2)
    ax.scatter(centre, y, color=colors, zorder=3, label="fitted")
    ax.scatter(start, y, marker="|", color="0.4", s=80, zorder=3, label="start")
    ax.set_yticks(y, [n + ("" if ok else "  (not identifiable)")
                      for n, ok in zip(fitted.index, fitted["identifiable"], strict=True)],
                  fontsize=8)
    ax.set_xlim(-0.05, 1.05)
    ax.set_xlabel("position within the search bounds (95 % interval)")
    ax.axvline(0, color="0.8", lw=1)
    ax.axvline(1, color="0.8", lw=1)
    ax.legend(fontsize=7, frameon=False, loc="lower right")
    return ax
