"""A tiny labelled corpus shared by the text tests (hand-made, a few seconds to train on)."""

from __future__ import annotations

import pytest

from fanzha.texts.detector import TextDetector

FRAUD_BRUSH = [
    "兼职刷单日结三百，加微信领任务",
    "刷单返利佣金秒到，宝妈学生都能做",
    "点赞关注就能赚佣金，刷单返利日结",
]
FRAUD_POLICE = ["这里是公安局，你的银行卡涉嫌洗钱，请把钱转到安全账户", "你涉嫌洗钱案件，配合调查把资金转入安全账户",
                "公安局通知：你的身份证涉嫌犯罪，需要资金清查"]  # fmt: skip
NORMAL = ["妈妈今晚回家吃饭吗", "明天上午九点开周会", "快递到驿站了记得去取", "周末一起去爬山吧", "报表周五前交给财务",
          "生日快乐，礼物已经寄出"]  # fmt: skip


def _corpus() -> tuple[list[str], list[str]]:
    texts = (FRAUD_BRUSH + FRAUD_POLICE + NORMAL) * 4
    labels = (["brushing_rebate"] * 3 + ["impersonate_officials"] * 3 + ["normal"] * 6) * 4
    return texts, labels


@pytest.fixture(scope="module")
def tiny_detector() -> TextDetector:
    texts, labels = _corpus()
    return TextDetector(type_solver="lr", min_df=1).fit(texts, labels)


@pytest.fixture
def tiny_corpus() -> tuple[list[str], list[str]]:
    return _corpus()
