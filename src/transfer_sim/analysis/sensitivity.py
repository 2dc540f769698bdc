"""Global sensitivity of the indicators to the uncertain constants (SALib).

Two methods, both sampled in the unit hypercube and mapped to each constant through
its distribution's ``ppf`` (so non-uniform distributions are honoured):

Sobol' (variance-based)
    Saltelli's scheme (:func:`SALib.sample.sobol.sample`, ``N * (d + 2)`` runs)
    and :func:`SALib.analyze.sobol.analyze`: first-order ``S1`` and total-order
    ``ST`` indices with bootstrap confidence intervals. Sobol' indices do not change
    under the monotone map from quantile to value, so they refer to the constants
    with their distributions.
Morris (elementary effects, screening)
    ``r * (d + 1)`` runs along ``r`` trajectories on a ``p``-level grid.
    Elementary effects are measured per unit of quantile: a step of 1 spans the
    constant's 1 %-99 % quantile range (:data:`MORRIS_TAIL`), so that open tails
    (lognormal) do not dominate; ``mu_star`` is then in the indicator's unit.

The model runs go through :func:`transfer_sim.run.ensemble.run_ensemble` — local
processes or a Dask cluster, streamed to disk, resumable — and the indices are
computed from that file.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from transfer_sim.analysis.kpis import KPIS, kpi_values
from transfer_sim.errors import InputError
from transfer_sim.inputs.scenarios import Scenario
from transfer_sim.inputs.uncertainty import UncertaintySet
from transfer_sim.run.ensemble import run_ensemble

__all__ = [
    "METHODS",
    "MORRIS_TAIL",
    "TARGET_KPIS",
    "problem",
    "sobol_sample",
    "sobol_indices",
    "morris_sample",
    "morris_indices",
    "morris_unit_to_quantile",
    "run_sensitivity",
]

#: Methods accepted by ``--method``.
METHODS = ("sobol", "morris")
#: Morris grids span the quantiles [MORRIS_TAIL, 1 - MORRIS_TAIL] of each constant.
MORRIS_TAIL = 0.01
#: Indicators analysed by default: those with a target in the document (T1-T5).
TARGET_KPIS = tuple(k.name for k in KPIS if k.target is not None)


def problem(names: Sequence[str]) -> dict[str, Any]:
    """Return SALib's problem definition over the unit hypercube.

    Parameters
    ----------
    names : sequence of str
        Parameter names.
    """
    return {"num_vars": len(names), "names": list(names), "bounds": [[0.0, 1.0]] * len(names)}


def _check_power_of_two(n: int) -> None:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 2 or n & (n - 1):
        raise InputError(f"Saltelli sampling needs a base sample that is a power of two "
                         f"(e.g. 256), got {n!r}", key="runs")


def sobol_sample(names: Sequence[str], n: int, seed: int = 0) -> np.ndarray:
    """Return Saltelli's unit-hypercube sample for first- and total-order indices.

    Parameters
    ----------
    names : sequence of str
        Parameter names (``d`` of them).
    n : int
        Base sample size, a power of two.
    seed : int
        Seed of the scrambled Sobol' sequence.

    Returns
    -------
    numpy.ndarray
        Shape ``(n * (d + 2), d)``, values in (0, 1).
    """
    from SALib.sample import sobol

    _check_power_of_two(n)
    return sobol.sample(problem(names), n, calc_second_order=False, seed=seed)


def _table(rows: list[dict[str, Any]]) -> pd.DataFrame:
    cols = ["kpi", "method", "parameter", "index", "value", "conf", "conf_level", "runs"]
    return pd.DataFrame(rows, columns=cols)


def sobol_indices(outputs: Mapping[str, np.ndarray], names: Sequence[str], *,
                  conf_level: float = 0.95, num_resamples: int = 200,
                  seed: int = 0) -> pd.DataFrame:
    """Compute first- and total-order Sobol' indices with confidence intervals.

    Parameters
    ----------
    outputs : mapping
        Output name -> values of the runs of :func:`sobol_sample`, in its order.
    names : sequence of str
        Parameter names.
    conf_level : float
        Level of the bootstrap confidence intervals.
    num_resamples : int
        Bootstrap resamples.
    seed : int
        Seed of the bootstrap.

    Returns
    -------
    pandas.DataFrame
        Columns ``kpi, method, parameter, index, value, conf, conf_level, runs``;
        ``index`` is ``S1`` or ``ST``; ``conf`` the half-width of the interval.
        An output that is constant or undefined (NaN) in some run gets NaN indices.
    """
    from SALib.analyze import sobol

    rows: list[dict[str, Any]] = []
    for out, y in outputs.items():
        y = np.asarray(y, dtype=float)
        if y.size % (len(names) + 2):
            raise InputError(f"{y.size} runs is not a Saltelli sample of {len(names)} "
                             "parameters", key=out)
        ok = bool(np.all(np.isfinite(y)) and np.ptp(y) > 0)
        res = (sobol.analyze(problem(names), y, calc_second_order=False,
                             num_resamples=num_resamples, conf_level=conf_level, seed=seed)
               if ok else None)
        for i, p in enumerate(names):
            for idx in ("S1", "ST"):
                rows.append({"kpi": out, "method": "sobol", "parameter": p, "index": idx,
                             "value": float(res[idx][i]) if res else np.nan,
                             "conf": float(res[f"{idx}_conf"][i]) if res else np.nan,
                             "conf_level": conf_level, "runs": int(y.size)})
    return _table(rows)


def morris_sample(names: Sequence[str], trajectories: int, *, levels: int = 4,
                  seed: int = 0) -> np.ndarray:
    """Return Morris trajectories on a ``levels``-point grid of the unit hypercube.

    Parameters
    ----------
    names : sequence of str
        Parameter names (``d`` of them).
    trajectories : int
        Number of trajectories ``r`` (at least 2).
    levels : int
        Grid levels ``p`` (even).
    seed : int
        Seed of the trajectory draw.

    Returns
    -------
    numpy.ndarray
        Shape ``(r * (d + 1), d)`` on the grid ``{0, 1/(p-1), ..., 1}``; map it with
        :func:`morris_unit_to_quantile` before evaluating the model.
    """
    from SALib.sample import morris

    if isinstance(trajectories, bool) or not isinstance(trajectories, int) \
            or trajectories < 2:
        raise InputError(f"Morris needs at least 2 trajectories, got {trajectories!r}",
                         key="runs")
    if isinstance(levels, bool) or not isinstance(levels, int) or levels < 2 or levels % 2:
        raise InputError(f"Morris levels must be an even number >= 2, got {levels!r}",
                         key="levels")
    return morris.sample(problem(names), trajectories, num_levels=levels, seed=seed)


def morris_unit_to_quantile(unit: np.ndarray, tail: float = MORRIS_TAIL) -> np.ndarray:
    """Map a Morris grid in [0, 1] to quantiles in ``[tail, 1 - tail]``."""
    return tail + (1 - 2 * tail) * np.asarray(unit, dtype=float)


def morris_indices(unit: np.ndarray, outputs: Mapping[str, np.ndarray],
                   names: Sequence[str], *, levels: int = 4, conf_level: float = 0.95,
                   num_resamples: int = 200, seed: int = 0) -> pd.DataFrame:
    """Compute Morris screening measures with confidence intervals.

    Parameters
    ----------
    unit : numpy.ndarray
        The grid sample from :func:`morris_sample` (before the quantile map).
    outputs : mapping
        Output name -> values of the runs, in the sample's order.
    names : sequence of str
        Parameter names.
    levels : int
        Grid levels used by the sample.
    conf_level, num_resamples, seed
        Bootstrap of the interval of ``mu_star``.

    Returns
    -------
    pandas.DataFrame
        Columns ``kpi, method, parameter, index, value, conf, conf_level, runs``;
        ``index`` is ``mu_star`` (with ``conf``), ``mu`` or ``sigma`` (``conf`` NaN).
        Effects are per unit step of the grid (1 = the 1-99 % quantile range).
    """
    from SALib.analyze import morris

    x = np.asarray(unit, dtype=float)
    rows: list[dict[str, Any]] = []
    for out, y in outputs.items():
        y = np.asarray(y, dtype=float)
        if y.shape[0] != x.shape[0]:
            raise InputError(f"{y.shape[0]} outputs for {x.shape[0]} sampled points",
                             key=out)
        ok = bool(np.all(np.isfinite(y)))
        res = (morris.analyze(problem(names), x, y, num_resamples=num_resamples,
                              conf_level=conf_level, num_levels=levels, seed=seed)
               if ok else None)
        for i, p in enumerate(names):
            for idx in ("mu_star", "mu", "sigma"):
                conf = (float(res["mu_star_conf"][i]) if res and idx == "mu_star"
                        else np.nan)
                rows.append({"kpi": out, "method": "morris", "parameter": p, "index": idx,
                             "value": float(res[idx][i]) if res else np.nan, "conf": conf,
                             "conf_level": conf_level, "runs": int(y.size)})
    return _table(rows)


def run_sensitivity(scenario: Scenario, uncertainties: UncertaintySet, *, method: str = "sobol",
                    runs: int = 256, runs_file: str | os.PathLike[str],
                    kpis: Sequence[str] | None = None, levels: int = 4, seed: int = 0,
                    conf_level: float = 0.95, **ensemble_kwargs: Any) -> pd.DataFrame:
    """Run the model over a Saltelli or Morris sample and return the indices.

    Parameters
    ----------
    scenario : Scenario
        The scenario whose indicators are analysed.
    uncertainties : UncertaintySet
        The uncertain constants.
    method : {"sobol", "morris"}
        Method.
    runs : int
        Sobol': base sample ``N`` (a power of two; ``N * (d + 2)`` model runs).
        Morris: trajectories ``r`` (``r * (d + 1)`` model runs).
    runs_file : path-like
        NetCDF file for the model runs (an ensemble file; resumable like one).
    kpis : sequence of str, optional
        Indicators; those with a target (T1-T5) by default.
    levels : int
        Morris grid levels.
    seed : int
        Seed of the sample and of the bootstrap.
    conf_level : float
        Level of the confidence intervals.
    **ensemble_kwargs
        Passed to :func:`~transfer_sim.run.ensemble.run_ensemble` (``workers``,
        ``scheduler``, ``engine``, ``chunk_size``, ``progress`` ...).

    Returns
    -------
    pandas.DataFrame
        See :func:`sobol_indices` and :func:`morris_indices`.
    """
    if method not in METHODS:
        raise InputError(f"unknown method {method!r}; allowed: {', '.join(METHODS)}",
                         key="method")
    names = list(kpis) if kpis is not None else list(TARGET_KPIS)
    known = [k.name for k in KPIS]
    bad = [k for k in names if k not in known]
    if bad:
        raise InputError(f"unknown indicator {bad[0]!r}; allowed: {', '.join(known)}",
                         key="kpi")
    params = uncertainties.names
    if method == "sobol":
        unit = sobol_sample(params, runs, seed)
        model_unit = unit
    else:
        unit = morris_sample(params, runs, levels=levels, seed=seed)
        model_unit = morris_unit_to_quantile(unit)
    path = run_ensemble([scenario], uncertainties, runs=unit.shape[0], output=runs_file,
                        unit_sample=model_unit, seed=seed,
                        attrs={"sensitivity_method": method, "sensitivity_base_runs": runs},
                        **ensemble_kwargs)
    with xr.open_dataset(Path(path), engine="h5netcdf") as ds:
        values = kpi_values(ds)
        outputs = {k: values[k].isel(scenario=0).values for k in names}
    if method == "sobol":
        return sobol_indices(outputs, params, conf_level=conf_level, seed=seed)
    return morris_indices(unit, outputs, params, levels=levels, conf_level=conf_level,
                          seed=seed)
