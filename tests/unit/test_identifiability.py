"""Profile likelihood and correlations on residual functions with known answers (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from transfer_sim.analysis.calibration.identifiability import (
    PROFILE_THRESHOLD,
    correlations,
    profile_likelihood,
    profile_summary,
)

LOWER, UPPER = np.zeros(3), np.full(3, 10.0)


def linear(a: np.ndarray, truth: np.ndarray):
    """Residuals ``A (x - truth)`` in unit coordinates of the box [0, 10]^3."""
    def residuals_u(u: np.ndarray) -> np.ndarray:
        x = LOWER + u * (UPPER - LOWER)
        return a @ (x - truth)
    return residuals_u


def test_a_seen_parameter_has_a_closed_profile_around_its_value_and_an_unseen_one_not():
    # x0 and x1 seen by the data; x2 not at all (its column is zero).
    a = np.array([[2.0, 0.0, 0.0], [0.0, 1.0, 0.0], [1.0, 1.0, 0.0], [0.0, 0.5, 0.0]])
    truth = np.array([4.0, 6.0, 3.0])
    u_best = (truth - LOWER) / (UPPER - LOWER)
    prof = profile_likelihood(linear(a, truth), u_best, ["x0", "x1", "x2"], LOWER, UPPER,
                              s2=1.0, points=21)
    summary = profile_summary(prof, dict(zip(["x0", "x1", "x2"], truth, strict=True)))
    assert summary.loc["x0", "profile_identified"] and summary.loc["x1", "profile_identified"]
    assert not summary.loc["x2", "profile_identified"]
    assert (summary.loc["x2", "profile_lower_95"], summary.loc["x2", "profile_upper_95"]) \
        == (0.0, 10.0)
    # For a linear model the profile of x0 is quadratic: (A'A)^-1 gives its half-width.
    cov = np.linalg.inv(a[:, :2].T @ a[:, :2])
    half = np.sqrt(PROFILE_THRESHOLD * cov[0, 0])
    lo, hi = summary.loc["x0", ["profile_lower_95", "profile_upper_95"]]
    assert lo == pytest.approx(4.0 - half, abs=0.05) and hi == pytest.approx(4.0 + half, abs=0.05)
    # The optimum is a point of every profile, with no rise.
    at_best = prof[np.isclose(prof["value"], np.repeat(truth, prof.groupby("parameter").size()))]
    assert (at_best["delta"].abs() < 1e-8).all()


def test_a_profile_open_on_one_side_is_not_identified():
    a = np.array([[1.0, 0.0, 0.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    truth = np.array([9.5, 5.0, 5.0])  # x0 near its upper bound, little rise to the right
    u_best = truth / 10.0
    prof = profile_likelihood(linear(a, truth), u_best, ["x0", "x1", "x2"], LOWER, UPPER,
                              s2=1.0, points=11)
    summary = profile_summary(prof, dict(zip(["x0", "x1", "x2"], truth, strict=True)))
    assert not summary.loc["x0", "profile_identified"]
    assert summary.loc["x0", "profile_upper_95"] == 10.0
    assert summary.loc["x1", "profile_identified"]


def test_a_larger_residual_variance_widens_the_profile_interval():
    a = np.eye(3)
    truth = np.array([5.0, 5.0, 5.0])
    names = ["x0", "x1", "x2"]
    widths = []
    for s2 in (0.5, 2.0):
        prof = profile_likelihood(linear(a, truth), truth / 10, names, LOWER, UPPER, s2=s2,
                                  points=41)
        s = profile_summary(prof, dict(zip(names, truth, strict=True)))
        widths.append(s.loc["x0", "profile_upper_95"] - s.loc["x0", "profile_lower_95"])
    assert widths[1] == pytest.approx(2 * widths[0], rel=0.05)


def test_correlations_of_parameters_seen_only_together():
    jac = np.array([[1.0, 2.0], [2.0, 4.0001], [3.0, 6.0]])
    c = correlations(jac, ["a", "b"], np.ones(2))
    assert c.loc["a", "b"] == pytest.approx(-1.0, abs=1e-3)
    assert c.loc["a", "a"] == pytest.approx(1.0)
    independent = correlations(np.eye(2), ["a", "b"], np.array([1.0, 5.0]))
    assert independent.loc["a", "b"] == pytest.approx(0.0, abs=1e-12)
    blind = correlations(np.array([[1.0, 0.0], [2.0, 0.0]]), ["a", "b"], np.ones(2))
    assert np.isnan(blind.loc["a", "b"]) and np.isnan(blind.loc["b", "b"])
