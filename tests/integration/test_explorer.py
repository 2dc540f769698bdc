"""``transfer-sim explore``: the page's numbers equal the Python run of the same levers.

The browser tests drive headless Chromium over the DevTools pipe
(:mod:`transfer_sim.report.chromium`); they are marked ``slow`` and skipped only when
no chromium is installed (CI installs it, as for the report's test).
"""

from __future__ import annotations

import json
import math
import os
import random
from pathlib import Path

import numpy as np
import pytest

from transfer_sim.analysis.kpis import kpi_table
from transfer_sim.cli import main
from transfer_sim.errors import InputError
from transfer_sim.inputs import levers as _levers
from transfer_sim.inputs.scenarios import list_scenarios, load_scenario
from transfer_sim.model.core import YEARS
from transfer_sim.model.facts import model_facts
from transfer_sim.report import explorer
from transfer_sim.report.chromium import Chromium, find_chromium
from transfer_sim.run.plan import plan
from transfer_sim.run.runner import run_scenario

REL = 1e-6
BUNDLED = [p.stem for p in list_scenarios()]


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("explorer") / "explorer.html"
    assert main(["explore", "all", "-o", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def browser():
    if find_chromium() is None:
        if os.environ.get("CI") == "true":
            pytest.fail("chromium is not installed; .ci/run installs it (apt chromium)")
        pytest.skip("chromium is not installed (apt-get install chromium; .ci/run does it)")
    with Chromium(width=1400, height=1000) as b:
        yield b


READY = "document.body.dataset.state === 'ready'"
VALUES = ("Object.fromEntries([...document.querySelectorAll('[data-kpi]')]"
          ".map(e => [e.dataset.kpi, e.dataset.value]))")


def _open(browser, page: Path, fragment: str) -> dict[str, float]:
    browser.open(page.as_uri() + fragment, ready=READY)
    return {k: float(v) for k, v in browser.evaluate(VALUES).items()}


def _toml_value(value) -> str:
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{y} = {float(v)!r}" for y, v in value.items()) + " }"
    return json.dumps(value) if isinstance(value, str) else repr(float(value))


def _what_if(tmp_path: Path, preset: str, own: dict) -> Path:
    """The scenario file `transfer-sim run` would be given for the same levers."""
    lines = [f'extends = "{preset}"', "", "[levers]"]
    lines += [f"{name} = {_toml_value(value)}" for name, value in own.items()]
    path = tmp_path / f"what-if-{len(list(tmp_path.glob('*.toml')))}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _python_kpis(scenario_file: Path | str) -> dict[str, float]:
    table = kpi_table(run_scenario(load_scenario(scenario_file)))
    return dict(zip(table["kpi"], table["value"], strict=True))


def _assert_close(page_values: dict[str, float], python_values: dict[str, float]) -> None:
    assert set(page_values) == set(python_values)
    for name, expected in python_values.items():
        got = page_values[name]
        if math.isnan(expected):
            assert math.isnan(got), name
        else:
            assert got == pytest.approx(expected, rel=REL, abs=1e-12), name


def _python_inputs(scenario_file: Path | str) -> dict[str, float]:
    """The model inputs `transfer-sim run` gives the engine (levers, then parameters)."""
    return explorer.expand_inputs(plan(load_scenario(scenario_file)).inputs)


def _draw(rng: random.Random, lever: _levers.Lever) -> float:
    lo, hi = lever.bounds
    return float(rng.randint(int(lo), int(hi))) if lever.integer else rng.uniform(lo, hi)


def _random_levers(rng: random.Random, final_year: int) -> dict:
    own: dict = {}
    for lever in _levers.LEVERS:
        if rng.random() < 0.5:
            continue
        if lever.kind == "option":
            own[lever.name] = rng.choice(list(lever.options))
            continue
        if lever.kind == "schedule" and rng.random() < 0.5:
            years = sorted(rng.sample(range(YEARS[0], final_year + 1), rng.randint(1, 3)))
            own[lever.name] = {y: _draw(rng, lever) for y in years}
        else:
            own[lever.name] = _draw(rng, lever)
    if own.get("tax_relief") not in (None, "custom"):      # a named option and its own values
        own.pop("tax_exempt_years", None)
        own.pop("tax_half_years", None)
    if "policy_start_year" in own:                          # keep the package inside the run
        own["policy_start_year"] = float(rng.randint(2005, final_year))
    return own


def test_kpi_spec_evaluates_as_kpi_table():
    """The Python twin of the page's spec interpreter gives kpi_table's numbers exactly."""
    ds = run_scenario(load_scenario("policy-as-written"))
    spec = explorer.kpi_spec()
    names = {v for k in spec for v in k["formula"]["reads"]}
    values = explorer.evaluate_kpis(spec, ds["time"].values, {n: ds[n].values for n in names})
    table = kpi_table(ds)
    assert values == dict(zip(table["kpi"], table["value"], strict=True))


def test_file_is_small_and_offline(page):
    text = page.read_text(encoding="utf-8")
    assert page.stat().st_size < explorer.MAX_BYTES
    assert text.startswith("<!DOCTYPE html>")
    assert "default-src 'none'" in text                     # the page may fetch nothing
    for needle in ("http://", "https://"):
        assert needle not in text.replace("http://www.w3.org/2000/svg", "")


def _page_data(path: Path) -> dict:
    text = path.read_text(encoding="utf-8")
    raw = text.split('id="explorer-data">', 1)[1].split("</script>", 1)[0]
    return json.loads(raw.replace("<\\/", "</"))


def test_default_presets_reference_and_modules(tmp_path):
    out = tmp_path / "explorer.html"
    assert main(["explore", "-o", str(out)]) == 0
    data = _page_data(out)
    assert [p["name"] for p in data["presets"]] == list(explorer.HEADLINE_SCENARIOS)
    assert data["default_preset"] == "policy-as-written"
    assert data["reference"]["name"] == "no-policy"
    assert len(data["modules"]) == 1                          # every preset runs to 2015
    assert [k["name"] for k in data["kpis"]] == [k["name"] for k in explorer.kpi_spec()]
    assert data["levers"] == explorer.lever_table()
    out2 = tmp_path / "late.html"
    assert main(["explore", "late-start", "no-policy", "power-discount-deep", "--reference",
                 "policy-as-written", "-o", str(out2)]) == 0
    data = _page_data(out2)
    assert data["default_preset"] == "late-start"
    assert data["reference"]["name"] == "policy-as-written"
    # runs to 2015 and to 2020 simulate to the end of those years
    assert sorted(m["final_time"] for m in data["modules"].values()) == [2016.0, 2021.0]


def test_same_model_same_page(tmp_path):
    """Reproducible: the layout's entries and the font subset do not change between builds."""
    import base64
    import gzip

    from transfer_sim.engines.simlin_wasm import _parse_layout

    pages = [tmp_path / f"{i}.html" for i in range(2)]
    for out in pages:
        assert main(["explore", "no-policy", "-o", str(out)]) == 0
    assert pages[0].read_bytes() == pages[1].read_bytes()
    module = next(iter(_page_data(pages[0])["modules"].values()))
    n_slots, offset, slots = _parse_layout(gzip.decompress(base64.b64decode(module["layout"])))
    assert offset > 0 and n_slots >= len(slots) and "time" in slots


def test_bad_output_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["explore", "no-policy", "-o", str(tmp_path / "x.txt")]) == 2
    assert "allowed: .html" in capsys.readouterr().err
    assert main(["explore", "no-such", "-o", str(tmp_path / "x.html")]) == 2
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
@pytest.mark.parametrize("preset", BUNDLED)
def test_every_preset_equals_python(page, browser, preset):
    values = _open(browser, page, explorer.format_fragment(preset))
    _assert_close(values, _python_kpis(preset))
    page_inputs = browser.evaluate(f"explorer.inputsFor({json.dumps(preset)}, {{}})")
    assert page_inputs == _python_inputs(preset)


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(6))
def test_random_lever_sets_equal_python(page, browser, tmp_path, seed):
    rng = random.Random(seed)
    preset = rng.choice(BUNDLED)
    own = _random_levers(rng, load_scenario(preset).final_year)
    fragment = explorer.format_fragment(preset, own)
    assert explorer.parse_fragment(fragment, final_year=load_scenario(preset).final_year)[0] \
        == preset
    values = _open(browser, page, fragment)
    assert browser.evaluate("document.getElementById('error').hidden") is True
    what_if = _what_if(tmp_path, preset, own)
    _assert_close(values, _python_kpis(what_if))
    page_inputs = browser.evaluate(
        f"explorer.inputsFor({json.dumps(preset)}, explorer.parseFragment("
        f"{json.dumps(fragment)}).own)")
    assert page_inputs == _python_inputs(what_if)


