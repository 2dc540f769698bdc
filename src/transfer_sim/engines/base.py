"""The engine interface: model inputs in, raw series out (one run, or a batch of runs)."""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from transfer_sim.errors import InputError, ModelError
from transfer_sim.io.versions import package_version
from transfer_sim.model.core import model_file
from transfer_sim.model.facts import CONTROL_VARIABLES, ModelFacts, model_facts, output_names

__all__ = ["Engine", "FactsEngine", "RawResult", "BatchResult", "RunSpec", "ArrayInput",
           "output_variables", "subscript_elements", "expand_inputs", "flat_overrides",
           "check_batch", "CONTROL_VARIABLES"]


@dataclass(frozen=True)
class RunSpec:
    """What to run.

    Parameters
    ----------
    inputs : mapping
        Model constant (Python name) -> float, or an array over the constant's
        one subscript range (``Year`` or ``Sector``).
    final_time : float, optional
        Last simulated year; the model's own ``FINAL TIME`` by default.
    time_step : float, optional
        Integration step; the model's own by default.
    saveper : float, optional
        Output interval in years; the model's own ``SAVEPER`` by default.
    variables : sequence of str, optional
        Python names to return; every output variable by default.
    """

    inputs: Mapping[str, float | np.ndarray] = field(default_factory=dict)
    final_time: float | None = None
    time_step: float | None = None
    saveper: float | None = None
    variables: Sequence[str] | None = None

    def times(self, facts: ModelFacts) -> tuple[float, float, float]:
        """Return ``(final time, time step, save interval)``, the model's where not given."""
        control = facts.control
        return (float(control.final_time if self.final_time is None else self.final_time),
                float(control.time_step if self.time_step is None else self.time_step),
                float(control.saveper if self.saveper is None else self.saveper))


@dataclass
class RawResult:
    """Series returned by an engine.

    Attributes
    ----------
    time : numpy.ndarray
        Output times, shape ``(n,)``.
    data : dict
        Python name -> array of shape ``(n,)`` or ``(n, len(SECTORS))``.
    """

    time: np.ndarray
    data: dict[str, np.ndarray]


@dataclass
class BatchResult:
    """Series of many runs, as returned by ``Engine.run_batch``.

    Attributes
    ----------
    time : numpy.ndarray
        Output times, shape ``(t,)`` (the same for every run of the batch).
    data : dict
        Python name -> array of shape ``(runs, t)`` or ``(runs, t, len(SECTORS))``.
    """

    time: np.ndarray
    data: dict[str, np.ndarray]

    @property
    def runs(self) -> int:
        """Number of runs."""
        return next(iter(self.data.values())).shape[0] if self.data else 0

    def run(self, i: int) -> RawResult:
        """Return run ``i`` alone."""
        return RawResult(time=self.time, data={k: v[i] for k, v in self.data.items()})

    @classmethod
    def stack(cls, results: Sequence[RawResult]) -> BatchResult:
        """Stack single runs of the same times and variables into a batch."""
        if not results:
            raise ModelError("a batch needs at least one run")
        time = results[0].time
        for r in results[1:]:
            if r.time.shape != time.shape or not np.array_equal(r.time, time):
                raise ModelError("the runs of a batch must share their output times")
        return cls(time=time, data={k: np.stack([r.data[k] for r in results])
                                    for k in results[0].data})


class Engine(Protocol):
    """A backend that runs ``model/transfer.mdl``.

    Attributes
    ----------
    name : str
        Registry name (``"simlin"``, ``"pysd"``).
    backend : str
        How it runs the model (``"wasm"`` or ``"vm"`` for Simlin, ``"pysd"``).
    """

    name: str
    backend: str

    @property
    def version(self) -> str:
        """Version string of the engine package."""
        ...

    @property
    def default_time_step(self) -> float:
        """The model's own ``TIME STEP`` (used when a run gives none)."""
        ...

    def run(self, spec: RunSpec) -> RawResult:
        """Run the model once."""
        ...

    def run_batch(self, specs: Sequence[RunSpec]) -> BatchResult:
        """Run the model once per spec (same times and variables); runs x time x output."""
        ...


