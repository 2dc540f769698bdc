"""The what-if explorer: one self-contained HTML file that runs the model in the page.

The page runs the same WebAssembly module the Simlin engine runs under wasmtime
(libsimlin's compilation of ``model/transfer.mdl``, embedded base64 with its layout
blob). Nothing the model computes is written in JavaScript; what the page needs to
know besides the module is generated here, from the package's own registries:

- :func:`lever_table` - every lever of :mod:`transfer_sim.inputs.levers` with the
  model constants it sets (one per year for schedules), its options, bounds, step,
  unit, section and labels. A small generic interpreter in the page
  (``explorer_assets/explorer.js``) turns lever values into the module's inputs the
  way :func:`~transfer_sim.inputs.levers.resolve` does; tests hold the two equal.
- :func:`kpi_spec` - the indicators of :mod:`transfer_sim.analysis.kpis` as data: how
  each is read for a figure in a year (``stock``: the value at the year's end;
  ``flow``: the cumulative stock's change over the year; ``share_of_increment``: T3).
  The page evaluates the spec; :func:`evaluate_kpis` is the same interpreter in Python.
- :func:`preset_entry` - each scenario given as a preset: its levers, its calibrated
  parameters as model inputs, its run settings and which module it runs on.

The state of the page lives in the URL fragment (:func:`format_fragment`,
:func:`parse_fragment`): ``#preset=NAME&lever=value&...``, schedule values as
``2011:30,2014:0``.
"""

from __future__ import annotations

import base64
import gzip
import io
import json
import math
import re
import struct
from collections.abc import Mapping, Sequence
from importlib.resources import files
from pathlib import Path
from typing import Any
from urllib.parse import quote, unquote

import numpy as np

from transfer_sim.analysis import kpis as _kpis
from transfer_sim.analysis.periods import cumulative_name
from transfer_sim.errors import InputError, ModelError
from transfer_sim.inputs import levers as _levers
from transfer_sim.inputs import parameters as _parameters
from transfer_sim.inputs.scenarios import Scenario
from transfer_sim.io.atomic import atomic_write_text
from transfer_sim.io.formatting import format_number
from transfer_sim.model.core import SECTORS, YEARS, model_hash
from transfer_sim.model.facts import model_facts
from transfer_sim.run.plan import plan

__all__ = [
    "HEADLINE_SCENARIOS",
    "unit_text",
    "DEFAULT_PRESET",
    "LABELS",
    "MAX_BYTES",
    "lever_table",
    "kpi_spec",
    "evaluate_kpis",
    "preset_entry",
    "expand_inputs",
    "parse_fragment",
    "format_fragment",
    "build_explorer",
    "write_explorer",
]

#: Presets when none is named on the command line (the README's headline comparison).
HEADLINE_SCENARIOS = ("no-policy", "policy-as-written", "stronger-package", "weaker-package",
                      "late-start", "fund-stops-2013")
#: Preset shown when the fragment names none and no scenario was given.
DEFAULT_PRESET = "policy-as-written"
#: The issue's ceiling on the file size.
MAX_BYTES = 3_000_000
#: Short labels of the levers, Chinese (the document's term) and English. Display
#: only: what a lever does comes from the registry. A lever missing here is shown
#: under its name (a unit test asks for every lever).
LABELS: Mapping[str, tuple[str, str]] = {
    "policy_start_year": ("政策实施年份", "policy start year"),
    "approval_delay": ("审批时限", "approval delay"),
    "tax_relief": ("所得税减免", "tax relief regime"),
    "tax_exempt_years": ("免税年限 (两免)", "tax-exempt years"),
    "tax_half_years": ("减半年限 (三减半)", "half-rate years"),
    "western_development_rate": ("西部大开发税率", "Western-Development tax rate"),
    "special_fund_mode": ("专项资金规模方式", "special fund sizing (0 amount, 1 share)"),
    "special_fund": ("专项资金", "special fund"),
    "special_fund_share": ("专项资金占财政收入比例", "special fund share of budget revenue"),
    "fund_share_infrastructure": ("资金用于园区基础设施", "fund weight: park infrastructure"),
    "fund_share_projects": ("资金用于项目补助", "fund weight: project subsidies"),
    "interest_subsidy": ("贷款贴息", "loan interest subsidy"),
    "land_discount": ("土地价格优惠", "land price discount"),
    "power_discount": ("直购电优惠", "direct-purchase power discount"),
    "power_coverage": ("直购电覆盖面", "direct-purchase coverage"),
    "coal_allocation": ("煤炭资源配置", "coal allocation"),
    "coal_auction": ("煤炭资源出让收入", "coal-field auction proceeds"),
    "rail_logistics": ("铁路物流", "rail logistics discount"),
    "park_upgrades": ("园区升级", "park upgrades"),
    "demonstration_designations": ("示范园区认定", "demonstration park designations"),
    "promotion_campaigns": ("招商活动", "promotion campaigns"),
    "entry_threshold": ("准入门槛", "entry threshold"),
    "sme_programme": ("双百工程", "SME programme"),
}
#: The document's seven sectors with their Chinese names (charts and legends).
SECTOR_LABELS: Mapping[str, str] = {
    "chemicals": "化工 chemicals", "metallurgy": "冶金 metallurgy",
    "building_materials": "建材 building materials", "equipment": "装备制造 equipment",
    "agrifood": "农畜产品加工 agri-food", "textiles": "纺织服装 textiles",
    "emerging": "战略性新兴产业 emerging",
}
#: Per-sector output drawn as "revenue by sector".
SECTOR_VARIABLE = "revenue"
_ASSETS = files("transfer_sim.report") / "explorer_assets"


