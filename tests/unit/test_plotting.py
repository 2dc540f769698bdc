"""Plot functions on a small synthetic Dataset (no model run)."""

from __future__ import annotations

import io
import re

import numpy as np
import pandas as pd
import pytest
import xarray as xr
from matplotlib.collections import PolyCollection
from matplotlib.figure import Figure
from matplotlib.text import Text

from transfer_sim.analysis import kpis
from transfer_sim.errors import InputError
from transfer_sim.plotting import figures as plotting

SCENARIOS = ["no-policy", "alpha", "beta"]
SECTORS = ["chemicals", "metallurgy", "emerging"]
CJK = re.compile(r"[\u2e80-\u9fff]")


@pytest.fixture(autouse=True)
def _chinese_back_on():
    yield
    plotting.use_cjk(None)      # (tests/conftest.py closes pyplot's figures)


def _da(values, dims, units, long_name):
    return xr.DataArray(values, dims=dims, attrs={"units": units, "long_name": long_name})


def _cumulative(rate: np.ndarray, time: np.ndarray) -> np.ndarray:
    """The INTEG of a rate saved at ``time`` (trapezoid rule), as the model's cumulative stocks."""
    steps = np.diff(time)[None, :] * (rate[:, 1:] + rate[:, :-1]) / 2
    return np.concatenate([np.zeros_like(rate[:, :1]), np.cumsum(steps, axis=1)], axis=1)


@pytest.fixture(scope="module")
def ds() -> xr.Dataset:
    """Three scenarios, three sectors, quarterly 2005-2016; each scenario grows faster."""
    time = np.arange(2005, 2016.001, 0.25)
    growth = np.array([1.0, 1.5, 2.0])[:, None]           # per scenario
    t = (time - 2005)[None, :]
    after = np.clip(time - 2011, 0, None)[None, :]
    rev = 100 + 50 * growth[:, :, None] * t[:, :, None] * np.array([1, 2, 3])[None, None, :]
    emp = rev / 100
    sme = 0.2 * emp
    scalar = lambda base: base * growth * (1 + t)  # noqa: E731
    lever = lambda level: np.where(time >= 2011, level, 0.0)[None, :] * growth  # noqa: E731
    nonresource = rev.sum(-1)
    resource_va = 400 * (1 + t) ** 1.1 * np.ones_like(growth)
    data = {
        "revenue": _da(rev, ("scenario", "time", "sector"), "yiyuan/Year", "revenue"),
        "employment": _da(emp, ("scenario", "time", "sector"), "wanren", "Employment"),
        "sme_jobs": _da(sme, ("scenario", "time", "sector"), "wanren", "SME jobs"),
        "nonresource_revenue": _da(nonresource, ("scenario", "time"), "yiyuan/Year",
                                   "nonresource revenue"),
        "cumulative_nonresource_revenue": _da(_cumulative(nonresource, time),
                                              ("scenario", "time"), "yiyuan",
                                              "cumulative nonresource revenue"),
        "cumulative_nonresource_real_value_added": _da(
            _cumulative(0.3 * nonresource, time), ("scenario", "time"), "yiyuan",
            "cumulative nonresource real value added"),
        "cumulative_resource_real_value_added": _da(
            _cumulative(resource_va, time), ("scenario", "time"), "yiyuan",
            "cumulative resource real value added"),
        "total_clusters_over_100yi": _da(scalar(3.0), ("scenario", "time"), "cluster",
                                         "total clusters over 100yi"),
        "jobs_brought_by_transfer": _da(growth * after * 8, ("scenario", "time"), "wanren",
                                        "Jobs brought by transfer"),
        "employment_change_since_2010": _da(growth * after * 6, ("scenario", "time"),
                                            "wanren", "Employment change since 2010"),
        "demonstration_parks": _da(growth * after * 3, ("scenario", "time"), "park",
                                   "Demonstration parks"),
        "approval_delay": _da(1 - lever(0.2), ("scenario", "time"), "Year", "approval delay"),
        "special_fund_appropriation": _da(lever(30.0), ("scenario", "time"), "yiyuan/Year",
                                          "special fund appropriation"),
        "power_discount": _da(lever(0.04), ("scenario", "time"), "yiyuan/yikWh",
                              "power discount"),
        "policy_on": _da(np.where(time >= 2011, 1.0, 0.0)[None, :] * np.ones_like(growth),
                         ("scenario", "time"), "Dmnl", "policy on"),
    }
    for name in ("fund_spent", "tax_foregone_to_date", "power_discount_paid",
                 "tax_raised_to_date", "fiscal_cost", "regional_budget_cost",
                 "local_government_cost", "western_development_cost_to_centre_to_date",
                 "transfer_tax_raised_to_date"):
        data[name] = _da(growth * after * 10, ("scenario", "time"), "yiyuan", name)
    data["fiscal_cost_per_job"] = _da(growth * after, ("scenario", "time"), "yiyuan/wanren",
                                      "fiscal cost per job")
    out = xr.Dataset(data, coords={"scenario": SCENARIOS, "time": time, "sector": SECTORS})
    out["time"].attrs["units"] = "Year"
    return out


