"""The ``transfer-sim`` commands end to end on the Simlin engine, and atomic outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from transfer_sim.analysis import checks
from transfer_sim.analysis.kpis import kpi_table
from transfer_sim.cli import main
from transfer_sim.engines.simlin_engine import SimlinEngine
from transfer_sim.errors import ModelError
from transfer_sim.inputs.levers import LEVERS
from transfer_sim.inputs.scenarios import list_scenarios, load_scenario
from transfer_sim.run.results import read_netcdf
from transfer_sim.run.runner import run_scenario

KPI_COLUMNS = ["scenario", "kpi", "year", "value", "unit", "target", "met"]


# --- compare, run, levers -----------------------------------------------------------

def test_compare_writes_the_kpi_csv_and_a_netcdf_with_a_scenario_dim(tmp_path, capsys):
    nc, kpis = tmp_path / "compare.nc", tmp_path / "kpis.csv"
    code = main(["compare", "no-policy", "lever-land", "-o", str(nc), "--kpis", str(kpis)])
    out = capsys.readouterr().out
    assert code == 0
    assert "no-policy" in out and "lever-land" in out and ("met" in out or "MISSED" in out)

    table = pd.read_csv(kpis)
    assert list(table.columns) == KPI_COLUMNS
    assert list(dict.fromkeys(table["scenario"])) == ["no-policy", "lever-land"]
    assert set(table["year"]) == {2015}
    targeted = table[table["target"].notna()]
    assert len(targeted) >= 10
    met = targeted["met"].astype(str) == "True"
    assert (met == (targeted["value"] >= targeted["target"])).all()
    assert table.loc[table["target"].isna(), "met"].isna().all()

    ds = read_netcdf(nc)
    assert list(ds["scenario"].values) == ["no-policy", "lever-land"]
    assert all("scenario" in ds[v].dims and ds[v].attrs.get("units") for v in ds.data_vars)
    files = json.loads(ds.attrs["scenario_file"])
    assert set(files) == {"no-policy", "lever-land"}
    # The CSV holds the indicators of the written Dataset.
    again = kpi_table(ds)
    np.testing.assert_allclose(table["value"].to_numpy(), again["value"].to_numpy(),
                               rtol=1e-12)


def test_compare_format_csv_writes_a_tidy_table(tmp_path, capsys):
    out = tmp_path / "compare.out"
    assert main(["compare", "no-policy", "policy-as-written", "-o", str(out),
                 "--format", "csv"]) == 0
    capsys.readouterr()
    frame = pd.read_csv(out, keep_default_na=False)
    assert list(frame.columns) == ["scenario", "variable", "sector", "time", "value", "unit"]
    assert set(frame["scenario"]) == {"no-policy", "policy-as-written"}
    assert "nonresource_revenue" in set(frame["variable"])
    assert np.isfinite(pd.to_numeric(frame["value"])).all()


def test_run_writes_csv_by_suffix(tmp_path, capsys):
    csv = tmp_path / "run.csv"
    assert main(["run", "late-start", "-o", str(csv)]) == 0
    assert f"wrote {csv}" in capsys.readouterr().err
    frame = pd.read_csv(csv, keep_default_na=False)
    assert list(frame.columns) == ["variable", "sector", "time", "value", "unit"]
    revenue = frame[frame["variable"] == "nonresource_revenue"]
    expected = run_scenario(load_scenario("late-start"), engine="simlin",
                            variables=["nonresource_revenue"])
    np.testing.assert_allclose(revenue["value"].to_numpy(),
                               expected["nonresource_revenue"].values, rtol=1e-12)
    assert set(revenue["unit"]) == {expected["nonresource_revenue"].attrs["units"]}


@pytest.mark.slow
def test_python_dash_m_levers_lists_every_lever():
    env = dict(os.environ)
    proc = subprocess.run([sys.executable, "-m", "transfer_sim", "levers"], env=env,
                          capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    for lever in LEVERS:
        row = next(line for line in lines if line.split()[0] == lever.name)
        assert lever.section.split()[0] in row and lever.description in row
        if lever.kind != "option":
            assert lever.unit in row


def test_validate_accepts_every_bundled_scenario(capsys):
    paths = [str(p) for p in list_scenarios()]
    assert main(["validate", *paths]) == 0
    assert capsys.readouterr().out.count("ok  ") == len(paths)


# --- check ----------------------------------------------------------------------------

def test_check_matrix_covers_every_lever_at_both_bounds():
    cases = checks.matrix()
    by_levers = [c.levers for c in cases]
    for lever in LEVERS:
        if lever.kind == "option":
            for option in lever.options:
                assert {lever.name: option} in by_levers
        else:
            assert {lever.name: lever.bounds[0]} in by_levers
            assert {lever.name: lever.bounds[1]} in by_levers
    numeric = [lv for lv in LEVERS if lv.kind != "option"]
    assert {lv.name: lv.bounds[0] for lv in numeric} in by_levers
    assert {lv.name: lv.bounds[1] for lv in numeric} in by_levers
    assert {} in by_levers
    assert len({c.name for c in cases}) == len(cases)


def test_check_command_passes_and_prints_the_table(capsys):
    code = main(["check", "--lever", "land_discount", "--lever", "tax_relief",
                 "--uncertainty", "none"])
    out = capsys.readouterr().out
    assert code == 0
    for row in ("land_discount = min (0 Dmnl)", "land_discount = max (0.7 Dmnl)",
                'tax_relief = "none"', "all levers at min", "all levers at max"):
        line = next(line for line in out.splitlines() if line.startswith(row))
        assert line.rstrip().endswith("pass")
    header = next(line for line in out.splitlines() if line.startswith("case "))
    assert all(col in header.split() for col in ("stocks>=0", "costs>=0", "bounded"))
    assert "uncertainties" not in out
    n = 1 + 2 + len(next(lv for lv in LEVERS if lv.name == "tax_relief").options) + 3
    assert f"{n} cases, {n} passed, 0 failed" in out


UNCERTAINTY_ROWS = ("strongest package, uncertainties low", "strongest package, uncertainties high",
                    "weakest package, uncertainties low", "weakest package, uncertainties high")


def test_check_command_runs_both_packages_at_both_uncertainty_ends(capsys):
    code = main(["check", "--lever", "land_discount", "--final-year", "2015"])
    out = capsys.readouterr().out
    lines = out.splitlines()
    for row in UNCERTAINTY_ROWS:
        line = next(line for line in lines if line.startswith(row))
        cells = line[len(row):].split()
        assert cells == ["ok"] * (len(cells) - 1) + ["pass"], line
    assert "10 cases, 10 passed, 0 failed" in out and code == 0


def test_a_falling_nonresource_industry_gives_a_negative_contribution_not_a_clipped_one():
    """Weakest package, every uncertainty at its high end: non-resource value added falls
    from 2010 to 2015 while the resource industry's grows, so T3, the non-resource share
    of the increment (二), is negative: an explicable extreme, reported as it is."""
    from transfer_sim.analysis.kpis import kpi_series
    from transfer_sim.inputs.uncertainty import load_uncertainties

    case = next(c for c in checks.matrix(["land_discount"], load_uncertainties("default"))
                if c.name == UNCERTAINTY_ROWS[3])
    (result,) = checks.run_matrix([case], engine="simlin", final_year=2015)
    assert result.passed, [c.detail for c in result.checks if not c.passed]
    ds = checks.case_dataset(case, engine="simlin", final_year=2015)
    series = kpi_series(ds)
    t3 = float(series["contribution_rate"].sel(time=2015.0))
    flows = {n: ds[f"cumulative_{n}"] for n in ("nonresource_real_value_added",
                                                "resource_real_value_added")}
    d = {n: float((c.sel(time=2016.0) - c.sel(time=2015.0))
                  - (c.sel(time=2011.0) - c.sel(time=2010.0))) for n, c in flows.items()}
    assert d["nonresource_real_value_added"] < 0 < d["resource_real_value_added"]
    assert t3 < 0
    assert t3 == pytest.approx(100 * d["nonresource_real_value_added"] / sum(d.values()),
                               rel=1e-9)


def test_check_command_fails_when_a_check_fails(monkeypatch, capsys):
    real = checks.check_dataset

    def fake(ds):
        results = real(ds)
        if json.loads(ds.attrs["levers"]) == {"land_discount": 0.7}:
            results[1] = checks.CheckResult("stocks_nonnegative", False, "negative: x (-1)")
        return results

    monkeypatch.setattr(checks, "check_dataset", fake)
    code = main(["check", "--lever", "land_discount", "--final-year", "2015", "--uncertainty",
                 "none"])
    out = capsys.readouterr().out
    assert code == 1
    assert "FAIL  land_discount = max (0.7 Dmnl): stocks_nonnegative: negative: x (-1)" in out
    assert "1 failed" in out


def test_check_command_reports_a_run_that_fails(monkeypatch, capsys):
    real = checks.run_levers

    def flaky(levers, **kwargs):
        if levers.get("land_discount") == 0.0:
            raise ModelError("Simlin run failed: boom")
        return real(levers, **kwargs)

    monkeypatch.setattr(checks, "run_levers", flaky)
    code = main(["check", "--lever", "land_discount", "--final-year", "2015", "--uncertainty",
                 "none"])
    out = capsys.readouterr().out
    assert code == 1
    assert "ERROR land_discount = min (0 Dmnl): Simlin run failed: boom" in out


def test_check_command_rejects_a_bad_final_year(capsys):
    assert main(["check", "--final-year", "2030"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "key 'final-year'" in err[0] and "2015 to 2020" in err[0]


# --- atomic outputs -------------------------------------------------------------------

def _leftovers(folder):
    return [p.name for p in folder.iterdir() if p.name.endswith(".part")]


@pytest.mark.parametrize(("error", "code"), [(KeyboardInterrupt, 130),
                                             (ModelError("Simlin run failed: x"), 2)])
def test_failed_run_leaves_no_output_and_keeps_an_existing_one(tmp_path, monkeypatch, capsys,
                                                               error, code):
    def broken(self, spec):
        raise error

    monkeypatch.setattr(SimlinEngine, "run", broken)
    fresh, existing = tmp_path / "fresh.nc", tmp_path / "existing.nc"
    existing.write_bytes(b"previous results")
    assert main(["run", "no-policy", "-o", str(fresh)]) == code
    assert main(["compare", "-o", str(existing)]) == code
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert not fresh.exists()
    assert existing.read_bytes() == b"previous results"
    assert _leftovers(tmp_path) == []


@pytest.mark.parametrize(("target", "method", "suffix"), [
    (xr.Dataset, "to_netcdf", "nc"), (pd.DataFrame, "to_csv", "csv")])
def test_write_interrupted_midway_keeps_the_existing_file(tmp_path, monkeypatch, capsys,
                                                          target, method, suffix):
    def half_written(self, path=None, *args, **kwargs):
        with open(path, "wb") as fh:
            fh.write(b"half a file")
        raise KeyboardInterrupt

    monkeypatch.setattr(target, method, half_written)
    out = tmp_path / f"out.{suffix}"
    out.write_bytes(b"previous results")
    assert main(["run", "no-policy", "-o", str(out)]) == 130
    assert "interrupted" in capsys.readouterr().err
    assert out.read_bytes() == b"previous results"
    assert _leftovers(tmp_path) == []
    fresh = tmp_path / f"fresh.{suffix}"
    assert main(["run", "no-policy", "-o", str(fresh)]) == 130
    assert not fresh.exists()
