"""LLMClient (lab 10): the course's parts composed into one small client over both async SDKs.

One provider-neutral contract in (:class:`LLMRequest`), typed results out (:class:`LLMResult`,
:class:`ToolRun`). Every call goes through the same path::

    estimate tokens -> fits the window? -> tenant budget (with reservations) -> breaker admits?
    -> one streamed attempt (SDK max_retries=0, per-attempt timeout) -> ledger row, ok or not
    -> on an infrastructure error: breaker failure, wait (retry-after, else full jitter), retry;
       after max_attempts or an open breaker: the next provider (failover)
    -> on a content error (400, 404, 422...): raise at once, on any provider

OpenAI calls go through the Responses API (``openai_api="responses"``, the default) and
through Chat Completions for a request that needs what only Chat has: ``stop`` sequences, a
``seed``, or ``max_tokens`` below Responses' floor of 16 (``openai_api="chat"``: always).
Structured output is a forced ``respond`` tool on both providers, validated with Pydantic and
re-asked with the error (``max_validation_attempts``). Side-effecting tools get an idempotency
key derived from the request's key, so a retried or replayed request never repeats the effect.
Clock, sleep and randomness are injected; nothing here knows about the simulator.
"""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import inspect
import logging
import random
import time
from collections import Counter
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Collection,
    Iterator,
    Mapping,
    Sequence,
)
from dataclasses import dataclass, field, replace
from typing import Any, Literal

import anthropic
import openai
from pydantic import BaseModel

from llmlab._exceptions import (
    CircuitOpenError,
    ProviderUnavailableError,
    StreamInterruptedError,
    StructuredOutputError,
)
from llmlab._httpgen import transport_errors
from llmlab.reference._client_wire import (
    RESPOND,
    Accumulated,
    Message,
    anthropic_kwargs,
    openai_kwargs,
    read_openai_chunk,
    read_responses_event,
    responses_kwargs,
)
from llmlab.reference.breaker import is_infra_error as breaker_is_infra_error
from llmlab.reference.cost import OUTPUT_LIMITS, ContextWindowError
from llmlab.reference.ledger import Ledger
from llmlab.reference.request import (
    LLMRequest,
    LLMResult,
    ToolRun,
    Usage,
    build_prompt,
    prompt_hash,
)
from llmlab.reference.retry import error_type
from llmlab.reference.tools import ModelTurn, ToolCall, ToolResult, ToolSpec
from llmlab.sim import DEFAULT_MODEL, MODELS

__all__ = [
    "METHOD_IDS",
    "PIECE_IDS",
    "Attempt",
    "ClientBase",
    "Conversation",
    "LLMClient",
    "LLMRequest",
    "LLMResult",
    "Message",
    "StreamInterruptedError",
    "TextPipe",
    "ToolRun",
    "Usage",
    "build_prompt",
    "chat_only",
    "is_infra_error",
    "prompt_hash",
    "reference_pieces",
]

Provider = Literal["anthropic", "openai"]
OpenAIApi = Literal["responses", "chat"]
#: Responses' smallest max_output_tokens; a smaller limit goes through Chat Completions
MIN_RESPONSES_OUTPUT = 16


def chat_only(request: LLMRequest) -> str | None:
    """Why ``request`` needs Chat Completions on OpenAI (None: Responses can carry it)."""
    if request.stop:
        return "stop sequences"
    if request.seed is not None:
        return "a seed"
    if request.max_tokens < MIN_RESPONSES_OUTPUT:
        return f"max_tokens below {MIN_RESPONSES_OUTPUT}"
    return None


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
    if isinstance(exc, (*transport_errors(), _StreamEndedEarly)):  # raised while reading
        return True
    # An error event inside a 200 stream: the status says nothing, the error type does.
    in_stream = getattr(exc, "status_code", None) in (None, 200)
    sdk_error = isinstance(exc, anthropic.APIError | openai.APIError)
    return sdk_error and in_stream and error_type(exc) in STREAM_ERROR_TYPES


