"""Fitting: screen, search globally, polish locally, intervals from the Jacobian.

:func:`calibrate` screens out parameters the observations do not depend on
(:func:`_screen`), searches globally (``scipy.optimize.differential_evolution``,
seeded, bounded ``maxiter``/``popsize``, one worker; :func:`_global_search`),
polishes locally (``scipy.optimize.least_squares``; :func:`_polish`), and computes
95 % confidence intervals from the Jacobian at the optimum, saying when a parameter
is not identifiable (:func:`_intervals_and_notes`). With ``fit_until`` it fits only
the years up to then and reports the errors on the years after (the out-of-sample
check).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from transfer_sim.analysis.calibration.identifiability import (
    correlations,
    profile_likelihood,
    profile_summary,
)
from transfer_sim.analysis.calibration.observed import HORIZON, check_observed, load_observed
from transfer_sim.analysis.calibration.problem import CalibrationProblem
from transfer_sim.analysis.calibration.result import (
    INTERVAL_LEVEL,
    CalibrationResult,
    goodness_of_fit,
)
from transfer_sim.engines import DEFAULT_ENGINE
from transfer_sim.errors import InputError
from transfer_sim.inputs import parameters as _parameters
from transfer_sim.inputs.run_settings import validate_time_step
from transfer_sim.inputs.scenarios import Scenario
from transfer_sim.io.progress import Progress
from transfer_sim.model.core import SECTORS, model_hash

__all__ = ["calibrate", "SearchSettings", "RANK_TOLERANCE", "ILL_CONDITIONED"]

#: Singular values of the scaled Jacobian below this fraction of the largest
#: count as zero: the parameters loading on them are not identifiable.
RANK_TOLERANCE = 1e-8
#: Condition number of the scaled Jacobian above which the fit is reported as
#: ill-conditioned.
ILL_CONDITIONED = 1e4


def _jacobian(problem: CalibrationProblem, x: np.ndarray, rows: np.ndarray,
              rel_step: float = 1e-4) -> np.ndarray:
    """Jacobian of the fitted residuals in parameter units.

    Exact where the engine gives derivatives (``batch``), else central differences.
    """
    if problem.exact_jacobian:
        return problem.jacobian(x)[rows]
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


@dataclass(frozen=True)
class SearchSettings:
    """How the fit searches: the global search's size and seed, and the local polish.

    Parameters
    ----------
    maxiter, popsize : int
        Generations and population size (per parameter) of the global search.
    seed : int
        Seed of the global search (the result is reproducible).
    polish : bool
        Polish the global optimum with ``least_squares``.
    max_nfev : int, optional
        Most residual evaluations of the polish (``100 * (p + 1)`` by default).

    Raises
    ------
    InputError
        For a ``maxiter`` or ``popsize`` that is not a whole number >= 1.
    """

    maxiter: int = 30
    popsize: int = 10
    seed: int = 1
    polish: bool = True
    max_nfev: int | None = None

    def __post_init__(self) -> None:
        for key in ("maxiter", "popsize"):
            value = getattr(self, key)
            if isinstance(value, bool) or not isinstance(value, int) or value < 1:
                raise InputError(f"{value!r} is not allowed; allowed: a whole number >= 1",
                                 key=key)

    @property
    def steps(self) -> int:
        """Progress steps of a fit: screen, start, each generation, polish, intervals."""
        return self.maxiter + 4


@dataclass
class _Stage:
    """What the stages share: the observations, which rows are fitted, progress, notes."""

    obs: pd.DataFrame
    fit_rows: np.ndarray
    search: SearchSettings
    progress: Progress | None
    notes: list[str] = field(default_factory=list)

    def say(self, step: int, message: str) -> None:
        if self.progress is not None:
            self.progress(min(step, self.search.steps), self.search.steps, message)

    def residuals_u(self, fit: CalibrationProblem) -> Callable[[np.ndarray], np.ndarray]:
        """Return the fitted rows' residuals as a function of unit coordinates."""
        return lambda u: fit.residuals(fit.from_unit(np.clip(u, 0.0, 1.0)))[self.fit_rows]


