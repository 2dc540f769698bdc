"""Figures from results: Dataset in, matplotlib Figure or Axes out.

Nothing here runs the model. Every function takes results (an ``xarray.Dataset``
from :func:`transfer_sim.compare` or :func:`transfer_sim.run`, or an attribution
table) and an optional ``ax`` (one panel) or ``fig`` (several panels), draws into it
and returns it. Figures are built with :class:`matplotlib.figure.Figure`, not
``pyplot``, so nothing accumulates in pyplot's global state.

Conventions kept across all figures:

- **One colour per scenario**, from :func:`scenario_colors`: ``no-policy`` is always
  grey and ``policy-as-written`` always blue; other scenarios take the next free
  colour of a fixed palette in the order they appear in the Dataset.
- **Units on every axis**, from each variable's ``units`` attribute, written the
  document's way (:func:`format_unit`: 亿元 for ``yiyuan``, 万人 for ``wanren``).
- **The document's Chinese terms beside the English**, drawn with a CJK font when
  one is installed (Debian ``fonts-noto-cjk``, installed by ``.ci/run``). Without
  one, Chinese is dropped and units are spelled out in English (``100M CNY``), so no
  glyph is ever missing (:func:`cjk_font`).
"""

from __future__ import annotations

import contextlib
import importlib.util
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import matplotlib as mpl
import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from transfer_sim.analysis import kpis as _kpis
from transfer_sim.errors import InputError
from transfer_sim.model.core import SECTORS

__all__ = [
    "Series",
    "TARGET_SERIES",
    "LEVER_SERIES",
    "FISCAL_SERIES",
    "FISCAL_FLOW_SERIES",
    "SECTOR_LABELS",
    "scenario_colors",
    "cjk_font",
    "bundled_cjk_font_path",
    "use_cjk",
    "text",
    "format_unit",
    "plot_series",
    "plot_indicator",
    "plot_targets",
    "plot_sector_stack",
    "plot_sectors",
    "plot_difference",
    "plot_levers",
    "plot_fiscal",
    "plot_attribution",
]


@dataclass(frozen=True)
class Series:
    """A model output to plot, with its label.

    The figures' panels are lists of these (:data:`TARGET_SERIES` and the like).

    Parameters
    ----------
    variable : str
        Python name of the model output, or an indicator's name in
        :data:`transfer_sim.analysis.kpis.KPIS` (drawn in each complete year, as
        :func:`transfer_sim.analysis.kpis.kpi_series` reads it).
    label : str
        English label, with the document's Chinese term in parentheses.
    step : bool
        Draw as steps (levers change by the year).
    """

    variable: str
    label: str
    step: bool = False


#: The five target indicators T1-T5, in the document's order.
TARGET_SERIES: tuple[Series, ...] = tuple(
    Series(k.name, k.label) for k in _kpis.KPIS if k.target is not None)

#: The levers in force over time (model outputs that echo each lever's schedule).
LEVER_SERIES: tuple[Series, ...] = (
    Series("policy_on", "package in force (政策实施)", True),
    Series("approval_delay", "P1 approval delay (审批时限)", True),
    Series("exempt_years_in_force", "P2 tax-exempt years (两免)", True),
    Series("half_years_in_force", "P2 half-rate years (三减半)", True),
    Series("special_fund_appropriation", "P3 special fund appropriation (专项资金)", True),
    Series("loan_interest_subsidy", "P4 loan interest subsidy (贴息)", True),
    Series("land_price_discount", "P5 land price discount (土地优惠)", True),
    Series("power_discount", "P6 direct-purchase power discount (直购电)", True),
    Series("power_coverage", "P6 direct-purchase coverage (直购电覆盖面)", True),
    Series("coal_allocation", "P7 coal allocation (煤炭资源配置)", True),
    Series("rail_logistics_discount", "P9 rail logistics discount (铁路物流)", True),
    Series("promotion_campaigns", "promotion campaigns (招商活动)", True),
    Series("entry_threshold", "entry threshold (准入门槛)", True),
)

