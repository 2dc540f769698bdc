"""The model against history: every sourced observation it has an output for.

:func:`compare_history` is a pure function from a result Dataset and checked observed
frames (:func:`~transfer_sim.analysis.calibration.load_observed`) to one table, a row an
observation, compared period by period (:mod:`transfer_sim.analysis.periods`): an annual
flow over its calendar year, a partial-year flow (Jan-Aug, H1, Q1-Q3) over its months,
a stock at the end of the period. A row is **in sample** when it comes from the file the
scenario was calibrated on and its year is at most the calibration's fit-until year;
every other row is out of sample. Out-of-sample rows come first.

:func:`history_observed` says which files a scenario is compared with by default (its
calibration file, then ``data/historical/validation.csv``) and until when it was fitted;
:func:`run_history` runs a scenario far enough to cover them and returns the table;
:func:`render_validation` is the ``{{validation:table}}`` section of ``model/README.md``.
"""

from __future__ import annotations

import math
import os
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from transfer_sim.analysis.calibration.observed import SECTOR_TOTAL, load_observed
from transfer_sim.analysis.periods import parse_period, period_value
from transfer_sim.errors import InputError
from transfer_sim.inputs.run_settings import FINAL_YEAR_RANGE
from transfer_sim.inputs.scenarios import Scenario
from transfer_sim.io.formatting import format_number
from transfer_sim.io.progress import NO_PROGRESS, Progress
from transfer_sim.model.core import bundled_path

__all__ = ["HISTORY_COLUMNS", "BAND_COLUMNS", "BAND_QUANTILES", "HistoryInputs",
           "default_validation_path", "history_observed", "compare_history", "model_values",
           "history_summary", "run_history", "render_validation"]

#: Columns of the history table, in order.
HISTORY_COLUMNS = ("variable", "period", "year", "start", "end", "observed", "model", "error",
                   "relative_error", "unit", "sample", "model_side", "confidence",
                   "source_file", "source")
#: Columns added when an ensemble is given: the model's 5 % and 95 % quantiles.
BAND_COLUMNS = ("model_p05", "model_p95")
#: Quantiles of the ensemble band.
BAND_QUANTILES = (0.05, 0.95)


def default_validation_path() -> Path:
    """Return the bundled validation set, ``data/historical/validation.csv``."""
    return bundled_path("data", "historical", "validation.csv")


@dataclass(frozen=True)
class HistoryInputs:
    """The observed files a scenario is compared with, and what it was fitted on.

    Attributes
    ----------
    files : tuple of pathlib.Path
        Observed CSVs, in the order their rows are read.
    calibration_file : pathlib.Path or None
        The file the scenario's calibrated layer was fitted on (None: not calibrated).
    fit_until : int or None
        Last fitted year of that file; its later rows are out of sample.
    """

    files: tuple[Path, ...]
    calibration_file: Path | None = None
    fit_until: int | None = None


def history_observed(scenario: Scenario, observed: Sequence[str | os.PathLike[str]] = (),
                     fit_until: int | None = None) -> HistoryInputs:
    """Return the observed files for ``scenario`` and the in-sample rule.

    Parameters
    ----------
    scenario : Scenario
        The scenario compared; its :attr:`~Scenario.calibration` record names the file
        it was fitted on and the fit-until year.
    observed : sequence of path-like, optional
        Files to compare with instead of the default (the calibration file, then
        ``data/historical/validation.csv``).
    fit_until : int, optional
        Overrides the record's fit-until year.

    Returns
    -------
    HistoryInputs

    Raises
    ------
    InputError
        For ``fit_until`` given for a scenario without a calibration record (there is
        no calibration file for it to apply to).
    """
    record = scenario.calibration
    if fit_until is not None and record is None:
        raise InputError(f"scenario {scenario.name!r} extends no calibrated layer, so no "
                         "row is in sample; allowed: --fit-until with a scenario that has a "
                         "[calibration] record (e.g. calibrated)", key="--fit-until")
    cal = record.observed_path() if record is not None else None
    until = fit_until if fit_until is not None else (record.fit_until if record else None)
    if observed:
        files = tuple(Path(p) for p in observed)
    else:
        files = tuple(p for p in (cal, default_validation_path()) if p is not None)
    return HistoryInputs(files=files, calibration_file=cal, fit_until=until)


def _same_file(a: str | os.PathLike[str] | None, b: str | os.PathLike[str] | None) -> bool:
    if a is None or b is None:
        return False
    try:
        return Path(a).resolve() == Path(b).resolve()
    except OSError:
        return False


