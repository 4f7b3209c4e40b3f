"""Path attributions (Saabas) of LightGBM trees: routed as LightGBM routes, adding up to the score."""

from __future__ import annotations

import lightgbm as lgb
import numpy as np
import pytest

from fanzha.risk.treepaths import flatten, path_contributions


def _data(n: int = 3_000, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 5))
    x[rng.random(x.shape) < 0.1] = np.nan  # missing values, routed by each split's default way
    x[rng.random(x.shape) < 0.1] = 0.0
    y = (np.nan_to_num(x[:, 0]) + np.nan_to_num(x[:, 1]) * np.isnan(x[:, 2]) + rng.normal(0, 0.5, n)) > 0.3
    return x, y.astype(int)


@pytest.mark.parametrize("zero_as_missing", [False, True])
def test_paths_add_up_to_the_raw_score_missing_and_zero_values_included(zero_as_missing: bool) -> None:
    x, y = _data()
    params = {"n_estimators": 60, "num_leaves": 15, "zero_as_missing": zero_as_missing, "verbose": -1}
    booster = lgb.LGBMClassifier(**params).fit(x, y).booster_
    trees = flatten(booster)
    assert trees is not None
    kinds = set(trees.missing[trees.feature >= 0].tolist())
    assert (1 in kinds) if zero_as_missing else (2 in kinds)  # the Zero / NaN missing types occur
    test, _ = _data(500, seed=1)
    contrib = path_contributions(trees, test)
    raw = booster.predict(test, raw_score=True)
    np.testing.assert_allclose(contrib.sum(axis=1) + trees.expected, raw, atol=1e-9)
    # the expected output is TreeSHAP's too
    assert trees.expected == pytest.approx(booster.predict(test[:1], pred_contrib=True)[0, -1])
    assert flatten(booster) is trees  # flattened once per booster
    total = np.zeros(test.shape)  # added into a running sum: an ensemble's without a table per model
    path_contributions(trees, test, out=total)
    path_contributions(trees, test, out=total)
    np.testing.assert_allclose(total, 2 * contrib)
    with pytest.raises(ValueError, match="C-contiguous float64"):
        path_contributions(trees, test, out=np.zeros((2, 5)))


def test_on_stumps_path_attributions_are_treeshap() -> None:
    """A tree of one split credits its feature alone: both methods give the same numbers."""
    x, y = _data()
    booster = lgb.LGBMClassifier(n_estimators=40, num_leaves=2, verbose=-1).fit(x, y).booster_
    test, _ = _data(300, seed=2)
    shap = booster.predict(test, pred_contrib=True)[:, :-1]
    np.testing.assert_allclose(path_contributions(flatten(booster), test), shap, atol=1e-9)


def test_categorical_splits_are_left_to_treeshap() -> None:
    rng = np.random.default_rng(0)
    x = np.c_[rng.integers(0, 6, 2_000), rng.normal(size=2_000)]
    y = (x[:, 0] % 2 == 0).astype(int)
    booster = lgb.LGBMClassifier(n_estimators=5, verbose=-1).fit(x, y, categorical_feature=[0]).booster_
    assert flatten(booster) is None


def test_a_random_forest_is_left_to_treeshap() -> None:
    x, y = _data(1_000)
    params = {
        "boosting_type": "rf",
        "n_estimators": 5,
        "bagging_freq": 1,
        "bagging_fraction": 0.8,
        "verbose": -1,
    }
    booster = lgb.LGBMClassifier(**params).fit(x, y).booster_
    assert flatten(booster) is None  # its trees are averaged, not added
