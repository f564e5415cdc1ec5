"""Tool and schema arguments taken from the prompt, field by field.

Each field is classified by its name (and description): a place, a person, an id, a day, a
time, an amount, a currency, an email, a free-text query. The prompt's candidates of that kind
are scored (a keyword of the field close before a candidate scores higher) and the best one is
the value. Mistakes are plausible and documented (MODEL.md): when the prompt names several
candidates of a kind (two cities, two people), temperature T picks among them with
probabilities softmax(score / T), so greedy decoding takes the best-cued one and sampling
sometimes takes another. A field the prompt gives no value for returns ``None`` (the caller
falls back to a generic value).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

_CITIES = frozenset(
    str.split(
        """Paris London Berlin Madrid Rome Lisbon Dublin Amsterdam Brussels Vienna Prague Warsaw
    Stockholm Oslo Copenhagen Helsinki Zurich Geneva Munich Hamburg Milan Barcelona Athens
    Istanbul Moscow Kyiv Cairo Lagos Nairobi Johannesburg Dubai Mumbai Delhi Bangalore Chennai
    Singapore Tokyo Osaka Seoul Beijing Shanghai Shenzhen Taipei Manila Jakarta Bangkok Hanoi
    Sydney Melbourne Auckland Toronto Montreal Vancouver Chicago Boston Seattle Denver Austin
    Dallas Houston Miami Atlanta Phoenix Portland Detroit Philadelphia Washington Brooklyn
    Mexico Bogota Lima Santiago Buenos Aires Sao Paulo Rio Reykjavik Edinburgh Manchester
    Glasgow Lyon Marseille Nice Porto Seville Valencia Krakow Budapest Bucharest Sofia Belgrade
    Zagreb Riga Tallinn Vilnius Oakland Francisco York Angeles Diego Jose Vegas Orleans Kong
    France Germany Spain Italy Japan China India Brazil Canada Australia Kenya Nigeria Egypt
    Ireland Portugal Norway Sweden Finland Denmark Poland Greece Turkey Mexico Argentina Chile
    Peru Colombia Korea Vietnam Thailand Indonesia Philippines Netherlands Belgium Austria
    Switzerland Iceland"""
    )
)
_COMMON_CAPS = frozenset(
    str.split(
        """I A An The This That These Those What Which Who Whom Whose Where When Why How Please Can
    Could Would Will Should Is Are Was Were Do Does Did Get Set Check Look Find Book Schedule
    Convert Send Show Tell Give Make Create Open Close Cancel Add Remove Update Use Call Ask
    Let Hi Hello Hey Thanks Okay Ok Yes No And Or But If Then Also Just My Our Your Their We You
    It In On At For To From With By Of About After Before Today Tomorrow Tonight Monday Tuesday
    Wednesday Thursday Friday Saturday Sunday January February March April May June July August
    September October November December USD EUR GBP JPY CHF CAD AUD INR CNY What's Lookup Weather
    Order Meeting Status Incident Service Customer Ticket Report Summarise Summarize Triage
    Need Want Like Run Retrieve Fetch Pull Return Reply Answer Write Sev Is"""
    )
)
_DAYS = [
    "monday",
    "tuesday",
    "wednesday",
    "thursday",
    "friday",
    "saturday",
    "sunday",
    "today",
    "tomorrow",
    "tonight",
    "weekend",
]
_CURRENCY_WORDS = {
    "dollar": "USD",
    "dollars": "USD",
    "usd": "USD",
    "$": "USD",
    "euro": "EUR",
    "euros": "EUR",
    "eur": "EUR",
    "€": "EUR",
    "pound": "GBP",
    "pounds": "GBP",
    "sterling": "GBP",
    "gbp": "GBP",
    "£": "GBP",
    "yen": "JPY",
    "jpy": "JPY",
    "¥": "JPY",
    "franc": "CHF",
    "francs": "CHF",
    "chf": "CHF",
    "rupee": "INR",
    "rupees": "INR",
    "inr": "INR",
    "yuan": "CNY",
    "cny": "CNY",
    "cad": "CAD",
    "aud": "AUD",
    "sek": "SEK",
    "nok": "NOK",
    "dkk": "DKK",
    "pln": "PLN",
    "mxn": "MXN",
    "brl": "BRL",
    "krw": "KRW",
    "sgd": "SGD",
    "hkd": "HKD",
    "zar": "ZAR",
}
_CAP_SPAN = re.compile(r"\b[A-Z][a-z]+(?:[ -][A-Z][a-z]+)*\b")
_ID = re.compile(
    r"(?<![\w-])(?:#?[A-Z]{1,6}[-_]?\d[\w-]*|#?\d{3,}[A-Z]*|[A-Z]{2,}\d[\w-]*|"
    r"[a-z]{1,6}[-_]\d{2,}[\w-]*)(?![\w-])"
)
_NUMBER = re.compile(r"(?<![\w.])[$€£¥]?\s?(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?(?![\w:])")
_TIME = re.compile(
    r"\b(?:\d{1,2}(?::\d{2})?\s?(?:am|pm|a\.m\.|p\.m\.)|\d{1,2}:\d{2}|noon|midnight)(?![\w])",
    re.I,
)
_ISO_DATE = re.compile(r"\b\d{4}-\d{2}-\d{2}\b")
_MONTH_DATE = re.compile(
    r"\b(?:(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?\s+\d{1,2}(?:st|nd|"
    r"rd|th)?|\d{1,2}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:jan|feb|mar|apr|may|jun|jul|aug|sep|oct|"
    r"nov|dec)[a-z]*)\b",
    re.I,
)
_EMAIL = re.compile(r"\b[\w.+-]+@[\w-]+\.[\w.]+\b")
_URL = re.compile(r"\bhttps?://\S+[^\s.,;)]")
_QUOTED = re.compile(r"[\"“']([^\"”']{2,80})[\"”']")
_PLACE_WORDS = ("city", "location", "place", "town", "country", "destination", "where")
_PERSON_WORDS = (
    "person",
    "name",
    "attendee",
    "assignee",
    "owner",
    "user",
    "contact",
    "commander",
    "participant",
    "invitee",
    "who",
    "recipient",
    "with",
    "customer",
    "engineer",
    "guest",
)
_ID_WORDS = ("id", "number", "ref", "reference", "code", "sku", "tracking", "ticket", "order")
_PLACE_CUE = re.compile(r"\b(in|at|near|for|to|from|of|around)\s+$", re.I)
_PERSON_CUE = re.compile(r"\b(with|for|to|assign|cc|invite|ask|tell|from|and)\s+$", re.I)


#: how sharply candidate scores become choice probabilities (see MODEL.md for the rates)
SHARPNESS = 3.0
ORDER_BONUS = 1.0  # the earliest still-unused mention of a kind: "add 17 and 25" -> a=17, b=25


@dataclass(frozen=True)
class _Candidate:
    value: Any
    at: int  # where the prompt names it
    score: float


def _choose(cands: list[_Candidate], rng: np.random.Generator, temperature: float) -> Any | None:
    """The best-scored candidate at T=0; a softmax(score / T) draw among them above."""
    if not cands:
        return None
    best: dict[Any, _Candidate] = {}
    for c in cands:  # one entry per distinct value: its best score
        if c.value not in best or c.score > best[c.value].score:
            best[c.value] = c
    ranked = sorted(best.values(), key=lambda c: (-c.score, c.at))
    if temperature <= 0 or len(ranked) == 1:
        return ranked[0].value
    scores = SHARPNESS * np.array([c.score for c in ranked]) / temperature
    probs = np.exp(scores - scores.max())
    return ranked[int(rng.choice(len(ranked), p=probs / probs.sum()))].value


def _near(text: str, at: int, words: list[str]) -> float:
    """1.5 when a keyword of the field comes within 25 characters before position ``at``."""
    before = text[max(0, at - 25) : at].lower()
    return 1.5 if any(w and w in before for w in words) else 0.0


def _key_words(key: str) -> list[str]:
    return [w for w in re.split(r"[_\W]+", key.lower()) if len(w) > 2 and w != "name"]


def _places(text: str, key_words: list[str]) -> list[_Candidate]:
    going = any(w in ("destination", "to", "arrival", "dest") for w in key_words)
    leaving = any(w in ("origin", "from", "departure", "source", "start") for w in key_words)
    out = []
    for m in _CAP_SPAN.finditer(text):
        span = m.group(0)
        words = span.split()
        while words and words[0] in _COMMON_CAPS:
            words = words[1:]
        if not words:
            continue
        value = " ".join(words)
        start = m.start() + m.group(0).index(words[0])
        score = 0.0
        if any(w in _CITIES for w in words):
            score += 3.0
        before = text[max(0, start - 8) : start]
        if _PLACE_CUE.search(before):
            score += 1.0
        if (going and re.search(r"\bto\s+$", before)) or (
            leaving and re.search(r"\bfrom\s+$", before)
        ):
            score += 1.5
        if score > 0:
            out.append(_Candidate(value, start, score + _near(text, start, key_words)))
    return out


def _people(text: str, key_words: list[str]) -> list[_Candidate]:
    out = []
    for m in _CAP_SPAN.finditer(text):
        words = m.group(0).split()
        while words and words[0] in _COMMON_CAPS:
            words = words[1:]
        if not words or any(w in _CITIES for w in words):
            continue
        value = " ".join(words)
        start = m.start() + m.group(0).index(words[0])
        score = 1.0 + (1.0 if _PERSON_CUE.search(text[max(0, start - 10) : start]) else 0.0)
        score += 0.5 if len(words) == 2 else 0.0
        out.append(_Candidate(value, start, score + _near(text, start, key_words)))
    return out


def _ids(text: str, key_words: list[str]) -> list[_Candidate]:
    out = []
    for m in _ID.finditer(text):
        value = m.group(0).lstrip("#")
        if re.fullmatch(r"sev[1-4]", value, re.I) or re.fullmatch(r"(19|20)\d\d", value):
            continue
        score = 1.0 + (0.5 if any(c.isalpha() for c in value) else 0.0)
        out.append(_Candidate(value, m.start(), score + _near(text, m.start(), key_words)))
    return out


def _numbers(text: str, key_words: list[str]) -> list[_Candidate]:
    taken = [m.span() for m in _ID.finditer(text) if any(c.isalpha() for c in m.group(0))]
    taken += [m.span() for m in _TIME.finditer(text)]
    out = []
    for m in _NUMBER.finditer(text):
        if any(a <= m.start(1) < b for a, b in taken):
            continue
        raw = m.group(1).replace(",", "") + (m.group(2) or "")
        value = float(raw) if "." in raw else int(raw)
        out.append(_Candidate(value, m.start(), 1.0 + _near(text, m.start(), key_words)))
    return out


def _currencies(text: str, key: str) -> list[_Candidate]:
    found = []
    for m in re.finditer(r"[$€£¥]|\b[A-Za-z]{3,8}\b", text):
        code = _CURRENCY_WORDS.get(m.group(0).lower())
        if code is None and m.group(0).isupper() and len(m.group(0)) == 3:
            code = m.group(0) if m.group(0) not in ("API", "SLA", "SRE", "CPU", "DNS") else None
        if code:
            found.append((m.start(), code))
    target = any(w in key for w in ("to", "target", "dest", "into", "out"))
    out = []
    for i, (at, code) in enumerate(found):
        before = text[max(0, at - 8) : at].lower()
        into = bool(re.search(r"\b(to|into|in)\s+$", before))
        priced = bool(re.search(r"\d\s*$", before))  # "40 pounds": the amount's currency
        score = 1.0 + (1.5 if into == target else 0.0) + (0.2 if (i == 0) != target else 0.0)
        score += 1.0 if priced != target else 0.0
        out.append(_Candidate(code, at, score))
    return out


def _days(text: str) -> list[_Candidate]:
    out = [_Candidate(m.group(0), m.start(), 2.0) for m in _ISO_DATE.finditer(text)]
    out += [_Candidate(m.group(0), m.start(), 1.5) for m in _MONTH_DATE.finditer(text)]
    for m in re.finditer(r"\b(next\s+|this\s+)?(" + "|".join(_DAYS) + r")\b", text, re.I):
        out.append(_Candidate(m.group(0), m.start(), 1.0))
    return out


def _phrase(text: str, key_words: list[str]) -> str | None:
    """A free-text value: a quoted phrase, else what follows the field's keyword or "about"."""
    quoted = _QUOTED.search(text)
    if quoted:
        return quoted.group(1)
    cues = [*key_words, "for", "about", "on", "regarding"]
    for cue in cues:
        m = re.search(rf"\b{re.escape(cue)}\b\s+(?:the\s+|a\s+)?([^.,;:?!\n]{{3,80}})", text, re.I)
        if m:
            return m.group(1).strip()
    return None


