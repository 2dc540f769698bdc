"""The lever registry: the one place where policy levers are defined.

A lever is a choice a policy maker makes. Each entry names the model constant it
sets, its unit and bounds (tested against ``model/transfer.mdl``), the value of the
document's package (``default``, also the model's own default), the value without
the policy (``off``), its kind and the part of the document it comes from.

Kinds
-----
number
    One value for the whole run.
schedule
    One value per calendar year (the model constant is subscripted by ``Year``).
    A scenario gives a number (every year) or ``{year: value}`` step changes: the
    value of a listed year holds until the next listed year; years before the first
    listed year take the lever's ``off`` value.
option
    A named choice that sets other levers (e.g. the tax-relief regime).
"""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from transfer_sim.errors import InputError
from transfer_sim.io.formatting import format_number
from transfer_sim.model.core import YEARS

__all__ = [
    "random_levers",
    "effective_inputs",
    "Lever",
    "LEVERS",
    "get_lever",
    "lever_names",
    "validate_value",
    "resolve",
    "defaults",
    "off_values",
    "schedule_to_array",
    "LeverValue",
]

Kind = Literal["number", "schedule", "option"]
#: What a lever can be set to: a number, a ``{year: value}`` schedule or an option name.
LeverValue = float | int | str | Mapping[int, float]


@dataclass(frozen=True)
class Lever:
    """A policy lever.

    Parameters
    ----------
    name : str
        Name used in scenario files and on the command line.
    variable : str or None
        Python name of the model constant it sets (``None`` for options).
    unit : str
        Unit as written in the model file.
    bounds : tuple of float
        Inclusive ``(min, max)``; equal to the constant's range in the model.
    default : float or str
        The document's package (policy as written); the model's own default.
    off : float or str
        Value with the policy off (the counterfactual).
    kind : {"number", "schedule", "option"}
        How a scenario may set it.
    section : str
        Part of the policy document (P1-P10 or a section-五 measure).
    description : str
        One line for ``transfer-sim levers``.
    options : mapping, optional
        For options: option name -> {lever name: value}; an empty mapping means
        "custom" (the levers it governs are set directly).
    integer : bool
        Whether only whole numbers are allowed.
    """

    name: str
    variable: str | None
    unit: str
    bounds: tuple[float, float]
    default: float | str
    off: float | str
    kind: Kind
    section: str
    description: str
    options: Mapping[str, Mapping[str, float]] = field(default_factory=dict)
    integer: bool = False


