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
extending file's folder, a path relative to that folder, or a bundled scenario's
name; it never depends on the working folder.

Levers take a number, an option name or (schedule levers) a ``{ year = value }``
table of step changes; see :mod:`transfer_sim.inputs.levers`. Setting a lever that an
option governs (e.g. ``tax_exempt_years`` under ``tax_relief``) makes the option
``"custom"`` and keeps the inherited option's values for the other levers it
governs. Every mistake raises :class:`~transfer_sim.errors.InputError` naming the
file, the key and what is allowed.
"""

from __future__ import annotations

import difflib
import hashlib
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from transfer_sim.errors import InputError
from transfer_sim.inputs import _toml
from transfer_sim.inputs import levers as _levers
from transfer_sim.inputs import parameters as _parameters
from transfer_sim.inputs.calibration_record import CalibrationRecord, parse_calibration
from transfer_sim.inputs.run_settings import (
    DEFAULT_FINAL_YEAR,
    validate_final_year,
    validate_time_step,
)
from transfer_sim.model.core import default_scenarios_dir

__all__ = ["DEFAULT_REFERENCE", "Scenario", "load_scenario", "find_scenario", "list_scenarios",
           "dump_scenario", "scenario_from_levers"]

#: The counterfactual other scenarios are compared with when none is named.
DEFAULT_REFERENCE = "no-policy"

_TOP_KEYS = {"name", "description", "extends", "levers", "parameters", "run", "calibration"}
_RUN_KEYS = {"final_year", "time_step"}


@dataclass(frozen=True)
class Scenario:
    """A validated scenario with its ``extends`` chain resolved.

    Attributes
    ----------
    name : str
        The file's ``name`` key, else its stem.
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
    parameters : mapping
        Calibrated model constants the scenario (or a parent) sets in its
        ``[parameters]`` table, by registry name (see :mod:`transfer_sim.inputs.parameters`);
        constants not in it keep the model's values.
    calibration : CalibrationRecord or None
        What the nearest calibrated layer in the chain was fitted on (its
        ``[calibration]`` table, :mod:`transfer_sim.inputs.calibration_record`); None
        for a scenario that extends no calibrated layer.
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
    parameters: Mapping[str, float] = field(default_factory=dict)
    calibration: CalibrationRecord | None = None

    def provenance(self) -> dict[str, Any]:
        """Return the attributes a results Dataset carries for this scenario."""
        return {"scenario": self.name, "scenario_description": self.description,
                "scenario_file": str(self.path) if self.path else "",
                "scenario_sha256": self.sha256}


def list_scenarios(folder: str | os.PathLike[str] | None = None) -> list[Path]:
    """Return the scenario files in ``folder`` (the bundled ones by default), sorted.

    Parameters
    ----------
    folder : path-like, optional
        Folder to list; the bundled ``scenarios/`` by default.

    Returns
    -------
    list of pathlib.Path
    """
    d = Path(folder) if folder is not None else default_scenarios_dir()
    return sorted(d.glob("*.toml"))


def find_scenario(ref: str | os.PathLike[str], *, base: Path | None = None) -> Path:
    """Resolve a scenario reference to a file.

    Parameters
    ----------
    ref : str or path-like
        A path to a ``.toml`` file, or a scenario's name (a file name without
        ``.toml``).
    base : pathlib.Path, optional
        Folder of the file that names ``ref`` in its ``extends``: names are looked
        up there first, then among the bundled scenarios. Without ``base`` they are
        looked up relative to the working folder, then among the bundled scenarios.

    Returns
    -------
    pathlib.Path
        The first existing candidate; else ``ref`` as a path (which does not exist,
        so that the caller can report it).
    """
    raw = str(ref)
    p = Path(raw)
    if not raw.strip() or not p.name:
        return p
    names = [raw] if p.suffix == ".toml" else [raw, f"{raw}.toml"]
    folder = base if base is not None else Path(".")
    candidates = [folder / n for n in names]
    if p.suffix != ".toml" and "/" not in raw and os.sep not in raw:
        candidates.append(default_scenarios_dir() / f"{raw}.toml")
    for c in candidates:
        if c.is_file():
            return c
    return folder / raw if base is not None else p


def _known_names(base: Path | None) -> list[str]:
    """Scenario names a reference could have meant (``base`` folder and bundled)."""
    names = {q.stem for q in list_scenarios()}
    if base is not None and base.is_dir():
        names |= {q.stem for q in list_scenarios(base)}
    return sorted(names)


def _missing(ref: str, base: Path | None) -> str:
    """Say that ``ref`` names no scenario, with a did-you-mean and what exists."""
    names = _known_names(base)
    stem = Path(ref).stem if ref.endswith(".toml") else Path(ref).name
    close = difflib.get_close_matches(stem, names, n=1)
    hint = f" (did you mean '{close[0]}'?)" if close else ""
    if ref.endswith(".toml") or "/" in ref or os.sep in ref:
        what = "file not found"
    else:
        folder = f"beside this file ({base})" if base is not None else "in the working folder"
        what = f"no scenario named {ref!r} {folder} or among the bundled scenarios"
    return (f"{what}{hint}; allowed: a path to a .toml file or a scenario name: "
            f"{', '.join(names)}")


