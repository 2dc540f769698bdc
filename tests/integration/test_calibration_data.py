"""Observed-data CSVs: the bundled file loads; each kind of bad data is one clear line.

Every bad case raises InputError whose one-line message names the file and the
column (key) at fault; the command line turns it into exit 2 with no output written.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from transfer_sim.analysis import calibration as cal
from transfer_sim.cli import main
from transfer_sim.errors import InputError

HEADER = "variable,year,value,unit,source,confidence"
GOOD = "nonresource_revenue,2012,13000,yiyuan/Year,yearbook table 1,high"


def write(tmp_path: Path, text: str, name: str = "obs.csv") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def bad(path: Path, key: str) -> str:
    """Load ``path``; check it fails with one line naming the file and ``key``."""
    with pytest.raises(InputError) as info:
        cal.load_observed(path)
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(str(path))
    assert info.value.file == str(path)
    assert info.value.key == key
    assert f"key '{key}'" in message
    return message


def test_bundled_observations_load_with_weights_from_confidence():
    obs = cal.load_observed()
    assert len(obs) >= 10
    assert set(obs["confidence"]) <= set(cal.CONFIDENCE_SIGMA)
    for conf, sigma in cal.CONFIDENCE_SIGMA.items():
        rows = obs[obs["confidence"] == conf]
        assert (rows["weight"] == 1 / sigma ** 2).all()
    assert obs["year"].between(*cal.HORIZON).all()
    assert (obs["value"] > 0).all()
    assert len(obs.attrs["sha256"]) == 64


def test_a_user_file_in_the_same_shape_loads(tmp_path):
    path = write(tmp_path, "\n".join([
        HEADER + ",note",
        GOOD + ",extra columns are ignored",
        "revenue[chemicals],2010,900.5,yiyuan/Year,yearbook,Medium,",
        "total_employment,2011,120,wanren,survey,low,",
    ]) + "\n")
    obs = cal.load_observed(path)
    assert list(obs["variable"]) == ["nonresource_revenue", "revenue[chemicals]",
                                     "total_employment"]
    assert list(obs["element"]) == ["", "chemicals", ""]
    assert list(obs["confidence"]) == ["high", "medium", "low"]
    assert obs["year"].tolist() == [2012, 2010, 2011]
    assert obs.attrs["file"] == str(path)


def test_a_utf8_bom_and_blank_lines_are_accepted(tmp_path):
    path = tmp_path / "bom.csv"
    path.write_bytes(("\ufeff" + HEADER + "\n\n" + GOOD + "\n\n").encode("utf-8"))
    assert len(cal.load_observed(path)) == 1


@pytest.mark.parametrize("variable, expect", [
    ("gdp", "unknown model output 'gdp'"),
    ("nonresource_revenu", "did you mean nonresource_revenue"),
    ("revenue[steel]", "unknown sector 'steel'"),
    ("revenue", "no sector given"),
    ("nonresource_revenue[chemicals]", "has no sectors"),
    ("cost_elasticity", "unknown model output"),  # a constant, not an output
])
def test_unknown_variable(tmp_path, variable, expect):
    path = write(tmp_path, f"{HEADER}\n{variable},2012,1,yiyuan/Year,s,high\n")
    message = bad(path, "variable")
    assert expect in message
    assert "line 2" in message


@pytest.mark.parametrize("value", ["nan", "NaN", "", "abc", "inf"])
def test_missing_or_non_numeric_value(tmp_path, value):
    path = write(tmp_path, f"{HEADER}\n{GOOD}\nindustrial_revenue,2013,{value},yiyuan/Year,s,low\n")
    message = bad(path, "value")
    assert "line 3" in message
    assert "industrial_revenue 2013" in message
    assert "not a number" in message


@pytest.mark.parametrize("value", ["0", "-5"])
def test_non_positive_value(tmp_path, value):
    path = write(tmp_path, f"{HEADER}\nindustrial_revenue,2013,{value},yiyuan/Year,s,low\n")
    assert "positive" in bad(path, "value")


@pytest.mark.parametrize("unit", ["亿元", "wanren", "yiyuan", ""])
def test_unit_mismatch(tmp_path, unit):
    path = write(tmp_path, f"{HEADER}\nindustrial_revenue,2013,100,{unit},s,low\n")
    message = bad(path, "unit")
    assert "'yiyuan/Year'" in message


def test_unit_mismatch_names_the_model_unit_of_that_variable(tmp_path):
    path = write(tmp_path, f"{HEADER}\ntotal_employment,2013,100,yiyuan/Year,s,low\n")
    assert "model's unit 'wanren'" in bad(path, "unit")


@pytest.mark.parametrize("year, expect", [
    ("2004", "outside the model horizon"),
    ("2021", "outside the model horizon"),
    ("1999", "allowed: 2005 to 2020"),
    ("2012.5", "not a whole year"),
    ("c.2014", "not a whole year"),
    ("", "not a whole year"),
])
def test_year_outside_the_horizon_or_not_a_year(tmp_path, year, expect):
    path = write(tmp_path, f"{HEADER}\nindustrial_revenue,{year},100,yiyuan/Year,s,low\n")
    assert expect in bad(path, "year")


@pytest.mark.parametrize("text", ["", "   \n\n", "\ufeff"])
def test_empty_file(tmp_path, text):
    path = write(tmp_path, text)
    with pytest.raises(InputError) as info:
        cal.load_observed(path)
    message = str(info.value)
    assert message.startswith(str(path)) and "\n" not in message
    assert "empty file" in message


def test_header_without_rows(tmp_path):
    path = write(tmp_path, HEADER + "\n")
    assert "no observations" in bad(path, "variable")


@pytest.mark.parametrize("missing", cal.OBSERVED_COLUMNS)
def test_missing_column(tmp_path, missing):
    columns = [c for c in cal.OBSERVED_COLUMNS if c != missing]
    values = dict(zip(cal.OBSERVED_COLUMNS, GOOD.split(","), strict=True))
    path = write(tmp_path, ",".join(columns) + "\n" + ",".join(values[c] for c in columns) + "\n")
    message = bad(path, missing)
    assert "missing column" in message
    assert "required: variable, year, value, unit, source, confidence" in message


def test_misspelt_column_is_a_missing_column(tmp_path):
    path = write(tmp_path, HEADER.replace("value", "valeu") + "\n" + GOOD + "\n")
    assert "found: variable, year, valeu" in bad(path, "value")


def test_unknown_confidence(tmp_path):
    path = write(tmp_path, f"{HEADER}\nindustrial_revenue,2013,100,yiyuan/Year,s,certain\n")
    assert "allowed: high, medium, low" in bad(path, "confidence")


def test_missing_source(tmp_path):
    path = write(tmp_path, f"{HEADER}\nindustrial_revenue,2013,100,yiyuan/Year,,low\n")
    assert "no source" in bad(path, "source")


def test_repeated_variable_and_year(tmp_path):
    path = write(tmp_path, f"{HEADER}\n{GOOD}\n{GOOD}\n")
    message = bad(path, "variable")
    assert "repeated" in message and "line 2" in message and "line 3" in message


def test_ragged_row(tmp_path):
    path = write(tmp_path, f"{HEADER}\n{GOOD},extra\n")
    assert "7 fields, the header has 6" in bad(path, "line")


def test_file_not_found_and_not_utf8(tmp_path):
    missing = tmp_path / "nope.csv"
    with pytest.raises(InputError, match="file not found"):
        cal.load_observed(missing)
    latin = tmp_path / "latin.csv"
    latin.write_bytes((HEADER + "\nnonresource_revenue,2012,1,yiyuan/Year,caf\xe9,high\n")
                      .encode("latin-1"))
    with pytest.raises(InputError, match="not UTF-8"):
        cal.load_observed(latin)


def test_check_observed_validates_a_dataframe_too():
    frame = pd.DataFrame([{"variable": "industrial_revenue", "year": 2012, "value": math.nan,
                           "unit": "yiyuan/Year", "source": "s", "confidence": "high"}])
    with pytest.raises(InputError) as info:
        cal.check_observed(frame, file="notebook")
    assert info.value.key == "value" and "row 1" in str(info.value)


def test_calibrate_command_reports_bad_data_in_one_line_and_writes_nothing(tmp_path, capsys):
    path = write(tmp_path, f"{HEADER}\nindustrial_revenue,2030,100,yiyuan/Year,s,low\n")
    output = tmp_path / "calibrated.toml"
    code = main(["calibrate", "--observed", str(path), "-o", str(output), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err
    assert lines[0].startswith(f"transfer-sim: error: {path}: key 'year': line 2: year 2030")
    assert not output.exists()
    assert [p.name for p in tmp_path.iterdir()] == ["obs.csv"]


@pytest.mark.parametrize("argv, key", [
    (["--maxiter", "0"], "maxiter"),
    (["--fit-until", "2004"], "fit_until"),
    (["--time-step", "0.3"], "--time-step"),
    (["--parameters", "gdp_growth"], "gdp_growth"),
])
def test_calibrate_command_rejects_bad_settings(tmp_path, capsys, argv, key):
    path = write(tmp_path, f"{HEADER}\n{GOOD}\n")
    output = tmp_path / "calibrated.toml"
    code = main(["calibrate", "--observed", str(path), "-o", str(output), "--quiet", *argv])
    err = capsys.readouterr().err
    assert code == 2, err
    assert f"key '{key}'" in err and len(err.strip().splitlines()) == 1
    assert not output.exists()
