"""Scenario -> run plan -> engine -> Dataset (engine-independent)."""

from __future__ import annotations

import dataclasses
import json
import os
from collections.abc import Mapping, Sequence
from typing import Any

import xarray as xr

from transfer_sim.engines import DEFAULT_ENGINE, get_engine
from transfer_sim.errors import InputError
from transfer_sim.inputs.parameters import validate_parameters
from transfer_sim.inputs.run_settings import DEFAULT_FINAL_YEAR, FINAL_YEAR_RANGE, final_year_of
from transfer_sim.inputs.scenarios import Scenario, load_scenario, scenario_from_levers
from transfer_sim.io.formatting import jsonable
from transfer_sim.run.plan import DEFAULT_SAVEPER, plan
from transfer_sim.run.results import to_dataset

__all__ = ["run", "as_scenario", "ScenarioRef", "run_levers", "run_scenario", "compare",
           "combine", "FINAL_YEAR_RANGE", "DEFAULT_FINAL_YEAR"]


def run_levers(levers: Mapping[str, Any] | None = None, *, final_year: int = DEFAULT_FINAL_YEAR,
               engine: str = DEFAULT_ENGINE, time_step: float | None = None,
               saveper: float = DEFAULT_SAVEPER, variables: Sequence[str] | None = None,
               model_path: str | os.PathLike[str] | None = None,
               attrs: Mapping[str, Any] | None = None,
               parameters: Mapping[str, float] | None = None) -> xr.Dataset:
    """Run the model with lever values and return a Dataset.

    Every run starts from the model's own defaults (the policy as written) with the
    given levers applied; nothing carries over from an earlier run.

    Parameters
    ----------
    levers : mapping, optional
        Lever name -> value (see :mod:`transfer_sim.inputs.levers`).
    final_year : int
        Last simulated year, 2015-2020.
    engine : {"simlin", "pysd", "batch"}
        Engine to use.
    time_step : float, optional
        Integration step [Year]; the model's own by default.
    saveper : float
        Output interval [Year]; never finer than the time step.
    variables : sequence of str, optional
        Python names of the outputs wanted; all by default.
    model_path : path-like, optional
        Model file; the bundled model by default.
    attrs : mapping, optional
        Extra provenance attributes.
    parameters : mapping, optional
        Calibrated parameter name -> value (see :mod:`transfer_sim.inputs.parameters`);
        the model's values otherwise.

    Returns
    -------
    xarray.Dataset
        Dims ``time`` and ``sector``; units and long names on every variable;
        provenance (model hash, versions, engine, levers) in ``attrs``.
    """
    scenario = Scenario(name="run", levers=dict(levers or {}),
                        parameters=dict(parameters or {}), final_year=final_year,
                        time_step=time_step)
    return _run(scenario, engine=engine, saveper=saveper, variables=variables,
                model_path=model_path, attrs=attrs)


def _run(scenario: Scenario, *, engine: str, saveper: float = DEFAULT_SAVEPER,
         variables: Sequence[str] | None, model_path: str | os.PathLike[str] | None,
         attrs: Mapping[str, Any] | None) -> xr.Dataset:
    """Plan ``scenario``, run it on ``engine`` and return the Dataset with provenance."""
    spec = plan(scenario, saveper=saveper, variables=variables, model_path=model_path)
    eng = get_engine(engine, model_path)
    raw = eng.run(spec)
    meta: dict[str, Any] = {
        "engine": eng.name, "engine_version": eng.version,
        "engine_backend": eng.backend,
        "levers": json.dumps(jsonable(dict(scenario.levers)), ensure_ascii=False),
        "final_year": final_year_of(spec.final_time)}
    if spec.time_step is not None:
        meta["time_step"] = float(spec.time_step)
    if scenario.parameters:
        meta["parameters"] = json.dumps(validate_parameters(scenario.parameters))
    meta.update(attrs or {})
    return to_dataset(raw, model_path=model_path, attrs=meta)


#: What :func:`run` and :func:`compare` accept as a scenario.
ScenarioRef = str | os.PathLike[str] | Scenario | Mapping[str, Any]


