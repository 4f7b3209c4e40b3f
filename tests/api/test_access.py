"""Access matrix: every endpoint × every role is allowed or denied exactly as specified."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from api.conftest import PUBLIC_ID, RISKY_ACCOUNT, SAFE_NUMBER, VICTIM_ACCOUNT, VICTIM_NUMBER, make_api
from fanzha.api.auth import ROLES

ALL = frozenset(ROLES)
PAY = {"payer": VICTIM_ACCOUNT, "payee": "6222000000000004444", "amount_fen": 1000, "channel": "mobile"}
DRAFT_DOC = None  # filled from the live rule set in the fixture

# endpoint → (method, path, request kwargs, roles allowed). Written out here, not read from the code.
MATRIX: dict[str, tuple[str, str, dict, frozenset[str]]] = {
    "decide call": (
        "POST",
        "/v1/decide/call",
        {"json": {"caller": SAFE_NUMBER, "callee": VICTIM_NUMBER}},
        frozenset({"police", "telecom"}),
    ),
    "decide sms": (
        "POST",
        "/v1/decide/sms",
        {"json": {"sender": SAFE_NUMBER, "receiver": VICTIM_NUMBER, "text": "你好"}},
        frozenset({"police", "telecom", "platform"}),
    ),
    "decide url": (
        "POST",
        "/v1/decide/url",
        {"json": {"url": "https://example.com/a"}},
        frozenset({"police", "telecom", "platform"}),
    ),
    "decide payment": ("POST", "/v1/decide/payment", {"json": PAY}, frozenset({"police", "bank"})),
    "decide payments": ("POST", "/v1/decide/payments", {"json": [PAY, PAY]}, frozenset({"police", "bank"})),
    "lookup phone": ("GET", f"/v1/lookup/phone/{SAFE_NUMBER}", {}, ALL),
    "lookup account": ("GET", f"/v1/lookup/account/{RISKY_ACCOUNT}", {}, ALL),
    "lookup url": ("GET", "/v1/lookup/url", {"params": {"url": "example.com"}}, ALL),
    "own phone cards": ("GET", "/v1/me/phone-cards", {}, frozenset({"public"})),
    "phone cards by ID": ("GET", f"/v1/phone-cards/{PUBLIC_ID}", {}, frozenset({"police"})),
    "tip": (
        "POST",
        "/v1/tips",
        {"json": {"identifier_kind": "phone", "identifier": SAFE_NUMBER, "text": "骗子"}},
        ALL,
    ),
    "ingest transfers": (
        "POST",
        "/v1/ingest/transfers",
        {"content": b"transfer_id\n", "headers": {"content-type": "text/csv"}},
        frozenset({"bank"}),
    ),
    "ingest calls": (
        "POST",
        "/v1/ingest/calls",
        {"content": b"caller\n", "headers": {"content-type": "text/csv"}},
        frozenset({"telecom"}),
    ),
    "fund-control commands": ("GET", "/v1/fund-control/commands", {}, frozenset({"police", "bank"})),
    "fund-control receipt": (
        "POST",
        "/v1/fund-control/commands/cmd-1/receipts",
        {"json": {"receipt_id": "r-1", "outcome": "acknowledged"}},
        frozenset({"bank"}),
    ),
    "interception": (
        "POST",
        "/v1/interceptions",
        {"json": {"number": SAFE_NUMBER, "action": "call_blocked", "at": "2026-01-01T10:00:00+08:00"}},
        frozenset({"telecom"}),
    ),
    "rules live": ("GET", "/v1/rules/live", {}, frozenset({"police", "procurator"})),
    "rules shadow": ("GET", "/v1/rules/shadow", {}, frozenset({"police", "procurator"})),
    "rules put draft": ("PUT", "/v1/rules/draft", {"json": "LIVE_DOC"}, frozenset({"police"})),
    "rules promote": ("POST", "/v1/rules/promote", {}, frozenset({"police"})),
    "status": ("GET", "/v1/status", {}, ALL),
    "audit log": ("GET", "/v1/audit", {}, frozenset({"police", "procurator"})),
}


@pytest.fixture(scope="module")
def matrix_api(tmp_path_factory):
    from fanzha.settings import Settings

    settings = Settings(home=tmp_path_factory.mktemp("matrix") / ".fanzha")
    gen = make_api(settings, public_burst=10_000, failed_auth_burst=10_000)
    api = next(gen)
    from fanzha.ops import fundcontrol
    from fanzha.ops.audit import Actor

    police = Actor("officer", "police", "test")
    fundcontrol.issue_command(
        api.service.ops.store,
        police,
        command_id="cmd-1",
        kind="stop_payment",
        account=VICTIM_ACCOUNT,
        bank="ICBC",
        amount_fen=1000,
        reason="test case",
        now=datetime.now(UTC),
    )
    fundcontrol.send(api.service.ops.store, "cmd-1", police)
    yield api
    gen.close()


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("endpoint", list(MATRIX))
def test_access_matrix(matrix_api, endpoint: str, role: str) -> None:
    method, path, kwargs, allowed = MATRIX[endpoint]
    kwargs = dict(kwargs)
    if kwargs.get("json") == "LIVE_DOC":
        kwargs["json"] = matrix_api.service.rulebook.document("live")
    headers = {**kwargs.pop("headers", {}), **matrix_api.as_(role)}
    r = matrix_api.client.request(method, path, headers=headers, **kwargs)
    assert r.status_code < 500 or r.status_code == 503, (endpoint, role, r.status_code, r.text)
    if role in allowed:
        assert r.status_code not in (401, 403), (endpoint, role, r.text)
    else:
        assert r.status_code == 403, (endpoint, role, r.status_code, r.text)


@pytest.mark.parametrize("endpoint", list(MATRIX))
def test_every_endpoint_needs_a_key(matrix_api, endpoint: str) -> None:
    method, path, kwargs, _ = MATRIX[endpoint]
    kwargs = {k: v for k, v in kwargs.items() if k != "json" or v != "LIVE_DOC"}
    headers = kwargs.pop("headers", {})
    r = matrix_api.client.request(method, path, headers=headers, **kwargs)
    assert r.status_code == 401
    bad = {**headers, "Authorization": "Bearer fz_nope_nope"}
    r = matrix_api.client.request(method, path, headers=bad, **kwargs)
    assert r.status_code == 401
    assert "unknown or revoked" in r.json()["message"]


def test_matrix_covers_every_route(matrix_api) -> None:
    routes = {(m, r.path) for r in matrix_api.client.app.routes if hasattr(r, "methods") for m in r.methods}
    covered = {
        (
            m,
            p.replace(SAFE_NUMBER, "{number}")
            .replace(RISKY_ACCOUNT, "{account}")
            .replace(PUBLIC_ID, "{id_number}")
            .replace("cmd-1", "{command_id}")
            .replace("/live", "/{name}")
            .replace("/transfers", "/{kind}")
            .replace("/calls", "/{kind}"),
        )
        for m, p, _, _ in MATRIX.values()
    }
    open_routes = {
        ("GET", "/openapi.json"),
        ("GET", "/docs"),
        ("GET", "/docs/oauth2-redirect"),
        ("GET", "/redoc"),
        ("HEAD", "/openapi.json"),
        ("HEAD", "/docs"),
        ("HEAD", "/docs/oauth2-redirect"),
        ("HEAD", "/redoc"),
        ("GET", "/healthz"),
        ("DELETE", "/v1/rules/draft"),
    }
    missing = routes - covered - open_routes
    assert not missing, f"routes without an access-matrix row: {missing}"


def test_revoked_key_is_refused(matrix_api) -> None:
    key = matrix_api.service.keys.create("bank", "ICBC", "temp")
    headers = {"Authorization": f"Bearer {key}"}
    assert matrix_api.client.get("/v1/status", headers=headers).status_code == 200
    matrix_api.service.keys.revoke(key.split("_")[1])
    assert matrix_api.client.get("/v1/status", headers=headers).status_code == 401
