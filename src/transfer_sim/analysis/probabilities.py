"""Probabilities of meeting the document's targets across an ensemble, with Wilson intervals.

Statistics of an ensemble's indicators (:func:`transfer_sim.analysis.kpis.kpi_values`);
figures of them are in :mod:`transfer_sim.plotting.uncertainty`.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from transfer_sim.analysis.kpis import (
    KPIS,
    TARGET_YEAR,
    by_scenario,
    kpi_values,
    required_variables,
)
from transfer_sim.errors import InputError
from transfer_sim.io.tables import format_text_table

__all__ = ["wilson_interval", "target_probabilities", "format_probabilities",
           "needed_variables", "ensemble_values", "probabilities_of", "open_ensemble",
           "TARGETS"]

#: The indicators with a target (T1-T5), by name.
TARGETS = {k.name: k for k in KPIS if k.target is not None}


def needed_variables(ds: xr.Dataset) -> list[str]:
    """Return the variables of ``ds`` the indicators need (:func:`required_variables`)."""
    names = set(required_variables())
    return [n for n in ds.data_vars if n in names]


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
        ``(low, high)`` in [0, 1], with ``low <= successes / n <= high``;
        ``(nan, nan)`` when ``n`` is 0.

    Examples
    --------
    >>> wilson_interval(0, 500)[0], wilson_interval(500, 500)[1]
    (0.0, 1.0)
    """
    if n <= 0:
        return (math.nan, math.nan)
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    # clamped to contain p: at 0 or n successes rounding can put a bound past it
    return (max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half)))


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
        See :func:`probabilities_of`.
    """
    return probabilities_of(ensemble_values(ds, year))


def ensemble_values(ds: xr.Dataset, year: float = TARGET_YEAR) -> xr.Dataset:
    """Return every indicator of an ensemble in ``year``, as :func:`kpi_values` reads it.

    Parameters
    ----------
    ds : xarray.Dataset
        An ensemble (dims ``scenario``, ``run``, ``time``).
    year : float
        Year the figures are in (2015).

    Returns
    -------
    xarray.Dataset
        One variable per indicator over ``(scenario, run)``; a file of one scenario
        without a ``scenario`` dim gets one, named by its ``scenario`` attribute.

    Raises
    ------
    InputError
        When ``ds`` has no ``run`` dimension.
    """
    if "run" not in ds.dims:
        raise InputError("not an ensemble: the results have no 'run' dimension", key="run")
    values = kpi_values(ds[needed_variables(ds)], year)
    if "scenario" not in values.dims:
        values = values.expand_dims(scenario=[str(ds.attrs.get("scenario", "run"))])
    return values


def probabilities_of(values: xr.Dataset, scenarios: Sequence[str] | None = None
                     ) -> pd.DataFrame:
    """Return the probability of meeting each target from an ensemble's indicator values.

    Parameters
    ----------
    values : xarray.Dataset
        :func:`ensemble_values`: one variable per indicator over ``(scenario, run)``.
    scenarios : sequence of str, optional
        Scenarios, in this order; every scenario of ``values`` by default. One not in
        ``values`` gets a row of 0 runs and NaN figures.

    Returns
    -------
    pandas.DataFrame
        Columns ``scenario, kpi, label, unit, target, runs, p_met, ci_low, ci_high,
        p05, median, p95``: the share of runs with the indicator at or above its
        target, its 95 % Wilson interval (sampling error of the ensemble), and the
        indicator's 5 %, 50 % and 95 % quantiles. Runs where an indicator is
        undefined (NaN) are left out of its count.
    """
    present = [str(s) for s in values["scenario"].values]
    names = list(scenarios) if scenarios is not None else present
    rows = []
    for name, kpi in TARGETS.items():
        for scen in names:
            arr = (np.asarray(values[name].sel(scenario=scen).values, dtype=float).ravel()
                   if scen in present else np.array([]))
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


@contextmanager
def open_ensemble(path: str | os.PathLike[str]) -> Iterator[xr.Dataset]:
    """Open an ensemble file (``transfer-sim ensemble``) for reading.

    Parameters
    ----------
    path : path-like
        The NetCDF file.

    Yields
    ------
    xarray.Dataset
        The ensemble, closed on exit.

    Raises
    ------
    InputError
        When the file cannot be read or holds no ensemble (no ``run`` dimension).
    """
    p = Path(path)
    try:
        ds = xr.open_dataset(p, engine="h5netcdf")
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the ensemble file ({exc})", file=str(p)) from None
    with ds:
        if "run" not in ds.dims:
            raise InputError("not an ensemble file (no 'run' dimension)", file=str(p))
        yield ds


def format_probabilities(table: pd.DataFrame) -> str:
    """Format a :func:`target_probabilities` table for the terminal.

    One row per target, a column per scenario: ``P(met) [95 % interval]``.
    """
    scenarios, rows = by_scenario(
        table, lambda first: [str(first["label"]), str(first["unit"]), f">= {first['target']:g}"],
        lambda r: f"{100 * r['p_met']:.0f} % [{100 * r['ci_low']:.0f}-{100 * r['ci_high']:.0f}]")
    runs = int(table["runs"].max()) if len(table) else 0
    return format_text_table(
        ["target", "unit", "2015 target", *scenarios], rows, align="lll" + "r" * len(scenarios),
        title=f"Probability of meeting each target ({runs} runs; 95 % interval)")
