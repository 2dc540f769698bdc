"""What a run is asked to do.

The lever registry, scenario files, calibrated parameters, uncertainty files (TOML in,
validated objects out) and the run settings every run is checked against
(:mod:`~transfer_sim.inputs.run_settings`).
"""

from transfer_sim.inputs.run_settings import (
    DEFAULT_FINAL_YEAR,
    FINAL_YEAR_RANGE,
    TIME_STEP_RANGE,
    validate_final_year,
    validate_time_step,
)

__all__ = ["DEFAULT_FINAL_YEAR", "FINAL_YEAR_RANGE", "TIME_STEP_RANGE", "validate_final_year",
           "validate_time_step"]
