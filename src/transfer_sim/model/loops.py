"""The model's feedback loops, from Simlin's Loops-That-Matter analysis.

``pysimlin`` 0.8.5 finds loops in two ways. ``simlin.Model.get_loops()`` (the exhaustive
structural enumeration) returns nothing for this model: its causal graph is too large and
Simlin switches to *discovery*. ``simlin.Model.analyze()`` runs discovery: it simulates the
model with LTM link scores and reports the loops that drive behaviour, each with its
polarity, the variables on its path and its signed share of its cycle partition's
activity at every saved step (``Loop.behavior_time_series``). The report is capped at 200
loops.

Two things are done to get useful rows out of that cap:

* the analysis runs on a copy of the model, written from the ``.mdl`` text at analysis
  time, in which the ``Rank`` dimension of the 60 tracked clusters keeps one element
  (:func:`collapse_dimension`). Each cluster stock is a cycle partition of its own (its
  reinvestment and its retirement); with 24 ranks they take 134 of the 200 slots, with
  one rank 14;
* element loops (one per sector or zone tier) are grouped into one row per *generic*
  loop, the path with subscripts stripped (:func:`loop_table`).

A loop *moves revenue* when it passes through a stock that ``nonresource revenue`` is
computed from (found by walking back from it through the model's links to the first
stocks). For each calendar year, the revenue loop with the largest share of its
partition's activity over the year's saved steps is the one that dominates revenue
growth that year (:func:`dominant_years`).

The special fund's share mode (``special fund mode = 1``) is off in the bundled model, so
the fiscal loop through the fund carries no activity there; a second variant of the copy
with the mode on is analysed too (:data:`VARIANTS`).
"""

from __future__ import annotations

import functools
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np

from transfer_sim.errors import ModelError
from transfer_sim.model.core import cache_dir, model_file, write_cache_file

__all__ = [
    "COLLAPSED_DIMENSION",
    "REVENUE_VARIABLE",
    "VARIANTS",
    "LoopRow",
    "LoopAnalysis",
    "GROUPED_DIMENSION",
    "collapse_dimension",
    "dimension_elements",
    "set_constants",
    "generic_path",
    "revenue_stocks",
    "analyze",
    "loop_table",
    "dominant_years",
    "render_loop_table",
]

#: The dimension collapsed to its first element in the analysed copy.
COLLAPSED_DIMENSION = "Rank"
#: The variable whose growth the dominance column explains.
REVENUE_VARIABLE = "nonresource_revenue"
#: Analysed variants of the copy: name -> (constants set in its text, the variable a
#: loop of the variant must pass through to be shown; ``None`` shows every loop).
VARIANTS: dict[str, tuple[dict[str, str], str | None]] = {
    "bundled": ({}, None),
    "fund share mode": ({"special fund mode": "1"}, "special_fund_appropriation"),
}
#: The dimension whose element loops are grouped into one row.
GROUPED_DIMENSION = "Sector"
_SUBSCRIPT = re.compile(r"\[([^\]]*)\]")


@dataclass(frozen=True)
class LoopRow:
    """One generic loop: element loops with the same path once subscripts are stripped.

    Attributes
    ----------
    loop_id : str
        Simlin's id of the group's most active element loop (``r22``, ``b115``).
    variant : str
        The analysed variant (a key of :data:`VARIANTS`).
    polarity : str
        Simlin's polarities of the element loops (``R``, ``B``, ``Rux``, ``Bux``, ``U``),
        most active first, joined by ``/`` when they differ.
    path : tuple of str
        The variables on the loop, subscripts stripped, from the most active loop.
    elements : int
        How many element loops the row groups.
    share : float
        Mean share of the partition's activity, summed over the element loops.
    moves_revenue : bool
        Whether the loop passes through a stock that revenue is computed from.
    years : tuple of int
        Years in which the loop dominates revenue growth.
    """

    loop_id: str
    variant: str
    polarity: str
    path: tuple[str, ...]
    elements: int
    share: float
    moves_revenue: bool
    years: tuple[int, ...] = ()


