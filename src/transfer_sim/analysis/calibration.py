"""Calibration: observed series -> payoff -> fitted parameters with intervals.

The steps, each a function here:

1. :func:`load_observed` reads a tidy CSV (``variable, year, value, unit, source,
   confidence``) and checks every row against the model: the variable must be a
   model output (``revenue[agrifood]`` for one sector), the unit the model's, the
   year inside the horizon 2005-2020, the value a positive number.
2. :class:`CalibrationProblem` turns parameter values into model values at the
   observed years (one run of the fast engine) and into the payoff: the sum of
   weighted squared relative errors, ``sum(((model - observed) / observed / sigma)**2)``,
   where ``sigma`` is the relative standard error :data:`CONFIDENCE_SIGMA` assumes for
   the observation's confidence.
3. :func:`calibrate` screens out parameters the observations do not depend on,
   searches globally (``scipy.optimize.differential_evolution``, seeded, bounded
   ``maxiter``/``popsize``, one worker), polishes locally
   (``scipy.optimize.least_squares``), and computes 95 % confidence intervals from
   the Jacobian at the optimum, saying when a parameter is not identifiable. With
   ``fit_until`` it fits only the years up to then and reports the errors on the
   years after (the out-of-sample check).
4. :meth:`CalibrationResult.write_toml` writes the fitted values as a scenario
   layer (``[parameters]``) that other scenarios can ``extends``;
   :meth:`CalibrationResult.write_table` writes them with their intervals as CSV.

An annual figure for year ``Y`` is compared with the model at time ``Y``, the
model's own convention (its 2005 initial values and its resource-revenue lookup
anchor annual figures at the start of their year).
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import inspect
import io
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transfer_sim.engines import DEFAULT_ENGINE, RunSpec, get_engine
from transfer_sim.engines.base import output_variables
from transfer_sim.errors import InputError, ModelError
from transfer_sim.inputs import levers as _levers
from transfer_sim.inputs import parameters as _parameters
from transfer_sim.model.core import SECTORS, YEARS, _data_path, catalogue, model_hash
from transfer_sim.run.results import atomic_path

__all__ = [
    "OBSERVED_COLUMNS",
    "CONFIDENCE_SIGMA",
    "HORIZON",
    "default_observed_path",
    "load_observed",
    "check_observed",
    "CalibrationProblem",
    "CalibrationResult",
    "calibrate",
    "goodness_of_fit",
    "plot_fit",
    "plot_intervals",
]

#: Columns an observed-data CSV must have.
OBSERVED_COLUMNS = ("variable", "year", "value", "unit", "source", "confidence")
#: Relative standard error assumed for an observation of each confidence level
#: (an assumption: official figures within 5 %, media figures within 10 %,
#: derived or loosely matching figures within 25 %). Weights are ``1 / sigma**2``.
CONFIDENCE_SIGMA: Mapping[str, float] = {"high": 0.05, "medium": 0.10, "low": 0.25}
#: First and last year an observation may have (the model's ``Year`` range).
HORIZON = (YEARS[0], YEARS[-1])
#: Level (two-sided) of the confidence intervals.
INTERVAL_LEVEL = 0.95
#: Singular values of the scaled Jacobian below this fraction of the largest
#: count as zero: the parameters loading on them are not identifiable.
RANK_TOLERANCE = 1e-8
#: Condition number of the scaled Jacobian above which the fit is reported as
#: ill-conditioned.
ILL_CONDITIONED = 1e4
#: Residual used where the model gives no finite value (an unusable parameter set).
_BAD_RESIDUAL = 1e6
_VARIABLE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[\s*([A-Za-z0-9_]+)\s*\])?\s*$")


def default_observed_path() -> Path:
    """Return the bundled observed series, ``data/historical/observed.csv``."""
    return _data_path("data", "historical", "observed.csv")


# --------------------------------------------------------------------------- data


def load_observed(path: str | os.PathLike[str] | None = None, *,
                  model_path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Read and check an observed-data CSV.

    Parameters
    ----------
    path : path-like, optional
        CSV with the columns :data:`OBSERVED_COLUMNS` (others are ignored); the
        bundled ``data/historical/observed.csv`` by default.
    model_path : path-like, optional
        Model whose outputs and units the rows are checked against.

    Returns
    -------
    pandas.DataFrame
        See :func:`check_observed`; ``attrs["file"]`` and ``attrs["sha256"]`` name
        the file read.

    Raises
    ------
    InputError
        One line naming the file and the column (and the line) for: a missing or
        unreadable file, an empty file, missing columns, an unknown variable, a
        missing or non-numeric value, a unit that is not the model's, a year outside
        the horizon, an unknown confidence, a repeated variable and year.
    """
    p = Path(path) if path is not None else default_observed_path()
    file = str(p)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found; allowed: a CSV with columns "
                         f"{', '.join(OBSERVED_COLUMNS)}", file=file) from None
    except IsADirectoryError:
        raise InputError("is a folder; allowed: a CSV file", file=file) from None
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", file=file) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"is not UTF-8 text (byte {exc.start})", file=file) from None
    if not text.strip():
        raise InputError("empty file; allowed: a header line "
                         f"({','.join(OBSERVED_COLUMNS)}) and one row per observation",
                         file=file)
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", file=file) from None
    header = [h.strip() for h in rows[0]]
    body = [(i + 2, r) for i, r in enumerate(rows[1:]) if any(c.strip() for c in r)]
    for col in OBSERVED_COLUMNS:
        if col not in header:
            raise InputError(f"missing column; required: {', '.join(OBSERVED_COLUMNS)} "
                             f"(found: {', '.join(header) or 'none'})", file=file, key=col)
    records = []
    for line, r in body:
        if len(r) != len(header):
            raise InputError(f"line {line}: {len(r)} fields, the header has {len(header)}",
                             file=file, key="line")
        records.append({"line": line, **{h: r[j].strip() for j, h in enumerate(header)
                                         if h in OBSERVED_COLUMNS}})
    frame = pd.DataFrame(records, columns=["line", *OBSERVED_COLUMNS])
    out = check_observed(frame, file=file, model_path=model_path)
    out.attrs["sha256"] = hashlib.sha256(data).hexdigest()
    return out


