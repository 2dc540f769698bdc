"""The model boundary chart (Sterman 2000, *Business Dynamics*, 3.5.1), from the model.

A quantity is **endogenous** when the model computes it from its stocks: it is a stock,
or the model's links lead to it from a stock. Everything else is **exogenous**: the
policy levers, the time series the model is given (coal output, prices, ... from data
or assumption) and the constants. Both lists are classified from the model itself
(Simlin's parse of ``model/transfer.mdl``: its stocks and its causal links). What the
policy document names that the model leaves out — the **excluded** quantities — cannot
be read from the model, so it is a small hand-kept table,
``model/boundary_excluded.csv`` (item, where the document names it, why it is left
out, how it enters instead, if at all).

:func:`render_boundary` renders the chart for ``{{boundary:chart}}`` in the model
README (:mod:`transfer_sim.model.readme`).
"""

from __future__ import annotations

import csv
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from transfer_sim.errors import ModelError
from transfer_sim.io.tables import markdown_cell
from transfer_sim.model.core import model_file

__all__ = ["EXCLUDED_COLUMNS", "Boundary", "classify", "read_excluded", "render_boundary"]

#: Columns of ``model/boundary_excluded.csv``.
EXCLUDED_COLUMNS = ("item", "document", "why_left_out", "how_it_enters_instead")


@dataclass(frozen=True)
class Boundary:
    """The model's variables by their place in the boundary chart.

    Attributes
    ----------
    stocks : frozenset of str
        The model's stocks (Python names).
    endogenous : frozenset of str
        Stocks and everything the model's links lead to from a stock.
    exogenous : frozenset of str
        Every other variable.
    policy : frozenset of str
        The exogenous variables that are levers or follow from them (schedules, the
        relative costs a lever sets).
    """

    stocks: frozenset[str]
    endogenous: frozenset[str]
    exogenous: frozenset[str]
    policy: frozenset[str]


def downstream(sources: frozenset[str], links: Mapping[str, set[str]]) -> frozenset[str]:
    """Return ``sources`` and every variable the links lead to from them.

    Examples
    --------
    >>> sorted(downstream(frozenset({"s"}), {"s": {"f"}, "f": {"s", "g"}, "c": {"f"}}))
    ['f', 'g', 's']
    """
    found, todo = set(sources), list(sources)
    while todo:
        for target in links.get(todo.pop(), ()):
            if target not in found:
                found.add(target)
                todo.append(target)
    return frozenset(found)


def classify(model_path: str | os.PathLike[str] | None = None,
             levers: frozenset[str] = frozenset()) -> Boundary:
    """Classify the model's variables as endogenous or exogenous (Simlin's parse).

    Parameters
    ----------
    model_path : path-like, optional
        Model file; the bundled model by default.
    levers : frozenset of str
        The lever variables (Python names), whose exogenous consequences are
        :attr:`Boundary.policy`.
    """
    import simlin

    model = simlin.load(str(model_file(model_path)))
    names = {v.name for v in model.variables}
    stocks = frozenset(v.name for v in model.variables if type(v).__name__ == "Stock")
    links: dict[str, set[str]] = {}
    for link in model.get_links():
        links.setdefault(link.from_var, set()).add(link.to_var)
    endogenous = downstream(stocks, links) & names
    exogenous = frozenset(names - endogenous)
    return Boundary(stocks=stocks, endogenous=endogenous, exogenous=exogenous,
                    policy=downstream(levers & names, links) & exogenous)


def excluded_path(model_path: str | os.PathLike[str] | None = None) -> Path:
    """Return ``boundary_excluded.csv`` beside the model file."""
    return model_file(model_path).parent / "boundary_excluded.csv"


def read_excluded(path: str | os.PathLike[str]) -> list[dict[str, str]]:
    """Read the table of what the document names and the model leaves out.

    Raises
    ------
    ModelError
        If the file is missing, lacks a column or has an empty cell.
    """
    path = Path(path)
    try:
        with path.open(encoding="utf-8", newline="") as fh:
            rows = list(csv.DictReader(fh))
    except OSError as exc:
        raise ModelError(f"{path}: cannot read the excluded-quantities table: {exc}") from None
    if not rows or any(c not in rows[0] for c in EXCLUDED_COLUMNS):
        raise ModelError(f"{path}: needs the columns {', '.join(EXCLUDED_COLUMNS)}")
    for i, row in enumerate(rows, start=2):
        empty = [c for c in EXCLUDED_COLUMNS if not (row[c] or "").strip()]
        if empty:
            raise ModelError(f"{path}: line {i}: empty {', '.join(empty)}")
    return rows


def render_boundary(model_path: str | os.PathLike[str] | None = None,
                    excluded: str | os.PathLike[str] | None = None) -> str:
    """Render the boundary chart as Markdown: one row per model block, then the exclusions.

    Parameters
    ----------
    model_path : path-like, optional
        Model file; the bundled model by default.
    excluded : path-like, optional
        The excluded-quantities table; ``boundary_excluded.csv`` beside the model by
        default.
    """
    from transfer_sim.inputs.levers import LEVERS
    from transfer_sim.model.facts import model_facts
    from transfer_sim.model.readme import model_groups

    facts = model_facts(model_path)
    groups = model_groups(model_path)
    boundary = classify(model_path, frozenset(lv.variable for lv in LEVERS if lv.variable))
    rows = ["| block | endogenous: stocks | endogenous: other | exogenous: levers and what "
            "follows from them | exogenous: time series and inputs | exogenous: constants |",
            "|---|---|---|---|---|---|"]
    counts = {"stocks": 0, "endogenous": 0, "levers": 0, "series": 0, "constants": 0}
    for group in dict.fromkeys(groups.values()):
        members = [n for n, g in groups.items() if g == group and n in facts.variables
                   and n not in {"time", "final_time", "initial_time", "saveper", "time_step"}]
        if not members:
            continue
        stocks = [n for n in members if n in boundary.stocks]
        other_endo = [n for n in members if n in boundary.endogenous and n not in boundary.stocks]
        exo = [n for n in members if n not in boundary.endogenous]
        lever_vars = [n for n in exo if n in boundary.policy]
        rest = [n for n in exo if n not in boundary.policy]
        series = [n for n in rest if facts.variables[n].type != "Constant"]
        constants = [n for n in rest if facts.variables[n].type == "Constant"]
        for key, part in (("stocks", stocks), ("endogenous", other_endo), ("levers", lever_vars),
                          ("series", series), ("constants", constants)):
            counts[key] += len(part)

        def names(part: list[str]) -> str:
            return ", ".join(facts.variables[n].real_name for n in part) or "–"
        rows.append(f"| .{group or 'ungrouped'} | {names(stocks)} | {len(other_endo)} | "
                    f"{names(lever_vars)} | {names(series)} | {len(constants)} |")
    total = (f"In all: {counts['stocks']} stocks and {counts['endogenous']} other endogenous "
             f"variables; {counts['levers']} levers and variables set by them, "
             f"{counts['series']} exogenous time series and inputs, {counts['constants']} "
             "constants (each with its value, unit and source in the parameter table below).")
    out = rows + ["", total, "", "**Excluded** — what the document names and the model leaves "
                  "out:", "", "| what the document names | where | why it is left out | "
                  "how it enters instead |", "|---|---|---|---|"]
    for row in read_excluded(excluded if excluded is not None else excluded_path(model_path)):
        out.append("| " + " | ".join(markdown_cell(row[c]) for c in EXCLUDED_COLUMNS) + " |")
    return "\n".join(out) + "\n"
