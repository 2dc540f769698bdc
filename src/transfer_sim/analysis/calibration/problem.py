"""The calibration problem: model values over the observed periods, and the payoff.

:class:`CalibrationProblem` turns parameter values into model values over the periods
the observations cover (one run of the fast engine, planned by
:func:`transfer_sim.run.plan.plan`): for a flow the amount over the period, the
difference of the rate's cumulative stock between the period's end and start (or the
rate integrated over the period where the model has no cumulative stock); for a stock
its value at the period's end. The payoff is: the sum of weighted squared relative errors,
``sum(((model - observed) / observed / sigma)**2)``, where ``sigma`` is the relative
standard error :data:`~transfer_sim.analysis.calibration.observed.CONFIDENCE_SIGMA`
assumes for the observation's confidence.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from transfer_sim.analysis.calibration.observed import SECTOR_TOTAL
from transfer_sim.analysis.periods import cumulative_name
from transfer_sim.engines import DEFAULT_ENGINE, RawResult, RunSpec, get_engine
from transfer_sim.errors import InputError, ModelError
from transfer_sim.inputs import parameters as _parameters
from transfer_sim.inputs.scenarios import Scenario
from transfer_sim.model.core import SECTORS, YEARS
from transfer_sim.model.facts import model_facts
from transfer_sim.run.plan import DEFAULT_SAVEPER, plan, with_inputs

__all__ = ["CalibrationProblem", "BAD_RESIDUAL"]


def _reading(output: str, kind: str, model_path: str | os.PathLike[str] | None
             ) -> tuple[str, bool]:
    """Return the model output to read for an observation, and whether it is cumulative."""
    if kind == "flow":
        cum = cumulative_name(output)
        if cum in model_facts(model_path).outputs:
            return cum, True
    return output, False

#: Residual used where the model gives no finite value (an unusable parameter set).
BAD_RESIDUAL = 1e6


@dataclass
class CalibrationProblem:
    """Model values at the observed years, and the payoff, as functions of parameters.

    Parameters
    ----------
    observed : pandas.DataFrame
        Checked observations (:func:`~transfer_sim.analysis.calibration.load_observed` or
        :func:`~transfer_sim.analysis.calibration.check_observed`).
    names : sequence of str
        Parameters to vary (registry names, see :mod:`transfer_sim.inputs.parameters`).
    start : mapping, optional
        Values of every calibrated parameter before fitting; the model's own values
        (overridden by ``scenario.parameters``) by default.
    scenario : Scenario, optional
        Lever values (and calibrated parameters) of the historical run; the model's
        defaults (the policy as written) by default.
    engine : {"simlin", "pysd", "batch"}
        Engine; the fast one by default.
    time_step : float, optional
        Integration step [Year]; the scenario's, else the model's own.
    model_path : path-like, optional
        Model file; the bundled model by default.
    """

    observed: pd.DataFrame
    names: Sequence[str]
    start: Mapping[str, float] | None = None
    scenario: Scenario | None = None
    engine: str = DEFAULT_ENGINE
    time_step: float | None = None
    model_path: str | os.PathLike[str] | None = None
    evaluations: int = field(default=0, init=False)

    def __post_init__(self) -> None:
        self.names = _parameters.expand_names(self.names)
        if not self.names:
            raise InputError("no parameters to fit", key="parameters")
        base = _parameters.model_values(self.model_path)
        base.update(self.scenario.parameters if self.scenario is not None else {})
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
        self._reads = [_reading(name, kind, self.model_path) for name, kind in
                       zip(self.observed["output"], self.observed["reading"], strict=True)]
        self._outputs = sorted({r for r, _ in self._reads})
        # Year boundaries are saved exactly at yearly saves; other period ends need the
        # model's own steps (linear between saved times is then exact to the Euler scheme).
        periods = self.observed[["start", "end"]].to_numpy(dtype=float)
        yearly = bool(np.all(np.isclose(periods, np.round(periods))))
        integrate = any(not cum for _, cum in self._reads)
        # The scenario's levers (and parameters, replaced run by run) with its time step.
        self._plan = plan(self.scenario, time_step=self.time_step, variables=self._outputs,
                          saveper=1.0, model_path=self.model_path)
        self.time_step = self._plan.time_step
        self._saveper = 1.0 if yearly and not integrate else self._plan.times(
            model_facts(self.model_path))[1]
        self._engine = get_engine(self.engine, self.model_path)
        self._periods = periods
        self._obs = self.observed["value"].to_numpy(dtype=float)
        self._sigma = self.observed["sigma"].to_numpy(dtype=float)
        self.final_time = float(max(periods[:, 1].max(), YEARS[0] + 1))
        if self.exact_jacobian and self._saveper == 1.0:
            # The batch engine compiles once per time grid: read the years from the
            # scenario's own grid (quarterly saves hold every year's end exactly).
            self._saveper = DEFAULT_SAVEPER
            self.final_time = max(self.final_time, float(self._plan.final_time))

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
    def _spec(self, x: np.ndarray, variables: Sequence[str] | None = None,
              final_time: float | None = None, saveper: float | None = None) -> RunSpec:
        """Return the run of the fitted parameters at ``x`` (see :meth:`run`)."""
        params = _parameters.to_inputs(self.values(x), model_path=self.model_path)
        return dataclasses.replace(
            with_inputs(self._plan, params), final_time=final_time or self.final_time,
            saveper=max(saveper or self._saveper, self.time_step or 0.0),
            variables=list(variables) if variables is not None else self._outputs)

    def run(self, x: np.ndarray, *, variables: Sequence[str] | None = None,
            final_time: float | None = None, saveper: float | None = None) -> RawResult:
        """Run the model with the fitted parameters at ``x``; return the raw result.

        The run is the scenario's plan with every calibrated parameter set to
        :meth:`values` of ``x``, ending at the last observed year (or ``final_time``).
        """
        self.evaluations += 1
        return self._engine.run(self._spec(x, variables, final_time, saveper))

    def _observe(self, time: np.ndarray, data: Mapping[str, np.ndarray]) -> np.ndarray:
        """Read each observation's model value from series (linear in the series)."""
        out = np.empty(len(self.observed))
        for i, ((read, cumulative), element, (start, end)) in enumerate(zip(
                self._reads, self.observed["element"], self._periods, strict=True)):
            series = data[read]
            if element == SECTOR_TOTAL:
                series = series.sum(axis=1)
            elif element:
                series = series[:, SECTORS.index(element)]
            if self.observed["reading"].iat[i] == "stock":
                out[i] = np.interp(end, time, series)
            elif cumulative:
                out[i] = np.interp(end, time, series) - np.interp(start, time, series)
            else:
                inside = (time > start) & (time < end)
                grid = np.concatenate([[start], time[inside], [end]])
                out[i] = np.trapezoid(np.interp(grid, time, series), grid)
        return out

    def simulate(self, x: np.ndarray) -> np.ndarray:
        """Return the model's value for each observation (same order as ``observed``)."""
        raw = self.run(x)
        return self._observe(raw.time, raw.data)

    @property
    def exact_jacobian(self) -> bool:
        """Whether the engine gives exact derivatives (the ``batch`` engine)."""
        return hasattr(self._engine, "derivatives")

    def jacobian(self, x: np.ndarray) -> np.ndarray:
        """Return the exact Jacobian of :meth:`residuals` at ``x``, in parameter units.

        Forward-mode derivatives of every series through the compiled model
        (:meth:`transfer_sim.engines.batch.engine.BatchEngine.derivatives`), read out
        as the observations are (the readout is linear). Rows where the residual is
        replaced by :data:`BAD_RESIDUAL` are zero.

        Raises
        ------
        ModelError
            When the engine gives no derivatives (see :attr:`exact_jacobian`).
        """
        if not self.exact_jacobian:
            raise ModelError(f"the {self.engine} engine gives no derivatives; use 'batch'")
        wrt = [_parameters.get_parameter(n) for n in self.names]
        labels = [p.variable if p.element is None else f"{p.variable}[{p.element}]"
                  for p in wrt]
        got = self._engine.derivatives(self._spec(x), labels)
        self.evaluations += 1
        sim = self._observe(got.time, got.values)
        jac = np.column_stack([
            self._observe(got.time, {k: v[j] for k, v in got.tangents.items()})
            for j in range(len(labels))])
        jac = jac / (self._obs * self._sigma)[:, None]
        bad = ~np.isfinite((sim - self._obs) / self._obs / self._sigma)
        jac[bad] = 0.0
        return jac

    def residuals(self, x: np.ndarray) -> np.ndarray:
        """Weighted relative errors ``(model - observed) / observed / sigma``."""
        try:
            sim = self.simulate(x)
        except ModelError:
            return np.full(len(self._obs), BAD_RESIDUAL)
        return self._weighted(sim)

    def _weighted(self, sim: np.ndarray) -> np.ndarray:
        r = (sim - self._obs) / self._obs / self._sigma
        return np.where(np.isfinite(r), r, BAD_RESIDUAL)

    def residuals_many(self, xs: np.ndarray) -> np.ndarray:
        """Return :meth:`residuals` for each row of ``xs`` from one ``run_batch`` call.

        Parameters
        ----------
        xs : numpy.ndarray
            Shape ``(m, len(names))``.

        Returns
        -------
        numpy.ndarray
            Shape ``(m, len(observed))``.
        """
        xs = np.atleast_2d(np.asarray(xs, dtype=float))
        try:
            batch = self._engine.run_batch([self._spec(x) for x in xs])
        except ModelError:
            return np.vstack([self.residuals(x) for x in xs])
        self.evaluations += len(xs)
        return np.vstack([self._weighted(self._observe(batch.time, batch.run(i).data))
                          for i in range(len(xs))])

    def payoff(self, x: np.ndarray) -> float:
        """Sum of weighted squared relative errors at ``x`` (smaller is better)."""
        r = self.residuals(x)
        return float(r @ r)
