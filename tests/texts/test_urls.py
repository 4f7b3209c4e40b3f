"""URL features on hand-made hosts, lists, and the URL detector."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from fanzha.errors import InputFileError, ValidationError
from fanzha.texts.urllex import FEATURES, edit_distance, entropy, parse_url, url_features
from fanzha.texts.urls import HostList, UrlDetector, read_host_lists


def feats(url: str) -> dict[str, float]:
    values, _ = url_features(parse_url(url))
    return dict(zip(FEATURES, values, strict=True))


def test_parse_registered_domain_and_subdomain() -> None:
    p = parse_url("https://pay.icbc.com.cn/login?x=1")
    assert (p.host, p.registered, p.label, p.subdomain, p.tld) == (
        "pay.icbc.com.cn",
        "icbc.com.cn",
        "icbc",
        "pay",
        "com.cn",
    )
    assert parse_url("1.2.3.4:8080/a").registered == "1.2.3.4"
    with pytest.raises(ValidationError):
        parse_url("")
    with pytest.raises(ValidationError):
        parse_url("no host here")


@pytest.mark.parametrize(
    ("url", "feature"),
    [
        ("icbc-vip.top", "brand_in_domain"),
        ("a1ipay.com", "brand_lookalike"),
        ("alipay.vip", "brand_lookalike"),
        ("taobao.com.refund-center.cn/x", "brand_in_subdomain"),
        ("qwkx.top/alipay/login", "brand_in_path"),
        ("http://10.0.0.8:8888/pay", "is_ip"),
        ("t.cn/AbC1", "shortener"),
        ("xn--fiqs8s.com", "punycode"),
        ("gov-cn.net", "fake_gov"),
        ("x8dbwg1b3q.xyz", "suspicious_tld"),
    ],
)
def test_risk_features_fire(url: str, feature: str) -> None:
    assert feats(url)[feature] > 0


@pytest.mark.parametrize("url", ["https://www.icbc.com.cn/", "https://www.taobao.com/item/1", "www.12306.cn"])
def test_official_domains_are_not_impersonation(url: str) -> None:
    f = feats(url)
    assert f["official_brand"] == 1.0
    assert f["brand_in_domain"] == f["brand_lookalike"] == f["brand_in_subdomain"] == 0.0


def test_short_brand_keys_only_match_whole_tokens() -> None:
    assert feats("jdsports.com")["brand_in_domain"] == 0.0  # jd is too short to match inside a word
    assert feats("jd-kefu.top")["brand_in_domain"] == 1.0


def test_edit_distance_and_entropy() -> None:
    assert edit_distance("alipay", "a1ipay") == 1
    assert edit_distance("alipay", "taobao", limit=2) == 3
    assert entropy("aaaa") == 0.0
    assert entropy("abcd") == pytest.approx(2.0)


def test_host_lists_exact_and_suffix(tmp_path: Path) -> None:
    hl = HostList()
    hl.add("evil.com")
    hl.add("*.scam.top")
    hl.add("||bad.cn^")
    assert hl.match("evil.com") == "evil.com"
    assert hl.match("www.evil.com") is None  # plain entries are exact
    assert hl.match("a.b.scam.top") == "*.scam.top"
    assert hl.match("scam.top") == "*.scam.top"
    assert hl.match("x.bad.cn") == "*.bad.cn"
    f = tmp_path / "list.txt"
    f.write_text("! comment\n@@||good.com^\n||evil.org^\n", "utf-8")
    block, allow = read_host_lists(f)
    assert allow.match("www.good.com") and block.match("evil.org")
    with pytest.raises(InputFileError):
        read_host_lists(tmp_path / "missing.txt")


@pytest.fixture(scope="module")
def url_model() -> UrlDetector:
    from fanzha.texts.urlcorpus import generate_url_corpus

    corpus = generate_url_corpus(n=600)
    return UrlDetector().fit(corpus["url"].tolist(), corpus["label"].tolist())


def test_url_detector_scores_and_explains(url_model: UrlDetector) -> None:
    bad = url_model.score_url("http://icbc-kefu.top/login")
    good = url_model.score_url("https://www.zhihu.com/question/1")
    assert bad.probability > 0.8 > good.probability
    assert bad.brand == "icbc"
    assert "brand_in_domain" in [r.code for r in bad.reasons]


def test_lists_override_the_model(url_model: UrlDetector, tmp_path: Path) -> None:
    assert url_model.score_url("https://www.icbc.com.cn/x").reasons[0].code == "allow_list"
    model = UrlDetector().fit(["a.com", "b.top", "c.com", "d.top"] * 3, [0, 1, 0, 1] * 3)
    model.add_lists(block=["*.zhihu.com"])
    s = model.score_url("https://www.zhihu.com/")
    assert s.probability == 0.99 and s.reasons[0].code == "block_list"


def test_batch_rejects_invalid_urls_with_a_reason(url_model: UrlDetector) -> None:
    scored = url_model.score(["icbc-vip.top", "not a url"])
    assert scored["probability"][0] > 0.5
    assert np.isnan(scored["probability"][1])
    assert scored["reasons"][1][0]["code"] == "invalid_url"


def test_url_round_trip(url_model: UrlDetector, tmp_path: Path) -> None:
    loaded = UrlDetector.load(url_model.save(tmp_path / "u"))
    assert isinstance(loaded, UrlDetector)
    assert loaded.score_url("a1ipay.com").probability == pytest.approx(
        url_model.score_url("a1ipay.com").probability
    )


# ------------------------------------------------------------------ IDNs (中文域名) and homographs
def test_idn_features_are_computed_on_what_a_person_sees() -> None:
    from fanzha.texts.urllex import unicode_host

    assert unicode_host("www.xn--fiqs8s856bruk.xn--fiqs8s") == "www.中国银行.中国"
    for url in (
        "http://中国银行.中国",
        "https://www.中国政府网.政务",
        "http://淘宝.com",
        "北京市人民政府.政务",
    ):
        f = feats(url)
        assert f["punycode"] == 1.0  # still an IDN
        assert f["label_random"] == 0.0 and f["host_entropy"] == 0.0, url  # a CJK label is not random
        assert f["host_hyphens"] == 0.0 and f["mixed_script"] == 0.0, url  # no xn-- artefacts
    assert parse_url("http://中国银行.中国").host == "xn--fiqs8s856bruk.xn--fiqs8s"  # lists match on punycode


@pytest.mark.parametrize(
    ("url", "brand"),
    [
        ("http://аррӏе.com", "apple"),  # all Cyrillic
        ("http://xn--80ak6aa92e.com/login", "apple"),  # the same host in punycode
        ("https://pаypal.com/signin", "paypal"),  # one Cyrillic а among Latin letters
        ("http://аlipаy.top", "alipay"),
        ("http://icbc.αpple.com", "apple"),  # Greek alpha in a sub-domain
    ],
)
def test_homographs_fold_to_the_brand(url: str, brand: str) -> None:
    values, found = url_features(parse_url(url))
    f = dict(zip(FEATURES, values, strict=True))
    assert found == brand
    assert f["brand_lookalike"] + f["brand_in_domain"] + f["brand_in_subdomain"] > 0


def test_mixed_script() -> None:
    from fanzha.texts.urllex import fold_lookalikes, mixed_script

    assert mixed_script("pаypal") and mixed_script("аррӏе") and mixed_script("gοοgle")
    assert not mixed_script("中国银行") and not mixed_script("淘宝abc") and not mixed_script("paypal")
    assert not mixed_script("пример")  # ordinary Russian: п, м, и do not pass for Latin letters
    assert fold_lookalikes("ａｐｐｌｅ") == "apple" and fold_lookalikes("аррӏе") == "apple"
    assert feats("аррӏе.com")["mixed_script"] == 1.0 and feats("apple.top")["mixed_script"] == 0.0


def test_ascii_hosts_keep_their_features() -> None:
    f = feats("x8dbwg1b3q.xyz")
    assert f["label_random"] > 0 and f["host_entropy"] > 0.5


def test_every_url_score_carries_reasons_in_the_direction_of_its_score(url_model: UrlDetector) -> None:
    """As the text and GBDT detectors: a risky URL cites what raised it, a low score what lowered
    it (said so, weight < 0), and a URL with neither says so (before: a low score cited "fragment …
    is typical of scam URLs", or had no reason at all — 6 of the 8,001 phishing-set URLs)."""
    urls = ["http://icbc-kefu.top/login", "https://www.zhihu.com/question/1", "http://www.teebweb.org/"]
    scored = url_model.score(urls)
    for p, reasons in zip(scored["probability"], scored["reasons"], strict=True):
        assert reasons, "every score carries reasons"
        if p >= 0.5:
            assert all(r["weight"] > 0 and "lowers" not in r["message"] for r in reasons)
        else:
            assert all(r["weight"] < 0 and "scam" not in r["message"] for r in reasons)
            assert any(r["message"].endswith("lowers the score") for r in reasons)
    assert (scored["probability"] < 0.5).any() and (scored["probability"] >= 0.5).any()
    nothing = url_model._explain(
        np.zeros(len(FEATURES)), np.zeros(len(FEATURES)), np.empty(0, int), np.empty(0), None, 0.2
    )
    assert [r.code for r in nothing] == ["no_signal"]
