"""Context windows and conversation memory (lab 11): what each turn sends, and what it forgets.

A conversation is a list of turns (``{"role": "user" | "assistant", "content": str}``) ending
with the user's new message; the system prompt travels separately. ``fit_to_budget`` keeps the
newest whole turns that fit a per-turn token budget (counted with the model's real tokenizer);
``rolling_summary`` folds the oldest turns into a running summary, with one summarising call
per fold and folds far apart. ``last_k`` and the pinned facts (``remembered``,
``pinned_system``) are the lab's other strategies.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence

from llmlab.reference.cost import ContextWindowError
from llmlab.tokens import chat_tokens

__all__ = [
    "SUMMARY_HEADER",
    "CountFn",
    "Summarise",
    "Turn",
    "fit_to_budget",
    "fold_point",
    "last_k",
    "openai_counter",
    "pinned_system",
    "remembered",
    "rolling_summary",
    "summarise_prompt",
    "with_summary",
]

Turn = dict[str, str]
#: prompt tokens of (system prompt, turns), as the provider will bill them
CountFn = Callable[[str, Sequence[Turn]], int]
#: (previous summary, the turns to fold into it) -> the new summary (an async LLM call)
Summarise = Callable[[str, Sequence[Turn]], Awaitable[str]]

SUMMARY_HEADER = "\n\nSummary of the conversation so far:\n"
PINNED_HEADER = "\n\nFacts the user asked you to remember:\n"
_REMEMBER = re.compile(r"^\s*(?:please\s+)?remember(?:\s+this)?\s*:\s*", re.IGNORECASE)


def openai_counter(model: str = "gpt-4.1-mini") -> CountFn:
    """Prompt tokens of a Chat Completions request with this system prompt and these turns."""

    def count(system: str, turns: Sequence[Turn]) -> int:
        head = [{"role": "system", "content": system}] if system else []
        return chat_tokens([*head, *turns], model)

    return count


def _check_turns(turns: Sequence[Turn]) -> None:
    if not turns or turns[-1].get("role") != "user":
        raise ValueError("turns must end with the user's new message")


def fit_to_budget(system: str, turns: Sequence[Turn], budget: int, count: CountFn) -> list[Turn]:
    """The newest turns that fit ``budget`` prompt tokens beside the system prompt.

    Drops the oldest turns first and never leaves an assistant turn first (the APIs want the
    conversation to start with the user); the system prompt and the new message always stay.
    Raises :class:`ContextWindowError` when those two alone exceed the budget.
    """
    _check_turns(turns)
    kept = list(turns)
    while count(system, kept) > budget:
        if len(kept) == 1:
            raise ContextWindowError(
                f"the system prompt and the new message need {count(system, kept)} tokens, "
                f"more than the budget of {budget}"
            )
        kept = kept[1:]
        while kept[0]["role"] != "user":
            kept = kept[1:]
    return kept


def with_summary(system: str, summary: str) -> str:
    """The system prompt carrying the running summary (unchanged while there is none)."""
    return system + SUMMARY_HEADER + summary if summary else system


async def rolling_summary(
    system: str,
    summary: str,
    turns: Sequence[Turn],
    budget: int,
    count: CountFn,
    summarise: Summarise,
) -> tuple[str, list[Turn]]:
    """(summary, turns) for this turn's prompt, ``with_summary(system, summary)`` + turns.

    While it fits ``budget``, nothing changes (no call). Over budget, the oldest whole turns are
    folded into the summary with ONE ``await summarise(previous_summary, folded)``, folding until
    the turns left use at most half the budget, so the next fold is several turns away.
    """
    _check_turns(turns)
    kept = list(turns)
    if count(with_summary(system, summary), kept) <= budget:
        return summary, kept
    cut = fold_point(with_summary(system, summary), kept, budget // 2, count)
    if cut == 0:
        return summary, kept
    return await summarise(summary, kept[:cut]), kept[cut:]


def fold_point(system: str, turns: Sequence[Turn], target: int, count: CountFn) -> int:
    """How many of the oldest turns to take away (whole exchanges) so the rest fit ``target``."""
    cut = 0
    while count(system, turns[cut:]) > target and cut < len(turns) - 1:
        cut += 1
        while turns[cut]["role"] != "user":
            cut += 1
    return cut


def remembered(turns: Sequence[Turn]) -> list[str]:
    """The facts the user asked to keep ("Remember: ..."), in order, without the prefix."""
    return [
        _REMEMBER.sub("", t["content"]).strip()
        for t in turns
        if t["role"] == "user" and _REMEMBER.match(t["content"])
    ]


def pinned_system(system: str, facts: Sequence[str]) -> str:
    """The system prompt with the pinned facts (one per line) after it."""
    return system + PINNED_HEADER + "\n".join(f"- {f}" for f in facts) if facts else system


def summarise_prompt(previous: str, folded: Sequence[Turn]) -> str:
    """The user message asking a model to fold ``folded`` into ``previous`` (kept short)."""
    lines = [f"{t['role']}: {t['content']}" for t in folded]
    return (
        "Summarise the conversation so far in a few lines. Keep every name, id, number and date "
        "the user stated.\n\nPrevious summary:\n"
        + (previous or "(none)")
        + "\n\nNew turns:\n"
        + "\n".join(lines)
    )


def last_k(turns: Sequence[Turn], k: int) -> list[Turn]:
    """The new message and the ``k`` exchanges (user + assistant) before it."""
    _check_turns(turns)
    return list(turns[-(2 * k + 1) :])
