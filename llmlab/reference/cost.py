"""Token accounting in dollars: the per-call cost rule, a running cost meter, each message's
share of a prompt, a context-window check and the pre-call estimate of an SDK call (lab 02).

Prices are USD per million tokens. ``input_tokens`` means UNCACHED input (Anthropic's usage
convention); cache writes and reads are billed beside it at multiples of the input price.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from llmlab import tokens
from llmlab._exceptions import LlmlabError
from llmlab.reference.ledger import estimate_usd

PER_MILLION = 1_000_000


def cost_usd(
    input_tokens: int,
    output_tokens: int,
    price_in: float,
    price_out: float,
    cache_write_tokens: int = 0,
    cache_read_tokens: int = 0,
    write_multiplier: float = 1.25,
    read_multiplier: float = 0.10,
) -> float:
    """USD cost of one call; prices per million tokens, ``input_tokens`` = uncached input only.

    Cache writes cost ``write_multiplier`` x the input price, reads ``read_multiplier`` x.
    """
    input_usd = input_tokens * price_in
    write_usd = cache_write_tokens * price_in * write_multiplier
    read_usd = cache_read_tokens * price_in * read_multiplier
    output_usd = output_tokens * price_out
    return (input_usd + write_usd + read_usd + output_usd) / PER_MILLION


def _field(obj: Any, name: str) -> int:
    """A usage count that may be absent or None (SDK models make cache fields optional)."""
    value = getattr(obj, name, None) if obj is not None else None
    return int(value or 0)


def usage_counts(usage: Any) -> tuple[int, int, int, int]:
    """(uncached input, output, cache write, cache read) from an Anthropic ``Usage`` or an
    OpenAI ``CompletionUsage`` (whose ``prompt_tokens`` INCLUDES ``cached_tokens``)."""
    if hasattr(usage, "prompt_tokens"):
        cached = _field(getattr(usage, "prompt_tokens_details", None), "cached_tokens")
        return usage.prompt_tokens - cached, usage.completion_tokens, 0, cached
    return (
        _field(usage, "input_tokens"),
        _field(usage, "output_tokens"),
        _field(usage, "cache_creation_input_tokens"),
        _field(usage, "cache_read_input_tokens"),
    )


class CostMeter:
    """Running USD total across calls, fed each response's ``usage`` (either provider)."""

    def __init__(
        self,
        price_in: float,
        price_out: float,
        write_multiplier: float = 1.25,
        read_multiplier: float = 0.10,
    ) -> None:
        self.price_in = price_in
        self.price_out = price_out
        self.write_multiplier = write_multiplier
        self.read_multiplier = read_multiplier
        self.calls = 0
        self.total_usd = 0.0

    def add(self, usage: Any) -> float:
        """Record one call's usage; returns that call's cost in USD."""
        uncached, output, write, read = usage_counts(usage)
        call_usd = cost_usd(
            uncached,
            output,
            self.price_in,
            self.price_out,
            cache_write_tokens=write,
            cache_read_tokens=read,
            write_multiplier=self.write_multiplier,
            read_multiplier=self.read_multiplier,
        )
        self.calls += 1
        self.total_usd += call_usd
        return call_usd


def message_tokens(message: Mapping[str, Any], model: str = "gpt-4.1-mini") -> int:
    """Prompt tokens one chat message adds: 3 framing + its fields' tokens (+1 for a name)."""
    return tokens.chat_tokens([message], model) - tokens.REPLY_PRIMING


def message_shares(
    messages: Sequence[Mapping[str, Any]], model: str = "gpt-4.1-mini"
) -> list[float]:
    """Each message's fraction of the request's prompt tokens, per-message overhead included.

    The denominator is the whole billed prompt (``usage.prompt_tokens``), so the shares sum
    to slightly less than 1: the 3 reply-priming tokens belong to no message.
    """
    total = tokens.chat_tokens(messages, model)
    return [message_tokens(m, model) / total for m in messages]


class ContextWindowError(LlmlabError, ValueError):
    """The prompt plus the reserved output would not fit the model's context window."""


def ensure_fits(
    messages: Sequence[Mapping[str, Any]],
    model: str,
    max_tokens: int,
    context_window: int,
) -> int:
    """Raise before sending when estimated prompt + ``max_tokens`` exceeds the window.

    Returns the estimated prompt tokens (OpenAI chat accounting) when the request fits.
    """
    prompt = tokens.chat_tokens(messages, model)
    if prompt + max_tokens > context_window:
        raise ContextWindowError(
            f"{prompt} prompt tokens + max_tokens={max_tokens} = {prompt + max_tokens} "
            f"> the {context_window}-token context window of {model}"
        )
    return prompt


def prompt_estimate(provider: str, model: str, params: Mapping[str, Any]) -> int:
    """Input tokens of the SDK call ``params`` (``messages.create``, ``chat.completions.create``
    or ``responses.create`` keyword arguments), counted locally before it is sent: the
    provider reports the same number.

    Anthropic counts ``system`` and ``tools`` beside the messages; OpenAI Chat's system prompt
    is a message, so its chat-format framing applies, and tool definitions are added; OpenAI
    Responses' arguments carry ``instructions`` + ``input`` (items) instead of ``messages``.
    """
    if provider == "anthropic":
        return tokens.anthropic_tokens(
            params["messages"], system=params.get("system"), tools=params.get("tools")
        )
    if provider == "openai" and "input" in params:
        return tokens.responses_tokens(
            params["input"], params.get("instructions"), params.get("tools"), model
        )
    if provider == "openai":
        return tokens.chat_tokens(params["messages"], model) + tokens.chat_tools_tokens(
            params.get("tools"), model
        )
    raise ValueError(f"provider must be 'anthropic' or 'openai', got {provider!r}")


#: the output limit's name in messages.create, chat.completions.create and responses.create
OUTPUT_LIMITS = ("max_tokens", "max_completion_tokens", "max_output_tokens")


def estimate_call(provider: str, model: str, params: Mapping[str, Any]) -> tuple[int, float]:
    """(input tokens, worst-case USD) of the SDK call ``params``, before it is sent.

    The worst case prices the whole input uncached and all of the output limit (``max_tokens``;
    OpenAI Chat: ``max_completion_tokens``; Responses: ``max_output_tokens``) at the output
    price: what a budget must reserve for the call.
    """
    limit = next((params[k] for k in OUTPUT_LIMITS if k in params), None)
    if not isinstance(limit, int) or isinstance(limit, bool):
        raise ValueError(
            "params need an int output limit: max_tokens (OpenAI: max_completion_tokens, "
            "or Responses' max_output_tokens)"
        )
    n = prompt_estimate(provider, model, params)
    return n, estimate_usd(model, input_tokens=n, max_tokens=limit, provider=provider)