def calibrate(observed: pd.DataFrame | str | os.PathLike[str] | None = None,
              parameters: Sequence[str] | None = None, *, scenario: Scenario | None = None,
              fit_until: int | None = None, engine: str = DEFAULT_ENGINE,
              time_step: float | None = None, model_path: str | os.PathLike[str] | None = None,
              progress: Progress | None = None, profile_points: int = 0,
              **search: Any) -> CalibrationResult:
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
    engine : {"simlin", "pysd", "batch"}
        Engine (the fast one by default).
    time_step : float, optional
        Integration step [Year], a power of two up to 0.25; the scenario's, else the
        model's own.
    model_path : path-like, optional
        Model file; the bundled model by default.
    progress : callable, optional
        ``progress(done, total, message)`` (:mod:`transfer_sim.io.progress`) after each
        stage and generation; the message says what was done.
    profile_points : int
        Points of the profile likelihood across each fitted parameter's range
        (:mod:`~transfer_sim.analysis.calibration.identifiability`); 0 for none (the
        Jacobian alone then decides identifiability). A parameter found not
        identifiable is kept at its starting value and the others are re-fitted.
    **search
        Fields of :class:`SearchSettings`: ``maxiter``, ``popsize``, ``seed``,
        ``polish``, ``max_nfev``.

    Returns
    -------
    CalibrationResult

    Raises
    ------
    InputError
        For bad observations, unknown parameters, a ``fit_until`` that leaves no
        observation to fit, a time step that is not allowed, or non-positive
        ``maxiter``/``popsize``.
    """
    settings = SearchSettings(**search)
    validate_time_step(time_step)
    obs = _observations(observed, model_path)
    stage = _Stage(obs, _fit_rows(obs, fit_until), settings, progress)
    candidates = _parameters.expand_names(parameters if parameters is not None
                                          else _parameters.parameter_names())
    problem = CalibrationProblem(obs, candidates, scenario=scenario, engine=engine,
                                 time_step=time_step, model_path=model_path)
    names = _screen(problem, stage)
    fit = CalibrationProblem(obs, names, start=problem.start_values, scenario=scenario,
                             engine=engine, time_step=time_step, model_path=model_path)
    u0 = fit.to_unit(fit.start_vector())
    u_best, payoffs = _global_search(fit, u0, stage)
    u_best, payoffs = _polish(fit, u_best, payoffs, stage)
    stage.say(settings.maxiter + 3, "intervals: Jacobian at the optimum")
    first = len(stage.notes)
    jac, fitted = _intervals_and_notes(fit, fit.from_unit(u_best), u_best, stage)
    profile = _profile(fit, u_best, fitted, stage, profile_points) if profile_points else None
    dropped = _unidentified(fitted, profile)
    if dropped:
        fit, u_best, jac, fitted, payoffs = _refit_identified(
            problem, fit, u_best, dropped, stage, payoffs, notes_from=first)
    x_best = fit.from_unit(u_best)
    observations = _observation_table(fit, x_best, stage)
    table = _parameter_table(problem, fitted, dropped, profile)
    _note_unidentified(dropped, stage.notes)
    trajectories = _trajectories(fit, fit.start_vector(), x_best, obs)
    stage.say(settings.steps, f"done: payoff {payoffs['start']:.6g} -> {payoffs['best']:.6g}")
    ran = _settings(problem, fit, stage, payoffs, scenario=scenario, time_step=time_step,
                    fit_until=fit_until, model_path=model_path, dof_stats=fitted["stats"])
    ran["profile_points"] = profile_points
    return CalibrationResult(parameters=table, observations=observations,
                             goodness=goodness_of_fit(observations),
                             payoff_start=payoffs["start"], payoff=payoffs["best"],
                             notes=stage.notes, settings=ran, jacobian=jac,
                             trajectories=trajectories,
                             correlations=_fitted_correlations(fit, jac, fitted, dropped),
                             profile=profile[0] if profile is not None else None)


def _fitted_correlations(fit: CalibrationProblem, jac: np.ndarray, fitted: Mapping[str, Any],
                         dropped: Mapping[str, str]) -> pd.DataFrame:
    """Correlations of the parameters written as fitted (none when nothing was identified)."""
    cols = [j for j, n in enumerate(fitted["names"]) if n not in dropped]
    names = [fitted["names"][j] for j in cols]
    span = (fit.upper - fit.lower)[cols]
    return correlations(jac[:, cols], names, span, rank_tolerance=RANK_TOLERANCE)


def _profile(fit: CalibrationProblem, u_best: np.ndarray, fitted: Mapping[str, Any],
             stage: _Stage, points: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Profile likelihood of every fitted parameter, and its summary (stage 4b)."""
    names = list(fit.names)
    step = stage.search.maxiter + 3
    prof = profile_likelihood(stage.residuals_u(fit), u_best, names, fit.lower, fit.upper,
                              s2=fitted["stats"]["s2"], points=points,
                              progress=lambda m: stage.say(step, m))
    best = dict(zip(names, fit.from_unit(u_best), strict=True))
    return prof, profile_summary(prof, best)


