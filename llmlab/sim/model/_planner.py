"""Answer planning: what a prose reply should say, before the language model says it.

A plan is a few well-formed sentences chosen for the question: sentences of the conversation
itself (the system prompt, earlier turns, material pasted into the question) that share its
content words, then sentences of the course corpus (``data/corpus``) ranked by the IDF weight of
the content words they share with it, behind an opener that restates the question when the
corpus says little about it. Nothing is keyed on exact prompts. ``_generate`` then centres the
language model's next-token distribution on the plan (see MODEL.md): sampling can leave it.

Grounding: a fact is recalled only while its sentence is in the request. A question that
points back at the conversation ("the order id I gave you") and finds no sentence holding it is
answered with "I don't have that ...", never with a guess from elsewhere.
"""

from __future__ import annotations

import functools
import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass

import numpy as np

from llmlab.sim.model._conversation import Conversation
from llmlab.sim.model._lm import corpus_paragraphs

STOPWORDS = frozenset(
    str.split(
        """a about above after again against all am an and any are as at be because been before
    being below between both but by can could did do does doing done down during each few for
    from further had has have having he her here hers him his how i if in into is it its itself
    just me more most my myself no nor not now of off on once only or other our ours out over
    own please same she should so some such than that the their them then there these they this
    those through to too under until up very was we were what when where which while who whom
    why will with would you your yours tell give show explain describe write list walk summarise
    summarize summary sentence sentences one two three line short brief briefly reply answer
    question know want need get got make let us me thing things way ok okay also really quick
    lot much many well like use using used say said best good new know gave give told
    mentioned shared sent provided remember remind earlier again"""
    )
)
_SHORT = frozenset({"id", "ip", "db", "ui", "os"})
_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'_-]*[A-Za-z0-9]|[A-Za-z]|\d[\d.,:/-]*[\dA-Za-z]*")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_GREETING = re.compile(r"^\W*(hi|hello|hey|ping|test|warm-?up|thanks|thank you)\b\W*$", re.I)
_ONE = re.compile(
    r"\b(one|single|1|a)[ -](sentence|line)\b|\bone-liner\b|\bbriefly\b|\btl;?dr\b", re.I
)
_LONG = re.compile(r"\b(walk me through|step by step|steps|explain|describe|in detail)\b", re.I)
_LONGEST = re.compile(r"\b(full|complete|detailed|in full|everything|thorough)\b", re.I)
_SUMMARISE = re.compile(r"\b(summari[sz]e|summary|tl;?dr|condense)\b", re.I)
TRIAGE_ASK = re.compile(r"\b(triage|severity|sev[1-4]?)\b", re.I)
_HOWTO = re.compile(
    r"^\s*(?:so,?\s*)?how\s+(?:do|can|should|would|could)\s+(?:i|we|you|one)\s+(.+?)\??\s*$", re.I
)
_BACK_REF = re.compile(
    r"\b(i|we)\s+(gave|told|mentioned|said|shared|sent|provided)\b|\bearlier\b|\bremind me\b|"
    r"\b(what|which|who|when|where)(\s+\w+)?\s+(is|was|were|are)\s+(my|our)\b|\bdid (i|we)\b",
    re.I,
)
_LEAD = re.compile(
    r"^\s*(?:(?:can|could|would|will)\s+you\s+|please\s+|so,?\s+)*"
    r"(?:(?:what|which|who|where|when|why|how)(?:'s)?\s+(?:is|are|was|were|do|does|did|should|"
    r"can|would|could|will)?\s*|(?:explain|describe|tell me about|write|list|give me|show me|"
    r"walk me through|summari[sz]e|outline)\s+)",
    re.I,
)
_PERSON = {
    "i": "you",
    "my": "your",
    "mine": "yours",
    "me": "you",
    "we": "you",
    "our": "your",
    "us": "you",
    "i'm": "you're",
    "i've": "you've",
    "myself": "yourself",
}
_MIN_SENTENCE, _MAX_SENTENCE = 24, 230
_CONTEXT_WEIGHT = 2.0  # the conversation's own sentences outrank the corpus
_RECALL_SHARE = 0.5  # a context sentence must carry this share of the question's IDF mass


def stem(word: str) -> str:
    """A crude stem (the first five letters) so that 'deploys' meets 'deploy'."""
    w = word.lower().strip("'-_")
    return w[:5] if len(w) > 5 else w


