"""Verdicts with their odds, and whether the policy decides if a target is met.

An ensemble runs every scenario over the same sampled uncertainties (common random
numbers, :mod:`transfer_sim.run.ensemble`), so member ``i`` of ``policy-as-written``
and member ``i`` of ``no-policy`` are the same world with and without the policy.
For each scenario and target T1-T5 the verdict table gives P(target met) under the
documented uncertainties, the same for the counterfactual, the difference the
policy makes, and the share of members whose verdict (met or missed) is the same
with and without the policy. A target whose verdict is the same in at least
:data:`DECIDED_THRESHOLD` of the members is flagged :data:`NOT_DECIDED`.

Beside each target, the uncertainties that drive it: the largest Sobol' total-order
indices of the target's indicator in 2015 (the quantity the verdict reads,
:func:`transfer_sim.analysis.kpis.kpi_values`), from the table ``transfer-sim
sensitivity`` writes (:func:`load_indices`, :func:`top_drivers`).
"""

from __future__ import annotations

import math
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from transfer_sim.analysis.probabilities import TARGETS, probabilities_of
from transfer_sim.errors import InputError
from transfer_sim.inputs.scenarios import DEFAULT_REFERENCE
from transfer_sim.io.tables import format_text_table

__all__ = ["DECIDED_THRESHOLD", "NOT_DECIDED", "COUNTERFACTUAL", "TOP_DRIVERS",
           "WIDE_INTERVAL", "VERDICT_COLUMNS", "Verdicts", "verdicts", "load_indices",
           "top_drivers", "format_verdicts", "short_name", "percent", "flips",
           "verdicts_from_files", "with_verdicts"]

#: A target is "not decided by the policy" when its verdict (met or missed) is the same
#: with and without the policy in at least this share of the ensemble's members: the
#: policy then changes the verdict in fewer than one plausible world in twenty, the
#: same 5 % the fan charts' 5-95 % band leaves out. A share exactly at the threshold
#: is flagged.
DECIDED_THRESHOLD = 0.95
#: The flag's wording, in the compare output, the KPI CSV's reading and the report.
NOT_DECIDED = "not decided by the policy"
#: The scenario without the policy that every verdict is set against.
COUNTERFACTUAL = DEFAULT_REFERENCE
#: Uncertainties named beside each target.
TOP_DRIVERS = 3
#: A total-order index is marked "wide" when the half-width of its bootstrap interval
#: is at least this share of the index: the index is then poorly estimated by the sample
#: (raise ``transfer-sim sensitivity --runs``); close indices may overlap without it.
WIDE_INTERVAL = 0.5
#: Columns a verdict table adds to the KPI CSV, in order.
VERDICT_COLUMNS = ("runs", "p_met", "p_met_no_policy", "policy_difference",
                   "same_verdict_share", "decided_by_policy", "drivers")


def short_name(kpi: str) -> str:
    """Return a target's short name (``T1`` ... ``T5``) from its indicator name."""
    return TARGETS[kpi].label.split()[0]


@dataclass(frozen=True)
class Verdicts:
    """A verdict table and what a reader must be told about it.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per scenario and target; columns ``scenario, kpi, label, unit,
        target, runs, p_met, ci_low, ci_high, paired_runs, p_met_no_policy,
        policy_difference, same_verdict_share, decided_by_policy, drivers``.
        Probabilities are shares of members in [0, 1]; ``decided_by_policy`` is
        True, False or missing (no counterfactual, the counterfactual itself, or
        no member where both are defined).
    notes : tuple of str
        One line each: what is missing and why.
    threshold : float
        The share of equal verdicts at which a target is flagged.
    counterfactual : str
        The scenario without the policy.
    """

    table: pd.DataFrame
    notes: tuple[str, ...]
    threshold: float
    counterfactual: str

    def not_decided(self, scenario: str) -> list[str]:
        """Return the targets (indicator names) the policy of ``scenario`` does not decide."""
        t = self.table
        sub = t[(t["scenario"] == scenario) & (t["decided_by_policy"] == False)]  # noqa: E712
        return list(sub["kpi"])

    def sentences(self) -> list[str]:
        """Return, per scenario with a counterfactual, which targets it does not decide."""
        out = []
        for scen in dict.fromkeys(self.table["scenario"]):
            rows = self.table[self.table["scenario"] == scen]
            if scen == self.counterfactual or rows["decided_by_policy"].isna().all():
                continue
            undecided = [short_name(k) for k in self.not_decided(scen)]
            decided = [short_name(k) for k in rows["kpi"] if k not in self.not_decided(scen)]
            share = f"{100 * self.threshold:g} %"
            n = int(rows["paired_runs"].max())
            if undecided:
                text = (f"{scen}: the policy does not decide {_join(undecided)} (the same "
                        f"verdict with and without it in at least {share} of {n} members)")
            else:
                text = f"{scen}: the policy decides every target"
            if undecided and decided:
                text += f"; it decides {_join(decided)}"
            out.append(text + ".")
        return out


