"""The pieces of labs 02-09 that the learner's lab-10 client is built from, as llmlab wrote them.

Each has an exercise id; :func:`llmlab.mine` hands out the learner's passing version and falls
back to the one here (or to the exercise registry's reference, once the id is registered).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from llmlab import tokens
from llmlab.reference._client_wire import Accumulated, prompt_estimate, read_anthropic_event
from llmlab.reference.breaker import CircuitBreaker
from llmlab.reference.ledger import check_budget, estimate_usd
from llmlab.reference.retry import backoff_delay, retry_after_seconds
from llmlab.reference.tools import run_tool_loop
from llmlab.sim import MODELS

__all__ = [
    "PIECES",
    "cache_breakpoint",
    "estimate_call",
    "log_attempt",
    "next_wait",
    "read_event",
    "validate_or_feedback",
]


def estimate_call(provider: str, model: str, params: dict[str, Any]) -> tuple[int, float]:
    """(input tokens counted locally, worst-case USD with all of max_tokens) before sending."""
    tokens_in = prompt_estimate(provider, model, params)
    limit = params.get("max_tokens", params.get("max_completion_tokens"))
    if not isinstance(limit, int):
        raise ValueError("params must state max_tokens (or max_completion_tokens)")
    usd = estimate_usd(model, input_tokens=tokens_in, max_tokens=limit, provider=provider)
    return tokens_in, usd


def read_event(acc: Accumulated, event: Any) -> str:
    """Fold one raw Anthropic stream event into ``acc``; the text it adds ("" if none)."""
    return read_anthropic_event(acc, event)


def cache_breakpoint(params: dict[str, Any], model: str) -> dict[str, Any]:
    """A copy of Anthropic ``params`` with a cache breakpoint on the system prompt, set only
    when that prefix reaches the model's minimum (a shorter one is never cached)."""
    out = copy.deepcopy(params)
    system = out.get("system")
    if isinstance(system, str):
        system = [{"type": "text", "text": system}] if system else []
    if not system:
        return out
    text = "".join(block.get("text", "") for block in system)
    if tokens.count(text, model) >= MODELS[model].cache_min_tokens:
        system[-1] = {**system[-1], "cache_control": {"type": "ephemeral"}}
    out["system"] = system
    return out


def validate_or_feedback(
    schema: type[BaseModel], arguments: dict[str, Any], context: dict[str, Any] | None = None
) -> tuple[BaseModel | None, str | None]:
    """(instance, None) when ``arguments`` validate; else (None, feedback naming each field)."""
    try:
        return schema.model_validate(arguments, context=dict(context or {})), None
    except ValidationError as exc:
        return None, f"Validation Error found:\n{exc}\nFix the errors and call again."


def next_wait(
    exc: BaseException,
    attempt: int,
    *,
    base: float,
    cap: float,
    max_retry_after: float,
    rand: Callable[[], float],
) -> float | None:
    """Seconds before the next attempt: the server's retry-after if it is within
    ``max_retry_after`` (None if it asks for longer: fail over now), else full jitter."""
    wait = retry_after_seconds(exc)
    if wait is not None:
        return wait if wait <= max_retry_after else None
    return backoff_delay(attempt, base, cap, rand)


#: the keys of one attempt's log record (``record.ledger``): an allowlist, never the row itself
LOG_FIELDS = (
    "trace_id",
    "request_id",
    "provider",
    "model",
    "feature",
    "tenant",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "cache_write_tokens",
    "cost_usd",
    "latency_ms",
    "status",
    "error",
)


def log_attempt(logger: logging.Logger, row: Mapping[str, Any], *, trace_id: str) -> None:
    """One structured record per attempt (INFO if it succeeded, WARNING if not), its fields
    copied from ``row`` by name: a row carrying more (a prompt, headers) cannot leak it."""
    fields: dict[str, Any] = {k: row.get(k) for k in LOG_FIELDS}
    fields["trace_id"] = trace_id
    fields["cached_tokens"] = row.get("cache_read_tokens", 0)
    level = logging.INFO if row.get("status") == "ok" else logging.WARNING
    logger.log(level, "llm_call", extra={"ledger": fields})


#: exercise id -> llmlab's version, for the ids the exercise registry does not know yet
PIECES: dict[str, Any] = {
    "02.estimate_call": estimate_call,
    "03.read_event": read_event,
    "04.cache_breakpoint": cache_breakpoint,
    "05.validate_or_feedback": validate_or_feedback,
    "06.tool_loop": run_tool_loop,
    "07.next_wait": next_wait,
    "08.CircuitBreaker": CircuitBreaker,
    "09.check_budget": check_budget,
    "09.log_attempt": log_attempt,
}
