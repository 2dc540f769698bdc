"""The model-facts cache: JSON round trip, warm loads without PySD, invalidation.

Facts here are made by hand for a small stand-in model file, so no model is
translated (the bundled model's facts are checked in ``tests/integration``).
"""

from __future__ import annotations

import json
import math
import pickle

import numpy as np
import pytest

from transfer_sim.errors import ModelError
from transfer_sim.model import facts as F


def _facts(sha256: str) -> F.ModelFacts:
    nan = float("nan")
    variables = {
        "final_time": F.Variable("final_time", "FINAL TIME", (), "Year", (nan, nan),
                                 "Constant", "Normal", "The final time."),
        "growth": F.Variable("growth", "growth", ("Sector",), "1/Year", (0.0, 1.0),
                             "Constant", "Normal", "Growth rate."),
        "initial_time": F.Variable("initial_time", "INITIAL TIME", (), "Year", (nan, nan),
                                   "Constant", "Normal", "The initial time."),
        "output": F.Variable("output", "Output", ("Sector",), None, (nan, nan),
                             "Stateful", "Integ", "A stock."),
        "saveper": F.Variable("saveper", "SAVEPER", (), "Year", (0.0, nan), "Constant",
                              "Normal", None),
        "schedule": F.Variable("schedule", "schedule", ("Year",), "Dmnl", (0.0, 2.0),
                               "Constant", "Normal", ""),
        "time": F.Variable("time", "Time", (), None, (nan, nan), None, None, "Current time."),
        "time_step": F.Variable("time_step", "TIME STEP", (), "Year", (nan, nan), "Constant",
                                "Normal", ""),
        "total": F.Variable("total", "total", (), "yiyuan", (nan, nan), "Auxiliary",
                            "Normal", "A sum."),
    }
    constants = {
        "final_time": 2015, "initial_time": 2005, "saveper": 0.25, "time_step": 0.0625,
        "growth": F.ArrayValue(("Sector",), (("a", "b"),), (0.1, 0.2)),
        "schedule": F.ArrayValue(("Year",), (("y2005", "y2006"),), (1.0, 0.5)),
    }
    return F.ModelFacts(sha256=sha256, pysd_version=F.package_version("pysd"), variables=variables,
                        constants=constants,
                        control=F.Control(2005.0, 2015.0, 0.0625, 0.25),
                        subscripts={"Sector": ("a", "b"), "Year": ("y2005", "y2006")})


@pytest.fixture
def model(tmp_path, monkeypatch):
    """A stand-in model file, an empty cache and a builder that counts its calls."""
    monkeypatch.setenv("TRANSFER_SIM_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(F, "_MEMO", {})
    path = tmp_path / "m.mdl"
    path.write_text("stand-in model\n", encoding="utf-8")
    built = []

    def build(p=None):
        built.append(p)
        return _facts(F.model_hash(p))

    monkeypatch.setattr(F, "build_facts", build)
    return path, built


def test_json_round_trip_keeps_every_fact():
    facts = _facts("0" * 64)
    again = F.ModelFacts.from_dict(json.loads(json.dumps(facts.to_dict(), allow_nan=False)))
    assert again == facts
    assert again.constants["final_time"] == 2015 and isinstance(again.value("final_time"), int)
    assert again.control == facts.control and again.subscripts == facts.subscripts
    assert pickle.loads(pickle.dumps(facts)) == facts


def test_views_sectors_years_outputs_units_and_values():
    facts = _facts("0" * 64)
    assert facts.sectors == ("a", "b") and facts.years == (2005, 2006)
    assert facts.outputs == ("output", "total")  # stocks and auxiliaries, no control
    assert facts.stocks == ("output",)
    assert facts.units("growth") == "1/Year" and facts.units("output") == "Dmnl"
    assert facts.units("time") == "Year"
    assert facts.elements("schedule") == ("y2005", "y2006")
    assert facts.value("growth", "b") == 0.2
    arr = facts.value("growth")
    assert arr.dims == ("Sector",) and list(arr.coords["Sector"].values) == ["a", "b"]
    np.testing.assert_array_equal(arr.values, [0.1, 0.2])
    with pytest.raises(ModelError, match="no variable 'nope'"):
        facts.units("nope")
    with pytest.raises(ModelError, match="no constant 'total'"):
        facts.value("total")


def test_catalogue_view_is_pysds_doc_shape():
    cat = _facts("0" * 64).catalogue()
    assert list(cat.columns) == ["Real Name", "Py Name", "Subscripts", "Units", "Limits",
                                 "Type", "Subtype", "Comment"]
    assert list(cat.index) == sorted(cat.index)
    assert cat.at["growth", "Subscripts"] == ("Sector",)
    assert cat.at["growth", "Limits"] == (0.0, 1.0)
    assert math.isnan(cat.at["output", "Units"]) and math.isnan(cat.at["time", "Type"])
    cat.loc["growth", "Units"] = "changed"
    assert _facts("0" * 64).catalogue().at["growth", "Units"] == "1/Year"


def test_cold_cache_builds_once_and_writes_json_atomically(model):
    path, built = model
    facts = F.model_facts(path)
    assert built == [path]
    file = F.facts_path(facts.sha256)
    assert file.name == f"{F.model_hash(path)}.json"
    assert json.loads(file.read_text(encoding="utf-8"))["sha256"] == facts.sha256
    assert [p.name for p in file.parent.iterdir()] == [file.name]  # no temporary left
    assert F.model_facts(path) is facts and built == [path]


def test_warm_cache_is_read_without_building(model, monkeypatch):
    path, built = model
    first = F.model_facts(path)
    monkeypatch.setattr(F, "_MEMO", {})  # as in a fresh process

    def refuse(p=None):
        raise AssertionError("a warm cache must not build the facts (no PySD)")

    monkeypatch.setattr(F, "build_facts", refuse)
    assert F.model_facts(path) == first


def test_a_changed_model_hash_rebuilds(model):
    path, built = model
    before = F.model_facts(path)
    path.write_text("stand-in model, edited\n", encoding="utf-8")
    after = F.model_facts(path)
    assert len(built) == 2 and after.sha256 != before.sha256
    assert F.facts_path(before.sha256).exists() and F.facts_path(after.sha256).exists()


@pytest.mark.parametrize("spoil", [
    lambda d: d.update(schema=F.SCHEMA + 1),
    lambda d: d.update(pysd_version="0.0"),
    lambda d: d.update(sha256="f" * 64),
    lambda d: d.pop("control"),
], ids=["schema", "pysd-version", "hash", "incomplete"])
def test_a_stale_or_broken_cache_file_is_rebuilt(model, monkeypatch, spoil):
    path, built = model
    file = F.facts_path(F.model_facts(path).sha256)
    data = json.loads(file.read_text(encoding="utf-8"))
    spoil(data)
    file.write_text(json.dumps(data), encoding="utf-8")
    monkeypatch.setattr(F, "_MEMO", {})
    F.model_facts(path)
    assert len(built) == 2


def test_unreadable_json_is_rebuilt(model, monkeypatch):
    path, built = model
    file = F.facts_path(F.model_facts(path).sha256)
    file.write_text("{not json", encoding="utf-8")
    monkeypatch.setattr(F, "_MEMO", {})
    F.model_facts(path)
    assert len(built) == 2


def test_an_unknown_element_names_the_allowed():
    with pytest.raises(ModelError, match="no element 'c'; allowed: a, b"):
        _facts("0" * 64).value("growth", "c")
