"""``transfer-sim report``: one self-contained, well-formed HTML file that a browser renders."""

from __future__ import annotations

import base64
import hashlib
import io
import os
import subprocess
from html.parser import HTMLParser
from importlib.metadata import version

import numpy as np
import pytest
from PIL import Image

from transfer_sim.analysis.kpis import kpi_table
from transfer_sim.cli import main
from transfer_sim.inputs.levers import LEVERS
from transfer_sim.inputs.scenarios import load_scenario
from transfer_sim.model.core import model_hash
from transfer_sim.report import html as report
from transfer_sim.report.chromium import CHROMIUM_FLAGS, find_chromium
from transfer_sim.report.html import Section, build_report
from transfer_sim.run.runner import compare

PACKAGE = """
name = "fund-and-tax"
description = "no-policy plus the special fund from 2012 and 两免三减半"
extends = "no-policy"

[levers]
special_fund = { 2012 = 30, 2014 = 50 }
tax_relief = "two-free-three-half"
"""
#: <img> per report: targets, difference, sectors, levers, fiscal, attribution.
FIGURES = 6
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source",
        "track", "wbr"}


class _Checker(HTMLParser):
    """Collects images, links and ids; records any nesting error."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.images: list[dict[str, str]] = []
        self.urls: list[str] = []
        self.tags: list[str] = []
        self.ids: list[str] = []
        self.cells: list[tuple[str, str]] = []
        self._cell: list[str] | None = None
        self._cls = ""

    def handle_starttag(self, tag, attrs):
        a = {k: v or "" for k, v in attrs}
        self.tags.append(tag)
        if "id" in a:
            self.ids.append(a["id"])
        if tag == "img":
            self.images.append(a)
        for key in ("src", "href"):
            if key in a:
                self.urls.append(a[key])
        if tag == "td":
            self._cell, self._cls = [], a.get("class", "")
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag, attrs):
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:] or 'nothing'}")
            return
        self.stack.pop()
        if tag == "td" and self._cell is not None:
            self.cells.append((self._cls, "".join(self._cell)))
            self._cell = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


@pytest.fixture(scope="module")
def made(tmp_path_factory):
    folder = tmp_path_factory.mktemp("report")
    package = folder / "fund-and-tax.toml"
    package.write_text(PACKAGE, encoding="utf-8")
    out = folder / "report.html"
    argv = ["report", "policy-as-written", str(package), "-o", str(out), "--engine", "simlin"]
    assert main(argv) == 0
    text = out.read_text(encoding="utf-8")
    checker = _Checker()
    checker.feed(text)
    checker.close()
    return {"path": out, "text": text, "html": checker, "package": package}


def test_well_formed_and_self_contained(made):
    h = made["html"]
    assert made["text"].startswith("<!DOCTYPE html>")
    assert h.errors == []
    assert h.stack == []
    assert h.tags[0] == "html"
    assert "script" not in h.tags and "link" not in h.tags and "iframe" not in h.tags
    for url in h.urls:
        assert url.startswith(("data:image/png;base64,", "#")), url[:60]
    assert len(h.ids) == len(set(h.ids))
    anchors = [u[1:] for u in h.urls if u.startswith("#")]
    assert anchors and set(anchors) <= set(h.ids)


def test_every_figure_is_an_embedded_png(made):
    images = made["html"].images
    assert len(images) == FIGURES
    for img in images:
        assert img["alt"]
        data = base64.b64decode(img["src"].split(",", 1)[1], validate=True)
        with Image.open(io.BytesIO(data)) as png:
            assert png.format == "PNG"
            assert png.width > 300 and png.height > 200


def test_indicator_table_marks_met_and_missed(made):
    ds = compare([load_scenario("no-policy"), load_scenario("policy-as-written"),
                  load_scenario(made["package"])], engine="simlin")
    table = kpi_table(ds)
    targets = table[table["met"].notna()]
    cells = made["html"].cells
    met = [c for cls, c in cells if "met" in cls.split()]
    missed = [c for cls, c in cells if "missed" in cls.split()]
    assert len(met) == int((targets["met"] == True).sum())  # noqa: E712
    assert len(missed) == int((targets["met"] == False).sum())  # noqa: E712
    assert all("✓ met" in c for c in met) and all("✗ missed" in c for c in missed)


def test_sections_levers_and_attribution(made):
    text = made["text"]
    for title in ("Indicators against the 2015 targets", "Target indicators over time",
                  "Difference from no-policy", "Revenue and jobs by sector", "Levers in force",
                  "Fiscal ledger", "Which lever bought the result",
                  "How strongly each lever moves the targets here", "Levers side by side",
                  "Provenance"):
        assert f">{title}</h2>" in text
    for lever in LEVERS:
        assert f"<code>{lever.name}</code>" in text
    assert "fund-and-tax</b> in 2015" in text        # the last scenario is attributed
    assert "The reference scenario no-policy was added" in text
    assert "CJK font in figures" in text


def test_provenance_names_what_reproduces_it(made):
    text = made["text"]
    assert model_hash() in text
    for name in ("no-policy", "policy-as-written"):
        assert load_scenario(name).sha256 in text
    assert hashlib.sha256(made["package"].read_bytes()).hexdigest() in text
    for dist in ("pysd", "pysimlin"):
        assert version(dist) in text
    command = (f"transfer-sim report policy-as-written {made['package']} -o {made['path']} "
               "--reference no-policy --engine simlin")
    assert command in text


def test_extra_sections_come_before_the_levers(monkeypatch):
    # Figures are checked above; here only the order of the sections matters.
    monkeypatch.setattr(report, "figure_html", lambda fig, **kw: "<figure></figure>")
    scenarios = [load_scenario("no-policy"), load_scenario("policy-as-written")]
    ds = compare(scenarios, engine="simlin")
    extra = Section("Uncertainty (ensemble)", "<p>fan charts here</p>")
    text = build_report(ds, scenarios, reference="no-policy", extra_sections=[extra])
    assert text.index("fan charts here") < text.index(">Levers side by side</h2>")
    assert '<a href="#uncertainty-ensemble">' in text


def test_user_errors_write_nothing(tmp_path, capsys):
    out = tmp_path / "r.html"
    assert main(["report", "no-such-scenario", "-o", str(out)]) == 2
    assert "no-such-scenario" in capsys.readouterr().err
    assert main(["report", "no-policy", "-o", str(tmp_path / "missing" / "r.html")]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_renders_in_a_real_browser(made, tmp_path):
    browser = find_chromium()
    if browser is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed; .ci/run installs it (apt chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run does it)")
    shot = tmp_path / "shot.png"
    cmd = [browser, *CHROMIUM_FLAGS, f"--user-data-dir={tmp_path / 'profile'}",
           f"--screenshot={shot}", "--window-size=1280,2000", made["path"].as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=False)
    assert proc.returncode == 0, proc.stderr[-2000:]
    with Image.open(shot) as png:
        pixels = np.asarray(png.convert("L"), dtype=float)
    assert pixels.shape == (2000, 1280)
    assert pixels.std() > 20                      # not a blank page
    assert (pixels < 128).mean() > 0.01           # text and lines were drawn
    # The first figure's region is not empty: an image was decoded and painted.
    assert np.unique(pixels[800:1600].round(-1)).size > 5