def _unidentified(fitted: Mapping[str, Any],
                  profile: tuple[pd.DataFrame, pd.DataFrame] | None) -> dict[str, str]:
    """Return the fitted parameters the data do not pin down, each with why."""
    out = {}
    for j, name in enumerate(fitted["names"]):
        reasons = []
        if profile is not None and not profile[1].at[name, "profile_identified"]:
            s = profile[1].loc[name]
            reasons.append(f"the profile likelihood stays below the 95 % threshold from "
                           f"{s['profile_lower_95']:.4g} to {s['profile_upper_95']:.4g} "
                           "(reaching a search bound)")
        note = fitted["notes"][j]
        if note.startswith("not identifiable: "):
            reasons.append(note.removeprefix("not identifiable: "))
        if reasons:
            out[name] = (f"not identifiable: {'; '.join(reasons)}; best fit "
                         f"{fitted['value'][j]:.4g}")
    return out


def _refit_identified(problem: CalibrationProblem, fit: CalibrationProblem,
                      u_best: np.ndarray, dropped: dict[str, str], stage: _Stage,
                      payoffs: dict[str, float], *, notes_from: int
                      ) -> tuple[CalibrationProblem, np.ndarray, np.ndarray, dict[str, Any],
                                 dict[str, float]]:
    """Keep the unidentified parameters at their starting values and re-fit the rest.

    Repeats until every parameter left is identified (by its Jacobian interval), so
    that no value the data cannot pin down is presented as fitted. With nothing left,
    every parameter stays at its starting value.
    """
    x_best = fit.from_unit(u_best)
    values = dict(zip(fit.names, x_best, strict=True))
    while True:
        keep = [n for n in fit.names if n not in dropped]
        start = {**problem.start_values, **{n: values[n] for n in keep}}
        target = keep or list(fit.names)
        refit = CalibrationProblem(stage.obs, target, start=start if keep else
                                   problem.start_values, scenario=problem.scenario,
                                   engine=problem.engine, time_step=problem.time_step,
                                   model_path=problem.model_path)
        refit.evaluations = fit.evaluations  # runs so far, so that the count is total
        fit = refit
        u = refit.to_unit(refit.start_vector())
        del stage.notes[notes_from:]
        if not keep:  # nothing identified: report the model at its starting values
            jac, fitted = _intervals_and_notes(refit, refit.start_vector(), u, stage)
            r = stage.residuals_u(refit)(u)
            return refit, u, jac, fitted, {**payoffs, "best": float(r @ r)}
        r = stage.residuals_u(refit)(u)
        again = {**payoffs, "best": float(r @ r)}
        u, again = _polish(refit, u, again, stage)
        jac, fitted = _intervals_and_notes(refit, refit.from_unit(u), u, stage)
        more = _unidentified(fitted, None)
        if not more:
            return refit, u, jac, fitted, again
        dropped.update(more)
        values.update(zip(refit.names, refit.from_unit(u), strict=True))


def _observations(observed: pd.DataFrame | str | os.PathLike[str] | None,
                  model_path: str | os.PathLike[str] | None) -> pd.DataFrame:
    """Return checked observations: a checked frame as is, others checked or loaded."""
    if isinstance(observed, pd.DataFrame):
        return observed if "sigma" in observed.columns else check_observed(
            observed, model_path=model_path)
    return load_observed(observed, model_path=model_path)