@dataclass(frozen=True)
class LoopAnalysis:
    """The loop table and what the analysis left out.

    Attributes
    ----------
    rows : tuple of LoopRow
        Generic loops of the competing partitions, by variant then share; a variant
        after the first adds only the loops the earlier ones lack.
    reported, retained : dict of str to int
        Per variant: loops Simlin reported (capped at 200), and loops that passed its
        importance filter before the cap.
    lone : dict of str to int
        Per variant: reported loops alone in their partition (the cluster stocks' own
        loops), left out of the rows.
    uncovered : dict of str to tuple of str
        Per variant: stocks of revenue's partition (sector subscripts stripped) that lie
        on no reported loop.
    """

    rows: tuple[LoopRow, ...]
    reported: dict[str, int]
    retained: dict[str, int]
    lone: dict[str, int]
    uncovered: dict[str, tuple[str, ...]]


def collapse_dimension(text: str, dimension: str = COLLAPSED_DIMENSION) -> str:
    """Keep only the first element of a subscript range in a model's text.

    Parameters
    ----------
    text : str
        The ``.mdl`` text.
    dimension : str
        The range to collapse; its definition ``Name: a, b, …`` and every constant
        given as a list over it (``x[Name] = 1, 2, …``) keep their first item.

    Returns
    -------
    str
        The rewritten text.

    Raises
    ------
    ModelError
        If the text does not define the range.
    """
    name = re.escape(dimension)
    text, n = re.subn(rf"^({name}\s*:\s*)([^,\n]+),[^\n~]*", r"\1\2", text, count=1,
                      flags=re.MULTILINE)
    if n != 1:
        raise ModelError(f"the model defines no subscript range '{dimension}'")
    return re.sub(rf"^([^=\n|~]*\[\s*{name}\s*\]\s*=\s*)([^,\n]+),[^\n~]*", r"\1\2", text,
                  flags=re.MULTILINE)


def set_constants(text: str, values: Mapping[str, str]) -> str:
    """Set scalar constants (``name = number``) in a model's text.

    Raises
    ------
    ModelError
        If a constant is not defined as a plain number.
    """
    for name, value in values.items():
        text, n = re.subn(rf"^({re.escape(name)}\s*=\s*)[0-9.eE+-]+\s*$",
                          lambda m, v=value: f"{m.group(1)}{v}", text, count=1,
                          flags=re.MULTILINE)
        if n != 1:
            raise ModelError(f"the model has no numeric constant '{name}'")
    return text


def dimension_elements(text: str, dimension: str) -> frozenset[str]:
    """Return the elements of a subscript range, read from a model's text (lower case)."""
    match = re.search(rf"^{re.escape(dimension)}\s*:\s*([^~\n]+)", text, flags=re.MULTILINE)
    if match is None:
        raise ModelError(f"the model defines no subscript range '{dimension}'")
    return frozenset(e.strip().lower() for e in match.group(1).split(",") if e.strip())


def generic_path(variables: Sequence[str], names: frozenset[str],
                 grouped: frozenset[str] = frozenset()) -> tuple[str, ...]:
    """Strip grouped subscripts and Simlin's internal variables from a loop's path.

    Parameters
    ----------
    variables : sequence of str
        Element-level names as Simlin reports them (``margin[textiles]``).
    names : frozenset of str
        The model's variable names: Simlin's internal helpers (``$⁚…``) and net-flow
        variables it makes for stocks are dropped.
    grouped : frozenset of str
        Elements whose subscripts are stripped (the sectors); others (zone tiers) stay.
    """
    out: list[str] = []
    for var in variables:
        base = _SUBSCRIPT.sub("", var)
        if base.startswith("$") or base not in names:
            continue
        subs = _SUBSCRIPT.search(var)
        if subs and not {e.strip() for e in subs.group(1).split(",")} <= grouped:
            base = var
        if not out or out[-1] != base:
            out.append(base)
    return tuple(out)


def _canonical(path: tuple[str, ...]) -> tuple[str, ...]:
    """Return the rotation of a cyclic path that sorts first (a grouping key)."""
    return min((path[i:] + path[:i] for i in range(len(path))), default=path)


def revenue_stocks(model: Any, target: str = REVENUE_VARIABLE) -> frozenset[str]:
    """Return the stocks a variable is computed from (walking back over links).

    Parameters
    ----------
    model : simlin.Model
        The loaded model.
    target : str
        Simlin's name of the variable.
    """
    stocks = {v.name for v in model.variables if type(v).__name__ == "Stock"}
    inputs: dict[str, set[str]] = {}
    for link in model.get_links():
        inputs.setdefault(link.to_var, set()).add(link.from_var)
    found: set[str] = set()
    seen, todo = {target}, [target]
    while todo:
        for source in inputs.get(todo.pop(), ()):
            if source in stocks:
                found.add(source)
            elif source not in seen:
                seen.add(source)
                todo.append(source)
    return frozenset(found)


