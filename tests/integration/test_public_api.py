"""The public verbs of ``import transfer_sim as ts`` take what a user has in hand."""

from __future__ import annotations

import subprocess
import sys

import numpy as np
import pytest

import transfer_sim as ts
from transfer_sim.inputs.scenarios import default_scenarios_dir


def test_run_takes_a_name_a_path_a_scenario_or_levers():
    by_name = ts.run("policy-as-written")
    by_path = ts.run(default_scenarios_dir() / "policy-as-written.toml")
    by_str_path = ts.run(str(default_scenarios_dir() / "policy-as-written.toml"))
    by_object = ts.run(ts.load_scenario("policy-as-written"))
    for ds in (by_path, by_str_path, by_object):
        np.testing.assert_array_equal(ds["nonresource_revenue"], by_name["nonresource_revenue"])
    levers = ts.run({"power_discount": 0.08})
    assert float(levers["power_discount"].sel(time=2012.0)) == 0.08
    assert ts.run()["time"].values[-1] == 2016.0     # the defaults, to the end of 2015


@pytest.mark.parametrize("bad", [42, ["no-policy"], 3.5])
def test_run_refuses_anything_else_with_what_is_allowed(bad):
    with pytest.raises(ts.InputError, match="allowed: a scenario name, a path"):
        ts.run(bad)


def test_unknown_scenario_name_is_an_input_error():
    with pytest.raises(ts.InputError, match="no scenario named"):
        ts.run("no-such-scenario")


def test_compare_takes_names_and_the_verbs_the_readme_names_are_exported():
    ds = ts.compare(["no-policy", "policy-as-written"])
    assert list(ds["scenario"].values) == ["no-policy", "policy-as-written"]
    for verb in ("run_ensemble", "run_sensitivity", "attribute", "make_report", "calibrate",
                 "kpi_table", "load_uncertainties"):
        assert callable(getattr(ts, verb)), verb
    assert set(ts.__all__) <= set(dir(ts))


@pytest.mark.slow
def test_a_simlin_run_of_a_scenario_name_in_a_fresh_process_does_not_import_pysd():
    code = ("import sys, transfer_sim as ts; ts.run('policy-as-written'); "
            "print('pysd' in sys.modules)")
    ts.run("policy-as-written")  # facts cached on disk
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         check=True)
    assert out.stdout.strip() == "False", out.stderr
