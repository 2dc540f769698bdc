"""The reviewer's report: one self-contained HTML file.

The report holds the indicator table against the document's 2015 targets (met or
missed), every figure of :mod:`transfer_sim.plotting`, the Shapley attribution of
the last scenario against the reference, the scenarios' levers side by side and the
provenance needed to reproduce every figure: the model file's hash, each scenario
file with its hash (and its fully resolved TOML), the package, engine and plotting
versions and the command line. Figures are embedded as PNG ``data:`` URIs and the
style sheet is inline, so the file opens offline and fetches nothing.

Adding sections
---------------
Later analyses add their own parts through ``extra_sections``, a sequence of
:class:`Section` (a title and an HTML fragment), placed after the attribution and
before the levers and provenance, and listed in the contents; ``lead_sections`` come
first, before the indicator table (the verdicts of an ensemble). Use
:func:`figure_html` to embed a figure and :func:`table_html` for a table::

    from transfer_sim.report.html import Section, figure_html, make_report
    fan = Section("Uncertainty", figure_html(fig, alt="fan chart of T2",
                                             caption="5-95 % band of 1,000 runs"))
    make_report(scenarios, "report.html", extra_sections=[fan])
"""

from __future__ import annotations

import base64
import hashlib
import html
import io
import platform
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from matplotlib.figure import Figure

from transfer_sim.analysis.attribution import Attribution, _count, attribute, effective_inputs
from transfer_sim.analysis.kpis import TARGET_CODES, TARGET_YEAR, kpi_table
from transfer_sim.engines import DEFAULT_ENGINE
from transfer_sim.errors import InputError
from transfer_sim.inputs import levers as _levers
from transfer_sim.inputs.scenarios import DEFAULT_REFERENCE
from transfer_sim.io.atomic import atomic_write_text
from transfer_sim.io.formatting import format_number
from transfer_sim.io.versions import package_version
from transfer_sim.model.core import YEARS
from transfer_sim.plotting import figures as plotting
from transfer_sim.run.runner import compare

__all__ = [
    "Section",
    "figure_html",
    "table_html",
    "display_unit",
    "kpi_table_html",
    "levers_html",
    "attribution_html",
    "elasticities_html",
    "elasticity_section",
    "provenance_html",
    "build_report",
    "write_report",
    "make_report",
    "DEFAULT_REFERENCE",
]

#: Reference scenario when none is named (the counterfactual).

_CSS = """
body { font-family: "DejaVu Sans", "Noto Sans CJK SC", "Noto Sans SC", sans-serif;
       margin: 2em auto; max-width: 1250px; color: #222; line-height: 1.4; padding: 0 1em; }
h1 { font-size: 1.6em; margin-bottom: 0.2em; } h2 { border-bottom: 1px solid #ccc;
     padding-bottom: 0.2em; margin-top: 2em; }
table { border-collapse: collapse; margin: 0.8em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; vertical-align: top; }
th { background: #f3f3f3; text-align: left; } td.num { text-align: right;
     font-variant-numeric: tabular-nums; white-space: nowrap; }
td.met { background: #e3f4e1; } td.missed { background: #fbe3e1; }
td.diff { background: #fff6cc; } td.decided { background: #e3f4e1; }
td.not-decided { background: #ececec; } p.verdict-summary { font-weight: bold; }
.swatch { display: inline-block; width: 0.9em;
     height: 0.9em; border-radius: 2px; margin-right: 0.35em; vertical-align: -0.1em; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto;
     border: 1px solid #eee; } figcaption { font-size: 0.9em; color: #444; }
code, pre { font-family: "DejaVu Sans Mono", monospace; font-size: 0.85em; }
pre { background: #f7f7f7; padding: 0.6em; overflow-x: auto; white-space: pre-wrap; }
.note { color: #555; font-size: 0.9em; } nav ol { columns: 2; }
"""