def _output_units(model_path: str | os.PathLike[str] | None) -> dict[str, tuple[str, tuple]]:
    cat = catalogue(model_path)
    out = {}
    for name in output_variables(cat):
        units = cat.at[name, "Units"]
        text = "" if units is None or (isinstance(units, float) and math.isnan(units)) \
            else str(units)
        out[name] = (text.strip() or "Dmnl", tuple(cat.at[name, "Subscripts"]))
    return out


def _line(row: Mapping[str, Any], index: int) -> str:
    return f"line {row['line']}" if "line" in row and pd.notna(row["line"]) \
        else f"row {index + 1}"


def check_observed(frame: pd.DataFrame, *, file: str | None = None,
                   model_path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Check observations held in a DataFrame (e.g. built in a notebook).

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns :data:`OBSERVED_COLUMNS`; an optional ``line`` column is used in
        messages.
    file : str, optional
        Where the rows came from (for messages).
    model_path : path-like, optional
        Model the rows are checked against.

    Returns
    -------
    pandas.DataFrame
        The observations, one row each, with ``year`` as int, ``value`` as float and
        added columns ``output`` (model output), ``element`` (sector or ``""``),
        ``sigma`` (relative standard error) and ``weight`` (``1 / sigma**2``).

    Raises
    ------
    InputError
        As :func:`load_observed`.
    """
    where = file or "observed data"
    missing = [c for c in OBSERVED_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"missing column; required: {', '.join(OBSERVED_COLUMNS)}",
                         file=where, key=missing[0])
    if frame.empty:
        raise InputError("no observations: the file has a header but no rows",
                         file=where, key="variable")
    outputs = _output_units(model_path)
    records = []
    seen: dict[tuple[str, int], str] = {}
    for i, row in enumerate(frame.to_dict("records")):
        at = _line(row, i)
        name, element = _check_variable(row["variable"], outputs, at, where)
        year = _check_year(row["year"], at, where, f"{row['variable']}")
        label = f"{name}[{element}]" if element else name
        value = _check_value(row["value"], at, where, label, year)
        unit = str(row["unit"]).strip()
        want = outputs[name][0]
        if unit.replace(" ", "") != want.replace(" ", ""):
            raise InputError(f"{at}: unit {unit!r} does not match the model's unit {want!r} "
                             f"for {label}; convert the value to {want}", file=where,
                             key="unit")
        source = str(row["source"]).strip() if pd.notna(row["source"]) else ""
        if not source or source.lower() == "nan":
            raise InputError(f"{at}: no source for {label} {year}; every observation "
                             "names where it was read", file=where, key="source")
        conf = str(row["confidence"]).strip().lower()
        if conf not in CONFIDENCE_SIGMA:
            raise InputError(f"{at}: confidence {row['confidence']!r} for {label} {year}; "
                             f"allowed: {', '.join(CONFIDENCE_SIGMA)}", file=where,
                             key="confidence")
        if (label, year) in seen:
            raise InputError(f"{at}: {label} {year} is repeated (first at {seen[label, year]});"
                             " allowed: one value per variable and year", file=where,
                             key="variable")
        seen[label, year] = at
        sigma = CONFIDENCE_SIGMA[conf]
        records.append({"variable": label, "year": year, "value": value, "unit": want,
                        "source": source, "confidence": conf, "output": name,
                        "element": element, "sigma": sigma, "weight": 1.0 / sigma ** 2})
    out = pd.DataFrame(records)
    out.attrs["file"] = where
    return out


def _check_variable(raw: Any, outputs: Mapping[str, tuple[str, tuple]], at: str,
                    where: str) -> tuple[str, str]:
    text = "" if raw is None or (isinstance(raw, float) and math.isnan(raw)) else str(raw)
    match = _VARIABLE.match(text)
    examples = "industrial_revenue, nonresource_revenue, revenue[chemicals], total_employment"
    if not match or match.group(1) not in outputs:
        close = difflib.get_close_matches(match.group(1) if match else text, list(outputs), n=2)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        raise InputError(f"{at}: unknown model output {text!r}{hint}; allowed: a model output's "
                         f"Python name, e.g. {examples}", file=where, key="variable")
    name, element = match.group(1), match.group(2) or ""
    subs = outputs[name][1]
    if subs == ("Sector",):
        if element not in SECTORS:
            what = f"unknown sector {element!r}" if element else "no sector given"
            raise InputError(f"{at}: {what} for {name}; allowed: {name}[sector] with sector "
                             f"one of {', '.join(SECTORS)}", file=where, key="variable")
    elif element:
        raise InputError(f"{at}: {name} has no sectors; allowed: {name} without [...]",
                         file=where, key="variable")
    return name, element


def _check_year(raw: Any, at: str, where: str, label: str) -> int:
    try:
        year = float(str(raw).strip())
    except ValueError:
        year = math.nan
    lo, hi = HORIZON
    if not math.isfinite(year) or year != int(year):
        raise InputError(f"{at}: year {raw!r} for {label} is not a whole year; allowed: "
                         f"{lo} to {hi}", file=where, key="year")
    if not lo <= year <= hi:
        raise InputError(f"{at}: year {int(year)} for {label} is outside the model horizon; "
                         f"allowed: {lo} to {hi}", file=where, key="year")
    return int(year)


def _check_value(raw: Any, at: str, where: str, label: str, year: int) -> float:
    try:
        value = float(str(raw).strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        shown = "empty" if str(raw).strip() in ("", "nan", "None") else repr(raw)
        raise InputError(f"{at}: value for {label} {year} is {shown}, not a number; "
                         "allowed: a finite number (leave a missing year out)", file=where,
                         key="value")
    if value <= 0:
        raise InputError(f"{at}: value {value:g} for {label} {year}; allowed: a positive "
                         "number (errors are relative to it)", file=where, key="value")
    return value


# ------------------------------------------------------------------------ problem


def _levers_of(scenario: Any) -> dict[str, Any]:
    return dict(getattr(scenario, "levers", {}) or {}) if scenario is not None else {}


@dataclass
class CalibrationProblem:
    """Model values at the observed years, and the payoff, as functions of parameters.

    Parameters
    ----------
    observed : pandas.DataFrame
        Checked observations (:func:`load_observed` or :func:`check_observed`).
    names : sequence of str
        Parameters to vary (registry names, see :mod:`transfer_sim.inputs.parameters`).
    start : mapping, optional
        Values of every calibrated parameter before fitting; the model's own values
        (overridden by ``scenario.parameters``) by default.
    scenario : Scenario, optional
        Lever values (and calibrated parameters) of the historical run; the model's
        defaults (the policy as written) by default.
    engine : {"simlin", "pysd"}
        Engine; the fast one by default.
    time_step : float, optional
        Integration step [Year]; the scenario's, else the model's own.
    model_path : path-like, optional
        Model file; the bundled model by default.
    """

    observed: pd.DataFrame
    names: Sequence[str]
    start: Mapping[str, float] | None = None
    scenario: Any = None
    engine: str = DEFAULT_ENGINE
    time_step: float | None = None
    model_path: str | os.PathLike[str] | None = None
    evaluations: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.names = _parameters.expand_names(self.names)
        if not self.names:
            raise InputError("no parameters to fit", key="parameters")
        base = _parameters.model_values(self.model_path)
        base.update(getattr(self.scenario, "parameters", {}) or {})
        base.update(self.start or {})
        self.start_values: dict[str, float] = base
        self._params = [_parameters.get_parameter(n) for n in self.names]
        self.lower = np.array([p.bounds[0] for p in self._params])
        self.upper = np.array([p.bounds[1] for p in self._params])
        x0 = self.start_vector()
        outside = [n for n, v, lo, hi in zip(self.names, x0, self.lower, self.upper, strict=True)
                   if not lo <= v <= hi]
        if outside:
            raise InputError(f"starting value outside the calibration bounds for "
                             f"{', '.join(outside)}", key="parameters")
        if self.time_step is None:
            self.time_step = getattr(self.scenario, "time_step", None)
        self._lever_inputs = _levers.resolve(_levers_of(self.scenario))
        self._engine = get_engine(self.engine, self.model_path)
        self._outputs = sorted(set(self.observed["output"]))
        self._years = self.observed["year"].to_numpy(dtype=float)
        self._obs = self.observed["value"].to_numpy(dtype=float)
        self._sigma = self.observed["sigma"].to_numpy(dtype=float)
        self.final_time = float(max(self._years.max(), YEARS[0] + 1))

    # -- coordinates
    def start_vector(self) -> np.ndarray:
        """Return the starting values of the fitted parameters."""
        return np.array([self.start_values[n] for n in self.names], dtype=float)

    def to_unit(self, x: np.ndarray) -> np.ndarray:
        """Map parameter values to ``[0, 1]`` within their bounds."""
        return (np.asarray(x, dtype=float) - self.lower) / (self.upper - self.lower)

    def from_unit(self, u: np.ndarray) -> np.ndarray:
        """Map ``[0, 1]`` coordinates back to parameter values."""
        return self.lower + np.asarray(u, dtype=float) * (self.upper - self.lower)

    def values(self, x: np.ndarray) -> dict[str, float]:
        """Return every calibrated parameter's value with the fitted ones set to ``x``."""
        out = dict(self.start_values)
        out.update({n: float(v) for n, v in zip(self.names, x, strict=True)})
        return out

    # -- model
    def run(self, x: np.ndarray, *, variables: Sequence[str] | None = None,
            final_time: float | None = None, saveper: float = 1.0) -> Any:
        """Run the model with the fitted parameters at ``x``; return the raw result."""
        inputs = dict(self._lever_inputs)
        inputs.update(_parameters.to_inputs(self.values(x), model_path=self.model_path))
        spec = RunSpec(inputs=inputs, final_time=final_time or self.final_time,
                       time_step=self.time_step, saveper=saveper,
                       variables=list(variables) if variables is not None else self._outputs)
        self.evaluations += 1
        return self._engine.run(spec)

    def simulate(self, x: np.ndarray) -> np.ndarray:
        """Return the model's value at each observation (same order as ``observed``)."""
        raw = self.run(x)
        out = np.empty(len(self.observed))
        for i, (name, element, year) in enumerate(zip(
                self.observed["output"], self.observed["element"], self._years, strict=True)):
            series = raw.data[name]
            if element:
                series = series[:, SECTORS.index(element)]
            out[i] = np.interp(year, raw.time, series)
        return out

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """Weighted relative errors ``(model - observed) / observed / sigma``."""
        try:
            sim = self.simulate(x)
        except ModelError:
            return np.full(len(self._obs), _BAD_RESIDUAL)
        r = (sim - self._obs) / self._obs / self._sigma
        return np.where(np.isfinite(r), r, _BAD_RESIDUAL)

    def payoff(self, x: np.ndarray) -> float:
        """Sum of weighted squared relative errors at ``x`` (smaller is better)."""
        r = self.residuals(x)
        return float(r @ r)


# ------------------------------------------------------------------------- result


@dataclass
class CalibrationResult:
    """What a calibration found.

    Attributes
    ----------
    parameters : pandas.DataFrame
        One row per calibrated parameter (registry order), indexed by name:
        ``value``, ``start``, ``std_error``, ``lower_95``, ``upper_95``,
        ``bound_min``, ``bound_max``, ``unit``, ``fitted`` (False when it was not
        asked for or the data do not depend on it), ``identifiable``, ``note``.
    observations : pandas.DataFrame
        One row per observation: ``variable``, ``year``, ``observed``, ``start``
        (model at the starting values), ``fitted`` (model at the fitted values),
        ``rel_error`` (fitted), ``unit``, ``sigma``, ``confidence``, ``sample`` (``"fit"`` or
        ``"holdout"``), ``source``.
    goodness : pandas.DataFrame
        Goodness of fit per ``sample`` and series, with an ``overall`` row per sample
        (see :func:`goodness_of_fit`).
    payoff_start, payoff : float
        Payoff on the fitted years at the starting and at the fitted values.
    notes : list of str
        Identifiability and other caveats, in words.
    settings : dict
        How the calibration ran (seed, iterations, engine, files, hashes).
    jacobian : numpy.ndarray
        Jacobian of the weighted residuals with respect to the fitted parameters
        at the optimum (rows: fitted observations).
    trajectories : pandas.DataFrame
        Model series of the observed variables at the starting and fitted values:
        ``variable``, ``time``, ``start``, ``fitted``.
    """

    parameters: pd.DataFrame
    observations: pd.DataFrame
    goodness: pd.DataFrame
    payoff_start: float
    payoff: float
    notes: list[str]
    settings: dict[str, Any]
    jacobian: np.ndarray
    trajectories: pd.DataFrame

    @property
    def values(self) -> dict[str, float]:
        """Fitted values of the fitted parameters (registry name -> value)."""
        fitted = self.parameters[self.parameters["fitted"]]
        return {str(k): float(v) for k, v in fitted["value"].items()}

    def summary(self) -> str:
        """Return a plain-text report: parameters with intervals, fit, notes."""
        s = self.settings
        lines = [f"calibration of {s['n_fit']} observations from {s['observed_file']}"
                 + (f" (years <= {s['fit_until']}; {s['n_holdout']} held out)"
                    if s.get("fit_until") is not None else ""),
                 f"payoff {self.payoff_start:.4g} at the start -> {self.payoff:.4g} fitted "
                 f"({s['evaluations']} model runs)", "",
                 f"{'parameter':<38}{'value':>10}{'95 % interval':>26}  note"]
        for name, row in self.parameters.iterrows():
            if row["fitted"]:
                interval = f"[{_fmt(row['lower_95'])}, {_fmt(row['upper_95'])}]"
            else:
                interval = "-"
            lines.append(f"{name:<38}{_fmt(row['value']):>10}{interval:>26}  {row['note']}")
        lines += ["", f"{'sample':<9}{'series':<28}{'n':>3}{'MAPE %':>9}{'bias %':>9}{'R2':>8}"]
        for _, g in self.goodness.iterrows():
            lines.append(f"{g['sample']:<9}{g['variable']:<28}{int(g['n']):>3}"
                         f"{g['mape']:>9.1f}{g['bias']:>9.1f}{_fmt(g['r2'], 3):>8}")
        if self.notes:
            lines += ["", "notes:"] + [f"- {n}" for n in self.notes]
        return "\n".join(lines)

    def to_toml(self, *, name: str = "calibrated", description: str | None = None,
                extends: str | None = None, command: str | None = None) -> str:
        """Return the fitted values as a scenario layer with a ``[parameters]`` table.

        A time step given to :func:`calibrate` is written as ``[run] time_step``, so
        that runs on the layer use the step the parameters were fitted at.

        Parameters
        ----------
        name : str
            Scenario name.
        description : str, optional
            Scenario description; a default one says what was fitted to what.
        extends : str, optional
            Scenario the layer extends (the one the calibration ran on).
        command : str, optional
            Command line that reproduces the calibration, recorded in a comment.
        """
        s = self.settings
        if description is None:
            description = (f"Calibrated parameters fitted to {s['n_fit']} observed values "
                           f"({Path(s['observed_file']).name}"
                           + (f", years <= {s['fit_until']}" if s.get("fit_until") else "")
                           + "); levers as in "
                           + (extends or "the model's defaults (the policy as written)") + ".")
        head = [
            "# Calibrated parameters, written by `transfer-sim calibrate`: re-run it, do not "
            "edit by hand.",
            *([f"# command: {command}"] if command else []),
            f"# observed: {Path(s['observed_file']).name} (sha256 {s['observed_sha256'][:12]}), "
            f"{s['n_fit']} observations fitted"
            + (f" (years <= {s['fit_until']})" if s.get("fit_until") else ""),
            f"# model sha256 {s['model_sha256'][:12]}; engine {s['engine']} {s['engine_version']},"
            f" time step {s['time_step']}; seed {s['seed']}, maxiter {s['maxiter']}, "
            f"popsize {s['popsize']}",
            f"# payoff (weighted squared relative errors): {self.payoff_start:.6g} at the "
            f"start -> {self.payoff:.6g}",
            f"# {int(INTERVAL_LEVEL * 100)} % intervals from the Jacobian at the optimum:",
        ]
        for pname, row in self.parameters.iterrows():
            if row["fitted"]:
                flag = "" if row["identifiable"] else "  NOT IDENTIFIABLE"
                head.append(f"#   {pname} = {_fmt(row['value'])}  [{_fmt(row['lower_95'])}, "
                            f"{_fmt(row['upper_95'])}]{flag}")
            else:
                head.append(f"#   {pname} = {_fmt(row['value'])}  not fitted: {row['note']}")
        lines = head + ["", f"name = {_quote(name)}", f"description = {_quote(description)}"]
        if extends:
            lines.append(f"extends = {_quote(extends)}")
        if s.get("time_step_given"):
            lines += ["", "[run]", f"time_step = {float(s['time_step'])!r}"]
        lines += ["", "[parameters]"]
        rounded = {k: float(f"{v:.6g}") for k, v in self.values.items()}
        for key, value in _parameters.nested(rounded).items():
            if isinstance(value, dict):
                text = "{ " + ", ".join(f"{e} = {v!r}" for e, v in value.items()) + " }"
            else:
                text = repr(value)
            lines.append(f"{key} = {text}")
        return "\n".join(lines) + "\n"

    def write_toml(self, path: str | os.PathLike[str], **kwargs: Any) -> Path:
        """Write :meth:`to_toml` to ``path`` atomically; keyword arguments go to it."""
        text = self.to_toml(**kwargs)
        with atomic_path(path) as tmp:
            tmp.write_text(text, encoding="utf-8")
        return Path(path)

    def table(self) -> pd.DataFrame:
        """Return the parameter table as written by :meth:`write_table`."""
        out = self.parameters.reset_index().rename(columns={"index": "parameter"})
        params = [_parameters.get_parameter(n) for n in out["parameter"]]
        out.insert(1, "variable", [p.variable for p in params])
        out.insert(2, "element", [p.element or "" for p in params])
        return out

    def write_table(self, path: str | os.PathLike[str]) -> Path:
        """Write the parameters with their intervals as CSV, atomically.

        Columns: ``parameter, variable, element, value, start, std_error, lower_95,
        upper_95, bound_min, bound_max, unit, fitted, identifiable, note``.
        """
        frame = self.table()
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index=False, float_format="%.6g")
        return Path(path)