@dataclass
class Attempt:
    """One attempt at one provider: what it is for and what its stream delivered so far."""

    provider: str
    request: LLMRequest
    tokens_in: int  # the estimate before sending (the row's input if the stream died first)
    acc: Accumulated
    started: float = field(default_factory=time.perf_counter)
    first_text: float | None = None


class _DropCallRecord(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.msg == "llm_call" and record.levelno < logging.ERROR)


@contextlib.contextmanager
def _unlogged(logger: logging.Logger) -> Iterator[None]:
    """Hold back the ledger's own per-call record (a write failure still logs its ERROR)."""
    drop = _DropCallRecord()
    logger.addFilter(drop)
    try:
        yield
    finally:
        logger.removeFilter(drop)


#: (breaker, its openings so far) when the attempt now under way in this task was admitted
_ADMITTED: contextvars.ContextVar[tuple[int, int] | None] = contextvars.ContextVar(
    "llmlab_admitted", default=None
)


class _CountingBreaker:
    """The learner's breaker, with the refusals it hands out counted in the client's stats, and
    its openings counted, so a request leaving while it is open can tell "admitted before it
    opened" (in flight: it queued in the SDK while another task's failure opened it) from "never
    admitted" (a ``call`` that skipped ``before_call``, or retried without asking again)."""

    def __init__(self, breaker: Any, stats: Counter[str]) -> None:
        self._breaker, self._stats = breaker, stats
        self.openings = 0

    def before_call(self) -> None:
        try:
            self._breaker.before_call()
        except CircuitOpenError:
            self._stats["open_refusals"] += 1
            raise
        _ADMITTED.set((id(self), self.openings))

    def record_failure(self) -> None:
        was_open = self._breaker.state == "open"
        self._breaker.record_failure()
        if not was_open and self._breaker.state == "open":
            self.openings += 1

    def admitted_before_it_opened(self) -> bool:
        """Whether the request leaving now (in this task) passed ``before_call`` while this
        breaker was not open, and it opened since: in flight, not a request sent into it."""
        mark = _ADMITTED.get()
        return mark is not None and mark[0] == id(self) and mark[1] < self.openings

    def __getattr__(self, name: str) -> Any:
        return getattr(self._breaker, name)


#: the pieces of labs 02-10 a client is built from (their references: the exercise registry)
PIECE_IDS = (
    "02.estimate_call",
    "03.read_event",
    "04.cache_breakpoint",
    "05.validate_or_feedback",
    "06.tool_loop",
    "07.next_wait",
    "08.CircuitBreaker",
    "09.check_budget",
    "09.log_attempt",
    "10.is_infra_error",
)
#: the methods lab 10 has the learner write, by exercise id
METHOD_IDS = {
    "10.call": "call",
    "10.generate": "generate",
    "10.stream": "stream",
    "10.with_tools": "with_tools",
}


def reference_pieces() -> dict[str, Any]:
    """llmlab's own version of every piece, by exercise id."""
    from llmlab.check._run import reference_for  # the registry imports this module

    return {piece: reference_for(piece) for piece in PIECE_IDS}


