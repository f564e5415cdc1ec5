"""Prompt-caching references (lab 04): where the cache breakpoint goes, and what a cache saves
per day versus paying full price.

Anthropic's multipliers on the base input price: a 5-minute cache write costs 1.25x, a read
0.10x. Output is never cached, so it stays in both the baseline and the cached cost.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from typing import Any

from llmlab import tokens
from llmlab.sim import MODELS

__all__ = [
    "WRITE_MULTIPLIER",
    "READ_MULTIPLIER",
    "cache_breakpoint",
    "cache_savings",
    "daily_cost",
    "prefix_tokens",
]

WRITE_MULTIPLIER = 1.25
READ_MULTIPLIER = 0.10
_PER_MTOK = 1_000_000


def daily_cost(
    calls_per_day: int,
    cached_tokens: int,
    uncached_tokens: int,
    output_tokens: int,
    writes_per_day: int | None,
    price_in: float,
    price_out: float,
) -> float:
    """USD per day; ``writes_per_day=None`` means no caching at all (the baseline).

    With caching, ``writes_per_day`` calls write the prefix (1.25x) and every other call reads
    it (0.10x); the uncached suffix and the output cost the same either way.
    """
    if writes_per_day is None:
        prefix = calls_per_day * cached_tokens * price_in
    else:
        writes = min(writes_per_day, calls_per_day)
        reads = calls_per_day - writes
        prefix = (
            writes * cached_tokens * price_in * WRITE_MULTIPLIER
            + reads * cached_tokens * price_in * READ_MULTIPLIER
        )
    rest = calls_per_day * (uncached_tokens * price_in + output_tokens * price_out)
    return (prefix + rest) / _PER_MTOK


def cache_savings(
    calls_per_day: int,
    cached_tokens: int,
    uncached_tokens: int,
    output_tokens: int,
    writes_per_day: int,
    price_in: float,
    price_out: float,
) -> float:
    """Fraction (0..1) of the total daily cost that caching saves versus no caching at all.

    Prices are USD per million tokens. ``writes_per_day`` calls pay the 1.25x write premium, the
    other calls read at 0.10x; the baseline pays full input price on every call, plus output.
    """
    args = (calls_per_day, cached_tokens, uncached_tokens, output_tokens)
    baseline = daily_cost(*args, None, price_in, price_out)
    cached = daily_cost(*args, writes_per_day, price_in, price_out)
    return 0.0 if baseline == 0 else (baseline - cached) / baseline


def prefix_tokens(params: Mapping[str, Any]) -> int:
    """Tokens of the stable prefix of Anthropic ``params``: the tools, then the system prompt."""
    return tokens.anthropic_tokens([], system=params.get("system"), tools=params.get("tools"))


def cache_breakpoint(params: Mapping[str, Any], model: str) -> dict[str, Any]:
    """A copy of Anthropic ``params`` with a cache breakpoint closing the stable prefix.

    The prefix is tools -> system (the messages after it change every call); the breakpoint is
    ``cache_control: {"type": "ephemeral"}`` on the LAST system block (a string system becomes
    one text block), set only when the prefix reaches the model's minimum: below it nothing
    would be cached. Without a system prompt the copy is unchanged; ``params`` never changes.
    """
    out = copy.deepcopy(dict(params))
    if not out.get("system") or prefix_tokens(out) < MODELS[model].cache_min_tokens:
        return out
    if isinstance(out["system"], str):
        out["system"] = [{"type": "text", "text": out["system"]}]
    out["system"][-1]["cache_control"] = {"type": "ephemeral"}
    return out
