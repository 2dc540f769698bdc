"""model/README.md and the parameter table: fresh, complete and honest about sources.

Nothing here runs the model: the tests read the model facts (PySD's catalogue and the
value of each constant), so they need the translated model and live here, not in unit.
"""

from __future__ import annotations

import csv
import difflib
import math
import re
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from transfer_sim.inputs.levers import LEVERS
from transfer_sim.model import readme as docs
from transfer_sim.model.core import default_model_path

ROOT = Path(__file__).resolve().parents[2]
REGENERATE = "regenerate it with `python -m transfer_sim.model.readme` and commit model/README.md"
# Where a comment or reference cites the policy document: a section, a lever or target code.
CITES_DOCUMENT = re.compile(r"document|\bP\d+\b|\bT\d\b|FYP|Five-Year|section [一二三四五]")
CJK_RUN = re.compile(r"[0-9\-\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]{2,}")
SECTION = re.compile(r"^([一二三四五六七八九十]+)(?:\(([一二三四五六七八九十]+)\))?")


def _first_existing(*paths: Path) -> Path | None:
    return next((p for p in paths if p.exists()), None)


HISTORICAL = _first_existing(ROOT / "data" / "historical_figures.csv",
                             ROOT.parent / "shared" / "data" / "historical_figures.csv")
DOCUMENT = _first_existing(ROOT.parent / "shared" / "seed" / "policy_document_zh.txt")


def _numbers(text: str) -> list[float]:
    """Numbers in free text, read loosely: thousands separators dropped."""
    return [float(m.replace(",", "")) for m in re.findall(r"\d[\d,]*(?:\.\d+)?", text)
            if m.replace(",", "").replace(".", "", 1).isdigit()]


def _quotes(value: float, numbers: list[float]) -> bool:
    return any(math.isclose(value, n, rel_tol=1e-9) for n in numbers)


@pytest.fixture(scope="module")
def cat(facts):
    return facts.catalogue()


@pytest.fixture(scope="module")
def table():
    return docs.parameter_table()


@pytest.fixture(scope="module")
def sources():
    return docs.read_sources()


@pytest.fixture(scope="module")
def labelled(cat, sources):
    """Source rows of real constants, with the constant's .mdl comment."""
    rows = sources[sources["name"].isin(cat.index)].copy()
    rows["comment"] = [str(cat.at[n, "Comment"]) for n in rows["name"]]
    return rows


@pytest.fixture(scope="module")
def historical():
    if HISTORICAL is None:
        pytest.skip("historical_figures.csv not found (../shared/data beside the checkout)")
    with HISTORICAL.open(encoding="utf-8", newline="") as f:
        return list(csv.DictReader(f))


# ----------------------------------------------------------------------------- freshness
def test_readme_is_a_fresh_render():
    readme = docs.beside_model("README.md")
    fresh = docs.render_model_readme()
    current = readme.read_text(encoding="utf-8") if readme.exists() else ""
    if current != fresh:
        diff = "\n".join(list(difflib.unified_diff(
            current.splitlines(), fresh.splitlines(), "model/README.md", "fresh render",
            lineterm="", n=0))[:40])
        pytest.fail(f"model/README.md is stale: {REGENERATE}.\n{diff}")


def test_every_stock_is_described_in_the_prose():
    text = docs.render_model_readme()
    assert "Stocks of blocks without prose yet" not in text, (
        "a block with stocks has no {{stocks:Group}} section in model/README.template.md: "
        "describe it there, then " + REGENERATE)


def test_check_command_detects_a_stale_readme(tmp_path, capsys):
    out = tmp_path / "README.md"
    out.write_text("stale\n", encoding="utf-8")
    assert docs.main(["--check", "--output", str(out)]) == 1
    assert "python -m transfer_sim.model.readme" in capsys.readouterr().err
    assert out.read_text(encoding="utf-8") == "stale\n", "--check must not write"
    assert docs.main(["--output", str(out)]) == 0
    assert out.read_text(encoding="utf-8") == docs.render_model_readme()
    assert docs.main(["--check", "--output", str(out)]) == 0
    assert not list(tmp_path.glob(".README.md.*")), "atomic write left a temporary file"


