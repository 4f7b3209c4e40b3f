"""Turn-structure features of conversation windows (对话结构特征): ``speaker: words`` lines.

A bag of character n-grams, L2-normalised, does not see how long a window is, how many turns it
has, or who says the money words. On the dialogue windows those facts carry signal the n-grams miss
(a window that already shows the fraud act is usually longer than an opening exchange). With
``TextDetector(turn_weight=w)`` the fraud head gets eight standardised numbers per text next to its
n-grams, times ``w``:

``log(1 + turns)``, ``log(1 + characters)``, speakers, the share of the characters said by the
speaker who talks most, ``log(1 + economic-act cues)`` in the window and in its last turn, and the
question / exclamation marks per turn. The economic-act cues are a short hand-written list of
words for money moving or being asked for (转账, 充值, 保证金, 验证码, 下载 …), written from the
fraud typologies, not from any evaluation labels.

Measured (docs/texts.md): +0.010 accuracy on the eval0902 windows (conversation-grouped 5-fold CV),
but ±0.003 on eval0819 and −0.015 when trained on eval0902 and tested on eval0819 — the length
signal is largely a property of how eval0902's windows were cut. So the option is **off** by
default and in the shipped dialogue configuration; ``fanzha eval texts --parts dialogues_turns``
re-measures it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

import numpy as np

FEATURE_NAMES = (
    "log_turns",
    "log_chars",
    "speakers",
    "top_speaker_share",
    "log_act_cues",
    "log_act_cues_last_turn",
    "questions_per_turn",
    "exclamations_per_turn",
)

ACT_CUES = (
    "转账", "汇款", "打款", "付款", "支付", "充值", "押金", "保证金", "手续费", "定金", "费用", "缴纳",
    "交纳", "垫付", "解冻", "激活", "认证费", "会费", "链接", "下载", "APP", "app", "二维码", "扫码",
    "银行卡", "卡号", "账户", "账号", "验证码", "密码", "身份证", "提现", "投资", "收益", "返利", "佣金",
    "刷单", "贷款", "额度", "利息", "入金", "USDT", "比特币", "钱包", "红包", "平台", "转", "元", "万", "钱",
)  # fmt: skip

#: the weight measured on the dialogue windows (docs/texts.md); the columns are standardised first
DIALOGUE_TURN_WEIGHT = 0.1

_SPEAKER = re.compile(r"^\s*([^:：\n]{1,24})[:：]\s?(.*)$")
_CUES = re.compile("|".join(sorted(map(re.escape, ACT_CUES), key=len, reverse=True)))


def parse_turns(window: str) -> list[tuple[str, str]]:
    """``(speaker, words)`` of every non-empty line; a line without ``speaker:`` has speaker ``""``."""
    out = []
    for line in window.split("\n"):
        if not line.strip():
            continue
        match = _SPEAKER.match(line)
        out.append((match.group(1).strip(), match.group(2).strip()) if match else ("", line.strip()))
    return out


def _cues(text: str) -> int:
    """Occurrences of economic-act cues (longest first, non-overlapping: 转账 counts once, not as 转 too)."""
    return len(_CUES.findall(text))


def turn_features(window: str) -> list[float]:
    """The eight numbers of :data:`FEATURE_NAMES` for one window (zeros for an empty one)."""
    turns = parse_turns(window)
    if not turns:
        return [0.0] * len(FEATURE_NAMES)
    n = len(turns)
    said: dict[str, int] = {}
    for speaker, words in turns:
        said[speaker] = said.get(speaker, 0) + len(words)
    chars = sum(said.values())
    text = "\n".join(words for _, words in turns)
    return [
        math.log1p(n),
        math.log1p(chars),
        float(len(said)),
        max(said.values()) / chars if chars else 0.0,
        math.log1p(_cues(text)),
        math.log1p(_cues(turns[-1][1])),
        (text.count("？") + text.count("?")) / n,
        (text.count("！") + text.count("!")) / n,
    ]


class TurnFeatures:
    """Turn features standardised with the training texts' mean and spread, times ``weight``."""

    def __init__(self, weight: float = DIALOGUE_TURN_WEIGHT) -> None:
        self.weight = weight

    def fit(self, texts: Sequence[str]) -> TurnFeatures:
        raw = self._raw(texts)
        self.mean_ = raw.mean(axis=0)
        spread = raw.std(axis=0)
        self.scale_ = np.where(spread > 0, spread, 1.0)
        return self

    @staticmethod
    def _raw(texts: Sequence[str]) -> np.ndarray:
        return np.array([turn_features(t) for t in texts], dtype=np.float64).reshape(-1, len(FEATURE_NAMES))

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        return self.weight * (self._raw(texts) - self.mean_) / self.scale_