def _scenario_lines(ax):
    return [ln for ln in ax.get_lines() if str(ln.get_gid()).startswith("scenario:")]


def _visible_axes(fig: Figure):
    return [ax for ax in fig.axes if ax.get_visible()]


def _all_text(fig: Figure) -> list[str]:
    return [t.get_text() for t in fig.findobj(Text) if t.get_text()]


def _render(fig: Figure) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=30)
    return buf.getvalue()


def test_scenario_colors_are_stable_and_distinct():
    first = plotting.scenario_colors(["a", "no-policy", "b", "policy-as-written"])
    again = plotting.scenario_colors(["a", "no-policy", "b", "policy-as-written"])
    assert first == again
    assert len(set(first.values())) == 4
    alone = plotting.scenario_colors(["no-policy"])
    pw = plotting.scenario_colors(["x", "policy-as-written"])
    assert first["no-policy"] == alone["no-policy"]
    assert first["policy-as-written"] == pw["policy-as-written"]
    many = plotting.scenario_colors([f"s{i}" for i in range(14)])
    assert len(set(many.values())) == 14


def test_targets_one_line_per_scenario_and_a_target_line(ds):
    fig = plotting.plot_targets(ds)
    axes = _visible_axes(fig)
    targets = [k for k in kpis.KPIS if k.target is not None]
    assert len(axes) == len(targets) == 5
    for ax, k in zip(axes, targets, strict=True):
        lines = _scenario_lines(ax)
        assert [ln.get_label() for ln in lines] == SCENARIOS
        target = [ln for ln in ax.get_lines() if ln.get_gid() == "target"]
        assert len(target) == 1
        assert np.allclose(target[0].get_ydata(), k.target)
        assert ax.get_title().startswith(k.label.split()[0])     # "T1" ... "T5"
        assert re.search(r"\[.+\]", ax.get_ylabel())               # a unit in brackets
        assert "year" in ax.get_xlabel()


def test_t3_is_the_kpi_contribution_rate_per_whole_year(ds):
    ax = plotting.plot_indicator(ds, "contribution_rate")
    lines = _scenario_lines(ax)
    assert len(lines) == len(SCENARIOS)
    years = lines[0].get_xdata()
    assert list(years) == list(range(2011, 2016))
    for line, scen in zip(lines, SCENARIOS, strict=True):
        expected = [float(kpis.kpi_values(ds.sel(scenario=scen), year=int(y))
                          ["contribution_rate"]) for y in years]
        assert np.allclose(line.get_ydata(), expected, rtol=1e-12)
    assert "%" in ax.get_ylabel()


def test_units_written_the_documents_way(ds):
    fig = plotting.plot_targets(ds)
    ylabels = [ax.get_ylabel() for ax in _visible_axes(fig)]
    assert "[亿元]" in ylabels      # T2: the amount over the year
    assert "[万人]" in ylabels
    assert plotting.format_unit("yiyuan/yikWh") == "元/kWh"
    assert any(CJK.search(t) for t in _all_text(fig))


