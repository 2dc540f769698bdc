"""One object holding what the package knows about a model file: :class:`ModelFacts`.

The facts are the model's catalogue (PySD's ``model.doc``: names, subscripts,
units, limits, types, comments), the value of every constant and lookup, the
control section (initial and final time, time step, save interval), the elements
of every subscript range (``Sector``, ``Year`` ...) and the list of output
variables. PySD is the reference parser, so the facts are built with it, once
per model file: on first use the model is translated and loaded, and the facts
are written to ``<cache>/facts/<sha256>.json`` (atomically). Every later process
reads that file, so a Simlin run with a warm cache never imports PySD.

``model_facts()`` is the one entry point; it caches the facts per model hash in
the process.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
import pandas as pd

from transfer_sim.errors import ModelError
from transfer_sim.io.versions import package_version
from transfer_sim.model.core import (
    cache_dir,
    load_pysd,
    model_file,
    model_hash,
    write_cache_file,
)

__all__ = [
    "SCHEMA",
    "CONTROL_VARIABLES",
    "CONSTANT_TYPES",
    "Variable",
    "Control",
    "ArrayValue",
    "ModelFacts",
    "model_facts",
    "facts_path",
    "build_facts",
    "output_names",
]

#: Version of the JSON layout; a file of another version is rebuilt.
SCHEMA = 1
#: Model constants that describe the simulation, not the system.
CONTROL_VARIABLES = frozenset({"time", "final_time", "initial_time", "saveper", "time_step"})
#: PySD types whose value is fixed before a run (what the facts evaluate).
CONSTANT_TYPES = ("Constant", "Lookup")
_CATALOGUE_COLUMNS = ("Real Name", "Py Name", "Subscripts", "Units", "Limits", "Type",
                      "Subtype", "Comment")


@dataclass(frozen=True)
class Variable:
    """One row of the catalogue.

    Attributes
    ----------
    py_name, real_name : str
        Python name and the name in the ``.mdl``.
    subscripts : tuple of str
        Subscript ranges (``()`` for a scalar).
    units : str or None
        Units as written in the model (``None`` where the model gives none).
    limits : tuple of float
        ``(min, max)``, NaN where open.
    type, subtype : str or None
        PySD's ``Type`` (``Constant``, ``Auxiliary``, ``Stateful``, ``Lookup``) and
        ``Subtype``; ``None`` for PySD's own ``time``.
    comment : str or None
        The model's comment.
    """

    py_name: str
    real_name: str
    subscripts: tuple[str, ...]
    units: str | None
    limits: tuple[float, float]
    type: str | None
    subtype: str | None
    comment: str | None


@dataclass(frozen=True)
class Control:
    """The model's control section.

    Attributes
    ----------
    initial_time, final_time, time_step, saveper : float
        ``INITIAL TIME``, ``FINAL TIME``, ``TIME STEP`` and ``SAVEPER``.
    """

    initial_time: float
    final_time: float
    time_step: float
    saveper: float


@dataclass(frozen=True)
class ArrayValue:
    """The value of a subscripted constant (or the points of a lookup).

    Attributes
    ----------
    dims : tuple of str
        Dimension names (``("Sector",)``; ``("lookup_dim",)`` for a lookup's x).
    coords : tuple of tuple
        Coordinates of each dimension, in order.
    values : tuple
        Nested tuples of floats, shaped as ``coords``.
    """

    dims: tuple[str, ...]
    coords: tuple[tuple[Any, ...], ...]
    values: tuple[Any, ...]

    def to_numpy(self) -> np.ndarray:
        """Return the values as a float array."""
        return np.array(self.values, dtype=float)

    def to_xarray(self):  # noqa: ANN201 - xarray imported lazily
        """Return the values as an ``xarray.DataArray`` (as PySD holds them)."""
        import xarray as xr

        return xr.DataArray(self.to_numpy(), {d: list(c) for d, c in zip(self.dims, self.coords,
                                                                           strict=True)},
                            list(self.dims))


def output_names(rows: Iterable[tuple[str, str | None, tuple[str, ...]]]) -> list[str]:
    """Return the output variables among ``(py name, type, subscripts)`` rows.

    Stocks and auxiliaries (flows included) that are scalar or subscripted by
    ``Sector``; constants, lookups, ``Year``-subscripted helpers and the control
    variables are left out. Sorted by name.
    """
    return sorted(name for name, kind, subs in rows
                  if kind in ("Auxiliary", "Stateful") and tuple(subs) in ((), ("Sector",))
                  and name not in CONTROL_VARIABLES)


@dataclass(frozen=True, eq=False)
class ModelFacts:
    """What the package knows about one model file (see the module docstring).

    Build it with :func:`model_facts`; the mappings are read-only.

    Attributes
    ----------
    sha256 : str
        SHA-256 of the model file the facts describe.
    pysd_version : str
        Version of PySD that read the model.
    variables : mapping
        Python name -> :class:`Variable`, sorted by name.
    constants : mapping
        Python name -> value of every constant and lookup: ``int``/``float`` for
        scalars, :class:`ArrayValue` for subscripted constants and lookups.
    control : Control
        The control section.
    subscripts : mapping
        Subscript range -> its elements (``"Year"`` -> ``("y2005", ...)``).
    """

    sha256: str
    pysd_version: str
    variables: Mapping[str, Variable]
    constants: Mapping[str, Any]
    control: Control
    subscripts: Mapping[str, tuple[str, ...]]
    _catalogue: pd.DataFrame = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("variables", "constants", "subscripts"):
            object.__setattr__(self, name, MappingProxyType(dict(getattr(self, name))))
        object.__setattr__(self, "_catalogue", self._frame())

    def __reduce__(self) -> tuple[Any, ...]:
        return (ModelFacts.from_dict, (self.to_dict(),))

    def __eq__(self, other: object) -> bool:
        # Compared through the JSON form: open limits are NaN, which never equals itself.
        return isinstance(other, ModelFacts) and self.to_dict() == other.to_dict()

    def __hash__(self) -> int:
        return hash(self.sha256)

    # ------------------------------------------------------------------ views
    @property
    def sectors(self) -> tuple[str, ...]:
        """Elements of the ``Sector`` range."""
        return self.subscripts["Sector"]

    @property
    def years(self) -> tuple[int, ...]:
        """Calendar years of the ``Year`` range (``y2005`` -> 2005)."""
        return tuple(int(e.lstrip("y")) for e in self.subscripts["Year"])

    @property
    def outputs(self) -> tuple[str, ...]:
        """Python names of the output variables (:func:`output_names`)."""
        return tuple(output_names((v.py_name, v.type, v.subscripts)
                                  for v in self.variables.values()))

    @property
    def stocks(self) -> tuple[str, ...]:
        """Python names of the stocks."""
        return tuple(n for n, v in self.variables.items() if v.type == "Stateful")

    def units(self, name: str) -> str:
        """Return the units of a variable, ``"Dmnl"`` where the model states none.

        PySD's own ``time`` has the units of the control section's ``TIME STEP``.

        Raises
        ------
        ModelError
            For a name that is not a variable of the model.
        """
        if name == "time":
            name = "time_step"
        try:
            units = self.variables[name].units
        except KeyError:
            raise ModelError(f"no variable {name!r} in the model") from None
        return units.strip() if units and units.strip() else "Dmnl"

    def elements(self, name: str) -> tuple[str, ...]:
        """Return the elements of a constant subscripted by one range.

        Raises
        ------
        ModelError
            For an unknown name or a constant not subscripted by exactly one range.
        """
        if name not in self.variables:
            raise ModelError(f"no variable {name!r} in the model")
        subs = self.variables[name].subscripts
        if len(subs) != 1:
            raise ModelError(f"{name!r} is subscripted by {subs or 'nothing'}, not one range")
        return self.subscripts[subs[0]]

    def value(self, name: str, element: str | None = None) -> Any:
        """Return a constant's value as PySD holds it.

        Parameters
        ----------
        name : str
            Python name of a constant or lookup.
        element : str, optional
            For a constant subscripted by one range: the element whose value to return.

        Returns
        -------
        int, float or xarray.DataArray
            A scalar, the element's float, or the whole subscripted value.

        Raises
        ------
        ModelError
            For a name that is not a constant, or an element not in its range.
        """
        if name not in self.constants:
            raise ModelError(f"no constant {name!r} in the model")
        value = self.constants[name]
        if element is not None:
            elements = self.elements(name)
            if element not in elements:
                raise ModelError(f"{name!r} has no element {element!r}; allowed: "
                                 f"{', '.join(elements)}")
            return float(value.values[elements.index(element)])
        return value.to_xarray() if isinstance(value, ArrayValue) else value

    def catalogue(self) -> pd.DataFrame:
        """Return the catalogue as PySD's ``doc`` table, indexed by Python name.

        Columns ``Real Name``, ``Py Name``, ``Subscripts`` (tuple), ``Units``,
        ``Limits`` (``(min, max)``, NaN where open), ``Type``, ``Subtype``,
        ``Comment`` (NaN where PySD has none).
        """
        return self._catalogue.copy()

    def _frame(self) -> pd.DataFrame:
        nan = float("nan")
        rows = [(v.real_name, v.py_name, v.subscripts, nan if v.units is None else v.units,
                 v.limits, nan if v.type is None else v.type,
                 nan if v.subtype is None else v.subtype,
                 nan if v.comment is None else v.comment) for v in self.variables.values()]
        frame = pd.DataFrame(rows, columns=list(_CATALOGUE_COLUMNS))
        return frame.set_index("Py Name", drop=False).sort_index()

    # ------------------------------------------------------------------ JSON
    def to_dict(self) -> dict[str, Any]:
        """Return the facts as JSON-ready data (:meth:`from_dict` reads it back)."""
        return {
            "schema": SCHEMA,
            "sha256": self.sha256,
            "pysd_version": self.pysd_version,
            "control": vars(self.control),
            "subscripts": {k: list(v) for k, v in self.subscripts.items()},
            "variables": [[v.py_name, v.real_name, list(v.subscripts), v.units,
                           [_json_float(x) for x in v.limits], v.type, v.subtype, v.comment]
                          for v in self.variables.values()],
            "constants": {k: _json_value(v) for k, v in self.constants.items()},
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ModelFacts:
        """Read facts written by :meth:`to_dict`."""
        variables = {}
        for py, real, subs, units, limits, kind, subtype, comment in data["variables"]:
            lo, hi = (_nan_if_none(x) for x in limits)
            variables[py] = Variable(py, real, tuple(subs), units, (lo, hi), kind, subtype,
                                     comment)
        return cls(sha256=data["sha256"], pysd_version=data["pysd_version"],
                   variables=variables,
                   constants={k: _from_json_value(v) for k, v in data["constants"].items()},
                   control=Control(**{k: float(v) for k, v in data["control"].items()}),
                   subscripts={k: tuple(v) for k, v in data["subscripts"].items()})


def _nan_if_none(value: float | None) -> float:
    """Return ``value`` as a float, NaN for ``None`` (JSON has no NaN)."""
    return float("nan") if value is None else float(value)


def _json_float(value: float) -> float | None:
    return None if math.isnan(value) else float(value)


def _json_value(value: Any) -> Any:
    if isinstance(value, ArrayValue):
        return {"dims": list(value.dims), "coords": [list(c) for c in value.coords],
                "values": np.asarray(value.values, dtype=float).tolist()}
    return value


def _from_json_value(value: Any) -> Any:
    if isinstance(value, dict):
        return ArrayValue(tuple(value["dims"]), tuple(tuple(c) for c in value["coords"]),
                          _nested_tuple(value["values"]))
    return value


def _nested_tuple(values: Any) -> Any:
    if isinstance(values, list | tuple | np.ndarray):
        return tuple(_nested_tuple(v) for v in values)
    return float(values)


# ---------------------------------------------------------------------- building
def _limits(value: object) -> tuple[float, float]:
    if isinstance(value, str):
        import ast

        value = ast.literal_eval(value.replace("nan", "None"))
    if not isinstance(value, list | tuple):
        return (float("nan"), float("nan"))
    lo, hi = (list(value) + [None, None])[:2]
    return (_nan_if_none(lo), _nan_if_none(hi))


def _text(value: object) -> str | None:
    return None if value is None or (isinstance(value, float) and math.isnan(value)) \
        else str(value)


def _variables(doc: pd.DataFrame) -> dict[str, Variable]:
    out = {}
    for row in doc.to_dict("records"):
        subs = row["Subscripts"]
        out[row["Py Name"]] = Variable(
            py_name=str(row["Py Name"]), real_name=str(row["Real Name"]),
            subscripts=tuple(subs) if isinstance(subs, list | tuple) else (),
            units=_text(row["Units"]), limits=_limits(row["Limits"]), type=_text(row["Type"]),
            subtype=_text(row["Subtype"]), comment=_text(row["Comment"]))
    return dict(sorted(out.items()))


def _array(data: Any) -> ArrayValue:
    return ArrayValue(tuple(str(d) for d in data.dims),
                      tuple(tuple(c.item() for c in data.coords[d].values) for d in data.dims),
                      _nested_tuple(np.asarray(data.values, dtype=float)))


def _constant(components: Any, var: Variable) -> Any:
    if var.type == "Lookup":
        hard = getattr(components, f"_hardcodedlookup_{var.py_name}", None)
        data = getattr(hard, "data", None)
        if data is None:
            raise ModelError(f"no points for lookup '{var.py_name}'")
        return _array(data)
    value = getattr(components, var.py_name)()
    if hasattr(value, "dims"):
        return _array(value)
    return value if isinstance(value, int) and not isinstance(value, bool) else float(value)


def build_facts(path: str | os.PathLike[str] | None = None) -> ModelFacts:
    """Read the facts of a model with PySD (translating it if needed); no cache.

    Parameters
    ----------
    path : path-like, default: the bundled model
        The ``.mdl`` to translate and evaluate.

    Raises
    ------
    ModelError
        If PySD cannot translate the model or a constant cannot be evaluated.
    """
    p = model_file(path)
    digest = model_hash(p)
    model = load_pysd(p)
    variables = _variables(model.doc)
    constants = {}
    for var in variables.values():
        if var.type in CONSTANT_TYPES:
            try:
                constants[var.py_name] = _constant(model.components, var)
            except Exception as exc:  # noqa: BLE001 - report which constant failed
                raise ModelError(f"{p}: cannot evaluate constant '{var.py_name}': "
                                 f"{exc}") from exc
    control = Control(**{k: float(constants[k])
                         for k in ("initial_time", "final_time", "time_step", "saveper")})
    subscripts = {str(k): tuple(str(e) for e in v) for k, v in model.subscripts.items()}
    return ModelFacts(sha256=digest, pysd_version=package_version("pysd"), variables=variables,
                      constants=constants, control=control, subscripts=subscripts)


# ---------------------------------------------------------------------- cache
def facts_path(digest: str) -> Path:
    """Return the cache file of the facts of the model with SHA-256 ``digest``."""
    return cache_dir() / "facts" / f"{digest}.json"


def _read(file: Path, digest: str) -> ModelFacts | None:
    try:
        data = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("schema") != SCHEMA \
            or data.get("sha256") != digest or data.get("pysd_version") != package_version("pysd"):
        return None
    try:
        return ModelFacts.from_dict(data)
    except (KeyError, TypeError, ValueError):
        return None


def _write(file: Path, facts: ModelFacts) -> None:
    write_cache_file(file, json.dumps(facts.to_dict(), ensure_ascii=False, allow_nan=False),
                     replace=True)


#: Facts by model hash, for the life of the process (a few models at most).
_MEMO: dict[str, ModelFacts] = {}


def model_facts(path: str | os.PathLike[str] | None = None) -> ModelFacts:
    """Return the facts of a model file: from memory, the cache file, or PySD.

    Parameters
    ----------
    path : path-like, default: the bundled model
        The model file, looked up by the hash of its bytes.

    Returns
    -------
    ModelFacts
        The same object for every call with a file of the same hash in this
        process. On a cold cache the model is translated and read with PySD and
        the facts are written to :func:`facts_path`; a warm cache needs no PySD.
    """
    p = model_file(path)
    digest = model_hash(p)
    if digest not in _MEMO:
        file = facts_path(digest)
        facts = _read(file, digest)
        if facts is None:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", DeprecationWarning)
                facts = build_facts(p)
            if facts.sha256 != digest:
                raise ModelError(f"{p}: the model file changed while it was read")
            _write(file, facts)
        _MEMO[digest] = facts
    return _MEMO[digest]
