"""Uncertainty files (TOML): model constants that are not known, with a distribution each.

An uncertainty is not a choice: a lever (see :mod:`transfer_sim.inputs.levers`) is what a policy
maker sets in a scenario file; an uncertainty is what nobody sets and the model has to
live with — a calibrated elasticity, an assumed asset life. The two are kept in
different files, and a lever's model constant is refused here.

File format::

    description = "What this set of ranges is for."

    [uncertainties.cost_elasticity]
    distribution = "triangular"
    min = 2
    mode = 4
    max = 6
    source = "Calibrated starting value; no fitted interval yet, +-50 %."

Keys are Python names of scalar model constants (``transfer-sim`` prints them as the
catalogue's ``Py Name``). Distributions and their parameters:

``uniform``
    ``min``, ``max``.
``triangular``
    ``min``, ``mode``, ``max``.
``truncnormal``
    ``mean``, ``sd`` (of the untruncated normal), ``min``, ``max``.
``lognormal``
    ``median`` (= exp of the log-mean), ``sigma`` (log-standard deviation).

Every entry needs a ``source``: where the range comes from, or why it is what it is.
An optional ``unit`` is checked against the model's.
"""

from __future__ import annotations

import difflib
import hashlib
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

import numpy as np
from scipy import stats

from transfer_sim.errors import InputError
from transfer_sim.inputs import _toml
from transfer_sim.inputs.levers import LEVERS
from transfer_sim.model.core import bundled_path

__all__ = [
    "DISTRIBUTIONS",
    "Uncertainty",
    "UncertaintySet",
    "load_uncertainties",
    "default_uncertainty_path",
]

#: Distribution name -> its parameters, in the order they are written.
DISTRIBUTIONS: Mapping[str, tuple[str, ...]] = MappingProxyType({
    "uniform": ("min", "max"),
    "triangular": ("min", "mode", "max"),
    "truncnormal": ("mean", "sd", "min", "max"),
    "lognormal": ("median", "sigma"),
})

_ENTRY_KEYS = {"distribution", "source", "unit"}
_TOP_KEYS = {"description", "uncertainties"}
#: Unit quantiles are clipped to [_EPS, 1 - _EPS] so unbounded tails stay finite.
_EPS = 1e-9


@dataclass(frozen=True)
class Uncertainty:
    """One uncertain model constant and its distribution.

    Parameters
    ----------
    name : str
        Python name of the model constant.
    distribution : {"uniform", "triangular", "truncnormal", "lognormal"}
        Distribution family.
    params : mapping
        The family's parameters (see :data:`DISTRIBUTIONS`), in the constant's unit.
    source : str
        Where the range comes from, or the reason for it.
    unit : str
        Unit of the constant (from the model).

    Raises
    ------
    InputError
        For an unknown family, missing or extra parameters, or parameters that do
        not define a distribution (e.g. ``min >= max``).
    """

    name: str
    distribution: str
    params: Mapping[str, float]
    source: str
    unit: str = ""
    file: str | None = field(default=None, compare=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(
            _check_params(self.distribution, dict(self.params), file=self.file,
                          key=self.name)))
        if not isinstance(self.source, str) or not self.source.strip():
            raise InputError("needs a non-empty 'source': where the range comes from or why",
                             file=self.file, key=self.name)

    @property
    def frozen(self) -> Any:
        """The ``scipy.stats`` frozen distribution."""
        p = self.params
        if self.distribution == "uniform":
            return stats.uniform(loc=p["min"], scale=p["max"] - p["min"])
        if self.distribution == "triangular":
            width = p["max"] - p["min"]
            return stats.triang((p["mode"] - p["min"]) / width, loc=p["min"], scale=width)
        if self.distribution == "truncnormal":
            a = (p["min"] - p["mean"]) / p["sd"]
            b = (p["max"] - p["mean"]) / p["sd"]
            return stats.truncnorm(a, b, loc=p["mean"], scale=p["sd"])
        return stats.lognorm(p["sigma"], scale=p["median"])

    @property
    def support(self) -> tuple[float, float]:
        """Smallest and largest value the distribution can give (``inf`` if open)."""
        lo, hi = self.frozen.support()
        return float(lo), float(hi)

    def ppf(self, u: np.ndarray | float) -> np.ndarray:
        """Map unit-interval quantiles to values of the constant.

        Parameters
        ----------
        u : array-like
            Quantiles in [0, 1]; clipped to [1e-9, 1 - 1e-9] so that open tails
            (lognormal) stay finite.

        Returns
        -------
        numpy.ndarray
            Values in the constant's unit, same shape as ``u``.
        """
        q = np.clip(np.asarray(u, dtype=float), _EPS, 1 - _EPS)
        return np.asarray(self.frozen.ppf(q), dtype=float)

    def describe(self) -> str:
        """One line: ``triangular(min=2, mode=4, max=6)``."""
        args = ", ".join(f"{k}={v:g}" for k, v in self.params.items())
        return f"{self.distribution}({args})"