# ----------------------------------------------------------------------------- the sources file
def test_every_constant_has_one_source_row(cat, sources):
    constants = set(docs.constant_names(cat))
    missing = sorted(constants - set(sources["name"]))
    assert not missing, f"constants without a row in model/parameter_sources.csv: {missing}"
    dupes = sorted(sources["name"][sources["name"].duplicated()])
    assert not dupes, f"duplicate rows in model/parameter_sources.csv: {dupes}"


def test_every_source_row_names_a_constant(cat, sources):
    unknown = sorted(set(sources["name"]) - set(docs.constant_names(cat)))
    assert not unknown, f"rows of model/parameter_sources.csv that name no constant: {unknown}"


def test_source_kinds_are_allowed_and_references_given(sources):
    bad = {n: k for n, k in zip(sources["name"], sources["source_kind"], strict=True)
           if k not in docs.SOURCE_KINDS}
    assert not bad, f"source_kind must be one of {list(docs.SOURCE_KINDS)}: {bad}"
    empty = sorted(sources["name"][sources["reference"] == ""])
    assert not empty, f"rows without a reference: {empty}"


def test_control_constants_are_model_settings(sources):
    kinds = dict(zip(sources["name"], sources["source_kind"], strict=True))
    for name in docs.CONTROL_CONSTANTS:
        assert kinds.get(name) == "model setting", name


def test_assumptions_are_never_presented_as_sourced(labelled):
    wrong = [(n, k) for n, k, c in labelled[["name", "source_kind", "comment"]].itertuples(
        index=False) if "assumption" in c.lower() and k in ("data", "document", "derived")]
    assert not wrong, f"the .mdl comment says Assumption, the CSV says otherwise: {wrong}"


def test_every_assumption_is_labelled_in_the_model(labelled):
    unlabelled = sorted(n for n, k, c in labelled[["name", "source_kind", "comment"]].itertuples(
        index=False) if k == "assumption" and "assumption" not in c.lower())
    assert not unlabelled, (
        f"labelled assumption in parameter_sources.csv but the .mdl comment does not say "
        f"so: {unlabelled}")


def test_calibrated_in_the_csv_iff_in_the_comment(labelled):
    mismatch = sorted(n for n, k, c in labelled[["name", "source_kind", "comment"]].itertuples(
        index=False) if ("calibrated" in c.lower()) != (k == "calibrated"))
    assert not mismatch, f"'Calibrated' in the .mdl comment and the CSV disagree: {mismatch}"


def test_data_and_document_constants_cite_their_source_in_the_model(labelled):
    for name, kind, comment in labelled[["name", "source_kind", "comment"]].itertuples(
            index=False):
        if kind == "data":
            assert "shared/data" in comment, f"{name}: labelled data, comment cites no shared/data"
        if kind == "document":
            assert CITES_DOCUMENT.search(comment), f"{name}: labelled document, comment cites none"


def test_data_references_quote_a_row_of_historical_figures(table, historical):
    data = table[table["source_kind"] == "data"]
    assert len(data), "no constant is labelled data"
    for name, ref, value in data[["reference", "data"]].itertuples():
        assert ref.startswith("historical_figures.csv"), f"{name}: {ref!r}"
        quoted = _numbers(ref)
        matches = [
            row for row in historical
            if any(_quotes(v, quoted) for v in _numbers(row["value"]))
            and re.search(rf"\b{row['confidence']}\b", ref)
            and (m := re.search(r"\d{4}", row["year"])) and m.group(0) in ref
        ]
        assert matches, (f"{name}: the reference quotes no row of historical_figures.csv "
                         f"(year, value and confidence): {ref!r}")
        scale = [0.01 if "%" in row["unit"] else 1.0 for row in matches]
        assert any(
            math.isclose(float(value), _numbers(row["value"])[0] * s, rel_tol=5e-3)
            for row, s in zip(matches, scale, strict=True)
        ), f"{name}: model value {value} differs from the quoted row"


