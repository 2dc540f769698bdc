"""The model against history on a hand-made Dataset (no model run).

The rate ``sales`` grows linearly, ``a + b (t - 2005)``, so every period's amount is
known exactly; ``revenue`` has two sectors; ``parks`` is a stock.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import xarray as xr

from transfer_sim.analysis.history import (
    BAND_COLUMNS,
    HISTORY_COLUMNS,
    compare_history,
    default_validation_path,
    history_observed,
    history_summary,
)
from transfer_sim.analysis.periods import parse_period
from transfer_sim.errors import InputError
from transfer_sim.inputs.calibration_record import CalibrationRecord
from transfer_sim.inputs.scenarios import Scenario

A, B = 100.0, 20.0  # sales = A + B (t - 2005) yiyuan/Year
SECTORS = ["chemicals", "agrifood"]
SHARE = {"chemicals": 0.25, "agrifood": 0.75}


def _amount(start: float, end: float) -> float:
    """Exact integral of the linear rate over [start, end)."""
    def prim(t: float) -> float:
        return A * (t - 2005) + B * (t - 2005) ** 2 / 2
    return prim(end) - prim(start)


def _ds(scale: float = 1.0, dims: tuple[str, ...] = ()) -> xr.Dataset:
    t = np.arange(2005, 2017 + 1e-9, 1 / 64)
    rate = scale * (A + B * (t - 2005))
    revenue = np.stack([rate * SHARE[s] for s in SECTORS], axis=-1)
    return xr.Dataset({
        "sales": ("time", rate, {"units": "yiyuan/Year"}),
        "revenue": (("time", "sector"), revenue, {"units": "yiyuan/Year"}),
        "parks": ("time", scale * (10 + (t - 2005)), {"units": "park"}),
    }, coords={"time": t, "sector": SECTORS})


def _obs(file: str, rows: list[tuple[str, int, str, float, str]]) -> pd.DataFrame:
    """Checked-observation frame as load_observed returns it (without the model)."""
    records = []
    for variable, year, period, value, confidence in rows:
        name, _, element = variable.partition("[")
        p = parse_period(year, period)
        records.append({"variable": variable, "year": year, "value": value,
                        "unit": "park" if name == "parks" else (
                            "yiyuan/Year" if p.whole_year else "yiyuan"),
                        "source": f"hand-made {variable} {p.label}", "confidence": confidence,
                        "output": name, "element": element.rstrip("]"), "period": period,
                        "label": p.label, "start": p.start, "end": p.end})
    frame = pd.DataFrame(records)
    frame.attrs["file"] = file
    return frame


@pytest.fixture
def frames(tmp_path: Path) -> tuple[pd.DataFrame, pd.DataFrame, Path]:
    cal = tmp_path / "cal.csv"
    fitted = _obs(str(cal), [("sales", 2010, "year", 250.0, "medium"),
                             ("sales", 2014, "year", 300.0, "low")])
    other = _obs(str(tmp_path / "validation.csv"), [
        ("sales", 2012, "Jan-Aug", 150.0, "low"),
        ("parks", 2015, "year", 20.0, "high"),
        ("revenue[total]", 2011, "H1", 110.0, "medium"),
        ("revenue[chemicals]", 2011, "year", 60.0, "medium")])
    return fitted, other, cal


def test_a_partial_year_observation_is_compared_with_the_flow_over_its_months(frames):
    fitted, other, cal = frames
    table = compare_history(_ds(), [fitted, other], calibration_file=cal, fit_until=2012)
    row = table[(table["variable"] == "sales") & (table["period"] == "2012 Jan-Aug")].iloc[0]
    expected = _amount(2012, 2012 + 8 / 12)
    assert row["model"] == pytest.approx(expected, rel=1e-9)
    # not the annual rate, nor the annual flow
    assert abs(row["model"] - _amount(2012, 2013)) > 50
    assert row["unit"] == "yiyuan" and row["start"] == 2012
    assert row["end"] == pytest.approx(2012 + 8 / 12)
    assert row["error"] == pytest.approx(expected - 150.0, rel=1e-9)
    assert row["relative_error"] == pytest.approx((expected - 150.0) / 150.0, rel=1e-9)


def test_annual_flows_stocks_and_sector_sums(frames):
    fitted, other, cal = frames
    table = compare_history(_ds(), [fitted, other], calibration_file=cal, fit_until=2012)
    got = {(r.variable, r.period): r.model for r in table.itertuples()}
    assert got[("sales", "2010")] == pytest.approx(_amount(2010, 2011), rel=1e-9)
    assert got[("parks", "2015")] == pytest.approx(10 + 11, rel=1e-9)  # at the end of 2015
    assert got[("revenue[total]", "2011 Jan-Jun")] == pytest.approx(_amount(2011, 2011.5),
                                                                    rel=1e-9)
    assert got[("revenue[chemicals]", "2011")] == pytest.approx(0.25 * _amount(2011, 2012),
                                                                rel=1e-9)


def test_in_sample_only_from_the_calibration_file_up_to_fit_until(frames):
    fitted, other, cal = frames
    table = compare_history(_ds(), [other, fitted], calibration_file=cal, fit_until=2012)
    sample = {(r.variable, r.period): r.sample for r in table.itertuples()}
    assert sample[("sales", "2010")] == "in"
    assert sample[("sales", "2014")] == "out"   # after fit-until
    assert sample[("sales", "2012 Jan-Aug")] == "out"   # another file
    assert list(table["sample"]) == ["out"] * 5 + ["in"]   # out of sample first
    assert set(table["source_file"]) == {"cal.csv", "validation.csv"}
    assert list(table.columns) == list(HISTORY_COLUMNS)
    later = compare_history(_ds(), [fitted], calibration_file=cal, fit_until=2015)
    assert set(later["sample"]) == {"in"}
    uncalibrated = compare_history(_ds(), [fitted], calibration_file=None, fit_until=None)
    assert set(uncalibrated["sample"]) == {"out"}


def test_exogenous_outputs_are_marked(frames):
    fitted, other, cal = frames
    table = compare_history(_ds(), [other], exogenous={"parks"})
    side = dict(zip(table["variable"], table["model_side"], strict=True))
    assert side["parks"] == "exogenous" and side["sales"] == "endogenous"


def test_ensemble_band_brackets_the_runs_and_is_nan_where_missing(frames):
    fitted, other, cal = frames
    runs = [_ds(scale) for scale in np.linspace(0.5, 1.5, 21)]
    ens = xr.concat(runs, dim="run").drop_vars("parks")
    table = compare_history(_ds(), [other], ensemble=ens)
    assert list(table.columns) == [*HISTORY_COLUMNS, *BAND_COLUMNS]
    row = table[table["variable"] == "sales"].iloc[0]
    exact = _amount(2012, 2012 + 8 / 12)
    assert row["model_p05"] == pytest.approx(0.55 * exact, rel=1e-6)
    assert row["model_p95"] == pytest.approx(1.45 * exact, rel=1e-6)
    assert table.loc[table["variable"] == "parks", "model_p05"].isna().all()


def test_a_period_outside_the_results_is_refused(frames):
    fitted, other, cal = frames
    late = _obs("late.csv", [("sales", 2018, "year", 1.0, "low")])
    with pytest.raises(InputError, match="outside the results"):
        compare_history(_ds(), [late])
    with pytest.raises(InputError, match="no observed files"):
        compare_history(_ds(), [])


def test_summary_counts_and_medians(frames):
    fitted, other, cal = frames
    table = compare_history(_ds(), [fitted, other], calibration_file=cal, fit_until=2012,
                            exogenous={"parks"})
    text = history_summary(table)
    out = table[table["sample"] == "out"]
    endo = out[out["model_side"] == "endogenous"]
    assert text.startswith("6 observations of 4 model outputs compared: 5 out of sample")
    med = 100 * np.median(np.abs(endo["relative_error"]))
    assert f"over the {len(endo)} on endogenous outputs" in text
    assert f"{med:.2g} %" in text.replace(",", "")
    assert "1 in sample" in text


def test_default_files_follow_the_calibration_record(tmp_path):
    cal = tmp_path / "mine.csv"
    cal.write_text("variable,year,value,unit,source,confidence\n", encoding="utf-8")
    record = CalibrationRecord(observed="mine.csv", observed_sha256="0" * 12, fit_until=2013,
                               vintage="first-published", base=tmp_path)
    inputs = history_observed(Scenario(name="c", calibration=record))
    assert inputs.files == (cal, default_validation_path())
    assert (inputs.calibration_file, inputs.fit_until) == (cal, 2013)
    assert history_observed(Scenario(name="c", calibration=record), fit_until=2010).fit_until \
        == 2010
    plain = history_observed(Scenario(name="p"))
    assert plain.files == (default_validation_path(),) and plain.fit_until is None
    given = history_observed(Scenario(name="p"), [tmp_path / "x.csv"])
    assert given.files == (tmp_path / "x.csv",)
    with pytest.raises(InputError, match="extends no calibrated layer"):
        history_observed(Scenario(name="p"), fit_until=2012)


def test_figure_has_a_panel_a_variable_and_the_band_with_an_ensemble(frames):
    from matplotlib.collections import PolyCollection

    from transfer_sim.plotting.history import plot_history

    fitted, other, cal = frames
    ens = xr.concat([_ds(s) for s in (0.8, 1.0, 1.2)], dim="run").drop_vars("parks")
    table = compare_history(_ds(), [fitted, other], calibration_file=cal, fit_until=2012,
                            ensemble=ens)
    fig = plot_history(table, _ds(), ens)
    panels = [ax for ax in fig.axes if ax.get_visible()]
    assert [ax.get_title() for ax in panels] == list(dict.fromkeys(table["variable"]))
    bands = {ax.get_title(): any(isinstance(c, PolyCollection) for c in ax.collections)
             for ax in panels}
    assert bands == {"sales": True, "parks": False, "revenue[total]": True,
                     "revenue[chemicals]": True}
    assert "no band for 1 variables" in fig._suptitle.get_text()
    plain = plot_history(table, _ds())
    assert not any(isinstance(c, PolyCollection) for ax in plain.axes for c in ax.collections)
    # a flow observed over months is drawn as its mean rate at the period's middle
    sales = next(ax for ax in panels if ax.get_title() == "sales")
    xs = np.concatenate([line.get_xdata() for line in sales.lines if line.get_marker() == "s"])
    assert np.any(np.isclose(xs, 2012 + 4 / 12))
