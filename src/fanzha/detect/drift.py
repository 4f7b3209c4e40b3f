"""Feature drift between the data a model was trained on and the data it scores (模型监控).

A model scores garbage without an error when the data it is given no longer look like its training
data: a partner sends amounts in yuan where the model learnt fen, an operator changes a field's
definition, a window parameter differs. At fit time :func:`profile` keeps, per feature, bin edges
at the training deciles (:func:`_edges`), the share of training rows in each bin and the share
missing. At
scoring time :func:`drift` places the scored rows in the same bins and reports the population
stability index per feature:

    PSI = Σ over bins (scored share − training share) × ln(scored share / training share)

with "missing" as one more bin and empty bins counted as 0.01 % (so one empty bin does not make it
infinite). The usual reading in credit and fraud risk: below 0.1 stable, 0.1–0.25 a moderate shift
to look at, above 0.25 a major shift — the scores of such a batch should not be trusted until the
cause is known. On small samples the PSI of two draws from one distribution is itself around
(bins − 1) / n (n = n_train · n_scored / (n_train + n_scored): 0.07 for 300 rows each, more with
few rows beyond the training range), so a shift is called only when it is also beyond chance: a
chi-square test of the two samples' bin counts (training counts from the profile) and a binomial
test of the share of scored values beyond the training range must put it below ``P_CHANCE``;
otherwise a PSI over a threshold is reported as "within chance", not as a shift.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

DECILES = np.linspace(0.1, 0.9, 9)
FLOOR = 1e-4  # an empty bin's share in the PSI sum
MODERATE, MAJOR = 0.1, 0.25
P_CHANCE = 0.001
# how far beyond the training minimum / maximum a value may lie before it counts as outside the
# training range, as a share of the range's magnitude: a merchant's 881 payers where the training
# city's biggest had 874 is no shift; amounts 100× the largest seen in training are
RANGE_SLACK = 0.5


@dataclass(frozen=True)
class FeatureProfile:
    """One feature of the training data: bin edges (:func:`_edges`: the training range widened by
    ``RANGE_SLACK`` at both ends and the deciles inside it), the share of rows per bin (``len(edges) + 1``
    bins: below the first edge, then from each edge up to the next — the first and last hold no
    training row, so values far outside the training range count as a shift however the deciles
    fall) and the share of missing values; the median for the report."""

    edges: np.ndarray
    shares: np.ndarray
    missing: float
    median: float
    rows: int


def _bins(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.searchsorted(edges, values, side="right")


def _shares(values: np.ndarray, edges: np.ndarray) -> tuple[np.ndarray, float]:
    """Per-bin shares of all rows (present values only) and the missing share; they sum to 1."""
    n = len(values)
    present = values[~np.isnan(values)]
    counts = np.bincount(_bins(present, edges), minlength=len(edges) + 1)
    return counts / max(n, 1), (n - len(present)) / max(n, 1)


def _edges(present: np.ndarray) -> np.ndarray:
    """Bin edges for the present training values of one feature: each distinct decile's edge sits
    halfway between it and the next smaller value seen (so a value many rows share — a hub
    merchant's 874 payers, a share of 0 — is inside its bin, not on its edge, and moving it a
    little moves no rows between bins), plus the training range widened by ``RANGE_SLACK``."""
    distinct = np.unique(present)
    deciles = np.unique(np.quantile(present, DECILES, method="lower"))
    below = np.searchsorted(distinct, deciles) - 1
    inner = (distinct[np.maximum(below, 0)] + deciles)[below >= 0] / 2
    low, high = float(distinct[0]), float(distinct[-1])
    slack = RANGE_SLACK * max(abs(low), abs(high), high - low)
    return np.unique(np.r_[low - slack, inner, np.nextafter(high + slack, np.inf)])


def profile(matrix: pd.DataFrame) -> dict[str, FeatureProfile]:
    """The training profile of every column of a numeric model matrix."""
    out = {}
    for name in matrix.columns:
        values = matrix[name].to_numpy(dtype=float)
        present = values[~np.isnan(values)]
        edges = np.empty(0)
        if len(present):
            edges = _edges(present)
        shares, missing = _shares(values, edges)
        median = float(np.median(present)) if len(present) else float("nan")
        out[str(name)] = FeatureProfile(edges, shares, missing, median, len(values))
    return out


def psi(expected: np.ndarray, actual: np.ndarray) -> float:
    """Population stability index of two distributions over the same bins (each sums to 1)."""
    e = np.maximum(np.asarray(expected, dtype=float), FLOOR)
    a = np.maximum(np.asarray(actual, dtype=float), FLOOR)
    return float(np.sum((a - e) * np.log(a / e)))


def _beyond_chance(expected: np.ndarray, actual: np.ndarray, n_train: int, n_scored: int) -> bool:
    """Is the scored sample's binning unlikely (p < ``P_CHANCE``) for a draw like the training one?
    Two tests, each at half the level: a chi-square test of the bin counts with the bins beyond the
    training range joined to their neighbours, and the count of scored values beyond that range —
    a new draw falls beyond the extremes of n training values with probability 2 / (n + 1) (beyond
    the widened range, less: the test is conservative)."""
    from scipy.stats import binom, chi2_contingency

    counts = np.vstack(
        [np.rint(expected * n_train), np.rint(actual * n_scored)]
    )  # [below, …, above, missing]
    beyond = int(counts[1, 0] + counts[1, -2]) if counts.shape[1] >= 4 else 0
    if counts.shape[1] >= 4:
        if binom.sf(beyond - 1, n_scored, 2 / (n_train + 1)) < P_CHANCE / 2:
            return True
        counts[:, 1] += counts[:, 0]
        counts[:, -3] += counts[:, -2]
        counts = np.delete(counts, [0, counts.shape[1] - 2], axis=1)
    counts = counts[:, counts.sum(axis=0) > 0]
    if counts.shape[1] < 2 or (counts.sum(axis=1) == 0).any():
        return False
    return bool(chi2_contingency(counts, correction=False).pvalue < P_CHANCE / 2)


def _status(value: float, expected: np.ndarray, actual: np.ndarray, n_train: int, n_scored: int) -> str:
    if value <= MODERATE:
        return "stable"
    if not _beyond_chance(expected, actual, n_train, n_scored):
        return "within chance"
    return "major" if value > MAJOR else "moderate"


def drift(profiles: dict[str, FeatureProfile], matrix: pd.DataFrame) -> pd.DataFrame:
    """Per profiled feature present in ``matrix``: ``feature, psi, status`` (stable / moderate /
    major / within chance), the training and scored missing shares and medians; the most shifted
    first."""
    rows = []
    for name, prof in profiles.items():
        if name not in matrix.columns:
            continue
        values = matrix[name].to_numpy(dtype=float)
        shares, missing = _shares(values, prof.edges)
        expected, actual = np.append(prof.shares, prof.missing), np.append(shares, missing)
        value = psi(expected, actual)
        present = values[~np.isnan(values)]
        rows.append(
            {
                "feature": name,
                "psi": round(value, 4),
                "status": _status(value, expected, actual, prof.rows, len(values)),
                "train_missing": round(prof.missing, 4),
                "scored_missing": round(missing, 4),
                "train_median": prof.median,
                "scored_median": float(np.median(present)) if len(present) else float("nan"),
            }
        )
    columns = ["feature", "psi", "status", "train_missing", "scored_missing", "train_median", "scored_median"]
    frame = pd.DataFrame(rows, columns=columns)
    return frame.sort_values("psi", ascending=False, kind="stable").reset_index(drop=True)


def summary(report: pd.DataFrame, limit: int = 5) -> str | None:
    """One line naming the features with a major shift (None when there is none)."""
    major = report[report.status == "major"]
    if major.empty:
        return None
    shown = ", ".join(
        f"{r.feature} (PSI {r.psi:.2f}; median {r.train_median:.4g} in training, {r.scored_median:.4g} here)"
        for r in major.head(limit).itertuples()
    )
    more = f" and {len(major) - limit} more" if len(major) > limit else ""
    return (
        f"{len(major)} feature(s) differ strongly from the training data: {shown}{more}. "
        "Scores of data unlike the training data are less reliable: check units (fen / yuan), the column "
        "mapping and the window, or retrain on data like these"
    )
