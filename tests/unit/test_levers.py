"""The lever registry and lever validation (no model: the registry against the model file
is checked in ``tests/integration/test_lever_registry.py``)."""

from __future__ import annotations

import re

import numpy as np
import pytest

from transfer_sim.errors import InputError
from transfer_sim.inputs import levers as L
from transfer_sim.model.core import YEARS

OPTION_LEVERS = [lv for lv in L.LEVERS if lv.kind == "option"]
BY_NAME = {lv.name: lv for lv in L.LEVERS}


# --- the registry against the model -------------------------------------------------

def test_issue_levers_are_registered():
    required = {"approval_delay": "P1", "tax_relief": "P2", "western_development_rate": "P2",
                "special_fund": "P3", "fund_share_infrastructure": "P3",
                "fund_share_projects": "P3", "special_fund_mode": "P3",
                "special_fund_share": "P3", "coal_auction": "P7",
                "interest_subsidy": "P4", "land_discount": "P5", "power_discount": "P6",
                "power_coverage": "P6", "coal_allocation": "P7"}
    for name, section in required.items():
        assert BY_NAME[name].section == section, name
    for name in ("promotion_campaigns", "entry_threshold", "policy_start_year"):
        assert name in BY_NAME
    assert {"none", "two-free-three-half", "custom"} <= set(BY_NAME["tax_relief"].options)


@pytest.mark.parametrize("lever", OPTION_LEVERS, ids=lambda lv: lv.name)
def test_option_default_and_off_set_the_governed_levers_default_and_off(lever):
    assert lever.default in lever.options and lever.off in lever.options
    for sub, value in lever.options[str(lever.default)].items():
        assert BY_NAME[sub].default == value, sub
    for sub, value in lever.options[str(lever.off)].items():
        assert BY_NAME[sub].off == value, sub
    for option, governed in lever.options.items():
        for sub, value in governed.items():
            assert L.validate_value(sub, value) == value, (option, sub)


@pytest.mark.parametrize("lever", [lv for lv in L.LEVERS if lv.kind != "option"],
                         ids=lambda lv: lv.name)
def test_default_and_off_are_valid_values(lever):
    lo, hi = lever.bounds
    assert lo < hi
    for value in (lever.default, lever.off):
        assert lo <= float(value) <= hi
        if lever.integer:
            assert float(value).is_integer()
    if lever.integer:
        assert float(lo).is_integer() and float(hi).is_integer()


def test_names_sections_and_descriptions():
    names = L.lever_names()
    assert len(names) == len(set(names))
    for lever in L.LEVERS:
        assert lever.name.isidentifier(), lever.name
        assert re.fullmatch(r"P([1-9]|10)|五 measures|12th FYP", lever.section), lever.name
        assert lever.description and "\n" not in lever.description, lever.name


def test_defaults_and_off_values_cover_every_lever():
    assert set(L.defaults()) == set(L.off_values()) == set(L.lever_names())
    assert L.defaults()["special_fund"] == BY_NAME["special_fund"].default
    assert L.off_values()["tax_relief"] == "none"


# --- validate_value -------------------------------------------------------------------

def test_numbers_are_normalised_to_float():
    assert L.validate_value("special_fund", 50) == 50.0
    assert isinstance(L.validate_value("park_upgrades", 1), float)


def test_unknown_lever_suggests_the_closest_name():
    with pytest.raises(InputError, match="did you mean 'special_fund'") as exc:
        L.validate_value("specal_fund", 3, file="s.toml")
    assert (exc.value.file, exc.value.key) == ("s.toml", "specal_fund")


@pytest.mark.parametrize("value", ["30", True, None, [1, 2]])
def test_wrong_type_is_rejected_with_what_is_allowed(value):
    with pytest.raises(InputError, match="allowed: a number from 0 to 200") as exc:
        L.validate_value("special_fund", value)
    assert exc.value.key == "special_fund"


@pytest.mark.parametrize("value", [-0.01, 0.71, float("nan"), float("inf")])
def test_out_of_range_names_the_bounds(value):
    with pytest.raises(InputError, match=r"allowed: a number from 0 to 0\.7 Dmnl"):
        L.validate_value("land_discount", value)


def test_bounds_themselves_are_allowed():
    assert L.validate_value("land_discount", 0) == 0.0
    assert L.validate_value("land_discount", 0.7) == 0.7


def test_integer_levers_reject_fractions():
    with pytest.raises(InputError, match="not a whole number; allowed: a whole number"):
        L.validate_value("tax_exempt_years", 2.5)
    assert L.validate_value("tax_exempt_years", 2.0) == 2.0


def test_number_lever_rejects_a_schedule():
    with pytest.raises(InputError, match="not a year schedule"):
        L.validate_value("western_development_rate", {"2011": 0.15})


