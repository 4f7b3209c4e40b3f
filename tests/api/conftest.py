"""An app per test module with one key per role, scores and a directory, and no network."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from fastapi.testclient import TestClient

from fanzha.api.auth import ROLES
from fanzha.api.main import create_app
from fanzha.api.service import DecisionService, ServiceOptions
from fanzha.decide.sources import directory_from_rows
from fanzha.settings import Settings

PUBLIC_ID = "11010519491231002X"
RISKY_NUMBER = "17100001111"
RISKY_ACCOUNT = "6222000000000009999"
SAFE_NUMBER = "13800138000"
VICTIM_NUMBER = "13900001234"
VICTIM_ACCOUNT = "6222000000000001111"
SHOP_ACCOUNT = "6222000000000002222"


@dataclass
class Api:
    client: TestClient
    service: DecisionService
    keys: dict[str, str]
    home: Path

    def as_(self, role: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.keys[role]}"}


def write_scores(home: Path) -> None:
    folder = home / "scores"
    folder.mkdir(parents=True, exist_ok=True)
    reasons = '[{"code": "fan_out", "message": "calls many strangers", "value": 80, "weight": 1.0}]'
    pq.write_table(
        pa.table(
            {
                "id": [RISKY_NUMBER, SAFE_NUMBER],
                "probability": [0.97, 0.02],
                "tier": ["red", "none"],
                "reasons": [reasons, "[]"],
            }
        ),
        folder / "numbers.parquet",
    )
    pq.write_table(
        pa.table(
            {
                "id": [RISKY_ACCOUNT, SHOP_ACCOUNT],
                "probability": [0.95, 0.01],
                "tier": ["red", "none"],
                "reasons": [reasons, "[]"],
            }
        ),
        folder / "accounts.parquet",
    )


def directory():
    accounts = [
        {"account_no": VICTIM_ACCOUNT, "owner_id": PUBLIC_ID, "bank": "ICBC"},
        {"account_no": RISKY_ACCOUNT, "owner_id": None, "bank": "ABC"},
    ]
    cards = [
        {
            "number": VICTIM_NUMBER,
            "owner_id": PUBLIC_ID,
            "carrier": "cmcc",
            "card_type": "personal",
            "status": "active",
            "opened_at": None,
        },
        {
            "number": "13900005678",
            "owner_id": PUBLIC_ID,
            "carrier": "cucc",
            "card_type": "personal",
            "status": "active",
            "opened_at": None,
        },
    ]
    return directory_from_rows(accounts, cards, "test")


PARTIES = {
    "police": "",
    "bank": "ICBC",
    "telecom": "cmcc",
    "platform": "wechat",
    "procurator": "",
    "public": PUBLIC_ID,
}


def make_api(settings: Settings, **options: object) -> Iterator[Api]:
    write_scores(settings.home)
    opts = ServiceOptions(load_lake=False, load_detectors=False, flush_every_s=0.05, **options)  # type: ignore[arg-type]
    service = DecisionService(settings, opts)
    service.set_directory(directory())
    keys = {role: service.keys.create(role, PARTIES[role], f"test-{role}") for role in ROLES}
    app = create_app(settings, service=service)
    with TestClient(app, raise_server_exceptions=False) as client:
        yield Api(client, service, keys, settings.home)


@pytest.fixture
def api(settings: Settings) -> Iterator[Api]:
    yield from make_api(settings)
