"""The calibrated-parameter registry and the scenario files' ``[parameters]`` table."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from transfer_sim.errors import InputError
from transfer_sim.inputs import parameters as P
from transfer_sim.inputs.scenarios import dump_scenario, load_scenario
from transfer_sim.model.core import SECTORS


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def test_registry_names_and_bounds():
    names = P.parameter_names()
    assert len(names) == len(set(names)) == 7 + len(SECTORS)  # 7 scalars, one rate a sector
    for p in P.PARAMETERS:
        lo, hi = p.bounds
        assert lo < hi
        assert (p.element is None) == (p.name == p.variable)
        assert p.description
    assert P.expand_names(["reinvestment_rate"]) == [f"reinvestment_rate[{s}]" for s in SECTORS]
    assert P.expand_names(["cost_elasticity", "reinvestment_rate[textiles]", "cost_elasticity"]) \
        == ["cost_elasticity", "reinvestment_rate[textiles]"]


def test_validate_flattens_per_sector_tables_and_keeps_registry_order():
    got = P.validate_parameters({"reinvestment_rate": {"textiles": 0.1, "chemicals": 0.3},
                                 "cost_elasticity": 2})
    assert got == {"cost_elasticity": 2.0, "reinvestment_rate[chemicals]": 0.3,
                   "reinvestment_rate[textiles]": 0.1}
    assert P.nested(got) == {"cost_elasticity": 2.0,
                             "reinvestment_rate": {"chemicals": 0.3, "textiles": 0.1}}
    assert P.validate_parameters({"reinvestment_rate[agrifood]": 0.2}) == {
        "reinvestment_rate[agrifood]": 0.2}


@pytest.mark.parametrize("table, key, expect", [
    ({"cost_elastcity": 2}, "cost_elastcity", "did you mean cost_elasticity"),
    ({"special_fund": 30}, "special_fund", "not a calibrated parameter"),
    ({"cost_elasticity": 50}, "cost_elasticity", "outside the calibration bounds 0.5 to 10"),
    ({"cost_elasticity": "4"}, "cost_elasticity", "expected a number"),
    ({"cost_elasticity": True}, "cost_elasticity", "expected a number"),
    ({"cost_elasticity": {"chemicals": 1}}, "cost_elasticity", "not a table"),
    ({"reinvestment_rate": 0.2}, "reinvestment_rate", "set per sector"),
    ({"reinvestment_rate": {"steel": 0.2}}, "reinvestment_rate[steel]", "unknown sector"),
    ({"reinvestment_rate": {"chemicals": 0.9}}, "reinvestment_rate[chemicals]", "bounds"),
])
def test_bad_parameter_values(table, key, expect):
    with pytest.raises(InputError) as info:
        P.validate_parameters(table, file="x.toml")
    assert info.value.key == key
    assert expect in str(info.value)
    assert str(info.value).startswith("x.toml: ")


def test_scenario_parameters_are_inherited_and_overridden_through_extends(tmp_path):
    write(tmp_path, "base", """
        name = "base"
        [parameters]
        cost_elasticity = 3.0
        reinvestment_rate = { chemicals = 0.25, agrifood = 0.2 }
    """)
    child = write(tmp_path, "child", """
        extends = "base"
        [levers]
        special_fund = 50
        [parameters]
        reinvestment_rate = { agrifood = 0.3 }
    """)
    s = load_scenario(child)
    assert dict(s.parameters) == {"cost_elasticity": 3.0, "reinvestment_rate[chemicals]": 0.25,
                                  "reinvestment_rate[agrifood]": 0.3}
    assert s.levers["special_fund"] == 50
    again = write(tmp_path, "dumped", dump_scenario(s))
    assert dict(load_scenario(again).parameters) == dict(s.parameters)


def test_a_scenario_without_parameters_has_none():
    assert dict(load_scenario("policy-as-written").parameters) == {}


@pytest.mark.parametrize("body, key", [
    ("parameters = 3\n", "parameters"),
    ("[parameters]\nproductivity_growth = 0.5\n", "productivity_growth"),
    ("[parameters]\nwages = 1\n", "wages"),
])
def test_bad_parameters_table_names_file_and_key(tmp_path, body, key):
    path = write(tmp_path, "bad", body)
    with pytest.raises(InputError) as info:
        load_scenario(path)
    assert info.value.file == str(path)
    assert info.value.key == key
