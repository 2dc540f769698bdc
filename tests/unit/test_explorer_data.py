"""The explorer's generated data (no model run): lever table, KPI spec, URL fragment."""

from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transfer_sim.analysis.kpis import KPIS, TARGET_YEAR
from transfer_sim.errors import InputError
from transfer_sim.inputs import levers as _levers
from transfer_sim.model.core import YEARS
from transfer_sim.report import explorer

#: Just what lever_table reads of the model's facts: the Year subscript's elements (the
#: integration tests use the real facts and compare the page's inputs with the engine's).
YEAR_ELEMENTS = tuple(f"y{y}" for y in YEARS)
FACTS = SimpleNamespace(
    subscripts={"Year": YEAR_ELEMENTS},
    variables={lv.variable: SimpleNamespace(subscripts=("Year",))
               for lv in _levers.LEVERS if lv.kind == "schedule"})


@pytest.fixture(scope="module")
def table():
    return explorer.lever_table(FACTS)


def test_every_lever_once_in_registry_order(table):
    assert [e["name"] for e in table] == _levers.lever_names()


def test_table_states_the_registry(table):
    for entry, lever in zip(table, _levers.LEVERS, strict=True):
        assert entry["kind"] == lever.kind and entry["section"] == lever.section
        assert entry["description"] == lever.description and entry["unit"] == lever.unit
        if lever.kind == "option":
            assert entry["options"] == {o: dict(v) for o, v in lever.options.items()}
            assert entry["default"] in entry["options"] and entry["off"] in entry["options"]
            continue
        assert (entry["min"], entry["max"]) == lever.bounds
        assert entry["constant"] == lever.variable and entry["integer"] == lever.integer
        assert entry["default"] == lever.default and entry["off"] == lever.off
        steps = (entry["max"] - entry["min"]) / entry["step"]
        assert 10 <= steps <= 1000 or lever.integer
        assert entry["step"] == 1 if lever.integer else entry["step"] < entry["max"]


def test_schedules_name_one_element_per_model_year(table):
    for entry in table:
        if entry["kind"] != "schedule":
            assert "elements" not in entry
            continue
        assert [y for _, y in entry["elements"]] == list(YEARS)
        assert [e for e, _ in entry["elements"]] == [f"{entry['constant']}[{e}]"
                                                     for e in YEAR_ELEMENTS]


def test_table_resolves_like_the_registry(table):
    """What the table says a lever sets is what resolve sets (each lever alone)."""
    by_name = {e["name"]: e for e in table}
    for lever in _levers.LEVERS:
        if lever.kind == "option":
            for option, governed in by_name[lever.name]["options"].items():
                inputs = _levers.resolve({lever.name: option})
                assert inputs == {by_name[k]["constant"]: v for k, v in governed.items()}
            continue
        lo, hi = lever.bounds
        value = float(hi) if lever.integer else lo + 0.37 * (hi - lo)
        inputs = _levers.resolve({lever.name: value})
        assert list(inputs) == [by_name[lever.name]["constant"]]
        if lever.kind == "schedule":      # one value per element, the elements' years
            assert list(inputs[lever.variable]) == [value] * len(YEARS)
            steps = _levers.resolve({lever.name: {2012: value}})[lever.variable]
            years = [y for _, y in by_name[lever.name]["elements"]]
            assert [float(v) for v in steps] == [
                value if y >= 2012 else float(lever.off) for y in years]
        else:
            assert inputs == {lever.variable: value}


def test_every_lever_has_chinese_and_english_labels(table):
    missing = [e["name"] for e in table if not e["label_zh"]]
    assert missing == [], "add these levers to report.explorer.LABELS"
    assert set(explorer.LABELS) <= set(_levers.lever_names()), "labels of removed levers"
    assert all(e["label_en"] for e in table)


def test_allowed_text_matches_the_registry_errors(table):
    for entry, lever in zip(table, _levers.LEVERS, strict=True):
        bad = "no-such-option" if lever.kind == "option" else lever.bounds[1] + 1
        with pytest.raises(InputError) as err:
            _levers.validate_value(lever.name, bad)
        assert err.value.detail.endswith(f"allowed: {entry['allowed']}")