LEVERS: tuple[Lever, ...] = (
    Lever("policy_start_year", "policy_start_year", "Year", (2005, 2100), 2011, 2011, "number",
          "12th FYP", "Year the package switches on; past the final year = never starts.",
          integer=True),
    Lever("approval_delay", "approval_delay_schedule", "Year", (0.25, 3.0), 0.5, 1.0, "schedule",
          "P1", "Mean time from signing to approval of a transfer project."),
    Lever("tax_relief", None, "", (math.nan, math.nan), "two-free-three-half", "none", "option",
          "P2", "Local corporate-income-tax holiday regime for new transfer capacity.",
          options={
              "none": {"tax_exempt_years": 0, "tax_half_years": 0},
              "two-free-three-half": {"tax_exempt_years": 2, "tax_half_years": 3},
              "three-free-three-half": {"tax_exempt_years": 3, "tax_half_years": 3},
              "custom": {},
          }),
    Lever("tax_exempt_years", "tax_exempt_years", "Year", (0, 5), 2, 0, "number",
          "P2", "Years of full exemption (两免); set with tax_relief = \"custom\".", integer=True),
    Lever("tax_half_years", "tax_half_years", "Year", (0, 5), 3, 0, "number",
          "P2", "Years at half rate after exemption (三减半); set with tax_relief = \"custom\".",
          integer=True),
    Lever("western_development_rate", "western_development_tax_rate", "Dmnl", (0.15, 0.25),
          0.15, 0.15, "number", "P2",
          "Income-tax rate of encouraged industries (national 西部大开发 rate, 0.15)."),
    Lever("special_fund_mode", "special_fund_mode", "Dmnl", (0, 1), 0, 0, "number", "P3",
          "How the fund is sized: 0 = fixed amount (special_fund), 1 = share of the previous "
          "year's budget revenue (special_fund_share).", integer=True),
    Lever("special_fund", "special_fund_appropriation_schedule", "yiyuan/Year", (0, 200), 30, 0,
          "schedule", "P3", "Yearly appropriation to the special fund (fixed-amount mode)."),
    Lever("special_fund_share", "special_fund_revenue_share_schedule", "Dmnl", (0, 0.05), 0.015,
          0, "schedule", "P3",
          "Appropriation as a share of the previous year's budget revenue (share mode)."),
    Lever("fund_share_infrastructure", "fund_weight_infrastructure", "Dmnl", (0, 1), 0.5, 0.5,
          "number", "P3", "Weight of park infrastructure in fund spending (weights normalised)."),
    Lever("fund_share_projects", "fund_weight_projects", "Dmnl", (0, 1), 0.3, 0.3,
          "number", "P3", "Weight of project subsidies in fund spending (weights normalised)."),
    Lever("interest_subsidy", "loan_interest_subsidy_schedule", "1/Year", (0, 0.05), 0.02, 0,
          "schedule", "P4", "Interest subsidy on project and zone loans in demonstration parks "
          "(rate); paid first from the fund."),
    Lever("land_discount", "land_price_discount_schedule", "Dmnl", (0, 0.7), 0.3, 0, "schedule",
          "P5", "Fraction off the industrial land price."),
    Lever("power_discount", "power_discount_schedule", "yiyuan/yikWh", (0, 0.15), 0.04, 0,
          "schedule", "P6", "Direct-purchase discount on the park power price (元/kWh)."),
    Lever("power_coverage", "power_coverage_schedule", "Dmnl", (0, 1), 0.5, 0, "schedule",
          "P6", "Share of park power bought under direct purchase."),
    Lever("coal_allocation", "coal_allocation_schedule", "Dmnl", (0, 1), 0.5, 0, "schedule",
          "P7", "Share of eligible projects (>= 40 亿元) given a coal allocation."),
    Lever("coal_auction", "coal_auction_proceeds_schedule", "yiyuan/Year", (0, 50), 5, 0,
          "schedule", "P7", "Coal-field auction proceeds spent on demonstration-park "
          "infrastructure."),
    Lever("rail_logistics", "rail_logistics_discount_schedule", "Dmnl", (0, 0.3), 0.1, 0,
          "schedule", "P9", "Fraction off relative logistics cost from rail measures."),
    Lever("park_upgrades", "park_upgrades_on", "Dmnl", (0, 1), 1, 0, "number", "P10",
          "Whether zones past 50/100 亿元 are upgraded at the policy pace (1 = yes).",
          integer=True),
    Lever("demonstration_designations", "demonstration_designations_schedule", "park/Year",
          (0, 10), 4, 0, "schedule", "五 measures",
          "Most transfer demonstration parks designated a year, among eligible zones."),
    Lever("promotion_campaigns", "promotion_campaigns_schedule", "campaign/Year", (0, 10), 2, 1,
          "schedule", "五 measures", "Region-level investment-promotion campaigns a year."),
    Lever("entry_threshold", "entry_threshold_schedule", "yiyuan/project", (0.05, 10), 1.0, 0.3,
          "schedule", "五 measures", "Minimum investment of a transfer project accepted."),
    Lever("sme_programme", "sme_programme_jobs_per_anchor_job", "Dmnl", (0, 1), 0.2, 0,
          "number", "五 measures", "Extra SME jobs per anchor-project job (双百工程)."),
)

_BY_NAME: dict[str, Lever] = {lever.name: lever for lever in LEVERS}


def lever_names() -> list[str]:
    """Return every lever name in registry order."""
    return [lever.name for lever in LEVERS]


