"""Each normalisation on small hand-made examples."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from fanzha.texts.normalise import (
    CARD_TOKEN,
    MONEY_TOKEN,
    NUMBER_TOKEN,
    PHONE_TOKEN,
    URL_TOKEN,
    normalise,
    normalise_text,
    readable,
)


def test_traditional_to_simplified() -> None:
    assert normalise_text("您的銀行卡涉嫌洗錢，請轉賬到安全帳戶") == "您的银行卡涉嫌洗钱,请转账到安全帐户"


def test_full_width_to_half_width_and_lower_case() -> None:
    assert normalise_text("ＶＩＰ会员　ＡＢＣ") == "vip会员 abc"


def test_separators_inside_keywords_removed() -> None:
    assert normalise_text("刷 单 返*利，日-结") == "刷单返利,日结"


def test_lookalike_phrases() -> None:
    assert normalise_text("加威信领取") == "加微信领取"
    assert normalise_text("加 v 信") == "加微信"
    assert normalise_text("菠菜平台") == "博彩平台"


def test_pinyin_and_initials_mapped_to_keywords() -> None:
    assert normalise_text("shua dan fan li") == "刷单返利"
    assert normalise_text("daikuan") == "贷款"
    assert normalise_text("发我yzm") == "发我验证码"


def test_cyrillic_lookalikes_in_latin_words() -> None:
    assert normalise("登录 аlipay.com").urls == ("alipay.com",)


def test_urls_and_numbers_become_typed_tokens() -> None:
    n = normalise(
        "点击 https://u.ab.cn/x9 联系13812345678 卡号6222021234567890123 转500元 验证码4821 致电95588"
    )
    assert n.urls == ("https://u.ab.cn/x9",)
    assert n.phones == ("13812345678",)
    assert URL_TOKEN in n.text and PHONE_TOKEN in n.text and CARD_TOKEN in n.text
    assert f"{MONEY_TOKEN}元" in n.text and f"验证码{NUMBER_TOKEN}" in n.text
    assert "95588" in n.text  # service numbers carry meaning and stay


def test_very_long_text_keeps_head_and_tail() -> None:
    text = "开头" + "中" * 50_000 + "结尾"
    out = normalise_text(text, max_chars=1000)
    assert len(out) <= 1003
    assert out.startswith("开头") and out.endswith("结尾")


def test_readable_spells_out_tokens() -> None:
    assert readable(f"点击{URL_TOKEN}") == "点击<网址URL>"


def test_non_text_inputs_do_not_crash() -> None:
    assert normalise(None).text == ""
    assert normalise(123).text == NUMBER_TOKEN


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=200))
def test_normalise_is_bounded_and_canonical(text: str) -> None:
    once = normalise_text(text, max_chars=150)
    assert len(once) <= 153
    assert not any(0xFF01 <= ord(c) <= 0xFF5E for c in once)  # no full-width ASCII left
    assert once == once.strip() and "  " not in once