def _analysis_copy(model_path: Path, variant: str) -> Path:
    """Write the collapsed copy of the model for a variant into the cache."""
    import hashlib

    text = model_path.read_text(encoding="utf-8")
    text = set_constants(collapse_dimension(text), VARIANTS[variant][0])
    digest = hashlib.sha256(text.encode("utf-8")).hexdigest()[:20]
    return write_cache_file(cache_dir() / "loops" / f"transfer-{digest}.mdl", text)


def _year_shares(series: np.ndarray, start: float, stop: float) -> dict[int, float]:
    """Mean absolute share over each calendar year's saved steps."""
    times = np.linspace(start, stop, len(series))
    out: dict[int, float] = {}
    for year in range(int(np.ceil(start)), int(np.floor(stop))):
        mask = (times >= year) & (times < year + 1)
        values = np.abs(series[mask])
        values = values[np.isfinite(values)]
        out[year] = float(values.mean()) if values.size else 0.0
    return out


def _group(loops: Sequence[Any], names: frozenset[str], stocks: frozenset[str],
           grouped: frozenset[str]) -> list[dict[str, Any]]:
    """Group element loops by generic path, most active first."""
    groups: dict[tuple[str, ...], dict[str, Any]] = {}
    for loop in sorted(loops, key=lambda lp: -(lp.average_importance() or 0.0)):
        path = generic_path(loop.variables, names, grouped)
        bases = {_SUBSCRIPT.sub("", v) for v in path}
        group = groups.setdefault(_canonical(path), {
            "id": loop.id, "path": path, "loops": [], "polarities": [],
            "moves": bool(bases & stocks)})
        group["loops"].append(loop)
        if str(loop.polarity) not in group["polarities"]:
            group["polarities"].append(str(loop.polarity))
    return list(groups.values())


def dominant_years(groups: Sequence[Mapping[str, Any]], start: float,
                   stop: float) -> dict[int, str]:
    """For each year, the id of the revenue loop with the largest share of activity.

    Parameters
    ----------
    groups : sequence of mapping
        Generic loops as :func:`loop_table` builds them (``id``, ``loops``, ``moves``).
    start, stop : float
        The run's start and final time.

    Returns
    -------
    dict of int to str
        Year -> loop id, for the years with any revenue-loop activity.
    """
    best: dict[int, tuple[float, str]] = {}
    for group in groups:
        if not group["moves"]:
            continue
        total: dict[int, float] = {}
        for loop in group["loops"]:
            for year, share in _year_shares(loop.behavior_time_series, start, stop).items():
                total[year] = total.get(year, 0.0) + share
        for year, share in total.items():
            if share > 0 and share > best.get(year, (0.0, ""))[0]:
                best[year] = (share, group["id"])
    return {year: ident for year, (_share, ident) in sorted(best.items())}


class _Variant(NamedTuple):
    rows: list[LoopRow]
    reported: int
    retained: int
    lone: int
    uncovered: tuple[str, ...]


def _analyze_variant(model_path: Path, variant: str) -> _Variant:
    """Analyse one variant of the collapsed copy."""
    import simlin

    copy = _analysis_copy(model_path, variant)
    model = simlin.load(copy)
    result = model.analyze(timeout=None)
    if result.analysis_error:
        raise ModelError(f"Simlin's loop analysis failed: {result.analysis_error}")
    stocks = revenue_stocks(model)
    kept = [p for p in result.partitions if {_SUBSCRIPT.sub("", s) for s in p.stocks} & stocks]
    loops = [lp for lp in result.loops if lp.partition is not None
             and result.partitions[lp.partition] in kept
             and lp.behavior_time_series is not None]
    names = frozenset(v.name for v in model.variables)
    grouped = dimension_elements(copy.read_text(encoding="utf-8"), GROUPED_DIMENSION)
    groups = _group(loops, names, stocks, grouped)
    spec = model.time_spec
    years = dominant_years(groups, spec.start, spec.stop)
    rows = [LoopRow(
        loop_id=g["id"], variant=variant, polarity="/".join(g["polarities"]),
        path=g["path"], elements=len(g["loops"]),
        share=float(sum(lp.average_importance() or 0.0 for lp in g["loops"])),
        moves_revenue=g["moves"],
        years=tuple(y for y, ident in years.items() if ident == g["id"]),
    ) for g in groups]
    rows.sort(key=lambda r: -r.share)
    partition_stocks = {generic_path([s], names, grouped)[0] for p in kept for s in p.stocks}
    covered = {v for r in rows for v in r.path}
    return _Variant(rows, len(result.loops), result.retained_loops,
                    len(result.loops) - len(loops), tuple(sorted(partition_stocks - covered)))


