"""Cross-engine equality: every bundled scenario gives the same results on PySD and Simlin.

Tolerance: 1e-9 relative to each variable's largest magnitude. Both engines use Euler
integration on the same equations; measured differences are ~1e-13 (floating-point
order of operations). Both run at a coarse step of 0.5 year so that the whole folder
runs on PySD in about a minute: equality of the engines does not depend on the step,
and one scenario is also compared at a finer step, to 2020.
"""

from __future__ import annotations

import numpy as np
import pytest

from transfer_sim.engines import get_engine
from transfer_sim.runner import run_scenario
from transfer_sim.scenarios import list_scenarios, load_scenario

pytestmark = pytest.mark.pysd

RTOL = 1e-9


def _assert_equal(a, b):
    assert set(a.data_vars) == set(b.data_vars)
    np.testing.assert_array_equal(a["time"].values, b["time"].values)
    for name in a.data_vars:
        x, y = a[name].values, b[name].values
        scale = max(float(np.abs(y).max()), 1e-12)
        worst = float(np.abs(x - y).max()) / scale
        assert worst <= RTOL, f"{name}: relative difference {worst:.3e}"
        assert a[name].attrs["units"] == b[name].attrs["units"]
        assert a[name].dims == b[name].dims


@pytest.mark.parametrize("path", list_scenarios(), ids=lambda p: p.stem)
def test_scenario_equal_on_both_engines(path):
    scenario = load_scenario(path)
    fast = run_scenario(scenario, engine="simlin", time_step=0.5)
    ref = run_scenario(scenario, engine="pysd", time_step=0.5)
    _assert_equal(fast, ref)


def test_equal_at_a_finer_step_to_2020():
    scenario = load_scenario("policy-as-written")
    fast = run_scenario(scenario, engine="simlin", final_year=2020, time_step=0.25)
    ref = run_scenario(scenario, engine="pysd", final_year=2020, time_step=0.25)
    _assert_equal(fast, ref)


def test_engines_report_their_names():
    assert get_engine("simlin").name == "simlin"
    assert get_engine("pysd").name == "pysd"