def test_a_cjk_font_ships_with_the_package_dependencies():
    # No system font needed (CI installs none): mplfonts carries Noto Sans CJK SC.
    path = plotting.bundled_cjk_font_path()
    assert path is not None and path.name == "NotoSansCJKsc-Regular.otf"
    assert plotting.cjk_font() is not None


def test_without_a_cjk_font_no_chinese_is_drawn(ds):
    plotting.use_cjk(False)
    assert plotting.cjk_font() is None
    assert plotting.format_unit("yiyuan/Year") == "100M CNY/year"
    assert plotting.format_unit("wanren") == "10k persons"
    assert plotting.text("T4 new jobs since 2010, 万人 (新增就业)") == \
        "T4 new jobs since 2010, 10k persons"
    table = _attribution_table()
    figs = [plotting.plot_targets(ds), plotting.plot_sectors(ds),
            plotting.plot_difference(ds, "no-policy"), plotting.plot_levers(ds),
            plotting.plot_fiscal(ds), plotting.plot_attribution(table)]
    for fig in figs:
        _render(fig)        # filterwarnings=error: a missing glyph would fail here
        assert not [t for t in _all_text(fig) if CJK.search(t)]


def test_every_figure_renders_with_chinese_without_warnings(ds):
    # Every figure renders with Chinese in the report's integration test; here two.
    for fig in (plotting.plot_sectors(ds), plotting.plot_attribution(_attribution_table())):
        assert _render(fig)[:8] == b"\x89PNG\r\n\x1a\n"   # warnings are errors here
        assert any(CJK.search(t) for t in _all_text(fig))


def test_sectors_stack_revenue_and_jobs(ds):
    fig = plotting.plot_sectors(ds)
    axes = np.array(fig.axes).reshape(2, len(SCENARIOS))
    for j, scen in enumerate(SCENARIOS):
        for row, total in ((0, ds["revenue"].sum("sector")),
                           (1, (ds["employment"] + ds["sme_jobs"]).sum("sector"))):
            ax = axes[row, j]
            bands = [c for c in ax.collections if isinstance(c, PolyCollection)]
            assert len(bands) == len(SECTORS)
            top = bands[-1].get_paths()[0].vertices[:, 1].max()
            assert np.isclose(top, float(total.sel(scenario=scen).max()))
            assert scen in ax.get_title()
            assert re.search(r"\[.+\]", ax.get_ylabel())
    assert axes[0, 0].get_shared_y_axes().joined(axes[0, 0], axes[0, 2])
    legend_texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert len(legend_texts) == len(SECTORS)


def test_difference_from_reference(ds):
    fig = plotting.plot_difference(ds, "no-policy", variables=["new_jobs", "contribution_rate"])
    axes = _visible_axes(fig)
    assert len(axes) == 2
    jobs, t3 = axes
    lines = _scenario_lines(jobs)
    assert [ln.get_label() for ln in lines] == ["alpha", "beta"]
    assert len([ln for ln in jobs.get_lines() if ln.get_gid() == "zero"]) == 1
    jobs_series = kpis.kpi_series(ds)["new_jobs"]
    expected = jobs_series.sel(scenario="beta") - jobs_series.sel(scenario="no-policy")
    assert np.allclose(lines[1].get_ydata(), expected.values)
    assert "percentage points" in t3.get_ylabel()
    with pytest.raises(InputError, match="reference"):
        plotting.plot_difference(ds, "nobody")
    with pytest.raises(InputError, match="besides the reference"):
        plotting.plot_difference(ds.sel(scenario=["alpha"]), "alpha")


def test_same_colour_for_a_scenario_in_every_figure(ds):
    colors = plotting.scenario_colors(ds)
    figs = [plotting.plot_targets(ds), plotting.plot_difference(ds, "no-policy"),
            plotting.plot_levers(ds), plotting.plot_fiscal(ds)]
    seen: dict[str, set] = {}
    for fig in figs:
        for ax in fig.axes:
            for ln in _scenario_lines(ax):
                seen.setdefault(ln.get_label(), set()).add(ln.get_color())
    assert set(seen) == set(SCENARIOS)
    for name, found in seen.items():
        assert found == {colors[name]}
    assert colors["no-policy"] == "#7f7f7f"