@dataclass(frozen=True)
class Section:
    """A part of the report.

    Parameters
    ----------
    title : str
        Heading (plain text; escaped when written).
    html : str
        Body: an HTML fragment, inserted as is (escape your own text with
        :func:`html.escape`; embed figures with :func:`figure_html`).
    anchor : str, optional
        Fragment id; derived from the title by default.
    """

    title: str
    html: str
    anchor: str = field(default="")

    @property
    def id(self) -> str:
        """The section's fragment id."""
        return self.anchor or re.sub(r"[^a-z0-9]+", "-", self.title.lower()).strip("-") or "s"


def figure_html(fig: Figure, *, alt: str, caption: str = "", dpi: int = 100) -> str:
    """Return a ``<figure>`` with ``fig`` embedded as a PNG data URI.

    Parameters
    ----------
    fig : matplotlib.figure.Figure
        Figure to embed.
    alt : str
        Alternative text.
    caption : str
        Caption (plain text).
    dpi : int
        Resolution of the PNG.
    """
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=dpi, metadata={"Software": None})
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    cap = f"<figcaption>{html.escape(caption)}</figcaption>" if caption else ""
    return (f'<figure><img alt="{html.escape(alt, quote=True)}" '
            f'src="data:image/png;base64,{data}">{cap}</figure>')


