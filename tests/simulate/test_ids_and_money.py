"""Identifier generators and money splitting: properties that must hold for every input."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from fanzha.records.normalise import luhn_ok, normalise_account, normalise_id_number, normalise_imei
from fanzha.simulate import ids
from fanzha.simulate.episodes import draw_amounts
from fanzha.taxonomy.typologies import load_typologies


@given(st.integers(0, 10**6), st.integers(1, 300))
@settings(max_examples=40, deadline=None)
def test_generated_identifiers_are_valid_and_unique(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    counter = ids.Counter()
    cards = ids.bank_cards(counter, rng.integers(len(ids.BANKS), size=n))
    imeis = ids.imeis(counter, rng.integers(len(ids.HANDSETS), size=n), ids.HANDSETS, "h")
    phones = ids.mobiles(counter, rng, rng.integers(len(ids.CARRIER_NAMES), size=n))
    birth = (
        rng.integers(1940, 2010, size=n) * 10000
        + rng.integers(1, 13, size=n) * 100
        + rng.integers(1, 29, size=n)
    )
    region = ids.BIRTH_REGIONS[rng.integers(len(ids.BIRTH_REGIONS), size=n)]
    idn = ids.id_numbers(region, birth, rng.integers(0, 1000, size=n), rng).to_pylist()
    assert len(set(cards)) == len(set(imeis)) == len(set(phones)) == len(set(idn)) == n
    for c, i, p, x in zip(cards.tolist(), imeis.tolist(), phones.tolist(), idn, strict=True):
        assert luhn_ok(str(c)) and normalise_account(str(c)) == str(c)
        assert normalise_imei(str(i)) == str(i)
        assert len(str(p)) == 11 and str(p)[0] == "1"
        assert normalise_id_number(x) == x


@given(st.integers(0, 10**6), st.sampled_from(sorted(load_typologies())))
@settings(max_examples=60, deadline=None)
def test_episode_amounts_are_positive_integer_fen(seed: int, code: str) -> None:
    t = load_typologies()[code]
    tests, large = draw_amounts(np.random.default_rng(seed), t)
    assert large and all(isinstance(a, int) and a > 0 for a in tests + large)
    total = sum(tests) + sum(large)
    assert total >= t.loss_min_yuan * 100 * 0.5
    assert total <= max(t.loss_max_yuan * 100, len(large) * 10_000) + sum(tests)
