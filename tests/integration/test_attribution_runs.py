"""Shapley attribution on real model runs (simlin, and batch) and the ``attribute`` command."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from transfer_sim.analysis import attribution as attr
from transfer_sim.analysis.kpis import KPIS, kpi_table
from transfer_sim.cli import main
from transfer_sim.inputs.scenarios import load_scenario
from transfer_sim.run.runner import compare

# Without direct purchase (coverage 0, as in no-policy) the power discount changes nothing.
PACKAGE = """
name = "fund-tax-discount"
description = "no-policy plus a special-fund schedule, 两免三减半 and a discount nobody gets"
extends = "no-policy"

[levers]
special_fund = { 2011 = 20, 2013 = 45 }
tax_relief = "two-free-three-half"
power_discount = 0.06
"""


@pytest.fixture(scope="module")
def package_file(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("scen") / "fund-tax-discount.toml"
    path.write_text(PACKAGE, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def result(package_file):
    return attr.attribute(load_scenario(package_file), load_scenario("no-policy"),
                          engine="simlin")


def test_players_and_runs(result):
    assert result.by == "lever"
    assert [p.name for p in result.players] == ["tax_relief", "special_fund", "power_discount"]
    assert result.values.shape == (8, len(KPIS))
    assert result.engine == "simlin"


def test_ends_match_the_scenarios_own_runs(result, package_file):
    ds = compare([load_scenario("no-policy"), load_scenario(package_file)], engine="simlin")
    wide = kpi_table(ds).pivot(index="kpi", columns="scenario", values="value")
    names = [k.name for k in KPIS]
    assert np.allclose(result.values[0], wide.loc[names, "no-policy"], rtol=1e-12, atol=1e-12)
    assert np.allclose(result.values[-1], wide.loc[names, "fund-tax-discount"], rtol=1e-12,
                       atol=1e-12)


def test_the_batch_engine_gives_the_same_attribution(result, package_file):
    """All 8 subsets in one run_batch call on the batch engine; values equal Simlin's."""
    batch = attr.attribute(load_scenario(package_file), load_scenario("no-policy"),
                           engine="batch")
    assert batch.engine == "batch"
    np.testing.assert_allclose(batch.values, result.values, rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(batch.shapley, result.shapley, rtol=1e-9, atol=1e-9)


def test_efficiency_and_the_idle_lever(result):
    scale = np.abs(result.values).max(axis=0) + 1
    assert np.all(np.abs(result.shapley.sum(axis=0) - result.total) <= 1e-9 * scale)
    idle = [p.name for p in result.players].index("power_discount")
    assert np.all(result.shapley[idle] == 0.0)
    assert np.all(result.alone[idle] == 0.0)
    fund = [p.name for p in result.players].index("special_fund")
    revenue = list(result.kpis).index("nonresource_revenue")
    assert result.shapley[fund, revenue] > 0
    table = result.table()
    for kpi, sub in table.groupby("kpi"):
        levers, total = sub[sub["lever"] != "total"], sub[sub["lever"] == "total"].iloc[0]
        for col in ("contribution", "alone", "interaction"):
            assert math.isclose(math.fsum(levers[col]), total[col], rel_tol=1e-9,
                                abs_tol=1e-9), (kpi, col)


def test_attribute_command_writes_the_table(package_file, tmp_path, capsys):
    out = tmp_path / "attribution.csv"
    plot = tmp_path / "attribution.svg"
    code = main(["attribute", str(package_file), "--reference", "no-policy", "--csv", str(out),
                 "--plot", str(plot)])
    assert code == 0
    printed = capsys.readouterr().out
    assert "Shapley attribution of fund-tax-discount against no-policy" in printed
    table = pd.read_csv(out)
    assert list(table.columns[:6]) == ["lever", "kpi", "contribution", "alone", "interaction",
                                       "unit"]
    assert set(table["lever"]) == {"tax_relief", "special_fund", "power_discount", "total"}
    assert len(table) == 4 * len(KPIS)
    assert plot.read_text(encoding="utf-8").lstrip().startswith("<?xml")


def test_attribute_command_user_errors(package_file, tmp_path, capsys):
    assert main(["attribute", "no-policy", "--reference", "no-policy"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "do not differ" in err
    bad = tmp_path / "x.txt"
    assert main(["attribute", str(package_file), "--plot", str(bad)]) == 2
    assert "unknown figure format" in capsys.readouterr().err
    assert not bad.exists()
    assert main(["attribute", "policy-as-written", "--by", "lever"]) == 2
    assert "at most 10 allowed" in capsys.readouterr().err