def content_words(text: str) -> list[str]:
    """The question's content words in order (stopwords and one-letter words dropped)."""
    words = [w for w in _WORD.findall(text) if w.lower() not in STOPWORDS]
    return [w for w in words if len(w) > 2 or w.lower() in _SHORT or any(c.isdigit() for c in w)]


@functools.lru_cache(maxsize=256)
def sentences_of(text: str) -> tuple[str, ...]:
    """Well-formed sentences of a text: a capital first, end punctuation, no list fragments.

    Memoised: a long system prompt is split once, not on every request that repeats it.
    """
    out: list[str] = []
    for block in re.split(r"\n\s*\n|\n(?=\s*[-*#\d])", text):
        flat = " ".join(ln.strip().lstrip("-*# ").strip() for ln in block.splitlines())
        for s in _SENTENCE_END.split(flat.strip()):
            s = s.strip()
            if (
                _MIN_SENTENCE <= len(s) <= _MAX_SENTENCE
                and s[0].isupper()
                and s[-1] in ".!?"
                and ":" not in s[:-1].replace("://", "")
                and "`" not in s
            ):
                out.append(s)
    return tuple(out)


@functools.lru_cache(maxsize=8192)
def stems_of(sentence: str) -> frozenset[str]:
    """The content stems of one sentence (memoised: context sentences recur every turn)."""
    return frozenset(stem(w) for w in content_words(sentence))


@dataclass(frozen=True)
class _Index:
    sentences: list[str]
    stems: list[frozenset[str]]
    idf: dict[str, float]
    postings: dict[str, list[int]]


@functools.cache
def corpus_index() -> _Index:
    """Every corpus sentence, indexed by stem and by first word (built once per process)."""
    sentences: list[str] = []
    for para in corpus_paragraphs():
        for s in sentences_of(para):
            if s not in sentences:
                sentences.append(s)
    stems = [frozenset(stem(w) for w in content_words(s)) for s in sentences]
    df: Counter[str] = Counter(st for group in stems for st in group)
    n = len(sentences)
    idf = {st: math.log(1 + n / c) for st, c in df.items()}
    postings: dict[str, list[int]] = defaultdict(list)
    for i, group in enumerate(stems):
        for st in group:
            postings[st].append(i)
    return _Index(sentences, stems, idf, dict(postings))


def _idf(st: str) -> float:
    return corpus_index().idf.get(st, 3.0)  # a word the corpus never uses is informative


@dataclass(frozen=True)
class AnswerPlan:
    """The sentences a reply should say, best first, and the question's content stems."""

    sentences: list[str]
    stems: frozenset[str]
    continuation: bool = False  # the first "sentence" continues a prefill (starts mid-sentence)

    @property
    def text(self) -> str:
        return " ".join(self.sentences)


def _overlap(question: frozenset[str], sentence: frozenset[str]) -> float:
    return sum(_idf(st) for st in sorted(question & sentence))


def _second_person(sentence: str) -> str:
    """A user's own sentence told back to them: "My order id is 7" -> "Your order id is 7"."""

    def swap(m: re.Match[str]) -> str:
        word = m.group(0)
        new = _PERSON[word.lower()]
        return new.capitalize() if word[0].isupper() else new

    out = re.sub(r"\b(i'm|i've|i|my|mine|me|we|our|us|myself)\b", swap, sentence, flags=re.I)
    return out[0].upper() + out[1:]


def _topic(question: str) -> str:
    """The question's subject, as a phrase to restate: 'What is a sev1?' -> 'a sev1'."""
    first = re.split(r"(?<=[?.!])\s", question.strip(), maxsplit=1)[0]
    phrase = _LEAD.sub("", first).strip().rstrip("?.! ")
    phrase = re.sub(r"\s+", " ", phrase)
    words = phrase.split()
    if not words:
        return ""
    if words[0].lower() in ("i", "we", "you"):
        words = words[1:]
    if len(words) > 2 and words[0].lower() in _YES_NO:
        # "Is it safe to cache X" -> "whether it is safe to cache X": no capital mid-sentence
        aux, n = words[0].lower(), 3 if words[1].lower() in _DETERMINERS else 2
        subject = [{"i": "you", "we": "you"}.get(w.lower(), w) for w in words[1:n]]
        verb = [] if aux in ("do", "does", "did") else [aux]  # "Does X reset" -> "whether X reset"
        words = ["whether", *subject, *verb, *words[n:]]
    return " ".join(words[:12])


_DETERMINERS = frozenset({"the", "a", "an", "our", "my", "your", "this", "that", "these", "those"})
#: auxiliaries that open a yes/no question, restated as "whether <subject> <aux> ..."
_YES_NO = frozenset(
    {"is", "are", "was", "were", "can", "could", "should", "would", "will", "does", "do", "did"}
)