def test_kpi_spec_names_every_kpi_and_states_its_reading():
    spec = explorer.kpi_spec()
    assert [k["name"] for k in spec] == [k.name for k in KPIS]
    for item, kpi in zip(spec, KPIS, strict=True):
        assert item["target"] == kpi.target and item["unit"] == kpi.unit
        assert item["year"] == TARGET_YEAR
        f = dict(item["formula"])
        assert f.pop("reads") == explorer.formula_reads(f)
        if kpi.reading == "stock":
            assert f == {"kind": "stock", "variable": kpi.variable}
        elif kpi.reading == "flow":
            assert f == {"kind": "flow", "variable": f"cumulative_{kpi.variable}"}
        else:                           # T3: share of the increment of two annual flows
            assert f == {"kind": "share_of_increment",
                         "share": f"cumulative_{kpi.variable}",
                         "other": f"cumulative_{kpi.other}", "base": 2010.0, "scale": 100.0}


def test_evaluate_kpis_formula_kinds():
    import numpy as np

    time = np.arange(2010.0, 2017.0)
    # cumulative stocks whose annual flows are 1, 2, ... (a) and 10 each year (b)
    flows_a = np.arange(1.0, 7.0)
    series = {"a": np.concatenate([[0.0], np.cumsum(flows_a)]),
              "b": 10.0 * (time - 2010.0), "s": time - 2000.0}
    spec = [{"name": "x", "year": 2015, "formula": {"kind": "stock", "variable": "s"}},
            {"name": "y", "year": 2015, "formula": {"kind": "flow", "variable": "a"}},
            {"name": "z", "year": 2015, "formula": {"kind": "share_of_increment",
                                                    "share": "a", "other": "b",
                                                    "base": 2010.0, "scale": 100.0}},
            {"name": "w", "year": 2010, "formula": {"kind": "share_of_increment",
                                                    "share": "b", "other": "b",
                                                    "base": 2010.0, "scale": 100.0}}]
    out = explorer.evaluate_kpis(spec, time, series)
    assert out["x"] == 16.0                  # the stock at the end of 2015
    assert out["y"] == 6.0                   # the flow over 2015
    assert out["z"] == 100.0                 # a grows by 5 from 2010, b not at all
    assert math.isnan(out["w"])              # no increment: undefined
    with pytest.raises(InputError, match="not in the results"):
        explorer.evaluate_kpis(spec[:1], time[:3], {"s": series["s"][:3]})


def test_fragment_round_trip_and_preset():
    levers = {"special_fund": {2011: 30.0, 2014: 0.0}, "tax_relief": "none",
              "power_discount": 0.08}
    fragment = explorer.format_fragment("fund-stops-2013", levers)
    assert fragment == ("#preset=fund-stops-2013&special_fund=2011:30,2014:0&tax_relief=none"
                        "&power_discount=0.08")
    assert explorer.parse_fragment(fragment) == ("fund-stops-2013", levers)
    assert explorer.parse_fragment("") == (None, {})


@pytest.mark.parametrize(("fragment", "key", "text"), [
    ("special_fund=500", "special_fund", "allowed: a number from 0 to 200 yiyuan/Year"),
    ("tax_relief=four", "tax_relief", 'allowed: "none", "two-free-three-half"'),
    ("tax_exempt_years=2.5", "tax_exempt_years", "whole number"),
    ("special_fund=lots", "special_fund", "is not a number"),
    ("special_fund=2011:30,2010:0", "special_fund", "increasing order"),
    ("special_fund=x:30", "special_fund", "is not a year"),
    ("power_discount=2016:0.1", "power_discount", "outside the horizon"),
    ("nonsense=1", "nonsense", "unknown lever"),
    ("approval_delay", "approval_delay", "key=value"),
])
def test_fragment_errors_name_the_lever(fragment, key, text):
    with pytest.raises(InputError) as err:
        explorer.parse_fragment("#" + fragment, final_year=2015)
    assert err.value.key == key and text in str(err.value)


finite = st.floats(allow_nan=False, allow_infinity=False)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_fragment_round_trips_any_valid_lever_set(data):
    levers = {}
    chosen = st.lists(st.sampled_from(_levers.LEVERS), unique_by=lambda lv: lv.name, max_size=6)
    for lever in data.draw(chosen):
        lo, hi = lever.bounds
        if lever.kind == "option":
            levers[lever.name] = data.draw(st.sampled_from(list(lever.options)))
        elif lever.integer:
            levers[lever.name] = float(data.draw(st.integers(int(lo), int(hi))))
        elif lever.kind == "schedule" and data.draw(st.booleans()):
            years = data.draw(st.lists(st.integers(YEARS[0], 2015), min_size=1, max_size=3,
                                       unique=True))
            levers[lever.name] = {y: data.draw(st.floats(lo, hi)) for y in sorted(years)}
        else:
            levers[lever.name] = data.draw(st.floats(lo, hi))
    assert explorer.parse_fragment(explorer.format_fragment("p", levers), final_year=2015) \
        == ("p", levers)