def as_scenario(ref: ScenarioRef | None) -> Scenario:
    """Return the scenario a user means by ``ref``.

    Parameters
    ----------
    ref : str, path-like, Scenario, mapping or None
        A bundled scenario's name (``"policy-as-written"``), a path to a ``.toml`` file,
        a :class:`~transfer_sim.inputs.scenarios.Scenario`, or lever name -> value (on
        top of the model's defaults, the policy as written); None for the defaults.

    Raises
    ------
    InputError
        For anything else, or a scenario that does not load.

    Examples
    --------
    >>> as_scenario({"special_fund": 50}).levers["special_fund"]
    50.0
    """
    if ref is None:
        return scenario_from_levers("defaults", {})
    if isinstance(ref, Scenario):
        return ref
    if isinstance(ref, str | os.PathLike):
        return load_scenario(ref)
    if isinstance(ref, Mapping):
        return scenario_from_levers("levers", ref)
    raise InputError(f"cannot run a {type(ref).__name__}; allowed: a scenario name, a path to "
                     "a .toml file, a Scenario or a mapping of lever values", key="scenario")


def run(scenario: ScenarioRef | None = None, **options: Any) -> xr.Dataset:
    """Run one scenario, given the way a user has it in hand.

    Parameters
    ----------
    scenario : str, path-like, Scenario, mapping or None
        See :func:`as_scenario`.
    **options
        ``engine``, ``final_year``, ``time_step``, ``variables``, ``model_path`` (as
        :func:`run_scenario`).

    Returns
    -------
    xarray.Dataset
        As :func:`run_levers`.
    """
    return run_scenario(as_scenario(scenario), **options)


def combine(datasets: Mapping[str, xr.Dataset]) -> xr.Dataset:
    """Stack per-scenario Datasets along a new ``scenario`` dim.

    Per-run provenance (levers, scenario file and hash) moves into
    ``scenario_*`` attributes holding JSON objects keyed by scenario.
    """
    if not datasets:
        raise InputError("no scenarios to combine", key="scenario")
    names = list(datasets)
    per_run_keys = ("levers", "parameters", "scenario_file", "scenario_sha256",
                    "scenario_description", "final_year", "time_step")
    per = {k: {n: datasets[n].attrs.get(k) for n in names} for k in per_run_keys}
    stripped = []
    for n in names:
        ds = datasets[n].copy()
        for k in per_run_keys:
            ds.attrs.pop(k, None)
        stripped.append(ds)
    out = xr.concat(stripped, dim=xr.DataArray(names, dims="scenario", name="scenario"),
                    combine_attrs="override", join="outer")
    out["scenario"].attrs["long_name"] = "scenario"
    out.attrs.pop("scenario", None)
    for k, mapping in per.items():
        if any(v is not None for v in mapping.values()):
            out.attrs[f"scenario_{k}" if not k.startswith("scenario_") else k] = json.dumps(
                {n: _maybe_json(v) for n, v in mapping.items()}, ensure_ascii=False)
    return out


def _maybe_json(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


def run_scenario(scenario: Scenario, *, engine: str = DEFAULT_ENGINE,
                 final_year: int | None = None, time_step: float | None = None,
                 variables: Sequence[str] | None = None,
                 model_path: str | os.PathLike[str] | None = None) -> xr.Dataset:
    """Run one :class:`~transfer_sim.inputs.scenarios.Scenario`.

    Parameters
    ----------
    scenario : Scenario
        A loaded scenario.
    engine : {"simlin", "pysd", "batch"}
        Engine to use.
    final_year, time_step : optional
        Override the scenario's run settings.
    variables : sequence of str, optional
        Outputs wanted; all by default.
    model_path : path-like, optional
        Model file; the bundled model by default.
    """
    changes: dict[str, Any] = {}
    if final_year is not None:
        changes["final_year"] = final_year
    if time_step is not None:
        changes["time_step"] = time_step
    run_as = dataclasses.replace(scenario, **changes) if changes else scenario
    return _run(run_as, engine=engine, variables=variables, model_path=model_path,
                attrs=scenario.provenance())


def compare(scenarios: Sequence[ScenarioRef], *, engine: str = DEFAULT_ENGINE,
            final_year: int | None = None, variables: Sequence[str] | None = None,
            model_path: str | os.PathLike[str] | None = None) -> xr.Dataset:
    """Run several scenarios and stack them along a ``scenario`` dim.

    All scenarios run to the same final year: the given one, else the latest any
    scenario asks for. Each scenario may be given as :func:`as_scenario` takes it.
    """
    scenarios = [as_scenario(s) for s in scenarios]
    names = [s.name for s in scenarios]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"scenario names must be unique; repeated: {', '.join(dupes)}",
                         key="name")
    fy = final_year if final_year is not None else max(s.final_year for s in scenarios)
    runs = {s.name: run_scenario(s, engine=engine, final_year=fy, variables=variables,
                                 model_path=model_path) for s in scenarios}
    return combine(runs)