class FactsEngine:
    """What both engines share: the model file, its facts and the package version.

    Parameters
    ----------
    model_path : path-like, default: the bundled model
        The ``.mdl`` to run (an empty string also means the bundled model).
    """

    #: The distribution that runs the model; its installed version is :attr:`version`.
    distribution: str = ""

    def __init__(self, model_path: str | os.PathLike[str] | None = None):
        self.model_path = model_file(model_path or None)
        self._facts = model_facts(self.model_path)
        self._outputs = list(self._facts.outputs)

    @property
    def version(self) -> str:
        """Installed version of :attr:`distribution` (``pysd``, ``pysimlin``)."""
        return package_version(self.distribution)

    @property
    def default_time_step(self) -> float:
        """The model's own ``TIME STEP`` (from the model facts)."""
        return self._facts.control.time_step

    def run(self, spec: RunSpec) -> RawResult:  # pragma: no cover - each engine has its own
        """Run the model once."""
        raise NotImplementedError

    def run_batch(self, specs: Sequence[RunSpec]) -> BatchResult:
        """Run the model once per spec, one after the other.

        Engines that advance many runs at once (``batch``) override this.

        Parameters
        ----------
        specs : sequence of RunSpec
            Runs with the same times and variables.

        Returns
        -------
        BatchResult
            ``data[name]`` of shape ``(runs, t)`` or ``(runs, t, sectors)``.
        """
        check_batch(specs)
        return BatchResult.stack([self.run(s) for s in specs])


@dataclass(frozen=True)
class ArrayInput:
    """A subscripted input, checked against the model.

    Attributes
    ----------
    dim : str
        The constant's subscript range.
    elements : tuple of str
        Its elements, in model order.
    values : numpy.ndarray
        One float per element.
    """

    dim: str
    elements: tuple[str, ...]
    values: np.ndarray


def check_batch(specs: Sequence[RunSpec]) -> None:
    """Check that the runs of a batch share their times and variables.

    Raises
    ------
    ModelError
        For an empty batch or runs that differ in times or variables.
    """
    if not specs:
        raise ModelError("a batch needs at least one run")
    first = specs[0]
    for s in specs[1:]:
        if (s.final_time, s.time_step, s.saveper) != (first.final_time, first.time_step,
                                                       first.saveper):
            raise ModelError("the runs of a batch must share final time, time step and "
                             "save interval")
        if (None if s.variables is None else tuple(s.variables)) != (
                None if first.variables is None else tuple(first.variables)):
            raise ModelError("the runs of a batch must ask for the same variables")


def output_variables(catalogue: pd.DataFrame | None = None) -> list[str]:
    """Return the Python names of the model's output variables.

    Stocks and auxiliaries (flows included) that are scalar or subscripted by
    ``Sector``; constants, lookups, ``Year``-subscripted helpers and the control
    variables are left out.

    Parameters
    ----------
    catalogue : pandas.DataFrame, optional
        A catalogue (:func:`transfer_sim.model.catalogue`); the bundled model's
        facts by default.
    """
    if catalogue is None:
        return list(model_facts().outputs)
    return output_names(zip(catalogue.index, catalogue["Type"], catalogue["Subscripts"],
                            strict=True))


def subscript_elements(facts: ModelFacts, name: str) -> tuple[str, ...]:
    """Return the elements of a constant subscripted by one range.

    Parameters
    ----------
    facts : ModelFacts
        The model's facts.
    name : str
        Python name of a constant subscripted by one range (``Year`` or ``Sector``).

    Raises
    ------
    InputError
        For an unknown name or a constant that is not subscripted by one range.
    """
    if name not in facts.variables:
        raise InputError("not a model constant", key=name)
    subs = facts.variables[name].subscripts
    if len(subs) != 1:
        raise InputError(f"cannot set a constant subscripted by {subs or 'nothing'} with an "
                         "array", key=name)
    return facts.subscripts[subs[0]]


def expand_inputs(facts: ModelFacts,
                  inputs: Mapping[str, float | np.ndarray]) -> dict[str, float | ArrayInput]:
    """Check engine inputs against the model: scalars as floats, arrays by element.

    Raises
    ------
    InputError
        For an array given to an unknown or not singly subscripted constant.
    ModelError
        For an array of the wrong length.
    """
    out: dict[str, float | ArrayInput] = {}
    for name, value in inputs.items():
        if np.ndim(value) == 0:
            out[name] = float(value)
            continue
        elements = subscript_elements(facts, name)
        values = np.asarray(value, dtype=float)
        if values.shape != (len(elements),):
            raise ModelError(f"{name}: expected {len(elements)} values, got {values.shape}")
        out[name] = ArrayInput(facts.variables[name].subscripts[0], elements, values)
    return out


def flat_overrides(facts: ModelFacts,
                   inputs: Mapping[str, float | np.ndarray]) -> dict[str, float]:
    """Return inputs as one float per element: ``name`` or ``name[element]`` -> value."""
    out: dict[str, float] = {}
    for name, value in expand_inputs(facts, inputs).items():
        if isinstance(value, ArrayInput):
            out.update({f"{name}[{e}]": float(v)
                        for e, v in zip(value.elements, value.values, strict=True)})
        else:
            out[name] = value
    return out
