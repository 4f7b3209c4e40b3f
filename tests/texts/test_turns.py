"""Turn-structure features of conversation windows and the detector's ``turn_weight`` option."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from fanzha.detect.contract import Detector
from fanzha.texts.detector import TextDetector
from fanzha.texts.turns import FEATURE_NAMES, TurnFeatures, parse_turns, turn_features


def test_parse_turns_speakers_colons_and_blank_lines() -> None:
    window = "张伟: 你好\n\n李娜：在吗？\n没有说话人的一行\n客服人员李强: 链接: http://a.cn"
    assert parse_turns(window) == [
        ("张伟", "你好"),
        ("李娜", "在吗？"),
        ("", "没有说话人的一行"),
        ("客服人员李强", "链接: http://a.cn"),  # only the first colon separates the speaker
    ]
    assert parse_turns("") == [] and parse_turns("\n \n") == []


def test_turn_features_known_answers() -> None:
    window = "骗子: 请把钱转账到这个账户！\n小王: 好的？\n骗子: 下载APP，充值五万"
    f = dict(zip(FEATURE_NAMES, turn_features(window), strict=True))
    assert f["log_turns"] == pytest.approx(math.log1p(3))
    chars = len("请把钱转账到这个账户！") + len("好的？") + len("下载APP，充值五万")
    assert f["log_chars"] == pytest.approx(math.log1p(chars))
    assert f["speakers"] == 2
    assert f["top_speaker_share"] == pytest.approx((chars - 3) / chars)
    # 钱 转账 账户 | 下载 APP 充值 万 — longest cue first, so 转账 is not counted as 转 too
    assert f["log_act_cues"] == pytest.approx(math.log1p(7))
    assert f["log_act_cues_last_turn"] == pytest.approx(math.log1p(4))
    assert f["questions_per_turn"] == pytest.approx(1 / 3)
    assert f["exclamations_per_turn"] == pytest.approx(1 / 3)
    assert turn_features("") == [0.0] * len(FEATURE_NAMES)


def test_turn_features_standardised_on_training_texts() -> None:
    texts = ["a: 你好", "a: 你好\nb: 转账", "a: 你好\nb: 转账\na: 充值一万元"] * 3
    t = TurnFeatures(weight=0.5).fit(texts)
    x = t.transform(texts)
    assert x.shape == (9, len(FEATURE_NAMES))
    np.testing.assert_allclose(x.mean(axis=0), 0.0, atol=1e-12)
    varying = x.std(axis=0) > 0
    np.testing.assert_allclose(x.std(axis=0)[varying], 0.5)  # weight × unit spread
    exclaim = FEATURE_NAMES.index("exclamations_per_turn")
    assert not varying[exclaim] and (x[:, exclaim] == 0).all()  # constant: 0, no division by zero
    assert np.isfinite(t.transform(["", "z: 完全不同的一句话"])).all()


def _length_task() -> tuple[list[str], list[int]]:
    """Long windows are fraud, one-turn windows are not (the words alone say little)."""
    long = "\n".join(["甲: 我们聊聊", "乙: 我们聊聊"] * 3)
    short = "甲: 我们聊聊"
    return [long, short] * 10, [1, 0] * 10


def test_turn_columns_reach_the_fraud_head() -> None:
    from fanzha.texts.normalise import normalise_many

    texts, labels = _length_task()
    assert TextDetector(min_df=1).fit(texts, labels).turns_ is None  # off by default
    det = TextDetector(min_df=1, turn_weight=0.1).fit(texts, labels)
    assert det.turns_ is not None and det.meta_.metrics["turn_features"] is True
    head, n = det.fraud_head_, det.vectoriser_.n_features
    assert head is not None and head.coef_.shape[1] == n + len(FEATURE_NAMES)
    assert np.abs(head.coef_[0, n:]).max() > 0
    # the probability is the logistic of n-gram part + turn part, computed here independently
    matrix = det.vectoriser_.transform([normalise_many(texts)])
    decision = (
        matrix @ head.coef_[0, :n] + head.intercept_[0] + det.turns_.transform(texts) @ head.coef_[0, n:]
    )
    expected = 1.0 / (1.0 + np.exp(-decision))
    np.testing.assert_allclose(det.score(texts, explain=False)["probability"], expected, rtol=1e-9)
    without_turns = 1.0 / (1.0 + np.exp(-(matrix @ head.coef_[0, :n] + head.intercept_[0])))
    assert np.abs(expected - without_turns).max() > 1e-3


def test_one_text_and_batch_paths_agree_with_turns(tmp_path: Path) -> None:
    texts, labels = _length_task()
    texts = texts + ["甲: 请转账到安全账户\n乙: 好的", "甲: 明天开会\n乙: 好的"] * 5
    labels = labels + [1, 0] * 5
    det = TextDetector(min_df=1, turn_weight=0.1).fit(texts, labels)
    batch = det.score(texts[:4] + texts[-2:])
    for i, text in enumerate(texts[:4] + texts[-2:]):
        one = det.score_text(text)
        assert one.probability == pytest.approx(batch["probability"][i], abs=1e-12)
        codes = [r["code"] for r in batch["reasons"][i]]
        assert codes == [r.code for r in one.reasons]
    long_reasons = det.score_text(texts[0]).reasons
    structure = [r for r in long_reasons if r.code == "turn_structure"]
    assert structure and structure[0].weight > 0  # the turns pushed the long window towards fraud
    short_reasons = det.score_text(texts[1]).reasons
    assert next(r for r in short_reasons if r.code == "turn_structure").weight < 0

    loaded = Detector.load(det.save(tmp_path / "m"))
    assert isinstance(loaded, TextDetector)
    np.testing.assert_allclose(
        loaded.score(texts, explain=False)["probability"], det.score(texts, explain=False)["probability"]
    )


def test_model_saved_before_turn_features_still_scores(tiny_detector: TextDetector) -> None:
    old = TextDetector(type_solver="lr", min_df=1)
    old.__dict__.update({k: v for k, v in tiny_detector.__dict__.items() if k != "turns_"})
    assert "turns_" not in old.__dict__
    texts = ["兼职刷单日结三百", "明天上午九点开周会"]
    np.testing.assert_allclose(
        old.score(texts, explain=False)["probability"],
        tiny_detector.score(texts, explain=False)["probability"],
    )
    assert old.score_text(texts[0]).probability == pytest.approx(
        tiny_detector.score_text(texts[0]).probability
    )
