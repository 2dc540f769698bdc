"""One plan from a scenario to an engine run: levers + calibrated parameters + extra inputs.

Every run of the model goes through :func:`plan`: the runner, ensembles (once per
scenario, the sampled uncertainties then added run by run with :func:`with_inputs`),
calibration, attribution, the benchmarks and the tests. The order in which inputs
are applied is fixed here:

1. the scenario's levers (:func:`transfer_sim.inputs.levers.resolve`; levers not set
   keep the model's defaults, the policy as written);
2. the scenario's calibrated ``[parameters]``
   (:func:`transfer_sim.inputs.parameters.to_inputs`);
3. extra inputs (model constant -> value), such as sampled uncertainties, which
   replace anything above.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from transfer_sim.engines import RunSpec
from transfer_sim.inputs import levers as _levers
from transfer_sim.inputs import parameters as _parameters
from transfer_sim.inputs.run_settings import validate_final_year, validate_time_step
from transfer_sim.inputs.scenarios import Scenario

__all__ = ["plan", "with_inputs", "DEFAULT_SAVEPER", "RUN_TIME_STEP_MAX"]

#: Output interval [Year] of a run that does not choose one.
DEFAULT_SAVEPER = 0.25
#: Largest time step the library's run functions accept (scenario files: 0.25).
RUN_TIME_STEP_MAX = 1.0

Inputs = Mapping[str, float | np.ndarray]


def plan(scenario: Scenario | None = None, *, final_year: int | None = None,
         time_step: float | None = None, extra_inputs: Inputs | None = None,
         variables: Sequence[str] | None = None, saveper: float = DEFAULT_SAVEPER,
         model_path: str | os.PathLike[str] | None = None) -> RunSpec:
    """Turn a scenario into the engine's :class:`~transfer_sim.engines.RunSpec`.

    Parameters
    ----------
    scenario : Scenario, optional
        Levers, calibrated ``[parameters]`` and run settings; the model's defaults
        (the policy as written, the model's parameter values, 2015) when None.
    final_year : int, optional
        Last simulated year (2015-2020); the scenario's by default.
    time_step : float, optional
        Integration step [Year], a power of two up to :data:`RUN_TIME_STEP_MAX`; the
        scenario's, else the model's own.
    extra_inputs : mapping, optional
        Model constant -> value applied last (e.g. sampled uncertainties).
    variables : sequence of str, optional
        Outputs wanted; all by default.
    saveper : float
        Output interval [Year]; never finer than the time step.
    model_path : path-like, optional
        Model file whose values fill the sectors a ``[parameters]`` table leaves out.

    Returns
    -------
    RunSpec

    Raises
    ------
    InputError
        For a final year or time step that is not allowed, or lever values that do
        not fit the final year.
    """
    scenario = scenario if scenario is not None else Scenario(name="defaults")
    fy = validate_final_year(final_year if final_year is not None else scenario.final_year)
    ts = validate_time_step(time_step if time_step is not None else scenario.time_step,
                            largest=RUN_TIME_STEP_MAX)
    file = str(scenario.path) if scenario.path else None
    inputs: dict[str, Any] = _levers.resolve(scenario.levers, file=file, final_year=fy)
    params = _parameters.validate_parameters(scenario.parameters, file=file)
    inputs.update(_parameters.to_inputs(params, model_path=model_path))
    spec = RunSpec(inputs=inputs, final_time=float(fy), time_step=ts,
                   saveper=max(float(saveper), ts or 0.0),
                   variables=list(variables) if variables is not None else None)
    return with_inputs(spec, extra_inputs)


def with_inputs(spec: RunSpec, extra_inputs: Inputs | None) -> RunSpec:
    """Return ``spec`` with ``extra_inputs`` applied over its inputs (step 3 of :func:`plan`).

    Parameters
    ----------
    spec : RunSpec
        A planned run.
    extra_inputs : mapping or None
        Model constant -> value; nothing changes when empty or None.

    Returns
    -------
    RunSpec
    """
    if not extra_inputs:
        return spec
    return dataclasses.replace(spec, inputs={**spec.inputs, **extra_inputs})
