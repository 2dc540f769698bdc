"""transfer-sim: a system-dynamics simulator of regional industrial-transfer policy.

The model is ``model/transfer.mdl`` (Vensim), run by PySD (the reference engine) or
Simlin (the fast engine). The public verbs, one per thing a user does::

    import transfer_sim as ts
    ds = ts.compare(["no-policy", "policy-as-written"])   # names, paths, Scenarios
    print(ts.format_table(ts.kpi_table(ds)))              # T1-T5 in 2015 and the ledger
    ds = ts.run({"power_discount": 0.08})                 # levers on the defaults
    result = ts.attribute(ts.load_scenario("policy-as-written"),
                          ts.load_scenario("no-policy"))  # Shapley split per lever

The subpackages follow the data flow: :mod:`~transfer_sim.inputs` (levers, scenarios,
parameters, uncertainties) -> :mod:`~transfer_sim.run` (the plan, engines, Datasets,
ensembles) -> :mod:`~transfer_sim.analysis` (KPIs, checks, attribution, sensitivity,
calibration) -> :mod:`~transfer_sim.plotting` and :mod:`~transfer_sim.report`;
:mod:`~transfer_sim.model` holds the facts about the model file,
:mod:`~transfer_sim.engines` the engines, :mod:`~transfer_sim.io` atomic writes and
tables, :mod:`~transfer_sim.cli` the command line.
"""

from transfer_sim.analysis.attribution import attribute, format_attribution
from transfer_sim.analysis.calibration import calibrate, load_observed
from transfer_sim.analysis.kpis import KPIS, format_table, kpi_series, kpi_table
from transfer_sim.analysis.probabilities import target_probabilities
from transfer_sim.analysis.sensitivity import run_sensitivity
from transfer_sim.errors import InputError, ModelError, OutputError, TransferSimError
from transfer_sim.inputs.levers import LEVERS
from transfer_sim.inputs.scenarios import Scenario, load_scenario, scenario_from_levers
from transfer_sim.inputs.uncertainty import load_uncertainties
from transfer_sim.report.html import make_report
from transfer_sim.run.ensemble import run_ensemble
from transfer_sim.run.results import read_netcdf, write_csv, write_netcdf
from transfer_sim.run.runner import compare, run, run_scenario

__all__ = [
    "KPIS",
    "LEVERS",
    "InputError",
    "ModelError",
    "OutputError",
    "Scenario",
    "TransferSimError",
    "attribute",
    "calibrate",
    "compare",
    "format_attribution",
    "format_table",
    "kpi_series",
    "kpi_table",
    "load_observed",
    "load_scenario",
    "load_uncertainties",
    "make_report",
    "read_netcdf",
    "run",
    "run_ensemble",
    "run_scenario",
    "run_sensitivity",
    "scenario_from_levers",
    "target_probabilities",
    "write_csv",
    "write_netcdf",
]
