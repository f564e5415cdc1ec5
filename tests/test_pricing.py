"""llmlab.pricing: known list prices, Anthropic token convention, and cost arithmetic."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from IPython.lib.pretty import pretty

from llmlab import PricingError
from llmlab.pricing import (
    _SNAPSHOT_DATES,
    GENAI_PRICES_VERSION,
    PRICES_AS_OF,
    CostBreakdown,
    cost,
    prices,
)

M = Decimal(1_000_000)


def test_prices_as_of_is_a_known_iso_date() -> None:
    assert GENAI_PRICES_VERSION in _SNAPSHOT_DATES, (
        f"genai-prices {GENAI_PRICES_VERSION} is not in llmlab.pricing._SNAPSHOT_DATES: "
        "find the newest dated fact in its bundled data and add a row"
    )
    date.fromisoformat(PRICES_AS_OF)


def test_claude_sonnet_4_5_prices() -> None:
    p = prices("claude-sonnet-4-5")
    assert p.provider == "anthropic"
    assert (p.input, p.output) == (Decimal("3"), Decimal("15"))
    assert p.cache_write_5m == Decimal("3.75")
    assert p.cache_write_1h == Decimal("6")
    assert p.cache_read == Decimal("0.3")
    assert p.prices_as_of == PRICES_AS_OF


def test_gpt_4o_prices() -> None:
    p = prices("gpt-4o", provider="openai")
    assert (p.input, p.output, p.cache_read) == (Decimal("2.5"), Decimal("10"), Decimal("1.25"))
    assert p.cache_write_5m is None  # OpenAI charges no cache-write fee


def test_breakdown_adds_up_with_anthropic_convention() -> None:
    # input_tokens is the UNCACHED part; writes (incl. 1h) and reads come on top.
    c = cost(
        "claude-sonnet-4-5",
        input_tokens=500,
        output_tokens=50,
        cache_write_tokens=300,
        cache_write_1h_tokens=100,
        cache_read_tokens=200,
    )
    assert c.input_usd == 500 * Decimal(3) / M
    assert c.output_usd == 50 * Decimal(15) / M
    assert c.cache_write_usd == (200 * Decimal("3.75") + 100 * Decimal(6)) / M
    assert c.cache_read_usd == 200 * Decimal("0.3") / M
    assert c.total_usd == c.input_usd + c.output_usd + c.cache_write_usd + c.cache_read_usd
    assert c.total_usd == Decimal("0.00366")


def test_openai_cached_tokens_bill_at_the_read_rate() -> None:
    c = cost("gpt-4o", input_tokens=1000, output_tokens=100, cache_read_tokens=1000)
    assert c.input_usd == 1000 * Decimal("2.5") / M
    assert c.cache_read_usd == 1000 * Decimal("1.25") / M
    assert c.cache_write_usd == 0


def test_long_context_tier_uses_total_input() -> None:
    # Sonnet 4.5 bills every token at the >200k tier once the WHOLE prompt exceeds 200k.
    below = cost("claude-sonnet-4-5", input_tokens=100_000, output_tokens=0)
    above = cost(
        "claude-sonnet-4-5", input_tokens=100_000, output_tokens=0, cache_read_tokens=150_000
    )
    assert below.input_usd == Decimal("0.3")
    assert above.input_usd == Decimal("0.6")


def test_str_is_a_dated_one_liner() -> None:
    c = cost("claude-sonnet-4-5", input_tokens=1000, output_tokens=100)
    text = str(c)
    assert "\n" not in text
    assert text.startswith("claude-sonnet-4-5: $0.004500")
    assert text.endswith(f"prices as of {PRICES_AS_OF} — verify current")
    assert "verify current" in c._repr_html_()
    assert pretty(c) == text  # what a notebook shows as text/plain
    assert isinstance(c, CostBreakdown)


def test_unknown_model_names_the_model() -> None:
    with pytest.raises(PricingError, match="no-such-model-9"):
        cost("no-such-model-9", input_tokens=1, output_tokens=1)
    with pytest.raises(PricingError, match="no-such-model-9"):
        prices("no-such-model-9")


def test_impossible_counts_are_rejected() -> None:
    with pytest.raises(ValueError, match="cache_write_1h_tokens"):
        cost("claude-sonnet-4-5", input_tokens=1, output_tokens=1, cache_write_1h_tokens=5)
    with pytest.raises(ValueError, match="input_tokens"):
        cost("claude-sonnet-4-5", input_tokens=-1, output_tokens=1)


counts = st.integers(min_value=0, max_value=400_000)
COUNT_FIELDS = ["input_tokens", "output_tokens", "cache_write_tokens", "cache_read_tokens"]


@settings(max_examples=60, deadline=None)
@given(
    model=st.sampled_from(["claude-sonnet-4-5", "claude-haiku-4-5", "gpt-4o", "gpt-4o-mini"]),
    base=st.fixed_dictionaries({f: counts for f in COUNT_FIELDS}),
    one_hour=st.floats(min_value=0, max_value=1),
    field=st.sampled_from(COUNT_FIELDS),
    extra=st.integers(min_value=1, max_value=50_000),
)
def test_total_is_sum_of_parts_and_monotone(
    model: str, base: dict[str, int], one_hour: float, field: str, extra: int
) -> None:
    one_h = int(base["cache_write_tokens"] * one_hour)
    c = cost(model, cache_write_1h_tokens=one_h, **base)
    assert c.total_usd == c.input_usd + c.output_usd + c.cache_write_usd + c.cache_read_usd
    assert min(c.input_usd, c.output_usd, c.cache_write_usd, c.cache_read_usd) >= 0
    more = cost(model, cache_write_1h_tokens=one_h, **(base | {field: base[field] + extra}))
    assert more.total_usd > c.total_usd
