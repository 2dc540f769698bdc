"""The batch engine's row of constants: layout, inputs applied, unpacking (no model)."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from transfer_sim.engines.batch.layout import ConstantLayout
from transfer_sim.errors import InputError, ModelError

SUBSCRIPTS = {"Sector": ("chem", "agri", "equip"), "Rank": ("r1", "r2")}
DEFAULTS = {"scalar": np.array(2.0), "by_sector": np.array([1.0, 2.0, 3.0]),
            "matrix": np.arange(6.0).reshape(3, 2)}
DIMS = {"scalar": (), "by_sector": ("Sector",), "matrix": ("Sector", "Rank")}
#: What expand_inputs reads of the model facts.
FACTS = SimpleNamespace(
    variables={n: SimpleNamespace(subscripts=d) for n, d in DIMS.items()},
    subscripts=SUBSCRIPTS)


@pytest.fixture
def layout() -> ConstantLayout:
    return ConstantLayout.from_defaults(DEFAULTS, DIMS, SUBSCRIPTS)


def test_columns_follow_the_constants_in_order(layout):
    assert layout.size == 1 + 3 + 6
    assert layout.columns("scalar") == slice(0, 1)
    assert layout.columns("by_sector") == slice(1, 4)
    assert layout.columns("matrix") == slice(4, 10)
    assert layout.column("by_sector", "agri") == 2
    np.testing.assert_array_equal(layout.defaults, [2, 1, 2, 3, 0, 1, 2, 3, 4, 5])


def test_inputs_override_the_defaults(layout):
    row = layout.row(FACTS, {"scalar": 5, "by_sector": np.array([7.0, 8.0, 9.0])})
    np.testing.assert_array_equal(row[:4], [5, 7, 8, 9])
    np.testing.assert_array_equal(row[4:], layout.defaults[4:])
    everywhere = layout.row(FACTS, {"matrix": 1.5})  # a number sets every element
    np.testing.assert_array_equal(everywhere[4:], 1.5)
    assert layout.rows(FACTS, [{}, {"scalar": 1}]).shape == (2, layout.size)


def test_unpack_gives_each_constant_its_shape(layout):
    rows = np.stack([layout.defaults, layout.defaults + 1])
    parts = layout.unpack(rows, np)
    assert parts["scalar"].shape == (2,)
    assert parts["matrix"].shape == (2, 3, 2)
    np.testing.assert_array_equal(parts["matrix"][1], DEFAULTS["matrix"] + 1)


def test_bad_inputs_are_refused_by_name(layout):
    with pytest.raises(InputError, match="not a constant") as exc:
        layout.row(FACTS, {"nope": 1.0})
    assert exc.value.key == "nope"
    with pytest.raises(InputError, match="allowed: chem, agri, equip"):
        layout.column("by_sector", "mining")
    with pytest.raises(ModelError, match="expected 3 values"):
        layout.row(FACTS, {"by_sector": np.array([1.0, 2.0])})
