"""The calibrated-parameter registry: model constants fitted to historical data.

Levers are what a policy maker chooses (:mod:`transfer_sim.inputs.levers`); calibrated
parameters are what the model does not know and the data should tell: the
constants ``model/transfer.mdl`` labels *Calibrated* in their comments. Each entry
names the constant (and, for a ``Sector``-subscripted constant, the element), its
unit and the bounds a calibration searches within.

The bounds are assumptions, wide enough to hold every plausible value and narrow
enough to keep the model in the regime its formulations were written for; each
entry's ``description`` says why.

A scenario file sets calibrated parameters in a ``[parameters]`` table::

    [parameters]
    cost_elasticity = 3.2
    reinvestment_rate = { chemicals = 0.21, agrifood = 0.19 }

Elements not given keep the model's values.
"""

from __future__ import annotations

import difflib
import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from transfer_sim.errors import InputError
from transfer_sim.model.core import SECTORS
from transfer_sim.model.facts import model_facts

__all__ = [
    "Parameter",
    "PARAMETERS",
    "parameter_names",
    "get_parameter",
    "expand_names",
    "validate_parameters",
    "model_values",
    "to_inputs",
    "nested",
]


@dataclass(frozen=True)
class Parameter:
    """A calibrated model constant (one element of it, if subscripted).

    Parameters
    ----------
    name : str
        Name in scenario files and results: the constant's Python name, with
        ``[element]`` for a ``Sector``-subscripted constant.
    variable : str
        Python name of the model constant.
    element : str or None
        ``Sector`` element, or ``None`` for a scalar constant.
    unit : str
        Unit as written in the model file.
    bounds : tuple of float
        Inclusive ``(min, max)`` a calibration searches within (an assumption).
    description : str
        What the constant means and why the bounds are what they are.
    """

    name: str
    variable: str
    element: str | None
    unit: str
    bounds: tuple[float, float]
    description: str


_REINVESTMENT = (
    "Yearly reinvestment per 亿元 of operating assets in {sector}. Bounds 0.05-0.40 /yr: "
    "with the 15-year asset life (retirement 0.067 /yr) net asset growth runs from "
    "-1.7 % to +33 % a year, which brackets the region's c. 25 % a year industrial "
    "growth 2005-2010."
)

_SCALARS = (
    Parameter("competitor_attractiveness", "competitor_attractiveness", None, "Dmnl", (0.5, 30.0),
              "Attractiveness of all other destinations taken together. Bounds 0.5-30: at "
              "cost parity the region's logit share of relocating investment runs from "
              "about 2/3 down to 3 %."),
    Parameter("cost_elasticity", "cost_elasticity", None, "Dmnl", (0.5, 10.0),
              "Elasticity of the region's attractiveness to its relative unit cost. "
              "Bounds 0.5-10: from a weak cost response to one where a 10 % cost "
              "advantage more than doubles attractiveness."),
    Parameter("productivity_growth", "productivity_growth", None, "1/Year", (0.0, 0.25),
              "Growth of real labour productivity (output at 2005 prices per worker). Bounds "
              "0-25 % a year: from no growth to the fastest revenue growth observed. No "
              "employment series exists to fit it (it moves only T4 and employment)."),
    Parameter("investment_sensitivity", "investment_sensitivity", None, "Dmnl", (0.5, 8.0),
              "Steepness of investment's response to expected profitability. Bounds 0.5-8: "
              "from investment that barely reacts to margins to one that halves when the "
              "profit rate falls by a quarter."),
    Parameter("zone_establishment", "zone_establishment", None, "park/Year", (0.0, 8.0),
              "New development zones a year. Bounds 0-8: from none to twice the pace that "
              "takes the assumed 83 zones of 2005 past the 116 of 2015."),
    Parameter("baseline_region_upgrade_time", "baseline_region_upgrade_time", None, "Year",
              (2.0, 30.0), "Time from passing 50 亿元 to region-level approval without P10. "
              "Bounds 2-30 years: from a fast track to a rare upgrade."),
    Parameter("baseline_state_upgrade_time", "baseline_state_upgrade_time", None, "Year",
              (4.0, 60.0), "Time from passing 100 亿元 to State-Council approval without P10 "
              "(national quotas). Bounds 4-60 years."),
)

#: Every calibrated parameter, scalars first, then ``reinvestment_rate`` per sector.
PARAMETERS: tuple[Parameter, ...] = _SCALARS + tuple(
    Parameter(f"reinvestment_rate[{s}]", "reinvestment_rate", s, "1/Year", (0.05, 0.40),
              _REINVESTMENT.format(sector=s))
    for s in SECTORS
)

_BY_NAME = {p.name: p for p in PARAMETERS}
_VARIABLES = {p.variable for p in PARAMETERS}
_SUBSCRIPTED = {p.variable for p in PARAMETERS if p.element is not None}


def parameter_names() -> list[str]:
    """Return every calibrated parameter's name, in registry order."""
    return [p.name for p in PARAMETERS]


def get_parameter(name: str, *, file: str | None = None) -> Parameter:
    """Return the registry entry for ``name``.

    Parameters
    ----------
    name : str
        A registry name: a scalar constant, or ``reinvestment_rate[<sector>]``.
    file : str, optional
        File that named it, for the message.

    Raises
    ------
    InputError
        For a name that is not a calibrated parameter (with the closest names).
    """
    if name in _BY_NAME:
        return _BY_NAME[name]
    close = difflib.get_close_matches(name, list(_BY_NAME) + sorted(_VARIABLES), n=3)
    hint = f" (did you mean {', '.join(close)}?)" if close else ""
    allowed = ", ".join(sorted(_VARIABLES))
    raise InputError(f"not a calibrated parameter{hint}; allowed: {allowed} "
                     f"(reinvestment_rate per sector: {', '.join(SECTORS)})", file=file, key=name)


