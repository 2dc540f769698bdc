"""The lever registry against the model file: names, units, bounds and defaults.

These read the model facts (the catalogue and the value of every constant, as PySD
reads the model), so they need the translated model.
"""

from __future__ import annotations

import re

import numpy as np
import pytest

from transfer_sim.inputs import levers as L
from transfer_sim.model.core import YEARS, default_model_path

MODEL_LEVERS = [lv for lv in L.LEVERS if lv.variable is not None]


@pytest.fixture(scope="module")
def cat(facts):
    return facts.catalogue()


def _levers_group_constants(cat) -> set[str]:
    """Python names of the constants in the model's ``.Levers`` group."""
    text = default_model_path().read_text(encoding="utf-8")
    start = text.index("\n\t.Levers\n")
    body = text[start:text.index("\n\t.", start + 1)]  # up to the next group's name
    names = re.findall(r"^([A-Za-z][A-Za-z0-9 _]*?)\s*(?:\[[^\]]*\])?\s*=", body,
                       flags=re.MULTILINE)
    by_real = dict(zip(cat["Real Name"], cat.index, strict=True))
    return {by_real[n] for n in names}


def test_every_lever_constant_of_the_model_is_registered(cat):
    in_model = _levers_group_constants(cat)
    assert len(in_model) >= 15
    # The .Levers group holds no constant the registry misses (the SME programme
    # lever sets a constant of the .Labour group).
    assert in_model - {lv.variable for lv in MODEL_LEVERS} == set()


@pytest.mark.parametrize("lever", MODEL_LEVERS, ids=lambda lv: lv.name)
def test_lever_exists_in_model_with_same_unit_and_bounds(cat, lever):
    assert lever.variable in cat.index
    row = cat.loc[lever.variable]
    assert row["Type"] == "Constant"
    assert row["Units"] == lever.unit
    assert row["Limits"] == (float(lever.bounds[0]), float(lever.bounds[1]))
    assert tuple(row["Subscripts"]) == (("Year",) if lever.kind == "schedule" else ())


@pytest.mark.parametrize("lever", MODEL_LEVERS, ids=lambda lv: lv.name)
def test_registry_default_is_the_models_default(facts, lever):
    # The facts hold each constant as the translated model evaluates it.
    value = facts.value(lever.variable)
    if lever.kind == "schedule":
        assert list(value.coords["Year"].values) == [f"y{y}" for y in YEARS]
        np.testing.assert_array_equal(value.values, np.full(len(YEARS), float(lever.default)))
    else:
        assert float(value) == float(lever.default)
