"""Honest text-quality metrics for model replies: loops, topicality and well-formed sentences.

Used by ``tests/sim/test_language.py`` (the simulator's language figures) and by lab 01 (the
coherence of a reply against temperature). None of them knows how the simulator works: they
read the reply text only, plus the question and the course corpus's word list.
"""

from __future__ import annotations

import functools
import re

from llmlab._paths import data_dir

_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'-]*")
FUNCTION_WORDS = frozenset(
    str.split(
        """a an the of to in on at by for with from and or but than as is are was were be been
    that this these those it its into onto over under if then so not no nor"""
    )
)
_ARTICLES = frozenset({"a", "an", "the"})
_NO_END = frozenset({"a", "an", "the", "of", "to", "by", "for", "with", "from", "and", "or", "but",
                     "than", "as", "into", "onto", "if", "nor"})
_STOP = FUNCTION_WORDS | frozenset(
    str.split(
        """what which who whom where when why how do does did can could would will should shall
    may might must i we you he she they me us him her them my our your his their please tell
    give show explain describe write list walk summarise summarize one two brief briefly reply
    answer about have has had get got make let yes ok okay hi hello hey thanks just"""
    )
)


def words(text: str) -> list[str]:
    """The text's words, lower-cased."""
    return [w.lower().strip("'-") for w in _WORD.findall(text)]


def cycles(text: str, n: int = 4) -> bool:
    """A repetition loop: a word n-gram repeated back to back, or any n-gram said 3+ times."""
    w = words(text)
    grams = [tuple(w[i : i + n]) for i in range(len(w) - n + 1)]
    if any(grams[i] == grams[i + n] for i in range(len(grams) - n)):
        return True
    seen: dict[tuple[str, ...], int] = {}
    for g in grams:
        seen[g] = seen.get(g, 0) + 1
        if seen[g] >= 3:
            return True
    return False


def _stem(word: str) -> str:
    return word[:5] if len(word) > 5 else word


def content_words(text: str) -> set[str]:
    """Stems of the words that carry meaning (stopwords and short words dropped)."""
    return {_stem(w) for w in words(text) if w not in _STOP and len(w) > 2}


#: close synonyms a reply may use for a question's word (the corpus's own vocabulary)
SYNONYMS = {
    "outag": {"down", "incid", "unava"},
    "down": {"outag", "unava"},
    "incid": {"outag", "sev1", "sev2", "sev3", "sev4"},
    "error": {"failu", "fail", "fails"},
    "slow": {"laten", "degra"},
    "laten": {"slow"},
    "deplo": {"rollb", "relea"},
    "rollb": {"roll", "deplo"},
    "login": {"auth", "sign"},
    "auth": {"login"},
    "sever": {"sev1", "sev2", "sev3", "sev4"},
}


def on_topic(question: str, reply: str) -> bool:
    """Does the reply mention a content word of the question, or a close synonym of one?

    A question without content words ("hello") cannot be answered off topic: True.
    """
    asked = content_words(question)
    if not asked:  # "hello": nothing to be on or off topic about
        return True
    said = content_words(reply)
    if asked & said:
        return True
    return any(SYNONYMS.get(a, set()) & said for a in asked)


@functools.cache
def _known_words() -> frozenset[str]:
    texts = [p.read_text(encoding="utf-8") for p in sorted((data_dir() / "corpus").glob("*.md"))]
    texts.append((data_dir() / "replies.md").read_text(encoding="utf-8"))
    return frozenset(w for t in texts for w in words(t))


def sentences(text: str) -> list[str]:
    """The reply split into sentences (after . ! ? followed by a space, and at line breaks)."""
    parts = re.split(r"(?<=[.!?])\s+|\n+", text.strip())
    return [p.strip() for p in parts if p.strip()]


def sentence_problem(sentence: str, prompt: str = "") -> str | None:
    """Why a sentence is not well-formed (None if it is).

    Well-formed: starts with a capital letter or a digit, ends with . ! or ?, no doubled word
    ("the the"), no article followed by a function word ("the than", "a of"), no function word
    right before the final punctuation, and every word is a word (of the corpus or the prompt:
    fused fragments such as "restartReport" fail).
    """
    s = sentence.strip().strip("\"'*`")
    if not s:
        return "empty"
    if not (s[0].isupper() or s[0].isdigit()):
        return "no capital"
    if s[-1] not in ".!?":
        return "no end punctuation"
    w = words(s)
    for a, b in zip(w, w[1:], strict=False):
        if a == b:
            return f"doubled word {a!r}"
        if a in _ARTICLES and b in FUNCTION_WORDS:
            return f"dangling {a!r} {b!r}"
    if w and w[-1] in _NO_END:
        return f"ends on {w[-1]!r}"
    known = _known_words() | frozenset(words(prompt))
    for token in _WORD.findall(s):
        low = token.lower().strip("'-")
        if low not in known and not (token[0].isupper() and token[1:].islower()):
            return f"not a word {token!r}"
    return None


def well_formed_share(text: str, prompt: str = "") -> float:
    """The share of the reply's sentences that are well-formed (0.0 for an empty reply)."""
    parts = sentences(text)
    if not parts:
        return 0.0
    return sum(sentence_problem(s, prompt) is None for s in parts) / len(parts)
