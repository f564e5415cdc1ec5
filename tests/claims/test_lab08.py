"""Lab 08's measured claims: no upstream call while open; the breaker keeps load off an outage."""

from __future__ import annotations

import contextlib
from typing import Any

import anthropic
import openai
import pytest

import llmlab.sim
from llmlab import CircuitOpenError
from llmlab.reference.breaker import (
    CircuitBreaker,
    FakeClock,
    call_with_failover,
    guarded,
    replay,
    requests_reaching,
)
from llmlab.sim import FaultPlan

MSG: Any = [{"role": "user", "content": "Is the payments service degraded?"}]


def _timeline(sim: llmlab.sim.Simulator, breaker: CircuitBreaker | None, clock: FakeClock):
    client = anthropic.Anthropic(api_key="sk-test", max_retries=0)
    states, sent = [], []
    for t in range(70):
        clock.now = float(t)
        sim.set_faults(FaultPlan.scripted(["503"]) if 10 <= t < 35 else None)
        states.append(breaker.state if breaker else "closed")
        before = requests_reaching(sim)

        def ask() -> Any:
            return client.messages.create(model="claude-sonnet-4-6", max_tokens=4, messages=MSG)

        with contextlib.suppress(CircuitOpenError, anthropic.APIStatusError):
            guarded(breaker, ask) if breaker else ask()
        sent.append(requests_reaching(sim) - before)
    return states, sent


def test_no_upstream_call_while_open_and_less_load_in_outage() -> None:
    with llmlab.sim.mock(seed=8, time_scale=0.005) as sim:
        clock = FakeClock()
        states, sent = _timeline(sim, CircuitBreaker(5, 30.0, clock), clock)
        _, sent_plain = _timeline(sim, None, clock)
    assert all(n == 0 for s, n in zip(states, sent, strict=True) if s == "open")
    assert "open" in states and "half_open" in states
    assert sum(sent[10:35]) == 5 and sum(sent_plain[10:35]) == 25


def test_replay_matches_the_sdk_timeline() -> None:
    with llmlab.sim.mock(seed=8, time_scale=0.005) as sim:
        clock = FakeClock()
        states, sent = _timeline(sim, CircuitBreaker(5, 30.0, clock), clock)
    tl = replay([(10, 35)], threshold=5, reset_seconds=30.0, duration=70)
    assert tl.states == states and [int(u) for u in tl.upstream] == sent


@pytest.mark.parametrize(
    "fault,expected", [("529", "openai"), ("500", "openai"), (None, "anthropic")]
)
def test_failover_on_infrastructure_errors(fault: str | None, expected: str) -> None:
    with llmlab.sim.mock(seed=8, time_scale=0.005, faults=FaultPlan.scripted([fault])) as _:
        a = anthropic.Anthropic(api_key="sk-test", max_retries=0)
        o = openai.OpenAI(api_key="sk-test", max_retries=0)
        got = call_with_failover(
            lambda: (
                a.messages.create(model="claude-sonnet-4-6", max_tokens=4, messages=MSG),
                "anthropic",
            )[1],
            lambda: (
                o.chat.completions.create(model="gpt-4.1-mini", max_tokens=4, messages=MSG),
                "openai",
            )[1],
        )
    assert got == expected


def test_no_failover_on_content_errors() -> None:
    with llmlab.sim.mock(seed=8, time_scale=0.005) as sim:
        a = anthropic.Anthropic(api_key="sk-test", max_retries=0)
        with pytest.raises(anthropic.BadRequestError):
            call_with_failover(
                lambda: a.messages.create(model="claude-sonnet-4-6", max_tokens=4, messages=[]),
                lambda: pytest.fail("failed over on a 400"),
            )
        assert sim.upstream_calls == 0
