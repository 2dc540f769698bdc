"""Which lever bought the result: exact Shapley attribution of each indicator's change.

A *package* scenario differs from a *reference* scenario in some levers. Each
indicator of :func:`transfer_sim.analysis.kpis.kpi_table` changes by

    total = v(N) - v(∅)

where v(S) is the indicator when the levers in S take the package's values and all
others the reference's, and N is the set of levers that differ. The change is split
among the levers by their Shapley values

    φ_i = Σ_{S ⊆ N∖{i}} |S|! (n-|S|-1)! / n! · (v(S ∪ {i}) - v(S)),

the average of lever i's marginal effect over every order in which the levers could
be switched on. They are computed exactly from all 2^n runs, so they add up to the
total change (efficiency) and a lever that changes nothing gets zero (dummy).

Beside each lever's contribution the table gives its effect **alone**, v({i}) - v(∅),
and the difference **interaction** = φ_i - alone_i: the lever's share of what the
levers do together beyond their separate effects. Summed over the levers,

    Σ_i φ_i = total,   Σ_i alone_i + Σ_i interaction_i = total,

so the ``total`` row's ``interaction`` (total change − Σ alone) is the whole effect of
the levers acting together: positive when they reinforce each other, negative when
they overlap or compete.

The players
-----------
Levers are compared by what they put into the model (the resolved model constants up
to the final year), so a lever counts as different only if it changes an input. A
schedule lever is one player whatever its schedule; the option ``tax_relief`` and the
levers it governs (``tax_exempt_years``, ``tax_half_years``) are one player. With
more than :data:`MAX_PLAYERS` levers, 2^n runs are too many: ``by="section"`` groups
the levers by the document's section (P1-P10, the section-五 measures), and
``by="auto"`` (the default) does so only when needed.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable, Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr

from transfer_sim.analysis.kpis import (
    KPIS,
    TARGET_CODES,
    TARGET_YEAR,
    kpi_values,
    required_variables,
)
from transfer_sim.engines import DEFAULT_ENGINE, get_engine
from transfer_sim.errors import InputError
from transfer_sim.inputs import levers as _levers
from transfer_sim.inputs.levers import effective_inputs
from transfer_sim.inputs.run_settings import validate_final_year
from transfer_sim.inputs.scenarios import Scenario
from transfer_sim.io.progress import Progress
from transfer_sim.io.tables import format_text_table
from transfer_sim.model.core import YEARS
from transfer_sim.run.plan import plan

__all__ = [
    "Player",
    "Attribution",
    "MAX_PLAYERS",
    "SECTION_TITLES",
    "shapley_values",
    "exact_shapley",
    "lever_players",
    "effective_inputs",
    "attribute",
    "format_attribution",
]

#: Most players allowed: exact Shapley values need 2^n runs.
MAX_PLAYERS = 10

#: The document's sections that hold levers, as player names when grouping by section.
SECTION_TITLES: Mapping[str, str] = {
    "12th FYP": "policy start (政策起始年)",
    "P1": "P1 approvals (审批)",
    "P2": "P2 tax relief (税收优惠)",
    "P3": "P3 fiscal support (财政支持)",
    "P4": "P4 financial support (金融支持)",
    "P5": "P5 land (土地)",
    "P6": "P6 electricity (电力)",
    "P7": "P7 resource allocation (资源配置)",
    "P8": "P8 restructuring (企业重组)",
    "P9": "P9 transport (交通)",
    "P10": "P10 development zones (园区升级)",
    "五 measures": "section-五 measures (保障措施)",
}

Grouping = Literal["auto", "lever", "section"]


@dataclass(frozen=True)
class Player:
    """One player of the attribution: a lever, or a group of levers switched together.

    Parameters
    ----------
    name : str
        Lever name (``by="lever"``) or section label (``by="section"``).
    levers : tuple of str
        The registry levers it switches.
    variables : tuple of str
        The model constants it sets.
    """

    name: str
    levers: tuple[str, ...]
    variables: tuple[str, ...]


@dataclass(frozen=True)
class Attribution:
    """Exact Shapley attribution of the indicators' change from reference to package.

    Attributes
    ----------
    package, reference : str
        Scenario names.
    by : {"lever", "section"}
        What a player is.
    players : tuple of Player
        The levers (or groups) that differ, in registry order.
    kpis : tuple of str
        Indicator names (:data:`transfer_sim.analysis.kpis.KPIS`).
    values : numpy.ndarray
        Shape ``(2**n, len(kpis))``: the indicators of every lever subset; bit ``i``
        of the row number is set when player ``i`` takes the package's value.
    shapley, alone : numpy.ndarray
        Shape ``(n, len(kpis))``.
    year : int
        Year the indicators are read at.
    engine : str
        Engine that ran the subsets.
    """

    package: str
    reference: str
    by: str
    players: tuple[Player, ...]
    kpis: tuple[str, ...]
    values: np.ndarray
    shapley: np.ndarray
    alone: np.ndarray
    year: int = TARGET_YEAR
    engine: str = DEFAULT_ENGINE
    units: tuple[str, ...] = field(default=())
    labels: tuple[str, ...] = field(default=())

    @property
    def total(self) -> np.ndarray:
        """Change of each indicator from reference to package, shape ``(len(kpis),)``."""
        return self.values[-1] - self.values[0]

    def table(self) -> pd.DataFrame:
        """Return the attribution as a tidy table.

        Returns
        -------
        pandas.DataFrame
            Columns ``lever, kpi, contribution, alone, interaction, unit, levers,
            label``: a row per player and indicator (``contribution`` = Shapley
            value, ``alone`` = effect alone, ``interaction`` = the difference), then a
            row ``lever == "total"`` per indicator whose columns are the sums over the
            players (``contribution`` = total change, ``interaction`` = total change −
            Σ alone).
        """
        rows = []
        for k, kpi in enumerate(self.kpis):
            for i, p in enumerate(self.players):
                rows.append({"lever": p.name, "kpi": kpi,
                             "contribution": float(self.shapley[i, k]),
                             "alone": float(self.alone[i, k]),
                             "interaction": float(self.shapley[i, k] - self.alone[i, k]),
                             "unit": self.units[k], "levers": " ".join(p.levers),
                             "label": self.labels[k]})
            total = float(self.total[k])
            sum_alone = math.fsum(self.alone[:, k])
            rows.append({"lever": "total", "kpi": kpi, "contribution": total,
                         "alone": sum_alone, "interaction": total - sum_alone,
                         "unit": self.units[k], "levers": "", "label": self.labels[k]})
        return pd.DataFrame(rows)

    def summary(self) -> pd.DataFrame:
        """Return one row per indicator: reference and package values and the split.

        Returns
        -------
        pandas.DataFrame
            Columns ``kpi, label, reference, package, change, sum_alone,
            interaction, unit``.
        """
        rows = []
        for k, kpi in enumerate(self.kpis):
            sum_alone = math.fsum(self.alone[:, k])
            rows.append({"kpi": kpi, "label": self.labels[k],
                         "reference": float(self.values[0, k]),
                         "package": float(self.values[-1, k]),
                         "change": float(self.total[k]), "sum_alone": sum_alone,
                         "interaction": float(self.total[k]) - sum_alone,
                         "unit": self.units[k]})
        return pd.DataFrame(rows)


def shapley_values(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return exact Shapley values and alone effects from a table of subset values.

    Parameters
    ----------
    values : array_like
        Shape ``(2**n,)`` or ``(2**n, k)``: the value of each subset of ``n``
        players, indexed by bit mask (bit ``i`` set = player ``i`` in the subset).

    Returns
    -------
    shapley : numpy.ndarray
        Shape ``(n,)`` or ``(n, k)``; sums to ``values[-1] - values[0]``.
    alone : numpy.ndarray
        ``values[1 << i] - values[0]`` per player.

    Examples
    --------
    >>> phi, alone = shapley_values([0.0, 1.0, 2.0, 5.0])   # v(a)=1, v(b)=2, v(ab)=5
    >>> phi.tolist(), alone.tolist()
    ([2.0, 3.0], [1.0, 2.0])
    """
    v = np.asarray(values, dtype=float)
    squeeze = v.ndim == 1
    if squeeze:
        v = v[:, None]
    size = v.shape[0]
    n = size.bit_length() - 1
    if size < 2 or 1 << n != size:
        raise InputError(f"need 2^n subset values (n >= 1), got {size}", key="values")
    masks = np.arange(size)
    sizes = np.array([bin(m).count("1") for m in masks])
    weights = np.array([math.factorial(s) * math.factorial(n - s - 1) / math.factorial(n)
                        for s in range(n)])
    phi = np.empty((n, v.shape[1]))
    alone = np.empty((n, v.shape[1]))
    for i in range(n):
        bit = 1 << i
        without = masks[(masks & bit) == 0]
        marginal = v[without | bit] - v[without]
        phi[i] = np.sum(weights[sizes[without]][:, None] * marginal, axis=0)
        alone[i] = v[bit] - v[0]
    return (phi[:, 0], alone[:, 0]) if squeeze else (phi, alone)


