"""Lab 11 checkers: the references pass; plausible wrong budgets and summaries fail, named."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pytest

from llmlab.check import run
from llmlab.reference import context as ref
from llmlab.reference.context import CountFn, Turn, fold_point, with_summary

from ._helpers import first_hint


def test_references_pass() -> None:
    for name in ("fit_to_budget", "rolling_summary"):
        result = run(f"11.{name}", getattr(ref, name))
        assert result.passed, result.report()


def test_stubs_are_not_attempted() -> None:
    def fit_to_budget(system: str, turns: Any, budget: int, count: Any) -> Any:
        raise NotImplementedError  # YOUR CODE HERE

    async def rolling_summary(
        system: str, summary: str, turns: Any, budget: int, count: Any, summarise: Any
    ) -> Any:
        raise NotImplementedError  # YOUR CODE HERE

    assert not run("11.fit_to_budget", fit_to_budget).attempted
    assert not run("11.rolling_summary", rolling_summary).attempted


# -- 11.fit_to_budget -------------------------------------------------------------------------
def fit_without_system(system: str, turns: Sequence[Turn], budget: int, count: CountFn) -> Any:
    return ref.fit_to_budget("", turns, budget, count)


def fit_one_at_a_time(system: str, turns: Sequence[Turn], budget: int, count: CountFn) -> Any:
    kept = list(turns)
    while count(system, kept) > budget and len(kept) > 1:
        kept = kept[1:]
    return kept


def fit_newest_dropped(system: str, turns: Sequence[Turn], budget: int, count: CountFn) -> Any:
    kept = list(turns)
    while count(system, kept) > budget and len(kept) > 1:
        kept = kept[:-3] + kept[-1:] if len(kept) >= 3 else kept[-1:]
    return kept


def fit_strict(system: str, turns: Sequence[Turn], budget: int, count: CountFn) -> Any:
    return ref.fit_to_budget(system, turns, budget - 1, count)


def fit_in_place(system: str, turns: list[Turn], budget: int, count: CountFn) -> Any:
    kept = ref.fit_to_budget(system, turns, budget, count)
    del turns[: len(turns) - len(kept)]
    return turns


def fit_never_raises(system: str, turns: Sequence[Turn], budget: int, count: CountFn) -> Any:
    try:
        return ref.fit_to_budget(system, turns, budget, count)
    except ValueError:
        return list(turns[-1:])


def fit_by_characters(system: str, turns: Sequence[Turn], budget: int, count: CountFn) -> Any:
    chars = lambda ts: (len(system) + sum(len(t["content"]) for t in ts)) // 4  # noqa: E731
    return ref.fit_to_budget(system, turns, budget, lambda s, ts: chars(ts))


WRONG_FITS: dict[str, tuple[Any, str]] = {
    "system prompt not counted": (fit_without_system, "count the system prompt"),
    "assistant turn first": (fit_one_at_a_time, "whole exchange"),
    "newest dropped": (fit_newest_dropped, "OLDEST"),
    "strict budget": (fit_strict, "exactly `budget` tokens fits"),
    "history mutated": (fit_in_place, "new list"),
    "over budget sent": (fit_never_raises, "raise ContextWindowError"),
    "characters / 4": (fit_by_characters, "characters / 4 is a guess"),
}


@pytest.mark.parametrize("name", sorted(WRONG_FITS))
def test_wrong_fits_fail_with_their_hint(name: str) -> None:
    wrong, hint = WRONG_FITS[name]
    result = run("11.fit_to_budget", wrong)
    assert not result.passed, result.report()
    assert hint in first_hint(result), result.report()


# -- 11.rolling_summary -----------------------------------------------------------------------
async def summary_drop_only(*args: Any) -> Any:
    system, previous, turns, budget, count, summarise = args

    async def same(p: str, f: Any) -> str:
        return p

    _, kept = await ref.rolling_summary(system, previous, turns, budget, count, same)
    return previous, kept


async def summary_fresh(*args: Any) -> Any:
    system, previous, turns, budget, count, summarise = args

    async def forget(p: str, f: Any) -> str:
        return str(await summarise("", f))

    return await ref.rolling_summary(system, previous, turns, budget, count, forget)


async def summary_per_exchange(*args: Any) -> Any:
    system, previous, turns, budget, count, summarise = args
    kept, summary = list(turns), previous
    while count(with_summary(system, previous), kept) > budget // 2 and len(kept) > 1:
        summary, kept = await summarise(summary, kept[:2]), kept[2:]
    return summary, kept


async def summary_just_fits(*args: Any) -> Any:
    system, previous, turns, budget, count, summarise = args
    cut = fold_point(with_summary(system, previous), list(turns), budget, count)
    if not cut:
        return previous, list(turns)
    return await summarise(previous, turns[:cut]), list(turns[cut:])


async def summary_every_turn(*args: Any) -> Any:
    system, previous, turns, budget, count, summarise = args
    return await summarise(previous, turns[:-1]), list(turns[-1:])


async def summary_newest_folded(*args: Any) -> Any:
    system, previous, turns, budget, count, summarise = args
    cut = fold_point(with_summary(system, previous), list(turns), budget // 2, count)
    if count(with_summary(system, previous), list(turns)) <= budget or not cut:
        return previous, list(turns)
    return await summarise(previous, turns[-1 - cut : -1]), [
        *turns[: len(turns) - 1 - cut],
        turns[-1],
    ]


def summary_not_async(*args: Any) -> Any:
    system, previous, turns, budget, count, summarise = args
    return previous, list(turns)


WRONG_SUMMARIES: dict[str, tuple[Any, str]] = {
    "dropped, not summarised": (summary_drop_only, "without summarising"),
    "previous summary ignored": (summary_fresh, "PREVIOUS summary"),
    "one call per exchange": (summary_per_exchange, "ONE call"),
    "folds only until it fits": (summary_just_fits, "budget // 2"),
    "summarises every turn": (summary_every_turn, "change nothing"),
    "newest folded": (summary_newest_folded, "under budget: (summary, turns) unchanged"),
    "not async": (summary_not_async, "async def"),
}


@pytest.mark.parametrize("name", sorted(WRONG_SUMMARIES))
def test_wrong_summaries_fail_with_their_hint(name: str) -> None:
    wrong, hint = WRONG_SUMMARIES[name]
    result = run("11.rolling_summary", wrong)
    assert not result.passed, result.report()
    assert hint in first_hint(result), result.report()
