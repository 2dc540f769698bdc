"""Report sections for an ensemble: the verdicts, the probability table and chart, fan charts."""

from __future__ import annotations

import html
import os
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import xarray as xr

from transfer_sim.analysis.kpis import TARGET_YEAR
from transfer_sim.analysis.probabilities import open_ensemble, target_probabilities
from transfer_sim.analysis.verdicts import (
    NOT_DECIDED,
    TOP_DRIVERS,
    WIDE_INTERVAL,
    Verdicts,
    flips,
    percent,
)
from transfer_sim.plotting.uncertainty import fan_charts, probability_chart
from transfer_sim.report.html import Section, display_unit, figure_html, table_html

__all__ = ["report_sections", "ensemble_file_sections", "verdict_section", "VERDICT_TITLE"]

#: Title of the verdict section, the report's first when an ensemble is given.
VERDICT_TITLE = "Verdicts with their odds"


def report_sections(ds: xr.Dataset, *, source: str = "") -> list[Section]:
    """Return the HTML report's sections for an ensemble.

    Parameters
    ----------
    ds : xarray.Dataset
        An ensemble file's Dataset.
    source : str
        The ensemble file's name, quoted in the captions.

    Returns
    -------
    list of transfer_sim.report.Section
        "Probability of meeting the targets" (table and chart) and "Indicators
        under uncertainty" (fan charts).
    """
    table = target_probabilities(ds)
    where = f" from {source}" if source else ""
    runs = int(ds.sizes.get("run", 0))
    shown = table[["scenario", "label", "target", "p_met", "ci_low", "ci_high", "p05",
                   "median", "p95"]].rename(columns={
                       "label": "indicator", "p_met": "P(met)", "ci_low": "95 % low",
                       "ci_high": "95 % high", "p05": "5 %", "p95": "95 %"})
    fig = probability_chart(table).figure
    try:
        chart = figure_html(fig, alt="probability of meeting each 2015 target",
                            caption=f"Share of {runs} ensemble runs{where} meeting each target; "
                                    "bars show 95 % Wilson intervals.")
    finally:
        plt.close(fig)
    fans = fan_charts(ds)
    try:
        fan = figure_html(fans, alt="fan charts of the target indicators",
                          caption=f"Median, 25-75 % and 5-95 % of {runs} runs{where}; dashed "
                                  f"line: the {TARGET_YEAR} target.")
    finally:
        plt.close(fans)
    return [Section("Probability of meeting the targets", table_html(shown) + chart),
            Section("Indicators under uncertainty", fan)]


def _verdict_row(r: pd.Series) -> str:
    if pd.isna(r["decided_by_policy"]):
        flag = '<td class="verdict"></td>'
    elif r["decided_by_policy"]:
        flag = ('<td class="verdict decided">decided by the policy: it flips '
                f"{flips(r['paired_runs'], r['same_verdict_share'])}</td>")
    else:
        flag = f'<td class="verdict not-decided"><b>{html.escape(NOT_DECIDED)}</b></td>'
    p_met = (f"{percent(r['p_met'])} [{100 * r['ci_low']:.0f}–{100 * r['ci_high']:.0f}]"
             if r["runs"] else "")
    diff = ("" if not np.isfinite(r["policy_difference"])
            else f"{100 * r['policy_difference']:+.0f} pts")
    cells = [f"<td>{html.escape(str(r['label']))}</td>",
             f"<td>{html.escape(str(r['scenario']))}</td>",
             f'<td class="num">≥ {r["target"]:,g} {html.escape(display_unit(str(r["unit"])))}</td>',
             f'<td class="num">{p_met}</td>',
             f'<td class="num">{percent(r["p_met_no_policy"])}</td>',
             f'<td class="num">{diff}</td>',
             f'<td class="num">{percent(r["same_verdict_share"])}</td>',
             flag, f"<td>{html.escape(str(r['drivers']))}</td>"]
    return f'<tr data-kpi="{html.escape(str(r["kpi"]))}">' + "".join(cells) + "</tr>"


def verdict_section(v: Verdicts, *, source: str = "", indices: str = "") -> Section:
    """Return the report's verdict section: each target's verdict with its odds.

    Parameters
    ----------
    v : Verdicts
        :func:`transfer_sim.analysis.verdicts.verdicts`.
    source : str
        The ensemble file's name, for the text.
    indices : str
        The sensitivity tables' names, for the drivers' note.

    Returns
    -------
    Section
        A sentence per scenario naming the targets the policy does not decide, the
        table (a row per target and scenario, the counterfactual's own rows left
        out), and the notes.
    """
    t = v.table[v.table["scenario"] != v.counterfactual]
    runs = int(t["runs"].max()) if len(t) else 0
    where = f" of {html.escape(source)}" if source else ""
    intro = (
        f"<p>Each target in {TARGET_YEAR} under the documented uncertainties: the share of "
        f"the {runs} ensemble members{where} that meet it, with its 95 % Wilson interval, "
        f"beside the same for <b>{html.escape(v.counterfactual)}</b> (every scenario runs "
        "the same sampled members), the difference the policy makes, and the share of "
        "members whose verdict is the same with and without the policy. A target is "
        f"flagged <b>{html.escape(NOT_DECIDED)}</b> when that share is at least "
        f"{100 * v.threshold:g} %.</p>")
    words = "".join(f'<p class="verdict-summary">{html.escape(s)}</p>' for s in v.sentences())
    head = ("<th>target</th><th>scenario</th><th>target value</th><th>P(met) [95 %]</th>"
            f"<th>P(met) {html.escape(v.counterfactual)}</th><th>difference</th>"
            f"<th>same verdict</th><th>verdict</th><th>drivers (Sobol' total order ± 95 %)"
            "</th>")
    body = "".join(_verdict_row(r) for _, r in t.iterrows())
    table = (f'<table class="verdicts"><thead><tr>{head}</tr></thead><tbody>{body}'
             "</tbody></table>")
    from_ = f", {html.escape(indices)}" if indices else ""
    if t["drivers"].astype(bool).any():
        drivers = (f'<p class="note">Drivers: the {TOP_DRIVERS} uncertainties with the largest '
                   "Sobol' total-order index of the target's indicator in "
                   f"{TARGET_YEAR} (transfer-sim sensitivity{from_}); “(wide)”: the "
                   f"interval's half-width is at least {100 * WIDE_INTERVAL:g} % of the index, "
                   "which the sample then estimates poorly (close indices may overlap "
                   "without it).</p>")
    else:
        drivers = ('<p class="note">Drivers: give <code>--sensitivity S.csv</code> '
                   "(transfer-sim sensitivity SCENARIO --method sobol) to name the "
                   "uncertainties that drive each target.</p>")
    notes = "".join(f'<p class="note">Note: {html.escape(n)}.</p>' for n in v.notes)
    return Section(VERDICT_TITLE, words + intro + table + drivers + notes, "verdicts")


def ensemble_file_sections(path: str | os.PathLike[str]) -> list[Section]:
    """Read an ensemble file and return its report sections (see :func:`report_sections`).

    Raises
    ------
    InputError
        When the file cannot be read or holds no ensemble.
    """
    with open_ensemble(path) as ds:
        return report_sections(ds, source=Path(path).name)