def exact_shapley(players: Sequence[Hashable],
                  value: Callable[[frozenset[Hashable]], Any], *,
                  max_players: int = MAX_PLAYERS) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Evaluate ``value`` on every subset of ``players`` and return Shapley values.

    Parameters
    ----------
    players : sequence
        Distinct players.
    value : callable
        Subset (frozenset of players) -> number or 1-d array (several games at once).
    max_players : int
        Refuse more players than this (2^n evaluations).

    Returns
    -------
    shapley, alone, values : numpy.ndarray
        See :func:`shapley_values`; ``values`` holds every subset's value by bit mask.

    Examples
    --------
    >>> phi, _, _ = exact_shapley("ab", lambda s: len(s) ** 2)
    >>> phi.tolist()
    [2.0, 2.0]
    """
    players = list(players)
    _check_count(len(players), max_players)
    if len(set(players)) != len(players):
        raise InputError("players must be distinct", key="players")
    table = np.array([np.atleast_1d(np.asarray(value(
        frozenset(p for i, p in enumerate(players) if m >> i & 1)), dtype=float))
        for m in range(1 << len(players))])
    phi, alone = shapley_values(table)
    if table.shape[1] == 1:
        return phi[:, 0], alone[:, 0], table[:, 0]
    return phi, alone, table


def _check_count(n: int, max_players: int) -> None:
    if n > max_players:
        raise InputError(f"{n} players need 2^{n} = {2 ** n} evaluations; at most "
                         f"{max_players} players allowed", key="players")
    if n == 0:
        raise InputError("no players", key="players")


def _differs(a: np.ndarray, b: np.ndarray, final_year: int) -> bool:
    """Whether two inputs differ in a year the runs reach."""
    last = YEARS.index(final_year) + 1 if a.size == len(YEARS) else a.size
    return not np.array_equal(a[:last], b[:last])


def lever_players(package: Mapping[str, Any], reference: Mapping[str, Any], *,
                  final_year: int = TARGET_YEAR, by: Grouping = "auto",
                  max_players: int = MAX_PLAYERS) -> tuple[list[Player], str]:
    """Return the players: levers (or sections) whose model inputs differ.

    Parameters
    ----------
    package, reference : mapping
        Lever values (:attr:`transfer_sim.inputs.scenarios.Scenario.levers`).
    final_year : int
        Last year of the runs; schedules are compared up to it.
    by : {"auto", "lever", "section"}
        Players are levers, the document's sections, or levers unless there are
        more than ``max_players`` of them.
    max_players : int
        Most players allowed.

    Returns
    -------
    players : list of Player
        In registry order.
    by : str
        ``"lever"`` or ``"section"``.

    Raises
    ------
    InputError
        When nothing differs, or more than ``max_players`` players differ.
    """
    if by not in ("auto", "lever", "section"):
        raise InputError(f"unknown grouping {by!r}; allowed: auto, lever, section", key="by")
    pkg = effective_inputs(package)
    ref = effective_inputs(reference)
    governing = {sub: opt.name for opt in _levers.LEVERS if opt.kind == "option"
                 for subs in opt.options.values() for sub in subs}
    groups: dict[str, list[_levers.Lever]] = {}
    sections: dict[str, list[_levers.Lever]] = {}
    for lever in _levers.LEVERS:
        if lever.variable is None or not _differs(pkg[lever.variable], ref[lever.variable],
                                                  final_year):
            continue
        groups.setdefault(governing.get(lever.name, lever.name), []).append(lever)
        sections.setdefault(lever.section, []).append(lever)
    if not groups:
        raise InputError("the package and the reference do not differ in any lever "
                         f"up to {final_year}", key="levers")
    if by == "lever" or (by == "auto" and len(groups) <= max_players):
        chosen, used = {k: (k, v) for k, v in groups.items()}, "lever"
    else:
        chosen = {k: (SECTION_TITLES.get(k, k), v) for k, v in sections.items()}
        used = "section"
    if len(chosen) > max_players:
        hint = ""
        if used == "lever" and len(sections) <= max_players:
            hint = (f"; group them by the document's sections ({len(sections)} differ) "
                    "with by='section' (--by section)")
        what = "levers" if used == "lever" else "sections"
        raise InputError(f"{len(chosen)} {what} differ and exact Shapley values need "
                         f"2^{len(chosen)} runs; at most {max_players} allowed{hint}",
                         key="levers")
    players = [Player(name, tuple(x.name for x in members),
                      tuple(str(x.variable) for x in members))
               for name, members in chosen.values()]
    return players, used


def attribute(package: Scenario, reference: Scenario, *, engine: str = DEFAULT_ENGINE,
              by: Grouping = "auto", year: int = TARGET_YEAR,
              max_players: int = MAX_PLAYERS, progress: Progress | None = None) -> Attribution:
    """Split each indicator's change from ``reference`` to ``package`` among the levers.

    Runs the model once per subset of the differing levers (2^n runs) and computes
    exact Shapley values of every indicator of :func:`transfer_sim.analysis.kpis.kpi_table`.

    Parameters
    ----------
    package, reference : Scenario
        Loaded scenarios (:func:`transfer_sim.load_scenario`).
    engine : {"simlin", "pysd", "batch"}
        Engine; the fast one by default (PySD takes seconds a run).
    by : {"auto", "lever", "section"}
        What a player is (see :func:`lever_players`).
    year : int
        Year the indicators are read at; the runs end there.
    max_players : int
        Most players allowed (at most :data:`MAX_PLAYERS`).
    progress : callable, optional
        ``progress(done, total, label)`` after each run (:mod:`transfer_sim.io.progress`).

    Returns
    -------
    Attribution

    Raises
    ------
    InputError
        When no lever differs, more than ``max_players`` do, or ``year`` is outside
        the allowed final years.
    """
    year = validate_final_year(year, key="year")
    if max_players > MAX_PLAYERS:
        raise InputError(f"at most {MAX_PLAYERS} players allowed, not {max_players}",
                         key="max_players")
    if dict(package.parameters) != dict(reference.parameters):
        raise InputError(f"{package.name} and {reference.name} set different calibrated "
                         "parameters; attribution splits the effect of levers only, so both "
                         "must use the same parameters", key="parameters")
    players, used = _players(package, reference, year=year, by=by, max_players=max_players)
    values, engine_name = _subset_values(package, reference, players, year=year,
                                         engine=engine, progress=progress)
    phi, alone = shapley_values(values)
    return Attribution(package=package.name, reference=reference.name, by=used,
                       players=tuple(players), kpis=tuple(k.name for k in KPIS), values=values,
                       shapley=phi, alone=alone, year=year, engine=engine_name,
                       units=tuple(k.unit for k in KPIS), labels=tuple(k.label for k in KPIS))


def _players(package: Scenario, reference: Scenario, *, year: int, by: Grouping,
             max_players: int) -> tuple[list[Player], str]:
    """:func:`lever_players`, suggesting the package's parent when there are too many."""
    try:
        return lever_players(package.levers, reference.levers, final_year=year, by=by,
                             max_players=max_players)
    except InputError as exc:
        parent = package.extends
        if "allowed" not in exc.detail or not parent or parent == reference.name:
            raise
        raise InputError(f"{exc.detail}; or attribute {package.name} against the scenario it "
                         f"extends, reference={parent!r} (--reference {parent})",
                         key="levers") from None


