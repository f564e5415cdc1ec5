"""LLMClient (lab 10): the course's parts composed into one small client over both async SDKs.

One provider-neutral contract in (:class:`LLMRequest`), typed results out (:class:`LLMResult`,
:class:`ToolRun`). Every call goes through the same path::

    estimate tokens -> fits the window? -> tenant budget (with reservations) -> breaker admits?
    -> one streamed attempt (SDK max_retries=0, per-attempt timeout) -> ledger row, ok or not
    -> on an infrastructure error: breaker failure, wait (retry-after, else full jitter), retry;
       after max_attempts or an open breaker: the next provider (failover)
    -> on a content error (400, 404, 422...): raise at once, on any provider

Structured output is a forced ``respond`` tool on both providers, validated with Pydantic and
re-asked with the error (``max_validation_attempts``). Side-effecting tools get an idempotency
key derived from the request's key, so a retried or replayed request never repeats the effect.
Clock, sleep and randomness are injected; nothing here knows about the simulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field, replace
from functools import partial
from types import TracebackType
from typing import Any, Literal

import anthropic
import openai
from pydantic import BaseModel, ValidationError

from llmlab._exceptions import (
    CircuitOpenError,
    ProviderUnavailableError,
    StructuredOutputError,
)
from llmlab._httpgen import TRANSPORT_ERRORS
from llmlab.reference._client_wire import (
    RESPOND,
    Accumulated,
    Message,
    anthropic_kwargs,
    openai_kwargs,
    prompt_estimate,
    read_anthropic_event,
    read_openai_chunk,
)
from llmlab.reference.breaker import CircuitBreaker
from llmlab.reference.breaker import is_infra_error as breaker_is_infra_error
from llmlab.reference.cost import ContextWindowError
from llmlab.reference.ledger import Ledger, check_budget, estimate_usd
from llmlab.reference.retry import (
    backoff_delay,
    error_type,
    retry_after_seconds,
)
from llmlab.reference.tools import ToolCall, ToolResult, ToolSpec, run_tool
from llmlab.sim import DEFAULT_MODEL, MODELS

__all__ = [
    "LLMClient",
    "LLMRequest",
    "LLMResult",
    "LLMStream",
    "Message",
    "ToolRun",
    "Usage",
    "build_prompt",
    "is_infra_error",
    "prompt_hash",
]

Provider = Literal["anthropic", "openai"]


@dataclass(frozen=True)
class LLMRequest:
    """What the caller wants, whoever answers: prompt, explicit sampling, who pays, a key.

    ``temperature`` and ``top_p`` go to OpenAI, always sent (never a default you did not
    choose). Anthropic's current API (2026-10-21) refuses sampling parameters, so a request
    answered by Anthropic samples at the model's own setting. ``idempotency_key`` names the
    logical request, so side effects of a retried or replayed request happen once.
    """

    messages: tuple[Message, ...]
    system: str = ""
    max_tokens: int = 256
    temperature: float = 0.0
    top_p: float | None = None
    stop: tuple[str, ...] = ()
    feature: str = "default"
    tenant: str = "default"
    idempotency_key: str | None = None
    cache_system: bool = True

    def __post_init__(self) -> None:
        if not self.messages or self.messages[0].role != "user":
            raise ValueError("LLMRequest.messages must start with a user Message")
        if not isinstance(self.max_tokens, int) or self.max_tokens < 1:
            raise ValueError(f"max_tokens must be a positive integer, got {self.max_tokens!r}")
        if not 0.0 <= self.temperature <= 1.0:
            raise ValueError(f"temperature must be within [0, 1], got {self.temperature}")
        if self.top_p is not None and not 0.0 < self.top_p <= 1.0:
            raise ValueError(f"top_p must be within (0, 1], got {self.top_p}")

    @classmethod
    def ask(cls, user: str, **fields: Any) -> LLMRequest:
        """A one-turn request: ``LLMRequest.ask("Summarise ...", system=..., feature=...)``."""
        return cls(messages=(Message("user", user),), **fields)


def build_prompt(request: LLMRequest) -> dict[str, Any]:
    """The provider-neutral prompt as plain JSON data: a pure function of the request."""
    return {
        "system": request.system,
        "messages": [
            {
                "role": m.role,
                "text": m.text,
                "tool_calls": [[c.id, c.name, c.arguments] for c in m.tool_calls],
                "tool_results": [[r.call_id, r.content, r.is_error] for r in m.tool_results],
            }
            for m in request.messages
        ],
        "max_tokens": request.max_tokens,
        "temperature": request.temperature,
        "top_p": request.top_p,
        "stop": list(request.stop),
    }


def prompt_hash(request: LLMRequest) -> str:
    """SHA-256 of the canonical prompt: equal prompts, equal hashes, on any machine."""
    canonical = json.dumps(build_prompt(request), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()


@dataclass(frozen=True)
class Usage:
    """Tokens of one answer; ``input_tokens`` counts ALL input (uncached + writes + reads)."""

    input_tokens: int
    output_tokens: int
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0


@dataclass(frozen=True)
class LLMResult:
    """One answer: text (and tool calls, or the validated object), who gave it, at what cost."""

    text: str
    provider: str
    model: str
    request_id: str
    usage: Usage
    cost_usd: float
    latency_ms: float
    ttft_ms: float | None
    attempts: int  # provider attempts this answer took, across providers
    stop_reason: str
    tool_calls: tuple[ToolCall, ...] = ()
    parsed: Any = None


@dataclass
class ToolRun:
    """How a tool loop ended: ``"answer"``, or ``"max_turns"`` (the cap on a looping model)."""

    answer: str | None = None
    stopped: Literal["answer", "max_turns"] = "max_turns"
    turns: int = 0
    calls: list[ToolCall] = field(default_factory=list)
    results: list[ToolResult] = field(default_factory=list)
    responses: list[LLMResult] = field(default_factory=list)

    @property
    def cost_usd(self) -> float:
        return sum(r.cost_usd for r in self.responses)


class _StreamEndedEarly(Exception):
    """The connection closed before the provider's end-of-message event."""