def model_values(ds: xr.Dataset, observed: pd.DataFrame) -> list[xr.DataArray]:
    """Return the model's value for each observation (other dims, e.g. ``run``, kept).

    Parameters
    ----------
    ds : xarray.Dataset
        Results with a ``time`` dim (and ``sector`` for sector outputs).
    observed : pandas.DataFrame
        Checked observations (columns ``output``, ``element``, ``year``, ``period``).

    Returns
    -------
    list of xarray.DataArray
        One a row, without ``time`` (nor ``sector``).
    """
    out = []
    first, last = float(ds["time"].min()), float(ds["time"].max())
    for row in observed.itertuples(index=False):
        if row.start < first - 1e-9 or row.end > last + 1e-9:
            raise InputError(f"{row.variable} {row.label} is outside the results "
                             f"({first:g}-{last:g}); run the model further", key="time")
        value = period_value(ds, row.output, parse_period(row.year, row.period))
        if row.element == SECTOR_TOTAL:
            value = value.sum("sector")
        elif row.element:
            value = value.sel(sector=row.element)
        out.append(value)
    return out


def _band(ensemble: xr.Dataset, observed: pd.DataFrame) -> np.ndarray:
    """Return the ensemble's 5 % and 95 % quantiles for each row.

    NaN where the ensemble lacks the variable or ends before the period does.
    """
    band = np.full((len(observed), 2), np.nan)
    last = float(ensemble["time"].max())
    for i, row in enumerate(observed.itertuples(index=False)):
        if row.output not in ensemble or row.end > last + 1e-9:
            continue
        value = model_values(ensemble, observed.iloc[[i]])[0]
        band[i] = value.quantile(list(BAND_QUANTILES), dim="run").values
    return band


def compare_history(ds: xr.Dataset, observed: Sequence[pd.DataFrame], *,
                    calibration_file: str | os.PathLike[str] | None = None,
                    fit_until: int | None = None, exogenous: Collection[str] = (),
                    ensemble: xr.Dataset | None = None) -> pd.DataFrame:
    """Compare one run with observations, period by period.

    Parameters
    ----------
    ds : xarray.Dataset
        One run (dims ``time`` and ``sector``), long enough to cover every period.
    observed : sequence of pandas.DataFrame
        Checked observations, one frame a file (``attrs["file"]`` names it).
    calibration_file : path-like, optional
        The file the run's parameters were fitted on.
    fit_until : int, optional
        Last fitted year; rows of ``calibration_file`` up to it are in sample.
    exogenous : collection of str
        Model outputs that are exogenous (no stock leads to them, e.g. the coal output
        lookup): their rows are marked ``exogenous`` in ``model_side``, since such a row
        checks an input and the period reading, not the model's feedback.
    ensemble : xarray.Dataset, optional
        One scenario's ensemble (dims ``run``, ``time``, ``sector``): adds the columns
        :data:`BAND_COLUMNS` (NaN for variables the file lacks or periods after its
        end).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`HISTORY_COLUMNS` (and :data:`BAND_COLUMNS`); ``start`` and
        ``end`` are the period's times [Year]; ``error`` is
        model minus observed, ``relative_error`` that over observed; ``sample`` is
        ``in`` or ``out``; ``model_side`` is ``endogenous`` or ``exogenous``;
        out-of-sample rows first, then by variable and period.
    """
    frames = []
    for obs in observed:
        file = obs.attrs.get("file", "")
        fitted = _same_file(file, calibration_file) and fit_until is not None
        table = pd.DataFrame({
            "variable": obs["variable"].to_numpy(), "period": obs["label"].to_numpy(),
            "year": obs["year"].to_numpy(dtype=int),
            "observed": obs["value"].to_numpy(dtype=float),
            "model": [float(v) for v in model_values(ds, obs)],
            "unit": obs["unit"].to_numpy(),
            "sample": np.where(fitted & (obs["year"].to_numpy() <= (fit_until or 0)),
                               "in", "out"),
            "model_side": np.where(obs["output"].isin(list(exogenous)), "exogenous",
                                   "endogenous"),
            "confidence": obs["confidence"].to_numpy(),
            "source_file": Path(file).name, "source": obs["source"].to_numpy(),
            "start": obs["start"].to_numpy(dtype=float),
            "end": obs["end"].to_numpy(dtype=float)})
        if ensemble is not None:
            band = _band(ensemble, obs)
            table["model_p05"], table["model_p95"] = band[:, 0], band[:, 1]
        frames.append(table)
    if not frames:
        raise InputError("no observed files to compare with", key="observed")
    out = pd.concat(frames, ignore_index=True)
    out["error"] = out["model"] - out["observed"]
    out["relative_error"] = out["error"] / out["observed"]
    out = out.sort_values(["sample", "variable", "start"], ascending=[False, True, True],
                          kind="stable")
    columns = [*HISTORY_COLUMNS, *(BAND_COLUMNS if ensemble is not None else ())]
    return out[columns].reset_index(drop=True)


def _median_abs(rows: pd.DataFrame) -> str:
    med = float(np.median(np.abs(rows["relative_error"].to_numpy(dtype=float))))
    return f"{format_number(100 * med, 2)} %"