_EXAMPLE = "`special_fund = 30` or `power_discount = { 2011 = 0.04 }`"


def _read(path: Path, key_hint: str | None = None, base: Path | None = None,
          ref: str | None = None) -> tuple[dict[str, Any], bytes, str]:
    return _toml.read_toml(path, what="a scenario .toml file", example=_EXAMPLE, key=key_hint,
                           missing=lambda: _missing(ref if ref is not None else str(path),
                                                    base))


def _unknown(key: str, allowed: set[str], what: str) -> str:
    close = difflib.get_close_matches(key, allowed, n=1)
    hint = f"; did you mean '{close[0]}'?" if close else ""
    return f"unknown {what}{hint} (allowed: {', '.join(sorted(allowed))})"


def _check_top(doc: Mapping[str, Any], file: str) -> None:
    for key in doc:
        if key not in _TOP_KEYS:
            raise InputError(_unknown(key, _TOP_KEYS, "key"), file=file, key=key)
    for key in ("name", "description", "extends"):
        if key in doc and not isinstance(doc[key], str):
            raise InputError(f"expected a string, got {type(doc[key]).__name__} "
                             f"{doc[key]!r}", file=file, key=key)
    if "extends" in doc and not doc["extends"].strip():
        raise InputError("empty; allowed: a scenario name or a path to a .toml file "
                         "(or leave extends out)", file=file, key="extends")
    for key in ("levers", "parameters", "run", "calibration"):
        if key in doc and not isinstance(doc[key], dict):
            raise InputError(f"expected a table [{key}], got {type(doc[key]).__name__}",
                             file=file, key=key)
    for key in doc.get("run", {}):
        if key not in _RUN_KEYS:
            raise InputError(_unknown(key, _RUN_KEYS, "run setting"), file=file,
                             key=f"run.{key}")


def _check_run(run: Mapping[str, Any], file: str | None) -> dict[str, Any]:
    """Validate the ``[run]`` table: ``final_year`` and ``time_step``."""
    out: dict[str, Any] = {}
    if "final_year" in run:
        out["final_year"] = validate_final_year(run["final_year"], file=file,
                                                key="run.final_year")
    if "time_step" in run:
        out["time_step"] = validate_time_step(run["time_step"], file=file, key="run.time_step")
    return out


def _merge_levers(inherited: Mapping[str, Any], own: Mapping[str, Any], *,
                  file: str | None) -> dict[str, Any]:
    """Apply a scenario's own levers on top of the ones it inherits.

    Option levers and the levers they govern interact: choosing a named option
    (e.g. ``tax_relief = "none"``) replaces what was inherited for the levers it
    governs; setting a governed lever directly (or choosing ``"custom"``) keeps the
    inherited option's values for the other governed levers and makes the option
    ``"custom"``. With nothing inherited, the inherited option is the lever's
    default (the model's own values).
    """
    merged = dict(inherited)
    governed_by = {sub: opt for opt in _levers.LEVERS if opt.kind == "option"
                   for subs in opt.options.values() for sub in subs}

    def keep_inherited_values(opt: _levers.Lever) -> None:
        previous = merged.get(opt.name, opt.default)
        for sub, value in opt.options.get(str(previous), {}).items():
            merged.setdefault(sub, value)
        merged[opt.name] = "custom"

    for name in own:
        lever = _levers.get_lever(name, file=file)
        if lever.kind == "option":
            if lever.options[own[name]]:
                for sub in lever.options[own[name]]:
                    merged.pop(sub, None)
            else:
                keep_inherited_values(lever)
        elif name in governed_by and governed_by[name].name not in own:
            keep_inherited_values(governed_by[name])
    merged.update(own)
    return merged


def load_scenario(ref: str | os.PathLike[str]) -> Scenario:
    """Load, resolve and validate a scenario file.

    Parameters
    ----------
    ref : str or path-like
        Path to a TOML file or the name of a bundled scenario.

    Returns
    -------
    Scenario
        The file's levers and settings merged over those of its parents.

    Raises
    ------
    InputError
        One message naming the file, the key and what is allowed: missing files,
        malformed TOML, unknown keys or levers, wrong types, values out of range,
        bad schedules, unknown options, a missing parent or a cycle in ``extends``.

    Examples
    --------
    >>> s = load_scenario("no-policy")
    >>> s.levers["tax_relief"], s.final_year
    ('none', 2015)
    """
    return _load(find_scenario(ref), seen=(), key_hint="scenario", ref=str(ref))


def _load(path: Path, seen: tuple[Path, ...], key_hint: str | None = None,
          base: Path | None = None, ref: str | None = None) -> Scenario:
    resolved = path.resolve()
    if resolved in seen:
        cycle = " -> ".join(p.stem for p in (*seen, resolved))
        raise InputError(f"cycle in extends: {cycle}; allowed: a chain that ends in a "
                         f"scenario without extends", file=str(seen[-1]), key="extends")
    doc, data, text = _read(path, key_hint, base=base, ref=ref)
    file = str(path)
    with _toml.located(text, file, tables=("levers", "parameters")):
        return _build(doc, data, path, (*seen, resolved))


