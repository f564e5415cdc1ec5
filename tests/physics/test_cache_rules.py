"""Anthropic prompt-caching rules on the simulator clock, through the real SDK.

A manual clock (moves only on ``sim.advance``) at time scale 0.001: latency is irrelevant
here, and a running clock at that scale would expire a 5-minute TTL in 0.3 real seconds.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anthropic
import pytest

from llmlab.sim import SimClock, Simulator, mock

from ._helpers import CLAUDE, KEY, anthropic_system, prefix

TEXT = prefix(2_000)  # above Sonnet's 1024-token minimum


@pytest.fixture
def client() -> Iterator[tuple[Simulator, anthropic.Anthropic]]:
    with mock(Simulator(seed=5, clock=SimClock.manual(0.001))) as sim:
        yield sim, anthropic.Anthropic(api_key=KEY)


def call(client: anthropic.Anthropic, system: Any, model: str = CLAUDE, **kw: Any) -> Any:
    return client.messages.create(
        model=model,
        max_tokens=5,
        system=system,
        messages=[{"role": "user", "content": "Status?"}],
        **kw,
    ).usage


def test_second_call_within_ttl_reads_and_expiry_writes_again(client: Any) -> None:
    sim, c = client
    first = call(c, anthropic_system(TEXT))
    assert first.cache_creation_input_tokens == 2_000
    assert first.cache_creation.ephemeral_5m_input_tokens == 2_000
    assert first.cache_read_input_tokens == 0
    second = call(c, anthropic_system(TEXT))
    assert second.cache_read_input_tokens == 2_000
    assert second.cache_creation_input_tokens == 0
    assert second.input_tokens == first.input_tokens  # input_tokens is the uncached part
    sim.advance(minutes=6)
    third = call(c, anthropic_system(TEXT))
    assert third.cache_creation_input_tokens == 2_000
    assert third.cache_read_input_tokens == 0


def test_reads_refresh_the_ttl(client: Any) -> None:
    sim, c = client
    call(c, anthropic_system(TEXT))
    sim.advance(minutes=4)
    assert call(c, anthropic_system(TEXT)).cache_read_input_tokens == 2_000  # refreshes
    sim.advance(minutes=4)  # 8 minutes after the write, 4 after the read
    assert call(c, anthropic_system(TEXT)).cache_read_input_tokens == 2_000
    sim.advance(minutes=5, seconds=1)
    assert call(c, anthropic_system(TEXT)).cache_read_input_tokens == 0


def test_one_hour_ttl(client: Any) -> None:
    sim, c = client
    first = call(c, anthropic_system(TEXT, ttl="1h"))
    assert first.cache_creation.ephemeral_1h_input_tokens == 2_000
    assert first.cache_creation.ephemeral_5m_input_tokens == 0
    sim.advance(minutes=30)
    assert call(c, anthropic_system(TEXT, ttl="1h")).cache_read_input_tokens == 2_000
    sim.advance(minutes=61)
    assert call(c, anthropic_system(TEXT, ttl="1h")).cache_read_input_tokens == 0


def test_below_the_model_minimum_nothing_is_cached(client: Any) -> None:
    _, c = client
    short = prefix(900)  # Sonnet's minimum is 1024
    for _ in range(2):
        usage = call(c, anthropic_system(short))
        assert usage.cache_creation_input_tokens == 0
        assert usage.cache_read_input_tokens == 0
    medium = prefix(3_000)  # Haiku 4.5's minimum is 4096
    for _ in range(2):
        usage = call(c, anthropic_system(medium), model="claude-haiku-4-5")
        assert usage.cache_creation_input_tokens == 0
        assert usage.cache_read_input_tokens == 0


def test_any_byte_change_in_the_prefix_misses(client: Any) -> None:
    _, c = client
    call(c, anthropic_system(TEXT))
    changed = TEXT[:1000] + ("X" if TEXT[1000] != "X" else "Y") + TEXT[1001:]
    usage = call(c, anthropic_system(changed))
    assert usage.cache_read_input_tokens == 0
    assert usage.cache_creation_input_tokens > 0
    assert call(c, anthropic_system(TEXT)).cache_read_input_tokens == 2_000  # original intact


def test_more_breakpoints_than_the_hit_write_only_the_new_part(client: Any) -> None:
    _, c = client
    base = prefix(1_500)
    extra = TEXT  # a second block after the first
    one = [{"type": "text", "text": base, "cache_control": {"type": "ephemeral"}}]
    two = [*one, {"type": "text", "text": extra, "cache_control": {"type": "ephemeral"}}]
    first = call(c, one)
    assert first.cache_creation_input_tokens == 1_500
    second = call(c, two)
    assert second.cache_read_input_tokens == 1_500
    assert second.cache_creation_input_tokens == 2_000  # only the block after the hit
    third = call(c, two)
    assert third.cache_read_input_tokens == 3_500
    assert third.cache_creation_input_tokens == 0


def test_at_most_four_breakpoints(client: Any) -> None:
    _, c = client
    blocks = [
        {"type": "text", "text": f"part {i}", "cache_control": {"type": "ephemeral"}}
        for i in range(5)
    ]
    with pytest.raises(anthropic.BadRequestError, match="maximum of 4"):
        call(c, blocks)
