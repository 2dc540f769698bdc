"""Which fitted parameters the data pin down: profile likelihood and correlations.

:func:`profile_likelihood` fixes one parameter at a time at points across its search
range, re-fits the others (``scipy.optimize.least_squares``) and records how much the
payoff rises. With the payoff in units of the residual variance ``s2``, a rise of
:data:`PROFILE_THRESHOLD` (the 95 % quantile of chi-squared with one degree of freedom)
bounds the profile-likelihood interval (Venzon & Moolgavkar 1988; Raue et al. 2009,
*Bioinformatics* 25:1923). A parameter is identified when its profile rises above the
threshold on both sides of the optimum inside the search range; a profile that stays
below it up to a bound is *practically non-identifiable* on that side.

:func:`correlations` turns the Jacobian at the optimum into the parameters' correlation
matrix (from ``s2 (J'J)^+``): a correlation near ±1 says the data see two parameters
only in combination.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd

__all__ = ["PROFILE_THRESHOLD", "profile_likelihood", "profile_summary", "correlations"]

#: Rise of the payoff (in units of the residual variance) that bounds a 95 % profile
#: interval: the 0.95 quantile of chi-squared with one degree of freedom.
PROFILE_THRESHOLD = 3.841458820694124


def profile_likelihood(residuals_u: Callable[[np.ndarray], np.ndarray], u_best: np.ndarray,
                       names: Sequence[str], lower: np.ndarray, upper: np.ndarray, *,
                       s2: float, points: int = 7, max_nfev: int | None = None,
                       progress: Callable[[str], None] | None = None) -> pd.DataFrame:
    """Profile each parameter across its search range, re-fitting the others.

    Parameters
    ----------
    residuals_u : callable
        Weighted residuals of the fitted observations as a function of every fitted
        parameter in unit coordinates (0 at the lower, 1 at the upper search bound).
    u_best : numpy.ndarray
        The optimum, in unit coordinates.
    names : sequence of str
        The parameters, in the order of ``u_best``.
    lower, upper : numpy.ndarray
        Search bounds in the parameters' units (to report values).
    s2 : float
        Residual variance that scales the payoff (1 when there are no degrees of freedom).
    points : int
        Points across each range (the optimum is added).
    max_nfev : int, optional
        Most residual evaluations of each re-fit (``20 * (p - 1) + 20`` by default).
    progress : callable, optional
        Called with a message after each parameter.

    Returns
    -------
    pandas.DataFrame
        One row per parameter and point: ``parameter``, ``value`` (parameter units),
        ``payoff`` (weighted squared errors after re-fitting the others) and
        ``delta`` (rise over the optimum in units of ``s2``).
    """
    from scipy.optimize import least_squares

    p = len(names)
    r0 = residuals_u(u_best)
    best = float(r0 @ r0)
    nfev = max_nfev or 20 * (p - 1) + 20
    rows = []
    for j, name in enumerate(names):
        grid = np.unique(np.concatenate([np.linspace(0.0, 1.0, points), [u_best[j]]]))
        others = [i for i in range(p) if i != j]
        warm = u_best[others].copy()
        # Walk outwards from the optimum so that each re-fit starts near its neighbour's.
        order = np.argsort(np.abs(grid - u_best[j]))
        for uj in grid[order]:
            resid = _fixing(residuals_u, p, j, float(uj))
            if others:
                fit = least_squares(resid, np.clip(warm, 0.0, 1.0), bounds=(0.0, 1.0),
                                    method="trf", diff_step=1e-6, max_nfev=nfev)
                r, warm = fit.fun, fit.x
            else:
                r = resid(np.empty(0))
            payoff = float(r @ r)
            rows.append({"parameter": name, "value": float(lower[j] + uj * (upper[j] - lower[j])),
                         "payoff": payoff, "delta": (payoff - best) / s2})
        if progress is not None:
            progress(f"profile of {name}: {len(grid)} points")
    out = pd.DataFrame(rows).sort_values(["parameter", "value"], kind="stable")
    return out.reset_index(drop=True)


def _fixing(residuals_u: Callable[[np.ndarray], np.ndarray], p: int, j: int,
            uj: float) -> Callable[[np.ndarray], np.ndarray]:
    """Return the residuals as a function of the other parameters, parameter ``j`` at ``uj``."""
    others = [i for i in range(p) if i != j]

    def resid(v: np.ndarray) -> np.ndarray:
        u = np.empty(p)
        u[j] = uj
        u[others] = v
        return residuals_u(np.clip(u, 0.0, 1.0))
    return resid


def profile_summary(profile: pd.DataFrame, best: dict[str, float], *,
                    threshold: float = PROFILE_THRESHOLD) -> pd.DataFrame:
    """Return each profile's 95 % interval and whether it is closed on both sides.

    Parameters
    ----------
    profile : pandas.DataFrame
        The output of :func:`profile_likelihood`.
    best : dict
        Parameter -> value at the optimum.
    threshold : float
        Rise that bounds the interval.

    Returns
    -------
    pandas.DataFrame
        Indexed by parameter: ``profile_lower_95``, ``profile_upper_95`` (where the
        profile crosses the threshold, interpolating its square root linearly, which is
        exact for a quadratic profile; the search bound where it does not cross) and
        ``profile_identified`` (it crosses on both sides).

    Examples
    --------
    >>> prof = pd.DataFrame({"parameter": ["a"] * 5, "value": [0., 1., 2., 3., 4.],
    ...                      "payoff": 0.0, "delta": [16., 4., 0., 4., 16.]})
    >>> s = profile_summary(prof, {"a": 2.0}, threshold=1.0)
    >>> float(s.loc["a", "profile_lower_95"]), bool(s.loc["a", "profile_identified"])
    (1.5, True)
    """
    rows = {}
    for name, group in profile.groupby("parameter", sort=False):
        values = group["value"].to_numpy()
        delta = group["delta"].to_numpy()
        x0 = best[name]
        lo = _crossing(values[values <= x0][::-1], delta[values <= x0][::-1], threshold)
        hi = _crossing(values[values >= x0], delta[values >= x0], threshold)
        rows[name] = {"profile_lower_95": values.min() if lo is None else lo,
                      "profile_upper_95": values.max() if hi is None else hi,
                      "profile_identified": lo is not None and hi is not None}
    return pd.DataFrame.from_dict(rows, orient="index")


def _crossing(values: np.ndarray, delta: np.ndarray, threshold: float) -> float | None:
    """First point, walking away from the optimum, where ``delta`` reaches ``threshold``."""
    for k in range(1, len(values)):
        if delta[k] >= threshold:
            # The profile is close to quadratic near the optimum: interpolate its root.
            d0, d1 = math.sqrt(max(delta[k - 1], 0.0)), math.sqrt(delta[k])
            w = 1.0 if d1 == d0 else (math.sqrt(threshold) - d0) / (d1 - d0)
            return float(values[k - 1] + min(max(w, 0.0), 1.0) * (values[k] - values[k - 1]))
    return None


def correlations(jac: np.ndarray, names: Sequence[str], span: np.ndarray, *,
                 rank_tolerance: float = 1e-8) -> pd.DataFrame:
    """Return the fitted parameters' correlation matrix from the Jacobian at the optimum.

    Parameters
    ----------
    jac : numpy.ndarray
        Jacobian of the weighted residuals (rows: fitted observations) in parameter
        units.
    names : sequence of str
        Column names.
    span : numpy.ndarray
        Search range of each parameter (the Jacobian is scaled by it first).
    rank_tolerance : float
        Singular values below this fraction of the largest count as zero
        (a pseudo-inverse).

    Returns
    -------
    pandas.DataFrame
        ``p x p`` correlations; NaN for a parameter the data do not see at all.

    Examples
    --------
    >>> j = np.array([[1.0, 1.0], [1.0, 1.1], [0.0, 0.0]])
    >>> c = correlations(j, ["a", "b"], np.ones(2))
    >>> round(float(c.loc["a", "b"]), 3)
    -0.999
    """
    _, sv, vt = np.linalg.svd(np.asarray(jac) * span, full_matrices=False)
    keep = sv > rank_tolerance * sv.max() if sv.size and sv.max() > 0 else np.zeros(0, bool)
    cov = (vt[keep].T / sv[keep] ** 2) @ vt[keep] if keep.any() else np.zeros((len(names),) * 2)
    sd = np.sqrt(np.diag(cov))
    with np.errstate(invalid="ignore", divide="ignore"):
        corr = cov / np.outer(sd, sd)
    corr[~np.isfinite(corr)] = math.nan
    return pd.DataFrame(corr, index=list(names), columns=list(names))