def _fmt(value: float, digits: int = 4) -> str:
    if value is None or not np.isfinite(value):
        return "nan" if value is None or np.isnan(value) else ("inf" if value > 0 else "-inf")
    return f"{value:.{digits}g}"


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


# -------------------------------------------------------------------- statistics


def goodness_of_fit(observations: pd.DataFrame, *, column: str = "fitted") -> pd.DataFrame:
    """Goodness of fit per series and overall, for each sample.

    Parameters
    ----------
    observations : pandas.DataFrame
        Columns ``sample``, ``variable``, ``observed`` and ``column``.
    column : str
        Column holding the model values.

    Returns
    -------
    pandas.DataFrame
        Columns ``sample``, ``variable`` (``"overall"`` for all series together),
        ``n``, ``mape`` (mean absolute percentage error), ``bias`` (mean percentage
        error, model minus observed), ``rmspe`` (root mean square percentage error),
        ``r2`` (1 - SS_res / SS_tot about the series mean; NaN below two points or
        without variation; overall: the sums over series).
    """
    rows = []
    for sample, by_sample in observations.groupby("sample", sort=False):
        ss_res_all = ss_tot_all = 0.0
        for variable, g in list(by_sample.groupby("variable", sort=False)) + [
                ("overall", by_sample)]:
            obs = g["observed"].to_numpy(dtype=float)
            sim = g[column].to_numpy(dtype=float)
            rel = (sim - obs) / obs * 100.0
            r2 = math.nan
            if variable != "overall":
                if len(obs) >= 2 and np.ptp(obs) > 0:
                    ss_res = float(((sim - obs) ** 2).sum())
                    ss_tot = float(((obs - obs.mean()) ** 2).sum())
                    r2 = 1.0 - ss_res / ss_tot
                    ss_res_all += ss_res
                    ss_tot_all += ss_tot
            elif ss_tot_all > 0:
                r2 = 1.0 - ss_res_all / ss_tot_all
            rows.append({"sample": sample, "variable": variable, "n": len(obs),
                         "mape": float(np.abs(rel).mean()), "bias": float(rel.mean()),
                         "rmspe": float(np.sqrt((rel ** 2).mean())), "r2": r2})
    return pd.DataFrame(rows)