#: The fiscal ledger to date, and the package's cost per new job.
FISCAL_SERIES: tuple[Series, ...] = (
    Series("fund_spent", "special fund spent (专项资金支出)"),
    Series("tax_foregone_to_date", "income tax foregone (两免三减半)"),
    Series("regional_budget_cost", "cost to the region's budget (自治区财政)"),
    Series("local_government_cost", "cost to league and city budgets (盟市配套)"),
    Series("power_discount_paid", "cost to generators and the grid (直购电优惠)"),
    Series("western_development_cost_to_centre_to_date", "cost to the centre (西部大开发)"),
    Series("transfer_tax_raised_to_date", "taxes raised by transferred projects (税收回流)"),
    Series("fiscal_cost", "public cost of the package (财政成本)"),
    Series("fiscal_cost_per_job", "fiscal cost per new job (每个新增就业成本)"),
)

#: The same ledger as yearly flows.
FISCAL_FLOW_SERIES: tuple[Series, ...] = (
    Series("fund_disbursement", "special fund disbursement (专项资金支出)"),
    Series("total_tax_foregone", "income tax foregone (两免三减半)"),
    Series("power_discount_cost", "power discount cost (直购电优惠)"),
    Series("total_tax_raised", "tax raised (税收)"),
)

#: The document's seven sectors with their Chinese names.
SECTOR_LABELS: Mapping[str, str] = {
    "chemicals": "chemicals (化工)",
    "metallurgy": "metallurgy (冶金)",
    "building_materials": "building materials (建材)",
    "equipment": "equipment (装备制造)",
    "agrifood": "agri-food (农畜产品加工)",
    "textiles": "textiles (纺织服装)",
    "emerging": "emerging (战略性新兴产业)",
}

#: Scenarios with a colour of their own in every figure.
_FIXED_COLORS = {"no-policy": "#7f7f7f", "policy-as-written": "#1f77b4"}
#: Colours handed out, in order, to the other scenarios.
_PALETTE = ("#d62728", "#2ca02c", "#ff7f0e", "#9467bd", "#8c564b", "#e377c2", "#bcbd22",
            "#17becf", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd")
_SECTOR_COLORS = ("#8dd3c7", "#fdb462", "#bebada", "#fb8072", "#80b1d3", "#b3de69", "#fccde5")
#: The 12th Five-Year Plan, shaded on time axes.
_PLAN = (2011.0, 2015.0)
#: Preferred CJK families, simplified Chinese first.
_CJK_FAMILIES = ("Noto Sans CJK SC", "Noto Sans SC", "Source Han Sans SC", "Source Han Sans CN",
                 "Noto Sans CJK JP", "WenQuanYi Zen Hei", "WenQuanYi Micro Hei",
                 "Droid Sans Fallback")
_CJK_FILE_HINTS = ("notosanscjk", "notosanssc", "sourcehansans", "wqy-zenhei", "wqy-microhei",
                   "droidsansfallback")
_CJK_RE = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]+")
_UNIT_WORDS = {
    "yiyuan": ("亿元", "100M CNY"),
    "wanren": ("万人", "10k persons"),
    "yikWh": ("亿kWh", "100M kWh"),
    "Year": ("year", "year"),
    "Dmnl": ("dimensionless", "dimensionless"),
}
_enabled: bool | None = None