def test_derived_references_show_their_arithmetic(table, historical):
    derived = table[table["source_kind"] == "derived"]
    in_csv = [n for row in historical for n in _numbers(row["value"] + " " + row["note"])]
    for name, ref in derived["reference"].items():
        assert "=" in ref or "approximat" in ref, f"{name}: no arithmetic in {ref!r}"
        if "historical_figures.csv" in ref:
            assert any(_quotes(n, in_csv) for n in _numbers(ref)), (
                f"{name}: quotes no number of historical_figures.csv: {ref!r}")


def test_document_references_name_a_real_section_and_quote_it_verbatim(table):
    if DOCUMENT is None:
        pytest.skip("policy_document_zh.txt not found (../shared/seed beside the checkout)")
    text = DOCUMENT.read_text(encoding="utf-8")
    majors = re.split(r"\n\s*(?=[一二三四五六七八九十]+、)", text)
    sections = {part.strip().split("、", 1)[0]: part for part in majors if "、" in part}
    for name, ref in table.loc[table["source_kind"] == "document", "reference"].items():
        m = SECTION.match(ref)
        assert m, f"{name}: a document reference starts with its section, e.g. 四(二): {ref!r}"
        assert m.group(1) in sections, f"{name}: the document has no section {m.group(1)}"
        if m.group(2):
            assert f"（{m.group(2)}）" in sections[m.group(1)], f"{name}: no {m.group(0)}"
        for run in CJK_RUN.findall(ref[m.end():].replace("…", " ")):
            if re.search(r"[\u4e00-\u9fff]", run):
                assert run in text, f"{name}: {run!r} is not in the document"


# ----------------------------------------------------------------------------- the model
def test_every_variable_has_units_and_a_comment(cat):
    variables = cat[cat["Type"].notna()]  # PySD's own 'Time' has no type
    no_units = sorted(n for n, u in variables["Units"].items()
                      if not isinstance(u, str) or not u.strip())
    no_comment = sorted(n for n, c in variables["Comment"].items()
                        if not isinstance(c, str) or not c.strip() or c.strip() == "None")
    assert not no_units, f"variables without units: {no_units}"
    assert not no_comment, f"variables without a comment: {no_comment}"


def test_every_lever_constant_has_a_finite_range_holding_its_value(cat, table):
    groups = docs.model_groups()
    constants = set(docs.constant_names(cat))
    levers = {lever.variable for lever in LEVERS if lever.variable}
    levers |= {n for n in constants if groups.get(n) == "Levers"}
    # Year-subscripted constants are schedules, except the calendar that defines them.
    levers |= {n for n in constants if "Year" in cat.at[n, "Subscripts"]
               and groups.get(n) != "Schedules"}
    assert levers <= constants, f"levers that are not model constants: {levers - constants}"
    for name in sorted(levers):
        lo, hi = cat.at[name, "Limits"]
        assert math.isfinite(lo) and math.isfinite(hi) and lo < hi, (
            f"{name}: lever constant needs a finite [min,max] range, has {(lo, hi)}")
        value = table.at[name, "data"]
        values = np.asarray(value.values if isinstance(value, xr.DataArray) else value, float)
        assert np.all((values >= lo) & (values <= hi)), f"{name}: {values} outside [{lo}, {hi}]"


def test_groups_cover_every_constant(cat):
    groups = docs.model_groups()
    ungrouped = sorted(set(docs.constant_names(cat)) - {n for n, g in groups.items() if g})
    assert not ungrouped, f"constants outside any .Group of the model: {ungrouped}"


