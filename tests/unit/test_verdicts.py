"""Verdicts with their odds and the "not decided by the policy" flag, on made-up ensembles.

The ensembles are hand-made indicator values over ``(scenario, run)`` (what
:func:`transfer_sim.analysis.probabilities.ensemble_values` returns), so each case
says exactly which members meet which target with and without the policy.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from transfer_sim.analysis.probabilities import TARGETS, ensemble_values, wilson_interval
from transfer_sim.analysis.verdicts import (
    DECIDED_THRESHOLD,
    NOT_DECIDED,
    WIDE_INTERVAL,
    format_verdicts,
    load_indices,
    top_drivers,
    verdicts,
)
from transfer_sim.errors import InputError

RUNS = 20
POLICY, NONE = "policy-as-written", "no-policy"


def values(per_kpi: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
           scenarios: tuple[str, ...] = (NONE, POLICY)) -> xr.Dataset:
    """Indicator values: every target missed by half in every member unless given.

    ``per_kpi`` maps a target to (no-policy values, policy values) in units of its
    target (1.0 = exactly at the target).
    """
    data = {}
    for name, kpi in TARGETS.items():
        rows = [np.full(RUNS, 0.5) for _ in scenarios]
        if per_kpi and name in per_kpi:
            by = dict(zip((NONE, POLICY), per_kpi[name], strict=True))
            rows = [np.asarray(by.get(s, rows[i]), dtype=float) for i, s in enumerate(scenarios)]
        data[name] = (("scenario", "run"), kpi.target * np.stack(rows))
    return xr.Dataset(data, coords={"scenario": list(scenarios), "run": np.arange(RUNS)})


def row(v, kpi: str, scenario: str = POLICY) -> pd.Series:
    t = v.table
    return t[(t["kpi"] == kpi) & (t["scenario"] == scenario)].iloc[0]


def test_met_in_every_member_with_and_without_the_policy_is_not_decided_by_it():
    met = np.full(RUNS, 2.0)
    v = verdicts(values({"new_jobs": (met, met * 1.5)}))
    r = row(v, "new_jobs")
    assert r["p_met"] == 1 and r["p_met_no_policy"] == 1 and r["policy_difference"] == 0
    assert r["same_verdict_share"] == 1 and r["decided_by_policy"] == False  # noqa: E712
    assert "new_jobs" in v.not_decided(POLICY)
    # missed everywhere either way (the default) is not decided either
    assert row(v, "clusters_over_100yi")["decided_by_policy"] == False  # noqa: E712


def test_a_target_the_policy_flips_in_every_member_is_decided_by_it():
    v = verdicts(values({"demonstration_parks": (np.zeros(RUNS), np.full(RUNS, 1.8))}))
    r = row(v, "demonstration_parks")
    assert r["p_met"] == 1 and r["p_met_no_policy"] == 0 and r["policy_difference"] == 1
    assert r["same_verdict_share"] == 0 and r["decided_by_policy"] == True  # noqa: E712
    assert "demonstration_parks" not in v.not_decided(POLICY)
    assert r["runs"] == r["paired_runs"] == RUNS


def test_the_flag_reads_members_pairwise_not_the_two_probabilities():
    # Half the members meet T2 either way, but not the same half: P(met) is 50 % in
    # both, yet the policy decides the verdict of every member.
    a = np.where(np.arange(RUNS) % 2 == 0, 1.2, 0.8)
    v = verdicts(values({"nonresource_revenue": (a, a[::-1])}))
    r = row(v, "nonresource_revenue")
    assert r["p_met"] == r["p_met_no_policy"] == 0.5 and r["policy_difference"] == 0
    assert r["same_verdict_share"] == 0 and r["decided_by_policy"] == True  # noqa: E712


@pytest.mark.parametrize(("flipped", "decided"), [(1, False), (2, True)])
def test_threshold_boundary_a_share_exactly_at_it_is_flagged(flipped, decided):
    # 20 members: 1 flipped -> 19/20 = 95 % the same (flagged); 2 flipped -> 90 %.
    assert DECIDED_THRESHOLD == 0.95
    without = np.full(RUNS, 0.5)
    with_ = without.copy()
    with_[:flipped] = 1.5
    r = row(verdicts(values({"new_jobs": (without, with_)})), "new_jobs")
    assert r["same_verdict_share"] == pytest.approx(1 - flipped / RUNS)
    assert bool(r["decided_by_policy"]) is decided
    # exactly at the target counts as met (value >= target)
    at = row(verdicts(values({"new_jobs": (np.ones(RUNS), np.ones(RUNS))})), "new_jobs")
    assert at["p_met"] == 1 and at["p_met_no_policy"] == 1


def test_undefined_members_are_left_out_pairwise():
    # T3 undefined (NaN) in 5 policy members and 3 other no-policy members
    without, with_ = np.full(RUNS, 1.5), np.full(RUNS, 0.5)
    with_[:5] = np.nan
    without[-3:] = np.nan
    r = row(verdicts(values({"contribution_rate": (without, with_)})), "contribution_rate")
    assert r["runs"] == 15 and r["paired_runs"] == 12
    assert r["p_met"] == 0 and r["p_met_no_policy"] == 1
    assert r["same_verdict_share"] == 0 and bool(r["decided_by_policy"])
    nothing = np.full(RUNS, np.nan)
    r = row(verdicts(values({"contribution_rate": (nothing, with_)})), "contribution_rate")
    assert r["paired_runs"] == 0 and pd.isna(r["decided_by_policy"])
    assert np.isnan(r["p_met_no_policy"]) and np.isnan(r["same_verdict_share"])


def test_without_no_policy_the_columns_are_empty_and_a_note_says_why():
    v = verdicts(values(scenarios=(POLICY,)))
    assert v.table["decided_by_policy"].isna().all()
    assert v.table["p_met_no_policy"].isna().all() and (v.table["p_met"] == 0).all()
    assert len(v.notes) == 1 and "has no 'no-policy' scenario" in v.notes[0]
    assert v.sentences() == []
    assert "note: the ensemble has no 'no-policy'" in format_verdicts(v)


def test_a_scenario_not_in_the_ensemble_gets_empty_columns_and_a_note():
    v = verdicts(values(), [NONE, POLICY, "stronger-package"])
    r = row(v, "new_jobs", "stronger-package")
    assert r["runs"] == 0 and np.isnan(r["p_met"]) and pd.isna(r["decided_by_policy"])
    assert any("not in the ensemble" in n and "stronger-package" in n for n in v.notes)
    # the counterfactual's own rows carry its P(met) but no flag
    cf = row(v, "new_jobs", NONE)
    assert cf["p_met"] == 0 and pd.isna(cf["decided_by_policy"])


def test_the_sentence_and_the_terminal_table_name_the_undecided_targets():
    flip = (np.zeros(RUNS), np.full(RUNS, 2.0))
    v = verdicts(values({"demonstration_parks": flip, "new_jobs": flip}))
    (sentence,) = v.sentences()
    assert sentence == (f"{POLICY}: the policy does not decide T1, T2 and T3 (the same "
                        f"verdict with and without it in at least 95 % of {RUNS} members); "
                        "it decides T4 and T5.")
    text = format_verdicts(v)
    assert text.count(NOT_DECIDED.upper()) == 3
    assert text.count(f"policy flips {RUNS} of {RUNS} members") == 2
    assert f"{NONE}  " not in text.split("\n", 3)[3]  # no row of the counterfactual
    with pytest.raises(InputError, match="threshold"):
        verdicts(values(), threshold=0)


def test_ensemble_values_reads_the_2015_indicators_and_needs_runs():
    time = np.arange(2005, 2016.25, 0.25)
    frac = (time - time[0]) / (2016 - time[0])
    ds = xr.Dataset({"demonstration_parks": (("scenario", "run", "time"),
                                             np.ones((2, 3, 1)) * 30 * frac)},
                    coords={"scenario": [NONE, POLICY], "run": range(3), "time": time})
    with pytest.raises(InputError, match="lack the variable 'total_clusters_over_100yi'"):
        ensemble_values(ds)  # the indicators need their variables
    with pytest.raises(InputError, match="no 'run' dimension"):
        ensemble_values(ds.isel(run=0))


def sobol_table(scenario: str = POLICY) -> pd.DataFrame:
    rows = []
    st = {"a": (0.6, 0.05), "b": (0.1, 0.08), "c": (0.3, 0.02), "d": (0.05, 0.01),
          "e": (0.3, 0.02), "f": (0.0, 0.0), "g": (-0.01, 0.02)}
    for kpi in TARGETS:
        for p, (value, conf) in st.items():
            for idx, scale in (("S1", 0.5), ("ST", 1.0)):
                v = np.nan if kpi == "demonstration_parks" else value * scale
                rows.append({"scenario": scenario, "kpi": kpi, "method": "sobol",
                             "parameter": p, "index": idx, "value": v, "conf": conf,
                             "conf_level": 0.95, "runs": 448})
    return pd.DataFrame(rows)


def test_top_three_drivers_by_total_order_with_wide_intervals_marked(tmp_path):
    path = tmp_path / "s.csv"
    sobol_table().to_csv(path, index=False)
    top = top_drivers(load_indices(path))
    t2 = top[top["kpi"] == "nonresource_revenue"]
    # by ST (not S1), ties by name; "b" (0.1 ± 0.08) is fourth and out
    assert list(t2["parameter"]) == ["a", "c", "e"] and list(t2["rank"]) == [1, 2, 3]
    assert list(t2["st"]) == [0.6, 0.3, 0.3]
    assert "demonstration_parks" not in set(top["kpi"])  # NaN indices: no drivers
    wide = top_drivers(load_indices(path), top=4)
    b = wide[(wide["kpi"] == "new_jobs") & (wide["parameter"] == "b")].iloc[0]
    assert b["wide"] and 0.08 >= WIDE_INTERVAL * 0.1
    assert not wide[wide["parameter"] == "a"]["wide"].any()
    # no measurable effect (an index of 0, or below from estimation noise) is no driver
    assert set(top_drivers(load_indices(path), top=10)["parameter"]) == set("abcde")
    v = verdicts(values(), drivers=top)
    assert row(v, "new_jobs")["drivers"] == "a 0.60±0.05; c 0.30±0.02; e 0.30±0.02"
    assert row(v, "demonstration_parks")["drivers"].startswith("indices undefined")
    assert row(v, "new_jobs", NONE)["drivers"] == ""  # no indices of that scenario
    assert "drivers (Sobol' ST±95 %)" in format_verdicts(v)


def test_a_sensitivity_table_without_scenario_or_st_is_refused(tmp_path):
    old = tmp_path / "old.csv"
    sobol_table().drop(columns="scenario").to_csv(old, index=False)
    with pytest.raises(InputError, match="old.csv.*no column scenario"):
        load_indices(old)
    morris = tmp_path / "morris.csv"
    sobol_table().assign(method="morris").to_csv(morris, index=False)
    with pytest.raises(InputError, match="no Sobol' total-order"):
        load_indices(morris)
    with pytest.raises(InputError, match="cannot read the sensitivity table"):
        load_indices(tmp_path / "missing.csv")


@pytest.mark.parametrize("n", [16, 500, 10_000])
def test_the_wilson_interval_contains_the_share_even_at_none_and_all(n):
    # at 0 of 500 rounding once gave a lower bound of 4e-19 > 0 (a negative error bar)
    for met in (0, 1, n // 2, n - 1, n):
        lo, hi = wilson_interval(met, n)
        assert 0 <= lo <= met / n <= hi <= 1
    assert wilson_interval(0, n)[0] == 0 and wilson_interval(n, n)[1] == 1