def _fit_rows(obs: pd.DataFrame, fit_until: int | None) -> np.ndarray:
    """Return which observations are fitted (all, or those up to ``fit_until``)."""
    if fit_until is None:
        return np.ones(len(obs), dtype=bool)
    lo, hi = HORIZON
    if isinstance(fit_until, bool) or not isinstance(fit_until, int) \
            or not lo <= fit_until <= hi:
        raise InputError(f"{fit_until!r} is not allowed; allowed: a year from {lo} to {hi}",
                         key="fit_until")
    rows = obs["year"].to_numpy() <= fit_until
    if not rows.any():
        raise InputError(f"no observation in or before {fit_until} to fit (the earliest is "
                         f"{obs['year'].min()})", key="fit_until")
    return rows


def _screen(problem: CalibrationProblem, stage: _Stage) -> list[str]:
    """Return the parameters the fitted observations respond to at all (stage 1).

    A parameter responds when moving it alone to either search bound changes a
    fitted residual; the others are noted and kept at their starting values.
    """
    names = list(problem.names)
    stage.say(0, f"screening {len(names)} parameters")
    x_start = problem.start_vector()
    r0 = problem.residuals(x_start)[stage.fit_rows]

    def moves(j: int) -> bool:
        for edge in (problem.lower[j], problem.upper[j]):
            x = x_start.copy()
            x[j] = edge
            if np.max(np.abs(problem.residuals(x)[stage.fit_rows] - r0)) > 1e-9:
                return True
        return False

    responds = [moves(j) for j in range(len(names))]
    skipped = [n for n, ok in zip(names, responds, strict=True) if not ok]
    if skipped:
        stage.notes.append(f"not fitted, no fitted observation depends on it: "
                           f"{', '.join(skipped)} (kept at the starting value)")
    chosen = [n for n, ok in zip(names, responds, strict=True) if ok]
    if not chosen:
        raise InputError("none of the parameters changes the model at the observed "
                         "variables and years; nothing to fit", key="parameters")
    return chosen


def _global_search(fit: CalibrationProblem, u0: np.ndarray,
                   stage: _Stage) -> tuple[np.ndarray, dict[str, float]]:
    """Search the unit box with differential evolution from ``u0`` (stage 2)."""
    from scipy.optimize import differential_evolution

    resid_u = stage.residuals_u(fit)

    def payoff_u(u: np.ndarray) -> float:
        r = resid_u(u)
        return float(r @ r)

    s = stage.search
    payoff_start = payoff_u(u0)
    stage.say(1, f"start: payoff {payoff_start:.6g} with {len(fit.names)} parameters, "
                 f"{int(stage.fit_rows.sum())} observations")
    generation = [0]

    def on_generation(intermediate_result: Any) -> None:
        generation[0] += 1
        stage.say(1 + generation[0], f"global search: generation {generation[0]}/{s.maxiter}, "
                                     f"best payoff {float(intermediate_result.fun):.6g}")

    # With the batch engine a generation's whole population is one run_batch call.
    vectorized = fit.exact_jacobian

    def payoffs_u(us: np.ndarray) -> np.ndarray:  # columns are members (scipy's layout)
        xs = fit.from_unit(np.clip(us.T, 0.0, 1.0))
        r = fit.residuals_many(xs)[:, stage.fit_rows]
        return np.einsum("ij,ij->i", r, r)

    de = differential_evolution(payoffs_u if vectorized else payoff_u,
                                bounds=[(0.0, 1.0)] * len(fit.names),
                                maxiter=s.maxiter, popsize=s.popsize, workers=1, polish=False,
                                x0=u0, init="latinhypercube", tol=1e-8, callback=on_generation,
                                updating="deferred" if vectorized else "immediate",
                                vectorized=vectorized, rng=s.seed)
    u_best, payoff_best = np.clip(de.x, 0.0, 1.0), float(de.fun)
    if payoff_start < payoff_best:  # x0 is in the population, so this is rounding only
        u_best, payoff_best = u0, payoff_start
    return u_best, {"start": payoff_start, "de": payoff_best, "best": payoff_best,
                    "ls": math.nan}


