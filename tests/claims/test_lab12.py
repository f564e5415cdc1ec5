"""Measured claims of lab 12 (response caching and routing), re-measured through the real SDKs."""

from __future__ import annotations

import asyncio
import json
import statistics
import time
from typing import Any

import numpy as np
import openai

import llmlab
from llmlab.reference.client import LLMClient, LLMRequest
from llmlab.reference.response_cache import (
    ResponseCache,
    cache_key,
    difficulty,
    pick_threshold,
    routed,
    semantic_lookup,
)
from llmlab.reference.structured import Incident
from llmlab.sim import mock

CHEAP, STRONG, EMBED = "gpt-4.1-mini", "gpt-4.1", "text-embedding-3-small"


def _rows(name: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in (llmlab.data_dir() / name).open()]


def _client(model: str) -> LLMClient:
    return LLMClient(openai=openai.AsyncOpenAI(api_key="test"), models={"openai": model})


def test_exact_cache_halves_cost_and_a_hit_is_100x_faster_than_a_call() -> None:
    questions = [q["question"] for q in _rows("support_questions.jsonl")[:20]]
    rng = np.random.default_rng(12)
    weights = 1 / np.arange(1, 21) ** 1.2
    traffic = [
        (questions[i], str(rng.choice(["acme", "globex"])))
        for i in rng.choice(20, size=120, p=weights / weights.sum())
    ]
    params = {"temperature": 0.0, "max_tokens": 40}

    async def go(client: LLMClient) -> list[tuple[bool, float, float]]:
        cache = ResponseCache(ttl=600)
        log = []
        for question, tenant in traffic:
            start = time.perf_counter()
            key = cache_key(CHEAP, params, [], [{"role": "user", "content": question}], tenant)
            hit = cache.get(key)
            if hit is None:
                hit_now = False
                result = await client.generate(
                    LLMRequest.ask(question, tenant=tenant, max_tokens=40, temperature=0.0)
                )
                cache.put(key, result)
            else:
                hit_now, result = True, hit
            log.append((hit_now, time.perf_counter() - start, result.cost_usd))
        return log

    with mock(seed=12, time_scale=0.05):
        log = asyncio.run(go(_client(CHEAP)))
    paid = sum(usd for hit, _, usd in log if not hit)
    assert paid / sum(usd for _, _, usd in log) < 0.5
    hit_s = statistics.median(s for hit, s, _ in log if hit)
    miss_s = statistics.median(s for hit, s, _ in log if not hit)
    assert hit_s / miss_s < 0.01, (hit_s, miss_s)


def test_semantic_cache_false_hits_at_0_5_and_few_hits_at_0_8() -> None:
    rows = _rows("support_questions.jsonl")
    with mock(seed=12, time_scale=0.01):
        r = openai.OpenAI(api_key="test").embeddings.create(
            model=EMBED, input=[q["question"] for q in rows]
        )
    vectors = np.array([d.embedding for d in r.data])
    intents = [q["intent"] for q in rows]
    seeds = [intents.index(i) for i in dict.fromkeys(intents) if intents.count(i) > 1]
    queries = [i for i in range(len(rows)) if i not in seeds]
    assert (len(seeds), len(queries)) == (14, 56)

    def sweep(threshold: float) -> tuple[float, float]:
        found = [(semantic_lookup(vectors[i], vectors[seeds], threshold), i) for i in queries]
        hit = [(j, i) for j, i in found if j is not None]
        false = sum(intents[seeds[j]] != intents[i] for j, i in hit)
        return len(hit) / len(queries), false / max(len(hit), 1)

    hit_rate, false_rate = sweep(0.5)
    assert hit_rate > 0.4 and false_rate > 0.1
    hit_rate, false_rate = sweep(0.8)
    assert false_rate == 0 and hit_rate < 0.2


def test_routing_by_difficulty_keeps_accuracy_at_about_half_the_strong_cost() -> None:
    reports = _rows("incident_reports.jsonl")
    texts, labels = [r["report"] for r in reports], [r["severity"] for r in reports]

    async def triage(model: str) -> list[tuple[bool, float]]:
        client = _client(model)

        async def one(text: str, label: str) -> tuple[bool, float]:
            req = LLMRequest.ask(text, system="Triage.", max_tokens=200, temperature=0.0)
            r = await client.generate(req, schema=Incident)
            return r.parsed.severity == label, r.cost_usd

        return list(await asyncio.gather(*(one(t, y) for t, y in zip(texts, labels, strict=True))))

    with mock(seed=12, time_scale=0.01):
        cheap, strong = asyncio.run(triage(CHEAP)), asyncio.run(triage(STRONG))
    cheap_ok, cheap_usd = [ok for ok, _ in cheap], [u for _, u in cheap]
    strong_ok, strong_usd = [ok for ok, _ in strong], [u for _, u in strong]
    assert np.mean(strong_ok) >= np.mean(cheap_ok) + 0.1
    assert 4.5 < sum(strong_usd) / sum(cheap_usd) < 5.5  # $2/$8 vs $0.4/$1.6 per MTok
    scores = [difficulty(t) for t in texts]
    hard = [ok for s, ok in zip(scores, cheap_ok, strict=True) if s >= 2]
    easy = [ok for s, ok in zip(scores, cheap_ok, strict=True) if s < 2]
    assert np.mean(hard) < np.mean(easy) - 0.2
    t = pick_threshold(scores, cheap_ok, strong_ok, cheap_usd, strong_usd, 0.9)
    assert t is not None
    assert np.mean(routed(scores, cheap_ok, strong_ok, t)) >= 0.9 > np.mean(cheap_ok)
    assert sum(routed(scores, cheap_usd, strong_usd, t)) / sum(strong_usd) < 0.6