def unit_text(unit: str) -> str:
    """Return a model unit as the page shows it (亿元, 万人, 元/kWh; "" for Dmnl).

    Examples
    --------
    >>> unit_text("yiyuan/Year"), unit_text("yiyuan/yikWh"), unit_text("Dmnl")
    ('亿元/year', '元/kWh', '')
    """
    out = unit.replace("yiyuan/yikWh", "元/kWh")        # 亿元 per 亿kWh is 元 per kWh
    for word, text in (("yiyuan", "亿元"), ("wanren", "万人"), ("yikWh", "亿kWh"),
                       ("Year", "year"), ("Dmnl", "")):
        out = re.sub(rf"\b{word}\b", text, out)
    return out


def _step(lever: _levers.Lever) -> float:
    """Return a slider step: 1 for whole numbers, else a power of ten near range/100."""
    if lever.integer:
        return 1.0
    lo, hi = lever.bounds
    return float(10.0 ** math.floor(math.log10((hi - lo) / 100)))


def _allowed(lever: _levers.Lever) -> str:
    """Return what a lever allows, worded as :mod:`~transfer_sim.inputs.levers` words it."""
    if lever.kind == "option":
        return ", ".join(f'"{o}"' for o in lever.options)
    lo, hi = lever.bounds
    what = "a whole number" if lever.integer else "a number"
    return f"{what} from {format_number(lo)} to {format_number(hi)} {lever.unit}".rstrip()


def _json_value(value: Any) -> Any:
    """Return a lever value for JSON: numbers, option names, ``{"2011": 30.0}`` schedules."""
    if isinstance(value, Mapping):
        return {str(int(y)): float(v) for y, v in value.items()}
    if isinstance(value, str):
        return value
    return float(value)


def lever_table(facts: Any = None) -> list[dict[str, Any]]:
    """Return every lever of the registry as the page's JSON table.

    Parameters
    ----------
    facts : ModelFacts, optional
        The model's facts (:func:`transfer_sim.model.facts.model_facts`), for the
        elements of the ``Year``-subscripted constants; the bundled model's by default.

    Returns
    -------
    list of dict
        In registry order: ``name``, ``kind``, ``section``, ``label_zh``,
        ``label_en``, ``description``, ``unit``, ``unit_text``, ``default``, ``off``
        and ``allowed`` (the text of error messages); numbers and schedules add
        ``min``, ``max``, ``step``, ``integer`` and ``constant`` (the model
        constant); schedules add ``elements``, ``[element, year]`` pairs, one per
        model year (the names the engine sets: ``constant[y2011]``); options add
        ``options``, option name -> {governed lever: value} (empty: custom).
    """
    from transfer_sim.engines.base import subscript_elements

    facts = facts if facts is not None else model_facts()
    table = []
    for lever in _levers.LEVERS:
        zh, en = LABELS.get(lever.name, ("", lever.name.replace("_", " ")))
        entry: dict[str, Any] = {
            "name": lever.name, "kind": lever.kind, "section": lever.section,
            "label_zh": zh, "label_en": en, "description": lever.description,
            "unit": lever.unit, "unit_text": unit_text(lever.unit),
            "default": _json_value(lever.default),
            "off": _json_value(lever.off), "allowed": _allowed(lever)}
        if lever.kind == "option":
            entry["options"] = {o: {k: float(v) for k, v in sub.items()}
                                for o, sub in lever.options.items()}
        else:
            lo, hi = lever.bounds
            entry.update(min=float(lo), max=float(hi), step=_step(lever),
                         integer=lever.integer, constant=lever.variable)
        if lever.kind == "schedule":
            elements = subscript_elements(facts, str(lever.variable))
            entry["elements"] = [[f"{lever.variable}[{e}]", y]
                                 for e, y in zip(elements, YEARS, strict=True)]
        table.append(entry)
    return table