@pytest.mark.slow
@pytest.mark.parametrize(("fragment", "lever", "allowed"), [
    ("special_fund=500", "special_fund", "allowed: a number from 0 to 200 yiyuan/Year"),
    ("tax_relief=four-free", "tax_relief", 'allowed: "none", "two-free-three-half"'),
    ("tax_exempt_years=2.5", "tax_exempt_years", "allowed: a whole number from 0 to 5 Year"),
    ("power_discount=2011:0.04,2030:0.08", "power_discount", "years from 2005 to 2015"),
    ("tax_relief=none&tax_exempt_years=2", "tax_exempt_years", 'use tax_relief = "custom"'),
    ("special_fund=lots", "special_fund", "is not a number"),
])
def test_invalid_fragment_shows_error_and_keeps_state(page, browser, fragment, lever, allowed):
    good = "#preset=policy-as-written&special_fund=60&power_discount=0.08"
    before = _open(browser, page, good)
    browser.evaluate(f"location.hash = {json.dumps('#preset=policy-as-written&' + fragment)}")
    error = browser.wait_for("!document.getElementById('error').hidden && "
                             "document.getElementById('error').textContent")
    assert lever in error and allowed in error
    assert "keeps the last valid settings" in error
    assert {k: float(v) for k, v in browser.evaluate(VALUES).items()} == before
    assert browser.evaluate("explorer.state.own") == {"special_fund": 60, "power_discount": 0.08}
    assert browser.evaluate("document.querySelector('input[name=special_fund]').value") == "60"


