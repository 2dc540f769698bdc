"""The five targets under each data vintage, and whether a verdict depends on it.

Inner Mongolia's figures were revised after 2018 (``data/historical/README.md``), so the
bundled scenarios hold one calibrated layer per data vintage, each with a
``[calibration]`` table naming its vintage (``scenarios/calibrated.toml`` on the figures
first published, ``scenarios/calibrated-revised.toml`` on the revised ones).
:func:`vintage_table` runs, on every such layer, the policy as written (the layer
itself) and ``no-policy`` (its levers with the layer's parameters), and says for each
target whether the verdict on the policy differs between vintages.
"""

from __future__ import annotations

import dataclasses
import os

import pandas as pd

from transfer_sim.analysis.kpis import kpi_table
from transfer_sim.inputs.scenarios import DEFAULT_REFERENCE, Scenario, list_scenarios, load_scenario
from transfer_sim.io.tables import verdict_cell
from transfer_sim.model.core import default_scenarios_dir

__all__ = ["calibrated_layers", "vintage_table", "render_vintages"]


def calibrated_layers(folder: str | os.PathLike[str] | None = None) -> list[Scenario]:
    """Return the scenarios of ``folder`` that are calibrated layers, one per vintage.

    A calibrated layer is a scenario file with its own ``[calibration]`` table and
    no ``extends`` (scenarios extending a layer inherit its record, and are not
    layers themselves). Ordered by scenario name.
    """
    layers = []
    for path in list_scenarios(folder or default_scenarios_dir()):
        scenario = load_scenario(path)
        if scenario.calibration is not None and scenario.extends is None:
            layers.append(scenario)
    return sorted(layers, key=lambda s: s.name)


def vintage_table(layers: list[Scenario] | None = None, *, engine: str = "simlin",
                  model_path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Return the targets under the policy and ``no-policy`` for each calibrated layer.

    Parameters
    ----------
    layers : list of Scenario, optional
        Calibrated layers; the bundled ones (:func:`calibrated_layers`) by default.
    engine : str
        Engine name.
    model_path : path-like, optional
        Model file.

    Returns
    -------
    pandas.DataFrame
        One row per target and vintage: ``kpi, label, target, unit, vintage, layer,
        policy, policy_met, no_policy, no_policy_met``, and ``depends_on_vintage``
        (True on every row of a target whose verdict on the policy is not the same
        under every vintage).
    """
    from transfer_sim.run.runner import compare

    layers = calibrated_layers() if layers is None else layers
    reference = load_scenario(DEFAULT_REFERENCE)
    frames = []
    for layer in layers:
        off = dataclasses.replace(reference, name=DEFAULT_REFERENCE,
                                  parameters=layer.parameters, time_step=layer.time_step,
                                  calibration=layer.calibration)
        policy = dataclasses.replace(layer, name="policy")
        table = kpi_table(compare([policy, off], engine=engine, model_path=model_path))
        table = table[table["target"].notna()]
        wide = table.pivot(index="kpi", columns="scenario", values=["value", "met"])
        meta = table.drop_duplicates("kpi").set_index("kpi")[["label", "target", "unit"]]
        frames.append(pd.DataFrame({
            "kpi": meta.index, "label": meta["label"].to_numpy(),
            "target": meta["target"].to_numpy(), "unit": meta["unit"].to_numpy(),
            "vintage": layer.calibration.vintage, "layer": layer.name,
            "policy": wide[("value", "policy")].reindex(meta.index).to_numpy(),
            "policy_met": wide[("met", "policy")].reindex(meta.index).to_numpy(),
            "no_policy": wide[("value", DEFAULT_REFERENCE)].reindex(meta.index).to_numpy(),
            "no_policy_met": wide[("met", DEFAULT_REFERENCE)].reindex(meta.index).to_numpy(),
        }))
    out = pd.concat(frames, ignore_index=True)
    verdicts = out.groupby("kpi", sort=False)["policy_met"].nunique()
    out["depends_on_vintage"] = out["kpi"].map(verdicts > 1)
    return out


def render_vintages(model_path: str | os.PathLike[str] | None = None) -> str:
    """Render :func:`vintage_table` as Markdown (one column pair per vintage)."""
    table = vintage_table(model_path=model_path)
    vintages = list(dict.fromkeys(table["vintage"]))
    head = ["target", "document"] + [f"{v}: policy / no-policy" for v in vintages] + \
        ["verdict depends on the vintage"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for _, rows in table.groupby("kpi", sort=False):
        rows = rows.set_index("vintage")
        first = rows.iloc[0]
        cells = [f"{verdict_cell(rows.at[v, 'policy'], rows.at[v, 'policy_met'])} / "
                 f"{verdict_cell(rows.at[v, 'no_policy'], rows.at[v, 'no_policy_met'])}"
                 for v in vintages]
        depends = "**yes**" if first["depends_on_vintage"] else "no"
        lines.append(f"| {first['label']} | {first['target']:,g} {first['unit']} | "
                     + " | ".join(cells) + f" | {depends} |")
    layers = ", ".join(f"`{n}`" for n in dict.fromkeys(table["layer"]))
    return ("\n".join(lines) + f"\n\nLayers: {layers}; each runs the policy as written and "
            "`no-policy` with the parameters fitted to its vintage. ✗ = target missed.\n")
