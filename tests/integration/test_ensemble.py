"""Ensembles on the fast engine: determinism, resume after Ctrl-C and SIGKILL, Dask."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import h5py
import numpy as np
import pytest
import xarray as xr

from transfer_sim.analysis.kpis import kpi_values, required_variables
from transfer_sim.cli import main
from transfer_sim.engines import get_engine
from transfer_sim.errors import InputError
from transfer_sim.inputs.scenarios import load_scenario
from transfer_sim.inputs.uncertainty import load_uncertainties
from transfer_sim.run.block_store import MANIFEST, BlockStore
from transfer_sim.run.ensemble import default_variables, run_ensemble, work_dir_for
from transfer_sim.run.plan import plan

SCENARIOS = ("no-policy", "policy-as-written")
RUNS = 12


@pytest.fixture(scope="module")
def scenarios():
    return [load_scenario(s) for s in SCENARIOS]


@pytest.fixture(scope="module")
def unc():
    return load_uncertainties("default")


def _open(path: Path) -> xr.Dataset:
    with xr.open_dataset(path, engine="h5netcdf") as ds:
        return ds.load()


def _same(a: xr.Dataset, b: xr.Dataset) -> None:
    """Equal data, coordinates and attributes except the creation time."""
    a, b = a.copy(), b.copy()
    for ds in (a, b):
        ds.attrs.pop("created", None)
    xr.testing.assert_identical(a, b)


@pytest.fixture(scope="module")
def reference_path(tmp_path_factory, scenarios, unc):
    """An uninterrupted ensemble on one local worker process."""
    out = tmp_path_factory.mktemp("ref") / "ens.nc"
    run_ensemble(scenarios, unc, runs=RUNS, output=out, seed=7, workers=1, chunk_size=4)
    return out


@pytest.fixture(scope="module")
def reference(reference_path):
    return _open(reference_path)


def test_the_file_has_run_scenario_time_sector_dims_and_the_sampled_values(reference, unc):
    ds = reference
    # quarterly from 2005 to the end of 2015
    assert dict(ds.sizes) == {"scenario": 2, "run": RUNS, "time": 45, "sector": 7}
    assert list(ds["scenario"].values) == list(SCENARIOS)
    np.testing.assert_array_equal(ds["run"].values, np.arange(RUNS))
    for u in unc:
        assert ds[u.name].dims == ("run",)
        lo, hi = u.support
        assert np.all((ds[u.name] >= lo) & (ds[u.name] <= hi))
        assert ds[u.name].attrs["distribution"] == u.describe()
        assert ds[u.name].attrs["source"] == u.source
    assert set(required_variables()) <= set(ds.data_vars)
    assert ds["revenue"].dims == ("scenario", "run", "time", "sector")
    assert ds["jobs_brought_by_transfer"].dims == ("scenario", "run", "time")
    assert ds["jobs_brought_by_transfer"].attrs["units"] == "wanren"
    # only the indicators' variables (and revenue by sector) by default
    assert set(ds.data_vars) == set(default_variables()) | set(unc.names)
    assert ds.attrs["seed"] == 7 and ds.attrs["sampler"] == "lhs"
    assert ds.attrs["uncertainty_sha256"] == unc.sha256


def test_each_run_equals_a_single_run_with_its_sampled_values(reference, unc):
    engine = get_engine("simlin")
    for scen, run in (("no-policy", 0), ("policy-as-written", RUNS - 1)):
        sampled = {u.name: float(reference[u.name][run]) for u in unc}
        raw = engine.run(plan(load_scenario(scen), extra_inputs=sampled,
                              variables=["jobs_brought_by_transfer", "revenue"]))
        got = reference.sel(scenario=scen, run=run)
        np.testing.assert_array_equal(got["jobs_brought_by_transfer"].values,
                                      raw.data["jobs_brought_by_transfer"])
        np.testing.assert_array_equal(got["revenue"].values, raw.data["revenue"])


def test_the_uncertainties_move_the_indicators(reference):
    kv = kpi_values(reference)
    assert float(kv["nonresource_revenue"].std("run").min()) > 0
    assert float(kv["new_jobs"].std("run").min()) > 0


def test_the_same_seed_gives_the_same_file_and_another_seed_another(tmp_path, scenarios, unc,
                                                                     reference):
    out = tmp_path / "again.nc"
    run_ensemble(scenarios, unc, runs=RUNS, output=out, seed=7, workers=2, chunk_size=5)
    _same(reference, _open(out))
    assert not work_dir_for(out).exists()
    other = tmp_path / "other.nc"
    run_ensemble(scenarios[:1], unc, runs=RUNS, output=other, seed=8, workers=1,
                 chunk_size=4)
    assert not np.array_equal(_open(other)["cost_elasticity"].values,
                              reference["cost_elasticity"].values)


def test_ctrl_c_after_some_blocks_then_rerun_gives_the_uninterrupted_file(tmp_path, scenarios,
                                                                          unc, reference):
    out = tmp_path / "ens.nc"
    seen: list[int] = []

    def interrupt_after_two(done: int, total: int) -> None:
        seen.append(done)
        if done == 2:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_ensemble(scenarios, unc, runs=RUNS, output=out, seed=7, workers=1, chunk_size=4,
                     on_block=interrupt_after_two)
    assert not out.exists()
    kept = sorted(p.name for p in work_dir_for(out).glob("*.h5"))
    assert len(kept) == 2
    resumed: list[int] = []
    run_ensemble(scenarios, unc, runs=RUNS, output=out, seed=7, workers=1, chunk_size=4,
                 on_block=lambda d, t: resumed.append(d))
    assert resumed == [3, 4, 5, 6]  # only the 4 missing blocks of 6 ran
    _same(reference, _open(out))


def test_a_work_folder_of_other_settings_is_refused_not_mixed_in(tmp_path, scenarios, unc):
    out = tmp_path / "ens.nc"

    def stop(done: int, total: int) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_ensemble(scenarios[:1], unc, runs=8, output=out, seed=1, workers=1, chunk_size=4,
                     on_block=stop)
    with pytest.raises(InputError, match="unfinished ensemble with other settings"):
        run_ensemble(scenarios[:1], unc, runs=8, output=out, seed=2, workers=1, chunk_size=4)


def _cli(out: Path, *extra: str) -> list[str]:
    return [sys.executable, "-m", "transfer_sim", "ensemble", *SCENARIOS, "--uncertainty",
            "default", "--runs", "60", "--seed", "3", "--chunk-size", "3", "--workers", "1",
            "--quiet", "-o", str(out), *extra]


def _wait_for_blocks(proc: subprocess.Popen, work: Path, n: int, timeout: float = 90) -> int:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        count = len(list(work.glob("*.h5"))) if work.exists() else 0
        if count >= n:
            return count
        if proc.poll() is not None:
            pytest.fail(f"ensemble ended (exit {proc.returncode}) before {n} blocks")
        time.sleep(0.02)
    pytest.fail("no blocks written in time")


def _manifest(out: Path) -> dict:
    import json

    return json.loads((work_dir_for(out) / MANIFEST).read_text(encoding="utf-8"))


def _children(pid: int) -> list[int]:
    import psutil

    return [c.pid for c in psutil.Process(pid).children(recursive=True)]


@pytest.fixture(scope="module")
def cli_reference(tmp_path_factory, scenarios, unc):
    out = tmp_path_factory.mktemp("cliref") / "ens.nc"
    run_ensemble(scenarios, unc, runs=60, output=out, seed=3, workers=2, chunk_size=3)
    return _open(out)


@pytest.mark.slow
def test_sigkill_of_the_whole_command_then_rerun_gives_the_uninterrupted_file(tmp_path,
                                                                            cli_reference):
    out = tmp_path / "ens.nc"
    env = os.environ | {"PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(_cli(out), env=env, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _wait_for_blocks(proc, work_dir_for(out), 3)
        os.killpg(proc.pid, signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        if proc.stderr is not None:
            proc.stderr.close()
    assert proc.returncode == -signal.SIGKILL
    assert not out.exists()
    kept = len(list(work_dir_for(out).glob("*.h5")))
    assert 3 <= kept < 40
    # No half-written block survives: every block file is complete. A SIGKILL can leave a
    # writer's hidden temporary .part file (not a block); resuming removes it.
    for block in work_dir_for(out).glob("*.h5"):
        with h5py.File(block, "r") as f:
            assert f["values"].shape[0] == 3
    (work_dir_for(out) / ".s000-c000099.h5.stale.part").write_bytes(b"half")
    resumed = BlockStore.open(work_dir_for(out), _manifest(out)["fingerprint"], {})
    assert not list(resumed.folder.glob("*.part"))
    done = subprocess.run(_cli(out), env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "resuming from" in done.stderr
    _same(cli_reference, _open(out))


@pytest.mark.slow
def test_a_killed_worker_stops_the_command_in_one_line_and_a_rerun_resumes(tmp_path,
                                                                         cli_reference):
    out = tmp_path / "ens.nc"
    env = os.environ | {"PYTHONWARNINGS": "ignore"}
    proc = subprocess.Popen(_cli(out), env=env, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    try:
        _wait_for_blocks(proc, work_dir_for(out), 2)
        for pid in _children(proc.pid):
            os.kill(pid, signal.SIGKILL)
        _, err = proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 2, err
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert lines[-1].startswith("transfer-sim: error: a worker process died")
    assert "rerun the same command to resume" in lines[-1]
    assert not out.exists() and work_dir_for(out).exists()
    assert main(_cli(out)[3:]) == 0
    _same(cli_reference, _open(out))


@pytest.mark.slow
def test_the_dask_path_gives_the_same_file_as_the_local_path(tmp_path, scenarios, unc,
                                                             reference):
    from distributed import LocalCluster

    out = tmp_path / "dask.nc"
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False,
                      dashboard_address=None) as cluster:
        run_ensemble(scenarios, unc, runs=RUNS, output=out, seed=7, chunk_size=4,
                     scheduler=cluster.scheduler_address)
    _same(reference, _open(out))


def test_cli_ensemble_prints_the_probability_table(tmp_path, capsys):
    out = tmp_path / "cli.nc"
    code = main(["ensemble", "policy-as-written", "--uncertainty", "default", "--runs", "2",
                 "--workers", "1", "--quiet", "-o", str(out)])
    printed = capsys.readouterr().out
    assert code == 0
    assert "Probability of meeting each target (2 runs" in printed
    assert "T5 demonstration parks" in printed
    assert _open(out).sizes["run"] == 2


def test_all_variables_keeps_every_model_output(tmp_path, unc):
    import h5py

    from transfer_sim.engines.base import output_variables
    from transfer_sim.model.core import catalogue

    out = tmp_path / "all.nc"
    run_ensemble([load_scenario("no-policy")], unc, runs=2, output=out, workers=1,
                 all_variables=True)
    with h5py.File(out, "r") as f:
        names = set(f.keys())
    assert set(output_variables(catalogue())) | set(unc.names) <= names


def test_scheduler_that_cannot_be_reached_is_one_line(tmp_path, capsys):
    import dask

    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = main(["ensemble", "no-policy", "--uncertainty", "default", "--runs", "2",
                     "--scheduler", "tcp://127.0.0.1:9", "-o", str(tmp_path / "e.nc")])
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1
    assert "cannot reach the Dask scheduler" in err


def test_report_sections_of_an_ensemble_file(reference_path, tmp_path):
    from transfer_sim.report.ensemble import ensemble_file_sections

    sections = ensemble_file_sections(reference_path)
    assert [s.title for s in sections] == ["Probability of meeting the targets",
                                           "Indicators under uncertainty"]
    table, fans = sections[0].html, sections[1].html
    assert "T5 demonstration parks" in table and "policy-as-written" in table
    assert table.count("data:image/png;base64,") == 1 and fans.count("<img") == 1
    assert f"{RUNS} ensemble runs from ens.nc" in table
    single = tmp_path / "single.nc"
    _open(reference_path).isel(run=0).to_netcdf(single, engine="h5netcdf")
    with pytest.raises(InputError, match="single.nc: not an ensemble file"):
        ensemble_file_sections(single)
    with pytest.raises(InputError, match="cannot read the ensemble file"):
        ensemble_file_sections(tmp_path / "missing.nc")


def test_a_scenarios_calibrated_parameters_apply_unless_sampled(tmp_path):
    import json

    from transfer_sim.inputs.uncertainty import UncertaintySet

    scen = load_scenario("calibrated")
    assert scen.parameters  # the calibrated layer sets point estimates
    two = load_uncertainties("default")
    keep = [u for u in two if u.name in ("investment_sensitivity", "asset_life")]
    unc = UncertaintySet(tuple(keep))
    out = tmp_path / "cal.nc"
    run_ensemble([scen], unc, runs=2, output=out, workers=1)
    ds = _open(out)
    engine = get_engine("simlin")
    sampled = {u.name: float(ds[u.name][1]) for u in unc}
    name = "cumulative_nonresource_revenue"  # what T2 is read from
    raw = engine.run(plan(scen, extra_inputs=sampled, variables=[name]))
    np.testing.assert_array_equal(ds[name].isel(scenario=0, run=1).values, raw.data[name])
    prov = json.loads(ds.attrs["scenario_provenance"])["calibrated"]
    assert prov["parameters_replaced_by_uncertainties"] == ["investment_sensitivity"]
    assert "reinvestment_rate[chemicals]" in json.dumps(prov["parameters"])
