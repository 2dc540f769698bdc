"""Facts about ``model/transfer.mdl``: where it is, its hash, its catalogue and translation."""

from transfer_sim.model.core import (
    SECTORS,
    YEARS,
    cache_dir,
    catalogue,
    default_model_path,
    default_scenarios_dir,
    load_pysd,
    model_hash,
    translated_model_path,
)

__all__ = ["SECTORS", "YEARS", "cache_dir", "catalogue", "default_model_path",
           "default_scenarios_dir", "load_pysd", "model_hash", "translated_model_path"]