class ClientBase:
    """The plumbing of an ``LLMClient`` that is not the lesson: settings, SDK clients, wires.

    Lab 10's learner subclasses it and writes ``call``, ``generate``, ``stream`` and
    ``with_tools``; :class:`LLMClient` is this base with llmlab's own methods. ``pieces`` maps
    exercise ids (:data:`PIECE_IDS`) to the code the client runs: the learner's passing pieces
    of labs 02-09, else llmlab's. ``order`` is the failover order (default: Anthropic first,
    where configured). ``sleep``, ``clock`` and ``rand`` are injected for tests; ``timeout``
    bounds one attempt (and each stall of a stream) in real seconds. ``ledger`` receives one
    row per attempt; ``is_infra`` decides which errors are retried and failed over.
    ``openai_api`` picks OpenAI's API: ``"responses"`` (default; a request with ``stop``,
    ``seed`` or ``max_tokens`` < 16 still goes through Chat Completions, see :func:`chat_only`)
    or ``"chat"`` for every OpenAI call.
    """

    #: the pieces instances of this class use (None: llmlab's); a subclass sets its own
    pieces: Mapping[str, Any] | None = None

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
        is_infra: Callable[[BaseException], bool] | None = None,
        pieces: Mapping[str, Any] | None = None,
        openai_api: OpenAIApi = "responses",
    ) -> None:
        given = {"anthropic": anthropic, "openai": openai}
        self.order: list[str] = list(order or [p for p in ("anthropic", "openai") if given[p]])
        if not self.order:
            raise ValueError("LLMClient needs an anthropic= or openai= SDK client (or both)")
        for name in self.order:
            if given.get(name) is None:
                raise ValueError(f"order names {name!r} but no {name}= client was given")
        if openai_api not in ("responses", "chat"):
            raise ValueError(f"openai_api must be 'responses' or 'chat', got {openai_api!r}")
        self.openai_api: OpenAIApi = openai_api
        if max_attempts < 1:
            raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")
        chosen = {**reference_pieces(), **(type(self).pieces or {}), **(pieces or {})}
        if is_infra is not None:
            chosen["10.is_infra_error"] = is_infra
        self.piece: dict[str, Any] = chosen  # exercise id -> the code this client runs
        # The SDKs retry by themselves (2 retries by default): retries would multiply.
        self.sdk = {n: given[n].with_options(max_retries=0, timeout=timeout) for n in self.order}
        defaults: dict[str, str] = {str(k): v for k, v in DEFAULT_MODEL.items()}
        self.models = {n: (models or {}).get(n, defaults[n]) for n in self.order}
        for name, model in self.models.items():
            if model not in MODELS or MODELS[model].provider != name:
                raise ValueError(f"unknown {name} model {model!r}")
        self.stats: Counter[str] = Counter()  # "attempts", "ok", "failed", "open_refusals", ...
        breaker_class = chosen["08.CircuitBreaker"]
        self.breakers = {
            n: _CountingBreaker(breaker_class(breaker_threshold, breaker_reset, clock), self.stats)
            for n in self.order
        }
        self.ledger = ledger
        self.max_attempts = max_attempts
        self.backoff_base, self.backoff_cap = backoff_base, backoff_cap
        self.max_retry_after = max_retry_after
        self._sleep, self.rand = sleep, rand
        self.is_infra: Callable[[BaseException], bool] = chosen["10.is_infra_error"]
        self.rows: list[dict[str, Any]] = []  # every attempt's ledger row, in order
        self._reserved: dict[str, float] = {}  # tenant -> USD of calls in flight

    def provenance(self) -> dict[str, bool]:
        """Exercise id -> True where this client runs the learner's code, False for llmlab's."""
        refs = reference_pieces()
        out = {piece: self.piece[piece] is not refs[piece] for piece in PIECE_IDS}
        for piece, method in METHOD_IDS.items():
            out[piece] = getattr(type(self), method, None) is not getattr(LLMClient, method)
        return out

    # -- before the call ----------------------------------------------------------------------
    def params(
        self,
        provider: str,
        request: LLMRequest,
        tools: Mapping[str, ToolSpec] | None = None,
        schema: type[BaseModel] | None = None,
    ) -> dict[str, Any]:
        """The SDK keyword arguments for ``request`` on ``provider`` (the wire translation).

        OpenAI: ``responses.create`` arguments (they carry ``input``), or
        ``chat.completions.create`` ones under ``openai_api="chat"`` or when
        :func:`chat_only` names what the request needs from Chat (stop sequences, a seed).
        """
        common: dict[str, Any] = {
            "model": self.models[provider],
            "system": request.system,
            "messages": request.messages,
            "max_tokens": request.max_tokens,
            "tools": dict(tools) if tools else None,
            "schema": schema,
        }
        if provider == "anthropic":  # no sampling parameters under API version 2026-10-21
            kwargs = anthropic_kwargs(cache_system=False, stop=request.stop, **common)
            if request.cache_system:
                kwargs = self.piece["04.cache_breakpoint"](kwargs, self.models[provider])
            return kwargs
        sampling: dict[str, Any] = {"temperature": request.temperature, "top_p": request.top_p}
        if self.openai_api == "responses" and chat_only(request) is None:
            return responses_kwargs(**sampling, **common)
        kwargs = openai_kwargs(stop=request.stop, **sampling, **common)
        if request.seed is not None:
            kwargs["seed"] = request.seed
        return kwargs

    def estimate_call(self, provider: str, params: dict[str, Any]) -> tuple[int, float]:
        """(input tokens, worst-case USD) of ``params`` on ``provider``: your 02.estimate_call.

        Raises :class:`ContextWindowError` before anything is sent if the prompt and the
        output limit (``max_tokens``, ``max_completion_tokens`` or ``max_output_tokens``) do
        not fit the model's window.
        """
        model = self.models[provider]
        tokens_in, usd = self.piece["02.estimate_call"](provider, model, params)
        limit = next((params[k] for k in OUTPUT_LIMITS if k in params), 0)
        window = MODELS[model].context_window
        if tokens_in + limit > window:
            raise ContextWindowError(
                f"{tokens_in} prompt tokens + max_tokens={limit} > the "
                f"{window}-token context window of {model}"
            )
        return int(tokens_in), float(usd)

    def estimate(self, request: LLMRequest, provider: str | None = None) -> tuple[int, float]:
        """(input tokens, worst-case USD) of ``request`` on ``provider``, counted locally."""
        provider = provider or self.order[0]
        return self.estimate_call(provider, self.params(provider, request))

    @contextlib.contextmanager
    def admitted(self, provider: str, request: LLMRequest, worst_usd: float) -> Iterator[None]:
        """The tenant's budget check before anything is sent (your 09.check_budget); the worst
        case stays reserved for the tenant while the attempt is in flight."""
        budgets = self.ledger.budgets if self.ledger is not None else {}
        if request.tenant not in budgets or self.ledger is None:
            yield
            return
        # Calls in flight have not written their rows yet: count their worst case too.
        self.piece["09.check_budget"](
            self.ledger.conn,
            request.tenant,
            worst_usd + self._reserved.get(request.tenant, 0.0),
            budgets[request.tenant],
        )
        self._reserved[request.tenant] = self._reserved.get(request.tenant, 0.0) + worst_usd
        try:
            yield
        finally:
            self._reserved[request.tenant] -= worst_usd

    def next_wait(self, exc: BaseException, attempt: int) -> float | None:
        """Seconds before attempt ``attempt + 1`` (None: fail over now): your 07.next_wait."""
        wait = self.piece["07.next_wait"](
            exc,
            attempt,
            base=self.backoff_base,
            cap=self.backoff_cap,
            max_retry_after=self.max_retry_after,
            rand=self.rand,
        )
        return None if wait is None else float(wait)

    async def sleep(self, seconds: float) -> None:
        """Wait before a retry (the injected sleep; counted as a retry)."""
        self.stats["retries"] += 1
        await self._sleep(seconds)

    # -- one attempt --------------------------------------------------------------------------
    def new_attempt(self, provider: str, request: LLMRequest, tokens_in: int) -> Attempt:
        """Start one attempt's bookkeeping (its clock starts now)."""
        self.stats["attempts"] += 1
        return Attempt(provider, request, tokens_in, Accumulated(provider, self.models[provider]))

    async def send(
        self,
        attempt: Attempt,
        params: dict[str, Any],
        on_text: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        """Send ``params`` as one streamed attempt and read it to its end (your 03.read_event
        for Anthropic's events); raises what the SDK or the stream raised.

        A caller that stops reading cancels the attempt: its row is recorded here and the
        cancellation goes on. A failure after text reached ``on_text`` is raised as
        :class:`StreamInterruptedError` (a retry would repeat that text).
        """
        try:
            await self._read(attempt, params, on_text)
        except asyncio.CancelledError as exc:  # the caller stopped reading: we hung up
            self.record(attempt, exc)
            if attempt.acc.request_id is not None:
                self.breakers[attempt.provider].record_success()  # it was answering
            raise
        except Exception as exc:
            if attempt.first_text is not None and on_text is not None:
                raise StreamInterruptedError(
                    f"{attempt.provider} stream failed after its text reached the caller "
                    f"({type(exc).__name__}): not retried"
                ) from exc
            raise
        finally:  # one admission, one attempt: a retry must ask the breaker again
            _ADMITTED.set(None)

    async def _read(
        self,
        attempt: Attempt,
        params: dict[str, Any],
        on_text: Callable[[str], Awaitable[None]] | None,
    ) -> None:
        sdk, acc = self.sdk[attempt.provider], attempt.acc
        if attempt.provider == "anthropic":
            events = await sdk.messages.create(stream=True, **params)
            read: Callable[[Accumulated, Any], str] = self.piece["03.read_event"]
        elif "input" in params:  # Responses' arguments carry input, Chat's carry messages
            events = await sdk.responses.create(**params)
            read = read_responses_event
        else:
            events = await sdk.chat.completions.create(**params)
            read = read_openai_chunk
        async with events:  # closing the stream closes the connection: billing stops
            async for event in events:
                text = read(acc, event)
                if text:
                    if attempt.first_text is None:
                        attempt.first_text = time.perf_counter()
                    if on_text is not None:
                        await on_text(text)
        if not acc.complete:
            raise _StreamEndedEarly(f"{attempt.provider} stream ended before its final event")

    def record(self, attempt: Attempt, error: BaseException | None = None) -> dict[str, Any]:
        """The attempt's ledger row (one per attempt, ok or not), logged by your 09.log_attempt."""
        acc = attempt.acc
        uncached, output, write, read, usd = acc.priced(attempt.tokens_in)
        if acc.request_id is None:  # never served: nothing generated, nothing billed
            uncached = output = write = read = 0
            usd = 0.0
        status = getattr(error, "status_code", None)
        first = attempt.first_text
        row: dict[str, Any] = {
            "request_id": acc.request_id,
            "provider": acc.provider,
            "model": acc.model,
            "feature": attempt.request.feature,
            "tenant": attempt.request.tenant,
            "prompt_tokens": uncached + write + read,
            "completion_tokens": output,
            "cache_read_tokens": read,
            "cache_write_tokens": write,
            "cost_usd": usd,
            "latency_ms": (time.perf_counter() - attempt.started) * 1000,
            "ttft_ms": None if first is None else (first - attempt.started) * 1000,
            "status": "ok" if error is None else "error",
            "error": None
            if error is None
            else type(error).__name__ + (f" {status}" if status is not None else ""),
        }
        self.stats["ok" if error is None else "failed"] += 1
        if self.ledger is not None:
            with _unlogged(self.ledger.logger):  # the ledger writes the row; your piece logs it
                row = self.ledger.record(row, prompt_hash(attempt.request))
            self.piece["09.log_attempt"](self.ledger.logger, row, trace_id=row["trace_id"])
        self.rows.append(row)
        return row

    def result(self, attempt: Attempt, row: Mapping[str, Any], attempts: int) -> LLMResult:
        """The typed answer of a successful attempt (``attempts``: across providers)."""
        acc = attempt.acc
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

    # -- helpers for structured output and tools ------------------------------------------------
    def respond_call(self, result: LLMResult) -> ToolCall:
        """The forced ``respond`` tool call that carries structured output."""
        call = next((c for c in result.tool_calls if c.name == RESPOND), None)
        if call is None:
            raise StructuredOutputError(f"{result.provider} answered without {RESPOND}")
        return call

    def validate_or_feedback(
        self, schema: type[BaseModel], call: ToolCall, context: Mapping[str, Any] | None
    ) -> tuple[BaseModel | None, str | None]:
        """Your 05.validate_or_feedback on the call's arguments."""
        out: tuple[BaseModel | None, str | None] = self.piece["05.validate_or_feedback"](
            schema, call.arguments, dict(context) if context is not None else None
        )
        return out

    def feedback_turns(self, call: ToolCall, feedback: str) -> tuple[Message, Message]:
        """The two turns that send ``feedback`` back: the model's call, then an error result."""
        self.stats["validation_retries"] += 1
        return (
            Message("assistant", tool_calls=(call,)),
            Message("user", tool_results=(ToolResult(call.id, feedback, True),)),
        )

    def conversation(self, request: LLMRequest, tools: Mapping[str, ToolSpec]) -> Conversation:
        """A ``call_model`` for your 06.tool_loop that carries the conversation through
        :meth:`call`; ``.run(loop)`` turns the loop's result into a :class:`ToolRun`."""
        return Conversation(self, request, tools)

    async def tool_loop(
        self,
        call_model: Callable[..., Awaitable[Any]],
        tools: Mapping[str, ToolSpec],
        *,
        max_turns: int,
    ) -> Any:
        """Your 06.tool_loop, over ``tools`` whose functions may be sync or async."""
        specs = {name: replace(spec, fn=_awaitable(spec.fn)) for name, spec in tools.items()}
        return await self.piece["06.tool_loop"](call_model, specs, max_turns=max_turns)


def _awaitable(fn: Callable[..., Any]) -> Callable[..., Awaitable[Any]]:
    """``fn`` as an async function (lab 06's tool loop awaits every tool)."""

    async def run(**arguments: Any) -> Any:
        out = fn(**arguments)
        return await out if inspect.isawaitable(out) else out

    return run


class Conversation:
    """The model side of a tool loop: each turn goes through the client's :meth:`call`."""

    def __init__(
        self, client: ClientBase, request: LLMRequest, tools: Mapping[str, ToolSpec]
    ) -> None:
        self.client, self.request, self.tools = client, request, tools
        self.messages = list(request.messages)
        self.responses: list[LLMResult] = []

    async def __call__(self, results: Sequence[ToolResult]) -> ModelTurn:
        if results:
            self.messages.append(Message("user", tool_results=tuple(results)))
        call: Any = self.client.call  # type: ignore[attr-defined]  # the subclass's method
        result: LLMResult = await call(
            replace(self.request, messages=tuple(self.messages)), tools=self.tools
        )
        self.responses.append(result)
        if result.tool_calls:
            self.messages.append(Message("assistant", result.text, tool_calls=result.tool_calls))
        return ModelTurn(result.text, list(result.tool_calls))

    def run(self, loop: Any) -> ToolRun:
        """The loop's outcome with this conversation's responses."""
        return ToolRun(
            answer=loop.answer,
            stopped=loop.stopped,
            turns=loop.turns,
            calls=list(loop.calls),
            results=list(loop.results),
            responses=list(self.responses),
        )


class TextPipe:
    """A queue of one between a call and its reader: ``put`` waits until the reader took the
    last piece, so the provider's stream is read only as fast as the caller reads.

    ``start(call)`` runs the call in a task; iterate the pipe for the text; ``result`` holds
    the call's :class:`LLMResult` once it finished (its error is raised to the reader).
    """

    def __init__(self) -> None:
        self._queue: asyncio.Queue[str | None] = asyncio.Queue(maxsize=1)
        self._error: BaseException | None = None
        self.result: LLMResult | None = None

    async def put(self, text: str) -> None:
        await self._queue.put(text)

    def start(self, call: Awaitable[LLMResult]) -> asyncio.Task[None]:
        async def produce() -> None:
            try:
                self.result = await call
            except Exception as exc:
                self._error = exc
            await self._queue.put(None)

        return asyncio.ensure_future(produce())

    def __aiter__(self) -> AsyncIterator[str]:
        return self._texts()

    async def _texts(self) -> AsyncIterator[str]:
        while (text := await self._queue.get()) is not None:
            yield text
        if self._error is not None:
            raise self._error


class LLMClient(ClientBase):
    """A disciplined client over ``anthropic.AsyncAnthropic`` and ``openai.AsyncOpenAI``:
    :class:`ClientBase` with llmlab's own ``call``, ``generate``, ``stream``, ``with_tools``.
    """

    async def call(
        self,
        request: LLMRequest,
        *,
        tools: Mapping[str, ToolSpec] | None = None,
        schema: type[BaseModel] | None = None,
        on_text: Callable[[str], Awaitable[None]] | None = None,
    ) -> LLMResult:
        """The one path every call takes: estimate, budget, breaker, attempt, row; retry infra
        errors with waits; fail over when a provider is exhausted or open; raise the rest."""
        errors: dict[str, BaseException] = {}
        attempts = 0
        for provider in self.order:
            params = self.params(provider, request, tools, schema)
            tokens_in, worst_usd = self.estimate_call(provider, params)
            breaker = self.breakers[provider]
            for n in range(self.max_attempts):
                with self.admitted(provider, request, worst_usd):
                    try:
                        breaker.before_call()
                    except CircuitOpenError as exc:
                        errors[provider] = exc
                        break  # fail over now: waiting would only queue behind the outage
                    attempts += 1
                    attempt = self.new_attempt(provider, request, tokens_in)
                    try:
                        await self.send(attempt, params, on_text)
                    except Exception as exc:
                        self.record(attempt, exc)
                        if not self.is_infra(exc):
                            breaker.record_success()  # the provider is up; the request is wrong
                            raise
                        breaker.record_failure()
                        errors[provider] = exc
                    else:
                        breaker.record_success()
                        return self.result(attempt, self.record(attempt), attempts)
                wait = self.next_wait(errors[provider], n)
                if wait is None or n == self.max_attempts - 1:
                    break  # out of attempts, or the provider asked for longer than we wait
                await self.sleep(wait)
        summary = "; ".join(f"{p}: {type(e).__name__}" for p, e in errors.items())
        raise ProviderUnavailableError(f"every provider failed ({summary})", errors)

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
            return await self.call(request)
        messages = request.messages
        for _ in range(max_validation_attempts):
            result = await self.call(replace(request, messages=messages), schema=schema)
            call = self.respond_call(result)
            parsed, feedback = self.validate_or_feedback(schema, call, context)
            if parsed is not None:
                return replace(result, parsed=parsed)
            messages = (*messages, *self.feedback_turns(call, str(feedback)))
        raise StructuredOutputError(
            f"no valid {schema.__name__} after {max_validation_attempts} answers"
        )

    @contextlib.asynccontextmanager
    async def stream(self, request: LLMRequest) -> AsyncIterator[TextPipe]:
        """``async with client.stream(req) as s: async for text in s: ...``; then ``s.result``.

        Leaving the block early cancels the request: the connection closes and the provider
        stops generating (and billing). Retries and failover happen only before the first text.
        """
        pipe = TextPipe()
        task = pipe.start(self.call(request, on_text=pipe.put))
        try:
            yield pipe
        finally:
            task.cancel()  # the caller stopped reading (or finished): hang up on the provider
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def with_tools(
        self,
        request: LLMRequest,
        tools: Mapping[str, ToolSpec],
        *,
        side_effects: Collection[str] = (),
        max_turns: int = 5,
    ) -> ToolRun:
        """Call the model, run the tools it asks for, feed results back; repeat (06.tool_loop).

        Tools named in ``side_effects`` receive ``idempotency_key=`` built from the request's
        key, the tool and its ordinal in this run: a replay of the same request repeats the
        keys, so the tool can refuse to act twice. ``max_turns`` caps the model calls.
        """
        if side_effects and request.idempotency_key is None:
            raise ValueError("side-effecting tools need LLMRequest(idempotency_key=...)")
        ordinal: Counter[str] = Counter()

        def keyed(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
            def run(**arguments: Any) -> Any:
                key = f"{request.idempotency_key}:{name}:{ordinal[name]}"
                ordinal[name] += 1
                return fn(**arguments, idempotency_key=key)

            return run

        specs = {
            name: replace(spec, fn=keyed(name, spec.fn)) if name in side_effects else spec
            for name, spec in tools.items()
        }
        conversation = self.conversation(request, tools)
        return conversation.run(await self.tool_loop(conversation, specs, max_turns=max_turns))