# ----------------------------------------------------------------------------- formatting
def test_format_value_is_compact():
    years = [f"y{y}" for y in range(2005, 2021)]
    flat = xr.DataArray(np.full(16, 0.5), coords={"Year": years}, dims="Year")
    assert docs.format_value(flat) == "2005-2020: 0.5"
    step = xr.DataArray([0.0] * 6 + [30.0] * 10, coords={"Year": years}, dims="Year")
    assert docs.format_value(step) == "2005-2010: 0; 2011-2020: 30"
    sectors = xr.DataArray([1.0, 2.5], coords={"Sector": ["a", "b"]}, dims="Sector")
    assert docs.format_value(sectors) == "a 1, b 2.5"
    same = xr.DataArray([3.0, 3.0], coords={"Sector": ["a", "b"]}, dims="Sector")
    assert docs.format_value(same) == "every Sector: 3"
    lookup = xr.DataArray([1.0, 2.4], coords={"lookup_dim": [2005.0, 2010.0]}, dims="lookup_dim")
    assert docs.format_value(lookup) == "(2005, 1), (2010, 2.4)"
    matrix = xr.DataArray(np.zeros((2, 3)), dims=("Sector", "Factor"))
    assert docs.format_value(matrix) == "Sector × Factor matrix (below)"
    assert docs.format_value(0.03125) == "0.03125"
    assert docs.format_value(2011.0) == "2011"


def test_parameter_table_takes_values_from_the_model(cat, table):
    assert list(table.index) == list(table["name"])
    assert set(table.index) == set(docs.constant_names(cat))
    # Independent check on the scalar constants written as `name = number` in the .mdl.
    text = default_model_path().read_text(encoding="utf-8")
    written = {
        " ".join(m.group(1).split()).lower(): float(m.group(2))
        for m in re.finditer(r"^([A-Za-z][\w ]*?)\s*=\s*(-?[\d.]+(?:[eE]-?\d+)?)\s*$", text,
                             flags=re.MULTILINE)
    }
    checked = 0
    for name, real, data in table[["real_name", "data"]].itertuples():
        key = " ".join(real.split()).lower()
        if key in written and not isinstance(data, xr.DataArray):
            assert float(data) == pytest.approx(written[key]), name
            checked += 1
    assert checked > len(table) // 2


def test_readme_shows_each_calibrated_value_with_its_interval():
    import pandas as pd

    from transfer_sim.model.readme import default_fitted_path, render_calibration

    fitted = pd.read_csv(default_fitted_path(), keep_default_na=False)
    text = render_calibration()
    readme = (Path(__file__).resolve().parents[2] / "model" / "README.md").read_text("utf-8")
    assert text.strip() in readme
    for row in fitted.itertuples(index=False):
        line = next(ln for ln in text.splitlines() if f"`{row.parameter}`" in ln)
        if str(row.fitted).lower() == "true":
            assert "[" in line.split("|")[3], line  # an interval is shown
            assert "not fitted" not in line
        elif str(row.note).startswith("not identifiable"):
            assert "not identified" in line and line.split("|")[3].strip() == "–", line
        else:
            assert "not fitted" in line


def test_boundary_chart_classifies_the_model_by_its_links():
    from transfer_sim.model.boundary import classify, render_boundary

    levers = frozenset(lv.variable for lv in LEVERS if lv.variable)
    b = classify(levers=levers)
    assert b.stocks <= b.endogenous and not (b.endogenous & b.exogenous)
    # The targets are computed from stocks; the levers and the resource industry are given.
    for name in ("nonresource_revenue", "total_clusters_over_100yi", "demonstration_parks",
                 "jobs_brought_by_transfer", "contribution_rate"):
        assert name in b.endogenous, name
    assert not (levers & b.endogenous)
    assert {"coal_output", "resource_revenue"} <= b.exogenous - b.policy
    assert "relative_power_price" in b.policy
    chart = render_boundary()
    assert "| .Pipeline |" in chart and "Excluded" in chart and "共建" in chart
