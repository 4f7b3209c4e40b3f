"""Gradient-boosting detectors for phone numbers and bank accounts.

:class:`GBDTDetector` implements :class:`fanzha.detect.contract.Detector` on a feature table (one
row per id, the other columns features):

- a cross-fitted ensemble: the training data is split in ``cv`` folds, one LightGBM model (or
  ``n_models`` seeds) is trained per fold on the other folds; the models' scores on their held-out
  fold are the out-of-fold scores, and at scoring time all fold models are averaged (a bagged
  ensemble for the price of the cross-validation, no extra refit);
- calibrated probabilities: an isotonic map from out-of-fold score to observed fraud rate (each row
  scored by models that never saw it); averaging several models makes the final scores slightly
  smoother than the out-of-fold ones, which errs on the side of less extreme probabilities;
- a decision threshold chosen on those same out-of-fold scores (best F1): chosen on the training
  data only, so an outer evaluation never leaks into it;
- reasons from per-record contributions (``pred_contrib``): the features that pushed this record's
  score up most, in plain words (:mod:`fanzha.risk.reasons`).
"""

from __future__ import annotations

from typing import Any, ClassVar, Self

import numpy as np
import pandas as pd

from fanzha.detect.contract import DEFAULT_TIER_THRESHOLDS, Detector, Reason, score_frame
from fanzha.detect.drift import drift, profile
from fanzha.errors import ModelError, ValidationError
from fanzha.risk.cpus import workers
from fanzha.risk.matrix import ColumnPlan, apply_plan, plan_columns
from fanzha.risk.reasons import ACCOUNT_REASONS, NUMBER_REASONS, Entry, describe


def _labels(y: Any, n: int) -> np.ndarray:
    values = pd.Series(np.asarray(y).ravel())
    if len(values) != n:
        raise ValidationError(f"{len(values)} labels for {n} rows; give one label per row", field="label")
    if values.isna().any():
        raise ValidationError(
            f"{int(values.isna().sum())} label(s) are missing; label every row", field="label"
        )
    numeric = pd.to_numeric(values, errors="coerce")
    if numeric.isna().any() or not set(numeric.unique()) <= {0, 1}:
        bad = values[numeric.isna() | ~numeric.isin([0, 1])].iloc[0]
        raise ValidationError(f"labels must be 0 / 1, got {bad!r}", field="label", value=bad)
    y01 = numeric.to_numpy(dtype=int)
    if y01.min() == y01.max():
        raise ValidationError(f"all {n} labels are {y01[0]}: a detector needs both fraud and normal examples")
    return y01


SCORE_ROW = "score (probability)"  # the drift report's row for the scores' own distribution
TYPICAL_QUANTILES = (0.1, 0.9)  # the usual range of a feature: the middle 80 % of normal records
TYPICAL_MISSING = 0.1  # "no data" is unusual when at most this share of normal records lacks it


def typical_ranges(normal: np.ndarray) -> np.ndarray:
    """Per feature (columns of ``normal``, the label-0 training rows): the 10th and 90th percentile
    of the present values and the share of missing ones, shape (3, features). A feature no normal
    record has gets NaN bounds (every present value is unusual)."""
    missing = np.isnan(normal).mean(axis=0) if len(normal) else np.ones(normal.shape[1])
    bounds = np.full((2, normal.shape[1]), np.nan)
    present = ~np.isnan(normal).all(axis=0) if len(normal) else np.zeros(normal.shape[1], bool)
    if present.any():
        bounds[:, present] = np.nanquantile(normal[:, present], TYPICAL_QUANTILES, axis=0)
    return np.vstack([bounds, missing])


def outside_typical(values: np.ndarray, typical: np.ndarray) -> np.ndarray:
    """Which values lie outside their feature's usual range (:func:`typical_ranges`): below the
    10th or above the 90th percentile of normal records, or missing where normal records rarely are."""
    lo, hi, missing = typical
    nan = np.isnan(values)
    with np.errstate(invalid="ignore"):
        outside = (values < lo) | (values > hi) | np.isnan(lo)
    return np.where(nan, missing <= TYPICAL_MISSING, outside)


def best_f1_threshold(y: np.ndarray, p: np.ndarray) -> float:
    """The probability cut with the best F1 on (y, p), searched over the observed scores."""
    order = np.argsort(-p)
    ys, ps = y[order], p[order]
    tp = np.cumsum(ys)
    fp = np.cumsum(1 - ys)
    f1 = 2 * tp / (tp + fp + ys.sum())
    last_of_tie = np.r_[ps[1:] != ps[:-1], True]  # a cut can only fall between distinct scores
    f1 = np.where(last_of_tie, f1, -1)
    return float(ps[int(np.argmax(f1))])


