"""The reference engine: each run gives what it gives alone (PySD keeps old params)."""

from __future__ import annotations

import numpy as np
import pytest

from transfer_sim.engines import RunSpec
from transfer_sim.engines.pysd_engine import PySDEngine
from transfer_sim.inputs import levers

pytestmark = pytest.mark.pysd

# A coarse step keeps these PySD runs to a few seconds; what is tested is the
# independence of runs, which does not depend on the step.
DT = 0.25
VARS = ["nonresource_revenue", "jobs_brought_by_transfer", "fund_spent", "power_discount_paid",
        "revenue", "special_fund_appropriation"]


def _spec(levers_given):
    return RunSpec(inputs=levers.resolve(levers_given), time_step=DT, variables=VARS)


def test_two_different_runs_in_a_row_give_what_each_gives_alone():
    strong = {"special_fund": {2011: 80, 2013: 10}, "power_discount": 0.1,
              "approval_delay": 0.25}
    engine = PySDEngine()
    first = engine.run(_spec(strong))
    second = engine.run(_spec({}))  # no params: must be the model's defaults
    alone = PySDEngine().run(_spec({}))
    for name in VARS:
        np.testing.assert_allclose(second.data[name], alone.data[name], rtol=1e-12,
                                   err_msg=name)
    # and the first run really was different
    assert not np.allclose(first.data["nonresource_revenue"], alone.data["nonresource_revenue"])
    assert first.data["special_fund_appropriation"].max() == pytest.approx(80)