def test_levers_in_force_as_steps(ds):
    fig = plotting.plot_levers(ds)
    axes = _visible_axes(fig)
    present = [s for s in plotting.LEVER_SERIES if s.variable in ds]
    assert len(axes) == len(present) == 4
    for ax, s in zip(axes, present, strict=True):
        lines = _scenario_lines(ax)
        assert len(lines) == len(SCENARIOS)
        assert all(ln.get_drawstyle() == "steps-post" for ln in lines)
        assert re.search(r"\[.+\]", ax.get_ylabel())
        assert ax.get_title().replace("\n", " ") == plotting.text(s.label)
    with pytest.raises(InputError, match="none of the lever series"):
        plotting.plot_levers(ds[["revenue"]])


def test_fiscal_ledger_and_cost_per_job(ds):
    fig = plotting.plot_fiscal(ds)
    axes = _visible_axes(fig)
    assert len(axes) == len(plotting.FISCAL_SERIES) == 9
    for ax in axes:
        assert len(_scenario_lines(ax)) == len(SCENARIOS)
    assert plotting.format_unit("yiyuan") in axes[0].get_ylabel()
    assert plotting.format_unit("yiyuan/wanren") in axes[-1].get_ylabel()
    with pytest.raises(InputError, match="fund_disbursement"):
        plotting.plot_fiscal(ds, flows=True)


def test_single_axes_functions_use_the_given_ax(ds):
    fig = Figure()
    ax = fig.subplots()
    assert plotting.plot_indicator(ds, "new_jobs", ax=ax) is ax
    assert len(_scenario_lines(ax)) == 3
    single = ds.sel(scenario="alpha", drop=True)
    ax2 = plotting.plot_series(single, "new_jobs")
    assert len(_scenario_lines(ax2)) == 1
    ax3 = plotting.plot_sector_stack(ds, "revenue", "beta")
    assert len(ax3.collections) >= len(SECTORS)
    given = Figure()
    assert plotting.plot_targets(ds, fig=given) is given
    with pytest.raises(InputError, match="unknown indicator"):
        plotting.plot_indicator(ds, "happiness")
    with pytest.raises(InputError, match="lack"):
        plotting.plot_indicator(ds.drop_vars("jobs_brought_by_transfer"), "new_jobs")


def _attribution_table() -> pd.DataFrame:
    rows = []
    for kpi, unit in (("new_jobs", "wanren"), ("nonresource_revenue", "yiyuan/Year")):
        contributions = {"fund": 3.0, "tax": -1.0, "power": 0.0}
        for lever, c in contributions.items():
            rows.append({"lever": lever, "kpi": kpi, "label": f"{kpi} (新增就业)",
                         "contribution": c, "alone": c - 0.5, "unit": unit})
        rows.append({"lever": "total", "kpi": kpi, "label": f"{kpi} (新增就业)",
                     "contribution": 2.0, "alone": 0.5, "unit": unit})
    return pd.DataFrame(rows)


def test_attribution_bars():
    table = _attribution_table()
    fig = plotting.plot_attribution(table)
    axes = _visible_axes(fig)
    assert len(axes) == 2
    for ax in axes:
        bars = ax.patches
        assert len(bars) == 3
        assert [b.get_width() for b in bars] == [3.0, -1.0, 0.0]
        total = [ln for ln in ax.get_lines() if ln.get_gid() == "total"]
        assert len(total) == 1 and np.allclose(total[0].get_xdata(), 2.0)
        assert [t.get_text() for t in ax.get_yticklabels()] == ["fund", "tax", "power"]
        assert re.search(r"\[.+\]", ax.get_xlabel())
    with pytest.raises(InputError, match="lacks columns"):
        plotting.plot_attribution(table.drop(columns="alone"))