def _build(doc: dict[str, Any], data: bytes, path: Path, seen: tuple[Path, ...]) -> Scenario:
    file = str(path)
    _check_top(doc, file)
    run = _check_run(doc.get("run", {}), file)
    parent: Scenario | None = None
    extends = doc.get("extends")
    if extends is not None:
        parent_path = find_scenario(extends, base=path.parent)
        if not parent_path.is_file():
            raise InputError(_missing(extends, path.parent), file=file, key="extends")
        parent = _load(parent_path, seen, key_hint="extends",
                       base=path.parent, ref=extends)
    final_year = run.get("final_year", parent.final_year if parent else DEFAULT_FINAL_YEAR)
    own = doc.get("levers", {})
    for name, value in own.items():
        _levers.validate_value(name, value, file=file, final_year=final_year)
    merged = _merge_levers(parent.levers if parent else {}, own, file=file)
    norm: dict[str, Any] = {}
    for name, value in merged.items():
        try:
            norm[name] = _levers.validate_value(name, value, file=file, final_year=final_year)
        except InputError as exc:  # only inherited values can fail here
            raise InputError(f"{exc.detail} (inherited through extends = {extends!r}; "
                             f"set it in this file or raise [run] final_year)",
                             file=file, key=exc.key) from None
    _levers.resolve(norm, file=file, final_year=final_year)  # cross-lever checks
    params = dict(parent.parameters) if parent else {}
    params.update(_parameters.validate_parameters(doc.get("parameters", {}), file=file))
    record = (parse_calibration(doc["calibration"], file=file, base=path.parent)
              if "calibration" in doc else parent.calibration if parent else None)
    return Scenario(
        name=doc.get("name", path.stem),
        description=doc.get("description", ""),
        levers=MappingProxyType(norm),
        own_levers=MappingProxyType(dict(own)),
        final_year=final_year,
        time_step=run.get("time_step", parent.time_step if parent else None),
        path=path,
        sha256=hashlib.sha256(data).hexdigest(),
        extends=extends,
        chain=(path, *(parent.chain if parent else ())),
        parameters=MappingProxyType(params),
        calibration=record,
    )


def scenario_from_levers(name: str, levers: Mapping[str, Any] | None = None, *,
                         description: str = "", final_year: int = DEFAULT_FINAL_YEAR,
                         time_step: float | None = None) -> Scenario:
    """Build a validated scenario in code (no file).

    Parameters
    ----------
    name : str
        Scenario name.
    levers : mapping, optional
        Lever name -> value, as in a scenario file's ``[levers]`` table; levers not
        given keep the model's defaults (the policy as written).
    description : str
        What the scenario represents.
    final_year : int
        Last simulated year, 2015-2020.
    time_step : float, optional
        Integration step [Year], a power of two up to 0.25.

    Returns
    -------
    Scenario
        The same as a file with these values would load (``path`` None).

    Raises
    ------
    InputError
        For any value a scenario file could not hold either.
    """
    settings: dict[str, Any] = {"final_year": final_year}
    if time_step is not None:
        settings["time_step"] = time_step
    run = _check_run(settings, None)
    fy = run["final_year"]
    own = {k: _levers.validate_value(k, v, final_year=fy) for k, v in (levers or {}).items()}
    merged = _merge_levers({}, own, file=None)
    norm = {k: _levers.validate_value(k, v, final_year=fy) for k, v in merged.items()}
    _levers.resolve(norm, final_year=fy)
    return Scenario(name=name, description=description, levers=MappingProxyType(norm),
                    own_levers=MappingProxyType(own), final_year=fy,
                    time_step=run.get("time_step"))


def dump_scenario(scenario: Scenario) -> str:
    """Return a self-contained TOML text for ``scenario``.

    Every lever the scenario sets is written out and ``extends`` is left out, so
    the text loads on its own into a scenario with the same levers and run
    settings (see :func:`load_scenario`).

    Parameters
    ----------
    scenario : Scenario
        A loaded or built scenario.

    Returns
    -------
    str
        TOML text.

    Examples
    --------
    >>> print(dump_scenario(scenario_from_levers("x", {"special_fund": 50})))
    name = "x"
    description = ""
    <BLANKLINE>
    [levers]
    special_fund = 50.0
    <BLANKLINE>
    [run]
    final_year = 2015
    <BLANKLINE>
    """
    run: dict[str, Any] = {"final_year": scenario.final_year}
    if scenario.time_step is not None:
        run["time_step"] = scenario.time_step
    tables: dict[str, Mapping[str, Any]] = {
        "levers": dict(scenario.levers),
        "parameters": _parameters.nested(scenario.parameters or {}), "run": run}
    if scenario.calibration is not None:
        tables["calibration"] = scenario.calibration.toml_table()
    return _toml.dumps({"name": scenario.name, "description": scenario.description}, tables)