def _check_params(distribution: str, params: dict[str, Any], *, file: str | None,
                  key: str) -> dict[str, float]:
    if distribution not in DISTRIBUTIONS:
        allowed = ", ".join(f'"{d}"' for d in DISTRIBUTIONS)
        raise InputError(f"unknown distribution {distribution!r}; allowed: {allowed}",
                         file=file, key=key)
    needed = DISTRIBUTIONS[distribution]
    missing = [p for p in needed if p not in params]
    extra = sorted(set(params) - set(needed))
    if missing or extra:
        parts = []
        if missing:
            parts.append(f"missing {', '.join(missing)}")
        if extra:
            parts.append(f"unexpected {', '.join(extra)}")
        raise InputError(f"{distribution} takes {', '.join(needed)}; {'; '.join(parts)}",
                         file=file, key=key)
    out: dict[str, float] = {}
    for name in needed:
        value = params[name]
        if isinstance(value, bool) or not isinstance(value, int | float) \
                or not math.isfinite(value):
            raise InputError(f"{name} must be a finite number, got {value!r}", file=file,
                             key=f"{key}.{name}")
        out[name] = float(value)
    if "min" in out and out["min"] >= out["max"]:
        raise InputError(f"min ({out['min']:g}) must be below max ({out['max']:g})",
                         file=file, key=key)
    if distribution == "triangular" and not out["min"] <= out["mode"] <= out["max"]:
        raise InputError(f"mode ({out['mode']:g}) must lie between min and max", file=file,
                         key=key)
    if distribution == "truncnormal":
        if out["sd"] <= 0:
            raise InputError(f"sd must be positive, got {out['sd']:g}", file=file, key=key)
        if not out["min"] <= out["mean"] <= out["max"]:
            raise InputError(f"mean ({out['mean']:g}) must lie between min and max",
                             file=file, key=key)
    if distribution == "lognormal":
        if out["median"] <= 0:
            raise InputError(f"median must be positive, got {out['median']:g}", file=file,
                             key=key)
        if out["sigma"] <= 0:
            raise InputError(f"sigma must be positive, got {out['sigma']:g}", file=file,
                             key=key)
    return out


@dataclass(frozen=True)
class UncertaintySet:
    """The uncertainties of one file, in file order.

    Parameters
    ----------
    items : tuple of Uncertainty
        One per uncertain constant.
    description : str
        What the set is for.
    path : pathlib.Path, optional
        The file it came from.
    sha256 : str
        Hash of the file's bytes (empty when built in code).
    text : str
        The file's text (kept for provenance; empty when built in code).
    """

    items: tuple[Uncertainty, ...]
    description: str = ""
    path: Path | None = None
    sha256: str = ""
    text: str = ""

    def __post_init__(self) -> None:
        names = [u.name for u in self.items]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise InputError(f"uncertainties must be unique; repeated: {', '.join(dupes)}",
                             file=str(self.path) if self.path else None, key=dupes[0])
        if not self.items:
            raise InputError("no uncertainties given", key="uncertainties",
                             file=str(self.path) if self.path else None)

    @property
    def names(self) -> list[str]:
        """Python names of the constants, in order."""
        return [u.name for u in self.items]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self):  # noqa: ANN204 - iterator of Uncertainty
        return iter(self.items)

    def values(self, unit_sample: np.ndarray) -> np.ndarray:
        """Map a unit-hypercube sample to constant values, column by column.

        Parameters
        ----------
        unit_sample : numpy.ndarray
            Shape ``(n, len(self))``, values in [0, 1].

        Returns
        -------
        numpy.ndarray
            Same shape, each column through its distribution's ``ppf``.
        """
        u = np.asarray(unit_sample, dtype=float)
        if u.ndim != 2 or u.shape[1] != len(self.items):
            raise InputError(f"sample has shape {u.shape}; expected (n, {len(self.items)})",
                             key="sample")
        return np.column_stack([unc.ppf(u[:, j]) for j, unc in enumerate(self.items)])


_EXAMPLE = ('`[uncertainties.cost_elasticity]` then `distribution = "uniform"`, `min = 2`, '
            '`max = 6`, `source = "why"`')


def default_uncertainty_path() -> Path:
    """Return the bundled ``uncertainties/default.toml``."""
    return bundled_path("uncertainties", "default.toml")


def _lever_variables() -> dict[str, str]:
    out = {}
    for lever in LEVERS:
        out[lever.name] = lever.name
        if lever.variable:
            out[lever.variable] = lever.name
        for governed in lever.options.values():
            for sub in governed:
                out[sub] = sub
    return out


