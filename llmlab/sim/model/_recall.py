"""Conversation memory: the model recalls a fact the user stated only while it is in context.

A question about a personal fact ("What is my pager number?", "Remind me of our incident
ticket", "Do you remember my name?") is answered from what the request itself contains: the
system prompt and every earlier turn, user or assistant, where a statement of that fact
appears ("my pager number is 555-0142", "Our incident ticket: INC-48213", a reply's "your
name is ..."); the latest statement wins, so a corrected fact replaces the old one. No
statement in context, no fact: the model says it does not have it, or (``GUESS_RATE`` of the
time, seeded) guesses a wrong value of the right shape, as real models sometimes do. A request
to summarise the conversation is answered with the facts stated in it, each kept with
probability ``SUMMARY_KEEP`` (summaries are lossy).

Only questions about "my" / "our" facts and explicit summary requests are handled here; every
other request goes on to the other skills and the language model.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

import numpy as np

from llmlab.sim.model._conversation import Conversation
from llmlab.sim.model._skills import Plan

GUESS_RATE = 0.25  # of questions whose fact is not in context: a confident wrong answer
SUMMARY_KEEP = 0.85  # each stated fact survives a summary with this probability

_OWNER = r"(?P<owner>my|our)"
_SLOT = r"(?P<slot>[a-z][a-z0-9\- ]{0,40}?)"
_QUESTION = re.compile(
    r"\b(?:what(?:'s| is| was| are| were)|which is|remind me(?: of| what)?|"
    r"do you (?:still )?(?:remember|recall|know)|tell me|repeat)\s+(?:is |was )?"
    + _OWNER
    + r"\s+"
    + _SLOT
    + r"\s*(?:\?|\.|!|$|,| again| is\b| was\b)",
    re.IGNORECASE,
)
_VALUE = r"(?P<value>[^\s,;!?][^,;!?\n]*?)(?=\s*(?:[,;!?\n]|\.(?:\s|$)|$|\s+and\s|\s+but\s))"
_STATEMENT = re.compile(
    r"\b(?P<owner>my|our|your|the)\s+"
    + _SLOT
    + r"\s*(?:\bis\b|\bwas\b|\bare\b|=|:)[ \t]*"
    + _VALUE,
    re.IGNORECASE,
)
_SUMMARY = re.compile(
    r"\bsummar(?:ise|ize)\s+(?:the|this|our)\s+(?:conversation|chat|discussion)\b"
    r"|\bsummar(?:ise|ize|y)\b[^.\n]{0,40}\bso far\b",
    re.IGNORECASE,
)
_NAMES = ("Alex Morgan", "Sam Lee", "Jordan Kim", "Taylor Reed")


@dataclass(frozen=True)
class Fact:
    owner: str  # "my" / "our", as the user said it
    slot: str  # "pager number"
    value: str  # "555-0142"


def _words(slot: str) -> list[str]:
    return [w.rstrip("s") if len(w) > 3 else w for w in slot.lower().split()]


def _same_slot(asked: str, stated: str) -> bool:
    """ "ticket" matches "incident ticket" (same head noun, one phrase inside the other)."""
    a, s = _words(asked), _words(stated)
    if not a or not s or a[-1] != s[-1]:
        return False
    return set(a) <= set(s) or set(s) <= set(a)


def facts_in(text: str) -> list[Fact]:
    """Every statement of a personal fact in ``text``, in order."""
    return [
        Fact(m["owner"].lower(), m["slot"].strip().lower(), m["value"].strip())
        for m in _STATEMENT.finditer(text)
    ]


def _context(conv: Conversation) -> str:
    """What the model can see besides the question: the system prompt and earlier turns."""
    return "\n".join([conv.system, *(t.text for t in conv.turns[:-1])])


def _guess(slot: str, rng: np.random.Generator) -> str:
    words = set(_words(slot))
    if words & {"name"}:
        return _NAMES[int(rng.integers(len(_NAMES)))]
    if words & {"date", "day", "deadline"}:
        return f"2026-{int(rng.integers(1, 13)):02d}-{int(rng.integers(1, 29)):02d}"
    return str(int(rng.integers(10_000, 99_999)))


def _question(text: str) -> re.Match[str] | None:
    """``_QUESTION.search(text)``, memoised for prompts of a few KB (the same prompt is scanned
    call after call; a long one is scanned afresh rather than kept)."""
    return _QUESTION.search(text) if len(text) > _MEMO_CHARS else _question_memo(text)


@functools.lru_cache(maxsize=512)
def _question_memo(text: str) -> re.Match[str] | None:
    return _QUESTION.search(text)


def _asks_summary(text: str) -> bool:
    return _SUMMARY.search(text) is not None if len(text) > _MEMO_CHARS else _summary_memo(text)


@functools.lru_cache(maxsize=512)
def _summary_memo(text: str) -> bool:
    return _SUMMARY.search(text) is not None


_MEMO_CHARS = 4096


def _answer(conv: Conversation, rng: np.random.Generator) -> Plan | None:
    question = _question(conv.last_user_text)
    if question is None or not conv.turns or conv.turns[-1].role != "user":
        return None
    owner, slot = question["owner"].lower(), question["slot"].strip().lower()
    known = [
        f
        for f in facts_in(_context(conv))
        if _same_slot(slot, f.slot) and (f.owner != "the" or _words(f.slot) == _words(slot))
    ]  # "the X is" states a fact of the world: only the very same X answers "my X"
    your = "Your" if owner == "my" else "Our"
    if known:
        return Plan(text=f"{your} {known[-1].slot} is {known[-1].value}.")
    if rng.random() < GUESS_RATE:
        return Plan(text=f"{your} {slot} is {_guess(slot, rng)}.")
    return Plan(text=f"I don't have {'your' if owner == 'my' else 'our'} {slot} in our "
                     "conversation; could you tell me again?")  # fmt: skip


def _summary(conv: Conversation, rng: np.random.Generator) -> Plan | None:
    if not _asks_summary(conv.last_user_text):
        return None
    latest: dict[str, Fact] = {}
    for fact in facts_in(conv.all_text):
        latest.pop(fact.slot, None)  # a restated fact moves to the end
        latest[fact.slot] = fact
    kept = [f for f in latest.values() if rng.random() < SUMMARY_KEEP]
    if not kept:
        return Plan(text="Summary: general questions about the services; no facts to keep.")
    stated = "; ".join(f"{f.owner} {f.slot} is {f.value}" for f in kept)
    return Plan(text=f"Summary of the conversation so far: {stated}.")


def recall(conv: Conversation, rng: np.random.Generator) -> Plan | None:
    """The reply when the request asks about a stated fact or for a summary; else None."""
    return _summary(conv, rng) or _answer(conv, rng)