def _polish(fit: CalibrationProblem, u_best: np.ndarray, payoffs: dict[str, float],
            stage: _Stage) -> tuple[np.ndarray, dict[str, float]]:
    """Polish the global optimum with ``least_squares``, keeping the better (stage 3)."""
    s = stage.search
    if not s.polish:
        return u_best, payoffs
    from scipy.optimize import least_squares

    stage.say(s.maxiter + 2, f"local polish from payoff {payoffs['best']:.6g}")
    span = fit.upper - fit.lower
    jac: Any = "2-point"
    if fit.exact_jacobian:  # exact derivatives in unit coordinates
        def jac(u: np.ndarray) -> np.ndarray:
            return fit.jacobian(fit.from_unit(np.clip(u, 0.0, 1.0)))[stage.fit_rows] * span

    ls = least_squares(stage.residuals_u(fit), u_best, bounds=(0.0, 1.0), method="trf",
                       diff_step=1e-6, max_nfev=s.max_nfev or 100 * (len(fit.names) + 1),
                       x_scale=1.0, jac=jac)
    payoffs = {**payoffs, "ls": float(ls.fun @ ls.fun)}
    if payoffs["ls"] < payoffs["best"]:
        return np.clip(ls.x, 0.0, 1.0), {**payoffs, "best": payoffs["ls"]}
    return u_best, payoffs


def _intervals_and_notes(fit: CalibrationProblem, x_best: np.ndarray, u_best: np.ndarray,
                         stage: _Stage) -> tuple[np.ndarray, dict[str, Any]]:
    """Intervals from the Jacobian at the optimum, with the notes they call for (stage 4).

    Returns the Jacobian and the fitted parameters' values, starts, standard errors,
    half-widths, notes and the statistics of :func:`_intervals`.
    """
    names = list(fit.names)
    jac = _jacobian(fit, x_best, stage.fit_rows)
    resid = fit.residuals(x_best)[stage.fit_rows]
    se, half, pnotes, stats_ = _intervals(jac, resid, names, fit.upper - fit.lower)
    for j in range(len(names)):
        if min(u_best[j], 1.0 - u_best[j]) < 1e-6:
            edge = "lower" if u_best[j] < 0.5 else "upper"
            extra = f"at the {edge} search bound (the optimum may lie beyond it)"
            pnotes[j] = f"{pnotes[j]}; {extra}" if pnotes[j] else extra
    n_fit = int(stage.fit_rows.sum())
    if stats_["dof"] <= 0:
        stage.notes.append(f"{n_fit} observations for {len(names)} parameters: no "
                           "degrees of freedom, so the intervals take the confidence-based "
                           "sigmas as known and use the normal quantile")
    if stats_["condition"] > ILL_CONDITIONED:
        stage.notes.append(_conditioning_note(stats_, names))
    return jac, {"names": names, "value": x_best, "start": fit.start_vector(), "se": se,
                 "half": half, "notes": pnotes, "stats": stats_}


def _conditioning_note(stats_: Mapping[str, Any], names: Sequence[str]) -> str:
    """Say which combination of parameters the data constrain least."""
    weakest = stats_["vt"][-1]
    order = np.argsort(-np.abs(weakest))
    combo = " ".join(f"{weakest[i]:+.2f}*{names[i]}" for i in order if abs(weakest[i]) > 0.1)
    what = ("rank-deficient" if math.isinf(stats_["condition"]) else
            f"ill-conditioned (condition number {stats_['condition']:.3g})")
    return (f"the Jacobian (per unit of each search range) is {what}: the data constrain "
            f"combinations of parameters better than single ones; the least constrained "
            f"combination is {combo}")


def _row(name: str, value: float, start: float, *, se: float = math.nan,
         half: float = math.nan, identifiable: bool = False, fitted: bool = False,
         note: str = "") -> dict[str, Any]:
    """Return one row of the parameter table (see :class:`CalibrationResult`)."""
    p = _parameters.get_parameter(name)
    return {"parameter": name, "value": float(value), "start": float(start),
            "std_error": float(se), "lower_95": value - half, "upper_95": value + half,
            "bound_min": p.bounds[0], "bound_max": p.bounds[1], "unit": p.unit,
            "fitted": fitted, "identifiable": identifiable, "note": note}