def test_schedule_is_normalised_to_int_years_in_order():
    out = L.validate_value("special_fund", {"2011": 30, "2014": 0})
    assert out == {2011: 30.0, 2014: 0.0}
    assert list(out) == [2011, 2014]


@pytest.mark.parametrize(("schedule", "final_year", "message"), [
    ({"2013": 0.01, "2011": 0.02}, None, "increasing order"),
    ({"2011": 0.01, "2011 ": 0.02}, None, "increasing order"),
    ({"2004": 0.01}, None, "outside the horizon; allowed: years from 2005 to 2020"),
    ({"2021": 0.01}, None, "outside the horizon"),
    ({"2016": 0.01}, 2015, "allowed: years from 2005 to 2015"),
    ({"twenty": 0.01}, None, "is not a year"),
    ({"2011.5": 0.01}, None, "is not a year"),
    ({}, None, "empty schedule"),
])
def test_bad_schedules_are_rejected(schedule, final_year, message):
    with pytest.raises(InputError, match=re.escape(message)) as exc:
        L.validate_value("power_discount", schedule, file="f.toml", final_year=final_year)
    assert (exc.value.file, exc.value.key) == ("f.toml", "power_discount")


def test_schedule_value_out_of_range_names_the_year():
    with pytest.raises(InputError, match="out of range") as exc:
        L.validate_value("power_discount", {"2011": 0.04, "2013": 0.5})
    assert exc.value.key == "power_discount.2013"


def test_unknown_option_lists_the_options():
    with pytest.raises(InputError) as exc:
        L.validate_value("tax_relief", "two-free", file="f.toml")
    text = str(exc.value)
    assert "key 'tax_relief'" in text and "did you mean" in text
    for option in BY_NAME["tax_relief"].options:
        assert f'"{option}"' in text


def test_option_of_wrong_type():
    with pytest.raises(InputError, match="expected an option name"):
        L.validate_value("tax_relief", 2)


# --- schedules and resolve ------------------------------------------------------------

def test_schedule_steps_hold_until_the_next_year_and_start_from_off():
    lever = BY_NAME["special_fund"]
    arr = L.schedule_to_array(lever, {2011: 30.0, 2014: 0.0})
    years = np.array(YEARS)
    assert arr.shape == (len(YEARS),)
    np.testing.assert_array_equal(arr[years < 2011], float(lever.off))
    np.testing.assert_array_equal(arr[(years >= 2011) & (years < 2014)], 30.0)
    np.testing.assert_array_equal(arr[years >= 2014], 0.0)


def test_schedule_before_first_year_uses_off_not_default():
    lever = BY_NAME["promotion_campaigns"]
    arr = L.schedule_to_array(lever, {2013: 4.0})
    assert arr[YEARS.index(2012)] == float(lever.off) != float(lever.default)


def test_number_for_a_schedule_lever_applies_every_year():
    np.testing.assert_array_equal(L.schedule_to_array(BY_NAME["land_discount"], 0.2),
                                  np.full(len(YEARS), 0.2))


def test_resolve_maps_levers_to_model_constants():
    inputs = L.resolve({"land_discount": 0.2, "western_development_rate": 0.2,
                        "special_fund": {"2012": 10}})
    assert set(inputs) == {"land_price_discount_schedule", "western_development_tax_rate",
                           "special_fund_appropriation_schedule"}
    assert inputs["western_development_tax_rate"] == 0.2
    assert inputs["special_fund_appropriation_schedule"][YEARS.index(2012)] == 10.0


def test_resolve_without_levers_leaves_the_model_defaults():
    assert L.resolve() == {}


@pytest.mark.parametrize("option", sorted(BY_NAME["tax_relief"].options))
def test_options_set_the_levers_they_govern(option):
    inputs = L.resolve({"tax_relief": option})
    governed = BY_NAME["tax_relief"].options[option]
    assert {BY_NAME[k].variable: float(v) for k, v in governed.items()} == inputs


def test_option_conflicting_with_a_governed_lever_is_an_error():
    with pytest.raises(InputError, match='use tax_relief = "custom"') as exc:
        L.resolve({"tax_relief": "none", "tax_exempt_years": 2}, file="f.toml")
    assert exc.value.key == "tax_exempt_years"


def test_custom_option_takes_the_governed_levers_as_given():
    inputs = L.resolve({"tax_relief": "custom", "tax_exempt_years": 1, "tax_half_years": 4})
    assert inputs == {"tax_exempt_years": 1.0, "tax_half_years": 4.0}
    assert L.resolve({"tax_relief": "none", "tax_exempt_years": 0})["tax_exempt_years"] == 0.0
