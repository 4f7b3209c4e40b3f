"""Rule sets (read / write the draft / promote) and the shadow-mode comparison."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field


class RuleSetPublic(BaseModel):
    name: str
    version: str
    label: str
    rules: int
    document: dict[str, Any]


class ShadowPublic(BaseModel):
    live: str
    draft: str | None
    decisions: int
    agreement: float | None = Field(description="share of decisions where draft and live agree")
    matrix: dict[str, dict[str, int]] = Field(description="live outcome → draft outcome → count")
    recent_disagreements: list[dict[str, Any]]