@pytest.mark.slow
def test_controls_refuse_invalid_values(page, browser):
    before = _open(browser, page, "#preset=no-policy")
    assert browser.evaluate("document.querySelector('input[name=special_fund]').max") == "200"
    browser.evaluate("""(() => { const n = document.querySelector(
        '[data-lever=special_fund] input[type=number]'); n.value = '500';
        n.dispatchEvent(new Event('change')); })()""")
    error = browser.evaluate("document.getElementById('error').textContent")
    assert "special_fund" in error and "from 0 to 200" in error
    assert browser.evaluate("document.querySelector('[data-lever=special_fund] "
                            "input[type=number]').value") == "0"
    assert {k: float(v) for k, v in browser.evaluate(VALUES).items()} == before
    assert browser.evaluate("location.hash") == "#preset=no-policy"


@pytest.mark.slow
def test_slider_updates_the_page_and_the_fragment(page, browser, tmp_path):
    _open(browser, page, "#preset=no-policy")
    browser.evaluate("""(() => { const s = document.querySelector('input[name=special_fund]');
        s.value = '45'; s.dispatchEvent(new Event('input')); })()""")
    assert browser.evaluate("location.hash") == "#preset=no-policy&special_fund=45"
    values = {k: float(v) for k, v in browser.evaluate(VALUES).items()}
    _assert_close(values, _python_kpis(_what_if(tmp_path, "no-policy", {"special_fund": 45.0})))
    assert "updated in" in browser.evaluate("document.getElementById('timing').textContent")


@pytest.mark.slow
@pytest.mark.parametrize("fragment", [
    "#preset=policy-as-written&special_fund=60&power_discount=0.08",
    "#preset=late-start&tax_exempt_years=4&special_fund=2012:30,2014:0",
    "#preset=power-discount-deep&tax_relief=none&policy_start_year=2012",
])
def test_toml_export_runs(page, browser, tmp_path, fragment):
    values = _open(browser, page, fragment)
    toml = browser.evaluate("document.getElementById('toml').textContent")
    assert toml == browser.evaluate("explorer.toToml(explorer.state.preset, explorer.state.own)")
    path = tmp_path / "what-if.toml"
    path.write_text(toml, encoding="utf-8")
    preset = fragment.split("&")[0].split("=")[1]
    assert f'extends = "{preset}"' in toml
    own = load_scenario(path).own_levers
    assert set(own) == set(explorer.parse_fragment(fragment)[1])   # only what differs
    assert main(["run", str(path), "-o", str(tmp_path / "out.nc")]) == 0
    _assert_close(values, _python_kpis(path))


