"""Fixtures of the ingest tests."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from ingest_helpers import lake_rows, write_rows


@pytest.fixture
def write() -> Callable[..., Path]:
    return write_rows


@pytest.fixture
def read_lake() -> Callable[..., list[dict[str, object]]]:
    return lake_rows