def _resolve_path(ref: str | os.PathLike[str]) -> Path:
    p = Path(ref)
    if p.exists() or p.suffix == ".toml" or len(p.parts) > 1:
        return p
    bundled = default_uncertainty_path().parent / f"{p}.toml"
    return bundled if bundled.exists() else p


def load_uncertainties(ref: str | os.PathLike[str],
                       model_path: str | os.PathLike[str] | None = None) -> UncertaintySet:
    """Read and validate an uncertainty file.

    Parameters
    ----------
    ref : path-like
        A file, or the name of a bundled set (``default``).
    model_path : path-like, optional
        Model the constants must belong to; the bundled model by default.

    Returns
    -------
    UncertaintySet

    Raises
    ------
    InputError
        One line naming the file and the key: malformed TOML, unknown keys, an
        unknown model constant, a lever used as an uncertainty, a subscripted or
        non-constant variable, a unit that differs from the model's, or bad
        distribution parameters.
    """
    path = _resolve_path(ref)
    file = str(path)
    doc, raw_bytes, text = _toml.read_toml(
        path, what="an uncertainty .toml file", example=_EXAMPLE,
        missing=lambda: "cannot read the uncertainty file (no such file); allowed: a .toml "
                        "file or the name of a bundled set (default)")
    with _toml.located(text, file, tables=("uncertainties",)):
        return _build(doc, raw_bytes, text, path, model_path)


def _build(doc: dict[str, Any], raw_bytes: bytes, text: str, path: Path,
           model_path: str | os.PathLike[str] | None) -> UncertaintySet:
    file = str(path)
    unknown = sorted(set(doc) - _TOP_KEYS)
    if unknown:
        raise InputError(f"unknown key; allowed: {', '.join(sorted(_TOP_KEYS))}", file=file,
                         key=unknown[0])
    table = doc.get("uncertainties")
    if not isinstance(table, Mapping) or not table:
        raise InputError("needs an [uncertainties.<constant>] table per uncertain constant",
                         file=file, key="uncertainties")
    description = doc.get("description", "")
    if not isinstance(description, str):
        raise InputError("must be a string", file=file, key="description")
    items = tuple(_entry(name, entry, file=file, model_path=model_path)
                  for name, entry in table.items())
    return UncertaintySet(items=items, description=description, path=path,
                          sha256=hashlib.sha256(raw_bytes).hexdigest(), text=text)


def _entry(name: str, entry: Any, *, file: str,
           model_path: str | os.PathLike[str] | None) -> Uncertainty:
    from transfer_sim.engines.base import CONTROL_VARIABLES
    from transfer_sim.model.core import catalogue

    if not isinstance(entry, Mapping):
        raise InputError("expected a table with distribution, its parameters and source",
                         file=file, key=name)
    levers = _lever_variables()
    if name in levers:
        raise InputError(f"is a policy lever ({levers[name]}): levers are chosen in scenario "
                         "files, not sampled as uncertainties", file=file, key=name)
    if name in CONTROL_VARIABLES:
        raise InputError("is a simulation control, not an uncertainty", file=file, key=name)
    cat = catalogue(model_path)
    if name not in cat.index:
        constants = [str(n) for n in cat.index[cat["Type"] == "Constant"]]
        close = difflib.get_close_matches(name, constants, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise InputError(f"unknown model constant{hint}", file=file, key=name)
    row = cat.loc[name]
    if row["Type"] != "Constant":
        raise InputError(f"is a {str(row['Type']).lower()}, not a constant; only model "
                         "constants can be uncertain", file=file, key=name)
    if tuple(row["Subscripts"]):
        raise InputError(f"is subscripted by {', '.join(row['Subscripts'])}; only scalar "
                         "constants can be uncertain", file=file, key=name)
    distribution = entry.get("distribution")
    if not isinstance(distribution, str):
        allowed = ", ".join(f'"{d}"' for d in DISTRIBUTIONS)
        raise InputError(f"needs distribution = one of {allowed}", file=file, key=name)
    unit = str(row["Units"]) if isinstance(row["Units"], str) and row["Units"] else "Dmnl"
    if "unit" in entry and entry["unit"] != unit:
        raise InputError(f"unit {entry['unit']!r} differs from the model's {unit!r}",
                         file=file, key=f"{name}.unit")
    params = {k: v for k, v in entry.items() if k not in _ENTRY_KEYS}
    unc = Uncertainty(name=name, distribution=distribution, params=params,
                      source=entry.get("source", ""), unit=unit, file=file)
    lo, hi = row["Limits"]
    s_lo, s_hi = unc.support
    if (not math.isnan(lo) and s_lo < lo) or (not math.isnan(hi) and s_hi > hi):
        raise InputError(f"range {s_lo:g} to {s_hi:g} leaves the model's limits "
                         f"[{lo:g}, {hi:g}]", file=file, key=name)
    return unc