@pytest.mark.slow
def test_screenshot_is_not_blank(page, browser, tmp_path):
    from PIL import Image

    _open(browser, page, "#preset=policy-as-written")
    # Every target chart has its line, its reference ghost line and its target line.
    paths = browser.evaluate("[...document.querySelectorAll('.chart')].map(c => ["
                             "c.querySelector('path.cur').getAttribute('d'),"
                             "c.querySelector('path.ref').getAttribute('d')])")
    # the targets in each year 2005-2015 (T3 from 2011): at least five points a line
    assert len(paths) == 6 and all(ref.count("L") >= 4 for _, ref in paths)
    assert all(cur.count("L") >= 4 for cur, _ in paths[:5])
    shot = browser.screenshot(tmp_path / "shot.png")
    with Image.open(shot) as png:
        pixels = np.asarray(png.convert("L"), dtype=float)
    assert pixels.std() > 20 and (pixels < 128).mean() > 0.01


@pytest.mark.slow
def test_invalid_fragment_on_first_load_shows_the_default_preset(page, browser):
    expected = _open(browser, page, "#preset=policy-as-written")
    values = _open(browser, page, "#special_fund=-1")
    error = browser.evaluate("document.getElementById('error').textContent")
    assert "special_fund" in error and "allowed: a number from 0 to 200" in error
    assert values == expected
    assert browser.evaluate("explorer.state.preset") == "policy-as-written"


@pytest.mark.slow
def test_schedule_text_refuses_a_year_past_the_run(page, browser):
    before = _open(browser, page, "#preset=no-policy&special_fund=2012:30")
    browser.evaluate("""(() => { const t = document.querySelector(
        '[data-lever=special_fund] input.schedule'); t.value = '2012:30,2030:5';
        t.dispatchEvent(new Event('change')); })()""")
    error = browser.evaluate("document.getElementById('error').textContent")
    assert "special_fund" in error and "years from 2005 to 2015" in error
    assert browser.evaluate("document.querySelector('[data-lever=special_fund] "
                            "input.schedule').value") == "2012:30"
    assert {k: float(v) for k, v in browser.evaluate(VALUES).items()} == before
    browser.evaluate("""(() => { const t = document.querySelector(
        '[data-lever=special_fund] input.schedule'); t.value = '2012:30, 2014:0';
        t.dispatchEvent(new Event('change')); })()""")
    assert browser.evaluate("location.hash") == "#preset=no-policy&special_fund=2012:30,2014:0"


@pytest.mark.slow
@pytest.mark.parametrize("text", [
    "30", " 30 ", "+30", "30.", ".5", "3e1", "1e400", "nan", "inf", "1_000", "0x10", "", "-1",
    "2011:30", "2011:30,2014:0", "2014:0,2011:30", "2011:30,2011:40", "2011:30,", "2011",
    "2011:30:1", "x:30", "2011:x", "2004:1", "2016:1", " 2012 : 40 ",
])
def test_fragment_values_refused_alike(page, browser, text):
    """The page's fragment parser refuses exactly what the Python one refuses."""
    browser.open(page.as_uri() + "#preset=no-policy", ready=READY)
    fragment = "#preset=no-policy&special_fund=" + text.replace(" ", "%20")
    try:
        explorer.parse_fragment(fragment, final_year=2015)
        python_ok = True
    except InputError as exc:
        python_ok = False
        assert "special_fund" in str(exc)
    page_error = browser.evaluate(f"""(() => {{ try {{ explorer.parseFragment(
        {json.dumps(fragment)}); return null; }} catch (e) {{ return e.message; }} }})()""")
    assert (page_error is None) == python_ok, page_error
    if page_error is not None:
        assert page_error.startswith("special_fund")


@pytest.mark.slow
def test_user_file_with_its_own_time_step(browser, tmp_path):
    own = tmp_path / "fine-step.toml"
    step = 0.03125 if model_facts().control.time_step != 0.03125 else 0.0625
    own.write_text('extends = "stronger-package"\n\n[levers]\nspecial_fund = 90\n\n'
                   f'[run]\ntime_step = {step}\nfinal_year = 2017\n', encoding="utf-8")
    out = tmp_path / "explorer.html"
    assert main(["explore", str(own), "calibrated", "-o", str(out)]) == 0
    data = _page_data(out)
    assert data["presets"][0]["extends"] == str(own.resolve())
    assert sorted(m["time_step"] for m in data["modules"].values()) == sorted(
        {model_facts().control.time_step, step})
    values = _open(browser, out, "")                  # the first file given is the default
    _assert_close(values, _python_kpis(own))
    values = _open(browser, out, "#preset=fine-step&power_discount=2016:0.1")
    _assert_close(values, _python_kpis(_what_if(tmp_path, str(own), {"power_discount":
                                                                       {2016: 0.1}})))