def scenario_colors(scenarios: Sequence[str] | xr.Dataset) -> dict[str, str]:
    """Return the colour of each scenario, the same in every figure.

    ``no-policy`` is grey and ``policy-as-written`` blue wherever they appear; the
    other scenarios take the palette's 14 colours in the order given (the order of
    the Dataset's ``scenario`` coordinate; past 14 they repeat), so the same list of
    scenarios always gets the same colours. Pass the result as ``colors`` to keep
    them when drawing a subset of the scenarios.

    Parameters
    ----------
    scenarios : sequence of str or xarray.Dataset
        Scenario names, or results whose ``scenario`` coordinate lists them.

    Returns
    -------
    dict
        Scenario name -> hex colour.
    """
    names = _scenario_names(scenarios) if isinstance(scenarios, xr.Dataset) else list(scenarios)
    out: dict[str, str] = {}
    free = iter(_PALETTE * (1 + len(names) // len(_PALETTE)))
    for name in names:
        out[name] = _FIXED_COLORS[name] if name in _FIXED_COLORS else next(free)
    return out


#: The CJK font that ships with the package's dependencies (PyPI ``mplfonts``, MIT, which
#: carries Noto Sans CJK SC under the SIL Open Font License): figures show Chinese after a
#: plain ``pip install``, with no system font.
BUNDLED_CJK_FONT = ("mplfonts", "fonts/NotoSansCJKsc-Regular.otf")


def bundled_cjk_font_path() -> Path | None:
    """Return the Noto Sans CJK SC file that ``mplfonts`` installs, or None when absent.

    The package is located without importing it (its import hook registers fonts
    and reads matplotlib settings we do not want changed).
    """
    spec = importlib.util.find_spec(BUNDLED_CJK_FONT[0])
    for folder in (spec.submodule_search_locations or []) if spec else []:
        path = Path(folder) / BUNDLED_CJK_FONT[1]
        if path.is_file():
            return path
    return None


def _add_font(path: str | Path) -> set[str]:
    from matplotlib import font_manager

    try:
        font_manager.fontManager.addfont(str(path))
    except (OSError, RuntimeError, ValueError):
        pass
    return {f.name for f in font_manager.fontManager.ttflist}


@lru_cache(maxsize=1)
def _find_cjk_font() -> str | None:
    from matplotlib import font_manager

    names = {f.name for f in font_manager.fontManager.ttflist}
    for family in _CJK_FAMILIES:
        if family in names:
            return family
    bundled = bundled_cjk_font_path()
    candidates = [bundled] if bundled else []
    # The font cache may predate a system font's installation: look for the files.
    candidates += [Path(p) for p in font_manager.findSystemFonts()
                   if any(h in Path(p).name.lower().replace("-", "").replace("_", "")
                          for h in _CJK_FILE_HINTS)
                   and "bold" not in Path(p).name.lower()]
    for path in candidates:
        names = _add_font(path)
        for family in _CJK_FAMILIES:
            if family in names:
                return family
    return None


def cjk_font() -> str | None:
    """Return the CJK font family figures use, or None when Chinese is left out.

    The first installed of Noto Sans CJK SC, Source Han Sans, WenQuanYi and Droid
    Sans Fallback, else the Noto Sans CJK SC file the ``mplfonts`` dependency ships
    (:func:`bundled_cjk_font_path`; looked up once per process), unless
    :func:`use_cjk` turned Chinese off.
    """
    if _enabled is False:
        return None
    return _find_cjk_font()


def use_cjk(enabled: bool | None) -> None:
    """Turn Chinese text in figures on or off.

    Parameters
    ----------
    enabled : bool or None
        False: never draw Chinese (English only). True or None: draw it when a CJK
        font is installed (the default).
    """
    global _enabled
    _enabled = enabled


def text(label: str) -> str:
    """Return ``label`` as figures draw it: unchanged with a CJK font, else English only.

    Without a CJK font, 亿元 / 万人 / 万元 become ``100M CNY`` / ``10k persons`` /
    ``10k CNY``, other Chinese is removed with the parentheses around it.
    """
    if cjk_font() is not None:
        return label
    out = (label.replace("亿元", "100M CNY").replace("万人", "10k persons")
           .replace("万元", "10k CNY").replace("亿kWh", "100M kWh"))
    out = _CJK_RE.sub("", out)
    out = re.sub(r"\(\s*[,;/]?\s*\)", "", out)
    return re.sub(r"\s{2,}", " ", out).strip(" ,")


def format_unit(units: str | None) -> str:
    """Return a model unit written for an axis.

    Parameters
    ----------
    units : str or None
        Unit as in the model file (``yiyuan/Year``, ``wanren``, ``Dmnl``...).

    Returns
    -------
    str
        e.g. ``亿元/year``, ``万人``; ``100M CNY/year`` without a CJK font.

    Examples
    --------
    >>> format_unit("yiyuan/(Year*cluster)") in ("亿元/(year*cluster)",
    ...                                          "100M CNY/(year*cluster)")
    True
    """
    if not units:
        return "dimensionless"
    zh = cjk_font() is not None
    out = str(units).replace("yiyuan/yikWh", "yuan/kWh")  # 亿元 per 亿kWh is 元 per kWh
    out = re.sub(r"\byuan\b", "元" if zh else "CNY", out)
    for word, (chinese, english) in _UNIT_WORDS.items():
        out = re.sub(rf"\b{word}\b", chinese if zh else english, out)
    return out


def _axis_label(name: str, units: str | None) -> str:
    return f"{text(name)} [{format_unit(units)}]"


@contextlib.contextmanager
def _style() -> Iterator[None]:
    """Fonts for new text: DejaVu Sans, falling back to the CJK font for Chinese."""
    family = ["DejaVu Sans"] + ([cjk_font()] if cjk_font() else [])
    with mpl.rc_context({"font.family": family, "axes.titlesize": "medium",
                         "axes.titleweight": "normal", "legend.fontsize": "small",
                         "axes.unicode_minus": True}):
        yield


def _scenario_names(ds: xr.Dataset) -> list[str]:
    if "scenario" in ds.dims:
        return [str(s) for s in ds["scenario"].values]
    return [str(ds.attrs.get("scenario", "run"))]


def _with_scenarios(ds: xr.Dataset) -> xr.Dataset:
    """Give a single run a ``scenario`` dim of length one."""
    if "scenario" in ds.dims:
        return ds
    return ds.expand_dims(scenario=_scenario_names(ds))


def _need(ds: xr.Dataset, *names: str) -> None:
    missing = [n for n in names if n not in ds]
    if missing:
        raise InputError(f"results lack the variable(s) {', '.join(missing)}; run with them "
                         "to plot this figure", key=missing[0])


def _new_ax(ax: Axes | None) -> Axes:
    if ax is not None:
        return ax
    return Figure(figsize=(6.4, 4.0), layout="constrained").subplots()


def _new_fig(fig: Figure | None, n: int, ncols: int, panel: tuple[float, float] = (4.2, 3.0)
             ) -> tuple[Figure, list[Axes]]:
    nrows = -(-n // ncols)
    if fig is None:
        fig = Figure(figsize=(panel[0] * ncols, panel[1] * nrows + 0.6), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False).ravel().tolist()
    for extra in axes[n:]:
        extra.set_visible(False)
    return fig, axes[:n]


def _shade_plan(ax: Axes, times: np.ndarray) -> None:
    lo, hi = float(np.min(times)), float(np.max(times))
    if lo < _PLAN[1] and hi > _PLAN[0]:
        ax.axvspan(max(lo, _PLAN[0]), min(hi, _PLAN[1]), color="0.93", zorder=0, lw=0,
                   gid="plan-period")


def _time_axis(ax: Axes, ds: xr.Dataset) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.set_xlabel(_axis_label("year", ds["time"].attrs.get("units", "Year")))
    ax.xaxis.set_major_locator(MaxNLocator(nbins=6, integer=True))


def _title(label: str, width: int = 46) -> str:
    """Return a panel title, wrapped onto two lines when long."""
    import textwrap

    return "\n".join(textwrap.wrap(text(label), width=width)) or text(label)


def _figure_legend(fig: Figure, colors: Mapping[str, str], names: Sequence[str],
                   extra: Sequence[tuple[str, Any]] = ()) -> None:
    from matplotlib.lines import Line2D
    from matplotlib.patches import Patch

    handles: list[Any] = [Line2D([], [], color=colors[n], lw=2, label=n) for n in names]
    for label, style in extra:
        if style == "plan":
            handles.append(Patch(color="0.93", label=label))
        else:
            handles.append(Line2D([], [], label=label, **style))
    fig.legend(handles=handles, loc="outside lower center", ncols=min(len(handles), 6),
               frameon=False)


_KPI_NAMES = frozenset(k.name for k in _kpis.KPIS)


def _series(ds: xr.Dataset, variable: str) -> xr.DataArray:
    """Return a model output over time, or an indicator (KPI name) in each complete year."""
    if variable in _KPI_NAMES:  # years where it is undefined (T3 up to 2010) left out
        return _kpis.kpi_series(ds)[variable].dropna("time", how="all")
    _need(ds, variable)
    return ds[variable]


def plot_series(ds: xr.Dataset, variable: str, *, ax: Axes | None = None,
                colors: Mapping[str, str] | None = None, title: str | None = None,
                step: bool = False) -> Axes:
    """Draw one scalar output over time, one line per scenario.

    Parameters
    ----------
    ds : xarray.Dataset
        Results (dim ``scenario`` optional).
    variable : str
        Python name of a scalar output, or an indicator's name (a KPI, drawn in each
        complete year).
    ax : matplotlib.axes.Axes, optional
        Axes to draw in; a new figure's by default.
    colors : mapping, optional
        Scenario -> colour; :func:`scenario_colors` of ``ds`` by default.
    title : str, optional
        Panel title; the variable's long name by default.
    step : bool
        Draw steps (for levers that change by the year).

    Returns
    -------
    matplotlib.axes.Axes
    """
    ds = _with_scenarios(ds)
    colors = dict(colors) if colors is not None else scenario_colors(ds)
    with _style():
        ax = _new_ax(ax)
        da = _series(ds, variable)
        if "sector" in da.dims:
            raise InputError(f"{variable} is per sector; use plot_sector_stack", key=variable)
        times = da["time"].values
        _shade_plan(ax, times)
        marker = "o" if len(times) <= 25 and not step else None
        for name in _scenario_names(ds):
            ax.plot(times, da.sel(scenario=name).values, color=colors[name], label=name, lw=1.8,
                    drawstyle="steps-post" if step else "default", gid=f"scenario:{name}",
                    marker=marker, ms=3)
        ax.set_title(_title(title or str(da.attrs.get("long_name", variable))))
        ax.set_ylabel(f"[{format_unit(da.attrs.get('units'))}]")
        _time_axis(ax, ds)
        ax.grid(True, lw=0.4, alpha=0.5)
    return ax


def plot_indicator(ds: xr.Dataset, kpi: str, *, ax: Axes | None = None,
                   colors: Mapping[str, str] | None = None) -> Axes:
    """Draw one target indicator over time per scenario, with the document's target.

    Parameters
    ----------
    ds : xarray.Dataset
        Results.
    kpi : str
        A name in :data:`transfer_sim.analysis.kpis.KPIS` (e.g. ``"new_jobs"``).
    ax : matplotlib.axes.Axes, optional
        Axes to draw in.
    colors : mapping, optional
        Scenario -> colour.

    Returns
    -------
    matplotlib.axes.Axes
        One line per scenario, plus a dashed black target line (``gid="target"``)
        when the indicator has a target.
    """
    by_name = {k.name: k for k in _kpis.KPIS}
    if kpi not in by_name:
        raise InputError(f"unknown indicator {kpi!r}; allowed: {', '.join(by_name)}", key="kpi")
    spec = by_name[kpi]
    ax = plot_series(ds, spec.name, ax=ax, colors=colors, title=spec.label)
    with _style():
        ax.set_ylabel(f"[{format_unit(spec.unit)}]")
        if spec.target is not None:
            ax.axhline(spec.target, color="black", ls="--", lw=1.2, gid="target",
                       label=text(f"{_kpis.TARGET_YEAR} target (目标) {spec.target:g}"))
            ax.annotate(text(f"target {spec.target:g}"), xy=(0.01, spec.target),
                        xycoords=("axes fraction", "data"), va="bottom", fontsize="x-small")
    return ax


def plot_targets(ds: xr.Dataset, *, fig: Figure | None = None,
                 colors: Mapping[str, str] | None = None) -> Figure:
    """Draw the five target indicators T1-T5 over time, with the document's targets.

    Parameters
    ----------
    ds : xarray.Dataset
        Results with the indicators' variables (see :data:`TARGET_SERIES`).
    fig : matplotlib.figure.Figure, optional
        Figure to draw in (it gets five panels and a legend).
    colors : mapping, optional
        Scenario -> colour.

    Returns
    -------
    matplotlib.figure.Figure
    """
    ds = _with_scenarios(ds)
    colors = dict(colors) if colors is not None else scenario_colors(ds)
    targets = [k for k in _kpis.KPIS if k.target is not None]
    with _style():
        fig, axes = _new_fig(fig, len(targets), 3)
        for k, ax in zip(targets, axes, strict=True):
            plot_indicator(ds, k.name, ax=ax, colors=colors)
        fig.suptitle(text("Target indicators against the document's 2015 targets (目标)"))
        _figure_legend(fig, colors, _scenario_names(ds), [
            (text("2015 target (目标)"), {"color": "black", "ls": "--"}),
            (text("12th Five-Year Plan 2011-2015 (十二五)"), "plan")])
    return fig


def plot_sector_stack(ds: xr.Dataset, variables: str | Sequence[str], scenario: str, *,
                      ax: Axes | None = None, title: str | None = None) -> Axes:
    """Draw a per-sector output stacked by sector for one scenario.

    Parameters
    ----------
    ds : xarray.Dataset
        Results.
    variables : str or sequence of str
        Per-sector output(s); several are added up per sector (e.g. employment and
        SME jobs).
    scenario : str
        Scenario to draw.
    ax : matplotlib.axes.Axes, optional
        Axes to draw in.
    title : str, optional
        Panel title.

    Returns
    -------
    matplotlib.axes.Axes
        One filled band per sector; the top of the stack is the sum over sectors.
    """
    ds = _with_scenarios(ds)
    names = [variables] if isinstance(variables, str) else list(variables)
    _need(ds, *names)
    if scenario not in _scenario_names(ds):
        raise InputError(f"scenario {scenario!r} is not in the results", key="scenario")
    units = {ds[n].attrs.get("units") for n in names}
    if len(units) != 1:
        raise InputError(f"cannot add {', '.join(names)}: different units", key=names[0])
    total = sum(ds[n].sel(scenario=scenario) for n in names)
    sectors = [str(s) for s in total["sector"].values]
    with _style():
        ax = _new_ax(ax)
        times = total["time"].values
        _shade_plan(ax, times)
        colors = [_SECTOR_COLORS[SECTORS.index(s) % len(_SECTOR_COLORS)] if s in SECTORS
                  else "0.7" for s in sectors]
        ax.stackplot(times, total.transpose("sector", "time").values,
                     labels=[text(SECTOR_LABELS.get(s, s)) for s in sectors], colors=colors,
                     lw=0.3, edgecolor="white")
        ax.set_title(_title(title or scenario))
        ax.set_ylabel(f"[{format_unit(units.pop())}]")
        _time_axis(ax, ds)
        ax.grid(True, lw=0.4, alpha=0.5)
    return ax


def plot_sectors(ds: xr.Dataset, *, scenarios: Sequence[str] | None = None,
                 fig: Figure | None = None, colors: Mapping[str, str] | None = None
                 ) -> Figure:
    """Draw revenue and jobs stacked by sector, one column per scenario.

    Jobs are ``employment + sme_jobs`` per sector (their sum over sectors is
    ``total_employment``). Panels of a row share their y axis.

    Parameters
    ----------
    ds : xarray.Dataset
        Results with ``revenue``, ``employment`` and ``sme_jobs``.
    scenarios : sequence of str, optional
        Scenarios to draw; all by default.
    fig : matplotlib.figure.Figure, optional
        Figure to draw in.
    colors : mapping, optional
        Scenario -> colour (used for the column titles).

    Returns
    -------
    matplotlib.figure.Figure
    """
    ds = _with_scenarios(ds)
    _need(ds, "revenue", "employment", "sme_jobs")
    colors = dict(colors) if colors is not None else scenario_colors(ds)
    names = list(scenarios) if scenarios is not None else _scenario_names(ds)
    with _style():
        if fig is None:
            fig = Figure(figsize=(3.8 * len(names) + 0.4, 6.6), layout="constrained")
        axes = fig.subplots(2, len(names), squeeze=False, sharey="row")
        for j, name in enumerate(names):
            plot_sector_stack(ds, "revenue", name, ax=axes[0][j],
                              title=f"{name}: revenue (销售收入)")
            plot_sector_stack(ds, ("employment", "sme_jobs"), name, ax=axes[1][j],
                              title=f"{name}: jobs incl. SMEs (就业)")
            for ax in (axes[0][j], axes[1][j]):
                ax.title.set_color(colors.get(name, "black"))
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles[::-1], labels[::-1], loc="outside right center", frameon=False,
                   title=text("sector (行业)"))
        fig.suptitle(text("Revenue and jobs by sector (分行业)"))
    return fig


def plot_difference(ds: xr.Dataset, reference: str, *,
                    variables: Sequence[str] | None = None, fig: Figure | None = None,
                    colors: Mapping[str, str] | None = None) -> Figure:
    """Draw each scenario's difference from a reference scenario over time.

    Parameters
    ----------
    ds : xarray.Dataset
        Results with a ``scenario`` dim holding ``reference`` and at least one other.
    reference : str
        Scenario subtracted.
    variables : sequence of str, optional
        Scalar outputs (or ``"contribution_rate"``); the five target indicators by
        default.
    fig : matplotlib.figure.Figure, optional
        Figure to draw in.
    colors : mapping, optional
        Scenario -> colour.

    Returns
    -------
    matplotlib.figure.Figure
        A panel per variable: a line per non-reference scenario and a zero line
        (``gid="zero"``).
    """
    ds = _with_scenarios(ds)
    names = _scenario_names(ds)
    if reference not in names:
        raise InputError(f"reference {reference!r} is not among the scenarios "
                         f"({', '.join(names)})", key="reference")
    others = [n for n in names if n != reference]
    if not others:
        raise InputError("no scenario besides the reference to compare", key="reference")
    colors = dict(colors) if colors is not None else scenario_colors(ds)
    labels = {s.variable: s.label for s in TARGET_SERIES}
    chosen = list(variables) if variables is not None else [s.variable for s in TARGET_SERIES]
    with _style():
        fig, axes = _new_fig(fig, len(chosen), 3)
        for var, ax in zip(chosen, axes, strict=True):
            da = _series(ds, var)
            diff = da - da.sel(scenario=reference)
            times = diff["time"].values
            _shade_plan(ax, times)
            ax.axhline(0, color=colors.get(reference, "0.4"), lw=1, gid="zero")
            for name in others:
                ax.plot(times, diff.sel(scenario=name).values, color=colors[name], lw=1.8,
                        label=name, gid=f"scenario:{name}")
            unit = da.attrs.get("units")
            unit_text = "percentage points" if unit == "%" else format_unit(unit)
            ax.set_title(_title(labels.get(var, str(da.attrs.get("long_name", var)))))
            ax.set_ylabel(f"{text('difference (差额)')} [{unit_text}]")
            _time_axis(ax, ds)
            ax.grid(True, lw=0.4, alpha=0.5)
        fig.suptitle(text(f"Difference from {reference} (与参照情景之差)"))
        _figure_legend(fig, colors, others, [(f"{reference} (zero)", {
            "color": colors.get(reference, "0.4"), "lw": 1})])
    return fig


def plot_levers(ds: xr.Dataset, *, fig: Figure | None = None,
                colors: Mapping[str, str] | None = None,
                series: Sequence[Series] = LEVER_SERIES) -> Figure:
    """Draw each scenario's lever schedules: the levers in force over time.

    Parameters
    ----------
    ds : xarray.Dataset
        Results; the levers of :data:`LEVER_SERIES` present in it are drawn.
    fig : matplotlib.figure.Figure, optional
        Figure to draw in.
    colors : mapping, optional
        Scenario -> colour.
    series : sequence of Series
        Levers to draw.

    Returns
    -------
    matplotlib.figure.Figure
        A panel per lever, a step line per scenario. Later scenarios are drawn
        thinner so that equal schedules stay visible.
    """
    ds = _with_scenarios(ds)
    present = [s for s in series if s.variable in ds]
    if not present:
        raise InputError("results hold none of the lever series "
                         f"({', '.join(s.variable for s in series)})", key="levers")
    colors = dict(colors) if colors is not None else scenario_colors(ds)
    names = _scenario_names(ds)
    with _style():
        fig, axes = _new_fig(fig, len(present), 4, panel=(3.6, 2.5))
        for s, ax in zip(present, axes, strict=True):
            plot_series(ds, s.variable, ax=ax, colors=colors, title=s.label, step=True)
            ax.set_title(_title(s.label, width=34))
            widths = np.linspace(3.2, 1.2, len(names)) if len(names) > 1 else [1.8]
            for line, w in zip(ax.get_lines(), widths, strict=False):
                line.set_linewidth(w)
            ax.set_xlabel("")
        fig.suptitle(text("Levers in force by scenario (政策工具)"))
        _figure_legend(fig, colors, names)
    return fig


def plot_fiscal(ds: xr.Dataset, *, fig: Figure | None = None,
                colors: Mapping[str, str] | None = None, flows: bool = False) -> Figure:
    """Draw the fiscal ledger and the package's cost per new job.

    Parameters
    ----------
    ds : xarray.Dataset
        Results with the variables of :data:`FISCAL_SERIES` (or
        :data:`FISCAL_FLOW_SERIES`).
    fig : matplotlib.figure.Figure, optional
        Figure to draw in.
    colors : mapping, optional
        Scenario -> colour.
    flows : bool
        Draw yearly flows (亿元/year) instead of totals to date (亿元).

    Returns
    -------
    matplotlib.figure.Figure
        A panel per ledger item, a line per scenario.
    """
    ds = _with_scenarios(ds)
    chosen = FISCAL_FLOW_SERIES if flows else FISCAL_SERIES
    _need(ds, *(s.variable for s in chosen))
    colors = dict(colors) if colors is not None else scenario_colors(ds)
    with _style():
        fig, axes = _new_fig(fig, len(chosen), 3)
        for s, ax in zip(chosen, axes, strict=True):
            plot_series(ds, s.variable, ax=ax, colors=colors, title=s.label)
        what = "yearly flows" if flows else "to date"
        fig.suptitle(text(f"Fiscal ledger, {what} (财政账户)"))
        _figure_legend(fig, colors, _scenario_names(ds), [
            (text("12th Five-Year Plan 2011-2015 (十二五)"), "plan")])
    return fig


def plot_attribution(table: pd.DataFrame, *, kpis: Sequence[str] | None = None,
                     fig: Figure | None = None, color: str = "#1f77b4") -> Figure:
    """Draw Shapley contributions as bars, one panel per indicator.

    Parameters
    ----------
    table : pandas.DataFrame
        :meth:`transfer_sim.analysis.attribution.Attribution.table`: columns ``lever, kpi,
        label, contribution, alone, unit``; a row ``lever == "total"`` per indicator.
    kpis : sequence of str, optional
        Indicators to draw; all in the table by default.
    fig : matplotlib.figure.Figure, optional
        Figure to draw in.
    color : str
        Bar colour (e.g. the package scenario's colour).

    Returns
    -------
    matplotlib.figure.Figure
        Per panel: a bar per lever (its Shapley contribution; negative ones
        hatched), a black marker for its effect alone, a dashed line at the total
        change (``gid="total"``).
    """
    need = {"lever", "kpi", "label", "contribution", "alone", "unit"}
    if not need <= set(table.columns):
        raise InputError(f"attribution table lacks columns {sorted(need - set(table.columns))}",
                         key="table")
    chosen = list(kpis) if kpis is not None else list(dict.fromkeys(table["kpi"]))
    with _style():
        fig, axes = _new_fig(fig, len(chosen), 3, panel=(4.4, 3.2))
        for kpi, ax in zip(chosen, axes, strict=True):
            sub = table[table["kpi"] == kpi]
            if sub.empty:
                raise InputError(f"indicator {kpi!r} is not in the attribution table", key=kpi)
            rows = sub[sub["lever"] != "total"]
            total = sub.loc[sub["lever"] == "total", "contribution"]
            y = np.arange(len(rows))[::-1]
            values = rows["contribution"].to_numpy(float)
            bars = ax.barh(y, values, color=color, height=0.6, gid="shapley")
            for bar, v in zip(bars, values, strict=True):
                if v < 0:   # the same colour, hatched: red would read as another scenario
                    bar.set_alpha(0.5)
                    bar.set_hatch("///")
            ax.plot(rows["alone"].to_numpy(float), y, "D", color="black", ms=3.5, ls="none",
                    gid="alone")
            if len(total):
                ax.axvline(float(total.iloc[0]), color="black", ls="--", lw=1, gid="total")
            ax.axvline(0, color="0.5", lw=0.6)
            ax.set_yticks(y, [str(v) for v in rows["lever"]], fontsize="x-small")
            ax.set_title(_title(str(sub["label"].iloc[0])), fontsize="small")
            ax.set_xlabel(f"{text('contribution (贡献)')} [{format_unit(sub['unit'].iloc[0])}]")
            ax.grid(True, axis="x", lw=0.4, alpha=0.5)
        fig.suptitle(text("Which lever bought the result: Shapley contributions (各政策贡献)"))
        from matplotlib.lines import Line2D
        from matplotlib.patches import Patch

        fig.legend(handles=[Patch(color=color, label="Shapley contribution"),
                            Line2D([], [], marker="D", color="black", ls="none", ms=3.5,
                                   label="lever alone"),
                            Line2D([], [], color="black", ls="--", label="total change")],
                   loc="outside lower center", ncols=3, frameon=False)
    return fig
