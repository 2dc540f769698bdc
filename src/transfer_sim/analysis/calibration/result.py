"""What a calibration found, and its goodness of fit; written as a scenario layer or CSV.

:meth:`CalibrationResult.write_toml` writes the fitted values as a scenario layer
(``[parameters]``) that other scenarios can ``extends``;
:meth:`CalibrationResult.write_table` writes them with their intervals as CSV.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from transfer_sim.inputs import parameters as _parameters
from transfer_sim.inputs._toml import toml_value
from transfer_sim.inputs.calibration_record import CalibrationRecord
from transfer_sim.io.atomic import atomic_path, atomic_write_text
from transfer_sim.io.formatting import format_number
from transfer_sim.model.core import bundled_path

__all__ = ["CalibrationResult", "goodness_of_fit", "INTERVAL_LEVEL"]

#: Level (two-sided) of the confidence intervals.
INTERVAL_LEVEL = 0.95
#: Absolute correlation from which two fitted parameters are reported as seen by the
#: data mostly in combination (an assumption: a common rule of thumb, not a test).
STRONG_CORRELATION = 0.9


@dataclass
class CalibrationResult:
    """What a calibration found.

    :func:`~transfer_sim.analysis.calibration.calibrate` returns it; :meth:`to_toml`
    writes the fitted values as a scenario layer and :meth:`write_table` the
    parameter table as CSV.

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
    correlations : pandas.DataFrame
        Correlations of the fitted parameters at the optimum (from the Jacobian;
        :func:`~transfer_sim.analysis.calibration.identifiability.correlations`).
    profile : pandas.DataFrame or None
        The profile likelihood, one row per parameter and point (``parameter``,
        ``value``, ``payoff``, ``delta``), if it was computed.
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
    correlations: pd.DataFrame = field(default_factory=pd.DataFrame)
    profile: pd.DataFrame | None = None

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
        strong = self.strong_correlations()
        if strong:
            lines += ["", "strongly correlated fitted parameters (|r| >= "
                      f"{STRONG_CORRELATION}):"] + [f"- {a} ~ {b}: r = {r:+.2f}"
                                                     for a, b, r in strong]
        if self.notes:
            lines += ["", "notes:"] + [f"- {n}" for n in self.notes]
        return "\n".join(lines)

    def strong_correlations(self, threshold: float | None = None
                            ) -> list[tuple[str, str, float]]:
        """Return the pairs of fitted parameters whose correlation is at least ``threshold``.

        Parameters
        ----------
        threshold : float, optional
            Absolute correlation; :data:`STRONG_CORRELATION` by default.
        """
        limit = STRONG_CORRELATION if threshold is None else threshold
        c = self.correlations
        names = list(c.columns)
        return [(a, b, float(c.at[a, b])) for i, a in enumerate(names) for b in names[i + 1:]
                if np.isfinite(c.at[a, b]) and abs(c.at[a, b]) >= limit]

    def write_correlations(self, path: str | os.PathLike[str]) -> Path:
        """Write the fitted parameters' correlation matrix as CSV, atomically."""
        with atomic_path(path) as tmp:
            self.correlations.rename_axis("parameter").to_csv(tmp, float_format="%.4f")
        return Path(path)

    def write_profile(self, path: str | os.PathLike[str]) -> Path:
        """Write the profile likelihood (``parameter, value, payoff, delta``) as CSV."""
        if self.profile is None:
            raise ValueError("no profile likelihood was computed (profile_points=0)")
        with atomic_path(path) as tmp:
            self.profile.to_csv(tmp, index=False, float_format="%.6g")
        return Path(path)

    def record(self, *, vintage: str | None = None,
               layer_dir: str | os.PathLike[str] | None = None) -> CalibrationRecord | None:
        """Return what the parameters were fitted on, as a layer's ``[calibration]`` table.

        None when the observations were not read from a file (a frame built in code).

        Parameters
        ----------
        vintage : str, optional
            Name of the data vintage; the observed file's stem by default.
        layer_dir : path-like, optional
            Folder the layer is written to: an observed file of the bundled
            ``data/historical/`` is named by its file name, any other by its path
            relative to this folder (absolute without it).
        """
        s = self.settings
        if not s.get("observed_sha256") or not Path(s["observed_file"]).is_file():
            return None
        observed = Path(s["observed_file"]).resolve()
        if observed.parent == bundled_path("data", "historical").resolve():
            ref = observed.name
        elif layer_dir is not None:
            ref = os.path.relpath(observed, Path(layer_dir).resolve())
        else:
            ref = str(observed)
        fit = self.observations[self.observations["sample"] == "fit"]
        fit_until = s.get("fit_until") or int(fit["year"].max())
        return CalibrationRecord(observed=ref, observed_sha256=s["observed_sha256"],
                                 fit_until=int(fit_until), vintage=vintage or observed.stem)

    def to_toml(self, *, name: str = "calibrated", description: str | None = None,
                extends: str | None = None, command: str | None = None,
                vintage: str | None = None,
                layer_dir: str | os.PathLike[str] | None = None) -> str:
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
        vintage, layer_dir : optional
            For the ``[calibration]`` table; see :meth:`record`.
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
        record = self.record(vintage=vintage, layer_dir=layer_dir)
        if record is not None:
            lines += ["", "[calibration]"] + [f"{k} = {toml_value(v)}"
                                              for k, v in record.toml_table().items()]
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
        kwargs.setdefault("layer_dir", Path(path).parent)
        return atomic_write_text(path, self.to_toml(**kwargs))

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
        upper_95, bound_min, bound_max, unit, fitted, identifiable, note,
        profile_lower_95, profile_upper_95``.
        """
        frame = self.table()
        with atomic_path(path) as tmp:
            frame.to_csv(tmp, index=False, float_format="%.6g")
        return Path(path)


def _fmt(value: float, digits: int = 4) -> str:
    return format_number(value, digits)


def _quote(text: str) -> str:
    escaped = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
    return f'"{escaped}"'


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