def expand_inputs(inputs: Mapping[str, Any],
                  model_path: str | Path | None = None) -> dict[str, float]:
    """Return engine inputs (arrays for subscripted constants) as one value per element.

    Parameters
    ----------
    inputs : mapping
        Model constant -> float or array (as :func:`~transfer_sim.inputs.levers.resolve`
        and :func:`~transfer_sim.inputs.parameters.to_inputs` return them).
    model_path : path-like, optional
        Model file (for the elements of subscripted constants).

    Returns
    -------
    dict
        ``name`` or ``name[element]`` -> float: the names of the module's slots.
    """
    from transfer_sim.engines.base import flat_overrides

    return flat_overrides(model_facts(model_path), inputs)   # as the engine sets them


def kpi_spec() -> list[dict[str, Any]]:
    """Return the indicators of :mod:`~transfer_sim.analysis.kpis` as a declarative spec.

    Each indicator's :attr:`~transfer_sim.analysis.kpis.Kpi.reading` becomes a formula
    over the run's saved series, for a figure "in" year ``year``: ``{"kind": "stock",
    "variable"}`` (the value at ``year + 1``), ``{"kind": "flow", "variable"}`` (the
    cumulative stock's difference over the year) or ``{"kind": "share_of_increment",
    "share", "other", "base", "scale"}`` (T3: ``scale`` x the increment of the share's
    annual flow since ``base`` over that of the sum of both flows).

    Returns
    -------
    list of dict
        Per indicator: ``name`` (as in the ``--kpis`` CSV), ``label``, ``unit``,
        ``target`` (None without one; met when value >= target), ``year`` and
        ``formula``.
    """
    spec = []
    for kpi in _kpis.KPIS:
        if kpi.reading == "stock":
            formula: dict[str, Any] = {"kind": "stock", "variable": kpi.variable}
        elif kpi.reading == "flow":
            formula = {"kind": "flow", "variable": cumulative_name(kpi.variable)}
        else:
            formula = {"kind": "share_of_increment", "share": cumulative_name(kpi.variable),
                       "other": cumulative_name(kpi.other), "base": float(_kpis.BASE_YEAR),
                       "scale": 100.0}
        formula["reads"] = formula_reads(formula)
        spec.append({"name": kpi.name, "label": kpi.label, "unit": kpi.unit,
                     "unit_text": unit_text(kpi.unit),
                     "target": None if kpi.target is None else float(kpi.target),
                     "year": int(_kpis.TARGET_YEAR), "formula": formula})
    return spec


def formula_reads(formula: Mapping[str, Any]) -> list[str]:
    """Return the model outputs a :func:`kpi_spec` formula reads.

    Examples
    --------
    >>> formula_reads({"kind": "share_of_increment", "share": "a", "other": "b"})
    ['a', 'b']
    """
    keys = ("share", "other") if formula["kind"] == "share_of_increment" else ("variable",)
    return [formula[k] for k in keys]


def _at(time: np.ndarray, series: np.ndarray, when: float) -> float:
    i = int(np.argmin(np.abs(time - when)))
    if not math.isclose(time[i], when, rel_tol=1e-9, abs_tol=1e-9):
        raise InputError(f"time {when:g} is not in the results", key="time")
    return float(series[i])


def _flow(time: np.ndarray, cumulative: np.ndarray, year: float) -> float:
    return _at(time, cumulative, year + 1) - _at(time, cumulative, year)


