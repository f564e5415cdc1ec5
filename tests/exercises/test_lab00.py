"""00.total_input_tokens: the tour exercise tells the classic under-counts apart."""

from __future__ import annotations

from typing import Any

import pytest

from llmlab.check import run

from ._helpers import first_hint


def total_input_tokens(usage: dict[str, int]) -> int:
    return (
        usage["input_tokens"]
        + usage["cache_creation_input_tokens"]
        + usage["cache_read_input_tokens"]
    )


def only_uncached(usage: dict[str, int]) -> int:
    return usage["input_tokens"]


def forgets_reads(usage: dict[str, int]) -> int:
    return usage["input_tokens"] + usage["cache_creation_input_tokens"]


def forgets_writes(usage: dict[str, int]) -> int:
    return usage["input_tokens"] + usage["cache_read_input_tokens"]


def counts_output(usage: dict[str, int]) -> int:
    return sum(usage.values())


def stub(usage: dict[str, int]) -> int:
    raise NotImplementedError  # YOUR CODE HERE


def test_the_right_answer_passes_and_the_stub_is_not_attempted() -> None:
    assert run("00.total_input_tokens", total_input_tokens).passed
    untouched = run("00.total_input_tokens", stub)
    assert not untouched.attempted and not untouched.passed


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (only_uncached, "only the UNCACHED part"),
        (forgets_reads, "cache reads are input too"),
        (forgets_writes, "cache writes are input too"),
        (counts_output, "output_tokens is not input"),
    ],
    ids=["only-uncached", "forgets-reads", "forgets-writes", "counts-output"],
)
def test_each_under_or_over_count_is_named_first(wrong: Any, words: str) -> None:
    result = run("00.total_input_tokens", wrong)
    assert result.attempted and not result.passed
    assert words in first_hint(result), result.report()
