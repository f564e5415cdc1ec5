"""Lab 00 checker: the tour exercise, the whole input of an Anthropic call from its usage.

Anthropic's ``usage.input_tokens`` counts only the *uncached* input; cache writes and reads are
reported beside it. Forgetting them is the classic under-count (lab 04 measures what it costs).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llmlab.check._diagnose import Mistake, verdict
from llmlab.check._registry import Case, exercise
from llmlab.check._sandbox import call

_FIELDS = ("input_tokens", "cache_creation_input_tokens", "cache_read_input_tokens")

# (usage as the API reports it, what the case probes)
_CASES: list[tuple[dict[str, int], str]] = [
    (
        {
            "input_tokens": 16,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "output_tokens": 40,
        },
        "a short call, no cache",
    ),
    (
        {
            "input_tokens": 15,
            "cache_creation_input_tokens": 1256,
            "cache_read_input_tokens": 0,
            "output_tokens": 10,
        },
        "the call that writes a cached system prompt",
    ),
    (
        {
            "input_tokens": 13,
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 1256,
            "output_tokens": 10,
        },
        "the next call, which reads it",
    ),
    (
        {
            "input_tokens": 3,
            "cache_creation_input_tokens": 22,
            "cache_read_input_tokens": 1271,
            "output_tokens": 7,
        },
        "a conversation turn that reads and writes",
    ),
    (
        {
            "input_tokens": 41,
            "cache_creation_input_tokens": 310,
            "cache_read_input_tokens": 4700,
            "output_tokens": 120,
        },
        "a long document read from the cache, a new question written after it",
    ),
]


def reference_total_input_tokens(usage: dict[str, int]) -> int:
    """Every input token of the call: uncached, written to the cache and read from it."""
    return sum(usage[f] for f in _FIELDS)


def _mistakes(usage: dict[str, int]) -> list[Mistake]:
    return [
        (
            "input_tokens is only the UNCACHED part: add cache_creation_input_tokens and "
            "cache_read_input_tokens",
            lambda: usage["input_tokens"],
        ),
        (
            "cache reads are input too: add cache_read_input_tokens",
            lambda: usage["input_tokens"] + usage["cache_creation_input_tokens"],
        ),
        (
            "cache writes are input too: add cache_creation_input_tokens",
            lambda: usage["input_tokens"] + usage["cache_read_input_tokens"],
        ),
        (
            "output_tokens is not input: leave it out",
            lambda: sum(usage[f] for f in _FIELDS) + usage["output_tokens"],
        ),
    ]


@exercise(
    "00.total_input_tokens",
    "total_input_tokens(usage: dict[str, int]) -> int",
    "all input tokens of an Anthropic call: uncached + cache writes + cache reads",
    reference_total_input_tokens,
)
def _check_total_input_tokens(candidate: Any) -> Iterator[Case]:
    for usage, what in _CASES:
        label = f"usage {usage} - {what}"
        yield verdict(
            label,
            call(label, candidate, dict(usage)),  # a copy: the learner may not mutate ours
            reference_total_input_tokens(usage),
            same=lambda got, want: (
                isinstance(got, int) and not isinstance(got, bool) and got == want
            ),
            show=repr,
            rule="input_tokens + cache_creation_input_tokens + cache_read_input_tokens",
            mistakes=_mistakes(usage),
        )
