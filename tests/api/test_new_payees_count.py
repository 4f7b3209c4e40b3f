"""``Memory.new_payees`` (payer_new_payees_24h) counts without walking the payer's outflow when the
payments come in time order, and gives what the walk gives in every order (QA: a platform paying
thousands of new payees a day cost the square of its payees per day in the replay)."""

from __future__ import annotations

import random

import pytest

from fanzha.decide.state import NEW_PAYEE_WINDOW_S, Memory


def _walk(mem: Memory, payer: str, t: float) -> int:
    """The count as the outflow walk defines it."""
    payees = mem.outflow.others(payer, t, NEW_PAYEE_WINDOW_S)
    return sum(1 for p in payees if t - mem.pair_first_seen.get((payer, p), t) <= NEW_PAYEE_WINDOW_S)


def _pay(mem: Memory, payer: str, payee: str, t: float) -> None:
    """What the decision engine learns from a payment."""
    mem.outflow.add(payer, t, 100, payee)
    mem.learn_pair(payer, payee, t, paid=True)


@pytest.mark.parametrize("disorder", [0.0, 0.05, 0.5])
def test_new_payees_equals_the_outflow_walk(disorder: float) -> None:
    rng = random.Random(7)
    mem = Memory()
    mem.outflow.sweep_every = 97  # sweeps happen within the stream
    t = 1_780_000_000.0
    payers = [f"P{i}" for i in range(6)]
    for _ in range(4000):
        t += rng.choice([0.0, 1.0, 60.0, 3600.0, 20_000.0])
        at = t - rng.uniform(0, 3 * 86_400) if rng.random() < disorder else t
        payer = rng.choice(payers)
        payee = f"Q{rng.randrange(300)}"
        assert mem.new_payees(payer, at) == _walk(mem, payer, at)
        _pay(mem, payer, payee, at)
        probe = rng.choice(payers)
        assert mem.new_payees(probe, t) == _walk(mem, probe, t)


def test_the_window_boundary_and_a_pair_learnt_outside_the_outflow() -> None:
    mem = Memory()
    t0 = 1_780_000_000.0
    _pay(mem, "A", "B", t0)
    _pay(mem, "A", "C", t0 + 10)
    assert mem.new_payees("A", t0 + NEW_PAYEE_WINDOW_S) == 2  # exactly a day: still new
    assert mem.new_payees("A", t0 + NEW_PAYEE_WINDOW_S + 1) == 1
    assert mem.new_payees("A", t0 + 2 * NEW_PAYEE_WINDOW_S) == 0
    # history seeded without a payment (as a test or a loader may): not in the outflow, not counted
    mem.learn_pair("A", "D", t0 + 20)
    assert mem.new_payees("A", t0 + 30) == _walk(mem, "A", t0 + 30) == 2