def evaluate_kpis(spec: Sequence[Mapping[str, Any]], time: np.ndarray,
                  series: Mapping[str, np.ndarray]) -> dict[str, float]:
    """Evaluate a :func:`kpi_spec` on one run (the Python twin of the page's interpreter).

    Parameters
    ----------
    spec : sequence of mapping
        From :func:`kpi_spec`.
    time : numpy.ndarray
        Saved times.
    series : mapping
        Variable -> values at ``time``.

    Returns
    -------
    dict
        Indicator name -> value in its ``year`` (NaN where T3's denominator is zero).
    """
    out = {}
    for item in spec:
        f, year = item["formula"], float(item["year"])
        if f["kind"] == "stock":
            value = _at(time, series[f["variable"]], year + 1)
        elif f["kind"] == "flow":
            value = _flow(time, series[f["variable"]], year)
        elif f["kind"] == "share_of_increment":
            d_share = (_flow(time, series[f["share"]], year)
                       - _flow(time, series[f["share"]], f["base"]))
            d_other = (_flow(time, series[f["other"]], year)
                       - _flow(time, series[f["other"]], f["base"]))
            total = d_share + d_other
            value = f["scale"] * d_share / total if total != 0 else math.nan
        else:
            raise InputError(f"unknown formula kind {f['kind']!r}", key=item["name"])
        out[item["name"]] = value
    return out


def _extends_ref(scenario: Scenario) -> str:
    """Return how an exported TOML names the preset in ``extends``."""
    from transfer_sim.model.core import default_scenarios_dir

    if scenario.path is None:
        return scenario.name
    path = Path(scenario.path).resolve()
    if path.parent == default_scenarios_dir().resolve():
        return path.stem
    return str(path)


def preset_entry(scenario: Scenario, module: str,
                 model_path: str | Path | None = None) -> dict[str, Any]:
    """Return a scenario as the page's preset.

    Parameters
    ----------
    scenario : Scenario
        A loaded scenario.
    module : str
        Key of the embedded module it runs on (its run settings).
    model_path : path-like, optional
        Model file.

    Returns
    -------
    dict
        ``name``, ``description``, ``extends`` (how a TOML names it), ``levers``
        (every lever it sets), ``parameters`` (its calibrated constants as slot
        -> value), ``final_year`` and ``module``.
    """
    params = _parameters.to_inputs(dict(scenario.parameters or {}), model_path=model_path)
    return {"name": scenario.name, "description": scenario.description,
            "extends": _extends_ref(scenario),
            "levers": {k: _json_value(v) for k, v in scenario.levers.items()},
            "parameters": expand_inputs(params, model_path), "final_year": scenario.final_year,
            "module": module}


def _modules(scenarios: Sequence[Scenario], engine: Any) -> tuple[dict[str, dict], list[str]]:
    """Compile one WebAssembly module per distinct run setting; return them and each key."""
    from transfer_sim.engines.simlin_wasm import wasm_problem

    problem = wasm_problem()
    if problem is not None:
        raise ModelError(f"the explorer runs Simlin's WebAssembly compilation of the model: "
                         f"{problem}")
    modules: dict[str, dict[str, Any]] = {}
    keys = []
    for s in scenarios:
        # The run settings `transfer-sim run` uses, completed as the engine completes them.
        specs = plan(s, model_path=engine.model_path).times(model_facts(engine.model_path))
        key = "-".join(format_number(v) for v in specs)
        if key not in modules:
            try:
                wasm, layout = engine.wasm_module(specs)
            except Exception as exc:  # libsimlin without the compiler, or a model it refuses
                raise ModelError(f"Simlin could not compile the model to WebAssembly: {exc}; "
                                 "the explorer needs pysimlin's WebAssembly compiler") from exc
            modules[key] = {"final_time": specs[0], "time_step": specs[1], "saveper": specs[2],
                            "encoding": "gzip", "wasm": _packed(wasm),
                            "layout": _packed(_canonical_layout(layout))}
        keys.append(key)
    return modules, keys


def _canonical_layout(layout: bytes) -> bytes:
    """Return the layout blob with its entries in slot order: the same model, the same page.

    libsimlin lists the entries in an order that changes from run to run. Same format:
    ``n_slots``, ``n_chunks``, ``results_offset`` (u64), a u32 count, then per variable
    a u32 name length, the name and a u64 slot.
    """
    (count,) = struct.unpack_from("<I", layout, 24)
    pos, entries = 28, []
    for _ in range(count):
        (length,) = struct.unpack_from("<I", layout, pos)
        name = layout[pos + 4:pos + 4 + length]
        (slot,) = struct.unpack_from("<Q", layout, pos + 4 + length)
        entries.append((slot, name))
        pos += 12 + length
    if pos != len(layout):
        raise ModelError("unexpected WebAssembly layout from libsimlin (version change?)")
    body = b"".join(struct.pack("<I", len(n)) + n + struct.pack("<Q", s)
                    for s, n in sorted(entries))
    return layout[:28] + body


