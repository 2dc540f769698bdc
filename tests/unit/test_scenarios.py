"""Scenario files: loading, extends, option inheritance, validation, dumping (no model run)."""

from __future__ import annotations

import doctest
import re
import textwrap
from pathlib import Path

import numpy as np
import pytest

from transfer_sim.errors import InputError
from transfer_sim.inputs import levers as L
from transfer_sim.inputs import scenarios as S
from transfer_sim.model.core import default_scenarios_dir


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def assert_same_inputs(a: dict, b: dict) -> None:
    assert set(a) == set(b)
    for key in a:
        np.testing.assert_array_equal(np.asarray(a[key]), np.asarray(b[key]), err_msg=key)


# --- the two reference scenarios keep their meaning -----------------------------------

def test_no_policy_is_every_lever_off():
    s = S.load_scenario("no-policy")
    assert_same_inputs(L.resolve(s.levers), L.resolve(L.off_values()))


def test_policy_as_written_is_every_lever_at_its_default():
    s = S.load_scenario("policy-as-written")
    assert_same_inputs(L.resolve(s.levers), L.resolve(L.defaults()))


# --- finding and loading --------------------------------------------------------------

def test_bundled_name_path_and_suffixless_path_find_the_same_file():
    path = default_scenarios_dir() / "no-policy.toml"
    assert S.find_scenario("no-policy") == path
    assert S.find_scenario(path) == path
    assert S.find_scenario(str(path)[:-5]).resolve() == path.resolve()


def test_list_scenarios_is_sorted_toml_files(tmp_path):
    write(tmp_path, "b", "")
    write(tmp_path, "a", "")
    (tmp_path / "c.txt").write_text("")
    assert [p.name for p in S.list_scenarios(tmp_path)] == ["a.toml", "b.toml"]


def test_extends_resolves_beside_the_file_before_the_bundled_ones(tmp_path):
    write(tmp_path, "no-policy", """
        description = "a local file shadowing the bundled one"
        [levers]
        special_fund = 7
    """)
    child = write(tmp_path, "child", 'extends = "no-policy"\n')
    assert S.load_scenario(child).levers["special_fund"] == 7.0


def test_extends_does_not_depend_on_the_working_folder(tmp_path, monkeypatch):
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    write(tmp_path / "b", "parent", "")
    child = write(tmp_path / "a", "child", 'extends = "parent"\n')
    monkeypatch.chdir(tmp_path / "b")
    with pytest.raises(InputError, match="no scenario named 'parent'") as exc:
        S.load_scenario(child)
    assert exc.value.key == "extends"


def test_extends_by_relative_path(tmp_path):
    (tmp_path / "base").mkdir()
    write(tmp_path / "base", "parent", "[levers]\nland_discount = 0.5\n")
    child = write(tmp_path, "child", 'extends = "base/parent.toml"\n')
    assert S.load_scenario(child).levers["land_discount"] == 0.5


def test_child_overrides_and_inherits(tmp_path):
    write(tmp_path, "parent", """
        name = "parent"
        description = "the parent"
        [levers]
        land_discount = 0.5
        special_fund = { 2011 = 10, 2018 = 0 }
        [run]
        final_year = 2020
        time_step = 0.0625
    """)
    child = write(tmp_path, "child", """
        extends = "parent"
        [levers]
        land_discount = 0.1
    """)
    s = S.load_scenario(child)
    assert s.name == "child"  # no name given: the file's stem
    assert s.description == ""  # a description is not inherited
    assert s.levers["land_discount"] == 0.1
    assert s.levers["special_fund"] == {2011: 10.0, 2018: 0.0}
    assert (s.final_year, s.time_step) == (2020, 0.0625)
    assert dict(s.own_levers) == {"land_discount": 0.1}
    assert [p.name for p in s.chain] == ["child.toml", "parent.toml"]
    assert s.extends == "parent" and len(s.sha256) == 64


