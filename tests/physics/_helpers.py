"""Shared helpers for the physics tests: long prefixes from the corpus, TTFT through the SDKs."""

from __future__ import annotations

import statistics
import time
from functools import cache
from typing import Any

import anthropic
import openai

import llmlab
from llmlab import tokens as tk
from llmlab.sim import MODELS

KEY = "sk-test-physics"
CLAUDE = "claude-sonnet-4-6"
GPT = "gpt-4.1-mini"


@cache
def corpus_text() -> str:
    files = sorted(p for p in (llmlab.data_dir() / "corpus").rglob("*") if p.is_file())
    return "\n\n".join(p.read_text(encoding="utf-8") for p in files)


@cache
def prefix(n_tokens: int, model: str = CLAUDE) -> str:
    """Corpus text repeated and cut to about ``n_tokens`` tokens (exact to a few tokens)."""
    enc = tk.encoding(MODELS[model].encoding)
    ids = enc.encode(corpus_text(), disallowed_special=())
    while len(ids) < n_tokens:
        ids = ids + ids
    return enc.decode(ids[:n_tokens])


def anthropic_system(text: str, ttl: str | None = None) -> list[dict[str, Any]]:
    control: dict[str, Any] = {"type": "ephemeral"}
    if ttl is not None:
        control["ttl"] = ttl
    return [{"type": "text", "text": text, "cache_control": control}]


def anthropic_ttft(
    client: anthropic.Anthropic, system: Any, question: str = "Status?"
) -> tuple[float, Any]:
    """Seconds from the call to the first text event of a stream, and the final usage."""
    start = time.perf_counter()
    first = None
    with client.messages.stream(
        model=CLAUDE,
        max_tokens=8,
        system=system,
        messages=[{"role": "user", "content": question}],
    ) as stream:
        for event in stream:
            if event.type == "text" and first is None:
                first = time.perf_counter() - start
        usage = stream.get_final_message().usage
    assert first is not None
    return first, usage


def openai_ttft(client: openai.OpenAI, system: str, question: str = "Status?") -> tuple[float, Any]:
    start = time.perf_counter()
    first = None
    usage = None
    stream = client.chat.completions.create(
        model=GPT,
        max_tokens=8,
        stream=True,
        stream_options={"include_usage": True},
        messages=[{"role": "system", "content": system}, {"role": "user", "content": question}],
    )
    for chunk in stream:
        if first is None and chunk.choices and chunk.choices[0].delta.content:
            first = time.perf_counter() - start
        if chunk.usage is not None:
            usage = chunk.usage
    assert first is not None and usage is not None
    return first, usage


def expected_ttft(model: str, uncached: int, cached: int) -> float:
    """Simulated seconds to first token without jitter, from the model's latency profile."""
    p = MODELS[model].latency
    return p.base + uncached * p.prefill_per_token + cached * p.cached_per_token


def median(values: list[float]) -> float:
    return statistics.median(values)
