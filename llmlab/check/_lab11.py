"""Lab 11 checkers: fitting a conversation to a token budget, and a rolling summary.

Counts are real: gpt-4.1-mini's tokenizer (o200k_base) with the Chat Completions framing, as
``llmlab.reference.context.openai_counter`` computes them. The summariser is a recording fake,
so each case can say how many summarising calls were made and with what.
"""

from __future__ import annotations

import copy
import inspect
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from llmlab.check._async import run_async
from llmlab.check._diagnose import Mistake, unchanged, verdict
from llmlab.check._registry import Case, exercise
from llmlab.check._sandbox import Raised, call
from llmlab.reference import context as ref
from llmlab.reference.context import Turn, with_summary
from llmlab.reference.cost import ContextWindowError

_COUNT = ref.openai_counter("gpt-4.1-mini")
_SYSTEM = "You are the on-call assistant for Northwind Cloud. Answer briefly."
_WORDS = [
    *("the", "payments", "service", "restarted", "after", "the"),
    *("database", "failover", "and", "latency", "recovered"),
]


_IDS = [*("INC-48213", "555-0142", "2026-12-14", "7f3a2c1b", "db-7", "p99=840ms", "#4471")]


def _conversation(n_user: int, seed: int = 0, words_from: list[str] = _WORDS) -> list[Turn]:
    """u a u a ... u: ``n_user`` user turns of varied length, answers in between."""
    turns: list[Turn] = []
    for i in range(n_user):
        length = 6 + (i * 7 + seed) % 17
        words = [words_from[(i + j + seed) % len(words_from)] for j in range(length)]
        turns.append({"role": "user", "content": f"Q{i}: " + " ".join(words) + "?"})
        if i < n_user - 1:
            turns.append({"role": "assistant", "content": f"A{i}: noted, " + " ".join(words[:5])})
    return turns


def _show(value: Any) -> str:
    if isinstance(value, list) and all(isinstance(t, dict) for t in value):
        heads = [str(t.get("content", ""))[:3].strip(":") for t in value]
        return f"{len(value)} turns [{', '.join(heads)}]"
    return repr(value)


def _same(a: Any, b: Any) -> bool:
    return bool(a == b)


def _count_without_system(system: str, turns: Sequence[Turn], budget: int) -> list[Turn]:
    return ref.fit_to_budget("", turns, budget, _COUNT)


def _one_at_a_time(turns: Sequence[Turn], budget: int) -> list[Turn]:
    kept = list(turns)
    while _COUNT(_SYSTEM, kept) > budget and len(kept) > 1:
        kept = kept[1:]
    return kept


def _newest_dropped(turns: Sequence[Turn], budget: int) -> list[Turn]:
    kept = list(turns)
    while _COUNT(_SYSTEM, kept) > budget and len(kept) > 1:
        kept = kept[:-3] + kept[-1:] if len(kept) >= 3 else kept[-1:]
    return kept


def _drops_at_equal(turns: Sequence[Turn], budget: int) -> list[Turn]:
    return ref.fit_to_budget(_SYSTEM, turns, budget - 1, _COUNT)


def _by_characters(turns: Sequence[Turn], budget: int) -> list[Turn]:
    def chars(system: str, ts: Sequence[Turn]) -> int:
        return (len(system) + sum(len(t["content"]) for t in ts)) // 4

    return ref.fit_to_budget(_SYSTEM, turns, budget, chars)


def _fit_mistakes(turns: list[Turn], budget: int) -> list[Mistake]:
    return [
        (
            "count the system prompt too: count(system, kept) is what the request will cost",
            lambda: _count_without_system(_SYSTEM, turns, budget),
        ),
        (
            "characters / 4 is a guess: measure with count(system, kept), the model's real "
            "tokenizer and the request's framing",
            lambda: _by_characters(turns, budget),
        ),
        (
            "dropping one turn at a time left an assistant turn first: drop the whole exchange "
            "(the APIs want a conversation to start with the user)",
            lambda: _one_at_a_time(turns, budget),
        ),
        (
            "you dropped the newest turns: drop the OLDEST, the new message is what is asked",
            lambda: _newest_dropped(turns, budget),
        ),
        (
            "a prompt of exactly `budget` tokens fits: keep turns while count <= budget",
            lambda: _drops_at_equal(turns, budget),
        ),
    ]


