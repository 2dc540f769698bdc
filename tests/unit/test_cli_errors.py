"""Bad input on the command line: one line on stderr naming file, key and what is allowed.

Every case exits 2, prints no traceback and writes no output file.
"""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from transfer_sim.cli import main


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def run_bad(capsys, argv: list[str], output: Path) -> str:
    """Run the CLI, check exit 2, one stderr line, no traceback, no output; return the line."""
    code = main(argv)
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1, captured.err
    assert "Traceback" not in captured.err
    assert lines[0].startswith("transfer-sim: error: ")
    assert not output.exists()
    if output.parent.is_dir():
        assert [p.name for p in output.parent.iterdir() if p.name.endswith(".part")] == []
    return lines[0]


@pytest.fixture
def out(tmp_path: Path) -> Path:
    return tmp_path / "out.nc"


def test_unknown_lever_with_did_you_mean(tmp_path, out, capsys):
    path = write(tmp_path, "typo", """
        extends = "no-policy"
        [levers]
        land_discont = 0.2
    """)
    line = run_bad(capsys, ["run", str(path), "-o", str(out)], out)
    assert str(path) in line and "key 'land_discont': line 4:" in line
    assert "unknown lever" in line and "did you mean 'land_discount'" in line


def test_wrong_type(tmp_path, out, capsys):
    path = write(tmp_path, "wrongtype", """
        extends = "no-policy"
        [levers]
        special_fund = "thirty"
    """)
    line = run_bad(capsys, ["run", str(path), "-o", str(out)], out)
    assert str(path) in line and "key 'special_fund'" in line
    assert "got str 'thirty'" in line and "allowed: a number from 0 to 200 yiyuan/Year" in line


def test_value_out_of_range_with_the_bounds(tmp_path, out, capsys):
    path = write(tmp_path, "range", """
        extends = "no-policy"
        [levers]
        power_discount = 0.2
    """)
    line = run_bad(capsys, ["run", str(path), "-o", str(out)], out)
    assert str(path) in line and "key 'power_discount'" in line
    assert "out of range" in line and "from 0 to 0.15 yiyuan/yikWh" in line


def test_schedule_with_unordered_years(tmp_path, out, capsys):
    path = write(tmp_path, "unordered", """
        extends = "policy-as-written"
        [levers]
        power_discount = { 2013 = 0.08, 2011 = 0.04 }
    """)
    line = run_bad(capsys, ["run", str(path), "-o", str(out)], out)
    assert str(path) in line and "key 'power_discount'" in line
    assert "increasing order" in line


def test_schedule_with_years_outside_the_horizon(tmp_path, out, capsys):
    path = write(tmp_path, "horizon", """
        extends = "policy-as-written"
        [levers]
        special_fund = { 2011 = 30, 2017 = 0 }
    """)
    line = run_bad(capsys, ["run", str(path), "-o", str(out)], out)
    assert str(path) in line and "key 'special_fund'" in line
    assert "outside the horizon" in line and "allowed: years from 2005 to 2015" in line


def test_unknown_named_option_lists_the_options(tmp_path, out, capsys):
    path = write(tmp_path, "option", """
        extends = "no-policy"
        [levers]
        tax_relief = "two-free-three-halves"
    """)
    line = run_bad(capsys, ["run", str(path), "-o", str(out)], out)
    assert str(path) in line and "key 'tax_relief'" in line
    for option in ("none", "two-free-three-half", "three-free-three-half", "custom"):
        assert f'"{option}"' in line


def test_extends_names_a_missing_scenario(tmp_path, out, capsys):
    path = write(tmp_path, "orphan", 'extends = "policy-as-writen"\n')
    line = run_bad(capsys, ["run", str(path), "-o", str(out)], out)
    assert str(path) in line and "key 'extends'" in line
    assert "did you mean 'policy-as-written'" in line and "allowed:" in line


def test_cycle_in_extends(tmp_path, out, capsys):
    first = write(tmp_path, "first", 'extends = "second"\n')
    second = write(tmp_path, "second", 'extends = "first"\n')
    line = run_bad(capsys, ["run", str(first), "-o", str(out)], out)
    assert str(second) in line and "key 'extends'" in line
    assert "cycle in extends: first -> second -> first" in line


def test_malformed_toml_with_its_line(tmp_path, out, capsys):
    path = write(tmp_path, "malformed", """
        name = "malformed"
        [levers]
        land_discount = 0.2 0.3
    """)
    line = run_bad(capsys, ["run", str(path), "-o", str(out)], out)
    # textwrap.dedent keeps the leading blank line: the bad line is line 4
    assert str(path) in line and "key 'land_discount'" in line
    assert "malformed TOML at line 4" in line and "`land_discount = 0.2 0.3`" in line


