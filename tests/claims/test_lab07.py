"""Lab 07's measured claims: jitter flattens the herd; retries succeed under the fault plan."""

from __future__ import annotations

import time

import anthropic
import pytest

import llmlab.sim
from llmlab.reference.breaker import requests_reaching
from llmlab.reference.retry import TicketSystem, retry_call, simulate_herd
from llmlab.sim import FaultPlan

MSG = [{"role": "user", "content": "Is the payments service degraded?"}]


@pytest.mark.parametrize("seed", range(5))
@pytest.mark.parametrize("n_clients", [50, 100])
def test_full_jitter_at_least_halves_the_recovery_peak(n_clients: int, seed: int) -> None:
    plain = simulate_herd(n_clients, jitter=False)
    jittered = simulate_herd(n_clients, jitter=True, seed=seed)
    assert jittered.recovery_peak <= 0.5 * plain.recovery_peak
    assert jittered.unfinished == 0 < plain.unfinished


def test_notebook_herd_figures() -> None:
    plain, jittered = simulate_herd(50, jitter=False), simulate_herd(50, jitter=True, seed=7)
    assert (plain.recovery_peak, jittered.recovery_peak) == (50, 6)
    assert (plain.unfinished, jittered.unfinished) == (20, 0)


def test_retries_succeed_under_the_fault_plan() -> None:
    with llmlab.sim.mock(
        seed=7, time_scale=0.01, faults=FaultPlan.scripted(["429", "500", "529"])
    ) as sim:
        client = anthropic.Anthropic(api_key="sk-test", max_retries=0)
        t0 = time.perf_counter()
        reply = retry_call(
            lambda: client.messages.create(model="claude-sonnet-4-6", max_tokens=8, messages=MSG),  # type: ignore[arg-type]
            base=0.5 * sim.time_scale,
            cap=8 * sim.time_scale,
        )
        elapsed = time.perf_counter() - t0
    assert reply.stop_reason in ("max_tokens", "end_turn")
    assert requests_reaching(sim) == 4
    assert elapsed < 2.0


def test_sdk_retries_inside_yours_multiply_requests() -> None:
    counts = []
    for max_retries in (2, 0):
        with llmlab.sim.mock(
            seed=7, time_scale=0.01, faults=FaultPlan.scripted(["429"] * 40)
        ) as sim:
            client = anthropic.Anthropic(api_key="sk-test", max_retries=max_retries)
            with pytest.raises(anthropic.RateLimitError):
                retry_call(
                    lambda c=client: c.messages.create(  # type: ignore[misc]
                        model="claude-sonnet-4-6", max_tokens=8, messages=MSG
                    ),
                    base=0.005,
                    cap=0.08,
                )
            counts.append(requests_reaching(sim))
    assert counts == [12, 4]


def test_idempotency_key_prevents_a_second_ticket() -> None:
    for key, expected in ((None, 2), ("incident-1", 1)):
        tickets = TicketSystem()
        for _ in range(2):  # the first reply was lost; the caller retries
            tickets.create("payments 5xx", idempotency_key=key)
        assert len(tickets.tickets) == expected