def _packed(data: bytes) -> str:
    """Return bytes gzipped (the module shrinks about 6x) and base64-encoded for the page.

    The page unpacks them with the browser's own ``DecompressionStream``.
    """
    return base64.b64encode(gzip.compress(data, compresslevel=9, mtime=0)).decode("ascii")


def _data(scenarios: Sequence[Scenario], reference: Scenario, default_preset: str,
          model_path: str | Path | None) -> dict[str, Any]:
    """Return everything the page needs, as one JSON-able object."""
    from transfer_sim.engines import get_engine

    engine = get_engine("simlin", model_path)
    everyone = [*scenarios, reference]
    modules, keys = _modules(everyone, engine)
    presets = [preset_entry(s, k, model_path) for s, k in zip(everyone, keys, strict=True)]
    return {"levers": lever_table(model_facts(model_path)), "kpis": kpi_spec(), "modules": modules,
            "presets": presets[:-1], "reference": presets[-1], "default_preset": default_preset,
            "years": list(YEARS), "sectors": [[s, SECTOR_LABELS.get(s, s)] for s in SECTORS],
            "sector_variable": SECTOR_VARIABLE,
            "sector_unit": unit_text(model_facts(model_path).variables[SECTOR_VARIABLE].units
                                     or ""),
            "model_sha256": model_hash(model_path),
            "package_version": _package_version()}


def _package_version() -> str:
    from transfer_sim.io.versions import package_version

    return package_version("transfer-sim")


def _asset(name: str) -> str:
    return (_ASSETS / name).read_text(encoding="utf-8")


def build_explorer(scenarios: Sequence[Scenario], *, reference: Scenario,
                   default_preset: str | None = None,
                   model_path: str | Path | None = None) -> str:
    """Return the explorer page as HTML text.

    Parameters
    ----------
    scenarios : sequence of Scenario
        The presets, in menu order.
    reference : Scenario
        Drawn as a ghost line (the counterfactual by default).
    default_preset : str, optional
        Preset when the fragment names none: the first scenario by default.
    model_path : path-like, optional
        Model file; the bundled model by default.

    Returns
    -------
    str
        A self-contained HTML document.
    """
    if not scenarios:
        raise InputError("no scenarios to explore", key="scenario")
    names = [s.name for s in scenarios]
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise InputError(f"scenario names must be unique; repeated: {', '.join(dupes)}",
                         key="scenario")
    default = default_preset or names[0]
    if default not in names:
        raise InputError(f"no preset named {default!r}; allowed: {', '.join(names)}",
                         key="preset")
    data = json.dumps(_data(scenarios, reference, default, model_path), ensure_ascii=False,
                      separators=(",", ":"), allow_nan=False)
    page = _asset("explorer.html")
    for marker, text in (("/*CSS*/", _asset("explorer.css")), ("/*JS*/", _asset("explorer.js")),
                         ("/*DATA*/", data.replace("</", "<\\/"))):
        page = page.replace(marker, text, 1)
    return page.replace("/*FONT*/", _cjk_font_face(page), 1)


_CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\u3000-\u303f\uff00-\uffef]")


def _cjk_font_face(text: str) -> str:
    """Return an ``@font-face`` with the Chinese characters of ``text`` (or "" without a font).

    The glyphs come from Noto Sans CJK SC as the ``mplfonts`` dependency ships it (SIL
    Open Font License 1.1), subset to the characters the page uses, so that Chinese
    shows on a machine without a CJK font and the file stays small.
    """
    chars = "".join(sorted(set(_CJK.findall(text))))
    try:
        from fontTools import subset
        from fontTools.ttLib import TTFont

        from transfer_sim.plotting.figures import bundled_cjk_font_path
    except ImportError:
        return ""
    path = bundled_cjk_font_path()
    if path is None or not chars:
        return ""
    options = subset.Options()
    options.flavor, options.layout_features, options.name_IDs = "woff", [], ["*"]
    buffer = io.BytesIO()
    # Closed (no ResourceWarning); the file's own timestamp kept, so the page is reproducible.
    with TTFont(path, lazy=True, recalcTimestamp=False) as font:
        subsetter = subset.Subsetter(options)
        subsetter.populate(text=chars)
        subsetter.subset(font)
        font.flavor = "woff"
        font.save(buffer)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return ("/* Noto Sans CJK SC, subset to this page's characters; SIL Open Font License 1.1,"
            " copyright 2014-2021 Adobe, with Reserved Font Name 'Source' (shipped by the"
            " mplfonts package). */\n"
            f'@font-face {{ font-family: "explorer-cjk"; src: url(data:font/woff;base64,{data})'
            ' format("woff"); }')