def table_html(frame: pd.DataFrame, *, numeric_format: str = "{:,.4g}") -> str:
    """Return a plain HTML table of a DataFrame (numbers right-aligned).

    Parameters
    ----------
    frame : pandas.DataFrame
        Table to write; the index is left out.
    numeric_format : str
        Format of floating-point cells.
    """
    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = []
    for _, row in frame.iterrows():
        cells = []
        for value in row:
            if isinstance(value, float | np.floating):
                text = "" if np.isnan(value) else numeric_format.format(value)
                cells.append(f'<td class="num">{html.escape(text)}</td>')
            else:
                cells.append(f"<td>{html.escape(str(value))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"


def display_unit(units: str) -> str:
    """Return a model unit as a reader writes it (``yiyuan`` -> 亿元, ``wanren`` -> 万人)."""
    out = str(units).replace("yiyuan/yikWh", "元/kWh")
    for word, zh in (("yiyuan", "亿元"), ("wanren", "万人"), ("yikWh", "亿kWh"),
                     ("Year", "year"), ("Dmnl", "dimensionless")):
        out = re.sub(rf"\b{word}\b", zh, out)
    return out


def _swatch(color: str) -> str:
    return f'<span class="swatch" style="background:{html.escape(color)}"></span>'


def _scenario_head(names: Sequence[str], colors: Mapping[str, str]) -> str:
    return "".join(f"<th>{_swatch(colors[n])}{html.escape(n)}</th>" for n in names)


def kpi_table_html(table: pd.DataFrame, colors: Mapping[str, str]) -> str:
    """Return the indicator table: a row per indicator, a column per scenario.

    Parameters
    ----------
    table : pandas.DataFrame
        :func:`transfer_sim.analysis.kpis.kpi_table`.
    colors : mapping
        Scenario -> colour (for the header swatches).

    Returns
    -------
    str
        Cells of indicators with a target are marked ``✓ met`` (class ``met``) or
        ``✗ missed`` (class ``missed``).
    """
    names = list(dict.fromkeys(table["scenario"]))
    rows = []
    for kpi in dict.fromkeys(table["kpi"]):
        sub = table[table["kpi"] == kpi].set_index("scenario")
        first = sub.iloc[0]
        target = "" if pd.isna(first["target"]) else f"≥ {first['target']:,g}"
        cells = [f"<td>{html.escape(str(first['label']))}</td>",
                 f"<td>{html.escape(display_unit(str(first['unit'])))}</td>",
                 f'<td class="num">{html.escape(target)}</td>']
        for name in names:
            r = sub.loc[name]
            value = f"{r['value']:,.1f}"
            if pd.isna(r["met"]):
                cells.append(f'<td class="num">{value}</td>')
            elif bool(r["met"]):
                cells.append(f'<td class="num met">{value} ✓ met</td>')
            else:
                cells.append(f'<td class="num missed">{value} ✗ missed</td>')
        rows.append("<tr>" + "".join(cells) + "</tr>")
    year = int(table["year"].iloc[0])
    head = f"<th>indicator in {year}</th><th>unit</th><th>target</th>" + _scenario_head(
        names, colors)
    return (f'<table class="kpis"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def _lever_text(scenario: Any, lever: _levers.Lever) -> str:
    """How a scenario sets a lever, as the scenario file would write it."""
    if lever.name in scenario.levers:
        value = scenario.levers[lever.name]
    else:
        for opt in _levers.LEVERS:
            chosen = scenario.levers.get(opt.name)
            if opt.kind == "option" and chosen is not None and lever.name in opt.options.get(
                    str(chosen), {}):
                return f"{opt.options[str(chosen)][lever.name]:g} (by {opt.name})"
        return f"{format_number(lever.default)} (model default)"
    return format_number(value)


def levers_html(scenarios: Sequence[Any], *, reference: str | None = None,
                colors: Mapping[str, str] | None = None, final_year: int | None = None) -> str:
    """Return the scenarios' levers side by side.

    Parameters
    ----------
    scenarios : sequence of Scenario
        Loaded scenarios.
    reference : str, optional
        Scenario the others are compared with; cells whose model input differs from
        it up to ``final_year`` are highlighted (class ``diff``).
    colors : mapping, optional
        Scenario -> colour.
    final_year : int, optional
        Last year compared (the latest final year by default).
    """
    names = [s.name for s in scenarios]
    colors = dict(colors) if colors is not None else plotting.scenario_colors(names)
    fy = final_year or max(s.final_year for s in scenarios)
    effective = {s.name: effective_inputs(s.levers) for s in scenarios}
    by_name = {s.name: s for s in scenarios}
    ref = effective.get(reference) if reference else None
    last = YEARS.index(fy) + 1
    rows = []
    for lever in _levers.LEVERS:
        cells = [f'<td title="{html.escape(lever.description, quote=True)}"><code>'
                 f"{html.escape(lever.name)}</code></td>",
                 f"<td>{html.escape(lever.section)}</td>",
                 f"<td>{html.escape(display_unit(lever.unit))}</td>"]
        for name in names:
            cls = ""
            if ref is not None and name != reference:
                if lever.variable is not None:
                    a, b = effective[name][lever.variable], ref[lever.variable]
                    n = last if a.size > 1 else 1
                    cls = "" if np.array_equal(a[:n], b[:n]) else ' class="diff"'
                elif str(by_name[name].levers.get(lever.name, lever.default)) != str(
                        by_name[str(reference)].levers.get(lever.name, lever.default)):
                    cls = ' class="diff"'
            cells.append(f"<td{cls}>{html.escape(_lever_text(by_name[name], lever))}</td>")
        rows.append("<tr>" + "".join(cells) + "</tr>")
    head = "<th>lever</th><th>section</th><th>unit</th>" + _scenario_head(names, colors)
    note = (f'<p class="note">Highlighted: differs from {html.escape(reference)} in a year '
            f"up to {fy}. Hover a lever for its description.</p>") if reference else ""
    return (f'{note}<table class="levers"><thead><tr>{head}</tr></thead>'
            f"<tbody>{''.join(rows)}</tbody></table>")


def attribution_html(attr: Attribution, *, color: str = "#1f77b4") -> str:
    """Return the attribution: definitions, a bar chart and the table.

    Parameters
    ----------
    attr : Attribution
        Result of :func:`transfer_sim.analysis.attribution.attribute`.
    color : str
        Bar colour (the package's scenario colour).
    """
    players = _count(len(attr.players), attr.by)
    if attr.by != "lever":
        players += " of the document"
    intro = (
        f"<p>Each indicator's change from <b>{html.escape(attr.reference)}</b> to "
        f"<b>{html.escape(attr.package)}</b> in {attr.year}, split among the "
        f"{players} in which they differ by exact Shapley values "
        f"({1 << len(attr.players)} runs on {html.escape(attr.engine)}). "
        "<i>contribution</i>: the lever's marginal effect averaged over every order of "
        "switching the levers on; the contributions add up to the total change. "
        "<i>alone</i>: the change with only that lever switched. <i>interaction</i> = "
        "contribution − alone; in the <i>total</i> row it is the total change minus the "
        "sum of the effects alone (what the levers do together).</p>")
    fig = plotting.plot_attribution(attr.table(), color=color)
    chart = figure_html(fig, alt="Shapley contributions per lever and indicator",
                        caption="Bars: Shapley contribution; diamonds: the lever alone; "
                                "dashed line: total change.")
    table = attr.table()
    table["unit"] = table["unit"].map(display_unit)
    cols = ["kpi", "lever", "contribution", "alone", "interaction", "unit", "levers"]
    return (intro + chart + _attribution_wide(attr)
            + "<details><summary>every lever and indicator: contribution, alone, interaction"
            "</summary>" + table_html(table[cols]) + "</details>")


def _attribution_wide(attr: Attribution) -> str:
    """Shapley contributions: a row per lever, a column per indicator, then the totals."""
    head = "<th>lever</th>" + "".join(
        f"<th>{html.escape(k)}<br><small>[{html.escape(display_unit(u))}]</small></th>"
        for k, u in zip(attr.kpis, attr.units, strict=True))
    sum_alone = attr.alone.sum(axis=0)
    rows = [(p.name, attr.shapley[i]) for i, p in enumerate(attr.players)]
    rows += [("total change", attr.total), ("sum of the levers alone", sum_alone),
             ("interaction (total − sum alone)", attr.total - sum_alone)]
    body = "".join(
        "<tr><td>" + html.escape(name) + "</td>"
        + "".join(f'<td class="num">{v:,.4g}</td>' for v in values) + "</tr>"
        for name, values in rows)
    return (f'<table class="attribution"><thead><tr>{head}</tr></thead><tbody>{body}'
            "</tbody></table>")


def _file_sha256(path: Path) -> str:
    try:
        return hashlib.sha256(path.read_bytes()).hexdigest()
    except OSError:
        return "(unreadable)"


def provenance_html(ds: xr.Dataset, scenarios: Sequence[Any], *, command: str | None = None,
                    attribution: Attribution | None = None) -> str:
    """Return what a reviewer needs to reproduce every figure.

    Parameters
    ----------
    ds : xarray.Dataset
        The compared results (their ``attrs`` hold the model hash and versions).
    scenarios : sequence of Scenario
        The scenarios, for their files, hashes and resolved TOML.
    command : str, optional
        The command line that made the report.
    attribution : Attribution, optional
        The attribution shown, for its engine and runs.
    """
    from transfer_sim.inputs.scenarios import dump_scenario

    a = ds.attrs
    facts = [
        ("model file", f"{a.get('model_file', '')}"),
        ("model sha256", str(a.get("model_sha256", ""))),
        ("engine", f"{a.get('engine', '')} {a.get('engine_version', '')}"),
        ("transfer-sim", str(a.get("transfer_sim_version", package_version("transfer-sim")))),
        ("PySD", str(a.get("pysd_version", package_version("pysd")))),
        ("pysimlin", str(a.get("pysimlin_version", package_version("pysimlin")))),
        ("xarray / numpy / matplotlib",
         " / ".join(package_version(d) for d in ("xarray", "numpy", "matplotlib"))),
        ("Python", platform.python_version()),
        ("CJK font in figures", plotting.cjk_font() or "none (Chinese left out of figures)"),
        ("results created", str(a.get("created", ""))),
        ("report written", datetime.now(UTC).isoformat(timespec="seconds")),
    ]
    if attribution is not None:
        facts.append(("attribution", f"{attribution.package} vs {attribution.reference}, "
                                     f"{1 << len(attribution.players)} runs on "
                                     f"{attribution.engine}, indicators in {attribution.year}"))
    rows = "".join(f"<tr><th>{html.escape(k)}</th><td><code>{html.escape(v)}</code></td></tr>"
                   for k, v in facts)
    out = [f"<table>{rows}</table>"]
    if command:
        out.append(f"<p>Command line:</p><pre>{html.escape(command)}</pre>")
    files = []
    for s in scenarios:
        chain = list(getattr(s, "chain", ()) or ([s.path] if s.path else []))
        if not chain:
            files.append(f"<tr><td>{html.escape(s.name)}</td><td>(built in code)</td>"
                         "<td></td></tr>")
        for i, path in enumerate(chain):
            digest = s.sha256 if i == 0 and s.sha256 else _file_sha256(Path(path))
            role = "" if i == 0 else " (extended)"
            files.append(f"<tr><td>{html.escape(s.name)}{role}</td>"
                         f"<td><code>{html.escape(str(path))}</code></td>"
                         f"<td><code>{html.escape(digest)}</code></td></tr>")
    out.append("<p>Scenario files:</p><table><thead><tr><th>scenario</th><th>file</th>"
               f"<th>sha256</th></tr></thead><tbody>{''.join(files)}</tbody></table>")
    out.append('<p class="note">Each scenario as run, fully resolved (it loads on its own '
               "with <code>transfer-sim run FILE</code>):</p>")
    for s in scenarios:
        out.append(f"<details><summary>{html.escape(s.name)}</summary><pre>"
                   f"{html.escape(dump_scenario(s))}</pre></details>")
    out.append('<p class="note">To reproduce every figure: check out transfer-sim '
               f"{html.escape(str(a.get('transfer_sim_version', '')))} with a model file of "
               "the sha256 above and the scenario files listed (or the resolved scenarios), "
               "and run the command line.</p>")
    return "".join(out)


def build_report(ds: xr.Dataset, scenarios: Sequence[Any], *, reference: str | None = None,
                 attribution: Attribution | None = None, command: str | None = None,
                 extra_sections: Sequence[Section] = (), notes: Sequence[str] = (),
                 title: str | None = None, lead_sections: Sequence[Section] = ()) -> str:
    """Return the report's HTML from results already computed.

    Parameters
    ----------
    ds : xarray.Dataset
        Results of :func:`transfer_sim.compare` for ``scenarios``.
    scenarios : sequence of Scenario
        The scenarios in ``ds``, in its order.
    reference : str, optional
        Scenario the others are compared with (difference figure, highlighted
        levers).
    attribution : Attribution, optional
        Attribution to show.
    command : str, optional
        Command line that made the report (shown in the provenance).
    extra_sections : sequence of Section
        More sections, after the attribution.
    notes : sequence of str
        Plain-text remarks shown under the title (e.g. why a part is missing).
    title : str, optional
        Page title.
    lead_sections : sequence of Section
        Sections placed first, before the indicator table.

    Returns
    -------
    str
        A complete HTML document.
    """
    names = plotting._scenario_names(ds)
    if [s.name for s in scenarios] != names:
        raise InputError(f"scenarios {[s.name for s in scenarios]} do not match the results "
                         f"({names})", key="scenarios")
    if reference is not None and reference not in names:
        raise InputError(f"reference {reference!r} is not among the scenarios", key="reference")
    colors = plotting.scenario_colors(ds)
    title = title or f"transfer-sim report: {', '.join(names)}"
    sections: list[Section] = list(lead_sections)
    table = kpi_table(ds)
    sections.append(Section("Indicators against the 2015 targets", (
        f'<p class="note">The document\'s five targets (T1-T5) and the fiscal indicators in '
        f"{TARGET_YEAR}; a target is met when the value is at least the target.</p>"
        + kpi_table_html(table, colors)), "indicators"))
    sections += _figure_sections(ds, names, reference, colors)
    if attribution is not None:
        sections.append(Section("Which lever bought the result", attribution_html(
            attribution, color=colors.get(attribution.package, "#1f77b4")), "attribution"))
    sections.extend(extra_sections)
    sections.append(Section("Levers side by side", levers_html(
        scenarios, reference=reference, colors=colors), "levers"))
    sections.append(Section("Provenance", provenance_html(
        ds, scenarios, command=command, attribution=attribution), "provenance"))
    ids = [s.id for s in sections]
    if len(set(ids)) != len(ids):
        raise InputError("section titles must be distinct", key="extra_sections")
    legend = " ".join(f"{_swatch(colors[n])}{html.escape(n)}" for n in names)
    return _page(title, ds, legend, sections, notes)


def _figure_sections(ds: xr.Dataset, names: Sequence[str], reference: str | None,
                     colors: Mapping[str, str]) -> list[Section]:
    """Return the figure sections: targets, difference, sectors, levers, fiscal ledger."""
    sections: list[Section] = []
    sections.append(Section("Target indicators over time", figure_html(
        plotting.plot_targets(ds, colors=colors), alt="target indicators over time",
        caption="T1-T5 per scenario; dashed: the document's 2015 target; shaded: the "
                "12th Five-Year Plan. T3 is the non-resource share of the industrial "
                "revenue increment since 2010, per year."), "targets"))
    if reference is not None and len(names) > 1:
        sections.append(Section(f"Difference from {reference}", figure_html(
            plotting.plot_difference(ds, reference, colors=colors),
            alt=f"difference from {reference}",
            caption=f"Each scenario minus {reference}."), "difference"))
    sections.append(Section("Revenue and jobs by sector", figure_html(
        plotting.plot_sectors(ds, colors=colors), alt="revenue and jobs by sector",
        caption="Stacked by the document's seven sectors; jobs include SME jobs."),
        "sectors"))
    sections.append(Section("Levers in force", figure_html(
        plotting.plot_levers(ds, colors=colors), alt="levers in force over time",
        caption="The lever schedules each scenario puts in force (after the policy "
                "start year)."), "lever-schedules"))
    sections.append(Section("Fiscal ledger", figure_html(
        plotting.plot_fiscal(ds, colors=colors), alt="fiscal ledger",
        caption="Totals to date; cost per job = (fund spent + tax foregone + power "
                "discount) / new jobs (亿元/万人 = 万元 a job)."), "fiscal"))
    return sections


def _page(title: str, ds: xr.Dataset, legend: str, sections: Sequence[Section],
          notes: Sequence[str]) -> str:
    """Return the HTML document: title, scenario legend, notes, contents, sections."""
    nav = "".join(f'<li><a href="#{html.escape(s.id)}">{html.escape(s.title)}</a></li>'
                  for s in sections)
    body = "".join(f'<section id="{html.escape(s.id)}"><h2>{html.escape(s.title)}</h2>'
                   f"{s.html}</section>" for s in sections)
    note_html = "".join(f'<p class="note">{html.escape(n)}</p>' for n in notes)
    return (
        '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
        '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
        f"<title>{html.escape(title)}</title>\n<style>{_CSS}</style>\n</head>\n<body>\n"
        f"<h1>{html.escape(title)}</h1>\n"
        "<p>Inner Mongolia's 2011-2015 policy for undertaking industrial transfer "
        "(关于积极承接产业转移 加快发展非资源型产业的指导意见), model "
        f"<code>{html.escape(str(ds.attrs.get('model_file', '')))}</code>. Scenarios: "
        f"{legend}.</p>\n{note_html}<nav><ol>{nav}</ol></nav>\n{body}\n</body>\n</html>\n")


def write_report(html_text: str, path: str | Path) -> Path:
    """Write the report atomically (nothing is left behind on failure).

    Parameters
    ----------
    html_text : str
        The document (:func:`build_report`).
    path : path-like
        Target file.
    """
    return atomic_write_text(path, html_text)


def elasticity_section(scenario: Any) -> Section:
    """Return the section of local elasticities of the targets at ``scenario``'s point.

    Parameters
    ----------
    scenario : Scenario
        The point (:func:`transfer_sim.analysis.elasticities.elasticities`).
    """
    from transfer_sim.analysis.elasticities import elasticities

    return Section("How strongly each lever moves the targets here",
                   elasticities_html(elasticities(scenario)), "elasticities")


def elasticities_html(table: pd.DataFrame) -> str:
    """Return the table of :func:`~transfer_sim.analysis.elasticities.elasticities`."""
    from transfer_sim.analysis.elasticities import STEP

    shown = table.drop(columns=["variable"]).rename(
        columns={**TARGET_CODES, "value_at_point": "value here"})
    a = table.attrs
    intro = (f'<p class="note">At {html.escape(str(a.get("scenario", "")))}\'s point: the per '
             f"cent change of each target's {a.get('year', TARGET_YEAR)} figure for a 1 % "
             "stronger lever (every year of a schedule at once), from the model's exact "
             f"derivatives on the {html.escape(str(a.get('engine', 'batch')))} engine (forward "
             f"mode; the target's own formula applied a step of {STEP:g} either way along "
             "them). A count such as T1 moves in whole steps, so its local elasticity is zero "
             "unless a cluster sits exactly on the threshold. Local: a small change around "
             "this point, not the effect of switching a lever on or off (that is the "
             "attribution).</p>")
    return intro + table_html(shown, numeric_format="{:+.3g}")


def make_report(scenarios: Sequence[Any], path: str | Path, *,
                reference: Any | None = None, engine: str = DEFAULT_ENGINE,
                attribute_last: bool = True, command: str | None = None,
                extra_sections: Sequence[Section] = (),
                progress: Callable[[int, int], None] | None = None,
                lead_sections: Sequence[Section] = ()) -> Path:
    """Run the scenarios, attribute the last one, and write the report.

    Parameters
    ----------
    scenarios : sequence of Scenario
        Scenarios to compare.
    path : path-like
        HTML file to write.
    reference : Scenario, optional
        Scenario the others are compared with; added in front of ``scenarios``
        when it is not among them.
    engine : {"simlin", "pysd", "batch"}
        Engine of the comparison runs. The attribution always runs on simlin (it
        needs up to 1,024 runs).
    attribute_last : bool
        Attribute the last scenario (other than the reference) against the
        reference.
    command : str, optional
        Command line to record.
    extra_sections : sequence of Section
        More sections (see the module's docstring).
    progress : callable, optional
        ``progress(done, total)`` for the attribution runs.
    lead_sections : sequence of Section
        Sections placed first (see :func:`build_report`).

    Returns
    -------
    pathlib.Path
        The report.
    """
    from transfer_sim.io.atomic import check_writable

    check_writable(path)
    chosen = list(scenarios)
    notes: list[str] = []
    if reference is not None and reference.name not in [s.name for s in chosen]:
        chosen.insert(0, reference)
        notes.append(f"The reference scenario {reference.name} was added to the comparison.")
    ds = compare(chosen, engine=engine)
    attr = None
    if reference is not None and attribute_last:
        package = next((s for s in reversed(chosen) if s.name != reference.name), None)
        if package is not None:
            try:
                attr = attribute(package, reference, engine="simlin", progress=progress)
            except InputError as exc:
                notes.append(f"No attribution of {package.name} against {reference.name}: "
                             f"{exc}")
    text = build_report(ds, chosen, reference=reference.name if reference else None,
                        attribution=attr, command=command, extra_sections=extra_sections,
                        notes=notes, lead_sections=lead_sections)
    return write_report(text, path)
