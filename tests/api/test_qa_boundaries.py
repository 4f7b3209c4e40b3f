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


def test_serve_with_an_impossible_port_is_refused_before_starting(monkeypatch) -> None:
    # was: uvicorn was started with port 99999 and hung without a word
    import uvicorn
    from typer.testing import CliRunner

    from fanzha.cli.main import app

    started: list[dict] = []
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: started.append(k))
    for port in ("99999", "-1", "0"):
        result = CliRunner().invoke(app, ["serve", "--port", port])
        assert result.exit_code == 2 and "port" in result.output, result.output
    assert started == []
    assert CliRunner().invoke(app, ["serve", "--port", "8123"]).exit_code == 0
    assert started and started[0]["port"] == 8123
