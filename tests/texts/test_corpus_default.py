"""The self-written corpus, the default models and their cache, the taxonomy label map."""

from __future__ import annotations

import pytest

from fanzha import taxonomy
from fanzha.settings import Settings
from fanzha.texts.corpus import generate_corpus


def test_corpus_covers_every_type_and_is_reproducible() -> None:
    a = generate_corpus(seed=1, per_type=40, normal=200)
    b = generate_corpus(seed=1, per_type=40, normal=200)
    assert a.equals(b)
    assert set(taxonomy.fraud_types()) <= set(a["label"])
    assert (a["label"] == "normal").sum() > 150
    assert not a["text"].str.contains(r"\{\w+\}", regex=True).any()  # every placeholder filled
    assert set(a["form"]) >= {"sms", "narrative", "dialogue"}


def test_label_map_covers_the_shared_labels() -> None:
    labels = taxonomy.dataset_labels()
    codes = set(taxonomy.fraud_types()) | {"normal"}
    for mapping in labels.values():
        assert set(mapping.values()) <= codes
    assert taxonomy.label_to_code("fraud-sms-5", "冒充公检法及政府机关类") == "impersonate_officials"
    with pytest.raises(taxonomy.NotFoundError):
        taxonomy.label_to_code("fraud-news", "nonexistent")
    assert taxonomy.by_chinese_name("杀猪盘").code == taxonomy.by_chinese_name("网络婚恋交友(杀猪盘)").code
    for blank in ("", " "):  # the empty piece after "(杀猪盘)" names no type
        with pytest.raises(taxonomy.NotFoundError):
            taxonomy.by_chinese_name(blank)


@pytest.mark.slow
def test_default_models_train_once_and_are_cached(settings: Settings) -> None:
    from fanzha.texts import default_text_detector, default_url_detector
    from fanzha.texts.default import default_text_path

    model = default_text_detector(settings)
    assert (default_text_path(settings) / "model.pkl").exists()
    assert default_text_detector(settings) is model
    scam = model.score_text("您好，这里是上海市公安局，您的银行卡涉嫌洗钱，请把资金转入安全账户配合调查")
    assert scam.probability > 0.5 and scam.fraud_type == "impersonate_officials"
    assert model.score_text("妈，我今天加班晚点回家").probability < 0.5
    assert default_url_detector(settings).score_url("icbc-vip.top").probability > 0.9


def test_url_corpus_has_idns_on_both_sides_and_is_reproducible() -> None:
    from fanzha.texts.urlcorpus import generate_url_corpus
    from fanzha.texts.urllex import parse_url

    a = generate_url_corpus(seed=3, n=400)
    assert a.equals(generate_url_corpus(seed=3, n=400))
    idn = a[[parse_url(u).host.count("xn--") > 0 for u in a["url"]]]
    assert set(idn["label"]) == {0, 1}
    assert idn["url"].str.contains("政务").any()
    assert idn["url"].str.contains("[аеорсухіјӏԁѕ]", regex=True).any()  # Cyrillic look-alikes


@pytest.mark.slow
def test_default_url_model_reads_idns(settings: Settings) -> None:
    from fanzha.texts import default_url_detector

    model = default_url_detector(settings)
    for url in (
        "http://中国银行.中国",
        "https://www.中国政府网.政务",
        "http://北京市人民政府.政务",
        "http://淘宝.com",
    ):
        assert model.score_url(url).tier != "red", url
    apple = model.score_url("http://аррӏе.com")
    assert apple.tier == "red" and apple.brand == "apple"
    assert "brand_lookalike" in [r.code for r in apple.reasons]
    # one host, one score: the Unicode and the punycode spelling
    for unicode, puny in (("http://аррӏе.com/login", "http://xn--80ak6aa92e.com/login"),
                          ("http://中国银行.中国/", "http://xn--fiqs8s856bruk.xn--fiqs8s/")):  # fmt: skip
        assert model.score_url(unicode).probability == model.score_url(puny).probability
