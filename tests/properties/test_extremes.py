"""Extreme conditions (issue 11, item 6): levers *and* uncertainties drawn together.

Hypothesis draws a final year 2015-2020, any set of levers within the registry's bounds
(``strategies.lever_set``) and a value of every uncertainty of
``uncertainties/default.toml`` within its distribution's support, half the time at one
of the support's ends (:func:`transfer_sim.analysis.checks.uncertainty_ends`). Each draw
runs on Simlin through :func:`transfer_sim.run.plan.plan` with the uncertainties as
``extra_inputs``. Every output must be finite, every stock at or above its declared
lower bound, every balance closed, no cost, price or ledger entry negative, and the
indicators within their bounds at every output time (T1 at most the 60 clusters, T5 at
most the parks ever eligible and the zones, shares in [0, 1]).

T3 has no range: a share of an increment (二), it is negative whenever non-resource value
added falls from 2010 to 2015, which the uncertainties' ends can give (e.g. the policy as
written: 1542 -> 1510 at 2010 prices, T3 = -6.2 %); it must be finite and it is reported
as it is (``tests/integration/test_cli_commands.py`` checks one such case by hand).
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from strategies import lever_set
from transfer_sim.analysis.checks import check_dataset, cost_variables, uncertainty_ends
from transfer_sim.analysis.kpis import kpi_table
from transfer_sim.engines import get_engine
from transfer_sim.inputs.scenarios import scenario_from_levers
from transfer_sim.inputs.uncertainty import load_uncertainties
from transfer_sim.model.facts import model_facts
from transfer_sim.run.plan import plan
from transfer_sim.run.results import to_dataset
from transfer_sim.run.runner import FINAL_YEAR_RANGE

EXTREMES = settings(max_examples=60, deadline=None, derandomize=True,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
UNCERTAINTIES = load_uncertainties("default")
LOW = uncertainty_ends(UNCERTAINTIES, "low")
HIGH = uncertainty_ends(UNCERTAINTIES, "high")
#: Tolerance on the indicators' bounds (rounding of integrated stocks).
TOL = 1e-9


def uncertainty_value(name: str) -> st.SearchStrategy[float]:
    """A value in the support, half the time one of its ends."""
    lo, hi = LOW[name], HIGH[name]
    inside = st.floats(lo, hi, allow_nan=False, allow_infinity=False)
    return st.one_of(st.sampled_from([lo, hi]), inside)


def uncertainty_draws() -> st.SearchStrategy[dict[str, float]]:
    """A value of every uncertainty in the default file."""
    return st.fixed_dictionaries({n: uncertainty_value(n) for n in UNCERTAINTIES.names})


@st.composite
def extreme_runs(draw: st.DrawFn) -> tuple[int, dict, dict[str, float]]:
    final_year = draw(st.integers(*FINAL_YEAR_RANGE))
    return final_year, draw(lever_set(final_year)), draw(uncertainty_draws())


def _run(final_year: int, levers: dict, sampled: dict[str, float]):
    scenario = scenario_from_levers("extreme", levers, final_year=final_year)
    spec = plan(scenario, extra_inputs=sampled)
    return to_dataset(get_engine("simlin").run(spec))


def _clusters_tracked() -> float:
    return float(np.sum(np.asarray(model_facts().value("clusters_per_sector"))))


def _assert_indicators_bounded(ds) -> None:
    clusters = ds["total_clusters_over_100yi"]
    assert float(clusters.min()) >= 0 and float(clusters.max()) <= _clusters_tracked() + TOL
    parks = ds["demonstration_parks"]
    eligible_so_far = np.maximum.accumulate(ds["eligible_parks"].values)
    excess = parks.values - eligible_so_far
    assert float(excess.max()) <= TOL * max(1.0, float(eligible_so_far.max())), (
        f"T5 above the parks ever eligible by {float(excess.max()):.3g}")
    assert float((parks - ds["total_zones"]).max()) <= TOL
    shares = [n for n in ds.data_vars if "share" in n and ds[n].attrs.get("units") == "Dmnl"]
    assert shares, "no shares in the output"
    for name in shares:
        lo, hi = float(ds[name].min()), float(ds[name].max())
        assert -TOL <= lo and hi <= 1 + TOL, f"{name} in [{lo:.3g}, {hi:.3g}]"


@pytest.mark.slow
@EXTREMES
@given(drawn=extreme_runs())
def test_levers_and_uncertainties_at_any_extreme_stay_bounded(drawn):
    final_year, levers, sampled = drawn
    ds = _run(final_year, levers, sampled)
    failed = [f"{c.name}: {c.detail}" for c in check_dataset(ds) if not c.passed]
    assert not failed, failed
    assert len(cost_variables(list(ds.data_vars))) >= 50
    _assert_indicators_bounded(ds)
    table = kpi_table(ds).set_index("kpi")["value"]
    assert np.isfinite(table.to_numpy(dtype=float)).all()
    assert table["clusters_over_100yi"] <= _clusters_tracked() + TOL
    assert table["demonstration_parks"] <= float(ds["total_zones"].max()) + TOL


def test_uncertainty_draws_stay_in_each_support():
    for u in UNCERTAINTIES:
        lo, hi = u.support
        assert lo <= LOW[u.name] < HIGH[u.name] <= hi