#: Subsets run per engine call (``run_batch``: the batch engine runs them together).
_SUBSETS_PER_CALL = 64


def _subset_values(package: Scenario, reference: Scenario, players: Sequence[Player], *,
                   year: int, engine: str,
                   progress: Progress | None) -> tuple[np.ndarray, str]:
    """Run every subset of the players and return the indicators, shape ``(2^n, kpis)``.

    Subset ``mask`` takes the package's model inputs for the players whose bit is set
    and the reference's for the others; each is planned directly from those inputs
    (with the scenarios' shared calibrated parameters and the package's time step,
    else the reference's).
    """
    pkg = effective_inputs(package.levers)
    ref = effective_inputs(reference.levers)
    time_step = package.time_step if package.time_step is not None else reference.time_step
    base = dataclasses.replace(package, levers={}, final_year=year, time_step=time_step)
    eng = get_engine(engine)
    needed = required_variables()
    n = 1 << len(players)
    specs = []
    for mask in range(n):
        chosen = dict(ref)
        for i, p in enumerate(players):
            if mask >> i & 1:
                chosen.update({var: pkg[var] for var in p.variables})
        specs.append(plan(base, extra_inputs=_model_inputs(chosen), variables=needed))
    parts = []
    for start in range(0, n, _SUBSETS_PER_CALL):
        parts.append(eng.run_batch(specs[start:start + _SUBSETS_PER_CALL]))
        if progress is not None:
            done = min(n, start + _SUBSETS_PER_CALL)
            progress(done, n, f"subset {done} of {n}")
    time = parts[0].time
    stacked = xr.Dataset(
        {v: (("scenario", "time", "sector")[:parts[0].data[v].ndim],
             np.concatenate([r.data[v] for r in parts])) for v in needed},
        coords={"scenario": [str(i) for i in range(n)], "time": time})
    at_year = kpi_values(stacked, year)
    values = np.stack([at_year[k.name].values for k in KPIS], axis=1).astype(float)
    return values, eng.name


