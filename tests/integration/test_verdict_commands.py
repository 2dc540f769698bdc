"""Verdicts with their odds on a small real ensemble: compare, the KPI CSV and the report.

One ensemble of 8 members of no-policy and policy-as-written over the default
uncertainties, and one Sobol' table of policy-as-written over one of them (8 x 3
runs), made once for the module. The flag is recomputed here from the ensemble file
member by member, so the commands' columns are checked against an independent reading.
"""

from __future__ import annotations

from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from transfer_sim.analysis.kpis import KPI_CSV_COLUMNS, kpi_values
from transfer_sim.analysis.probabilities import TARGETS
from transfer_sim.analysis.verdicts import (
    DECIDED_THRESHOLD,
    NOT_DECIDED,
    VERDICT_COLUMNS,
    short_name,
)
from transfer_sim.cli import main
from transfer_sim.inputs.scenarios import load_scenario
from transfer_sim.inputs.uncertainty import load_uncertainties
from transfer_sim.run.ensemble import run_ensemble

RUNS = 8
#: The uncertainty that drives T1-T4 most in the default set (its bundled range).
ONE = """
[uncertainties.competitor_attractiveness]
distribution = "lognormal"
median = 6
sigma = 0.3
source = "test: the bundled range"
"""

@pytest.fixture(scope="module")
def files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("verdicts")
    ens = folder / "ens.nc"
    run_ensemble([load_scenario(s) for s in ("no-policy", "policy-as-written")],
                 load_uncertainties("default"), runs=RUNS, output=ens, seed=3, workers=1)
    unc = folder / "one.toml"
    unc.write_text(ONE, encoding="utf-8")
    sens = folder / "s.csv"
    assert main(["sensitivity", "policy-as-written", "--uncertainty", str(unc), "--runs",
                 str(RUNS), "--workers", "1", "--quiet", "-o", str(sens)]) == 0
    return {"folder": folder, "ensemble": ens, "sensitivity": sens}


@pytest.fixture(scope="module")
def expected(files):
    """P(met) and the flag per target, read from the ensemble file independently."""
    with xr.open_dataset(files["ensemble"], engine="h5netcdf") as ds:
        values = kpi_values(ds.load())
    out = {}
    for name, kpi in TARGETS.items():
        met = values[name] >= kpi.target
        ok = values[name].notnull().all("scenario")
        with_, without = (met.sel(scenario=s).values[ok.values]
                          for s in ("policy-as-written", "no-policy"))
        same = float(np.mean(with_ == without))
        out[name] = {"p_met": float(np.mean(with_)), "p_met_no_policy": float(np.mean(without)),
                     "same": same, "decided": same < DECIDED_THRESHOLD}
    return out


def test_compare_prints_the_verdicts_and_the_kpi_csv_gains_their_columns(files, expected,
                                                                         capsys):
    kpis = files["folder"] / "kpis.csv"
    code = main(["compare", "no-policy", "policy-as-written", "--ensemble",
                 str(files["ensemble"]), "--sensitivity", str(files["sensitivity"]),
                 "--kpis", str(kpis)])
    printed = capsys.readouterr().out
    assert code == 0
    assert f"Verdicts with their odds ({RUNS} members" in printed
    verdict_lines = printed.split("Verdicts with their odds")[1].splitlines()
    table = pd.read_csv(kpis)
    assert list(table.columns) == [*KPI_CSV_COLUMNS, *VERDICT_COLUMNS]
    rows = table[table["scenario"] == "policy-as-written"].set_index("kpi")
    for name, want in expected.items():
        r = rows.loc[name]
        assert r["p_met"] == pytest.approx(want["p_met"])
        assert r["p_met_no_policy"] == pytest.approx(want["p_met_no_policy"])
        assert r["policy_difference"] == pytest.approx(want["p_met"] - want["p_met_no_policy"])
        assert r["same_verdict_share"] == pytest.approx(want["same"])
        assert bool(r["decided_by_policy"]) is want["decided"]
        # the one uncertainty, unless the indicator does not vary (T5's indices NaN)
        assert r["drivers"].startswith(("competitor_attractiveness", "indices undefined"))
        line = next(x for x in verdict_lines if x.startswith(short_name(name) + " "))
        assert (NOT_DECIDED.upper() in line) is (not want["decided"])
    # the counterfactual's rows carry its P(met) only; non-target rows nothing
    cf = table[table["scenario"] == "no-policy"]
    assert cf["decided_by_policy"].isna().all() and cf["p_met"].notna().sum() == len(TARGETS)
    assert table[~table["kpi"].isin(TARGETS)]["p_met"].isna().all()