def _question_of(text: str) -> tuple[str, str]:
    """(the request itself, material pasted under it) of a user message."""
    parts = re.split(r"\n\s*\n|:\s*\n|(?<=:)\s+(?=[A-Z])", text.strip(), maxsplit=1)
    if len(parts) == 2 and len(parts[1]) > 40:
        return parts[0], parts[1]
    return text.strip(), ""


def _n_sentences(question: str) -> int:
    if _ONE.search(question):
        return 1
    if _LONGEST.search(question):
        return 8
    return 4 if _LONG.search(question) else 3


@functools.lru_cache(maxsize=256)
def _postings(text: str) -> tuple[tuple[str, ...], dict[str, tuple[int, ...]]]:
    """A text's sentences and, per content stem, the sentences holding it (memoised)."""
    sents = sentences_of(text)
    found: dict[str, list[int]] = defaultdict(list)
    for i, sentence in enumerate(sents):
        for st in stems_of(sentence):
            found[st].append(i)
    return sents, {k: tuple(v) for k, v in found.items()}


def _recalled(
    system: str, turns: tuple[tuple[str, str], ...], material: str, q_stems: frozenset[str]
) -> list[str]:
    """Sentences of the request (not the question) carrying most of the question's IDF mass,
    best first; a user's own sentence is told back in the second person. ``turns`` holds the
    conversation's (role, text) pairs."""
    total = sum(_idf(s) for s in sorted(q_stems)) or 1.0
    last_user = max((i for i, (role, _) in enumerate(turns) if role == "user"), default=-1)
    texts = [(system, False)]
    texts += [(text, role == "user") for i, (role, text) in enumerate(turns) if i != last_user]
    texts.append((material, False))
    scored = []
    for n, (text, by_user) in enumerate(texts):
        sents, posts = _postings(text)
        for i in sorted({i for st in q_stems for i in posts.get(st, ())}):
            share = _overlap(q_stems, stems_of(sents[i])) / total
            if share >= _RECALL_SHARE:
                said = _second_person(sents[i]) if by_user else sents[i]
                scored.append((share, n, -i, said))
    scored.sort(key=lambda x: (-x[0], -x[1], -x[2]))
    return [s for *_, s in scored]


@dataclass(frozen=True)
class Choice:
    """How the planner picks which corpus points to make: greedily at temperature 0, else
    by score plus Gumbel noise of scale POINT_NOISE * T (the request's seeded generator)."""

    rng: np.random.Generator | None = None
    temperature: float = 0.0


#: noise scale (IDF units) of the corpus points' ranking per unit of temperature
POINT_NOISE = 1.5


def plan_answer(
    conv: Conversation,
    severity: str | None = None,
    service: str | None = None,
    choice: Choice = Choice(),
) -> AnswerPlan:
    """The plan for a prose reply to the conversation's latest request.

    ``severity`` / ``service``: a triage verdict the reply opens with (the triage skill's).
    ``choice``: how to rank the corpus's points (sampled above temperature 0).
    """
    turns = tuple((t.role, t.text) for t in conv.turns)
    question = conv.last_user_text
    size = len(question) + len(conv.system) + sum(len(text) for _, text in turns)
    # a long request is planned afresh rather than kept (its sentences are memoised anyway)
    plan_of = _fixed_plan if size <= _MEMO_CHARS else _fixed_plan.__wrapped__
    fixed = plan_of(question, conv.system, turns, severity, service)
    greedy, head, rank_stems, extra, want = fixed
    if rank_stems is None or choice.rng is None or choice.temperature <= 0:
        return AnswerPlan(list(greedy.sentences), greedy.stems)
    # the first sentence stays the greedy one, so the first token's distribution is a fixed
    # function of the prompt; the points after it are drawn
    sampled = _rank_corpus(rank_stems, extra=extra, choice=choice)
    return AnswerPlan(_dedupe([*head, *sampled], want), greedy.stems)


_MEMO_CHARS = 64 * 1024  # requests up to this many characters of text have their plan kept
#: what :func:`plan_answer` decides before any draw: (the greedy plan, the sentences a sampled
#: plan keeps before its drawn points, the stems and extra stems the points are ranked by, or
#: None when nothing is drawn, and how many sentences the plan holds)
_Fixed = tuple[AnswerPlan, tuple[str, ...], frozenset[str] | None, frozenset[str], int]


