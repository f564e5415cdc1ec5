"""Lab 12 checkers pass the references and reject plausible wrong caches and routers."""

from __future__ import annotations

import hashlib
import json
from typing import Any

import numpy as np

from llmlab.check import run
from llmlab.reference.response_cache import cache_key, pick_threshold, semantic_lookup

from ._helpers import assert_mistakes_named


def test_references_pass() -> None:
    assert run("12.cache_key", cache_key).passed
    assert run("12.semantic_lookup", semantic_lookup).passed
    assert run("12.pick_threshold", pick_threshold).passed


def test_stubs_are_not_attempted() -> None:
    def stub(*_: Any, **__: Any) -> Any:
        raise NotImplementedError

    for exercise in ("12.cache_key", "12.semantic_lookup", "12.pick_threshold"):
        assert not run(exercise, stub).attempted


# -- cache_key ----------------------------------------------------------------------------------
def _digest(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()


def key_without_tenant(model: str, params: dict, tools: list, messages: list, tenant: str) -> str:
    return _digest(
        [
            model,
            {k: float(v) for k, v in params.items() if v is not None},
            sorted(tools, key=lambda t: t["name"]),
            messages,
        ]
    )


def key_of_str(model: str, params: dict, tools: list, messages: list, tenant: str) -> str:
    return hashlib.sha256(str([model, params, tools, messages, tenant]).encode()).hexdigest()


def key_with_python_hash(model: str, params: dict, tools: list, messages: list, tenant: str) -> str:
    return str(hash(json.dumps([model, params, tools, messages, tenant], sort_keys=True)))


def key_tools_unsorted(model: str, params: dict, tools: list, messages: list, tenant: str) -> str:
    return _digest(
        [model, {k: float(v) for k, v in params.items() if v is not None}, tools, messages, tenant]
    )


def key_ints_raw(model: str, params: dict, tools: list, messages: list, tenant: str) -> str:
    return _digest(
        [
            model,
            {k: v for k, v in params.items() if v is not None},
            sorted(tools, key=lambda t: t["name"]),
            messages,
            tenant,
        ]
    )


def key_keeps_none(model: str, params: dict, tools: list, messages: list, tenant: str) -> str:
    return _digest(
        [
            model,
            {k: float(v) if v is not None else v for k, v in params.items()},
            sorted(tools, key=lambda t: t["name"]),
            messages,
            tenant,
        ]
    )


def key_messages_sorted(model: str, params: dict, tools: list, messages: list, tenant: str) -> str:
    return _digest(
        [
            model,
            {k: float(v) for k, v in params.items() if v is not None},
            sorted(tools, key=lambda t: t["name"]),
            sorted(messages, key=lambda m: json.dumps(m, sort_keys=True)),
            tenant,
        ]
    )


def key_without_tools(model: str, params: dict, tools: list, messages: list, tenant: str) -> str:
    return _digest(
        [model, {k: float(v) for k, v in params.items() if v is not None}, messages, tenant]
    )


def test_cache_key_mistakes_are_named() -> None:
    expected = {
        key_without_tenant: "tenant",
        key_of_str: "sort_keys",
        key_with_python_hash: "sha256",
        key_tools_unsorted: "sort the tools",
        key_ints_raw: "0.0",
        key_keeps_none: "None",
        key_messages_sorted: "messages in order",
        key_without_tools: "tools are not in the key",
    }
    assert_mistakes_named("12.cache_key", expected)


# -- semantic_lookup ----------------------------------------------------------------------------
def lookup_dot(query: np.ndarray, keys: np.ndarray, threshold: float) -> int | None:
    if len(keys) == 0:
        return None
    sims = keys @ query
    best = int(np.argmax(sims))
    return best if sims[best] >= threshold else None


def lookup_no_threshold(query: np.ndarray, keys: np.ndarray, threshold: float) -> int | None:
    if len(keys) == 0:
        return None
    sims = keys @ query / (np.linalg.norm(keys, axis=1) * np.linalg.norm(query))
    return int(np.argmax(sims))


def lookup_first(query: np.ndarray, keys: np.ndarray, threshold: float) -> int | None:
    for i, k in enumerate(keys):
        if k @ query / (np.linalg.norm(k) * np.linalg.norm(query)) >= threshold:
            return i
    return None


def lookup_returns_similarity(query: np.ndarray, keys: np.ndarray, threshold: float) -> Any:
    if len(keys) == 0:
        return None
    sims = keys @ query / (np.linalg.norm(keys, axis=1) * np.linalg.norm(query))
    return float(sims.max()) if sims.max() >= threshold else None


def test_semantic_lookup_mistakes_are_named() -> None:
    expected = {
        lookup_dot: "dot product",
        lookup_no_threshold: "threshold is ignored",
        lookup_first: "MOST similar",
        lookup_returns_similarity: "cosine",
    }
    assert_mistakes_named("12.semantic_lookup", expected)


# -- pick_threshold -----------------------------------------------------------------------------
def _rows(scores, cheap_ok, strong_ok, cheap_usd, strong_usd, *, gt=False, top=2):  # type: ignore[no-untyped-def]
    for t in range(0, max(scores) + top):
        pick = [(d > t) if gt else (d >= t) for d in scores]
        ok = [s if p else c for p, c, s in zip(pick, cheap_ok, strong_ok, strict=True)]
        usd = sum(s if p else c for p, c, s in zip(pick, cheap_usd, strong_usd, strict=True))
        yield t, sum(ok) / len(ok), usd


def pick_gt(scores, cheap_ok, strong_ok, cheap_usd, strong_usd, min_accuracy):  # type: ignore[no-untyped-def]
    rows = [
        r
        for r in _rows(scores, cheap_ok, strong_ok, cheap_usd, strong_usd, gt=True)
        if r[1] >= min_accuracy
    ]
    return min(rows, key=lambda r: (r[2], -r[1], -r[0]))[0] if rows else None


def pick_most_accurate(scores, cheap_ok, strong_ok, cheap_usd, strong_usd, min_accuracy):  # type: ignore[no-untyped-def]
    rows = list(_rows(scores, cheap_ok, strong_ok, cheap_usd, strong_usd))
    return max(rows, key=lambda r: (r[1], -r[2]))[0]


def pick_no_cheap_only(scores, cheap_ok, strong_ok, cheap_usd, strong_usd, min_accuracy):  # type: ignore[no-untyped-def]
    rows = [
        r
        for r in _rows(scores, cheap_ok, strong_ok, cheap_usd, strong_usd, top=1)
        if r[1] >= min_accuracy
    ]
    return min(rows, key=lambda r: (r[2], -r[1], -r[0]))[0] if rows else None


def pick_strict(scores, cheap_ok, strong_ok, cheap_usd, strong_usd, min_accuracy):  # type: ignore[no-untyped-def]
    rows = [
        r
        for r in _rows(scores, cheap_ok, strong_ok, cheap_usd, strong_usd)
        if r[1] > min_accuracy or r[1] == 1.0
    ]
    return min(rows, key=lambda r: (r[2], -r[1], -r[0]))[0] if rows else None


def pick_zero_fallback(scores, cheap_ok, strong_ok, cheap_usd, strong_usd, min_accuracy):  # type: ignore[no-untyped-def]
    found = pick_threshold(scores, cheap_ok, strong_ok, cheap_usd, strong_usd, min_accuracy)
    return 0 if found is None else found


def test_pick_threshold_mistakes_are_named() -> None:
    expected = {
        pick_gt: ">= t",
        pick_most_accurate: "CHEAPEST",
        pick_no_cheap_only: "max(score) + 1",
        pick_strict: ">=, not >",
        pick_zero_fallback: "return None",
    }
    assert_mistakes_named("12.pick_threshold", expected)