def extract(
    name: str,
    schema: dict[str, Any],
    text: str,
    rng: np.random.Generator,
    temperature: float,
    taken: frozenset[Any] = frozenset(),
) -> Any | None:
    """The value the prompt names for field ``name`` (of JSON type ``schema``), or None."""
    key = name.lower()

    def choose(cands: list[_Candidate], ordered: bool = True) -> Any | None:
        """The best candidate not already given to an earlier field (add(a, b) gets two); the
        earliest mention among them scores ORDER_BONUS more (fields follow the prompt's order)."""
        free = [c for c in cands if c.value not in taken] or cands
        if ordered and len(free) > 1:
            first = min(free, key=lambda c: c.at)
            free = [_Candidate(c.value, c.at, c.score + ORDER_BONUS * (c is first)) for c in free]
        return _choose(free, rng, temperature)

    hint = f"{key} {str(schema.get('description', '')).lower()}"
    kind = schema.get("type", "string")
    words = _key_words(key)
    if kind in ("integer", "number"):
        value = choose(_numbers(text, words))
        if value is None:
            return None
        return int(value) if kind == "integer" else value
    if kind != "string":
        return None
    fmt = schema.get("format")
    mailish = key in ("to", "from", "recipient", "cc", "bcc", "sender", "address")
    if fmt == "email" or "email" in key or (mailish and _EMAIL.search(text)):
        m = _EMAIL.search(text)
        return m.group(0) if m else None
    if fmt == "uri" or "url" in key:
        m = _URL.search(text)
        return m.group(0) if m else None
    if key in ("ticker", "symbol", "stock"):
        m = re.search(r"\b[A-Z]{1,5}\b(?<!\bI)", text)
        return m.group(0) if m else None
    if any(w in key for w in ("language", "lang", "locale")):
        m = re.search(r"\b(?:to|into|in)\s+([A-Z][a-z]+)", text)
        return m.group(1) if m else None
    if any(w in key for w in ("expression", "formula", "equation")):
        m = re.search(r"[\d(][\d\s.+\-*/^()x×÷%]*[\d)]", text)
        return m.group(0).strip() if m else None
    if any(w in key for w in ("message", "body", "text", "content", "note")) and kind == "string":
        m = _QUOTED.search(text) or re.search(r"\b(?:that|saying|say)\s+(.{3,200}?)[.!?]?$", text)
        if m:
            return m.group(1).strip()
    if "currency" in hint or key in ("from", "to", "base", "target", "source", "quote"):
        found = choose(_currencies(text, key), False)
        if found is not None or "currency" in hint:
            return found
        return choose(_places(text, words))
    if fmt == "date" or any(w in key for w in ("day", "date", "when")):
        value = choose(_days(text))
        if fmt == "date" and value is not None and not _ISO_DATE.fullmatch(str(value)):
            return None
        return value
    if fmt == "time" or "time" in key or key in ("at", "hour", "start", "slot"):
        m = _TIME.search(text)
        return m.group(0) if m and fmt != "time" else None
    if "region" in key or "zone" in key:
        m = re.search(r"\b[a-z]{2}-[a-z]+(?:-\d)?\b", text)
        if m:
            return m.group(0)
    if any(w in key for w in ("team", "group", "department", "squad")):
        m = re.search(r"\b([A-Za-z][\w-]+)\s+team\b", text)
        if m and m.group(1).lower() not in ("the", "a", "on-call", "this", "that", "our", "my"):
            return m.group(1)
    if any(w in key for w in _PLACE_WORDS) or key in ("region", "area", "origin"):
        return choose(_places(text, words))
    if key == "id" or key.endswith("_id") or key.endswith("id") or any(w in key for w in _ID_WORDS):
        return choose(_ids(text, words))
    if any(w in key for w in _PERSON_WORDS):
        return choose(_people(text, words))
    if key == "q" or any(w in key for w in ("query", "topic", "subject", "title", "search")):
        return _phrase(text, words)
    if any(re.search(rf"\b{re.escape(w)}", text, re.I) for w in words):
        return _phrase(text, words)  # the prompt names the field: take what follows it
    return None
