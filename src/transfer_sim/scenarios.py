"""Scenario files (TOML) -> validated, frozen :class:`Scenario` objects.

A scenario states only what differs from the one it ``extends``::

    name = "power-discount-deep"
    description = "Direct-purchase discount of 0.08 元/kWh from 2012."
    extends = "policy-as-written"

    [levers]
    power_discount = { 2011 = 0.04, 2012 = 0.08 }

    [run]
    final_year = 2020

A scenario without ``extends`` starts from the model's own defaults (the policy as
written). ``extends`` names another scenario: a file name without ``.toml`` in the
same folder, or a relative path.
"""

from __future__ import annotations

import hashlib
import math
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from . import levers as _levers
from .errors import InputError
from .model import default_scenarios_dir
from .runner import DEFAULT_FINAL_YEAR, FINAL_YEAR_RANGE

__all__ = ["Scenario", "load_scenario", "find_scenario", "list_scenarios", "dump_scenario",
           "scenario_from_levers"]

_TOP_KEYS = {"name", "description", "extends", "levers", "run"}
_RUN_KEYS = {"final_year", "time_step"}


@dataclass(frozen=True)
class Scenario:
    """A validated scenario with its ``extends`` chain resolved.

    Attributes
    ----------
    name : str
        Scenario name.
    description : str
        What the scenario represents.
    levers : mapping
        Every lever the scenario (or a parent) sets, validated; levers not in it
        keep the model's defaults.
    own_levers : mapping
        The levers this file itself sets.
    final_year : int
        Last simulated year.
    time_step : float or None
        Integration step, if the scenario sets one.
    path : pathlib.Path or None
        Source file.
    sha256 : str
        Hash of the source file ("" for scenarios built in code).
    extends : str or None
        Parent scenario name.
    chain : tuple of pathlib.Path
        Files read, the scenario's own first.
    """

    name: str
    description: str = ""
    levers: Mapping[str, Any] = field(default_factory=dict)
    own_levers: Mapping[str, Any] = field(default_factory=dict)
    final_year: int = DEFAULT_FINAL_YEAR
    time_step: float | None = None
    path: Path | None = None
    sha256: str = ""
    extends: str | None = None
    chain: tuple[Path, ...] = ()

    def provenance(self) -> dict[str, Any]:
        """Return the attributes a results Dataset carries for this scenario."""
        return {"scenario": self.name, "scenario_description": self.description,
                "scenario_file": str(self.path) if self.path else "",
                "scenario_sha256": self.sha256}


def list_scenarios(folder: str | os.PathLike[str] | None = None) -> list[Path]:
    """Return the scenario files in ``folder`` (the bundled ones by default), sorted."""
    d = Path(folder) if folder is not None else default_scenarios_dir()
    return sorted(d.glob("*.toml"))


def find_scenario(ref: str | os.PathLike[str], *, base: Path | None = None) -> Path:
    """Resolve a scenario reference to a file.

    Parameters
    ----------
    ref : str or path-like
        A path to a ``.toml`` file, or a bundled scenario's name.
    base : pathlib.Path, optional
        Folder to resolve relative names in (the extending file's folder).
    """
    raw = str(ref)
    candidates = []
    p = Path(raw)
    if base is not None:
        candidates += [base / raw, base / f"{raw}.toml"]
    candidates += [p, p.with_name(p.name + ".toml") if p.suffix != ".toml" else p]
    if p.suffix != ".toml" and os.sep not in raw:
        candidates.append(default_scenarios_dir() / f"{raw}.toml")
    for c in candidates:
        if c.is_file():
            return c
    return p


def _read(path: Path, key_hint: str | None = None) -> tuple[dict[str, Any], bytes]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        names = ", ".join(p.stem for p in list_scenarios())
        raise InputError(f"scenario file not found (bundled scenarios: {names})",
                         file=str(path), key=key_hint) from None
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", file=str(path)) from None
    try:
        doc = tomllib.loads(data.decode("utf-8"))
    except UnicodeDecodeError:
        raise InputError("is not UTF-8 text", file=str(path)) from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(f"malformed TOML: {exc}", file=str(path)) from None
    return doc, data


def _check_top(doc: Mapping[str, Any], file: str) -> None:
    for key in doc:
        if key not in _TOP_KEYS:
            allowed = ", ".join(sorted(_TOP_KEYS))
            raise InputError(f"unknown key; allowed: {allowed}", file=file, key=key)
    for key in ("name", "description", "extends"):
        if key in doc and not isinstance(doc[key], str):
            raise InputError(f"expected a string, got {type(doc[key]).__name__}",
                             file=file, key=key)
    for key in ("levers", "run"):
        if key in doc and not isinstance(doc[key], dict):
            raise InputError(f"expected a table [{key}]", file=file, key=key)
    for key in doc.get("run", {}):
        if key not in _RUN_KEYS:
            raise InputError(f"unknown run setting; allowed: {', '.join(sorted(_RUN_KEYS))}",
                             file=file, key=f"run.{key}")


