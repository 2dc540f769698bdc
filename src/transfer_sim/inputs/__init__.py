"""What a run is asked to do.

The lever registry, scenario files, calibrated parameters and uncertainty files
(TOML in, validated objects out).
"""