#: Error types an SSE error event carries when the server failed mid-stream (HTTP status 200).
STREAM_ERROR_TYPES = frozenset(
    {"overloaded_error", "api_error", "server_error", "rate_limit_error", "timeout_error"}
)


def is_infra_error(exc: BaseException) -> bool:
    """Worth another attempt or another provider: outages, overload, rate limits, timeouts,
    dropped or stalled streams, an open breaker. A 400 is a bug on any provider."""
    if breaker_is_infra_error(exc):  # lab 08's rule: an open breaker, or what lab 07 retries
        return True
    if isinstance(exc, (*TRANSPORT_ERRORS, _StreamEndedEarly)):  # raised while reading
        return True
    # An error event inside a 200 stream: the status says nothing, the error type does.
    in_stream = getattr(exc, "status_code", None) in (None, 200)
    sdk_error = isinstance(exc, anthropic.APIError | openai.APIError)
    return sdk_error and in_stream and error_type(exc) in STREAM_ERROR_TYPES


class LLMClient:
    """A disciplined client over ``anthropic.AsyncAnthropic`` and ``openai.AsyncOpenAI``.

    ``order`` is the failover order (default: Anthropic first, where configured). ``sleep``,
    ``clock`` and ``rand`` are injected for tests; ``timeout`` bounds one attempt (and each
    stall of a stream) in real seconds. ``ledger`` receives one row per attempt.
    ``is_infra`` decides which errors are retried and failed over (the rest raise at once).
    """

    def __init__(
        self,
        *,
        anthropic: Any = None,
        openai: Any = None,
        models: Mapping[str, str] | None = None,
        order: Sequence[str] | None = None,
        ledger: Ledger | None = None,
        timeout: float = 30.0,
        max_attempts: int = 3,
        backoff_base: float = 0.5,
        backoff_cap: float = 8.0,
        max_retry_after: float = 60.0,
        breaker_threshold: int = 5,
        breaker_reset: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        rand: Callable[[], float] = random.random,
        is_infra: Callable[[BaseException], bool] = is_infra_error,
    ) -> None:
        given = {"anthropic": anthropic, "openai": openai}
        self.order: list[str] = list(order or [p for p in ("anthropic", "openai") if given[p]])
        if not self.order:
            raise ValueError("LLMClient needs an anthropic= or openai= SDK client (or both)")
        for name in self.order:
            if given.get(name) is None:
                raise ValueError(f"order names {name!r} but no {name}= client was given")
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        # The SDKs retry by themselves (2 retries by default): retries would multiply.
        self.sdk = {n: given[n].with_options(max_retries=0, timeout=timeout) for n in self.order}
        defaults: dict[str, str] = {str(k): v for k, v in DEFAULT_MODEL.items()}
        self.models = {n: (models or {}).get(n, defaults[n]) for n in self.order}
        for name, model in self.models.items():
            if model not in MODELS or MODELS[model].provider != name:
                raise ValueError(f"unknown {name} model {model!r}")
        self.breakers = {
            n: CircuitBreaker(breaker_threshold, breaker_reset, clock) for n in self.order
        }
        self.ledger = ledger
        self.max_attempts = max_attempts
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.max_retry_after = max_retry_after
        self.sleep, self.rand = sleep, rand
        self.is_infra = is_infra  # the one decision: retry / fail over, or raise at once
        self.stats: Counter[str] = Counter()  # "attempts", "ok", "failed", "open_refusals", ...
        self.rows: list[dict[str, Any]] = []  # every attempt's ledger row, in order
        self._reserved: dict[str, float] = {}  # tenant -> USD of calls in flight

    # -- before the call ----------------------------------------------------------------------
    def _kwargs(
        self,
        provider: str,
        request: LLMRequest,
        tools: Mapping[str, ToolSpec] | None,
        schema: type[BaseModel] | None,
    ) -> dict[str, Any]:
        common: dict[str, Any] = {
            "model": self.models[provider],
            "system": request.system,
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "stop": request.stop,
            "tools": dict(tools) if tools else None,
            "schema": schema,
        }
        if provider == "anthropic":  # no sampling parameters under API version 2026-10-21
            return anthropic_kwargs(cache_system=request.cache_system, **common)
        return openai_kwargs(temperature=request.temperature, top_p=request.top_p, **common)

    def estimate(self, request: LLMRequest, provider: str | None = None) -> tuple[int, float]:
        """(input tokens, worst-case USD) of ``request`` on ``provider``, counted locally."""
        provider = provider or self.order[0]
        model = self.models[provider]
        tokens_in = prompt_estimate(provider, model, self._kwargs(provider, request, None, None))
        usd = estimate_usd(
            model, input_tokens=tokens_in, max_tokens=request.max_tokens, provider=provider
        )
        return tokens_in, usd

    def _admit(self, provider: str, request: LLMRequest, tokens_in: int) -> float:
        """Window and budget checks before anything is sent; returns the USD reserved."""
        model = self.models[provider]
        window = MODELS[model].context_window
        if tokens_in + request.max_tokens > window:
            raise ContextWindowError(
                f"{tokens_in} prompt tokens + max_tokens={request.max_tokens} > the "
                f"{window}-token context window of {model}"
            )
        if self.ledger is None or request.tenant not in self.ledger.budgets:
            return 0.0
        usd = estimate_usd(
            model, input_tokens=tokens_in, max_tokens=request.max_tokens, provider=provider
        )
        # Calls in flight have not written their rows yet: count their worst case too.
        check_budget(
            self.ledger.conn,
            request.tenant,
            usd + self._reserved.get(request.tenant, 0.0),
            self.ledger.budgets[request.tenant],
        )
        self._reserved[request.tenant] = self._reserved.get(request.tenant, 0.0) + usd
        return usd

    # -- one attempt --------------------------------------------------------------------------
    async def _attempt(
        self,
        provider: str,
        kwargs: dict[str, Any],
        acc: Accumulated,
        on_text: Callable[[str], Awaitable[None]] | None,
        marks: dict[str, float],
    ) -> None:
        sdk = self.sdk[provider]
        if provider == "anthropic":
            events = await sdk.messages.create(stream=True, **kwargs)
            read: Callable[[Accumulated, Any], str] = read_anthropic_event
        else:
            events = await sdk.chat.completions.create(**kwargs)
            read = read_openai_chunk
        async with events:  # closing the stream closes the connection: billing stops
            async for event in events:
                text = read(acc, event)
                if text:
                    marks.setdefault("ttft", time.perf_counter())
                    if on_text is not None:
                        await on_text(text)
        if not acc.complete:
            raise _StreamEndedEarly(f"{provider} stream ended before its final event")

    def _record(
        self,
        request: LLMRequest,
        acc: Accumulated,
        estimate: int,
        started: float,
        marks: dict[str, float],
        error: BaseException | None,
    ) -> dict[str, Any]:
        uncached, output, write, read, usd = acc.priced(estimate)
        if acc.request_id is None:  # never served: nothing generated, nothing billed
            uncached = output = write = read = 0
            usd = 0.0
        status = getattr(error, "status_code", None)
        row: dict[str, Any] = {
            "request_id": acc.request_id,
            "provider": acc.provider,
            "model": acc.model,
            "feature": request.feature,
            "tenant": request.tenant,
            "prompt_tokens": uncached + write + read,
            "completion_tokens": output,
            "cache_read_tokens": read,
            "cache_write_tokens": write,
            "cost_usd": usd,
            "latency_ms": (time.perf_counter() - started) * 1000,
            "ttft_ms": (marks["ttft"] - started) * 1000 if "ttft" in marks else None,
            "status": "ok" if error is None else "error",
            "error": None
            if error is None
            else type(error).__name__ + (f" {status}" if status is not None else ""),
        }
        if self.ledger is not None:
            row = self.ledger.record(row, prompt_hash(request))
        self.rows.append(row)
        return row

    # -- the one path every call takes --------------------------------------------------------
    async def _call(
        self,
        request: LLMRequest,
        *,
        tools: Mapping[str, ToolSpec] | None = None,
        schema: type[BaseModel] | None = None,
        on_text: Callable[[str], Awaitable[None]] | None = None,
    ) -> LLMResult:
        errors: dict[str, BaseException] = {}
        attempts = 0
        for provider in self.order:
            model, breaker = self.models[provider], self.breakers[provider]
            kwargs = self._kwargs(provider, request, tools, schema)
            estimate = prompt_estimate(provider, model, kwargs)
            for attempt in range(self.max_attempts):
                reserved = self._admit(provider, request, estimate)
                try:
                    try:
                        breaker.before_call()
                    except CircuitOpenError as exc:
                        self.stats["open_refusals"] += 1
                        errors[provider] = exc
                        break  # fail over now: waiting would only queue behind the outage
                    attempts += 1
                    self.stats["attempts"] += 1
                    acc = Accumulated(provider, model)
                    marks: dict[str, float] = {}
                    started = time.perf_counter()
                    try:
                        await self._attempt(provider, kwargs, acc, on_text, marks)
                    except asyncio.CancelledError as exc:  # the caller stopped reading
                        self._record(request, acc, estimate, started, marks, exc)
                        if acc.request_id is not None:
                            breaker.record_success()  # it was answering; we hung up
                        raise
                    except Exception as exc:
                        self._record(request, acc, estimate, started, marks, exc)
                        self.stats["failed"] += 1
                        if not self.is_infra(exc):
                            breaker.record_success()  # the provider is up; the request is wrong
                            raise
                        breaker.record_failure()
                        errors[provider] = exc
                        if "ttft" in marks and on_text is not None:
                            raise  # text already reached the caller: a retry would repeat it
                    else:
                        breaker.record_success()
                        row = self._record(request, acc, estimate, started, marks, None)
                        self.stats["ok"] += 1
                        return self._result(acc, row, attempts)
                finally:
                    if reserved:
                        self._reserved[request.tenant] -= reserved
                if attempt == self.max_attempts - 1:
                    break
                wait = retry_after_seconds(errors[provider])
                if wait is not None and wait > self.max_retry_after:
                    break  # the provider asked for longer than we wait: try the next one
                if wait is None:
                    wait = backoff_delay(attempt, self.backoff_base, self.backoff_cap, self.rand)
                self.stats["retries"] += 1
                await self.sleep(wait)
        summary = "; ".join(f"{p}: {type(e).__name__}" for p, e in errors.items())
        raise ProviderUnavailableError(f"every provider failed ({summary})", errors)

    @staticmethod
    def _result(acc: Accumulated, row: Mapping[str, Any], attempts: int) -> LLMResult:
        return LLMResult(
            text="".join(acc.text),
            provider=acc.provider,
            model=acc.model,
            request_id=str(acc.request_id),
            usage=Usage(
                row["prompt_tokens"],
                row["completion_tokens"],
                row["cache_read_tokens"],
                row["cache_write_tokens"],
            ),
            cost_usd=row["cost_usd"],
            latency_ms=row["latency_ms"],
            ttft_ms=row["ttft_ms"],
            attempts=attempts,
            stop_reason=acc.stop_reason,
            tool_calls=tuple(acc.calls()),
        )

    # -- the public surface -------------------------------------------------------------------
    async def generate(
        self,
        request: LLMRequest,
        *,
        schema: type[BaseModel] | None = None,
        context: Mapping[str, Any] | None = None,
        max_validation_attempts: int = 3,
    ) -> LLMResult:
        """One answer. With ``schema``, ``.parsed`` holds a validated instance of it.

        Validation failures (shape, or business rules given ``context``) are fed back as an
        error tool result and asked again; after ``max_validation_attempts`` answers that do
        not validate, :class:`~llmlab.StructuredOutputError` (never unvalidated data).
        """
        if schema is None:
            return await self._call(request)
        messages = request.messages
        last: ValidationError | None = None
        for _ in range(max_validation_attempts):
            result = await self._call(replace(request, messages=messages), schema=schema)
            call = next((c for c in result.tool_calls if c.name == RESPOND), None)
            if call is None:
                raise StructuredOutputError(f"{result.provider} answered without {RESPOND}")
            try:
                parsed = schema.model_validate(call.arguments, context=dict(context or {}))
            except ValidationError as exc:
                last = exc
                self.stats["validation_retries"] += 1
                feedback = ToolResult(
                    call.id, f"Validation Error found:\n{exc}\nFix the errors and call again.", True
                )
                messages = (
                    *messages,
                    Message("assistant", tool_calls=(call,)),
                    Message("user", tool_results=(feedback,)),
                )
                continue
            return replace(result, parsed=parsed)
        raise StructuredOutputError(
            f"no valid {schema.__name__} after {max_validation_attempts} answers"
        ) from last

    def stream(self, request: LLMRequest) -> LLMStream:
        """``async with client.stream(req) as s: async for text in s: ...``; then ``s.result``.

        Leaving the block early cancels the request: the connection closes and the provider
        stops generating (and billing). Retries and failover happen only before the first text.
        """
        return LLMStream(self, request)

    async def with_tools(
        self,
        request: LLMRequest,
        tools: Mapping[str, ToolSpec],
        *,
        side_effects: Collection[str] = (),
        max_turns: int = 5,
    ) -> ToolRun:
        """Call the model, run the tools it asks for (concurrently), feed results back; repeat.

        Tools named in ``side_effects`` receive ``idempotency_key=`` built from the request's
        key, the tool and its ordinal in this run: a replay of the same request repeats the
        keys, so the tool can refuse to act twice. ``max_turns`` caps the model calls.
        """
        if side_effects and request.idempotency_key is None:
            raise ValueError("side-effecting tools need LLMRequest(idempotency_key=...)")
        unknown = set(side_effects) - set(tools)
        if unknown:
            raise ValueError(f"side_effects names unknown tools: {sorted(unknown)}")
        run = ToolRun()
        messages = list(request.messages)
        ordinal: Counter[str] = Counter()
        for _ in range(max_turns):
            result = await self._call(replace(request, messages=tuple(messages)), tools=tools)
            run.turns += 1
            run.responses.append(result)
            if not result.tool_calls:
                run.answer, run.stopped = result.text, "answer"
                return run
            messages.append(Message("assistant", result.text, tool_calls=result.tool_calls))
            jobs = []
            for call in result.tool_calls:
                specs: Mapping[str, ToolSpec] = tools
                if call.name in side_effects:
                    key = f"{request.idempotency_key}:{call.name}:{ordinal[call.name]}"
                    ordinal[call.name] += 1
                    spec = tools[call.name]
                    keyed = ToolSpec(partial(spec.fn, idempotency_key=key), spec.args)
                    specs = {**tools, call.name: keyed}
                jobs.append(run_tool(call, specs))
            results = await asyncio.gather(*jobs)
            run.calls.extend(result.tool_calls)
            run.results.extend(results)
            messages.append(Message("user", tool_results=tuple(results)))
        return run


class LLMStream:
    """A streamed answer: iterate for text as it arrives; ``result`` once it finished.

    The request runs in a task that hands over one piece at a time (a queue of one): it reads
    the provider's stream only as fast as the caller reads it, so a caller that stops early
    stops the generation there.
    """

    def __init__(self, client: LLMClient, request: LLMRequest) -> None:
        self._client, self._request = client, request
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=1)
        self._task: asyncio.Task[None] | None = None
        self._error: BaseException | None = None
        self.result: LLMResult | None = None

    async def _produce(self) -> None:
        try:
            self.result = await self._client._call(self._request, on_text=self._queue.put)
        except Exception as exc:
            self._error = exc
        await self._queue.put(None)

    async def __aenter__(self) -> LLMStream:
        self._task = asyncio.ensure_future(self._produce())
        return self

    def __aiter__(self) -> AsyncIterator[str]:
        return self._texts()

    async def _texts(self) -> AsyncIterator[str]:
        assert self._task is not None, "use: async with client.stream(request) as s"
        while (text := await self._queue.get()) is not None:
            yield text
        if self._error is not None:
            raise self._error

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._task is None:
            return
        if not self._task.done():
            self._task.cancel()  # the caller stopped reading: hang up on the provider
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
