"""The engine interface: model inputs in, raw series out."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np
import pandas as pd

from transfer_sim.model.core import SECTORS, YEARS

__all__ = ["Engine", "RawResult", "RunSpec", "output_variables", "CONTROL_VARIABLES"]

#: Model constants that describe the simulation, not the system.
CONTROL_VARIABLES = frozenset({"time", "final_time", "initial_time", "saveper", "time_step"})


@dataclass(frozen=True)
class RunSpec:
    """What to run.

    Parameters
    ----------
    inputs : mapping
        Model constant (Python name) -> float, or an array over ``YEARS``.
    final_time : float
        Last simulated year.
    time_step : float, optional
        Integration step; the model's own by default.
    saveper : float
        Output interval in years.
    variables : sequence of str, optional
        Python names to return; every output variable by default.
    """

    inputs: Mapping[str, float | np.ndarray] = field(default_factory=dict)
    final_time: float = 2015.0
    time_step: float | None = None
    saveper: float = 0.25
    variables: Sequence[str] | None = None


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


class Engine(Protocol):
    """A backend that runs ``model/transfer.mdl``."""

    name: str

    @property
    def version(self) -> str:
        """Version string of the engine package."""
        ...

    def run(self, spec: RunSpec) -> RawResult:
        """Run the model once."""
        ...


def output_variables(catalogue: pd.DataFrame) -> list[str]:
    """Return the Python names of the model's output variables.

    Stocks and auxiliaries (flows included) that are scalar or subscripted by
    ``Sector``; constants, lookups, ``Year``-subscripted helpers and the control
    variables are left out.
    """
    keep = catalogue["Type"].isin(["Auxiliary", "Stateful"]) & catalogue["Subscripts"].apply(
        lambda s: tuple(s) in ((), ("Sector",))
    )
    names = [n for n in catalogue.index[keep] if n not in CONTROL_VARIABLES]
    return sorted(names)


def year_elements() -> list[str]:
    """Return the ``Year`` subscript's element names (``y2005`` ... ``y2020``)."""
    return [f"y{y}" for y in YEARS]


def subscript_elements(catalogue: pd.DataFrame, name: str) -> list[str]:
    """Return the elements of a one-dimensional subscripted constant.

    Parameters
    ----------
    catalogue : pandas.DataFrame
        The model catalogue (:func:`transfer_sim.model.catalogue`).
    name : str
        Python name of a constant subscripted by ``Year`` or ``Sector``.

    Raises
    ------
    InputError
        For an unknown name or a constant that is not subscripted by one range.
    """
    from transfer_sim.errors import InputError

    if name not in catalogue.index:
        raise InputError("not a model constant", key=name)
    subs = tuple(catalogue.at[name, "Subscripts"])
    if subs == ("Year",):
        return year_elements()
    if subs == ("Sector",):
        return list(SECTORS)
    raise InputError(f"cannot set a constant subscripted by {subs or 'nothing'} with an "
                     "array", key=name)


def sector_count() -> int:
    """Return the number of sectors."""
    return len(SECTORS)