def _jacobian(problem: CalibrationProblem, x: np.ndarray, rows: np.ndarray,
              rel_step: float = 1e-4) -> np.ndarray:
    """Central-difference Jacobian of the fitted residuals in parameter units."""
    span = problem.upper - problem.lower
    jac = np.empty((int(rows.sum()), len(x)))
    for j in range(len(x)):
        h = rel_step * span[j]
        hi = min(x[j] + h, problem.upper[j])
        lo = max(x[j] - h, problem.lower[j])
        xp, xm = x.copy(), x.copy()
        xp[j], xm[j] = hi, lo
        jac[:, j] = (problem.residuals(xp)[rows] - problem.residuals(xm)[rows]) / (hi - lo)
    return jac


def _intervals(jac: np.ndarray, resid: np.ndarray, names: Sequence[str],
               span: np.ndarray) -> tuple[np.ndarray, np.ndarray, list[str], dict[str, Any]]:
    """Compute standard errors from ``s^2 (J'J)^-1`` via the SVD, with identifiability notes.

    The Jacobian is scaled by each parameter's search range so that singular values
    compare across units. Directions with a zero singular value (or none, when there
    are fewer observations than parameters) are not seen by the data: parameters
    loading on them get an infinite standard error.

    Returns the standard errors, the interval half-widths, per-parameter notes and
    statistics (degrees of freedom, residual variance, condition number, the
    right singular vectors).
    """
    from scipy import stats

    n, p = jac.shape
    dof = n - p
    ssr = float(resid @ resid)
    if dof > 0:
        s2 = ssr / dof
        quantile = float(stats.t.ppf(0.5 + INTERVAL_LEVEL / 2, dof))
    else:
        s2 = 1.0
        quantile = float(stats.norm.ppf(0.5 + INTERVAL_LEVEL / 2))
    scaled = jac * span
    _, sv, vt = np.linalg.svd(scaled, full_matrices=True)
    sv_full = np.zeros(p)
    sv_full[:sv.size] = sv
    top = sv_full.max()
    seen = sv_full > RANK_TOLERANCE * top if top > 0 else np.zeros(p, dtype=bool)
    var_u = np.zeros(p)
    for k in np.flatnonzero(seen):
        var_u += (vt[k] / sv_full[k]) ** 2
    null = [vt[k] for k in np.flatnonzero(~seen)]
    unseen = np.zeros(p, dtype=bool)
    for v in null:
        unseen |= np.abs(v) > 0.1
    se = np.sqrt(s2 * var_u) * span
    se[unseen] = math.inf
    half = quantile * se
    notes = [""] * p
    for j in range(p):
        if unseen[j]:
            partners = sorted({names[i] for v in null if abs(v[j]) > 0.1
                               for i in np.flatnonzero(np.abs(v) > 0.1) if i != j})
            notes[j] = ("not identifiable: the data constrain it only together with "
                        + ", ".join(partners) if partners
                        else "not identifiable: the fit does not change with it")
        elif 2 * half[j] > span[j]:
            notes[j] = "not identifiable: the 95 % interval is wider than the search bounds"
    cond = float(top / sv_full.min()) if sv_full.min() > 0 else math.inf
    return se, half, notes, {"dof": dof, "s2": s2, "quantile": quantile, "condition": cond,
                             "singular_values": sv_full, "vt": vt}