def history_summary(table: pd.DataFrame) -> str:
    """Return one paragraph: rows compared, median absolute relative error by sample.

    Out of sample, the median is also given over the rows on endogenous outputs alone
    (those the model's feedback computes).

    Examples
    --------
    >>> t = pd.DataFrame({"sample": ["out", "out", "in", "in"], "variable": list("aabb"),
    ...                   "relative_error": [0.5, 0.02, -0.1, 0.3],
    ...                   "model_side": ["endogenous", "exogenous", "endogenous", "endogenous"]})
    >>> print(history_summary(t))  # doctest: +NORMALIZE_WHITESPACE
    4 observations of 2 model outputs compared: 2 out of sample (median absolute
    relative error 26 %; 50 % over the 1 on endogenous outputs), 2 in sample (20 %).
    """
    parts = []
    for sample, words in (("out", "out of sample"), ("in", "in sample")):
        rows = table[table["sample"] == sample]
        if rows.empty:
            parts.append(f"none {words}")
            continue
        what = _median_abs(rows)
        if not parts:
            what = f"median absolute relative error {what}"
            endo = rows[rows["model_side"] == "endogenous"]
            if len(endo) < len(rows):
                what += (f"; {_median_abs(endo)} over the {len(endo)} on endogenous outputs"
                         if not endo.empty else "; none on endogenous outputs")
        parts.append(f"{len(rows)} {words} ({what})")
    return (f"{len(table)} observations of {table['variable'].nunique()} model outputs "
            f"compared: {parts[0]}, {parts[1]}.")


def _final_year(scenario: Scenario, observed: Sequence[pd.DataFrame]) -> int:
    """Return the run's last year: the scenario's, or later to cover every period."""
    last = max(math.ceil(float(o["end"].max())) - 1 for o in observed)
    lo, hi = FINAL_YEAR_RANGE
    return min(max(scenario.final_year, last, lo), hi)


def run_history(scenario: Scenario, inputs: HistoryInputs, *, engine: str | None = None,
                ensemble: xr.Dataset | None = None,
                model_path: str | os.PathLike[str] | None = None,
                progress: Progress = NO_PROGRESS) -> tuple[pd.DataFrame, xr.Dataset]:
    """Run ``scenario`` to cover the observations and compare it with them.

    Parameters
    ----------
    scenario : Scenario
        The scenario (levers and calibrated parameters) run.
    inputs : HistoryInputs
        Files and in-sample rule (:func:`history_observed`).
    engine : str, optional
        Engine; the fast one by default.
    ensemble : xarray.Dataset, optional
        This scenario's ensemble (see :func:`compare_history`).
    model_path : path-like, optional
        Model file; the bundled model by default.
    progress : callable, optional
        Told of the one run once the observed files are read and checked.

    Returns
    -------
    (pandas.DataFrame, xarray.Dataset)
        The table (:func:`compare_history`) and the run, saved at the model's time step
        so partial-year periods are read at the model's own steps.
    """
    from transfer_sim.engines import DEFAULT_ENGINE
    from transfer_sim.model.boundary import classify
    from transfer_sim.model.facts import model_facts
    from transfer_sim.run.runner import run_levers

    observed = [load_observed(p, model_path=model_path) for p in inputs.files]
    facts = model_facts(model_path)
    step = scenario.time_step or float(facts.control.time_step)
    progress(0, 1)
    ds = run_levers(scenario.levers, parameters=scenario.parameters,
                    final_year=_final_year(scenario, observed), engine=engine or DEFAULT_ENGINE,
                    time_step=scenario.time_step, saveper=step, model_path=model_path,
                    attrs=scenario.provenance())
    progress(1, 1)
    table = compare_history(ds, observed, calibration_file=inputs.calibration_file,
                            fit_until=inputs.fit_until,
                            exogenous=classify(model_path).exogenous, ensemble=ensemble)
    return table, ds


def _cell(value: float) -> str:
    """Four significant digits, no exponent (thousands with separators)."""
    x = float(value)
    if not math.isfinite(x):
        return "–"
    return f"{x:,.0f}" if abs(x) >= 1000 else format_number(x, 4)


def _percent(fraction: float) -> str:
    return f"{round(100 * float(fraction), 1) + 0.0:+.1f} %"


def render_validation(model_path: str | os.PathLike[str] | None = None,
                      scenario: str = "calibrated") -> str:
    """Render the ``{{validation:table}}`` section of ``model/README.md``.

    The ``calibrated`` scenario against its calibration file and the validation set:
    a summary paragraph, then one Markdown row an observation, out-of-sample rows
    first.

    Parameters
    ----------
    model_path : path-like, optional
        Model file; the bundled model by default.
    scenario : str
        Bundled scenario compared.
    """
    from transfer_sim.inputs.scenarios import load_scenario

    sc = load_scenario(scenario)
    table, _ = run_history(sc, history_observed(sc), model_path=model_path)
    lines = [f"`transfer-sim history {scenario}`: " + history_summary(table), "",
             "| variable | period | observed | model | error | unit | sample | model side "
             "| confidence | file |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in table.itertuples(index=False):
        lines.append(f"| `{r.variable}` | {r.period} | {format_number(r.observed)} "
                     f"| {_cell(r.model)} | {_percent(r.relative_error)} | {r.unit} | {r.sample} "
                     f"| {r.model_side} | {r.confidence} | {r.source_file} |")
    return "\n".join(lines) + "\n"

