"""Local elasticities of each target to each lever at a scenario's point (batch engine).

The elasticity of indicator ``K`` to lever ``L`` is ``(dK / K) / (dL / L)``: the
per cent change of the 2015 figure for a 1 % stronger lever — every element of the
lever's model constant scaled together, so for a schedule every year at once. The
model's part is exact: the batch engine's forward-mode derivative of every output
series along ``x d/dx`` of the lever's constant
(:meth:`~transfer_sim.engines.batch.engine.BatchEngine.derivatives`). The indicator's
own formula (a value at a year's end, a difference of a cumulative stock, or T3's
ratio of increments) is then applied to the series moved a tiny step either way
along that exact tangent (a central difference of the formula alone, exact for all
but T3's ratio, whose error is of the order of the step squared, ~1e-16).

Levers that are options (a named choice) or whole numbers (a year, a switch, a count)
have no local derivative; they are listed with the reason. A lever at zero at the
point has no elasticity (a 1 % change of nothing); it is listed too.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

import numpy as np
import pandas as pd
import xarray as xr

from transfer_sim.analysis.kpis import KPIS, TARGET_YEAR, kpi_values, required_variables
from transfer_sim.engines import get_engine
from transfer_sim.engines.batch.engine import Derivatives
from transfer_sim.inputs import levers as _levers
from transfer_sim.inputs.scenarios import Scenario
from transfer_sim.model.core import SECTORS
from transfer_sim.run.plan import plan

__all__ = ["elasticities", "ELASTICITY_COLUMNS", "STEP"]

#: Relative step of the indicator formula's central difference along the exact tangent.
STEP = 1e-6
#: Columns of :func:`elasticities`' table.
ELASTICITY_COLUMNS = ("lever", "variable", "value_at_point", "note")


def _targets() -> list[str]:
    return [k.name for k in KPIS if k.target is not None]


def _continuous(scenario_inputs: dict[str, object]) -> tuple[list[_levers.Lever], list[tuple]]:
    """Split the levers into those with a local derivative and the others (with why)."""
    chosen, skipped = [], []
    for lever in _levers.LEVERS:
        if lever.kind == "option" or lever.variable is None:
            skipped.append((lever, "an option: no local derivative"))
        elif lever.integer:
            skipped.append((lever, "a whole number (year, switch or count): no local "
                                   "derivative"))
        elif lever.variable not in scenario_inputs:
            skipped.append((lever, "not a model input of this scenario"))
        elif not np.any(np.asarray(scenario_inputs[lever.variable], dtype=float) != 0):
            skipped.append((lever, "zero at this point: no relative change"))
        else:
            chosen.append(lever)
    return chosen, skipped


def elasticities(scenario: Scenario, *, year: int = TARGET_YEAR,
                 kpis: Sequence[str] | None = None,
                 model_path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Return the local elasticity of each indicator to each lever at the scenario's point.

    Parameters
    ----------
    scenario : Scenario
        The point: its levers and calibrated parameters.
    year : int
        Year of the indicators (the document's 2015 by default).
    kpis : sequence of str, optional
        Indicators (names of :data:`~transfer_sim.analysis.kpis.KPIS`); the five
        targets by default.
    model_path : path-like, optional
        Model file; the bundled model by default.

    Returns
    -------
    pandas.DataFrame
        One row per lever: :data:`ELASTICITY_COLUMNS`, then one column per indicator
        (dimensionless, ``%/%``; NaN where the lever has no derivative, see ``note``).
    """
    names = list(kpis) if kpis is not None else _targets()
    spec = plan(scenario, final_year=max(year, scenario.final_year),
                variables=required_variables(), model_path=model_path)
    chosen, skipped = _continuous(dict(spec.inputs))
    engine = get_engine("batch", model_path)
    got = engine.derivatives(spec, [lever.variable for lever in chosen], relative=True)
    moved = _moved(got, len(chosen))
    at_year = kpi_values(moved, year)
    rows = []
    for i, lever in enumerate(chosen):
        row = {"lever": lever.name, "variable": lever.variable,
               "value_at_point": _describe(spec.inputs[lever.variable]), "note": ""}
        for k in names:
            base = float(at_year[k].sel(scenario=0))
            up = float(at_year[k].sel(scenario=1 + 2 * i))
            down = float(at_year[k].sel(scenario=2 + 2 * i))
            slope = (up - down) / (2 * STEP)
            row[k] = slope / base if base != 0 and np.isfinite(base) else float("nan")
        rows.append(row)
    for lever, why in skipped:
        rows.append({"lever": lever.name, "variable": lever.variable or "",
                     "value_at_point": _describe(spec.inputs.get(lever.variable or "")),
                     "note": why, **{k: float("nan") for k in names}})
    table = pd.DataFrame(rows, columns=[*ELASTICITY_COLUMNS, *names])
    table.attrs = {"scenario": scenario.name, "year": year, "units": "%/%",
                   "engine": engine.name}
    return table


def _moved(got: Derivatives, n: int) -> xr.Dataset:
    """Series at the point and a step either way along each exact tangent (``scenario`` dim)."""
    data = {}
    for name, value in got.values.items():
        tangent = got.tangents[name]
        stack = [value]
        for j in range(n):
            stack.extend([value + STEP * tangent[j], value - STEP * tangent[j]])
        dims = ("scenario", "time", "sector")[:value.ndim + 1]
        data[name] = (dims, np.stack(stack))
    coords = {"scenario": np.arange(2 * n + 1), "time": got.time}
    if any(len(d[0]) == 3 for d in data.values()):
        coords["sector"] = list(SECTORS)
    return xr.Dataset(data, coords=coords)


def _describe(value: object) -> str:
    """Return a lever's value at the point, short (a schedule as its range)."""
    if value is None:
        return ""
    arr = np.atleast_1d(np.asarray(value, dtype=float))
    lo, hi = float(arr.min()), float(arr.max())
    return f"{lo:.4g}" if lo == hi else f"{lo:.4g}–{hi:.4g}"
