"""Observed series for calibration: a tidy CSV checked row by row against the model.

:func:`load_observed` reads a tidy CSV (``variable, year, value, unit, source,
confidence`` and an optional ``period``) and checks every row against the model: the
variable must be a model output (``revenue[agrifood]`` for one sector,
``starting_projects[total]`` for the sum over sectors), the unit the
model's, the year inside the horizon 2005-2020, the value a positive number.

A figure is compared with the model over the period it covers
(:mod:`transfer_sim.analysis.periods`): for a rate (units per ``Year``) the amount over
the period — the calendar year [Y, Y+1) by default, or the months a ``period`` such as
``Jan-Aug``, ``H1`` or ``Q1-Q3`` names, in the rate's unit without ``/Year`` — read from
the model's cumulative stock; for a stock its value at the end of the period.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import io
import math
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from transfer_sim.analysis.periods import Period, is_rate, parse_period
from transfer_sim.engines.base import output_variables
from transfer_sim.errors import InputError
from transfer_sim.model.core import SECTORS, YEARS, bundled_path, catalogue

__all__ = ["OBSERVED_COLUMNS", "CONFIDENCE_SIGMA", "HORIZON", "SECTOR_TOTAL",
           "default_observed_path", "load_observed", "check_observed"]

#: Columns an observed-data CSV must have.
OBSERVED_COLUMNS = ("variable", "year", "value", "unit", "source", "confidence")
#: Optional columns: ``period`` (months within the year; the whole year when empty).
OPTIONAL_COLUMNS = ("period",)
#: Relative standard error assumed for an observation of each confidence level
#: (an assumption: official figures within 5 %, media figures within 10 %,
#: derived or loosely matching figures within 25 %). Weights are ``1 / sigma**2``.
CONFIDENCE_SIGMA: Mapping[str, float] = {"high": 0.05, "medium": 0.10, "low": 0.25}
#: Element naming the sum over sectors of a sector output (``starting_projects[total]``).
SECTOR_TOTAL = "total"
#: First and last year an observation may have (the model's ``Year`` range).
HORIZON = (YEARS[0], YEARS[-1])
_VARIABLE = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[\s*([A-Za-z0-9_]+)\s*\])?\s*$")


def default_observed_path() -> Path:
    """Return the bundled observed series, ``data/historical/observed.csv``."""
    return bundled_path("data", "historical", "observed.csv")



def load_observed(path: str | os.PathLike[str] | None = None, *,
                  model_path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Read and check an observed-data CSV.

    Parameters
    ----------
    path : path-like, optional
        CSV with the columns :data:`OBSERVED_COLUMNS` (others are ignored); the
        bundled ``data/historical/observed.csv`` by default.
    model_path : path-like, optional
        Model whose outputs and units the rows are checked against.

    Returns
    -------
    pandas.DataFrame
        See :func:`check_observed`; ``attrs["file"]`` and ``attrs["sha256"]`` name
        the file read.

    Raises
    ------
    InputError
        One line naming the file and the column (and the line) for: a missing or
        unreadable file, an empty file, missing columns, an unknown variable, a
        missing or non-numeric value, a unit that is not the model's, a year outside
        the horizon, an unknown confidence, a repeated variable and year.
    """
    p = Path(path) if path is not None else default_observed_path()
    file = str(p)
    try:
        data = p.read_bytes()
    except FileNotFoundError:
        raise InputError("file not found; allowed: a CSV with columns "
                         f"{', '.join(OBSERVED_COLUMNS)}", file=file) from None
    except IsADirectoryError:
        raise InputError("is a folder; allowed: a CSV file", file=file) from None
    except OSError as exc:
        raise InputError(f"cannot read the file ({exc.strerror})", file=file) from None
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"is not UTF-8 text (byte {exc.start})", file=file) from None
    if not text.strip():
        raise InputError("empty file; allowed: a header line "
                         f"({','.join(OBSERVED_COLUMNS)}) and one row per observation",
                         file=file)
    try:
        rows = list(csv.reader(io.StringIO(text)))
    except csv.Error as exc:
        raise InputError(f"malformed CSV: {exc}", file=file) from None
    header = [h.strip() for h in rows[0]]
    body = [(i + 2, r) for i, r in enumerate(rows[1:]) if any(c.strip() for c in r)]
    for col in OBSERVED_COLUMNS:
        if col not in header:
            raise InputError(f"missing column; required: {', '.join(OBSERVED_COLUMNS)} "
                             f"(found: {', '.join(header) or 'none'})", file=file, key=col)
    records = []
    for line, r in body:
        if len(r) != len(header):
            raise InputError(f"line {line}: {len(r)} fields, the header has {len(header)}",
                             file=file, key="line")
        records.append({"line": line, **{h: r[j].strip() for j, h in enumerate(header)
                                         if h in OBSERVED_COLUMNS + OPTIONAL_COLUMNS}})
    columns = ["line", *OBSERVED_COLUMNS, *(c for c in OPTIONAL_COLUMNS if c in header)]
    frame = pd.DataFrame(records, columns=columns)
    out = check_observed(frame, file=file, model_path=model_path)
    out.attrs["sha256"] = hashlib.sha256(data).hexdigest()
    return out


