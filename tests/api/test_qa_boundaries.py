"""Adversarial QA of the HTTP API: every bad request is a clear 4xx with a message, never a 500 or
a misleading 200."""

from __future__ import annotations

from api.conftest import Api


def test_unknown_command_status_filter_is_422_not_an_empty_list(api: Api) -> None:
    for role in ("police", "bank"):
        r = api.client.get("/v1/fund-control/commands?status=execeuted", headers=api.as_(role))
        assert r.status_code == 422, r.text
        assert "execeuted" in r.json()["message"]
    ok = api.client.get("/v1/fund-control/commands?status=executed", headers=api.as_("police"))
    assert ok.status_code == 200 and ok.json() == []
