"""Local elasticities of the targets to the levers (batch engine derivatives).

Each elasticity is checked against a central difference of the indicator between two
Simlin runs with the lever's constant scaled by 1 +/- 1e-4.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from transfer_sim.analysis.elasticities import ELASTICITY_COLUMNS, elasticities
from transfer_sim.analysis.kpis import KPIS, kpi_values, required_variables
from transfer_sim.engines import get_engine
from transfer_sim.inputs.levers import LEVERS
from transfer_sim.inputs.scenarios import load_scenario
from transfer_sim.run.plan import plan
from transfer_sim.run.results import to_dataset

TARGETS = [k.name for k in KPIS if k.target is not None]


@pytest.fixture(scope="module")
def table():
    return elasticities(load_scenario("policy-as-written"))


def test_one_row_per_lever_with_a_reason_where_there_is_no_derivative(table):
    assert list(table.columns) == [*ELASTICITY_COLUMNS, *TARGETS]
    assert sorted(table["lever"]) == sorted(lever.name for lever in LEVERS)
    none = table[table[TARGETS].isna().all(axis=1)]
    assert (none["note"] != "").all()
    some = table[~table[TARGETS].isna().all(axis=1)]
    assert len(some) >= 10 and (some["note"] == "").all()
    assert np.isfinite(some[TARGETS].to_numpy()).all()
    # Designations set T5 one for one; the sign of a cost-raising lever is negative.
    row = table.set_index("lever")
    assert row.loc["demonstration_designations", "demonstration_parks"] == pytest.approx(
        1.0, rel=1e-6)
    assert row.loc["entry_threshold", "new_jobs"] < 0


@pytest.mark.parametrize("lever", ["land_discount", "rail_logistics", "power_discount",
                                   "approval_delay"])
def test_elasticity_matches_differences_between_two_simlin_runs(table, lever):
    scenario = load_scenario("policy-as-written")
    spec = plan(scenario, variables=required_variables())
    variable = next(lv.variable for lv in LEVERS if lv.name == lever)
    simlin = get_engine("simlin")
    h = 1e-4
    values = {}
    for sign in (1, -1):
        inputs = dict(spec.inputs)
        inputs[variable] = np.asarray(inputs[variable], dtype=float) * (1 + sign * h)
        raw = simlin.run(dataclasses.replace(spec, inputs=inputs))
        values[sign] = kpi_values(to_dataset(raw))
    base = kpi_values(to_dataset(simlin.run(spec)))
    row = table.set_index("lever").loc[lever]
    for k in ("nonresource_revenue", "contribution_rate", "new_jobs"):
        fd = float(values[1][k] - values[-1][k]) / (2 * h) / float(base[k])
        assert row[k] == pytest.approx(fd, rel=1e-3, abs=1e-7), k