def _check_run(run: Mapping[str, Any], file: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if "final_year" in run:
        fy = run["final_year"]
        lo, hi = FINAL_YEAR_RANGE
        if isinstance(fy, bool) or not isinstance(fy, int) or not lo <= fy <= hi:
            raise InputError(f"{fy!r} is not allowed; a whole year from {lo} to {hi}",
                             file=file, key="run.final_year")
        out["final_year"] = fy
    if "time_step" in run:
        ts = run["time_step"]
        ok = isinstance(ts, int | float) and not isinstance(ts, bool) and math.isfinite(ts)
        if not ok or not 0 < ts <= 0.25 or not float(math.log2(ts)).is_integer():
            raise InputError(f"{ts!r} is not allowed; a power of two from 2^-8 to 0.25 year "
                             "(e.g. 0.03125)", file=file, key="run.time_step")
        if ts < 2 ** -8:
            raise InputError(f"{ts!r} is too small; at least 2^-8 year", file=file,
                             key="run.time_step")
        out["time_step"] = float(ts)
    return out


def load_scenario(ref: str | os.PathLike[str]) -> Scenario:
    """Load, resolve and validate a scenario file.

    Parameters
    ----------
    ref : str or path-like
        Path to a TOML file or the name of a bundled scenario.

    Returns
    -------
    Scenario

    Raises
    ------
    InputError
        One message naming the file, the key and what is allowed: missing files,
        malformed TOML, unknown keys or levers, wrong types, values out of range,
        bad schedules, unknown options, a missing parent or a cycle in ``extends``.
    """
    return _load(find_scenario(ref), seen=())


def _load(path: Path, seen: tuple[Path, ...], key_hint: str | None = None) -> Scenario:
    resolved = path.resolve()
    if resolved in seen:
        cycle = " -> ".join(p.stem for p in (*seen, resolved))
        raise InputError(f"cycle in extends: {cycle}", file=str(seen[-1]), key="extends")
    doc, data = _read(path, key_hint)
    file = str(path)
    _check_top(doc, file)
    run = _check_run(doc.get("run", {}), file)
    parent: Scenario | None = None
    extends = doc.get("extends")
    if extends:
        parent_path = find_scenario(extends, base=path.parent)
        if not parent_path.is_file():
            raise InputError(f"extends names a scenario that does not exist: {extends!r}",
                             file=file, key="extends")
        parent = _load(parent_path, (*seen, resolved))
    final_year = run.get("final_year", parent.final_year if parent else DEFAULT_FINAL_YEAR)
    own = doc.get("levers", {})
    for name, value in own.items():
        _levers.validate_value(name, value, file=file, final_year=final_year)
    merged = dict(parent.levers) if parent else {}
    governed_by = {sub: opt for opt in _levers.LEVERS if opt.kind == "option"
                   for subs in opt.options.values() for sub in subs}
    for name in own:
        lever = _levers.get_lever(name, file=file)
        if lever.kind == "option":
            # A child's option replaces what the parent set for the levers it governs.
            for sub in lever.options[own[name]]:
                merged.pop(sub, None)
        elif name in governed_by and governed_by[name].name not in own:
            # Setting a governed lever directly means "custom": keep the parent's
            # option values for the other governed levers.
            opt = governed_by[name]
            inherited = merged.get(opt.name, opt.default)
            for sub, value in opt.options.get(str(inherited), {}).items():
                merged.setdefault(sub, value)
            merged[opt.name] = "custom"
    merged.update(own)
    norm = {k: _levers.validate_value(k, v, file=file, final_year=final_year)
            for k, v in merged.items()}
    _levers.resolve(norm, file=file, final_year=final_year)  # cross-lever checks
    return Scenario(
        name=doc.get("name", path.stem),
        description=doc.get("description", parent.description if parent else ""),
        levers=MappingProxyType(norm),
        own_levers=MappingProxyType(dict(own)),
        final_year=final_year,
        time_step=run.get("time_step", parent.time_step if parent else None),
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        extends=extends,
        chain=(path, *(parent.chain if parent else ())),
    )


def scenario_from_levers(name: str, levers: Mapping[str, Any] | None = None, *,
                         description: str = "", final_year: int = DEFAULT_FINAL_YEAR,
                         time_step: float | None = None) -> Scenario:
    """Build a validated scenario in code (no file)."""
    norm = {k: _levers.validate_value(k, v, final_year=final_year)
            for k, v in (levers or {}).items()}
    _levers.resolve(norm, final_year=final_year)
    return Scenario(name=name, description=description, levers=MappingProxyType(norm),
                    own_levers=MappingProxyType(dict(norm)), final_year=final_year,
                    time_step=time_step)


def _toml_value(value: Any) -> str:
    if isinstance(value, str):
        return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, Mapping):
        return "{ " + ", ".join(f"{int(k)} = {_toml_value(v)}" for k, v in value.items()) + " }"
    if isinstance(value, float):
        return repr(value)
    return str(value)


def dump_scenario(scenario: Scenario) -> str:
    """Return a self-contained TOML text for ``scenario`` (all levers, no extends)."""
    lines = [f"name = {_toml_value(scenario.name)}",
             f"description = {_toml_value(scenario.description)}", "", "[levers]"]
    lines += [f"{k} = {_toml_value(v)}" for k, v in scenario.levers.items()]
    lines += ["", "[run]", f"final_year = {scenario.final_year}"]
    if scenario.time_step is not None:
        lines.append(f"time_step = {scenario.time_step!r}")
    return "\n".join(lines) + "\n"
