"""A calibrated layer's ``[calibration]`` table: read, inherited, dumped, refused."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from transfer_sim.errors import InputError
from transfer_sim.inputs import scenarios as S
from transfer_sim.inputs.calibration_record import parse_calibration, validate_vintage

SHA = "ab" * 32
TABLE = {"observed": "observed.csv", "observed_sha256": SHA, "fit_until": 2012,
         "vintage": "first-published"}


def write(folder: Path, name: str, text: str) -> Path:
    path = folder / f"{name}.toml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def layer(folder: Path, observed: str = "observed.csv") -> Path:
    return write(folder, "layer", f"""\
        name = "layer"
        [parameters]
        zone_establishment = 2.5
        [calibration]
        observed = "{observed}"
        observed_sha256 = "{SHA}"
        fit_until = 2012
        vintage = "revised"
        """)


def test_bundled_calibrated_layer_names_its_data():
    record = S.load_scenario("calibrated").calibration
    assert record is not None and record.observed == "observed.csv"
    assert record.observed_path().is_file()
    assert S.load_scenario("policy-as-written").calibration is None


def test_record_is_inherited_through_extends(tmp_path):
    layer(tmp_path)
    child = write(tmp_path, "child", 'extends = "layer"\n[levers]\nspecial_fund = 10\n')
    record = S.load_scenario(child).calibration
    assert (record.fit_until, record.vintage) == (2012, "revised")


def test_a_file_beside_the_layer_is_found_and_dumped_as_a_path(tmp_path):
    (tmp_path / "mine.csv").write_text("x\n", encoding="utf-8")
    record = S.load_scenario(layer(tmp_path, "mine.csv")).calibration
    assert record.observed_path() == tmp_path / "mine.csv"
    text = S.dump_scenario(S.load_scenario(layer(tmp_path, "mine.csv")))
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    again = S.load_scenario(write(elsewhere, "dumped", text)).calibration
    assert again.observed_path().resolve() == (tmp_path / "mine.csv").resolve()
    assert again.fit_until == 2012


@pytest.mark.parametrize(("key", "value", "match"), [
    ("fit_until", 2030, "expected a year"),
    ("fit_until", True, "expected a year"),
    ("observed_sha256", "xyz", "hex digits"),
    ("vintage", "First Published", "lower-case"),
    ("observed", "", "non-empty string"),
])
def test_bad_values_are_refused_with_the_key(key, value, match):
    with pytest.raises(InputError, match=match) as err:
        parse_calibration({**TABLE, key: value}, file="x.toml")
    assert err.value.key == f"calibration.{key}" and err.value.file == "x.toml"


def test_missing_and_unknown_keys_are_refused():
    with pytest.raises(InputError, match="missing"):
        parse_calibration({k: v for k, v in TABLE.items() if k != "vintage"}, file="x.toml")
    with pytest.raises(InputError, match="unknown key"):
        parse_calibration({**TABLE, "fit_untill": 2011}, file="x.toml")


def test_a_bad_table_in_a_file_names_the_file_and_line(tmp_path):
    path = write(tmp_path, "bad", f"""\
        name = "bad"
        [calibration]
        observed = 3
        observed_sha256 = "{SHA}"
        fit_until = 2012
        vintage = "revised"
        """)
    with pytest.raises(InputError, match="non-empty string") as err:
        S.load_scenario(path)
    assert "bad.toml" in str(err.value) and "line 3" in str(err.value)


def test_vintage_names():
    assert validate_vintage("revised-2018") == "revised-2018"
    with pytest.raises(InputError, match="--vintage"):
        validate_vintage("a b", key="--vintage")
