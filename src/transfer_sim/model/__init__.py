"""Facts about ``model/transfer.mdl``: where it is, its hash, its facts and translation.

:func:`model_facts` is the one source of what the model says (catalogue, constants,
control section, subscripts, outputs, units); :func:`catalogue` is a table view of it.
"""

from transfer_sim.model.core import (
    SECTORS,
    YEARS,
    cache_dir,
    catalogue,
    default_model_path,
    default_scenarios_dir,
    load_pysd,
    model_file,
    model_hash,
    translated_model_path,
)
from transfer_sim.model.facts import ModelFacts, model_facts

__all__ = ["SECTORS", "YEARS", "ModelFacts", "cache_dir", "catalogue", "default_model_path",
           "default_scenarios_dir", "load_pysd", "model_facts", "model_file", "model_hash",
           "translated_model_path"]