def get_lever(name: str, *, file: str | None = None) -> Lever:
    """Return the lever called ``name``.

    Parameters
    ----------
    name : str
        A lever name as in a scenario's ``[levers]`` table (:func:`lever_names`).
    file : str, optional
        File that named it, for the message.

    Raises
    ------
    InputError
        For an unknown name, with the closest known name.
    """
    try:
        return _BY_NAME[name]
    except KeyError:
        close = difflib.get_close_matches(name, _BY_NAME, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else ""
        raise InputError(f"unknown lever{hint} (see `transfer-sim levers`)",
                         file=file, key=name) from None


def defaults() -> dict[str, LeverValue]:
    """Return the document's package: every lever at its default."""
    return {lever.name: lever.default for lever in LEVERS}


def off_values() -> dict[str, LeverValue]:
    """Return the counterfactual: every lever at its off value."""
    return {lever.name: lever.off for lever in LEVERS}


def _allowed(lever: Lever) -> str:
    """Return "a whole number from 0 to 5 Year"-style text for a lever's bounds."""
    lo, hi = lever.bounds
    what = "a whole number" if lever.integer else "a number"
    return f"{what} from {format_number(lo)} to {format_number(hi)} {lever.unit}".rstrip()


def _check_number(lever: Lever, value: Any, *, file: str | None, key: str) -> float:
    if isinstance(value, Mapping) and lever.kind != "schedule":
        raise InputError(f"takes one value for the whole run, not a year schedule; allowed: "
                         f"{_allowed(lever)}", file=file, key=key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"expected a number, got {type(value).__name__} {value!r}; allowed: "
                         f"{_allowed(lever)}", file=file, key=key)
    v = float(value)
    lo, hi = lever.bounds
    if not math.isfinite(v) or v < lo or v > hi:
        raise InputError(f"{value!r} is out of range; allowed: {_allowed(lever)}",
                         file=file, key=key)
    if lever.integer and v != int(v):
        raise InputError(f"{value!r} is not a whole number; allowed: {_allowed(lever)}",
                         file=file, key=key)
    return v


def validate_value(name: str, value: Any, *, file: str | None = None,
                   final_year: int | None = None) -> LeverValue:
    """Check one lever value and return it normalised.

    Parameters
    ----------
    name : str
        Lever name.
    value : object
        A number, a ``{year: value}`` mapping (schedules) or an option name.
    file : str, optional
        File the value came from (for error messages).
    final_year : int, optional
        Last year of the run; schedule years must not pass it.

    Returns
    -------
    float, str or dict
        Numbers as float, schedules as ``{int year: float}`` in year order.

    Raises
    ------
    InputError
        Naming the file, the lever and what is allowed.
    """
    lever = get_lever(name, file=file)
    if lever.kind == "option":
        allowed = ", ".join(f'"{o}"' for o in lever.options)
        if not isinstance(value, str):
            raise InputError(f"expected an option name, got {type(value).__name__} {value!r}; "
                             f"allowed: {allowed}", file=file, key=name)
        if value not in lever.options:
            close = (difflib.get_close_matches(value, lever.options, n=1)
                     or [o for o in lever.options if value and o.startswith(value)][:1])
            hint = f" (did you mean \"{close[0]}\"?)" if close else ""
            raise InputError(f"unknown option {value!r}{hint}; allowed: {allowed}",
                             file=file, key=name)
        return value
    if lever.kind == "schedule" and isinstance(value, Mapping):
        return _check_schedule(lever, value, file=file, final_year=final_year)
    if lever.kind == "schedule" and (isinstance(value, bool)
                                     or not isinstance(value, int | float)):
        raise InputError(f"expected a number or a {{ year = value }} schedule, got "
                         f"{type(value).__name__} {value!r}; allowed: {_allowed(lever)}",
                         file=file, key=name)
    return _check_number(lever, value, file=file, key=name)


def _check_schedule(lever: Lever, value: Mapping[Any, Any], *, file: str | None,
                    final_year: int | None) -> dict[int, float]:
    """Validate a ``{year: value}`` schedule: whole years, increasing, inside the horizon."""
    name = lever.name
    top = final_year if final_year is not None else YEARS[-1]
    horizon = f"{YEARS[0]} to {top}"
    if top < YEARS[-1]:
        horizon += f" (the run's final year; [run] final_year may go up to {YEARS[-1]})"
    if not value:
        raise InputError(f"empty schedule; give {{ year = value, ... }} with years from "
                         f"{horizon}", file=file, key=name)
    out: dict[int, float] = {}
    last: int | None = None
    for raw_year, v in value.items():
        text = str(raw_year).strip()
        if isinstance(raw_year, bool) or not text.isdigit():
            raise InputError(f"schedule key {raw_year!r} is not a year; allowed: whole years "
                             f"from {horizon}", file=file, key=name)
        year = int(text)
        if year < YEARS[0] or year > top:
            raise InputError(f"schedule year {year} is outside the horizon; allowed: years "
                             f"from {horizon}", file=file, key=name)
        if last is not None and year <= last:
            raise InputError(f"schedule years must be listed in increasing order ({year} "
                             f"comes after {last})", file=file, key=name)
        last = year
        out[year] = _check_number(lever, v, file=file, key=f"{name}.{year}")
    return out


def schedule_to_array(lever: Lever, value: LeverValue) -> np.ndarray:
    """Expand a lever value to one value per model year (2005-2020).

    Parameters
    ----------
    lever : Lever
        A schedule lever.
    value : float or mapping
        A number (every year) or ``{year: value}`` step changes.

    Returns
    -------
    numpy.ndarray
        Shape ``(len(YEARS),)``.
    """
    if not isinstance(value, Mapping):
        return np.full(len(YEARS), float(value))
    arr = np.full(len(YEARS), float(lever.off))
    for year, v in sorted(value.items()):
        arr[YEARS.index(int(year)):] = float(v)
    return arr


def resolve(levers: Mapping[str, Any] | None = None, *, file: str | None = None,
            final_year: int | None = None) -> dict[str, float | np.ndarray]:
    """Turn lever values into model inputs.

    Levers not given keep the model's defaults (the policy as written). Option levers
    set the levers they govern; setting both a non-custom option and one of its
    levers is an error.

    Parameters
    ----------
    levers : mapping, optional
        Lever name -> value.
    file : str, optional
        File the values came from (for error messages).
    final_year : int, optional
        Last year of the run (schedule years must not pass it).

    Returns
    -------
    dict
        Model constant (Python name) -> float, or an array over ``YEARS`` for
        schedule levers.
    """
    given = dict(levers or {})
    values: dict[str, LeverValue] = {}
    for name, raw in given.items():
        values[name] = validate_value(name, raw, file=file, final_year=final_year)
    for name, chosen in list(values.items()):
        lever = _BY_NAME[name]
        if lever.kind != "option":
            continue
        governed = lever.options[str(chosen)]
        for sub, sub_value in governed.items():
            if sub in given and float(values[sub]) != float(sub_value):  # type: ignore[arg-type]
                raise InputError(f"conflicts with {name} = \"{chosen}\"; use {name} = "
                                 f"\"custom\" to set it directly", file=file, key=sub)
            values[sub] = float(sub_value)
    inputs: dict[str, float | np.ndarray] = {}
    for name, value in values.items():
        lever = _BY_NAME[name]
        if lever.kind == "option" or lever.variable is None:
            continue
        if lever.kind == "schedule":
            inputs[lever.variable] = schedule_to_array(lever, value)
        else:
            inputs[lever.variable] = float(value)  # type: ignore[arg-type]
    return inputs


def effective_inputs(levers: Mapping[str, Any]) -> dict[str, np.ndarray]:
    """Return every lever's model input, the model's default where ``levers`` is silent.

    Parameters
    ----------
    levers : mapping
        Lever values (:attr:`transfer_sim.inputs.scenarios.Scenario.levers`).

    Returns
    -------
    dict
        Model constant -> array: schedules over every model year (2005-2020),
        numbers as one-element arrays. Option levers appear through the levers they
        govern.
    """
    given = resolve(levers)
    out: dict[str, np.ndarray] = {}
    for lever in LEVERS:
        if lever.variable is None:
            continue
        if lever.variable in given:
            value = given[lever.variable]
        elif lever.kind == "schedule":
            value = schedule_to_array(lever, lever.default)
        else:
            value = float(lever.default)  # type: ignore[arg-type]
        out[lever.variable] = np.atleast_1d(np.asarray(value, dtype=float))
    return out


def random_levers(rng: np.random.Generator) -> dict[str, object]:
    """Draw every lever uniformly within its bounds (options uniformly among their names).

    Levers an option governs are left to the option; schedules get one value for all
    years; ``policy_start_year`` is drawn up to 2015 (a later start is a no-policy
    run). For benchmarks and equality tests over random lever sets.

    Parameters
    ----------
    rng : numpy.random.Generator
        The random source.
    """
    out: dict[str, object] = {}
    for lever in LEVERS:
        if lever.kind == "option":
            out[lever.name] = str(rng.choice([o for o in lever.options if o != "custom"]))
            continue
        governed = any(lever.name in subs for opt in LEVERS if opt.kind == "option"
                       for subs in opt.options.values())
        if governed:
            continue  # set through the option
        lo, hi = lever.bounds
        if lever.name == "policy_start_year":
            hi = 2015  # a start after the horizon is a no-policy run
        v = float(rng.uniform(lo, hi))
        out[lever.name] = round(v) if lever.integer else v
    return out
