"""Lab 02 checkers pass the reference and reject each plausible wrong answer."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pytest

from llmlab import tokens
from llmlab.check import all_exercises, get, run
from llmlab.reference import cost as ref

from ._helpers import first_hint

# ---------------------------------------------------------------- wrong cost_usd variants


def cost_reads_at_write_rate(
    input_tokens: int,
    output_tokens: int,
    price_in: float,
    price_out: float,
    cache_write_tokens: int = 0,
    cache_read_tokens: int = 0,
    write_multiplier: float = 1.25,
    read_multiplier: float = 0.10,
) -> float:
    """1.25x applied to reads as well as writes."""
    cached = (cache_write_tokens + cache_read_tokens) * price_in * write_multiplier
    return (input_tokens * price_in + output_tokens * price_out + cached) / 1e6


def cost_swapped_multipliers(
    input_tokens: int,
    output_tokens: int,
    price_in: float,
    price_out: float,
    cache_write_tokens: int = 0,
    cache_read_tokens: int = 0,
    write_multiplier: float = 1.25,
    read_multiplier: float = 0.10,
) -> float:
    """The read multiplier applied to writes (and the write one to reads)."""
    return ref.cost_usd(
        input_tokens,
        output_tokens,
        price_in,
        price_out,
        cache_write_tokens,
        cache_read_tokens,
        read_multiplier,
        write_multiplier,
    )


def cost_writes_at_read_rate(
    input_tokens: int,
    output_tokens: int,
    price_in: float,
    price_out: float,
    cache_write_tokens: int = 0,
    cache_read_tokens: int = 0,
    write_multiplier: float = 1.25,
    read_multiplier: float = 0.10,
) -> float:
    """Writes billed like reads (the read multiplier applied to writes)."""
    return ref.cost_usd(
        input_tokens,
        output_tokens,
        price_in,
        price_out,
        cache_write_tokens,
        cache_read_tokens,
        read_multiplier,
        read_multiplier,
    )


def cost_no_per_million(
    input_tokens: int,
    output_tokens: int,
    price_in: float,
    price_out: float,
    cache_write_tokens: int = 0,
    cache_read_tokens: int = 0,
    write_multiplier: float = 1.25,
    read_multiplier: float = 0.10,
) -> float:
    return 1e6 * ref.cost_usd(
        input_tokens,
        output_tokens,
        price_in,
        price_out,
        cache_write_tokens,
        cache_read_tokens,
        write_multiplier,
        read_multiplier,
    )


def cost_cache_also_input(
    input_tokens: int,
    output_tokens: int,
    price_in: float,
    price_out: float,
    cache_write_tokens: int = 0,
    cache_read_tokens: int = 0,
    write_multiplier: float = 1.25,
    read_multiplier: float = 0.10,
) -> float:
    """Treats input_tokens as the total: cache tokens billed at full price AND as cache."""
    return ref.cost_usd(
        input_tokens + cache_write_tokens + cache_read_tokens,
        output_tokens,
        price_in,
        price_out,
        cache_write_tokens,
        cache_read_tokens,
        write_multiplier,
        read_multiplier,
    )


def cost_fixed_multipliers(
    input_tokens: int,
    output_tokens: int,
    price_in: float,
    price_out: float,
    cache_write_tokens: int = 0,
    cache_read_tokens: int = 0,
    write_multiplier: float = 1.25,
    read_multiplier: float = 0.10,
) -> float:
    """Ignores the multiplier arguments."""
    return ref.cost_usd(
        input_tokens,
        output_tokens,
        price_in,
        price_out,
        cache_write_tokens,
        cache_read_tokens,
    )


# ---------------------------------------------------------------- wrong CostMeter variants


class MeterLastCallOnly(ref.CostMeter):
    def add(self, usage: Any) -> float:
        call = super().add(usage)
        self.total_usd = call
        return call


class MeterOpenAIDoubleCounts(ref.CostMeter):
    """Bills prompt_tokens in full AND cached_tokens again as reads."""

    def add(self, usage: Any) -> float:
        if hasattr(usage, "prompt_tokens"):
            d = usage.prompt_tokens_details
            cached = (d.cached_tokens or 0) if d else 0
            call = ref.cost_usd(
                usage.prompt_tokens,
                usage.completion_tokens,
                self.price_in,
                self.price_out,
                cache_read_tokens=cached,
                read_multiplier=self.read_multiplier,
            )
            self.total_usd += call
            return call
        return super().add(usage)


class MeterIgnoresCache(ref.CostMeter):
    def add(self, usage: Any) -> float:
        if hasattr(usage, "prompt_tokens"):
            call = ref.cost_usd(
                usage.prompt_tokens, usage.completion_tokens, self.price_in, self.price_out
            )
        else:
            call = ref.cost_usd(
                usage.input_tokens, usage.output_tokens, self.price_in, self.price_out
            )
        self.total_usd += call
        return call


class MeterCrashesOnNone(ref.CostMeter):
    def add(self, usage: Any) -> float:
        if not hasattr(usage, "prompt_tokens"):
            _ = usage.cache_creation_input_tokens + 0  # TypeError when None
        else:
            _ = usage.prompt_tokens_details.cached_tokens  # AttributeError when None
        return super().add(usage)


# ---------------------------------------------------------------- wrong message_shares variants


def shares_text_only(messages: Sequence[Mapping[str, Any]], model: str = "gpt-4.1-mini"):
    counts = [tokens.count(str(m.get("content", "")), model) for m in messages]
    return [c / tokens.chat_tokens(messages, model) for c in counts]


def shares_sum_to_one(messages: Sequence[Mapping[str, Any]], model: str = "gpt-4.1-mini"):
    counts = [ref.message_tokens(m, model) for m in messages]
    return [c / sum(counts) for c in counts]


def shares_by_chars(messages: Sequence[Mapping[str, Any]], model: str = "gpt-4.1-mini"):
    counts = [len(str(m.get("content", ""))) for m in messages]
    return [c / sum(counts) for c in counts]


def shares_fixed_tokenizer(messages: Sequence[Mapping[str, Any]], model: str = "gpt-4.1-mini"):
    return ref.message_shares(messages, "gpt-4o")


def shares_no_name_token(messages: Sequence[Mapping[str, Any]], model: str = "gpt-4.1-mini"):
    total = tokens.chat_tokens(messages, model)
    out = []
    for m in messages:
        n = 3 + sum(tokens.count(str(v), model) for v in m.values())
        out.append(n / total)
    return out


def cost_output_at_input_rate(
    input_tokens: int,
    output_tokens: int,
    price_in: float,
    price_out: float,
    cache_write_tokens: int = 0,
    cache_read_tokens: int = 0,
    write_multiplier: float = 1.25,
    read_multiplier: float = 0.10,
) -> float:
    per = price_in / 1e6
    return (
        input_tokens * per
        + cache_write_tokens * per * write_multiplier
        + cache_read_tokens * per * read_multiplier
        + output_tokens * per  # output priced at the input rate
    )


def cost_no_output(
    input_tokens: int,
    output_tokens: int,
    price_in: float,
    price_out: float,
    cache_write_tokens: int = 0,
    cache_read_tokens: int = 0,
    write_multiplier: float = 1.25,
    read_multiplier: float = 0.10,
) -> float:
    return ref.cost_usd(
        input_tokens,
        0,
        price_in,
        price_out,
        cache_write_tokens,
        cache_read_tokens,
        write_multiplier,
        read_multiplier,
    )


WRONG: dict[str, list[Any]] = {
    "02.cost_usd": [
        cost_reads_at_write_rate,
        cost_swapped_multipliers,
        cost_writes_at_read_rate,
        cost_no_per_million,
        cost_cache_also_input,
        cost_fixed_multipliers,
        cost_output_at_input_rate,
        cost_no_output,
    ],
    "02.CostMeter": [
        MeterLastCallOnly,
        MeterOpenAIDoubleCounts,
        MeterIgnoresCache,
        MeterCrashesOnNone,
    ],
    "02.message_shares": [
        shares_text_only,
        shares_sum_to_one,
        shares_by_chars,
        shares_fixed_tokenizer,
        shares_no_name_token,
    ],
}
IDS = list(WRONG)


@pytest.mark.parametrize("exercise_id", IDS)
def test_reference_passes(exercise_id: str) -> None:
    result = run(exercise_id, get(exercise_id).reference)
    assert result.passed, result.report()


@pytest.mark.parametrize(
    ("exercise_id", "wrong"),
    [(eid, fn) for eid, fns in WRONG.items() for fn in fns],
    ids=lambda v: getattr(v, "__name__", v),
)
def test_wrong_variant_fails(exercise_id: str, wrong: Any) -> None:
    result = run(exercise_id, wrong)
    assert result.attempted and not result.passed, f"{wrong.__name__} was accepted"


@pytest.mark.parametrize(
    ("exercise_id", "wrong", "words"),
    [
        ("02.cost_usd", cost_output_at_input_rate, "price_out, not price_in"),
        ("02.cost_usd", cost_no_output, "output tokens' cost"),
        ("02.cost_usd", cost_no_per_million, "MILLION"),
        ("02.cost_usd", cost_fixed_multipliers, "multipliers passed in"),
        ("02.cost_usd", cost_cache_also_input, "do not add them to the input"),
        ("02.CostMeter", MeterOpenAIDoubleCounts, "INCLUDES cached_tokens"),
    ],
    ids=lambda v: getattr(v, "__name__", None) if callable(v) else None,
)
def test_first_hint_names_the_mistake(exercise_id: str, wrong: Any, words: str) -> None:
    result = run(exercise_id, wrong)
    assert not result.passed and words in first_hint(result), result.report()


def _stub_fn(*args: Any, **kwargs: Any) -> Any:
    raise NotImplementedError


class _StubMeter:
    def __init__(self, *args: Any) -> None:
        pass

    def add(self, usage: Any) -> float:
        raise NotImplementedError


@pytest.mark.parametrize(
    ("exercise_id", "stub"),
    [("02.cost_usd", _stub_fn), ("02.CostMeter", _StubMeter), ("02.message_shares", _stub_fn)],
)
def test_stub_not_attempted(exercise_id: str, stub: Any) -> None:
    result = run(exercise_id, stub)
    assert not result.attempted and "not attempted yet" in result.report()


def test_cost_usd_signature_listed() -> None:
    ids = {e.id: e.signature for e in all_exercises()}
    assert ids["02.cost_usd"] == (
        "cost_usd(input_tokens: int, output_tokens: int, price_in: float, price_out: float, "
        "cache_write_tokens: int = 0, cache_read_tokens: int = 0, write_multiplier: float = 1.25, "
        "read_multiplier: float = 0.10) -> float"
    )
    assert "02.CostMeter" in ids and "02.message_shares" in ids


def test_shares_sum_to_prompt_minus_priming() -> None:
    messages = [{"role": "user", "content": "hello there"}, {"role": "assistant", "content": "hi"}]
    total = tokens.chat_tokens(messages, "gpt-4.1-mini")
    assert sum(ref.message_shares(messages)) == pytest.approx((total - 3) / total)


# -- 02.estimate_call -------------------------------------------------------------------------
def _max_tokens(params: dict[str, Any]) -> int:
    return int(next((params[k] for k in ref.OUTPUT_LIMITS if k in params), 0))


def _worst_usd(provider: str, model: str, n: int, params: dict[str, Any]) -> float:
    from llmlab.pricing import cost

    return float(
        cost(model, input_tokens=n, output_tokens=_max_tokens(params), provider=provider).total_usd
    )


def estimate_without_system(provider: str, model: str, params: dict[str, Any]) -> tuple[int, float]:
    from llmlab import tokens

    if provider == "anthropic":
        n = tokens.anthropic_tokens(params["messages"], tools=params.get("tools"))
    else:
        n = tokens.chat_tokens(params["messages"], model) + tokens.chat_tools_tokens(
            params.get("tools"), model
        )
    return n, _worst_usd(provider, model, n, params)


def estimate_text_only(provider: str, model: str, params: dict[str, Any]) -> tuple[int, float]:
    from llmlab import tokens

    if provider == "anthropic":
        return ref.estimate_call(provider, model, params)
    n = sum(tokens.count(str(m.get("content", "")), model) for m in params["messages"])
    return n, _worst_usd(provider, model, n, params)


def estimate_no_output(provider: str, model: str, params: dict[str, Any]) -> tuple[int, float]:
    from llmlab.pricing import cost

    n, _ = ref.estimate_call(provider, model, params)
    return n, float(cost(model, input_tokens=n, output_tokens=0, provider=provider).total_usd)


def estimate_only_max_tokens(
    provider: str, model: str, params: dict[str, Any]
) -> tuple[int, float]:
    n = ref.prompt_estimate(provider, model, params)
    from llmlab.pricing import cost

    limit = params["max_tokens"]
    return n, float(cost(model, input_tokens=n, output_tokens=limit, provider=provider).total_usd)


def estimate_chat_only(provider: str, model: str, params: dict[str, Any]) -> tuple[int, float]:
    """Last stop's reference: Chat's messages only (a Responses call has none)."""
    from llmlab import tokens

    if provider == "anthropic":
        return ref.estimate_call(provider, model, params)
    n = tokens.chat_tokens(params["messages"], model) + tokens.chat_tools_tokens(
        params.get("tools"), model
    )
    return n, _worst_usd(provider, model, n, params)


def estimate_messages_or_nothing(
    provider: str, model: str, params: dict[str, Any]
) -> tuple[int, float]:
    from llmlab import tokens

    if provider == "anthropic":
        return ref.estimate_call(provider, model, params)
    n = tokens.chat_tokens(params.get("messages", []), model) + tokens.chat_tools_tokens(
        params.get("tools"), model
    )
    return n, _worst_usd(provider, model, n, params)


def estimate_without_instructions(
    provider: str, model: str, params: dict[str, Any]
) -> tuple[int, float]:
    from llmlab import tokens

    if "input" not in params:
        return ref.estimate_call(provider, model, params)
    n = tokens.responses_tokens(params["input"], tools=params.get("tools"), model=model)
    return n, _worst_usd(provider, model, n, params)


def estimate_without_responses_tools(
    provider: str, model: str, params: dict[str, Any]
) -> tuple[int, float]:
    from llmlab import tokens

    if "input" not in params:
        return ref.estimate_call(provider, model, params)
    n = tokens.responses_tokens(params["input"], params.get("instructions"), model=model)
    return n, _worst_usd(provider, model, n, params)


def estimate_two_limit_names(
    provider: str, model: str, params: dict[str, Any]
) -> tuple[int, float]:
    from llmlab.pricing import cost

    n = ref.prompt_estimate(provider, model, params)
    limit = params.get("max_tokens", params.get("max_completion_tokens", 0))
    return n, float(cost(model, input_tokens=n, output_tokens=limit, provider=provider).total_usd)


def estimate_decimal(provider: str, model: str, params: dict[str, Any]) -> tuple[int, Any]:
    from llmlab.pricing import cost

    n = ref.prompt_estimate(provider, model, params)
    return n, cost(
        model, input_tokens=n, output_tokens=_max_tokens(params), provider=provider
    ).total_usd


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (estimate_without_system, "the system prompt is input too"),
        (estimate_text_only, "each message adds 3 framing tokens"),
        (estimate_no_output, "all of max_tokens at the OUTPUT price"),
        (estimate_only_max_tokens, "max_completion_tokens (OpenAI Chat)"),
        (estimate_chat_only, "Responses params carry instructions + input"),
        (estimate_messages_or_nothing, "Responses params carry instructions + input"),
        (estimate_without_instructions, "the instructions are input too"),
        (estimate_without_responses_tools, "tool definitions are input too: pass tools= to"),
        (estimate_two_limit_names, "a Responses call names it max_output_tokens"),
        (estimate_decimal, "return a float"),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_estimate_call_names_the_mistake(wrong: Any, words: str) -> None:
    result = run("02.estimate_call", wrong)
    assert not result.passed and words in first_hint(result), result.report()


def test_estimate_call_reference_passes_stub_not_attempted() -> None:
    assert run("02.estimate_call", ref.estimate_call).passed

    def stub(provider: str, model: str, params: dict[str, Any]) -> tuple[int, float]:
        raise NotImplementedError

    assert not run("02.estimate_call", stub).attempted
