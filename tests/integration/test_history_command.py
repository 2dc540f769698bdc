"""``transfer-sim history``: the calibrated model against every sourced observation."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from transfer_sim.analysis.calibration import CalibrationProblem, check_observed, load_observed
from transfer_sim.analysis.history import default_validation_path
from transfer_sim.cli import main
from transfer_sim.model.core import SECTORS
from transfer_sim.run.runner import run


@pytest.fixture(scope="module")
def history(tmp_path_factory, facts) -> tuple[pd.DataFrame, Path]:
    folder = tmp_path_factory.mktemp("history")
    table, figure = folder / "t.csv", folder / "f.png"
    assert main(["history", "calibrated", "-o", str(table), "--figure", str(figure),
                 "-q"]) == 0
    return pd.read_csv(table), figure


def test_history_of_the_calibrated_layer_compares_every_sourced_observation(history):
    table, figure = history
    assert len(table) >= 30
    assert {"variable", "period", "observed", "model", "error", "relative_error", "unit",
            "sample", "model_side", "confidence", "source_file", "source"} <= set(table)
    assert np.isfinite(table["error"]).all() and np.isfinite(table["model"]).all()
    difference = table["model"] - table["observed"]
    assert ((table["error"] - difference).abs() <= 1e-5 * table["observed"].abs()).all()
    # out of sample first; in sample only from the calibration file, up to fit-until 2015
    assert list(table["sample"]) == sorted(table["sample"], key=lambda s: s != "out")
    inside = table[table["sample"] == "in"]
    assert len(inside) >= 10 and set(inside["source_file"]) == {"observed.csv"}
    assert inside["year"].max() <= 2015
    later = table[(table["source_file"] == "observed.csv") & (table["year"] > 2015)]
    assert len(later) > 0 and set(later["sample"]) == {"out"}
    assert (table["source_file"] == "validation.csv").sum() == len(
        load_observed(default_validation_path()))
    assert figure.stat().st_size > 10_000


def test_partial_year_rows_are_amounts_over_their_months(history):
    table, _ = history
    partial = table[table["period"].str.contains(" ")]
    assert len(partial) >= 5
    assert not partial["unit"].str.contains("/Year").any()
    h1 = table[(table["variable"] == "coal_output") & (table["period"] == "2015 Jan-Jun")]
    whole = run("calibrated", variables=["coal_output"], final_year=2015)
    rate = whole["coal_output"].sel(time=slice(2015, 2015.5))
    assert float(h1["model"].iloc[0]) == pytest.approx(
        float(rate.integrate("time")), rel=0.02)


def test_history_with_a_synthetic_ensemble_writes_the_band(tmp_path, facts, capsys):
    base = run("calibrated", variables=["revenue"], final_year=2016)
    runs = xr.concat([base[["revenue"]] * s for s in (0.8, 1.0, 1.2)], dim="run")
    runs = runs.expand_dims(scenario=["calibrated"])
    ens = tmp_path / "e.nc"
    runs.to_netcdf(ens, engine="h5netcdf")
    table, figure = tmp_path / "t.csv", tmp_path / "f.svg"
    assert main(["history", "calibrated", "-o", str(table), "--figure", str(figure),
                 "--ensemble", str(ens), "-q"]) == 0
    out = pd.read_csv(table)
    banded = out[out["variable"].str.startswith("revenue[")]
    assert len(banded) >= 4
    assert (banded["model_p05"] < banded["model"]).all()
    assert (banded["model"] < banded["model_p95"]).all()
    assert out.loc[~out.index.isin(banded.index), "model_p05"].isna().all()
    assert "model 5-95 %" in figure.read_text(encoding="utf-8")


def test_history_refuses_a_bad_observed_csv(tmp_path, facts, capsys):
    bad = tmp_path / "bad.csv"
    bad.write_text("variable,year,value,unit,source,confidence\n"
                   "coal_outptu,2010,787,Mt/Year,somewhere,high\n", encoding="utf-8")
    table = tmp_path / "t.csv"
    assert main(["history", "calibrated", "--observed", str(bad), "-o", str(table)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(bad) in err[0] and "did you mean coal_output" in err[0]
    assert not table.exists() and list(tmp_path.iterdir()) == [bad]


def test_a_sector_total_is_the_sum_of_the_sectors_in_calibration_too(facts):
    rows = [{"variable": f"starting_projects[{s}]", "year": 2012, "period": "H1",
             "value": 1.0, "unit": "project", "source": "test", "confidence": "low"}
            for s in (*SECTORS, "total")]
    observed = check_observed(pd.DataFrame(rows))
    problem = CalibrationProblem(observed, ["investment_sensitivity"])
    values = problem.simulate(problem.start_vector())
    assert values[-1] == pytest.approx(values[:-1].sum(), rel=1e-12)
    assert values[-1] > 0
