"""The Detector contract for the GBDT detectors: fit / score / save / load, reasons, bad inputs."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from fanzha.detect.contract import SCORE_COLUMNS, Detector
from fanzha.errors import ModelError, ValidationError
from fanzha.risk.model import (
    AccountDetector,
    GBDTDetector,
    NumberDetector,
    best_f1_threshold,
    outside_typical,
    typical_ranges,
)

FAST = {"n_estimators": 40, "learning_rate": 0.2, "num_leaves": 7, "cv": 3}


def feature_table(n: int = 300, seed: int = 0) -> pd.DataFrame:
    """Fraud numbers make many short calls; normal ones few long calls; one text and one id column."""
    rng = np.random.default_rng(seed)
    label = (rng.random(n) < 0.3).astype(int)
    return pd.DataFrame(
        {
            "id": [f"1380000{i:04d}" for i in range(n)],
            "short_call_share": np.clip(0.2 + 0.6 * label + rng.normal(0, 0.1, n), 0, 1),
            "out_calls": rng.poisson(20 + 80 * label),
            "noise": rng.normal(size=n),
            "carrier": rng.choice(["cmcc", "cucc", "ctcc"], n),
            "free_text": [f"note {i}" for i in range(n)],
            "label": label,
        }
    )


@pytest.fixture(scope="module")
def fitted() -> NumberDetector:
    return NumberDetector(**FAST).fit(feature_table())


def test_fit_score_contract(fitted: NumberDetector) -> None:
    scores = fitted.score(feature_table(100, seed=1))
    assert list(scores.columns[:4]) == list(SCORE_COLUMNS)
    assert scores["probability"].between(0, 1).all()
    truth = feature_table(100, seed=1)["label"].to_numpy()
    flagged = scores["flagged"].to_numpy()
    assert (flagged == truth).mean() > 0.9  # the signal is strong: the detector must find it
    assert set(scores["tier"]) <= {"red", "orange", "yellow", "none"}
    assert fitted.plan_.categorical == {"carrier": ["cmcc", "ctcc", "cucc"]}
    assert "free_text" in fitted.plan_.dropped


def test_reasons_are_plain_words(fitted: NumberDetector) -> None:
    scores = fitted.score(feature_table(100, seed=1))
    top = scores.sort_values("probability").iloc[-1]
    assert top["reasons"], "a high score must carry reasons"
    first = top["reasons"][0]
    assert set(first) == {"code", "message", "value", "weight"} and first["weight"] > 0
    codes = {r["code"] for rs in scores["reasons"] for r in rs}
    assert "SHORT_CALLS" in codes
    messages = [r["message"] for rs in scores["reasons"] for r in rs if r["code"] == "SHORT_CALLS"]
    assert any("of calls shorter than 15 s" in m and "%" in m for m in messages)


def test_every_score_carries_reasons_low_ones_say_what_lowers_them(fitted: NumberDetector) -> None:
    """A low score is explained too: by the features that pulled it down, said so (before: no
    reasons at all for 1,645 of 1,705 numbers of a simulated city)."""
    scores = fitted.score(feature_table(100, seed=2))
    assert all(len(rs) > 0 for rs in scores["reasons"])
    low = scores.sort_values("probability").iloc[0]
    assert all(r["message"].endswith("— lowers the score") and r["weight"] < 0 for r in low["reasons"])
    high = scores.sort_values("probability").iloc[-1]
    assert all(r["weight"] > 0 and "lowers" not in r["message"] for r in high["reasons"])


def test_a_score_below_the_cut_never_cites_what_raises_it() -> None:
    """With few positives (5 %, as a city's 79 of 1,757 numbers) a record can score above the
    model's average record and still be calibrated to 0.0; it cited what raised it — 670 of the
    3,293 accounts of the seed-5 city at probability 0.000 read "95 % of money out leaves within a
    day (快进快出)". Below a tier and the threshold a record now says what lowers its score, as
    a text or URL below 0.5 does; one that reaches them what raises it."""
    rng = np.random.default_rng(0)
    table = feature_table(600)
    table["label"] = (rng.random(600) < 0.05).astype(int)
    table["short_call_share"] = np.clip(0.2 + 0.6 * table["label"] + rng.normal(0, 0.1, 600), 0, 1)
    detector = NumberDetector(**FAST).fit(table)
    scores = detector.score(table.drop(columns=["label"]))
    reaches = scores["probability"].to_numpy() >= min(detector.threshold_, 0.5)  # yellow or flagged
    assert reaches.any() and (~reaches).any()
    for up, reasons in zip(reaches, scores["reasons"], strict=True):
        assert reasons
        if up:
            assert all(r["weight"] > 0 and "lowers" not in r["message"] for r in reasons)
        else:
            assert all(r["weight"] <= 0 for r in reasons)
            assert all(r["message"].endswith("— lowers the score") for r in reasons if r["weight"] < 0)


def test_reasons_name_categories_and_chinese_columns() -> None:
    """A category is cited by its value (before: its integer code, "运营商 = 2.00"); columns named in
    Chinese keep distinct codes (before: every one was "FEATURE_")."""
    table = feature_table(200).rename(columns={"out_calls": "通话次数"})
    detector = NumberDetector(**FAST).fit(table)
    names = detector.feature_names_
    assert detector._describe(names.index("carrier"), 1.0) == ("FEATURE_CARRIER", "carrier is ctcc")
    assert detector._describe(names.index("通话次数"), 85.0)[0] == "FEATURE_通话次数"
    assert all(r["code"] != "FEATURE_" for rs in detector.score(table)["reasons"] for r in rs)


def test_reasons_use_the_whole_ensemble_where_a_tier_or_the_threshold_is_reached(
    fitted: NumberDetector,
) -> None:
    from fanzha.risk.matrix import apply_plan
    from fanzha.risk.treepaths import flatten, path_contributions

    data = feature_table(200, seed=3)
    matrix = apply_plan(fitted._split(data)[1], fitted.plan_)[fitted.feature_names_]
    p = fitted.probabilities(matrix)
    contrib = fitted._contributions(matrix, p)
    every = np.mean([m.booster_.predict(matrix, pred_contrib=True)[:, :-1] for m in fitted.models_], axis=0)
    first = fitted.models_[0].booster_.predict(matrix, pred_contrib=True)[:, :-1]
    risky = p >= min(fitted.threshold_, 0.5)
    assert risky.any() and (~risky).any() and len(fitted.models_) == 3
    np.testing.assert_allclose(contrib[risky], every[risky])
    # the others: path attributions, over every model too (before: TreeSHAP of the first model)
    rest = matrix[~risky].to_numpy(dtype=float)
    paths = np.mean([path_contributions(flatten(m.booster_), rest) for m in fitted.models_], axis=0)
    np.testing.assert_allclose(contrib[~risky], paths)
    np.testing.assert_allclose(contrib[~risky].sum(axis=1), every[~risky].sum(axis=1))  # the same total
    assert not np.allclose(contrib[~risky], first[~risky])  # the two really differ: the test can fail


def test_typical_ranges_and_outside() -> None:
    nan = np.nan
    normal = np.array([[v, 1.0 if v < 9 else nan, nan] for v in range(10)], dtype=float)
    lo, hi, missing = typical_ranges(normal)
    assert lo[0] == pytest.approx(0.9) and hi[0] == pytest.approx(8.1)  # 10th / 90th percentile of 0..9
    assert (lo[1], hi[1]) == (1.0, 1.0) and missing.tolist() == [0.0, 0.1, 1.0]
    assert np.isnan(lo[2]) and np.isnan(hi[2])  # no normal record has it: any value is unusual
    values = np.array([[0.5, 1.0, 3.0], [5.0, 2.0, nan], [9.0, nan, nan]])
    assert outside_typical(values, typical_ranges(normal)).tolist() == [
        [True, False, True],
        [False, True, False],  # "no data" where every normal record lacks it is not unusual
        [True, True, False],  # missing for 10 % of normal records: rare enough to say
    ]


def test_reasons_skip_usual_values_while_unusual_ones_pushed() -> None:
    detector = NumberDetector(max_reasons=2)
    detector.feature_names_ = ["short_call_share", "out_calls", "noise"]
    # normal records: short-call share 0.1–0.3, 10–30 outgoing calls, noise −1…1
    detector.typical_ = np.array([[0.1, 10.0, -1.0], [0.3, 30.0, 1.0], [0.0, 0.0, 0.0]])
    matrix = pd.DataFrame({"short_call_share": [0.9, 0.2], "out_calls": [20.0, 25.0], "noise": [0.0, 0.5]})
    contrib = np.array([[0.5, 0.9, 0.1], [0.2, 0.4, 0.3]])  # the usual call count pushes most
    first, second = detector._reasons(matrix, contrib)
    assert [r.code for r in first] == ["SHORT_CALLS"]  # not "20 calls", not the noise
    assert first[0].weight == 0.5 and first[0].value == 0.9
    assert [r.code for r in second] == ["CALL_VOLUME", "FEATURE_NOISE"]  # nothing unusual: the top pushes
    del detector.typical_  # an artefact saved before the usual ranges: every push may be cited
    assert [r.code for r in detector._reasons(matrix, contrib)[0]] == ["CALL_VOLUME", "SHORT_CALLS"]


def test_save_load_round_trip(fitted: NumberDetector, tmp_path) -> None:  # type: ignore[no-untyped-def]
    folder = fitted.save(tmp_path / "model")
    meta = json.loads((folder / "meta.json").read_text("utf-8"))
    importance = meta["extra"]["importance"]  # the signal is in the short-call share and the call count
    assert list(importance)[:2] in (["short_call_share", "out_calls"], ["out_calls", "short_call_share"])
    assert sum(fitted.importance().values()) == pytest.approx(1.0, abs=1e-3)
    assert list(importance.values()) == sorted(importance.values(), reverse=True)
    assert meta["name"] == "numbers" and meta["data_fingerprint"].startswith("sha256:")
    assert meta["metrics"]["cv_roc_auc"] > 0.9 and "lightgbm" in meta["libraries"]
    loaded = Detector.load(folder)
    assert isinstance(loaded, NumberDetector)
    data = feature_table(50, seed=2)
    pd.testing.assert_frame_equal(loaded.score(data), fitted.score(data))
    with pytest.raises(ModelError, match="not of `fanzha train accounts`"):
        AccountDetector.load(folder)


def test_an_artefact_edited_or_swapped_by_hand_is_refused(fitted: NumberDetector, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """meta.json is what a risk engineer reads (data fingerprint, metrics, versions): it must describe
    the model that scores. Before, a model.pkl put beside another model's meta.json, or a meta.json
    edited by hand, loaded and scored in silence."""
    other = AccountDetector(**FAST).fit(feature_table(120, seed=5))
    a, b = fitted.save(tmp_path / "a"), other.save(tmp_path / "b")
    assert json.loads((a / "meta.json").read_text("utf-8"))["model_sha256"].startswith("sha256:")
    swapped = tmp_path / "swapped"
    swapped.mkdir()
    (swapped / "meta.json").write_bytes((a / "meta.json").read_bytes())
    (swapped / "model.pkl").write_bytes((b / "model.pkl").read_bytes())
    with pytest.raises(ModelError, match="SHA-256 differs"):
        Detector.load(swapped)
    # an artefact saved before the hash (no model_sha256): meta.json is compared with the model
    for meta, field in (
        ({**json.loads((b / "meta.json").read_text("utf-8"))}, "data_fingerprint"),
        ({**json.loads((a / "meta.json").read_text("utf-8")), "n_rows": 99999}, "n_rows"),
    ):
        meta.pop("model_sha256")
        (swapped / "meta.json").write_text(json.dumps(meta), "utf-8")
        (swapped / "model.pkl").write_bytes((a / "model.pkl").read_bytes())
        with pytest.raises(ModelError, match=f"does not describe its model.pkl .*{field}"):
            Detector.load(swapped)
    meta = json.loads((a / "meta.json").read_text("utf-8"))
    meta.pop("model_sha256")
    (swapped / "meta.json").write_text(json.dumps(meta), "utf-8")
    assert isinstance(Detector.load(swapped), NumberDetector)  # as saved before the hash: still loads


def test_groups_keep_related_rows_together() -> None:
    table = feature_table(200)
    groups = np.arange(200) // 4
    detector = AccountDetector(**FAST).fit(table, groups=groups)
    assert 0 <= detector.threshold_ <= 1 and len(detector.models_) == 3


def test_bad_inputs_are_clear_errors(fitted: NumberDetector) -> None:
    table = feature_table(60)
    with pytest.raises(ValidationError, match="id column 'phone'"):
        NumberDetector(id_col="phone", **FAST).fit(table)
    with pytest.raises(ValidationError, match="empty"):
        NumberDetector(**FAST).fit(table.iloc[:0])
    with pytest.raises(ValidationError, match="0 / 1"):
        NumberDetector(**FAST).fit(table.assign(label=table["label"].replace(1, "fraud")))
    with pytest.raises(ValidationError, match="both fraud and normal"):
        NumberDetector(**FAST).fit(table.assign(label=0))
    broken = table.assign(out_calls=table["out_calls"].astype(str))
    broken.loc[5, "out_calls"] = "many"
    with pytest.raises(
        ValidationError, match=r"'out_calls' holds 1 non-numeric value\(s\), e.g. 'many' in data row 6"
    ):
        NumberDetector(**FAST).fit(broken)
    # the placeholders exports write for a missing value are missing values, not stray text: a
    # column with 10 % "N/A" stays a feature (before: dropped as text, with nothing printed)
    placeholders = table.assign(out_calls=table["out_calls"].astype(str))
    placeholders.loc[placeholders.index[:6], "out_calls"] = ["N/A", "null", "-", "NaN", "", "缺失"]
    kept = NumberDetector(**FAST).fit(placeholders)
    assert "out_calls" in kept.plan_.numeric and "out_calls" not in kept.plan_.dropped
    with pytest.raises(ValidationError, match="lacks 1 feature column"):
        fitted.score(table.drop(columns=["noise"]))
    with pytest.raises(ModelError, match="not fitted"):
        NumberDetector().score(table)


def test_text_numbers_and_unknown_categories_are_handled(fitted: NumberDetector) -> None:
    data = feature_table(30, seed=3)
    data["out_calls"] = data["out_calls"].astype(str)
    data.loc[0, "carrier"] = "unknown-carrier"
    data.loc[1, "noise"] = np.nan
    scores = fitted.score(data)
    assert len(scores) == 30 and scores["probability"].notna().all()


def test_best_f1_threshold() -> None:
    y = np.array([0, 0, 1, 1, 0, 1])
    p = np.array([0.1, 0.2, 0.8, 0.9, 0.3, 0.7])
    assert best_f1_threshold(y, p) == pytest.approx(0.7)
    assert issubclass(NumberDetector, GBDTDetector)


def test_a_missing_column_is_named_not_the_ratio_the_model_computes_from_it() -> None:
    """Found by QA: without arpu_mean the error asked for flow_per_arpu too, a ratio the number
    model computes itself from flow_mean / arpu_mean; the partner can only hand over arpu_mean."""
    table = feature_table().assign(flow_mean=lambda t: t.out_calls * 3.0, arpu_mean=lambda t: t.noise + 50)
    detector = NumberDetector(**FAST).fit(table)
    assert "flow_per_arpu" in detector.feature_names_
    with pytest.raises(
        ValidationError, match=r"lacks 1 feature column\(s\) the model was trained on: arpu_mean;"
    ):
        detector.score(table.drop(columns=["arpu_mean", "label"]))
