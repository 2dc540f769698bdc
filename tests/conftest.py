"""Shared fixtures: one translation cache per test run, figures closed after each test.

``facts`` (the model facts, built once per session: on a cold cache this translates
the model with PySD) is for integration tests; ``tests/unit`` refuses to read them.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def pytest_configure(config: pytest.Config) -> None:
    # Keep the translation cache inside the test run unless the caller chose one,
    # so the suite never depends on (or pollutes) a user's cache.
    if "TRANSFER_SIM_CACHE" not in os.environ:
        base = Path(config.rootpath) / ".pytest_cache" / "transfer-sim-cache"
        os.environ["TRANSFER_SIM_CACHE"] = str(base)
    os.environ.setdefault("MPLBACKEND", "Agg")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    import sys

    if "matplotlib.pyplot" in sys.modules:
        sys.modules["matplotlib.pyplot"].close("all")


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root."""
    return ROOT


@pytest.fixture(scope="session")
def facts():
    """The bundled model's facts (:func:`transfer_sim.model.facts.model_facts`)."""
    from transfer_sim.model.facts import model_facts

    return model_facts()