@functools.lru_cache(maxsize=4)
def _analyze_cached(model_path: str, mtime_ns: int) -> LoopAnalysis:
    rows: list[LoopRow] = []
    reported, retained, lone, uncovered = {}, {}, {}, {}
    seen: set[tuple[str, ...]] = set()
    for variant in VARIANTS:
        res = _analyze_variant(Path(model_path), variant)
        reported[variant], retained[variant] = res.reported, res.retained
        lone[variant], uncovered[variant] = res.lone, res.uncovered
        rows += [r for r in res.rows if _canonical(r.path) not in seen]
        seen |= {_canonical(r.path) for r in res.rows}
    return LoopAnalysis(rows=tuple(rows), reported=reported, retained=retained, lone=lone,
                        uncovered=uncovered)


def analyze(model_path: str | os.PathLike[str] | None = None) -> LoopAnalysis:
    """Run Simlin's loop discovery on every variant of the collapsed copy.

    Parameters
    ----------
    model_path : path-like, default: the bundled model
        The model analysed (copied into the cache, ``Sector`` collapsed, per variant).

    Returns
    -------
    LoopAnalysis
        The generic loops and the counts of what was left out (cached per file
        version within a process).
    """
    path = model_file(model_path)
    return _analyze_cached(str(path.resolve()), path.stat().st_mtime_ns)


def loop_table(model_path: str | os.PathLike[str] | None = None) -> list[LoopRow]:
    """Return the generic loops of the analysis (see :func:`analyze`).

    Parameters
    ----------
    model_path : path-like, default: the bundled model
        As for :func:`analyze`.
    """
    return list(analyze(model_path).rows)


def _years_text(years: Sequence[int]) -> str:
    """``(2005, 2006, 2007, 2010)`` -> ``"2005–2007, 2010"``."""
    spans: list[list[int]] = []
    for year in years:
        if spans and year == spans[-1][1] + 1:
            spans[-1][1] = year
        else:
            spans.append([year, year])
    return ", ".join(f"{a}" if a == b else f"{a}–{b}" for a, b in spans) or "—"


def render_loop_table(analysis: LoopAnalysis, limit: int = 20) -> str:
    """Render the loop table as Markdown.

    Parameters
    ----------
    analysis : LoopAnalysis
        The result of :func:`analyze`.
    limit : int
        Rows of the first variant, by share (rows that dominate a year always show);
        a later variant shows the loops it adds through its focus variable.

    Returns
    -------
    str
        A sentence on what was analysed and left out, and the table.
    """
    first = next(iter(VARIANTS))
    lines = ["| loop | variant | polarity | path | elements | share of activity | "
             "dominates revenue growth in |", "|---|---|---|---|---|---|---|"]
    shown = 0
    for variant in VARIANTS:
        focus = VARIANTS[variant][1]
        rows = [r for r in analysis.rows if r.variant == variant
                and (focus is None or focus in r.path)]
        keep = [r for i, r in enumerate(rows) if i < limit or r.years or variant != first]
        for r in keep:
            path = " → ".join((*r.path, r.path[0])) if r.path else "—"
            lines.append(f"| {r.loop_id} | {variant} | {r.polarity} | {path} | {r.elements} "
                         f"| {r.share:.3f} | {_years_text(r.years)} |")
        shown += len(keep)
    counts = "; ".join(
        f"{v}: {analysis.reported[v]} reported of {analysis.retained[v]} retained, "
        f"{analysis.lone[v]} left out as outside revenue's partition" for v in VARIANTS)
    head = (f"{shown} of {len(analysis.rows)} generic loops shown (Simlin {counts}).")
    dominant = [f"{r.loop_id} ({_years_text(r.years)})" for r in
                sorted((r for r in analysis.rows if r.variant == first and r.years),
                       key=lambda r: r.years[0])]
    tail = "Dominant loop of revenue growth, by year: " + ("; ".join(dominant) or "none") + "."
    missing = "; ".join(f"{v}: " + (", ".join(f"`{s}`" for s in analysis.uncovered[v]) or "none")
                        for v in VARIANTS)
    tail += f"\n\nStocks of revenue's partition on no reported loop ({missing})."
    return head + "\n\n" + "\n".join(lines) + "\n\n" + tail + "\n"
