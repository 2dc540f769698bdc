"""One calibrated layer per data vintage, and the targets under each."""

from __future__ import annotations

import pandas as pd

from transfer_sim.analysis.vintages import calibrated_layers, vintage_table
from transfer_sim.model.core import bundled_path


def test_one_bundled_layer_per_vintage_each_naming_its_data():
    layers = calibrated_layers()
    vintages = [s.calibration.vintage for s in layers]
    assert vintages == ["first-published", "revised"]
    for layer in layers:
        assert layer.calibration.observed_path().is_file()
        table = pd.read_csv(bundled_path("data", "calibration",
                                         "fitted.csv" if layer.name == "calibrated"
                                         else f"fitted-{layer.calibration.vintage}.csv"))
        fitted = set(table.loc[table["fitted"], "parameter"])
        # Only identified parameters are in the layer, and every one of them is.
        assert fitted == set(layer.parameters)
        assert table.loc[table["fitted"], "identifiable"].all()


def test_vintage_table_flags_a_verdict_that_differs_between_layers():
    table = vintage_table()
    assert set(table["vintage"]) == {"first-published", "revised"}
    assert len(table) == 10  # five targets under two vintages
    for _, rows in table.groupby("kpi"):
        assert rows["depends_on_vintage"].nunique() == 1
        assert rows["depends_on_vintage"].iat[0] == (rows["policy_met"].nunique() > 1)
    # The policy moves T5 from 0 parks under either vintage.
    t5 = table[table["kpi"] == table["kpi"].iat[-1]]
    assert (t5["no_policy"] < t5["policy"]).all()