def _join(names: Sequence[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


def _paired(values: xr.Dataset, kpi: str, scenario: str,
            counterfactual: str) -> tuple[int, float]:
    """Return the members where both are defined and the share of equal verdicts."""
    target = TARGETS[kpi].target
    x = np.asarray(values[kpi].sel(scenario=scenario).values, dtype=float).ravel()
    y = np.asarray(values[kpi].sel(scenario=counterfactual).values, dtype=float).ravel()
    ok = np.isfinite(x) & np.isfinite(y)
    n = int(ok.sum())
    if n == 0:
        return 0, math.nan
    return n, float(np.mean((x[ok] >= target) == (y[ok] >= target)))


def verdicts(values: xr.Dataset, scenarios: Sequence[str] | None = None, *,
             counterfactual: str = COUNTERFACTUAL, threshold: float = DECIDED_THRESHOLD,
             drivers: pd.DataFrame | None = None) -> Verdicts:
    """Return each target's verdict with its odds, against the counterfactual.

    Parameters
    ----------
    values : xarray.Dataset
        An ensemble's indicators in 2015 over ``(scenario, run)``
        (:func:`transfer_sim.analysis.probabilities.ensemble_values`); the scenarios
        must share their members (one ensemble file).
    scenarios : sequence of str, optional
        Scenarios to give verdicts for, in order; every scenario of ``values`` by
        default. One missing from ``values`` gets empty columns and a note.
    counterfactual : str
        The scenario without the policy (``no-policy``). Without it in ``values``
        the counterfactual's columns are left empty, with a note.
    threshold : float
        Share of members with the same verdict at which a target is flagged
        :data:`NOT_DECIDED` (:data:`DECIDED_THRESHOLD`).
    drivers : pandas.DataFrame, optional
        :func:`top_drivers`; its text fills the ``drivers`` column by scenario and
        target.

    Returns
    -------
    Verdicts
        Members where an indicator is undefined (NaN, e.g. T3 when value added did
        not grow) are left out of its probabilities and, for the flag, the members
        where either scenario's value is undefined.
    """
    if not 0 < threshold <= 1:
        raise InputError(f"threshold must be in (0, 1], got {threshold!r}", key="threshold")
    present = [str(s) for s in values["scenario"].values]
    names = list(dict.fromkeys(scenarios if scenarios is not None else present))
    notes = []
    missing = [s for s in names if s not in present]
    if missing:
        notes.append(f"not in the ensemble (columns left empty): {', '.join(missing)}; "
                     f"it has {', '.join(present)}")
    has_cf = counterfactual in present
    if not has_cf:
        notes.append(f"the ensemble has no {counterfactual!r} scenario: P(met) without the "
                     "policy, the difference and the flag are left empty (run the ensemble "
                     f"with {counterfactual} among its scenarios)")
    table = probabilities_of(values, names)
    cf = probabilities_of(values, [counterfactual]).set_index("kpi")["p_met"] if has_cf \
        else None
    extra = []
    for r in table.itertuples():
        row = {"paired_runs": 0, "p_met_no_policy": np.nan, "policy_difference": np.nan,
               "same_verdict_share": np.nan, "decided_by_policy": pd.NA}
        if cf is not None and r.scenario in present and r.scenario != counterfactual:
            n, share = _paired(values, r.kpi, r.scenario, counterfactual)
            row.update(paired_runs=n, p_met_no_policy=float(cf[r.kpi]),
                       policy_difference=float(r.p_met - cf[r.kpi]), same_verdict_share=share)
            if n:
                row["decided_by_policy"] = bool(share < threshold - 1e-12)
        extra.append(row)
    table = pd.concat([table, pd.DataFrame(extra, index=table.index)], axis=1)
    table["decided_by_policy"] = table["decided_by_policy"].astype("boolean")
    table["drivers"] = _driver_text(table, drivers)
    return Verdicts(table, tuple(notes), float(threshold), counterfactual)


def load_indices(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read the table ``transfer-sim sensitivity --method sobol`` writes.

    Parameters
    ----------
    path : path-like
        The CSV (columns ``scenario, kpi, method, parameter, index, value, conf,
        conf_level, runs``).

    Returns
    -------
    pandas.DataFrame
        Its total-order (``ST``) rows.

    Raises
    ------
    InputError
        When the file cannot be read, lacks a column (a file written before the
        ``scenario`` column was added) or holds no Sobol' total-order index.
    """
    p = Path(path)
    try:
        table = pd.read_csv(p)
    except (OSError, ValueError) as exc:
        raise InputError(f"cannot read the sensitivity table ({exc})", file=str(p)) from None
    need = ["scenario", "kpi", "method", "parameter", "index", "value", "conf", "runs"]
    lacking = [c for c in need if c not in table.columns]
    if lacking:
        raise InputError(f"not a sensitivity table of this version: no column "
                         f"{', '.join(lacking)} (allowed: the CSV of transfer-sim "
                         "sensitivity --method sobol)", file=str(p), key=lacking[0])
    st = table[(table["method"] == "sobol") & (table["index"] == "ST")]
    if st.empty:
        raise InputError("no Sobol' total-order (ST) index in the table; allowed: the CSV "
                         "of transfer-sim sensitivity --method sobol", file=str(p), key="index")
    return st.assign(scenario=st["scenario"].astype(str)).reset_index(drop=True)


def top_drivers(indices: pd.DataFrame, top: int = TOP_DRIVERS) -> pd.DataFrame:
    """Return the uncertainties with the largest total-order indices per scenario and target.

    Parameters
    ----------
    indices : pandas.DataFrame
        :func:`load_indices` (rows of ``ST``, columns ``scenario, kpi, parameter,
        value, conf, runs``).
    top : int
        How many per target.

    Returns
    -------
    pandas.DataFrame
        Columns ``scenario, kpi, rank, parameter, st, conf, runs, wide``, ranked by
        ``st`` (ties by name); an index of 0 or below (no measurable effect) is
        never a driver. ``wide``: the interval's half-width is at least
        :data:`WIDE_INTERVAL` of the index. A target whose indices are undefined
        (its indicator constant or undefined in some run) gets no rows.
    """
    rows = []
    st = indices[indices["kpi"].isin(TARGETS)]
    for (scen, kpi), sub in st.groupby(["scenario", "kpi"], sort=False):
        value = sub["value"].astype(float)
        sub = sub[np.isfinite(value) & (value > 0)]
        ranked = sub.sort_values(["value", "parameter"], ascending=[False, True]).head(top)
        for rank, r in enumerate(ranked.itertuples(), start=1):
            value, conf = float(r.value), float(r.conf)
            rows.append({"scenario": scen, "kpi": kpi, "rank": rank, "parameter": r.parameter,
                         "st": value, "conf": conf, "runs": int(r.runs),
                         "wide": bool(not np.isfinite(conf) or conf >= WIDE_INTERVAL * value)})
    cols = ["scenario", "kpi", "rank", "parameter", "st", "conf", "runs", "wide"]
    return pd.DataFrame(rows, columns=cols)


def _driver_text(table: pd.DataFrame, drivers: pd.DataFrame | None) -> list[str]:
    """Return the ``drivers`` cell of each row: ``name ST±conf; ...`` or why it is empty."""
    if drivers is None:
        return [""] * len(table)
    scenarios = set(drivers["scenario"])
    out = []
    for r in table.itertuples():
        sub = drivers[(drivers["scenario"] == r.scenario) & (drivers["kpi"] == r.kpi)]
        if r.scenario not in scenarios:
            out.append("")
        elif sub.empty:
            out.append("indices undefined (the indicator is constant or undefined in a run)")
        else:
            out.append("; ".join(f"{d.parameter} {d.st:.2f}±{d.conf:.2f}"
                                 + (" (wide)" if d.wide else "") for d in sub.itertuples()))
    return out


def percent(share: float) -> str:
    """Return a share in [0, 1] as a whole percentage (``"95 %"``; empty when NaN)."""
    return "" if not np.isfinite(share) else f"{100 * share:.0f} %"


def flips(paired_runs: int, same_verdict_share: float) -> str:
    """Return how many members the policy flips, as ``"1 of 16 members"``.

    Parameters
    ----------
    paired_runs : int
        Members where the indicator is defined with and without the policy.
    same_verdict_share : float
        Share of them with the same verdict.
    """
    n = int(paired_runs)
    return f"{round((1 - same_verdict_share) * n)} of {n} members" if n else ""


def format_verdicts(v: Verdicts) -> str:
    """Format a verdict table for the terminal: a row per target and scenario, then notes.

    The counterfactual's own rows are left out (its P(met) is a column).
    """
    t = v.table[v.table["scenario"] != v.counterfactual]
    rows = []
    for r in t.itertuples():
        flipped = flips(r.paired_runs, r.same_verdict_share)
        flag = ("" if pd.isna(r.decided_by_policy)
                else f"policy flips {flipped}" if r.decided_by_policy else NOT_DECIDED.upper())
        diff = "" if not np.isfinite(r.policy_difference) else \
            f"{100 * r.policy_difference:+.0f} pts"
        p_met = f"{percent(r.p_met)} [{100 * r.ci_low:.0f}-{100 * r.ci_high:.0f}]" \
            if r.runs else ""
        rows.append([short_name(r.kpi), r.scenario, p_met, percent(r.p_met_no_policy), diff,
                     percent(r.same_verdict_share), flag, r.drivers])
    drivers = any(row[-1] for row in rows)
    header = ["target", "scenario", "P(met) [95 %]", f"P(met) {v.counterfactual}",
              "difference", "same verdict", "verdict"]
    if drivers:
        header.append("drivers (Sobol' ST±95 %)")
    rows = [r[:len(header)] for r in rows]
    runs = int(t["runs"].max()) if len(t) else 0
    title = (f"Verdicts with their odds ({runs} members; {NOT_DECIDED!r} when the verdict "
             f"is the same with and without the policy in >= {100 * v.threshold:g} % of them)")
    text = format_text_table(header, rows, align="llrrrrl" + "l" * drivers, title=title)
    return "\n".join([text, *v.sentences(), *(f"note: {n}" for n in v.notes)])


def verdicts_from_files(ensemble: str | os.PathLike[str], scenarios: Sequence[str] | None = None,
                        sensitivity: Sequence[str | os.PathLike[str]] = (), *,
                        counterfactual: str = COUNTERFACTUAL) -> Verdicts:
    """Return the verdicts of an ensemble file, with drivers from sensitivity tables.

    Parameters
    ----------
    ensemble : path-like
        A file of ``transfer-sim ensemble`` (with ``no-policy`` among its scenarios
        for the counterfactual's columns).
    scenarios : sequence of str, optional
        Scenarios to give verdicts for; the ensemble's by default.
    sensitivity : sequence of path-like
        Tables of ``transfer-sim sensitivity --method sobol``, one scenario each.
    counterfactual : str
        The scenario without the policy.

    Raises
    ------
    InputError
        A file that cannot be read, or two tables of the same scenario.
    """
    from transfer_sim.analysis.probabilities import ensemble_values, open_ensemble

    drivers = None
    if sensitivity:
        tables = [load_indices(p) for p in sensitivity]
        seen: dict[str, str] = {}
        for path, t in zip(sensitivity, tables, strict=True):
            for scen in dict.fromkeys(t["scenario"]):
                if scen in seen:
                    raise InputError(f"a second sensitivity table of scenario {scen!r} (the "
                                     f"first is {seen[scen]}); allowed: one table a scenario",
                                     file=str(path), key="sensitivity")
                seen[scen] = str(path)
        drivers = top_drivers(pd.concat(tables, ignore_index=True))
    with open_ensemble(ensemble) as ds:
        values = ensemble_values(ds).load()
    v = verdicts(values, scenarios, counterfactual=counterfactual, drivers=drivers)
    if drivers is not None:
        ran = set(v.table.loc[v.table["runs"] > 0, "scenario"])
        absent = sorted(ran - set(drivers["scenario"]) - {counterfactual})
        if absent:
            note = f"no sensitivity table of {', '.join(absent)}: its drivers are left empty"
            v = Verdicts(v.table, (*v.notes, note), v.threshold, v.counterfactual)
    return v


def with_verdicts(kpis: pd.DataFrame, v: Verdicts) -> pd.DataFrame:
    """Return a KPI table with the verdict columns (:data:`VERDICT_COLUMNS`) joined in.

    Parameters
    ----------
    kpis : pandas.DataFrame
        :func:`transfer_sim.analysis.kpis.kpi_table`.
    v : Verdicts
        The verdicts of the same scenarios.

    Returns
    -------
    pandas.DataFrame
        ``kpis`` with the columns filled on the targets' rows and empty elsewhere.
    """
    right = v.table[["scenario", "kpi", *VERDICT_COLUMNS]]
    out = kpis.merge(right, on=["scenario", "kpi"], how="left")
    out["runs"] = out["runs"].astype("Int64")
    return out