def expand_names(names: Iterable[str], *, file: str | None = None) -> list[str]:
    """Expand names to registry names: a subscripted constant alone means every element.

    Parameters
    ----------
    names : iterable of str
        Registry names (``reinvestment_rate[chemicals]``) or constant names
        (``reinvestment_rate``, meaning all seven sectors).
    file : str, optional
        Where the names came from (for error messages).

    Returns
    -------
    list of str
        Registry names in registry order, without repeats.
    """
    wanted: set[str] = set()
    for name in names:
        if name in _BY_NAME:
            wanted.add(name)
        elif name in _VARIABLES:
            wanted.update(p.name for p in PARAMETERS if p.variable == name)
        else:
            get_parameter(name, file=file)
    return [p.name for p in PARAMETERS if p.name in wanted]


def _number(param: Parameter, value: Any, file: str | None) -> float:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not math.isfinite(float(value)):
        raise InputError(f"expected a number in [{param.unit}], got {value!r}", file=file,
                         key=param.name)
    lo, hi = param.bounds
    if not lo <= float(value) <= hi:
        raise InputError(f"{value!r} is outside the calibration bounds {lo:g} to {hi:g} "
                         f"[{param.unit}]", file=file, key=param.name)
    return float(value)


def validate_parameters(table: Mapping[str, Any] | None, *,
                        file: str | None = None) -> dict[str, float]:
    """Validate a ``[parameters]`` table and flatten it to registry names.

    Parameters
    ----------
    table : mapping
        Constant name -> number, or for ``reinvestment_rate`` a mapping of sector
        -> number; registry names such as ``"reinvestment_rate[chemicals]"`` are
        accepted as keys too.
    file : str, optional
        File the table came from (for error messages).

    Returns
    -------
    dict
        Registry name -> value, in registry order.

    Raises
    ------
    InputError
        For unknown names or sectors, non-numbers and values outside the bounds.
    """
    out: dict[str, float] = {}
    for key, value in (table or {}).items():
        if isinstance(value, Mapping):
            if key not in _SUBSCRIPTED:
                if key in _VARIABLES:
                    raise InputError("expected a number, not a table", file=file, key=key)
                get_parameter(key, file=file)
            for element, v in value.items():
                name = f"{key}[{element}]"
                if name not in _BY_NAME:
                    raise InputError(f"unknown sector {element!r}; allowed: "
                                     f"{', '.join(SECTORS)}", file=file, key=name)
                out[name] = _number(_BY_NAME[name], v, file)
            continue
        if key in _SUBSCRIPTED:
            raise InputError(f"set per sector, e.g. {key} = {{ {SECTORS[0]} = 0.2 }}",
                             file=file, key=key)
        out[key] = _number(get_parameter(key, file=file), value, file)
    return {p.name: out[p.name] for p in PARAMETERS if p.name in out}


def nested(values: Mapping[str, float]) -> dict[str, float | dict[str, float]]:
    """Group registry names into the ``[parameters]`` table shape.

    ``{"reinvestment_rate[chemicals]": 0.2}`` becomes
    ``{"reinvestment_rate": {"chemicals": 0.2}}``; scalars stay as they are.
    """
    out: dict[str, float | dict[str, float]] = {}
    per_sector: dict[str, dict[str, float]] = {}
    for name, value in values.items():
        p = get_parameter(name)
        if p.element is None:
            out[p.variable] = float(value)
        else:
            if p.variable not in per_sector:
                per_sector[p.variable] = {}
                out[p.variable] = per_sector[p.variable]
            per_sector[p.variable][p.element] = float(value)
    return out


def model_values(model_path: str | os.PathLike[str] | None = None) -> dict[str, float]:
    """Return the model file's own value of every calibrated parameter.

    Parameters
    ----------
    model_path : path-like, optional
        Model file; the bundled model by default.

    Returns
    -------
    dict
        Registry name -> value, read from the model facts
        (:func:`transfer_sim.model.facts.model_facts`), so it cannot drift from the
        ``.mdl``.
    """
    facts = model_facts(model_path)
    return {p.name: float(facts.value(p.variable, p.element)) for p in PARAMETERS}


def to_inputs(values: Mapping[str, float], *,
              model_path: str | os.PathLike[str] | None = None) -> dict[str, float | np.ndarray]:
    """Turn parameter values into engine inputs.

    Parameters
    ----------
    values : mapping
        Registry name -> value (e.g. from :func:`validate_parameters`).
    model_path : path-like, optional
        Model file whose values fill the sectors not given.

    Returns
    -------
    dict
        Model constant (Python name) -> float, or an array over ``SECTORS``.
    """
    inputs: dict[str, float | np.ndarray] = {}
    per_sector: dict[str, dict[str, float]] = {}
    for name, value in values.items():
        p = get_parameter(name)
        if p.element is None:
            inputs[p.variable] = float(value)
        else:
            per_sector.setdefault(p.variable, {})[p.element] = float(value)
    for variable, given in per_sector.items():
        if len(given) < len(SECTORS):
            base = model_values(model_path)
            given = {s: given.get(s, base[f"{variable}[{s}]"]) for s in SECTORS}
        inputs[variable] = np.array([given[s] for s in SECTORS])
    return inputs
