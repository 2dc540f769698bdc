"""Unit tests need no translated model: reading the model facts here is an error.

Tests that need the model's catalogue, constants or a run live in
``tests/integration``, where the session fixture ``facts`` (``tests/conftest.py``)
builds the facts once. The guard is module-scoped so that it also covers
module-scoped fixtures.
"""

from __future__ import annotations

import pytest

_MOVE = "move it to tests/integration"


class _NoFacts(dict):
    def __contains__(self, key: object) -> bool:
        raise AssertionError("a unit test read the model facts, which needs the model "
                             f"translated by PySD: {_MOVE}")


def _no_translation(*args: object, **kwargs: object) -> None:
    raise AssertionError(f"a unit test translates the model with PySD: {_MOVE}")


@pytest.fixture(autouse=True, scope="module")
def _no_model_facts():
    from transfer_sim.model import core, facts

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(facts, "_MEMO", _NoFacts())
        mp.setattr(core, "translated_model_path", _no_translation)
        yield
