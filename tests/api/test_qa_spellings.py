"""QA: one identifier, many spellings. What ops puts on a list is found by the decision and lookup
endpoints however the request spells it, and the other way round."""

from __future__ import annotations

import pytest

from api.conftest import Api


def _listed(api: Api, kind: str, value: str, action: str = "block") -> None:
    from fanzha.ops import lists
    from fanzha.ops.audit import Actor

    lists.add_entry(
        api.service.ops.store, Actor("qa", "police", "qa"), kind=kind, value=value, action=action,
        reason="reported", source="110",
    )  # fmt: skip
    api.service.refresh()


@pytest.mark.parametrize(
    ("listed", "asked"),
    [
        ("http://pay.example.org:80/login", "http://pay.example.org/login"),
        ("http://pay.example.org/login", "HTTP://PAY.example.org.:80/login"),
        ("https://pay.example.org/login", "https://pay.example.org:443/login"),
    ],
)
def test_a_listed_url_is_found_with_or_without_its_default_port(api: Api, listed: str, asked: str) -> None:
    # was: normalise_url kept ':80' / ':443', so a URL listed with its default port and the same URL
    # requested without it (or the other way round) were two URLs: the decision said proceed
    from fanzha.ops import lists
    from fanzha.ops.audit import Actor

    _listed(api, "url", listed)
    assert lists.check(api.service.ops.store, Actor("qa", "police", "qa"), "url", asked).action == "block"
    r = api.client.post("/v1/decide/url", json={"url": asked}, headers=api.as_("platform"))
    assert r.status_code == 200 and r.json()["outcome"] == "block", r.text
    label = api.client.get("/v1/lookup/url", params={"url": asked}, headers=api.as_("public")).json()
    assert label["label"] == "high_risk"


@pytest.mark.parametrize("asked", ["+86 (0)10 6552 9988", "0086 010 6552 9988", "010-6552-9988"])
def test_a_listed_landline_is_found_with_the_country_code_and_its_trunk_zero(api: Api, asked: str) -> None:
    # was: '+86 (0)10 …' / '0086 010 …' became +86010…, another number than 010-… (+8610…)
    _listed(api, "number", "+86 10 6552 9988")
    r = api.client.post(
        "/v1/decide/call", json={"caller": asked, "callee": "13900001234"}, headers=api.as_("telecom")
    )
    assert r.status_code == 200 and r.json()["outcome"] == "block", r.text