def _fit_cases() -> Iterator[tuple[str, list[Turn], int]]:
    for what, turns in (
        ("a 17-turn conversation", _conversation(9)),
        ("a 17-turn conversation full of ids and numbers", _conversation(9, 2, _IDS)),
    ):
        full = _COUNT(_SYSTEM, turns)
        minimum = _COUNT(_SYSTEM, turns[-1:])
        exact = _COUNT(_SYSTEM, ref.fit_to_budget(_SYSTEM, turns, full // 2, _COUNT))
        for budget in (full + 50, full, full - 1, full // 2, exact, (full + minimum) // 3):
            yield f"{what} of {full} tokens, budget={budget}", turns, budget
        yield f"{what}, budget={minimum}: just the new message fits", turns, minimum


@exercise(
    "11.fit_to_budget",
    "fit_to_budget(system: str, turns: list[dict], budget: int, count) -> list[dict]",
    "the newest whole turns that fit budget tokens beside the system prompt; oldest dropped "
    "first, a user turn first; ContextWindowError when even the new message does not fit",
    ref.fit_to_budget,
)
def _check_fit(candidate: Any) -> Iterator[Case]:
    for label, turns, budget in _fit_cases():
        given = copy.deepcopy(turns)
        got = call(label, candidate, _SYSTEM, given, budget, _COUNT)
        want = ref.fit_to_budget(_SYSTEM, turns, budget, _COUNT)
        case = verdict(
            label,
            got,
            want,
            same=_same,
            show=_show,
            rule="drop the oldest exchanges until count(system, kept) <= budget; keep the rest",
            mistakes=_fit_mistakes(turns, budget),
        )
        yield unchanged(case, turns, given, "return a new list: the caller keeps the history")
    turns = _conversation(9)
    full, minimum = _COUNT(_SYSTEM, turns), _COUNT(_SYSTEM, turns[-1:])
    label = f"budget={minimum - 1}: the system prompt and the new message alone need {minimum}"
    got = call(label, candidate, _SYSTEM, copy.deepcopy(turns), minimum - 1, _COUNT)
    ok = isinstance(got, Raised) and isinstance(got.exc, ContextWindowError)
    yield Case(
        ok,
        label,
        "raises ContextWindowError (llmlab.reference.cost)",
        str(got) if isinstance(got, Raised) else _show(got),
        ""
        if ok
        else "when nothing can be dropped any more, raise ContextWindowError instead of "
        "sending a prompt over budget (or an empty conversation)",
        diagnosed=not ok,
    )
    label = "turns ending with an assistant turn"
    got = call(label, candidate, _SYSTEM, turns[:-1], full, _COUNT)
    ok = isinstance(got, Raised) and isinstance(got.exc, ValueError)
    yield Case(
        ok,
        label,
        "raises ValueError (the new user message is missing)",
        str(got) if isinstance(got, Raised) else _show(got),
        "" if ok else "check that the last turn is the user's: there is nothing to answer",
    )


# -- 11.rolling_summary -------------------------------------------------------------------------
class _Summariser:
    """Records each call and returns a short, recognisable summary."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, list[Turn]]] = []

    async def __call__(self, previous: str, folded: Sequence[Turn]) -> str:
        self.calls.append((previous, [dict(t) for t in folded]))
        heads = ",".join(t["content"].split(":")[0] for t in folded)
        return f"{previous}+[{heads}]" if previous else f"[{heads}]"


def _run_summary(fn: Callable[..., Any], summary: str, turns: list[Turn], budget: int) -> Any:
    fake = _Summariser()

    async def go() -> Any:
        out = fn(_SYSTEM, summary, copy.deepcopy(turns), budget, _COUNT, fake)
        if not inspect.isawaitable(out):
            raise TypeError(
                "rolling_summary must be `async def` and `await summarise(...)` (the summary is "
                "an LLM call through your async client)"
            )
        return await out

    return run_async(go), fake.calls


def _describe(result: Any) -> str:
    if isinstance(result, Raised):
        return str(result)
    out, calls = result
    if not (isinstance(out, tuple) and len(out) == 2):
        return f"returned {out!r:.120} (expected a (summary, turns) tuple)"
    summary, kept = out
    return f"summary {summary!r}, kept {_show(kept)}, {len(calls)} summarise call(s)"


def _wrong_summaries(summary: str, turns: list[Turn], budget: int) -> list[Mistake]:
    async def drop_only(system: str, prev: str, ts: Any, b: int, count: Any, summarise: Any) -> Any:
        async def same(p: str, f: Any) -> str:
            return p

        _, kept = await ref.rolling_summary(system, prev, ts, b, count, same)
        return prev, kept

    async def fresh(system: str, prev: str, ts: Any, b: int, count: Any, summarise: Any) -> Any:
        async def forget(p: str, f: Any) -> str:
            return str(await summarise("", f))

        return await ref.rolling_summary(system, prev, ts, b, count, forget)

    async def per_pair(system: str, prev: str, ts: Any, b: int, count: Any, summarise: Any) -> Any:
        kept, s = list(ts), prev
        for _ in range(ref.fold_point(with_summary(system, prev), kept, b // 2, count) // 2):
            s, kept = await summarise(s, kept[:2]), kept[2:]
        return s, kept

    async def just_fit(system: str, prev: str, ts: Any, b: int, count: Any, summarise: Any) -> Any:
        kept = list(ts)
        cut = ref.fold_point(with_summary(system, prev), kept, b, count)
        return (await summarise(prev, kept[:cut]), kept[cut:]) if cut else (prev, kept)

    async def always(system: str, prev: str, ts: Any, b: int, count: Any, summarise: Any) -> Any:
        kept = list(ts)
        return await summarise(prev, kept[:-1]), kept[-1:]

    return [
        (
            "over budget you dropped turns without summarising them: what they said is lost; "
            "pass them to summarise(summary, folded)",
            lambda: _describe(_run_summary(drop_only, summary, turns, budget)),
        ),
        (
            "pass the PREVIOUS summary to summarise(summary, folded): starting from '' forgets "
            "everything folded before",
            lambda: _describe(_run_summary(fresh, summary, turns, budget)),
        ),
        (
            "one summarise call per exchange: fold all the turns that must go in ONE call "
            "(each call is a paid request)",
            lambda: _describe(_run_summary(per_pair, summary, turns, budget)),
        ),
        (
            "fold until the turns left use at most budget // 2: folding only until it fits "
            "means a summarising call on almost every turn from then on",
            lambda: _describe(_run_summary(just_fit, summary, turns, budget)),
        ),
        (
            "while the prompt fits the budget, change nothing and call nothing",
            lambda: _describe(_run_summary(always, summary, turns, budget)),
        ),
    ]


@exercise(
    "11.rolling_summary",
    "async def rolling_summary(system: str, summary: str, turns: list[dict], budget: int, count, "
    "summarise) -> tuple[str, list[dict]]",
    "over budget, fold the oldest whole turns into the summary with ONE summarise call, down "
    "to half the budget; under budget, change nothing",
    ref.rolling_summary,
)
def _check_rolling(candidate: Any) -> Iterator[Case]:
    turns = _conversation(9, seed=3)
    full = _COUNT(_SYSTEM, turns)
    scenarios = [
        ("no summary yet, under budget", "", full + 20),
        ("no summary yet, over budget", "", full - 30),
        ("a previous summary, over budget", "[Q0,A0]", full // 2 + 40),
        (
            "a previous summary, exactly at budget",
            "[Q0]",
            _COUNT(with_summary(_SYSTEM, "[Q0]"), turns),
        ),
    ]
    for what, summary, budget in scenarios:
        label = f"{what}: summary={summary!r}, 17 turns of {full} tokens, budget={budget}"
        got = call(
            label, lambda s, b: _describe(_run_summary(candidate, s, turns, b)), summary, budget
        )
        want = _describe(_run_summary(ref.rolling_summary, summary, turns, budget))
        if isinstance(got, Raised) and "must be `async def`" in str(got.exc):
            yield Case(False, label, want, str(got), str(got.exc), diagnosed=True)
            continue
        yield verdict(
            label,
            got,
            want,
            same=_same,
            show=str,
            rule="under budget: (summary, turns) unchanged, no call; over budget: one call "
            "summarise(summary, oldest whole turns) folding until count(with_summary(system, "
            "summary), kept) <= budget // 2, kept starting with a user turn",
            mistakes=_wrong_summaries(summary, turns, budget),
        )