def write_explorer(scenarios: Sequence[Scenario], path: str | Path, *,
                   reference: Scenario, default_preset: str | None = None,
                   model_path: str | Path | None = None) -> Path:
    """Write the explorer page atomically and return its path (see :func:`build_explorer`)."""
    text = build_explorer(scenarios, reference=reference, default_preset=default_preset,
                          model_path=model_path)
    return atomic_write_text(path, text)


def _fragment_value(value: Any) -> str:
    if isinstance(value, Mapping):
        return ",".join(f"{int(y)}:{format_number(v)}" for y, v in value.items())
    return format_number(value) if not isinstance(value, str) else value


def format_fragment(preset: str, levers: Mapping[str, Any] | None = None) -> str:
    """Return the URL fragment (with ``#``) of a preset and levers on top of it.

    Examples
    --------
    >>> format_fragment("policy-as-written", {"special_fund": {2011: 30, 2014: 0}})
    '#preset=policy-as-written&special_fund=2011:30,2014:0'
    """
    parts = [f"preset={quote(preset, safe='')}"]
    parts += [f"{quote(k, safe='')}={quote(_fragment_value(v), safe=':,.-')}"
              for k, v in (levers or {}).items()]
    return "#" + "&".join(parts)


def _parse_value(lever: _levers.Lever, text: str) -> Any:
    """Parse one fragment value: an option name, a number or ``year:value,...``."""
    if lever.kind == "option":
        return text
    if ":" not in text:
        return _parse_number(lever, text, lever.name)
    if lever.kind != "schedule":
        raise InputError(f"takes one value for the whole run, not a year schedule; allowed: "
                         f"{_allowed(lever)}", key=lever.name)
    out: dict[int, Any] = {}
    for part in text.split(","):
        year, sep, value = part.partition(":")
        if not sep or ":" in value or not _YEAR.fullmatch(year):
            raise InputError(f"schedule key {part!r} is not a year; allowed: year:value pairs, "
                             "e.g. 2011:30,2014:0", key=lever.name)
        y = int(year)
        if out and y <= max(out):      # as written: a repeated or earlier year is refused
            raise InputError(f"schedule years must be listed in increasing order ({y} comes "
                             f"after {max(out)})", key=lever.name)
        out[y] = _parse_number(lever, value, f"{lever.name}.{y}")
    return out


#: Numbers as the page reads them (no ``1_000``, ``nan`` or ``inf`` words).
_NUMBER = re.compile(r"\s*[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?\s*")
_YEAR = re.compile(r"\s*\d+\s*")


def _parse_number(lever: _levers.Lever, text: str, key: str) -> float:
    if not _NUMBER.fullmatch(text):
        raise InputError(f"{text!r} is not a number; allowed: {_allowed(lever)}", key=key)
    return float(text)


def parse_fragment(fragment: str, *, final_year: int | None = None) -> tuple[str | None,
                                                                           dict[str, Any]]:
    """Parse a URL fragment into (preset or None, validated levers).

    Parameters
    ----------
    fragment : str
        ``#preset=NAME&lever=value&...`` (the ``#`` optional).
    final_year : int, optional
        Last year of the preset's run (schedule years must not pass it).

    Returns
    -------
    tuple
        The preset's name (None when not given) and lever name -> value, each
        checked by :func:`~transfer_sim.inputs.levers.validate_value`.

    Raises
    ------
    InputError
        Naming the lever and what is allowed.

    Examples
    --------
    >>> parse_fragment("#preset=no-policy&special_fund=60&tax_relief=none")
    ('no-policy', {'special_fund': 60.0, 'tax_relief': 'none'})
    """
    preset, levers = None, {}
    for part in fragment.lstrip("#").split("&"):
        if not part:
            continue
        key, sep, raw = part.partition("=")
        key, text = unquote(key), unquote(raw)
        if not sep:
            raise InputError("expected key=value in the fragment", key=key)
        if key == "preset":
            preset = text
            continue
        lever = _levers.get_lever(key)
        levers[key] = _levers.validate_value(key, _parse_value(lever, text),
                                             final_year=final_year)
    return preset, levers
