"""Lab 04 checkers: the daily savings of a prompt cache, writes and reads priced correctly."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

from llmlab.check._registry import Case, exercise
from llmlab.reference import caching as ref

# (calls/day, cached, uncached, output, writes/day, $in, $out, what the case probes)
_CASES: list[tuple[int, int, int, int, int, float, float, str]] = [
    (1000, 5000, 200, 300, 288, 3.0, 15.0, "the textbook case: a write every 5 minutes"),
    (1000, 5000, 200, 300, 1, 3.0, 15.0, "the textbook case, kept warm by reads: one write"),
    (500, 20000, 100, 50, 100, 3.0, 15.0, "a large prefix and short replies"),
    (200, 2000, 500, 800, 200, 3.0, 15.0, "every call writes (no call ever reads)"),
    (10000, 8000, 0, 400, 24, 1.0, 5.0, "no uncached input at all, cheaper model"),
    (50, 1500, 300, 2000, 0, 15.0, 75.0, "a pre-warmed prefix: no writes, output-heavy"),
]
_HINTS = [
    "writes cost 1.25x the input price, reads 0.10x; the baseline pays 1.0x on every call",
    "only writes_per_day calls write; every other call reads the prefix",
    "return a fraction of the no-cache daily cost (0..1), not dollars",
    "the baseline includes the output tokens: they cost the same with or without a cache",
]


def _fmt(x: object) -> str:
    return f"{x:.4f}" if isinstance(x, float) else repr(x)


@exercise(
    "04.cache_savings",
    "cache_savings(calls_per_day: int, cached_tokens: int, uncached_tokens: int, "
    "output_tokens: int, writes_per_day: int, price_in: float, price_out: float) -> float",
    "fraction (0..1) of the daily cost saved by caching vs no cache (writes 1.25x, reads 0.10x)",
    ref.cache_savings,
)
def _check_cache_savings(candidate: Any) -> Iterator[Case]:
    for calls, cached, uncached, out, writes, p_in, p_out, what in _CASES:
        want = ref.cache_savings(calls, cached, uncached, out, writes, p_in, p_out)
        got = candidate(calls, cached, uncached, out, writes, p_in, p_out)
        ok = isinstance(got, int | float) and math.isclose(got, want, rel_tol=1e-6, abs_tol=1e-9)
        hint = _HINTS[0]
        if isinstance(got, int | float) and abs(got) > 1.5:
            hint = _HINTS[2]
        elif "one write" in what or "every call" in what:
            hint = _HINTS[1]
        elif "output" in what:
            hint = _HINTS[3]
        yield Case(
            ok=ok,
            input=(
                f"cache_savings({calls}, {cached}, {uncached}, {out}, writes_per_day={writes}, "
                f"price_in={p_in}, price_out={p_out}) - {what}"
            ),
            expected=_fmt(want),
            got=_fmt(got),
            hint=hint,
        )
