"""Helpers both OpenAI wire formats use: Chat Completions (:mod:`._openai`) and Responses
(:mod:`._openai_responses`) answer from the same model, caches, rate limiter and faults.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from llmlab import tokens as tk
from llmlab.sim._engine import Simulator
from llmlab.sim.model._catalog import ModelProfile
from llmlab.sim.physics._cache import OPENAI_MIN_TOKENS
from llmlab.sim.physics._ratelimit import retry_after_headers
from llmlab.sim.wire._http import ApiError


def prompt_token_ids(body: dict[str, Any], profile: ModelProfile) -> list[int]:
    """A token sequence whose length is prompt_tokens - 3, for prefix caching.

    ``body`` is a Chat Completions body (the Responses API translates its input to one).
    """
    enc = tk.encoding(profile.encoding)
    ids: list[int] = []
    for tool in body.get("tools") or []:
        ids += enc.encode(json.dumps(tool, sort_keys=True), disallowed_special=())
    for m in body.get("messages") or []:
        ids += [-1, -2, -3]  # the per-message framing tokens
        for key, value in m.items():
            if key == "tool_calls" and isinstance(value, list):
                for call in value:
                    fn = call.get("function", {})
                    ids += enc.encode(
                        fn.get("name", "") + fn.get("arguments", ""), disallowed_special=()
                    )
                continue
            text = (
                value
                if isinstance(value, str)
                else (
                    "".join(p.get("text", "") for p in value if isinstance(p, dict))
                    if isinstance(value, list)
                    else json.dumps(value)
                    if value is not None
                    else ""
                )
            )
            ids += tk.token_ids(text, profile.encoding)
            if key == "name":
                ids.append(-4)
    return ids


def cached_tokens(
    sim: Simulator, namespace: str, body: dict[str, Any], profile: ModelProfile, now: float
) -> int:
    """The prompt tokens of Chat Completions ``body`` read from OpenAI's cache (the Responses
    API passes its translation), storing its prefixes for the next request.

    A prompt below the cache's minimum neither hits nor is stored, so its token ids (every
    message tokenised afresh) are computed only from that length on. The length comes from
    the memoised counters: the chat count less the reply priming is, message by message and
    tool by tool, the count of :func:`prompt_token_ids`.
    """
    messages, tools = body.get("messages") or [], body.get("tools")
    n_ids = tk.chat_tokens(messages, profile.id) + tk.chat_tools_tokens(tools, profile.id)
    if n_ids - tk.REPLY_PRIMING < OPENAI_MIN_TOKENS:
        return 0
    return sim.openai_cache.lookup(namespace, prompt_token_ids(body, profile), now)


def admit(
    sim: Simulator,
    bucket: str,
    profile: ModelProfile,
    prompt_tokens: int,
    headers: dict[str, str],
    now: float,
) -> None:
    """Take the request's tokens from the rate limiter; set the rate-limit headers; 429 if over."""
    admission = sim.rate_limiter.admit(bucket, prompt_tokens, now)
    headers.update(ratelimit_headers(sim, bucket, now))
    if not admission.allowed:
        wait = sim.clock.real(admission.retry_after)
        raise ApiError(
            429,
            "requests" if admission.limited == "requests" else "tokens",
            f"Rate limit reached for {profile.id} on {admission.limited.replace('_', ' ')}"
            f" per min. Please try again in {wait:.3f}s.",
            code="rate_limit_exceeded",
            headers=retry_after_headers(wait),
        )


def settler(
    sim: Simulator,
    bucket: str,
    request_id: str,
    model: str,
    prompt_tokens: int,
    cached: int,
    output_tokens: int,
) -> Callable[[int, bool], None]:
    """The billing callback ``sim.paced`` calls when a body ends: output spent, call billed.

    A completed body bills ``output_tokens``; an unfinished one the tokens delivered.
    """

    def settle(delivered: int, complete: bool) -> None:
        sim.rate_limiter.spend_output(bucket, delivered, sim.clock.now())
        sim.billing.charge(
            request_id,
            "openai",
            model,
            input_tokens=prompt_tokens - cached,
            output_tokens=output_tokens if complete else delivered,
            read=cached,
            complete=complete,
        )

    return settle


def fault_error(sim: Simulator, kind: str) -> ApiError:
    """The error an injected status fault ("429", "quota", "500", "503", "529") answers with."""
    wait = sim.clock.real(1.0)
    retry = retry_after_headers(wait)
    if kind == "429":
        return ApiError(
            429,
            "requests",
            f"Rate limit reached for requests. Please try again in {wait:.3f}s.",
            code="rate_limit_exceeded",
            headers=retry,
        )
    if kind == "quota":
        return ApiError(
            429,
            "insufficient_quota",
            "You exceeded your current quota, please check your plan and billing details.",
            code="insufficient_quota",
        )
    if kind == "500":
        return ApiError(
            500,
            "server_error",
            "The server had an error while processing your request. Sorry about that!",
        )
    return ApiError(
        503,
        "server_error",
        "The engine is currently overloaded, please try again later.",
        code="overloaded" if kind == "529" else None,
    )


def is_strict(body: dict[str, Any]) -> bool:
    """Does this Chat Completions body ask for strict structured output (no injected errors)?"""
    fmt = body.get("response_format") or {}
    if isinstance(fmt, dict) and (fmt.get("json_schema") or {}).get("strict"):
        return True
    choice = body.get("tool_choice")
    if isinstance(choice, dict):
        name = (choice.get("function") or {}).get("name")
        for tool in body.get("tools") or []:
            fn = tool.get("function", {})
            if fn.get("name") == name and fn.get("strict"):
                return True
    return False


def dated(model: str) -> str:
    """The dated snapshot id a response names for a model alias."""
    return {
        "gpt-4o": "gpt-4o-2024-08-06",
        "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
        "gpt-4.1": "gpt-4.1-2025-04-14",
        "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    }.get(model, model)


def duration(seconds: float) -> str:
    """OpenAI's Go-style reset durations: ``6m0s``, ``1.5s``, ``12ms``."""
    if seconds < 1:
        return f"{int(seconds * 1000)}ms"
    minutes, rest = divmod(seconds, 60)
    return f"{int(minutes)}m{rest:.0f}s" if minutes else f"{rest:.3g}s"


def ratelimit_headers(sim: Simulator, bucket: str, now: float) -> dict[str, str]:
    """``x-ratelimit-{limit,remaining,reset}-{requests,tokens}`` with the true remaining counts."""
    out = {}
    states = sim.rate_limiter.state(bucket, now)
    for kind, suffix in (("requests", "requests"), ("input_tokens", "tokens")):
        state = states.get(kind)
        if state is not None:
            limit, remaining, reset = state
            out[f"x-ratelimit-limit-{suffix}"] = str(limit)
            out[f"x-ratelimit-remaining-{suffix}"] = str(remaining)
            out[f"x-ratelimit-reset-{suffix}"] = duration(sim.clock.real(reset))
    return out