def _output_units(model_path: str | os.PathLike[str] | None) -> dict[str, tuple[str, tuple]]:
    cat = catalogue(model_path)
    out = {}
    for name in output_variables(cat):
        units = cat.at[name, "Units"]
        text = "" if units is None or (isinstance(units, float) and math.isnan(units)) \
            else str(units)
        out[name] = (text.strip() or "Dmnl", tuple(cat.at[name, "Subscripts"]))
    return out


def _line(row: Mapping[str, Any], index: int) -> str:
    return f"line {row['line']}" if "line" in row and pd.notna(row["line"]) \
        else f"row {index + 1}"


def check_observed(frame: pd.DataFrame, *, file: str | None = None,
                   model_path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Check observations held in a DataFrame (e.g. built in a notebook).

    Parameters
    ----------
    frame : pandas.DataFrame
        Columns :data:`OBSERVED_COLUMNS` (and optionally ``period``); an optional
        ``line`` column is used in messages.
    file : str, optional
        Where the rows came from (for messages).
    model_path : path-like, optional
        Model the rows are checked against.

    Returns
    -------
    pandas.DataFrame
        The observations, one row each, with ``year`` as int, ``value`` as float and
        added columns ``output`` (model output), ``element`` (sector, ``"total"`` for the
        sum over sectors, or ``""``),
        ``period`` (e.g. ``year`` or ``Jan-Aug``), ``start`` and ``end`` (times of the
        period), ``reading`` (``flow`` or ``stock``), ``sigma`` (relative standard
        error) and ``weight`` (``1 / sigma**2``).

    Raises
    ------
    InputError
        As :func:`load_observed`.
    """
    where = file or "observed data"
    missing = [c for c in OBSERVED_COLUMNS if c not in frame.columns]
    if missing:
        raise InputError(f"missing column; required: {', '.join(OBSERVED_COLUMNS)}",
                         file=where, key=missing[0])
    if frame.empty:
        raise InputError("no observations: the file has a header but no rows",
                         file=where, key="variable")
    outputs = _output_units(model_path)
    records = []
    seen: dict[tuple[str, str], str] = {}
    for i, row in enumerate(frame.to_dict("records")):
        rec = _check_row(row, _line(row, i), outputs, where)
        key = (rec["variable"], rec["label"])
        if key in seen:
            raise InputError(f"{_line(row, i)}: {rec['variable']} {rec['label']} is repeated "
                             f"(first at {seen[key]}); allowed: one value per variable and "
                             "period", file=where, key="variable")
        seen[key] = _line(row, i)
        records.append(rec)
    out = pd.DataFrame(records)
    out.attrs["file"] = where
    return out


def _check_row(row: Mapping[str, Any], at: str, outputs: Mapping[str, tuple[str, tuple]],
               where: str) -> dict[str, Any]:
    """Check one observation; return its record (see :func:`check_observed`)."""
    name, element = _check_variable(row["variable"], outputs, at, where)
    year = _check_year(row["year"], at, where, f"{row['variable']}")
    label = f"{name}[{element}]" if element else name
    period = _check_period(row.get("period"), year, at, where)
    value = _check_value(row["value"], at, where, label, year)
    model_unit = outputs[name][0]
    flow = is_rate(model_unit)
    unit = _check_unit(str(row["unit"]).strip(), model_unit, flow and not period.whole_year,
                       at, where, label)
    source = str(row["source"]).strip() if pd.notna(row["source"]) else ""
    if not source or source.lower() == "nan":
        raise InputError(f"{at}: no source for {label} {year}; every observation "
                         "names where it was read", file=where, key="source")
    conf = str(row["confidence"]).strip().lower()
    if conf not in CONFIDENCE_SIGMA:
        raise InputError(f"{at}: confidence {row['confidence']!r} for {label} {year}; "
                         f"allowed: {', '.join(CONFIDENCE_SIGMA)}", file=where,
                         key="confidence")
    sigma = CONFIDENCE_SIGMA[conf]
    return {"variable": label, "year": year, "value": value, "unit": unit, "source": source,
            "confidence": conf, "output": name, "element": element,
            "period": _period_text(row.get("period")), "label": period.label,
            "start": period.start, "end": period.end,
            "reading": "flow" if flow else "stock", "sigma": sigma, "weight": 1.0 / sigma ** 2}


def _period_text(raw: Any) -> str:
    text = "" if raw is None or (isinstance(raw, float) and math.isnan(raw)) else str(raw)
    return text.strip() or "year"


def _check_period(raw: Any, year: int, at: str, where: str) -> Period:
    try:
        return parse_period(year, _period_text(raw))
    except InputError as exc:
        raise InputError(f"{at}: {exc.detail}", file=where, key="period") from None


def _check_unit(unit: str, model_unit: str, partial_flow: bool, at: str, where: str,
                label: str) -> str:
    """Check the unit: the model's, or for a partial-year flow the amount's (no ``/Year``)."""
    want = _amount_unit(model_unit) if partial_flow else model_unit
    if unit.replace(" ", "") != want.replace(" ", ""):
        what = "the amount over the months, in" if partial_flow else "the model's unit"
        raise InputError(f"{at}: unit {unit!r} does not match {what} {want!r} for {label}; "
                         f"convert the value to {want}", file=where, key="unit")
    return want


def _amount_unit(rate_unit: str) -> str:
    """``yiyuan/Year`` -> ``yiyuan``: the unit of the amount of a rate over a period."""
    return re.sub(r"\s*/\s*\(?\s*Year\s*\)?\s*$", "", rate_unit) or "Dmnl"


def _check_variable(raw: Any, outputs: Mapping[str, tuple[str, tuple]], at: str,
                    where: str) -> tuple[str, str]:
    text = "" if raw is None or (isinstance(raw, float) and math.isnan(raw)) else str(raw)
    match = _VARIABLE.match(text)
    examples = "industrial_revenue, nonresource_revenue, revenue[chemicals], total_employment"
    if not match or match.group(1) not in outputs:
        close = difflib.get_close_matches(match.group(1) if match else text, list(outputs), n=2)
        hint = f" (did you mean {' or '.join(close)}?)" if close else ""
        raise InputError(f"{at}: unknown model output {text!r}{hint}; allowed: a model output's "
                         f"Python name, e.g. {examples}", file=where, key="variable")
    name, element = match.group(1), match.group(2) or ""
    subs = outputs[name][1]
    if subs == ("Sector",):
        if element not in (*SECTORS, SECTOR_TOTAL):
            what = f"unknown sector {element!r}" if element else "no sector given"
            raise InputError(f"{at}: {what} for {name}; allowed: {name}[sector] with sector "
                             f"one of {', '.join(SECTORS)}, or {name}[{SECTOR_TOTAL}] for the "
                             "sum over sectors", file=where, key="variable")
    elif element:
        raise InputError(f"{at}: {name} has no sectors; allowed: {name} without [...]",
                         file=where, key="variable")
    return name, element


def _check_year(raw: Any, at: str, where: str, label: str) -> int:
    try:
        year = float(str(raw).strip())
    except ValueError:
        year = math.nan
    lo, hi = HORIZON
    if not math.isfinite(year) or year != int(year):
        raise InputError(f"{at}: year {raw!r} for {label} is not a whole year; allowed: "
                         f"{lo} to {hi}", file=where, key="year")
    if not lo <= year <= hi:
        raise InputError(f"{at}: year {int(year)} for {label} is outside the model horizon; "
                         f"allowed: {lo} to {hi}", file=where, key="year")
    return int(year)


def _check_value(raw: Any, at: str, where: str, label: str, year: int) -> float:
    try:
        value = float(str(raw).strip())
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        shown = "empty" if str(raw).strip() in ("", "nan", "None") else repr(raw)
        raise InputError(f"{at}: value for {label} {year} is {shown}, not a number; "
                         "allowed: a finite number (leave a missing year out)", file=where,
                         key="value")
    if value <= 0:
        raise InputError(f"{at}: value {value:g} for {label} {year}; allowed: a positive "
                         "number (errors are relative to it)", file=where, key="value")
    return value