class GBDTDetector(Detector):
    """LightGBM ensemble + isotonic calibration + contribution reasons, on a ready feature table."""

    name: ClassVar[str] = "gbdt"
    catalogue: ClassVar[dict[str, Entry]] = {}
    # scale-free ratios added when a hand-over table has raw totals only: (name, numerator, denominator)
    ratios: ClassVar[tuple[tuple[str, str, str], ...]] = ()

    def __init__(
        self,
        *,
        id_col: str = "id",
        label_col: str = "label",
        n_estimators: int = 300,
        learning_rate: float = 0.05,
        num_leaves: int = 31,
        n_models: int = 1,
        cv: int = 5,
        max_reasons: int = 3,
        tier_thresholds: dict[str, float] | None = None,
        n_jobs: int = 1,  # more threads oversubscribe shared CPUs: measured 20× slower at 2
        random_state: int = 0,
    ) -> None:
        self.id_col = id_col
        self.label_col = label_col
        self.n_estimators = n_estimators
        self.learning_rate = learning_rate
        self.num_leaves = num_leaves
        self.n_models = n_models
        self.cv = cv
        self.max_reasons = max_reasons
        self.tier_thresholds = tier_thresholds
        self.n_jobs = n_jobs
        self.random_state = random_state

    # -- training ------------------------------------------------------------------------------
    def _booster(self, seed: int) -> Any:
        import lightgbm as lgb

        return lgb.LGBMClassifier(
            n_estimators=self.n_estimators,
            learning_rate=self.learning_rate,
            num_leaves=self.num_leaves,
            min_child_samples=20,
            subsample=0.8,
            subsample_freq=1,
            colsample_bytree=0.7,
            reg_lambda=1.0,
            random_state=seed,
            n_jobs=self.n_jobs,
            verbose=-1,
        )

    def _fit_ensemble(self, X: pd.DataFrame, y: np.ndarray) -> list[Any]:
        return [self._booster(self.random_state + k).fit(X, y) for k in range(self.n_models)]

    @staticmethod
    def _raw(models: list[Any], X: pd.DataFrame) -> np.ndarray:
        # prediction threads do not fight as training's did (n_jobs below): 1.7× on two cores
        return np.mean([m.predict_proba(X, num_threads=workers())[:, 1] for m in models], axis=0)

    def _split(self, X: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
        if self.id_col not in X.columns:
            raise ValidationError(
                f"id column {self.id_col!r} not found; columns are {', '.join(map(str, X.columns[:12]))}",
                field=self.id_col,
            )
        if X.empty:
            raise ValidationError("the table is empty: nothing to train on or score")
        features = X.drop(columns=[c for c in (self.id_col, self.label_col) if c in X.columns])
        return X[self.id_col].astype(str), self._derive(features)

    def _inputs(self) -> dict[str, tuple[str, ...]]:
        """The ratios this model computes itself (name → numerator, denominator)."""
        return {name: (num, den) for name, num, den in self.ratios}

    def _derive(self, features: pd.DataFrame) -> pd.DataFrame:
        extra = {}
        for name, num, den in self.ratios:
            if name not in features.columns and num in features.columns and den in features.columns:
                a = pd.to_numeric(features[num], errors="coerce")
                b = pd.to_numeric(features[den], errors="coerce").replace(0, np.nan)
                extra[name] = a / b
        return features.assign(**extra) if extra else features

    def fit(self, X: pd.DataFrame, y: Any = None, groups: Any = None) -> Self:
        """Fit on feature table ``X`` (labels ``y`` or column ``label_col``); ``groups`` keeps related
        rows (e.g. accounts of one laundering alert) in the same fold of the calibration CV."""
        from sklearn.isotonic import IsotonicRegression
        from sklearn.metrics import average_precision_score, roc_auc_score
        from sklearn.model_selection import GroupKFold, StratifiedKFold

        if y is None:
            if self.label_col not in X.columns:
                raise ValidationError(
                    f"no labels: pass y or a {self.label_col!r} column", field=self.label_col
                )
            y = X[self.label_col]
        _, raw_features = self._split(X)
        y01 = _labels(y, len(X))
        self.plan_: ColumnPlan = plan_columns(raw_features)
        matrix = apply_plan(raw_features, self.plan_)
        folds = min(self.cv, int(np.bincount(y01).min()))
        if folds < 2:
            raise ModelError("too few examples of one class to cross-validate calibration (need ≥ 2 of each)")
        if groups is not None:
            splits = GroupKFold(folds).split(matrix, y01, np.asarray(groups))
        else:
            splits = StratifiedKFold(folds, shuffle=True, random_state=self.random_state).split(matrix, y01)
        oof = np.zeros(len(y01))
        self.models_: list[Any] = []
        for train, test in splits:
            fold_models = self._fit_ensemble(matrix.iloc[train], y01[train])
            oof[test] = self._raw(fold_models, matrix.iloc[test])
            self.models_ += fold_models
        self.calibrator_ = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(oof, y01)
        calibrated = self.calibrator_.predict(oof)
        self.threshold_ = best_f1_threshold(y01, calibrated)
        self.feature_names_ = list(matrix.columns)
        self.typical_ = typical_ranges(matrix.to_numpy(dtype=float)[y01 == 0])
        # for the drift report of the data it will score: the features, and the scores themselves
        # (out of fold, as new data would be scored)
        self.profile_ = profile(matrix.assign(**{SCORE_ROW: calibrated}))
        self._record_fit(
            X,
            y,
            cv_average_precision=float(average_precision_score(y01, oof)),
            cv_roc_auc=float(roc_auc_score(y01, oof)),
            threshold=self.threshold_,
            positives=int(y01.sum()),
            dropped_columns=self.plan_.dropped,
        )
        self.meta_.extra["importance"] = self.importance(20)
        return self

    def importance(self, top: int | None = None) -> dict[str, float]:
        """What the model relies on: each feature's share of the split gain over all trees of the
        ensemble (sums to 1 over all features), largest first; ``top`` keeps the first ones."""
        self.check_fitted()
        gain = np.sum([m.booster_.feature_importance("gain") for m in self.models_], axis=0)
        share = gain / gain.sum() if gain.sum() > 0 else gain
        order = np.argsort(-share, kind="stable")[:top]
        return {self.feature_names_[j]: round(float(share[j]), 4) for j in order}

    # -- scoring -------------------------------------------------------------------------------
    def probabilities(self, matrix: pd.DataFrame) -> np.ndarray:
        return np.asarray(self.calibrator_.predict(self._raw(self.models_, matrix)), dtype=float)

    def score(self, X: pd.DataFrame) -> pd.DataFrame:
        ids, matrix = self._matrix(X)
        p = self.probabilities(matrix)
        reasons = self._reasons(matrix, self._contributions(matrix, p), self._reaches(p))
        return score_frame(ids, p, reasons, self.tier_thresholds, flagged=p >= self.threshold_)

    def probability(self, X: pd.DataFrame) -> np.ndarray:
        """The probabilities of :meth:`score` alone, without reasons (cross-validation reads no more)."""
        return self.probabilities(self._matrix(X)[1])

    def _matrix(self, X: pd.DataFrame) -> tuple[pd.Series, pd.DataFrame]:
        self.check_fitted()
        ids, raw_features = self._split(X)
        return ids, apply_plan(raw_features, self.plan_, self._inputs())[self.feature_names_]

    def _contributions(self, matrix: pd.DataFrame, p: np.ndarray) -> np.ndarray:
        """Per-record feature contributions behind the reasons, the mean over every model of the
        ensemble: TreeSHAP (``pred_contrib``) for the records that reach a tier or the threshold,
        path attributions (:mod:`fanzha.risk.treepaths`) for the others — they add up to the same
        score at about 1/100 of TreeSHAP's cost, and these records' reasons say what lowers a low
        score (before the tenth session: TreeSHAP of the first model; 79,152 AMLSim accounts took
        2.5 min to score, nearly all of it there)."""
        from fanzha.risk.treepaths import flatten, path_contributions

        threads = workers()
        exact = self._reaches(p)
        contrib = np.zeros((len(matrix), len(self.feature_names_)))

        for rows, paths in ((exact, False), (~exact, True)):
            if not rows.any():
                continue
            part = matrix[rows].to_numpy(dtype=np.float64)
            total = np.zeros(part.shape)  # a running sum over the models: one table at a time
            for m in self.models_:
                trees = flatten(m.booster_) if paths else None
                if trees is not None:
                    path_contributions(trees, part, out=total)
                else:
                    total += m.booster_.predict(part, pred_contrib=True, num_threads=threads)[:, :-1]
            contrib[rows] = total / len(self.models_)
        return contrib

    def _reaches(self, p: np.ndarray) -> np.ndarray:
        """Which probabilities reach a tier or the decision threshold: the records the model raises."""
        tiers = self.tier_thresholds or DEFAULT_TIER_THRESHOLDS
        return np.asarray(p >= min(self.threshold_, *tiers.values()), dtype=bool)

    def drift(self, X: pd.DataFrame, probabilities: np.ndarray | None = None) -> pd.DataFrame | None:
        """How far the features of ``X`` — and the scores they get (row ``SCORE_ROW``, against the
        training rows' out-of-fold scores) — are from the training data, per feature (PSI; see
        :mod:`fanzha.detect.drift`); None for an artefact saved before 21 Nov 2026 (no profile).
        ``probabilities``: those :meth:`score` already gave ``X`` (row for row), not computed again."""
        self.check_fitted()
        profiles = getattr(self, "profile_", None)
        if profiles is None:
            return None
        _, raw_features = self._split(X)
        matrix = apply_plan(raw_features, self.plan_, self._inputs())[self.feature_names_]
        p = self.probabilities(matrix) if probabilities is None else np.asarray(probabilities, dtype=float)
        return drift(profiles, matrix.assign(**{SCORE_ROW: p}))

    def _reasons(
        self, matrix: pd.DataFrame, contrib: np.ndarray, reaches: np.ndarray | None = None
    ) -> list[list[Reason]]:
        """The features that pushed each record's score up most, in plain words. A value inside the
        usual range of the normal training records is not cited while others pushed too: "owner
        holds 1 account" may add to a score (it is not "no data"), but it tells an analyst nothing.
        A record whose every push comes from usual values keeps its top pushes. A record that
        reaches neither a tier nor the threshold (``reaches`` False; without ``reaches``: one scored
        below the model's average record, its contributions adding up below 0), or that nothing
        pushes up, cites what pulled it down most, said so — as the text and URL detectors explain
        a score below their cut; with no pull either, ``NO_RISK_SIGNAL``: every score carries its
        reasons."""
        values = matrix.to_numpy(dtype=float)
        typical = getattr(self, "typical_", None)  # artefacts saved before 21 Nov 2026 have none
        unusual = np.ones(values.shape, bool) if typical is None else outside_typical(values, typical)
        pushes = contrib > 0
        # rows with an unusual push cite only those; the others their top pushes
        citable = np.where((pushes & unusual).any(axis=1, keepdims=True), pushes & unusual, pushes)
        # below the average record, or nothing raises these: cite what lowers them
        below = contrib.sum(axis=1) < 0 if reaches is None else ~np.asarray(reaches, dtype=bool)
        lowered = np.asarray(~citable.any(axis=1) | below, dtype=bool)
        citable[lowered] = contrib[lowered] < 0
        strength = np.where(lowered[:, None], -contrib, contrib)
        top = np.argsort(-np.where(citable, strength, -np.inf), axis=1)[:, : self.max_reasons * 2]
        out: list[list[Reason]] = []
        for row, order in enumerate(top):
            reasons: list[Reason] = []
            seen: set[str] = set()
            for j in order:
                if not citable[row, j] or len(reasons) >= self.max_reasons:
                    break
                code, message = self._describe(j, values[row, j])
                if message in seen:
                    continue
                seen.add(message)
                if lowered[row]:
                    message += " — lowers the score"
                value = None if np.isnan(values[row, j]) else round(float(values[row, j]), 4)
                reasons.append(Reason(code, message, value, round(float(contrib[row, j]), 4)))
            if not reasons:
                reasons.append(Reason("NO_RISK_SIGNAL", "no feature raises or lowers the score", None, 0.0))
            out.append(reasons)
        return out

    def _describe(self, j: int, value: float) -> tuple[str, str]:
        """(code, message) of feature ``j``; a category is named by its value, not its code."""
        name = self.feature_names_[j]
        plan = getattr(self, "plan_", None)
        levels = plan.categorical.get(name) if plan is not None else None
        if levels is None or np.isnan(value) or not 0 <= int(value) < len(levels):
            return describe(name, value, self.catalogue)
        return describe(name, None, {})[0], f"{name.replace('_', ' ')} is {levels[int(value)]}"


class NumberDetector(GBDTDetector):
    """Fraud / SIM-farm phone numbers (涉诈号码) from call, SMS and card features."""

    name: ClassVar[str] = "numbers"
    catalogue: ClassVar[dict[str, Entry]] = NUMBER_REASONS
    # operator hand-over layout (Sichuan 诈骗电话识别 columns): totals → per-call / per-day shares
    ratios: ClassVar[tuple[tuple[str, str, str], ...]] = (
        ("unique_per_call", "opposite_unique", "opposite_count"),
        ("out_per_call", "voccalltype1", "opposite_count"),
        ("sms_unique_per_sms", "sms_nunique", "sms_count"),
        ("dur_max_per_mean", "call_dur_max", "call_dur_mean"),
        ("calls_per_day", "opposite_count", "voc_day_nunique"),
        ("sms_per_call", "sms_count", "opposite_count"),
        ("flow_per_arpu", "flow_mean", "arpu_mean"),
        ("imeis_per_unique", "imeis", "opposite_unique"),
        ("hours_per_day", "voc_hour_nunique", "voc_day_nunique"),
        ("counties_per_city", "county_name_call", "city_name_call"),
    )


class AccountDetector(GBDTDetector):
    """Mule accounts (涉诈账户, 跑分) from transfer, withdrawal and graph features."""

    name: ClassVar[str] = "accounts"
    catalogue: ClassVar[dict[str, Entry]] = ACCOUNT_REASONS
