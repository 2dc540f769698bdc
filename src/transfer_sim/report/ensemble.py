"""Report sections for an ensemble: the probability table and chart, and the fan charts."""

from __future__ import annotations

import os
from pathlib import Path

import matplotlib.pyplot as plt
import xarray as xr

from transfer_sim.analysis.kpis import TARGET_YEAR
from transfer_sim.analysis.probabilities import target_probabilities
from transfer_sim.errors import InputError
from transfer_sim.plotting.uncertainty import fan_charts, probability_chart
from transfer_sim.report.html import Section, figure_html, table_html

__all__ = ["report_sections", "ensemble_file_sections"]


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


def ensemble_file_sections(path: str | os.PathLike[str]) -> list[Section]:
    """Read an ensemble file and return its report sections (see :func:`report_sections`).

    Raises
    ------
    InputError
        When the file cannot be read or holds no ensemble.
    """
    p = Path(path)
    try:
        ds = xr.open_dataset(p, engine="h5netcdf")
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the ensemble file ({exc})", file=str(p)) from None
    with ds:
        if "run" not in ds.dims:
            raise InputError("not an ensemble file (no 'run' dimension)", file=str(p))
        return report_sections(ds, source=p.name)