def test_missing_scenario_file(tmp_path, out, capsys):
    path = tmp_path / "nowhere.toml"
    line = run_bad(capsys, ["run", str(path), "-o", str(out)], out)
    assert str(path) in line and "key 'scenario'" in line
    assert "file not found" in line and "no-policy" in line


def test_unwritable_output_path(tmp_path, capsys):
    target = tmp_path / "no-such-folder" / "out.nc"
    line = run_bad(capsys, ["run", "no-policy", "-o", str(target)], target)
    assert str(target) in line and "key 'output'" in line
    assert "allowed: a file in an existing, writable folder" in line


def test_output_path_that_is_a_folder(tmp_path, capsys):
    line = run_bad(capsys, ["run", "no-policy", "-o", str(tmp_path)], tmp_path / "x")
    assert str(tmp_path) in line and "key 'output'" in line and "is a folder" in line


def test_unwritable_kpi_path_on_compare(tmp_path, out, capsys):
    kpis = tmp_path / "missing" / "kpis.csv"
    line = run_bad(capsys, ["compare", "-o", str(out), "--kpis", str(kpis)], out)
    assert str(kpis) in line and "key 'kpis'" in line


def test_bad_scenario_among_several_on_compare_writes_nothing(tmp_path, out, capsys):
    path = write(tmp_path, "range", '[levers]\nland_discount = 2\n')
    kpis = tmp_path / "kpis.csv"
    line = run_bad(capsys, ["compare", "no-policy", str(path), "-o", str(out),
                            "--kpis", str(kpis)], out)
    assert str(path) in line and "key 'land_discount'" in line
    assert not kpis.exists()


def test_validate_reports_the_first_bad_file(tmp_path, capsys):
    path = write(tmp_path, "bad", '[run]\nfinal_year = 2030\n')
    line = run_bad(capsys, ["validate", "no-policy", str(path)], tmp_path / "none")
    assert str(path) in line and "key 'run.final_year'" in line


@pytest.mark.parametrize(("argv", "name", "allowed"), [
    (["run", "no-policy", "-o"], "results.txt", ".nc, .nc4, .netcdf, .csv"),
    (["compare", "no-policy", "-o"], "compare.json", ".nc, .nc4, .netcdf, .csv"),
    (["report", "no-policy", "-o"], "report.txt", ".html, .htm"),
    (["attribute", "policy-as-written", "--plot"], "bars.jpg", "png, svg, pdf"),
])
def test_unknown_output_suffix_is_refused_before_any_run(tmp_path, capsys, argv, name, allowed):
    target = tmp_path / name
    line = run_bad(capsys, [*argv, str(target)], target)
    assert str(target) in line and "unknown" in line and f"allowed: {allowed}" in line


def test_format_that_contradicts_the_suffix(tmp_path, capsys):
    target = tmp_path / "out.nc"
    line = run_bad(capsys, ["run", "no-policy", "-o", str(target), "--format", "csv"], target)
    assert "key 'format'" in line and "allowed: .csv" in line


@pytest.mark.parametrize(("name", "flag", "suffix_message"), [
    ("t.txt", "-o", "unknown table suffix '.txt'; allowed: .csv"),
    ("f.gif", "--figure", "unknown figure format 'gif'"),
])
def test_history_refuses_a_bad_suffix(tmp_path, capsys, name, flag, suffix_message):
    target = tmp_path / name
    argv = ["history", "calibrated", "-o", str(tmp_path / "t.csv"), flag, str(target)]
    line = run_bad(capsys, argv, target)
    assert suffix_message in line and str(target) in line
    assert not (tmp_path / "t.csv").exists()


def test_history_refuses_an_unknown_scenario(tmp_path, capsys):
    table = tmp_path / "t.csv"
    line = run_bad(capsys, ["history", "calibratd", "-o", str(table)], table)
    assert "calibratd" in line and "calibrated" in line


def test_history_refuses_an_ensemble_without_the_scenario(tmp_path, capsys):
    import numpy as np
    import xarray as xr

    ens = tmp_path / "e.nc"
    xr.Dataset({"revenue": (("scenario", "run", "time"), np.ones((1, 2, 3)))},
               coords={"scenario": ["no-policy"], "time": [2005.0, 2006.0, 2007.0]}
               ).to_netcdf(ens, engine="h5netcdf")
    table = tmp_path / "t.csv"
    line = run_bad(capsys, ["history", "calibrated", "-o", str(table), "--ensemble", str(ens)],
                   table)
    assert "no scenario 'calibrated' in the ensemble; it holds: no-policy" in line
    assert str(ens) in line
    missing = tmp_path / "missing.nc"
    line = run_bad(capsys, ["history", "calibrated", "-o", str(table), "--ensemble",
                            str(missing)], table)
    assert "cannot read the ensemble file" in line
