"""The model translates with PySD, without warnings, into a cache outside the source tree."""

from __future__ import annotations

import warnings

import pytest

from transfer_sim.model import core as model


@pytest.fixture
def fresh_cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TRANSFER_SIM_CACHE", str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.mark.slow  # translates into a fresh cache
def test_translates_without_warnings_into_the_cache(fresh_cache):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        py = model.translated_model_path()
    ours = [w for w in caught if "chardet" not in str(w.message)]
    assert not ours, [str(w.message) for w in ours]
    assert py.is_file()
    assert py.is_relative_to(fresh_cache)
    digest = model.model_hash()
    assert py.parent.name.startswith(digest[:20])
    assert "pysd" in py.parent.name
    # nothing is written beside the model file
    assert not list(model.default_model_path().parent.glob("*.py"))


@pytest.mark.slow  # translates into a fresh cache
def test_second_call_reuses_the_cache(fresh_cache):
    first = model.translated_model_path()
    stamp = first.stat().st_mtime_ns
    again = model.translated_model_path()
    assert again == first
    assert again.stat().st_mtime_ns == stamp


@pytest.mark.slow  # translates into a fresh cache
def test_cache_key_changes_with_the_model(fresh_cache, tmp_path):
    other = tmp_path / "transfer.mdl"
    text = model.default_model_path().read_text(encoding="utf-8")
    other.write_text(text.replace("relocation search time = 2", "relocation search time = 3"),
                     encoding="utf-8")
    assert model.translated_model_path(other).parent != model.translated_model_path().parent


def test_catalogue_has_units_and_comments_for_every_variable():
    cat = model.catalogue().drop(index="time")  # PySD's own time variable
    assert len(cat) > 150
    no_units = cat.index[cat["Units"].fillna("").astype(str).str.strip() == ""].tolist()
    no_comment = cat.index[cat["Comment"].fillna("").astype(str).str.strip() == ""].tolist()
    assert not no_units, no_units
    assert not no_comment, no_comment