class _Sections(HTMLParser):
    """The report's sections in order: id and text."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.sections: list[tuple[str, list[str]]] = []

    def handle_starttag(self, tag, attrs):
        if tag == "section":
            self.sections.append((dict(attrs).get("id", ""), []))

    def handle_data(self, data):
        if self.sections:
            self.sections[-1][1].append(data)


def test_the_report_opens_with_the_verdicts_and_names_what_the_policy_does_not_decide(
        files, expected):
    out = files["folder"] / "report.html"
    assert main(["report", "no-policy", "policy-as-written", "--ensemble",
                 str(files["ensemble"]), "--no-attribution", "--quiet", "-o", str(out)]) == 0
    parser = _Sections()
    parser.feed(out.read_text(encoding="utf-8"))
    ids = [s for s, _ in parser.sections]
    assert ids[:2] == ["verdicts", "indicators"]
    assert "probability-of-meeting-the-targets" in ids
    text = "".join(parser.sections[0][1])
    undecided = [short_name(k) for k, w in expected.items() if not w["decided"]]
    if undecided:
        assert "policy-as-written: the policy does not decide " + undecided[0] in text
    else:
        assert "policy-as-written: the policy decides every target." in text
    assert text.count(NOT_DECIDED) == len(undecided) + 1  # the flags and the definition
    assert "give --sensitivity S.csv" in text


def _one_line_error(capsys, argv: list[str]) -> str:
    code = main(argv)
    err = capsys.readouterr().err
    assert code == 2 and err.count("\n") == 1 and "Traceback" not in err
    return err


def test_bad_verdict_inputs_are_one_line_errors_before_any_run(files, tmp_path, capsys):
    kpis = tmp_path / "k.csv"
    err = _one_line_error(capsys, ["compare", "--sensitivity", str(files["sensitivity"]),
                                   "--kpis", str(kpis)])
    assert "give --ensemble" in err
    err = _one_line_error(capsys, ["compare", "--ensemble", str(tmp_path / "none.nc")])
    assert "none.nc" in err and "cannot read the ensemble file" in err
    old = tmp_path / "old.csv"
    pd.read_csv(files["sensitivity"]).drop(columns="scenario").to_csv(old, index=False)
    err = _one_line_error(capsys, ["report", "policy-as-written", "-o",
                                   str(tmp_path / "r.html"), "--ensemble",
                                   str(files["ensemble"]), "--sensitivity", str(old)])
    assert "old.csv" in err and "no column scenario" in err
    err = _one_line_error(capsys, ["compare", "--ensemble", str(files["ensemble"]),
                                   "--sensitivity", str(files["sensitivity"]),
                                   "--sensitivity", str(files["sensitivity"])])
    assert "a second sensitivity table of scenario 'policy-as-written'" in err
    assert not kpis.exists() and not (tmp_path / "r.html").exists()


def test_the_ensemble_command_prints_the_verdicts_with_no_policy_among_its_scenarios(
        tmp_path, capsys):
    out = tmp_path / "e.nc"
    assert main(["ensemble", "no-policy", "policy-as-written", "--uncertainty", "default",
                 "--runs", "2", "--workers", "1", "--quiet", "-o", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "Verdicts with their odds (2 members" in printed
    assert Path(out).exists()