def _parameter_table(problem: CalibrationProblem, fitted: Mapping[str, Any],
                     dropped: Mapping[str, str],
                     profile: tuple[pd.DataFrame, pd.DataFrame] | None) -> pd.DataFrame:
    """Return the parameter table: fitted, not identified, screened out, not asked for."""
    index = {n: j for j, n in enumerate(fitted["names"]) if n not in dropped}
    start = problem.start_values
    rows = []
    for name in _parameters.parameter_names():
        if name in index:
            j = index[name]
            rows.append(_row(name, fitted["value"][j], fitted["start"][j], se=fitted["se"][j],
                             half=fitted["half"][j], fitted=True, note=fitted["notes"][j],
                             identifiable=True))
        elif name in dropped:
            rows.append(_row(name, start[name], start[name],
                             note=f"{dropped[name]}; kept at its starting value (its range "
                                  "stays in the uncertainty file)"))
        elif name in problem.names:
            rows.append(_row(name, start[name], start[name],
                             note="not identifiable: no fitted observation depends on it; "
                                  "kept at its starting value"))
        else:
            rows.append(_row(name, start[name], start[name],
                             note="not in this calibration; kept at its starting value"))
    table = pd.DataFrame(rows).set_index("parameter")
    table.index.name = None
    summary = profile[1] if profile is not None else pd.DataFrame(
        columns=["profile_lower_95", "profile_upper_95", "profile_identified"])
    for column in ("profile_lower_95", "profile_upper_95"):
        table[column] = [float(summary.at[n, column]) if n in summary.index else math.nan
                         for n in table.index]
    return table


def _note_unidentified(dropped: Mapping[str, str], notes: list[str]) -> None:
    if dropped:
        notes.append(f"not identifiable from these data: {', '.join(dropped)}; kept at their "
                     "starting values (not presented as fitted) and the others re-fitted")


def _observation_table(fit: CalibrationProblem, x_best: np.ndarray,
                       stage: _Stage) -> pd.DataFrame:
    """Return one row per observation with the model at the start and fitted values."""
    obs = stage.obs
    sim_start = fit.simulate(fit.start_vector())
    sim_fit = fit.simulate(x_best)
    observed = obs["value"].to_numpy()
    return pd.DataFrame({
        "variable": obs["variable"].to_numpy(), "year": obs["year"].to_numpy(),
        "observed": observed, "start": sim_start, "fitted": sim_fit,
        "rel_error": (sim_fit - observed) / observed,
        "unit": obs["unit"].to_numpy(), "sigma": obs["sigma"].to_numpy(),
        "confidence": obs["confidence"].to_numpy(),
        "sample": np.where(stage.fit_rows, "fit", "holdout"),
        "source": obs["source"].to_numpy()})


def _settings(problem: CalibrationProblem, fit: CalibrationProblem, stage: _Stage,
              payoffs: Mapping[str, float], *, scenario: Scenario | None,
              time_step: float | None, fit_until: int | None,
              model_path: str | os.PathLike[str] | None,
              dof_stats: Mapping[str, Any]) -> dict[str, Any]:
    """Return how the calibration ran (:attr:`CalibrationResult.settings`)."""
    s, obs = stage.search, stage.obs
    return {
        "observed_file": obs.attrs.get("file", "observed data"),
        "observed_sha256": obs.attrs.get("sha256", ""),
        "model_sha256": model_hash(model_path),
        "engine": fit._engine.name, "engine_version": fit._engine.version,
        "jacobian": "exact (forward mode)" if fit.exact_jacobian else "central differences",
        "time_step": fit.time_step if fit.time_step is not None
        else _model_time_step(model_path),
        "time_step_given": time_step is not None,
        "seed": s.seed, "maxiter": s.maxiter, "popsize": s.popsize, "polish": s.polish,
        "fit_until": fit_until, "n_fit": int(stage.fit_rows.sum()),
        "n_holdout": int((~stage.fit_rows).sum()), "payoff_de": payoffs["de"],
        "payoff_ls": payoffs["ls"], "evaluations": problem.evaluations + fit.evaluations,
        "dof": dof_stats["dof"], "residual_variance": dof_stats["s2"],
        "condition_number": dof_stats["condition"],
        "scenario": scenario.name if scenario is not None else None,
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def _model_time_step(model_path: str | os.PathLike[str] | None) -> float | str:
    """Return the model file's own ``TIME STEP`` (for provenance)."""
    from transfer_sim.model.facts import model_facts

    return model_facts(model_path).control.time_step


def _trajectories(problem: CalibrationProblem, x0: np.ndarray, x1: np.ndarray,
                  obs: pd.DataFrame) -> pd.DataFrame:
    final = float(max(problem.final_time, 2015.0))
    names = sorted(set(obs["output"]))
    runs = [problem.run(x, variables=names, final_time=final, saveper=0.25) for x in (x0, x1)]
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