@functools.lru_cache(maxsize=128)
def _fixed_plan(
    question_text: str,
    system: str,
    turns: tuple[tuple[str, str], ...],
    severity: str | None,
    service: str | None,
) -> _Fixed:
    """Everything of a plan that is a function of the request's texts (memoised: the same
    request, or the same system prompt and history, recurs call after call)."""
    question, material = _question_of(question_text)
    words = content_words(question)
    q_stems = frozenset(stem(w) for w in words)
    if _GREETING.match(question) or not (words or material):
        hello = AnswerPlan(["Hello! I am here and ready to help with your question."], q_stems)
        return hello, (), None, frozenset(), 1
    want = _n_sentences(question)
    if severity is not None:
        where = f" for {service}" if service else ""
        lead = [f"This looks like a {severity} incident{where}."]
        facts = _rank_material(material)[:1] if material else []
        m_stems = frozenset(stem(w) for w in content_words(material)) | q_stems
        points = _rank_corpus(m_stems)
        triage = AnswerPlan(_dedupe([*lead, *facts, *points], want), q_stems)
        return triage, (*lead, *facts), m_stems, frozenset(), want
    if _SUMMARISE.search(question) and material:
        summary = AnswerPlan(_dedupe(_rank_material(material), want), q_stems)
        return summary, (), None, frozenset(), want
    total = sum(_idf(s) for s in sorted(q_stems)) or 1.0
    chosen = _recalled(system, turns, material, q_stems)[:2]
    if not chosen and _BACK_REF.search(question) and not material:
        topic = _as_object(_topic(question))
        missing = [f"I don't have {topic} in our conversation, so please share it again."]
        return AnswerPlan(missing, q_stems), (), None, frozenset(), 1
    m_stems = frozenset(stem(w) for w in content_words(material))
    corpus = _rank_corpus(q_stems, extra=m_stems)
    best = _overlap(q_stems, stems_of(corpus[0])) if corpus else 0
    opener = _opener(question, best / total)
    if opener:
        chosen.insert(0, opener)
    greedy = _dedupe([*chosen, *corpus])
    plan = AnswerPlan(greedy[:want], q_stems)
    if not greedy:
        return plan, (), None, frozenset(), want
    return plan, (greedy[0], *chosen), q_stems, m_stems, want


def continuing(answer: AnswerPlan, prefill: str) -> AnswerPlan:
    """The plan as the continuation of a prefilled start ("First, check" -> " the most recent
    deploy first. ..."): the rest of the first plan (or corpus) sentence that uses the prefill's
    last word, then the other points; else the plan after a space, its first letter lowered."""
    words = prefill.split()
    last = words[-1].strip(",.;:!?").lower() if words else ""
    index = corpus_index()
    candidates = [*answer.sentences, *_rank_corpus(answer.stems, limit=20)]
    if last:
        for sentence in [*candidates, *index.sentences]:
            m = re.search(rf"\b{re.escape(last)}\b", sentence, re.I)
            if m and m.end() < len(sentence) - 1:
                rest = [x for x in answer.sentences if x != sentence]
                tail = sentence[m.end() :]
                return AnswerPlan([tail, *rest], answer.stems, continuation=True)
    text = answer.text
    lowered = text[0].lower() + text[1:] if text else text
    return AnswerPlan([" " + lowered], answer.stems, continuation=True)


#: "Do you remember ..." / "Can you tell me ..." before the thing asked for
_ASKS_RECALL = re.compile(
    r"^\s*(?:remind me[:,]?\s+(?:what|which)\s+(?:is|was)\s+"
    r"|(?:whether\s+)?(?:(?:do|can|could|would|will)\s+)?you\s+"
    r"(?:(?:do|can|could|would|will)\s+)?(?:please\s+)?(?:still\s+)?"
    r"(?:remember|recall|know|repeat|remind me of|tell me)\s+(?:what\s+)?)",
    re.I,
)


def _as_object(topic: str) -> str:
    t = _ASKS_RECALL.sub("", topic)
    t = re.sub(r"^(is|are|was|were)\s+", "", t, flags=re.I)
    said = r"\b(i|we)\s+(gave|told|mentioned|said|shared|sent|provided)(\s+you)?\b"
    t = re.sub(said, "", t, flags=re.I)
    t = " ".join(t.split()) or "that detail"
    t = re.sub(r"^my\b", "your", t, flags=re.I)  # the user's "my order id" is "your order id"
    return t if re.match(r"(the|a|an|your)\b", t, re.I) else "the " + t


