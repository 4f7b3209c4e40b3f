"""Linear heads over the n-gram features: weights stay explicit so every decision can be explained.

A head is ``decision = X @ coef.T + intercept``, turned into probabilities by a fitted scale
(sigmoid for fraud-vs-normal, softmax for the fraud type). Logistic regression gives the scale
for free; a linear SVM is sharper on long texts, so the ``ensemble`` averages both decision
functions (each standardised) — still one linear model, so per-feature contributions remain exact.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import scipy.sparse as sp
from scipy.optimize import minimize_scalar
from scipy.special import expit, log_softmax, softmax

from fanzha.errors import ConfigError

SOLVERS = ("lr", "svm", "ensemble")


def _fit_lr(X: sp.csr_matrix, y: np.ndarray, C: float, class_weight: Any) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.linear_model import LogisticRegression

    binary = len(np.unique(y)) == 2
    model = LogisticRegression(
        C=C, class_weight=class_weight, max_iter=1000, solver="liblinear" if binary else "lbfgs"
    )
    model.fit(X, y)
    return model.coef_, model.intercept_


def _fit_svm(X: sp.csr_matrix, y: np.ndarray, C: float, class_weight: Any) -> tuple[np.ndarray, np.ndarray]:
    from sklearn.svm import LinearSVC

    model = LinearSVC(C=C, class_weight=class_weight, max_iter=5000)
    model.fit(X, y)
    return model.coef_, model.intercept_


class LinearHead:
    """Binary (one row of weights, sigmoid) or multi-class (one row per class, softmax)."""

    def __init__(
        self, solver: str = "lr", C: float = 10.0, svm_C: float = 0.5, class_weight: Any = "balanced"
    ):
        if solver not in SOLVERS:
            raise ConfigError(f"solver {solver!r} is not one of {', '.join(SOLVERS)}")
        self.solver = solver
        self.C = C
        self.svm_C = svm_C
        self.class_weight = class_weight

    def fit(self, X: sp.csr_matrix, y: np.ndarray) -> LinearHead:
        self.classes_ = np.unique(y)
        parts = []
        if self.solver in ("lr", "ensemble"):
            parts.append(_fit_lr(X, y, self.C, self.class_weight))
        if self.solver in ("svm", "ensemble"):
            parts.append(_fit_svm(X, y, self.svm_C, self.class_weight))
        coef = np.zeros_like(parts[0][0])
        intercept = np.zeros_like(parts[0][1])
        for c, b in parts:
            # put both models on one scale before averaging (a single model keeps its own scale)
            spread = float(np.std(X @ c.T + b)) or 1.0 if len(parts) > 1 else 1.0
            coef += c / spread
            intercept += b / spread
        self.coef_ = (coef / len(parts)).astype(np.float64)
        self.intercept_ = (intercept / len(parts)).astype(np.float64)
        self.scale_ = self._fit_scale(X, y)
        return self

    @property
    def binary(self) -> bool:
        return self.coef_.shape[0] == 1

    def decision(self, X: sp.csr_matrix) -> np.ndarray:
        return np.asarray(X @ self.coef_.T) + self.intercept_

    def _fit_scale(self, X: sp.csr_matrix, y: np.ndarray) -> float:
        """Temperature that best calibrates the (training) decisions; 1.0 for a plain logistic model.

        Fitted on training decisions, which are over-confident; capped so the scale only ever
        softens (≤ 1 for logistic) or sets a sensible range for the SVM part.
        """
        if self.solver == "lr":
            return 1.0
        d = self.decision(X)
        if self.binary:
            target = (y == self.classes_[1]).astype(float)

            def loss(s: float) -> float:
                p = np.clip(expit(s * d[:, 0]), 1e-9, 1 - 1e-9)
                return float(-np.mean(target * np.log(p) + (1 - target) * np.log(1 - p)))
        else:
            index = np.searchsorted(self.classes_, y)

            def loss(s: float) -> float:
                return float(-np.mean(log_softmax(s * d, axis=1)[np.arange(len(y)), index]))

        return float(minimize_scalar(loss, bounds=(0.05, 20.0), method="bounded").x) * 0.5

    def proba(self, X: sp.csr_matrix) -> np.ndarray:
        """Binary: P(positive class) per row. Multi-class: one column per class."""
        return self.proba_from_decision(self.decision(X))

    def proba_from_decision(self, d: np.ndarray) -> np.ndarray:
        if self.binary:
            return expit(self.scale_ * d[..., 0])
        return softmax(self.scale_ * d, axis=-1)

    def class_proba(self, d: np.ndarray) -> np.ndarray:
        """One probability per class (last axis) from decisions, for binary heads too."""
        if self.binary:
            p = expit(self.scale_ * d[..., 0])
            return np.stack([1.0 - p, p], axis=-1)
        return softmax(self.scale_ * d, axis=-1)

    def class_weights(self, k: int) -> np.ndarray:
        """Weights that push towards class ``k`` (for a binary head, class 0 is the negative side)."""
        if self.binary:
            return self.coef_[0] if k == 1 else -self.coef_[0]
        return self.coef_[k]
