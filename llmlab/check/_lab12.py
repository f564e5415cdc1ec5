"""Lab 12 checkers: a canonical response-cache key, a semantic lookup, a routing threshold."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

import numpy as np

from llmlab.check._diagnose import Mistake, verdict
from llmlab.check._registry import Case, exercise
from llmlab.check._sandbox import Raised, call
from llmlab.reference import response_cache as ref

# -- 12.cache_key -------------------------------------------------------------------------------
_TOOL_A = {"name": "get_runbook", "parameters": {"type": "object", "properties": {}}}
_TOOL_B = {"name": "get_oncall", "parameters": {"type": "object", "properties": {}}}
_MSGS = [{"role": "user", "content": "Is checkout down?"}]
_BASE: dict[str, Any] = {
    "model": "gpt-4.1-mini",
    "params": {"temperature": 0.0, "max_tokens": 64},
    "tools": [_TOOL_A, _TOOL_B],
    "messages": _MSGS,
    "tenant": "acme",
}
_TWO_TURNS = [
    {"role": "user", "content": "Is checkout down?"},
    {"role": "assistant", "content": "No."},
    {"role": "user", "content": "And payments?"},
]
# (what changes, the request, should the key equal the base request's key?)
_KEY_CASES: list[tuple[str, dict[str, Any], bool]] = [
    (
        "the same request, params written in another key order",
        {**_BASE, "params": {"max_tokens": 64, "temperature": 0.0}},
        True,
    ),
    (
        "temperature 0 (an int) instead of 0.0",
        {**_BASE, "params": {"temperature": 0, "max_tokens": 64}},
        True,
    ),
    (
        "an unset parameter (top_p=None) added",
        {**_BASE, "params": {**_BASE["params"], "top_p": None}},
        True,
    ),
    ("the same tools listed in the other order", {**_BASE, "tools": [_TOOL_B, _TOOL_A]}, True),
    (
        "a message dict with its keys in another order",
        {**_BASE, "messages": [{"content": "Is checkout down?", "role": "user"}]},
        True,
    ),
    ("another tenant", {**_BASE, "tenant": "globex"}, False),
    ("another model", {**_BASE, "model": "gpt-4.1"}, False),
    ("another temperature", {**_BASE, "params": {"temperature": 1.0, "max_tokens": 64}}, False),
    ("one tool fewer", {**_BASE, "tools": [_TOOL_A]}, False),
    (
        "another question",
        {**_BASE, "messages": [{"role": "user", "content": "Is auth down?"}]},
        False,
    ),
    (
        "another role",
        {**_BASE, "messages": [{"role": "system", "content": "Is checkout down?"}]},
        False,
    ),
]
_KEY_RULE = (
    "hash json.dumps(..., sort_keys=True) of tenant, model, params (numbers as floats, None "
    "dropped), tools sorted, messages in order, with hashlib.sha256(...).hexdigest()"
)


@exercise(
    "12.cache_key",
    "cache_key(model: str, params: dict, tools: list[dict], messages: list[dict], tenant: str) "
    "-> str",
    "SHA-256 hex of the canonical request (sorted keys, numbers as floats, None dropped, tools "
    "sorted), scoped to the tenant",
    ref.cache_key,
)
def _check_cache_key(candidate: Any) -> Iterator[Case]:
    def key(req: dict[str, Any]) -> Any:
        return call("cache_key(...)", candidate, **copy.deepcopy(req))

    base = key(_BASE)
    hexdigest = isinstance(base, str) and len(base) == 64 and set(base) <= set("0123456789abcdef")
    yield Case(
        hexdigest,
        "cache_key of a request: a 64-character hex string (sha256)",
        "64 hex characters",
        f"{len(base)} characters: {base[:20]!r}" if isinstance(base, str) else str(base),
        "use hashlib.sha256(text.encode()).hexdigest(): 64 hex characters, the same in every "
        "process (Python's hash() is salted per process, so a restart would empty the cache)",
        diagnosed=not isinstance(base, Raised),
    )
    if not hexdigest:
        return
    for what, req, equal in _KEY_CASES:
        got = key(req)
        label = f"{what}: the key should {'stay the same' if equal else 'change'}"
        same_key = isinstance(got, str) and got == base
        hint = _KEY_RULE
        if "tenant" in what:
            hint = "the tenant is not in the key: one customer would read another's cached answer"
        elif "tools" in what and equal:
            hint = "sort the tools (by name): their order does not change what the model can call"
        elif "tool" in what:
            hint = "the tools are not in the key: a request with other tools would get this answer"
        elif "int" in what:
            hint = "numbers in canonical form: 0 and 0.0 are the same temperature (float(v))"
        elif "None" in what:
            hint = "drop parameters set to None: an unset parameter is not sent"
        elif "key order" in what:
            hint = "json.dumps(..., sort_keys=True): dict key order must not change the key"
        yield Case(
            same_key == equal,
            label,
            "the same key" if equal else "a different key",
            "the same key"
            if same_key
            else ("a different key" if isinstance(got, str) else str(got)),
            hint,
            diagnosed=hint != _KEY_RULE,
        )
    got = key({**_BASE, "messages": list(reversed(_TWO_TURNS))})
    ordered = key({**_BASE, "messages": _TWO_TURNS})
    yield Case(
        isinstance(got, str) and got != ordered,
        "the same three messages in another order: the key should change",
        "a different key",
        "a different key" if got != ordered else "the same key",
        "keep the messages in order: a conversation in another order is another conversation",
        diagnosed=True,
    )


# -- 12.semantic_lookup -------------------------------------------------------------------------
def _unit(*xs: float) -> list[float]:
    v = np.array(xs, dtype=float)
    return list(v / np.linalg.norm(v))


_LOOKUP_CASES: list[tuple[str, list[float], list[list[float]], float]] = [
    ("a close match above the threshold", _unit(1, 0.1, 0), [_unit(0, 1, 0), _unit(1, 0, 0)], 0.9),
    ("nothing similar enough", _unit(1, 1, 0), [_unit(0, 0, 1), _unit(1, -1, 0.2)], 0.5),
    (
        "keys not unit length: cosine, not the raw dot product",
        [1.0, 0.0],
        [[0.9, 0.05], [10.0, 10.0]],
        0.5,
    ),
    (
        "two keys above the threshold: the most similar wins, not the first",
        _unit(1, 0.2, 0),
        [_unit(1, 0.6, 0), _unit(1, 0.21, 0)],
        0.8,
    ),
    ("a query not unit length", [3.0, 0.3, 0.0], [_unit(0, 1, 0), _unit(1, 0.1, 0)], 0.99),
    ("an empty cache", _unit(1, 0), [], 0.5),
]


def _lookup_mistakes(
    query: list[float], keys: list[list[float]], threshold: float
) -> list[Mistake]:
    q, k = np.array(query), np.array(keys)

    def first_above() -> int | None:
        sims = k @ q / (np.linalg.norm(k, axis=1) * np.linalg.norm(q))
        above = [i for i, s in enumerate(sims) if s >= threshold]
        return above[0] if above else None

    def dot() -> int | None:
        sims = k @ q
        best = int(np.argmax(sims))
        return best if sims[best] >= threshold else None

    def no_threshold() -> int:
        return int(np.argmax(k @ q / (np.linalg.norm(k, axis=1) * np.linalg.norm(q))))

    return [
        ("the threshold is ignored: below it the cache must miss (return None)", no_threshold),
        ("cosine similarity divides by both lengths: the raw dot product favours long keys", dot),
        ("return the MOST similar key above the threshold, not the first one found", first_above),
    ]


@exercise(
    "12.semantic_lookup",
    "semantic_lookup(query: np.ndarray, keys: np.ndarray, threshold: float) -> int | None",
    "index of the key most cosine-similar to the query, or None below the threshold",
    ref.semantic_lookup,
)
def _check_semantic_lookup(candidate: Any) -> Iterator[Case]:
    for what, query, keys, threshold in _LOOKUP_CASES:
        q = np.array(query)
        k = np.array(keys).reshape(len(keys), len(query))
        label = f"semantic_lookup({query}, {len(keys)} keys, threshold={threshold}) - {what}"
        got = call(label, candidate, q.copy(), k.copy(), threshold)
        if isinstance(got, np.integer):
            got = int(got)
        yield verdict(
            label,
            got,
            ref.semantic_lookup(q, k, threshold),
            same=lambda g, w: (
                (g is None and w is None)
                or (isinstance(g, int) and not isinstance(g, bool) and g == w)
            ),
            show=repr,
            rule="cosine = dot / (|query| |key|); the best index if its cosine >= threshold, "
            "else None",
            mistakes=_lookup_mistakes(query, keys, threshold) if keys else [],
        )


# -- 12.pick_threshold --------------------------------------------------------------------------
# scores, cheap_ok, strong_ok, cheap_usd, strong_usd, min_accuracy, what it probes
_Route = tuple[list[int], list[bool], list[bool], list[float], list[float], float, str]
_ROUTE_CASES: list[_Route] = [
    (
        [0, 0, 1, 2, 3],
        [True, True, True, False, False],
        [True, True, True, True, True],
        [1.0] * 5,
        [5.0] * 5,
        1.0,
        "only the hard items need the strong model",
    ),
    (
        [0, 1, 3],
        [True, True, False],
        [True, True, True],
        [1.0] * 3,
        [5.0] * 3,
        0.6,
        "two thirds is enough: escalating the hard item costs more than it is worth here",
    ),
    (
        [0, 1, 2],
        [True, True, True],
        [True, True, True],
        [1.0] * 3,
        [5.0] * 3,
        1.0,
        "the cheap model is always right: escalate nothing (t = max + 1)",
    ),
    (
        [0, 0, 2, 2],
        [True, False, True, False],
        [True, True, False, True],
        [1.0] * 4,
        [5.0] * 4,
        1.0,
        "no threshold reaches 100 %: None",
    ),
    (
        [0, 1, 1, 3],
        [True, False, True, False],
        [False, True, True, True],
        [1.0] * 4,
        [4.0] * 4,
        0.75,
        "75 % is enough: the cheapest threshold that reaches it",
    ),
    (
        [0, 2, 2, 4],
        [True, True, False, False],
        [True, True, True, True],
        [1.0] * 4,
        [3.0] * 4,
        0.75,
        "exactly the minimum accuracy counts (>=)",
    ),
    (
        [1, 1, 2],
        [False, True, True],
        [True, True, True],
        [1.0] * 3,
        [5.0] * 3,
        1.0,
        "escalate scores >= t, not > t",
    ),
]


def _route_mistakes(case: _Route) -> list[Mistake]:
    scores, cheap_ok, strong_ok, cheap_usd, strong_usd, floor, _ = case

    def variant(
        *,
        strict: bool = False,
        gt: bool = False,
        no_none: bool = False,
        most_accurate: bool = False,
        top: int = 2,
    ) -> int | None:
        rows = []
        for t in range(0, max(scores) + top):
            pick = [(d > t) if gt else (d >= t) for d in scores]
            ok = [s if p else c for p, c, s in zip(pick, cheap_ok, strong_ok, strict=True)]
            usd = sum(s if p else c for p, c, s in zip(pick, cheap_usd, strong_usd, strict=True))
            acc = sum(ok) / len(ok)
            rows.append((t, acc, usd))
        feasible = [r for r in rows if (r[1] > floor if strict else r[1] >= floor)]
        if most_accurate:
            return max(rows, key=lambda r: (r[1], -r[2]))[0]
        if not feasible:
            return 0 if no_none else None
        return min(feasible, key=lambda r: (round(r[2], 9), -r[1], -r[0]))[0]

    return [
        (
            "escalate items whose score is >= t (t = 0 sends every item to the strong model)",
            lambda: variant(gt=True),
        ),
        ("an accuracy exactly at min_accuracy is enough (>=, not >)", lambda: variant(strict=True)),
        (
            "include t = max(score) + 1 (escalate nothing): the cheap model alone may be enough",
            lambda: variant(top=1),
        ),
        (
            "when no threshold is accurate enough, return None (do not fall back to t = 0)",
            lambda: variant(no_none=True),
        ),
        (
            "among the accurate-enough thresholds pick the CHEAPEST, not the most accurate",
            lambda: variant(most_accurate=True),
        ),
    ]


@exercise(
    "12.pick_threshold",
    "pick_threshold(scores: list[int], cheap_ok: list[bool], strong_ok: list[bool], "
    "cheap_usd: list[float], strong_usd: list[float], min_accuracy: float) -> int | None",
    "the cheapest routing threshold (escalate score >= t) whose accuracy >= min_accuracy",
    ref.pick_threshold,
)
def _check_pick_threshold(candidate: Any) -> Iterator[Case]:
    for case in _ROUTE_CASES:
        scores, cheap_ok, strong_ok, cheap_usd, strong_usd, floor, what = case
        label = f"pick_threshold(scores={scores}, min_accuracy={floor}) - {what}"
        got = call(
            label,
            candidate,
            list(scores),
            list(cheap_ok),
            list(strong_ok),
            list(cheap_usd),
            list(strong_usd),
            floor,
        )
        yield verdict(
            label,
            got,
            ref.pick_threshold(*case[:6]),
            same=lambda g, w: (
                (g is None and w is None)
                or (isinstance(g, int) and not isinstance(g, bool) and g == w)
            ),
            show=repr,
            rule="try t = 0 .. max(score) + 1; keep those with accuracy >= min_accuracy; return "
            "the cheapest (None if none)",
            mistakes=_route_mistakes(case),
        )