def test_inherited_schedule_past_the_childs_final_year_is_reported(tmp_path):
    write(tmp_path, "parent", """
        [levers]
        special_fund = { 2011 = 10, 2018 = 0 }
        [run]
        final_year = 2020
    """)
    child = write(tmp_path, "child", 'extends = "parent"\n[run]\nfinal_year = 2015\n')
    with pytest.raises(InputError, match="inherited through extends") as exc:
        S.load_scenario(child)
    assert (exc.value.file, exc.value.key) == (str(child), "special_fund")


# --- option levers and the levers they govern ------------------------------------------

@pytest.mark.parametrize(("parent", "own", "expected"), [
    # a governed lever set directly keeps the inherited option's other values
    ("no-policy", {"tax_exempt_years": 2},
     {"tax_relief": "custom", "tax_exempt_years": 2.0, "tax_half_years": 0.0}),
    ("policy-as-written", {"tax_half_years": 5},
     {"tax_relief": "custom", "tax_exempt_years": 2.0, "tax_half_years": 5.0}),
    # choosing "custom" alone keeps the inherited regime's values
    ("no-policy", {"tax_relief": "custom"},
     {"tax_relief": "custom", "tax_exempt_years": 0.0, "tax_half_years": 0.0}),
    # a named option replaces whatever was inherited
    ("policy-as-written", {"tax_relief": "none"}, {"tax_relief": "none"}),
])
def test_options_and_governed_levers_merge(tmp_path, parent, own, expected):
    body = "\n".join(f"{k} = {v!r}".replace("'", '"') for k, v in own.items())
    child = write(tmp_path, "child", f'extends = "{parent}"\n[levers]\n{body}\n')
    levers = S.load_scenario(child).levers
    governed = {k: levers[k] for k in ("tax_relief", "tax_exempt_years", "tax_half_years")
                if k in levers}
    assert governed == expected
    inputs = L.resolve(levers)
    relief = L.get_lever("tax_relief").options
    if expected["tax_relief"] != "custom":
        assert inputs["tax_exempt_years"] == relief[expected["tax_relief"]]["tax_exempt_years"]


def test_scenario_in_code_follows_the_same_merge_rule():
    s = S.scenario_from_levers("x", {"tax_exempt_years": 0})
    assert s.levers["tax_relief"] == "custom"
    assert s.levers["tax_half_years"] == L.get_lever("tax_half_years").default


def test_option_and_conflicting_governed_lever_in_one_file(tmp_path):
    path = write(tmp_path, "bad", """
        [levers]
        tax_relief = "none"
        tax_exempt_years = 2
    """)
    with pytest.raises(InputError, match='tax_relief = "custom"') as exc:
        S.load_scenario(path)
    assert (exc.value.file, exc.value.key) == (str(path), "tax_exempt_years")


# --- validation -----------------------------------------------------------------------

@pytest.mark.parametrize(("text", "key", "message"), [
    ("[lever]\nland_discount = 0.1\n", "lever", "did you mean 'levers'"),
    ("name = 3\n", "name", "expected a string"),
    ('extends = ""\n', "extends", "allowed: a scenario name"),
    ("levers = 3\n", "levers", "expected a table [levers]"),
    ("[run]\nfinal_yaer = 2016\n", "run.final_yaer", "did you mean 'final_year'"),
    ("[run]\nfinal_year = 2021\n", "run.final_year", "allowed: a whole year from 2015 to 2020"),
    ("[run]\nfinal_year = 2016.0\n", "run.final_year", "allowed: a whole year"),
    ("[run]\ntime_step = 0.1\n", "run.time_step", "allowed: a power of two"),
    ("[run]\ntime_step = 0.5\n", "run.time_step", "allowed: a power of two"),
    ("[levers]\nland_discount = 0.9\n", "land_discount", "allowed: a number from 0 to 0.7"),
    ("[levers]\npower_discount = { 2011 = 0.04, 2016 = 0.08 }\n", "power_discount",
     "allowed: years from 2005 to 2015"),
])
def test_invalid_files_name_the_key_and_what_is_allowed(tmp_path, text, key, message):
    path = write(tmp_path, "bad", text)
    with pytest.raises(InputError, match=re.escape(message)) as exc:
        S.load_scenario(path)
    assert (exc.value.file, exc.value.key) == (str(path), key)