# ----------------------------------------------------------------------- calibrate


Progress = Callable[[str], None]


def calibrate(observed: pd.DataFrame | str | os.PathLike[str] | None = None,
              parameters: Sequence[str] | None = None, *, scenario: Any = None,
              fit_until: int | None = None, engine: str = DEFAULT_ENGINE,
              time_step: float | None = None, maxiter: int = 30, popsize: int = 10,
              seed: int = 1, polish: bool = True, max_nfev: int | None = None,
              model_path: str | os.PathLike[str] | None = None,
              progress: Progress | None = None) -> CalibrationResult:
    """Fit calibrated parameters to observed series.

    Parameters
    ----------
    observed : DataFrame or path-like, optional
        Observations (checked) or a CSV to load; the bundled series by default.
    parameters : sequence of str, optional
        Parameters to fit (registry names; ``reinvestment_rate`` means every
        sector); every calibrated parameter by default. Those the observations do
        not depend on are left at their starting values and reported.
    scenario : Scenario, optional
        Levers of the historical run (and starting parameter values); the model's
        defaults (the policy as written) by default.
    fit_until : int, optional
        Fit only observations up to this year; the later ones are held out and
        their errors reported (the out-of-sample check).
    engine : {"simlin", "pysd"}
        Engine (the fast one by default).
    time_step : float, optional
        Integration step [Year]; the scenario's, else the model's own.
    maxiter, popsize : int
        Generations and population size (per parameter) of the global search.
    seed : int
        Seed of the global search (the result is reproducible).
    polish : bool
        Polish the global optimum with ``least_squares``.
    max_nfev : int, optional
        Most residual evaluations of the polish (``100 * (p + 1)`` by default).
    model_path : path-like, optional
        Model file; the bundled model by default.
    progress : callable, optional
        Called with a one-line message after each stage and generation.

    Returns
    -------
    CalibrationResult

    Raises
    ------
    InputError
        For bad observations, unknown parameters, a ``fit_until`` that leaves no
        observation to fit, or non-positive ``maxiter``/``popsize``.
    """
    from scipy.optimize import differential_evolution, least_squares

    say = progress or (lambda message: None)
    if isinstance(observed, pd.DataFrame):
        obs = observed if "sigma" in observed.columns else check_observed(
            observed, model_path=model_path)
    else:
        obs = load_observed(observed, model_path=model_path)
    for key, value in (("maxiter", maxiter), ("popsize", popsize)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise InputError(f"{value!r} is not allowed; allowed: a whole number >= 1", key=key)
    fit_rows = np.ones(len(obs), dtype=bool)
    if fit_until is not None:
        lo, hi = HORIZON
        if isinstance(fit_until, bool) or not isinstance(fit_until, int) \
                or not lo <= fit_until <= hi:
            raise InputError(f"{fit_until!r} is not allowed; allowed: a year from {lo} to {hi}",
                             key="fit_until")
        fit_rows = obs["year"].to_numpy() <= fit_until
        if not fit_rows.any():
            raise InputError(f"no observation in or before {fit_until} to fit (the earliest is "
                             f"{obs['year'].min()})", key="fit_until")
    candidates = _parameters.expand_names(parameters if parameters is not None
                                          else _parameters.parameter_names())
    problem = CalibrationProblem(obs, candidates, scenario=scenario, engine=engine,
                                 time_step=time_step, model_path=model_path)
    x_start_all = problem.start_vector()

    # 1. Screen: which parameters do the fitted observations respond to at all?
    say(f"screening {len(candidates)} parameters")
    r0 = problem.residuals(x_start_all)[fit_rows]
    responds = []
    for j in range(len(candidates)):
        moved = False
        for edge in (problem.lower[j], problem.upper[j]):
            x = x_start_all.copy()
            x[j] = edge
            if np.max(np.abs(problem.residuals(x)[fit_rows] - r0)) > 1e-9:
                moved = True
                break
        responds.append(moved)
    names = [n for n, ok in zip(candidates, responds, strict=True) if ok]
    notes: list[str] = []
    skipped = [n for n, ok in zip(candidates, responds, strict=True) if not ok]
    if skipped:
        notes.append(f"not fitted, no fitted observation depends on it: {', '.join(skipped)} "
                     "(kept at the starting value)")
    if not names:
        raise InputError("none of the parameters changes the model at the observed "
                         "variables and years; nothing to fit", key="parameters")
    fit = CalibrationProblem(obs, names, start=problem.start_values, scenario=scenario,
                             engine=engine, time_step=time_step, model_path=model_path)
    x0 = fit.start_vector()
    u0 = fit.to_unit(x0)

    def resid_u(u: np.ndarray) -> np.ndarray:
        return fit.residuals(fit.from_unit(np.clip(u, 0.0, 1.0)))[fit_rows]

    def payoff_u(u: np.ndarray) -> float:
        r = resid_u(u)
        return float(r @ r)

    payoff_start = payoff_u(u0)
    say(f"start: payoff {payoff_start:.6g} with {len(names)} parameters, "
        f"{int(fit_rows.sum())} observations")

    # 2. Global search.
    generation = [0]

    def on_generation(intermediate_result: Any) -> None:
        generation[0] += 1
        say(f"global search: generation {generation[0]}/{maxiter}, best payoff "
            f"{float(intermediate_result.fun):.6g}")

    de_kwargs: dict[str, Any] = {}
    key = "rng" if "rng" in inspect.signature(differential_evolution).parameters else "seed"
    de_kwargs[key] = seed
    de = differential_evolution(payoff_u, bounds=[(0.0, 1.0)] * len(names), maxiter=maxiter,
                                popsize=popsize, workers=1, polish=False, x0=u0,
                                init="latinhypercube", tol=1e-8, callback=on_generation,
                                updating="immediate", **de_kwargs)
    u_best, payoff_best = np.clip(de.x, 0.0, 1.0), float(de.fun)
    if payoff_start < payoff_best:  # x0 is in the population, so this is rounding only
        u_best, payoff_best = u0, payoff_start
    payoff_de = payoff_best

    # 3. Local polish.
    payoff_ls = math.nan
    if polish:
        say(f"local polish from payoff {payoff_best:.6g}")
        ls = least_squares(resid_u, u_best, bounds=(0.0, 1.0), method="trf", diff_step=1e-6,
                           max_nfev=max_nfev or 100 * (len(names) + 1), x_scale=1.0)
        payoff_ls = float(ls.fun @ ls.fun)
        if payoff_ls < payoff_best:
            u_best, payoff_best = np.clip(ls.x, 0.0, 1.0), payoff_ls
    x_best = fit.from_unit(u_best)

    # 4. Intervals from the Jacobian at the optimum.
    say("intervals: Jacobian at the optimum")
    jac = _jacobian(fit, x_best, fit_rows)
    resid = fit.residuals(x_best)[fit_rows]
    span = fit.upper - fit.lower
    se, half, pnotes, stats_ = _intervals(jac, resid, names, span)
    for j in range(len(names)):
        at_bound = min(u_best[j], 1.0 - u_best[j]) < 1e-6
        if at_bound:
            edge = "lower" if u_best[j] < 0.5 else "upper"
            extra = f"at the {edge} search bound (the optimum may lie beyond it)"
            pnotes[j] = f"{pnotes[j]}; {extra}" if pnotes[j] else extra
    if stats_["dof"] <= 0:
        notes.append(f"{int(fit_rows.sum())} observations for {len(names)} parameters: no "
                     "degrees of freedom, so the intervals take the confidence-based "
                     "sigmas as known and use the normal quantile")
    if stats_["condition"] > ILL_CONDITIONED:
        weakest = stats_["vt"][-1]
        order = np.argsort(-np.abs(weakest))
        combo = " ".join(f"{weakest[i]:+.2f}*{names[i]}" for i in order if abs(weakest[i]) > 0.1)
        what = ("rank-deficient" if math.isinf(stats_["condition"]) else
                f"ill-conditioned (condition number {stats_['condition']:.3g})")
        notes.append(f"the Jacobian (per unit of each search range) is {what}: the data "
                     f"constrain combinations of parameters better than single ones; the "
                     f"least constrained combination is {combo}")

    # 5. Tables.
    sim_start = fit.simulate(x0)
    sim_fit = fit.simulate(x_best)
    sample = np.where(fit_rows, "fit", "holdout")
    observations = pd.DataFrame({
        "variable": obs["variable"].to_numpy(), "year": obs["year"].to_numpy(),
        "observed": obs["value"].to_numpy(), "start": sim_start, "fitted": sim_fit,
        "rel_error": (sim_fit - obs["value"].to_numpy()) / obs["value"].to_numpy(),
        "unit": obs["unit"].to_numpy(), "sigma": obs["sigma"].to_numpy(),
        "confidence": obs["confidence"].to_numpy(),
        "sample": sample, "source": obs["source"].to_numpy()})
    goodness = goodness_of_fit(observations)
    rows = []
    fitted_index = {n: j for j, n in enumerate(names)}
    for n in candidates:
        p = _parameters.get_parameter(n)
        if n in fitted_index:
            j = fitted_index[n]
            value, s_e, h = float(x_best[j]), float(se[j]), float(half[j])
            ident = not pnotes[j].startswith("not identifiable")
            rows.append({"parameter": n, "value": value, "start": float(x0[j]),
                         "std_error": s_e, "lower_95": value - h, "upper_95": value + h,
                         "bound_min": p.bounds[0], "bound_max": p.bounds[1], "unit": p.unit,
                         "fitted": True, "identifiable": ident, "note": pnotes[j]})
        else:
            rows.append({"parameter": n, "value": float(problem.start_values[n]),
                         "start": float(problem.start_values[n]), "std_error": math.nan,
                         "lower_95": math.nan, "upper_95": math.nan, "bound_min": p.bounds[0],
                         "bound_max": p.bounds[1], "unit": p.unit, "fitted": False,
                         "identifiable": False,
                         "note": "not identifiable: no fitted observation depends on it; "
                                 "kept at its starting value"})
    for p in _parameters.PARAMETERS:
        if p.name not in candidates:
            rows.append({"parameter": p.name, "value": float(problem.start_values[p.name]),
                         "start": float(problem.start_values[p.name]), "std_error": math.nan,
                         "lower_95": math.nan, "upper_95": math.nan, "bound_min": p.bounds[0],
                         "bound_max": p.bounds[1], "unit": p.unit, "fitted": False,
                         "identifiable": False,
                         "note": "not in this calibration; kept at its starting value"})
    order = {n: i for i, n in enumerate(_parameters.parameter_names())}
    rows.sort(key=lambda row: order[row["parameter"]])
    table = pd.DataFrame(rows).set_index("parameter")
    table.index.name = None
    unidentified = [n for n in names if not table.at[n, "identifiable"]]
    if unidentified:
        notes.append(f"not identifiable from these data: {', '.join(unidentified)}; their "
                     "fitted values are one of many that fit as well")
    trajectories = _trajectories(fit, x0, x_best, obs)
    say(f"done: payoff {payoff_start:.6g} -> {payoff_best:.6g}")
    settings = {
        "observed_file": obs.attrs.get("file", "observed data"),
        "observed_sha256": obs.attrs.get("sha256", ""),
        "model_sha256": model_hash(model_path),
        "engine": fit._engine.name, "engine_version": fit._engine.version,
        "time_step": fit.time_step if fit.time_step is not None
        else _model_time_step(model_path),
        "time_step_given": time_step is not None,
        "seed": seed, "maxiter": maxiter, "popsize": popsize, "polish": polish,
        "fit_until": fit_until, "n_fit": int(fit_rows.sum()),
        "n_holdout": int((~fit_rows).sum()), "payoff_de": payoff_de, "payoff_ls": payoff_ls,
        "evaluations": problem.evaluations + fit.evaluations,
        "dof": stats_["dof"], "residual_variance": stats_["s2"],
        "condition_number": stats_["condition"],
        "scenario": getattr(scenario, "name", None),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    return CalibrationResult(parameters=table, observations=observations, goodness=goodness,
                             payoff_start=payoff_start, payoff=payoff_best, notes=notes,
                             settings=settings, jacobian=jac, trajectories=trajectories)


def _model_time_step(model_path: str | os.PathLike[str] | None) -> float | str:
    """Return the model file's own ``TIME STEP`` (for provenance)."""
    from transfer_sim.model.facts import model_facts

    return model_facts(model_path).control.time_step


def _trajectories(problem: CalibrationProblem, x0: np.ndarray, x1: np.ndarray,
                  obs: pd.DataFrame) -> pd.DataFrame:
    final = float(max(problem.final_time, 2015.0))
    runs = [problem.run(x, final_time=final, saveper=0.25) for x in (x0, x1)]
    frames = []
    for label in dict.fromkeys(obs["variable"]):
        row = obs[obs["variable"] == label].iloc[0]
        series = []
        for raw in runs:
            s = raw.data[row["output"]]
            series.append(s[:, SECTORS.index(row["element"])] if row["element"] else s)
        frames.append(pd.DataFrame({"variable": label, "time": runs[0].time,
                                    "start": series[0], "fitted": series[1]}))
    return pd.concat(frames, ignore_index=True)


# -------------------------------------------------------------------------- plots


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
