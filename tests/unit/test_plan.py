"""The one plan from scenario to run, the run-settings validators, and the block store.

Nothing here runs the model: a plan is the engine's input, checked as data.
"""

from __future__ import annotations

import json

import numpy as np
import pytest

from transfer_sim.errors import InputError
from transfer_sim.inputs.levers import get_lever, resolve, schedule_to_array
from transfer_sim.inputs.run_settings import (
    DEFAULT_FINAL_YEAR,
    FINAL_YEAR_RANGE,
    validate_final_year,
    validate_time_step,
)
from transfer_sim.inputs.scenarios import Scenario, scenario_from_levers
from transfer_sim.run.block_store import MANIFEST, BlockStore
from transfer_sim.run.plan import plan, with_inputs


def test_plan_applies_levers_then_parameters_then_extra_inputs():
    scen = Scenario(name="x", levers={"policy_start_year": 2012},
                    parameters={"cost_elasticity": 3.0, "competitor_attractiveness": 2.0},
                    final_year=2018, time_step=0.0625)
    spec = plan(scen, extra_inputs={"competitor_attractiveness": 7.0}, variables=["new_jobs"])
    assert spec.inputs[get_lever("policy_start_year").variable] == 2012.0
    assert spec.inputs["cost_elasticity"] == 3.0
    assert spec.inputs["competitor_attractiveness"] == 7.0  # the extra input wins
    assert spec.final_time == 2018.0 and spec.time_step == 0.0625
    assert list(spec.variables) == ["new_jobs"]


def test_plan_of_nothing_is_the_policy_as_written_to_the_default_year():
    spec = plan()
    assert spec.final_time == float(DEFAULT_FINAL_YEAR)
    assert spec.time_step is None and spec.variables is None
    assert spec.inputs == {}  # every lever and parameter keeps the model's value


def test_plan_overrides_and_the_output_interval_never_finer_than_the_step():
    scen = scenario_from_levers("s", {"special_fund": {2011: 30, 2013: 0}})
    spec = plan(scen, final_year=2020, time_step=0.5, saveper=0.25)
    assert spec.final_time == 2020.0 and spec.saveper == 0.5
    want = schedule_to_array(get_lever("special_fund"), {2011: 30, 2013: 0})
    np.testing.assert_array_equal(spec.inputs[get_lever("special_fund").variable], want)
    assert set(spec.inputs) == set(resolve(scen.levers, final_year=2020))


def test_with_inputs_replaces_only_what_it_is_given():
    spec = plan(Scenario(name="x", levers={"policy_start_year": 2012}))
    assert with_inputs(spec, None) is spec and with_inputs(spec, {}) is spec
    more = with_inputs(spec, {"asset_life": 12.0})
    assert more.inputs["asset_life"] == 12.0
    assert {k: v for k, v in more.inputs.items() if k != "asset_life"} == dict(spec.inputs)
    assert set(more.inputs) == set(spec.inputs) | {"asset_life"}
    assert "asset_life" not in spec.inputs  # the original is unchanged


@pytest.mark.parametrize("year", [2014, 2021, 2016.0, True, "2016", None])
def test_a_final_year_outside_the_range_or_not_an_int_is_refused(year):
    lo, hi = FINAL_YEAR_RANGE
    with pytest.raises(InputError, match=f"allowed: a whole year from {lo} to {hi}") as info:
        validate_final_year(year, key="run.final_year", file="x.toml")
    assert info.value.key == "run.final_year" and info.value.file == "x.toml"


def test_a_final_year_is_returned_as_an_int():
    assert validate_final_year(np.int64(2017)) == 2017
    assert type(validate_final_year(np.int64(2017))) is int


@pytest.mark.parametrize("step", [0.1, 0.5, 2 ** -9, 0.0, -0.25, float("nan"), True, "0.25"])
def test_a_time_step_that_is_not_an_allowed_power_of_two_is_refused(step):
    with pytest.raises(InputError, match="allowed: a power of two from 2\\^-8 to 0.25 Year"):
        validate_time_step(step)


def test_the_library_run_functions_accept_coarser_steps_than_scenario_files():
    assert validate_time_step(0.5, largest=1.0) == 0.5
    with pytest.raises(InputError, match="to 1 Year"):
        plan(time_step=2.0)
    with pytest.raises(InputError) as info:
        plan(final_year=2030)
    assert info.value.key == "final_year"


def test_every_final_year_check_is_the_one_validator():
    """Scenario files, the runner's plan and the check matrix give the same message."""
    messages = []
    for call in (lambda: scenario_from_levers("x", final_year=2030),
                 lambda: plan(final_year=2030),
                 lambda: validate_final_year(2030, key="final-year")):
        with pytest.raises(InputError) as info:
            call()
        messages.append(info.value.detail)
    assert len(set(messages)) == 1


def test_a_resumed_block_store_removes_stale_temporary_files_and_keeps_blocks(tmp_path):
    work = tmp_path / "out.nc.work"
    store = BlockStore.open(work, "abc", {"runs": 2})
    assert json.loads((work / MANIFEST).read_text())["fingerprint"] == "abc"
    store.write_block(0, 0, 0, np.array([2005.0, 2006.0]),
                      {"x": np.ones((2, 2)), "y": np.zeros((2, 2, 3))})
    assert store.has(0, 0) and not store.has(0, 1)
    (work / ".s000-c000001.h5.1234.part").write_bytes(b"half a block")
    again = BlockStore.open(work, "abc", {"runs": 2})
    assert again.has(0, 0)
    assert not list(work.glob(".*.part"))
    with pytest.raises(InputError, match="other settings"):
        BlockStore.open(work, "another", {})


def test_a_work_folder_holding_only_a_killed_writers_manifest_part_is_started_afresh(tmp_path):
    work = tmp_path / "out.nc.work"
    work.mkdir()
    (work / f".{MANIFEST}.1234.part").write_text("{")
    store = BlockStore.open(work, "abc", {})
    assert store.manifest["fingerprint"] == "abc"
    (work / "stray.txt").write_text("not ours")
    (work / MANIFEST).unlink()
    with pytest.raises(InputError, match="exists without a manifest"):
        BlockStore.open(work, "abc", {})
