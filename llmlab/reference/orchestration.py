"""Orchestration over an LLMClient (lab 10): bounded map-reduce, majority votes, call timelines.

Nothing here knows a provider: every function takes something with ``async generate(request)``
(an :class:`~llmlab.reference.client.LLMClient`, or a :class:`Recorder` around one).
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmlab.reference.client import LLMRequest, LLMResult

__all__ = [
    "COMBINE_SYSTEM",
    "MAP_SYSTEM",
    "SEVERITY_ORDER",
    "Recorder",
    "Span",
    "majority_vote",
    "map_reduce",
]

MAP_SYSTEM = "Summarise this section of a postmortem in two sentences for an engineering lead."
COMBINE_SYSTEM = "Combine these numbered section summaries into one summary of the incident."
SEVERITY_ORDER = ("sev1", "sev2", "sev3", "sev4")  # most severe first


@dataclass(frozen=True)
class Span:
    """One call on a timeline: seconds from the recorder's start, and who answered."""

    label: str
    start: float
    end: float
    provider: str = ""


@dataclass
class Recorder:
    """Wraps a client and records every ``generate`` call's span and the peak concurrency."""

    client: Any
    clock: Callable[[], float] = time.perf_counter
    spans: list[Span] = field(default_factory=list)  # in the order calls finished
    results: list[tuple[LLMRequest, LLMResult]] = field(default_factory=list)  # as finished
    in_flight: int = 0
    peak: int = 0

    def __post_init__(self) -> None:
        self.t0 = self.clock()

    async def generate(self, request: LLMRequest, **options: Any) -> LLMResult:
        start = self.clock() - self.t0
        self.in_flight += 1
        self.peak = max(self.peak, self.in_flight)
        try:
            result: LLMResult = await self.client.generate(request, **options)
        finally:
            self.in_flight -= 1
        label = request.messages[0].text[:24]
        self.spans.append(Span(label, start, self.clock() - self.t0, result.provider))
        self.results.append((request, result))
        return result


async def map_reduce(
    client: Any,
    chunks: Sequence[str],
    *,
    limit: int = 5,
    max_tokens: int = 60,
) -> LLMResult:
    """Summarise ``chunks`` concurrently, at most ``limit`` at a time, then combine in order.

    ``asyncio.gather`` returns results in the order of its arguments, whatever order they
    finish in, so the combine call sees section 1 first.
    """
    gate = asyncio.Semaphore(limit)

    async def summarise(chunk: str) -> LLMResult:
        async with gate:
            request = LLMRequest.ask(chunk, system=MAP_SYSTEM, max_tokens=max_tokens)
            result: LLMResult = await client.generate(request)
            return result

    parts = await asyncio.gather(*(summarise(c) for c in chunks))
    numbered = "\n".join(f"{i}. {p.text}" for i, p in enumerate(parts, 1))
    final: LLMResult = await client.generate(
        LLMRequest.ask(numbered, system=COMBINE_SYSTEM, max_tokens=max_tokens)
    )
    return final


def majority_vote(labels: Sequence[str], order: Sequence[str] = SEVERITY_ORDER) -> str:
    """The most common label; a tie goes to the label earliest in ``order`` (the most severe).

    Escalating on a tie is the safe side for triage: a sev2 read as sev3 pages nobody.
    """
    if not labels:
        raise ValueError("majority_vote needs at least one label")
    counts = Counter(labels)
    top = max(counts.values())
    tied = [label for label, n in counts.items() if n == top]
    rank = {label: i for i, label in enumerate(order)}
    return min(tied, key=lambda label: rank.get(label, len(rank)))