def _model_inputs(inputs: Mapping[str, np.ndarray]) -> dict[str, float | np.ndarray]:
    """Turn :func:`effective_inputs` arrays into engine inputs (numbers as floats)."""
    kinds = {lever.variable: lever.kind for lever in _levers.LEVERS}
    return {var: value if kinds.get(var) == "schedule" else float(value[0])
            for var, value in inputs.items()}


def format_attribution(attr: Attribution, kpis: Sequence[str] | None = None) -> str:
    """Format an attribution for the terminal: a row per lever, a column per indicator.

    Parameters
    ----------
    attr : Attribution
        Result of :func:`attribute`.
    kpis : sequence of str, optional
        Indicators to show; all by default.
    """
    chosen = list(kpis) if kpis is not None else list(attr.kpis)
    idx = [attr.kpis.index(k) for k in chosen]
    header = ["lever"] + [TARGET_CODES.get(k, k) for k in chosen]
    units = ["unit"] + [attr.units[i] for i in idx]
    body = [[p.name] + [f"{attr.shapley[i, k]:,.3g}" for k in idx]
            for i, p in enumerate(attr.players)]
    totals = attr.total
    sum_alone = attr.alone.sum(axis=0)
    body.append(["total change"] + [f"{totals[k]:,.3g}" for k in idx])
    body.append(["  sum of levers alone"] + [f"{sum_alone[k]:,.3g}" for k in idx])
    body.append(["  interaction"] + [f"{totals[k] - sum_alone[k]:,.3g}" for k in idx])
    title = (f"Shapley attribution of {attr.package} against {attr.reference} in {attr.year} "
             f"({_count(len(attr.players), attr.by)}, {1 << len(attr.players)} runs on "
             f"{attr.engine})")
    table = format_text_table(header, [units, *body], align="l" + "r" * len(chosen))
    head, rule, unit_line, *rows = table.split("\n")
    lines = [title, head, unit_line, rule, *rows[:-3], rule, *rows[-3:]]
    return "\n".join(lines)


def _count(n: int, by: str) -> str:
    """Return e.g. ``"1 lever"``, ``"10 sections"``."""
    word = "lever" if by == "lever" else "section"
    return f"{n} {word}{'' if n == 1 else 's'}"