def test_schedule_years_up_to_a_later_final_year_are_allowed(tmp_path):
    path = write(tmp_path, "ok", """
        [levers]
        power_discount = { 2011 = 0.04, 2016 = 0.08 }
        [run]
        final_year = 2020
    """)
    assert S.load_scenario(path).levers["power_discount"] == {2011: 0.04, 2016: 0.08}


@pytest.mark.parametrize(("text", "line", "key"), [
    ('name = "x"\n[levers]\nspecial_fund = 30 40\n', 3, "special_fund"),
    ('[run]\nfinal_year = \n', 2, "run.final_year"),
    ('[levers\nland_discount = 0.1\n', 1, "levers"),
    ('description = "unterminated\n', 1, "description"),
])
def test_malformed_toml_gives_the_line_and_key(tmp_path, text, line, key):
    path = write(tmp_path, "bad", text)
    with pytest.raises(InputError, match=f"malformed TOML at line {line},") as exc:
        S.load_scenario(path)
    assert (exc.value.file, exc.value.key) == (str(path), key)


def test_not_utf8_is_reported(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_bytes(b'name = "\xff"\n')
    with pytest.raises(InputError, match="not UTF-8"):
        S.load_scenario(path)


def test_cycle_through_three_files(tmp_path):
    write(tmp_path, "a", 'extends = "b"\n')
    write(tmp_path, "b", 'extends = "c"\n')
    write(tmp_path, "c", 'extends = "a"\n')
    with pytest.raises(InputError, match="cycle in extends: a -> b -> c -> a") as exc:
        S.load_scenario(tmp_path / "a.toml")
    assert exc.value.key == "extends" and exc.value.file.endswith("c.toml")


def test_a_file_extending_itself_is_a_cycle(tmp_path):
    path = write(tmp_path, "me", 'extends = "me"\n')
    with pytest.raises(InputError, match="cycle in extends: me -> me"):
        S.load_scenario(path)


def test_missing_file_suggests_a_bundled_name():
    with pytest.raises(InputError, match="did you mean 'no-policy'") as exc:
        S.load_scenario("no-polcy")
    assert exc.value.key == "scenario"
    assert "policy-as-written" in str(exc.value)


def test_scenario_from_levers_validates_run_settings():
    with pytest.raises(InputError, match="run.final_year"):
        S.scenario_from_levers("x", final_year=2030)
    with pytest.raises(InputError, match="run.time_step"):
        S.scenario_from_levers("x", time_step=0.3)
    with pytest.raises(InputError, match="did you mean 'land_discount'"):
        S.scenario_from_levers("x", {"land_discont": 0.1})


# --- dumping --------------------------------------------------------------------------

@pytest.mark.parametrize("path", S.list_scenarios(), ids=lambda p: p.stem)
def test_every_bundled_scenario_dumps_and_loads_back(tmp_path, path):
    s = S.load_scenario(path)
    copy = tmp_path / "copy.toml"
    copy.write_text(S.dump_scenario(s), encoding="utf-8")
    again = S.load_scenario(copy)
    assert dict(again.levers) == dict(s.levers)
    assert (again.name, again.description, again.final_year, again.time_step) == (
        s.name, s.description, s.final_year, s.time_step)
    assert again.extends is None


def test_dump_escapes_quotes_backslashes_and_control_characters(tmp_path):
    text = 'say "hi"\\ there\nnew line\ttab \x00 \x7f 元'
    s = S.scenario_from_levers('odd "name"', {"special_fund": {2011: 1, 2013: 2.5}},
                               description=text, time_step=0.0625)
    path = tmp_path / "odd.toml"
    path.write_text(S.dump_scenario(s), encoding="utf-8")
    again = S.load_scenario(path)
    assert (again.name, again.description) == ('odd "name"', text)
    assert again.levers["special_fund"] == {2011: 1.0, 2013: 2.5}
    assert again.time_step == 0.0625


def test_docstring_examples_run():
    for module in (S, L):
        result = doctest.testmod(module)
        assert result.failed == 0, module.__name__
    assert doctest.testmod(S).attempted >= 2