@pytest.mark.slow
@pytest.mark.parametrize(("formula", "year"), [
    ({"kind": "stock", "variable": "demonstration_parks"}, 2013),
    ({"kind": "flow", "variable": "cumulative_revenue[equipment]"}, 2012),
    ({"kind": "flow", "variable": "cumulative_power_demand"}, 2014),
    ({"kind": "share_of_increment", "share": "cumulative_nonresource_revenue",
      "other": "cumulative_resource_revenue", "base": 2010.0, "scale": 100.0}, 2014),
])
def test_page_formula_kinds_equal_python(page, browser, tmp_path, formula, year):
    """Every formula kind of the spec (not only those kpis uses today) evaluates alike."""
    browser.open(page.as_uri() + "#preset=no-policy", ready=READY)
    own = {"special_fund": 50.0, "land_discount": {2012: 0.2}}
    formula = {**formula, "reads": explorer.formula_reads(formula)}
    got = browser.evaluate(f"explorer.evaluateFormula({json.dumps(formula)}, {year}, "
                           f"'weaker-package', {json.dumps(own)})")
    ds = run_scenario(load_scenario(_what_if(tmp_path, "weaker-package", own)))
    names = formula["reads"]
    series = {}
    for name in names:
        base, _, sector = name.partition("[")
        da = ds[base].sel(sector=sector.rstrip("]")) if sector else ds[base]
        series[name] = da.values
    expected = explorer.evaluate_kpis([{"name": "x", "formula": formula, "year": year}],
                                      ds["time"].values, series)["x"]
    assert got == pytest.approx(expected, rel=REL)


@pytest.mark.slow
def test_preset_menu_and_reset_drop_the_changes(page, browser):
    _open(browser, page, "#preset=policy-as-written&special_fund=90")
    browser.evaluate("""(() => { const s = document.getElementById('preset');
        s.value = 'late-start'; s.dispatchEvent(new Event('change')); })()""")
    assert browser.evaluate("location.hash") == "#preset=late-start"
    assert browser.evaluate("document.querySelector('input[name=policy_start_year]').value") \
        == "2013"
    browser.evaluate("location.hash = '#preset=late-start&special_fund=90'")
    browser.wait_for("explorer.state.own.special_fund === 90")
    browser.evaluate("document.getElementById('reset').click()")
    assert browser.evaluate("location.hash") == "#preset=late-start"
    assert browser.evaluate("explorer.state.own") == {}


@pytest.mark.slow
def test_option_then_governed_lever_is_custom(page, browser, tmp_path):
    _open(browser, page, "#preset=policy-as-written")
    browser.evaluate("""(() => { const s = document.querySelector('select[name=tax_relief]');
        s.value = 'three-free-three-half'; s.dispatchEvent(new Event('change')); })()""")
    assert browser.evaluate("location.hash") == \
        "#preset=policy-as-written&tax_relief=three-free-three-half"
    assert browser.evaluate("document.querySelector('input[name=tax_exempt_years]').value") \
        == "3"
    browser.evaluate("""(() => { const s = document.querySelector('input[name=tax_exempt_years]');
        s.value = '1'; s.dispatchEvent(new Event('input')); })()""")
    own = browser.evaluate("explorer.state.own")
    assert browser.evaluate("document.querySelector('select[name=tax_relief]').value") == "custom"
    toml = tmp_path / "custom.toml"
    toml.write_text(browser.evaluate("document.getElementById('toml').textContent"),
                    encoding="utf-8")
    scenario = load_scenario(toml)
    assert scenario.levers["tax_relief"] == "custom"
    assert (scenario.levers["tax_exempt_years"], scenario.levers["tax_half_years"]) == (1, 3)
    assert set(scenario.own_levers) == set(own)
    values = {k: float(v) for k, v in browser.evaluate(VALUES).items()}
    _assert_close(values, _python_kpis(toml))
