"""Lab 04 checkers: the daily savings of a prompt cache, writes and reads priced correctly."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from llmlab.check._diagnose import Mistake, verdict
from llmlab.check._registry import Case, exercise
from llmlab.check._sandbox import call
from llmlab.reference import caching as ref

# (calls/day, cached, uncached, output, writes/day, $in, $out, what the case probes)
_CASES: list[tuple[int, int, int, int, int, float, float, str]] = [
    (1000, 5000, 200, 300, 288, 3.0, 15.0, "the textbook case: a write every 5 minutes"),
    (1000, 5000, 200, 300, 1, 3.0, 15.0, "the textbook case, kept warm by reads: one write"),
    (500, 20000, 100, 50, 100, 3.0, 15.0, "a large prefix and short replies"),
    (200, 2000, 500, 800, 200, 3.0, 15.0, "every call writes (no call ever reads)"),
    (10000, 8000, 0, 400, 24, 1.0, 5.0, "no uncached input at all, cheaper model"),
    (50, 1500, 300, 2000, 0, 15.0, 75.0, "a pre-warmed prefix: no writes, output-heavy"),
    (100, 4000, 100, 200, 288, 3.0, 15.0, "more writes scheduled than calls: every call writes"),
]
_RULE = "writes cost 1.25x the input price, reads 0.10x; the baseline pays 1.0x on every call"


def _savings(
    args: tuple[int, int, int, int, int, float, float],
    *,
    output: bool = True,
    uncached: bool = True,
    clamp: bool = True,
    w: float = 1.25,
    r: float = 0.10,
    dollars: bool = False,
    base_output: bool = True,
) -> float:
    """``cache_savings`` with one rule broken the way a plausible mistake breaks it."""
    calls, cached, unc, out, writes, p_in, p_out = args
    rest = calls * ((unc * p_in if uncached else 0) + (out * p_out if output else 0))
    base = calls * cached * p_in + rest - (0 if base_output else calls * out * p_out)
    n = min(writes, calls) if clamp else writes
    prefix = (n * w + (calls - n) * r) * cached * p_in
    saved = base - (prefix + rest)
    return saved / 1e6 if dollars else saved / base


def _mistakes(args: tuple[int, int, int, int, int, float, float]) -> list[Mistake]:
    return [
        (
            "the totals include the output tokens (and the uncached input): they cost the same "
            "with or without a cache, but belong in both totals, so the fraction is smaller",
            lambda: _savings(args, output=False),
        ),
        (
            "the totals include the output tokens: they cost the same with or without a cache, "
            "but belong in both totals",
            lambda: _savings(args, output=False, uncached=False),
        ),
        (
            "the no-cache baseline includes the output tokens too, exactly as the cached total "
            "does",
            lambda: _savings(args, base_output=False),
        ),
        (
            "the totals include the uncached input tokens too (at 1.0x in both totals)",
            lambda: _savings(args, uncached=False),
        ),
        (
            "no more calls can write than there are calls: writes = min(writes_per_day, "
            "calls_per_day)",
            lambda: _savings(args, clamp=False),
        ),
        ("return the FRACTION saved (0..1), not dollars", lambda: _savings(args, dollars=True)),
        ("reads cost 0.10x the input price, not 1.25x", lambda: _savings(args, r=1.25)),
        ("writes cost 1.25x the input price (a premium), not 1.0x", lambda: _savings(args, w=1.0)),
        (
            "only writes_per_day calls write; every other call reads the prefix at 0.10x",
            lambda: _savings(args, r=1.25 if args[4] else 0.10, w=1.25),
        ),
    ]


def _fmt(x: object) -> str:
    return f"{x:.4f}" if isinstance(x, float) else repr(x)


def _same(got: Any, want: float) -> bool:
    return (
        isinstance(got, int | float)
        and not isinstance(got, bool)
        and math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9)
    )


@exercise(
    "04.cache_savings",
    "cache_savings(calls_per_day: int, cached_tokens: int, uncached_tokens: int, "
    "output_tokens: int, writes_per_day: int, price_in: float, price_out: float) -> float",
    "fraction (0..1) of the daily cost saved by caching vs no cache (writes 1.25x, reads 0.10x)",
    ref.cache_savings,
)
def _check_cache_savings(candidate: Any) -> Iterator[Case]:
    for calls, cached, uncached, out, writes, p_in, p_out, what in _CASES:
        args = (calls, cached, uncached, out, writes, p_in, p_out)
        label = (
            f"cache_savings({calls}, {cached}, {uncached}, {out}, writes_per_day={writes}, "
            f"price_in={p_in}, price_out={p_out}) - {what}"
        )
        yield verdict(
            label,
            call(label, candidate, *args),
            ref.cache_savings(*args),
            same=_same,
            show=_fmt,
            rule=_RULE,
            mistakes=_mistakes(args),
        )
