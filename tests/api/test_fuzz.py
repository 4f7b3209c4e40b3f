"""Schemathesis against the OpenAPI description: generated bad and good inputs never give a 5xx."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck
from hypothesis import settings as hsettings

from api.conftest import PARTIES, write_scores
from fanzha.api.auth import ROLES
from fanzha.api.main import create_app
from fanzha.api.service import DecisionService, ServiceOptions
from fanzha.settings import Settings

pytestmark = pytest.mark.slow

# the schema must exist when tests are collected, so the app is built at import (in a temp home)
_HOME = Path(tempfile.mkdtemp(prefix="fanzha-fuzz-"))
atexit.register(shutil.rmtree, _HOME, True)
_settings = Settings(home=_HOME / ".fanzha")
write_scores(_settings.home)
_service = DecisionService(
    _settings,
    ServiceOptions(
        load_lake=False, load_detectors=False, public_burst=1_000_000, failed_auth_burst=1_000_000
    ),
)
KEYS = {role: _service.keys.create(role, PARTIES[role], f"fuzz-{role}") for role in ROLES}
APP = create_app(_settings, service=_service)
schema = schemathesis.openapi.from_asgi("/openapi.json", APP)


@schema.parametrize()
@hsettings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors(case) -> None:
    # police reach nearly every endpoint; the public key exercises the role checks on the same input
    for role in ("police", "public"):
        response = case.call(headers={"Authorization": f"Bearer {KEYS[role]}"})
        assert response.status_code < 500 or response.status_code == 503, (
            f"{case.method} {case.formatted_path} as {role} → {response.status_code}: {response.text[:300]}"
        )
