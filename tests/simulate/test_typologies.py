"""The typology library loads, covers the taxonomy and its calibration weights are sane."""

from __future__ import annotations

import numpy as np

from fanzha.taxonomy import fraud_types
from fanzha.taxonomy.typologies import all_script_lines, load_typologies, render


def test_every_fraud_type_has_a_typology_with_scripts() -> None:
    typ = load_typologies()
    assert set(typ) == set(fraud_types())
    for t in typ.values():
        assert t.lines("contact"), t.code
        assert t.lines("harvest"), t.code
        assert all(len(step.lines) >= 3 for step in t.steps), t.code  # several variants per step
        assert len(t.narratives) + sum(len(v) for v in t.narratives_by_trait.values()) >= 2, t.code
        assert t.narratives, t.code  # at least one story that fits any victim
        assert abs(sum(t.cashout.values()) - 1) < 1e-9, t.code
        assert 0 < t.report_prob <= 1
        assert t.narratives


def test_case_weights_match_published_shares() -> None:
    typ = load_typologies()
    total = sum(t.case_weight for t in typ.values())
    assert abs(total - 1) < 1e-9
    assert abs(typ["brushing_rebate"].case_weight - 1 / 3) < 0.01
    top10 = sum(t.case_weight for t in typ.values() if fraud_types()[t.code].top10)
    assert 0.75 <= top10 <= 0.85


def test_render_fills_every_known_placeholder() -> None:
    rng = np.random.default_rng(0)
    for _code, _step, _channel, line in all_script_lines():
        text = render(line, rng)
        assert "{" not in text, text
    assert "{" not in render("{amount}元 {url}", rng, amount=5)
    assert render("{amount}", rng, amount=5) == "5"
