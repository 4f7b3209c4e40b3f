"""The compiled stratified group folds are scikit-learn's StratifiedGroupKFold, index for index."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.model_selection import StratifiedGroupKFold

from fanzha.detect.folds import stratified_group_folds


def _same_as_sklearn(y: np.ndarray, groups: np.ndarray, n_splits: int, seed: int) -> None:
    want = list(StratifiedGroupKFold(n_splits, shuffle=True, random_state=seed).split(y, y, groups))
    got = list(stratified_group_folds(y, groups, n_splits, seed))
    assert len(got) == len(want) == n_splits
    for (train, test), (want_train, want_test) in zip(got, want, strict=True):
        np.testing.assert_array_equal(test, want_test)
        np.testing.assert_array_equal(train, want_train)


@settings(max_examples=150, deadline=None)
@given(
    n=st.integers(50, 400),
    classes=st.integers(2, 7),
    group_share=st.floats(0.05, 1.0),
    n_splits=st.integers(2, 6),
    seed=st.integers(0, 2**31 - 1),
    skew=st.floats(0.02, 0.5),
)
def test_same_folds_as_sklearn(n, classes, group_share, n_splits, seed, skew):
    rng = np.random.default_rng(seed)
    # an uneven class mix (a rare positive class, as in fraud labels) and groups of every size
    p = np.r_[1.0, np.full(classes - 1, skew)]
    y = rng.choice(classes, size=n, p=p / p.sum())
    y[: classes * n_splits] = np.tile(np.arange(classes), n_splits)  # every class in every fold
    groups = rng.integers(0, max(n_splits, int(n * group_share)), size=n)
    groups[:n_splits] = np.arange(n_splits)  # at least n_splits groups
    _same_as_sklearn(y, groups, n_splits, seed % 1000)


def test_singleton_groups_at_scale_and_string_labels():
    rng = np.random.default_rng(3)
    n = 20_000
    y = (rng.random(n) < 0.01).astype(int)
    groups = np.arange(n)
    groups[:600] = rng.integers(0, 80, 600)  # a few alerts holding several accounts
    _same_as_sklearn(y, groups, 5, 0)
    words = np.array(["fraud", "normal", "unsure"])[rng.integers(0, 3, 3000)]
    _same_as_sklearn(words, np.array([f"c{i // 4}" for i in range(3000)]), 5, 7)


def test_eight_classes_fall_back_to_sklearn():
    rng = np.random.default_rng(5)
    y = np.tile(np.arange(8), 40)
    _same_as_sklearn(y, rng.integers(0, 60, y.size), 4, 1)


def test_too_many_folds_are_refused():
    y = np.array([0, 1] * 6)
    with pytest.raises(ValueError, match="5 folds need at least 5 groups"):
        list(stratified_group_folds(y, np.arange(12) % 2, 5, 0))
    with pytest.raises(ValueError, match="7 folds need a class with at least 7 rows"):
        list(stratified_group_folds(y, np.arange(12), 7, 0))
