"""Hypothesis strategies for levers and scenarios, drawn from the lever registry.

Every value comes from a lever's own bounds, options and kind, so a change to the
registry changes what is drawn; ``test_scenario_properties`` checks that every lever
kind in the registry has a strategy here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hypothesis import strategies as st

from transfer_sim.inputs.levers import LEVERS, Lever
from transfer_sim.inputs.scenarios import Scenario, scenario_from_levers
from transfer_sim.model.core import YEARS
from transfer_sim.run.runner import FINAL_YEAR_RANGE

#: Integration steps a scenario may ask for (powers of two from 2^-8 to 0.25 year).
TIME_STEPS = tuple(2.0 ** -k for k in range(2, 9))


def number_value(lever: Lever) -> st.SearchStrategy[float]:
    """One value within the lever's bounds (whole numbers for integer levers)."""
    lo, hi = lever.bounds
    if lever.integer:
        return st.integers(int(lo), int(hi)).map(float)
    return st.floats(lo, hi, allow_nan=False, allow_infinity=False)


def schedule_value(lever: Lever, final_year: int) -> st.SearchStrategy[Any]:
    """A number, or a ``{year: value}`` schedule with increasing years up to ``final_year``."""
    years = st.lists(st.integers(YEARS[0], final_year), min_size=1, max_size=4, unique=True)
    schedule = years.flatmap(
        lambda ys: st.tuples(*(number_value(lever) for _ in ys)).map(
            lambda vs, ys=ys: dict(zip(sorted(ys), vs, strict=True))))
    return st.one_of(number_value(lever), schedule)


def option_value(lever: Lever) -> st.SearchStrategy[str]:
    """One of the lever's named options."""
    return st.sampled_from(sorted(lever.options))


#: Lever kind -> strategy factory taking ``(lever, final_year)``.
BY_KIND: dict[str, Callable[[Lever, int], st.SearchStrategy[Any]]] = {
    "number": lambda lever, final_year: number_value(lever),
    "schedule": schedule_value,
    "option": lambda lever, final_year: option_value(lever),
}


def lever_value(lever: Lever, final_year: int = FINAL_YEAR_RANGE[0]) -> st.SearchStrategy[Any]:
    """A valid value of ``lever`` for a run ending in ``final_year``."""
    return BY_KIND[lever.kind](lever, final_year)


def _drop_conflicts(levers: dict[str, Any]) -> dict[str, Any]:
    """Leave out levers that a chosen (non-custom) option already sets."""
    out = dict(levers)
    for lever in LEVERS:
        if lever.kind == "option" and lever.name in out:
            for governed in lever.options[out[lever.name]]:
                out.pop(governed, None)
    return out


def lever_set(final_year: int) -> st.SearchStrategy[dict[str, Any]]:
    """Any subset of the levers, each at a valid value."""
    optional = {lever.name: lever_value(lever, final_year) for lever in LEVERS}
    return st.fixed_dictionaries({}, optional=optional).map(_drop_conflicts)


@st.composite
def scenarios(draw: st.DrawFn, *, time_steps: bool = False,
              text: bool = False) -> Scenario:
    """A validated scenario: a final year, a lever set, optionally a time step and text."""
    final_year = draw(st.integers(*FINAL_YEAR_RANGE))
    levers = draw(lever_set(final_year))
    time_step = draw(st.none() | st.sampled_from(TIME_STEPS)) if time_steps else None
    name = draw(st.text(min_size=1, max_size=20)) if text else "drawn"
    description = draw(st.text(max_size=60)) if text else ""
    return scenario_from_levers(name, levers, description=description,
                                final_year=final_year, time_step=time_step)