def _opener(question: str, coverage: float) -> str:
    """A sentence that restates the question: always for how-to, else when the corpus is thin."""
    how = _HOWTO.match(question.strip().split("\n")[0])
    if how:
        return f"To {how.group(1).rstrip('?.! ')}, work through it in order."
    if coverage >= 0.34:
        return ""
    topic = _topic(question)
    if not topic:
        return ""
    return f"The course notes say little about {topic} directly, but here is what applies."


def _rank_corpus(
    q_stems: frozenset[str],
    limit: int = 6,
    extra: frozenset[str] = frozenset(),
    choice: Choice = Choice(),
) -> list[str]:
    """Corpus sentences by the IDF mass of the question's stems they share (material's: 1/4)."""
    index = corpus_index()
    ids, scores, greedy = _corpus_scores(q_stems, extra)
    if choice.rng is None or choice.temperature <= 0 or not ids.size:
        return [index.sentences[i] for i in greedy[:limit]]
    noisy = scores + choice.rng.gumbel(size=ids.size) * POINT_NOISE * choice.temperature
    return [index.sentences[int(ids[i])] for i in _best(-noisy, limit)]


#: up to this many keys one stable sort is cheaper than partition + mask + sort (measured:
#: 2-8 us against 9-13 us from 50 to 699 keys, the whole corpus; the partition wins from ~2k)
_SORT_WHOLE = 1024


def _best(keys: np.ndarray, limit: int) -> np.ndarray:
    """``np.lexsort((ids, keys))[:limit]`` for ``ids`` ascending: the ``limit`` smallest keys,
    ties by position, without sorting the whole array (only the candidates at or below the
    limit-th smallest key are sorted, so ties at the boundary are kept exactly)."""
    if keys.size <= _SORT_WHOLE:
        return keys.argsort(kind="stable")[:limit]
    cut = keys[np.argpartition(keys, limit - 1)[:limit]].max()
    candidates = np.flatnonzero(keys <= cut)
    return candidates[np.argsort(keys[candidates], kind="stable")][:limit]


@functools.lru_cache(maxsize=1024)
def _corpus_scores(
    q_stems: frozenset[str], extra: frozenset[str]
) -> tuple[np.ndarray, np.ndarray, tuple[int, ...]]:
    """(sentence ids ascending, their scores, ids best first) for a question (memoised; stems
    are summed in sorted order so every process adds the same floats in the same order)."""
    index = corpus_index()
    scores: dict[int, float] = defaultdict(float)
    for st in sorted(q_stems | extra):
        weight = 1.0 if st in q_stems else 0.25
        for i in index.postings.get(st, ()):
            scores[i] += weight * index.idf[st]
    ids = np.array(sorted(scores), dtype=np.int64)
    values = np.array([scores[int(i)] for i in ids], dtype=np.float64)
    greedy = tuple(sorted(scores, key=lambda i: (-scores[i], i)))
    return ids, values, greedy


def _rank_material(material: str) -> list[str]:
    """Extractive summary: the material's sentences by how central their words are to it."""
    sents = list(sentences_of(material)) or [material.strip().split("\n")[0][:_MAX_SENTENCE]]
    counts: Counter[str] = Counter(stem(w) for w in content_words(material))
    scored = []
    for i, s in enumerate(sents):
        stems = {stem(w) for w in content_words(s)}
        score = sum(counts[x] * _idf(x) for x in sorted(stems)) / (1 + len(stems)) ** 0.5
        scored.append((-score - (1.0 if i == 0 else 0.0), i, s))
    return [s if s[-1] in ".!?" else s + "." for _, _, s in sorted(scored)]


@functools.lru_cache(maxsize=4096)
def _grams(sentence: str) -> frozenset[tuple[str, ...]]:
    w = [x.lower().strip(",.;!?") for x in sentence.split()]
    return frozenset(tuple(w[i : i + 4]) for i in range(max(len(w) - 3, 1)))


def _dedupe(sentences: list[str], limit: int | None = None) -> list[str]:
    """The sentences without repeats: a sentence sharing a word 4-gram with an earlier one is
    dropped (two runbook lines that both say "roll back the deploy" make one point). With
    ``limit``, the first ``limit`` of them (what slicing the whole result gives: a sentence is
    kept or dropped by the ones before it only), without looking at the rest."""
    seen: set[tuple[str, ...]] = set()
    out: list[str] = []
    for s in sentences:
        if limit is not None and len(out) >= limit:
            break
        grams = _grams(s)
        if not grams & seen:
            seen |= grams
            out.append(s)
    return out
