"""Lab 10's client methods, each checked inside a client of its own through the real async SDKs.

A candidate method is put into a :class:`~llmlab.reference.client.ClientBase` subclass (the
other three methods are llmlab's), the client is built against a fresh checker simulator, and
each case scripts what the provider does. An HTTP hook on each SDK counts the requests that
really left; an injected ``sleep`` records each wait.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import anthropic
import openai
from pydantic import BaseModel

from llmlab._exceptions import StructuredOutputError
from llmlab._httpgen import sdk_http
from llmlab.check._async import run_async
from llmlab.check._registry import Case, exercise
from llmlab.check._sandbox import Raised, raised, running, track_mock
from llmlab.reference.client import METHOD_IDS, ClientBase, LLMClient, LLMRequest
from llmlab.reference.ledger import Ledger, open_ledger
from llmlab.reference.retry import TicketSystem
from llmlab.reference.structured import Incident
from llmlab.reference.tools import ToolSpec
from llmlab.sim import Behaviour, FaultPlan, Simulator, mock

_KEY = "sk-llmlab-checker"  # a dummy key: checkers talk to their own simulator


def client_class(exercise_id: str, candidate: Any) -> type[ClientBase]:
    """A client class with ``candidate`` as the method ``exercise_id`` names, llmlab's others."""
    methods = {name: getattr(LLMClient, name) for name in METHOD_IDS.values()}
    methods[METHOD_IDS[exercise_id]] = candidate
    return type("YourClient", (ClientBase,), methods)


@dataclass
class _Env:
    sim: Simulator
    sleeps: list[float] = field(default_factory=list)
    sent: Counter[str] = field(default_factory=Counter)  # requests that left, per provider
    bodies: list[dict[str, Any]] = field(default_factory=list)
    estimated_before: list[tuple[str, int]] = field(default_factory=list)  # (provider, sent)


def _http(env: _Env, provider: str) -> Any:
    async def seen(request: Any) -> None:
        if request.method == "POST" and request.content:
            env.sent[provider] += 1
            env.bodies.append(json.loads(request.content))

    return sdk_http(provider).AsyncClient(event_hooks={"request": [seen]})


def _build(cls: type[ClientBase], env: _Env, **settings: Any) -> Any:
    async def sleep(seconds: float) -> None:
        env.sleeps.append(seconds)
        await asyncio.sleep(0)

    class Spied(cls):  # type: ignore[misc,valid-type]
        def estimate_call(self, provider: str, params: dict[str, Any]) -> tuple[int, float]:
            env.estimated_before.append((provider, env.sent[provider]))
            out: tuple[int, float] = super().estimate_call(provider, params)
            return out

    base: dict[str, Any] = dict(
        anthropic=anthropic.AsyncAnthropic(api_key=_KEY, http_client=_http(env, "anthropic")),
        openai=openai.AsyncOpenAI(api_key=_KEY, http_client=_http(env, "openai")),
        timeout=5.0,
        backoff_base=1.0,
        backoff_cap=8.0,
        breaker_threshold=2,
        breaker_reset=1000.0,
        sleep=sleep,
        rand=lambda: 0.5,
    )
    return Spied(**{**base, **settings})


def _scenario(
    label: str,
    seed: int,
    go: Callable[[Any, _Env], Awaitable[Any]],
    cls: type[ClientBase],
    **settings: Any,
) -> tuple[Any, Any, _Env]:
    """Run ``go(client, env)`` against a fresh simulator; (outcome or Raised, client, env)."""
    running(label)
    sim = Simulator(seed=seed, time_scale=0.002)
    env = _Env(sim)
    holder: dict[str, Any] = {}

    async def main() -> Any:
        client = _build(cls, env, **settings)
        holder["client"] = client
        try:
            return await asyncio.wait_for(go(client, env), _HANG)
        except TimeoutError:
            return _HUNG
        except Exception as exc:  # the learner's error is a verdict
            return raised(exc)

    with track_mock(mock(sim=sim)):
        outcome = run_async(main)
    return outcome, holder.get("client"), env


_HANG = 5.0  # real seconds a scenario may take (each takes well under one)
_HUNG = "still running after 5 s (it never finished)"


def _ask(text: str, **fields: Any) -> LLMRequest:
    return LLMRequest.ask(text, max_tokens=fields.pop("max_tokens", 30), **fields)


def _got(outcome: Any) -> str:
    if isinstance(outcome, Raised):
        return str(outcome)
    provider = getattr(outcome, "provider", None)
    return f"an answer from {provider}" if provider else repr(outcome)[:120]


def _kind(outcome: Any) -> str:
    return type(outcome.exc).__name__ if isinstance(outcome, Raised) else ""


def _statuses(client: Any) -> list[str]:
    return [r["status"] for r in getattr(client, "rows", [])]


# -- 10.call --------------------------------------------------------------------------------
def _tiny_ledger(tmp: Path, budget: float) -> Ledger:
    logger = logging.getLogger("llmlab.check.lab10.ledger")
    logger.handlers.clear()
    logger.addHandler(logging.NullHandler())
    logger.propagate = False
    return Ledger(open_ledger(tmp / "ledger.sqlite"), logger, b"k", budgets={"t": budget})


async def _generate(client: Any, env: _Env, request: LLMRequest | None = None) -> Any:
    return await client.generate(request or _ask("Summarise the payments incident."))


async def _twice(client: Any, env: _Env) -> Any:
    first = await client.generate(_ask("Status of region 1?"))
    env.sent["after_first"] = env.sent["anthropic"]
    env.sent["sleeps_after_first"] = len(env.sleeps)
    second = await client.generate(_ask("Status of region 2?"))
    return first, second


@exercise(
    "10.call",
    "async call(self, request, *, tools=None, schema=None, on_text=None) -> LLMResult",
    "the one path: estimate, budget, breaker, attempt, row; retry infra errors, fail over",
    LLMClient.call,
    time_limit=30.0,
)
def _check_call(candidate: Any) -> Iterator[Case]:
    cls = client_class("10.call", candidate)
    out, client, env = _scenario("one call, no faults", 1, _generate, cls)
    yield Case(
        ok=not isinstance(out, Raised) and getattr(out, "attempts", None) == 1,
        input="one call, no faults",
        expected="an LLMResult with attempts=1",
        got=_got(out) + (f", attempts={getattr(out, 'attempts', '?')}" if out else ""),
        hint="after a successful self.send: return self.result(attempt, self.record(attempt), "
        "attempts)",
    )
    yield Case(
        ok=_statuses(client) == ["ok"],
        input="one call, no faults: ledger rows",
        expected="['ok'] (one row per attempt)",
        got=str(_statuses(client)),
        hint="record each attempt exactly once with self.record(attempt[, error])",
    )
    yield Case(
        ok=bool(env.estimated_before) and env.estimated_before[0] == ("anthropic", 0),
        input="one call, no faults: the estimate before sending",
        expected="self.estimate_call(provider, params) before the first request left",
        got=f"estimates (provider, requests already sent): {env.estimated_before}",
        hint="estimate before you send: its worst case is what self.admitted reserves",
    )

    def with_faults(steps: list[str | None]) -> Callable[[Any, _Env], Awaitable[Any]]:
        async def go(client: Any, env: _Env) -> Any:
            env.sim.set_faults(FaultPlan.scripted(steps), provider="anthropic")
            return await _generate(client, env)

        return go

    out, client, env = _scenario("Anthropic 500 once", 2, with_faults(["500"]), cls)
    yield Case(
        ok=getattr(out, "provider", None) == "anthropic" and _statuses(client) == ["error", "ok"],
        input="Anthropic answers 500 once, then normally",
        expected="answered by anthropic on attempt 2; rows ['error', 'ok']",
        got=f"{_got(out)}; rows {_statuses(client)}",
        hint="a 500 is an infrastructure error: record the failed attempt's row, "
        "breaker.record_failure(), then try the same provider again",
        diagnosed=isinstance(out, Raised) or _statuses(client) == ["ok"],
    )
    yield Case(
        ok=env.sleeps == [0.5],
        input="Anthropic 500 once: the wait before attempt 2 (rand() = 0.5, base 1 s)",
        expected="[0.5] (self.next_wait(exc, 0): full jitter)",
        got=str(env.sleeps),
        hint="await self.sleep(self.next_wait(exc, n)) between attempts: a fixed wait makes "
        "every client retry in step",
        diagnosed=True,
    )

    async def bad_request(client: Any, env: _Env) -> Any:
        return await client.generate(_ask("Summarise the quarter.", max_tokens=100_000))

    out, client, env = _scenario("a 400", 3, bad_request, cls)
    yield Case(
        ok=isinstance(out, Raised)
        and _kind(out) == "BadRequestError"
        and env.sent["openai"] == 0
        and env.sleeps == []
        and len(_statuses(client)) == 1,
        input="Anthropic answers 400 (max_tokens above the model's output limit)",
        expected="BadRequestError raised at once: 1 row, no wait, nothing sent to OpenAI",
        got=f"{_got(out)}; rows {_statuses(client)}, waits {env.sleeps}, "
        f"OpenAI requests {env.sent['openai']}",
        hint="ask self.is_infra(exc): a request's own fault fails the same way on every "
        "attempt and provider, so raise it (no retry, no failover)",
        diagnosed=True,
    )

    with TemporaryDirectory() as tmp:
        probe = _build(LLMClient, _Env(Simulator(seed=0)))
        worst = probe.estimate(_ask("Summarise the quarter.", tenant="t"))[1]
        ledger = _tiny_ledger(Path(tmp), worst * 0.9)

        async def over_budget(client: Any, env: _Env) -> Any:
            return await client.generate(_ask("Summarise the quarter.", tenant="t"))

        out, client, env = _scenario("over budget", 4, over_budget, cls, ledger=ledger)
        ledger.conn.close()
    sent = env.sent["anthropic"] + env.sent["openai"]
    yield Case(
        ok=isinstance(out, Raised) and _kind(out) == "BudgetExceededError" and sent == 0,
        input=f"tenant budget ${worst * 0.9:.6f}, just below the request's worst case ${worst:.6f}",
        expected="BudgetExceededError, before any request left",
        got=f"{_got(out)}; requests sent {sent}",
        hint="wrap each attempt in `with self.admitted(provider, request, worst_usd):` with the "
        "worst case from self.estimate_call, and let its BudgetExceededError propagate",
        diagnosed=True,
    )

    async def outage(client: Any, env: _Env) -> Any:
        env.sim.set_faults(FaultPlan.random({"529": 1.0}), provider="anthropic")
        return await _twice(client, env)

    out, client, env = _scenario("Anthropic down", 5, outage, cls)
    answered = [getattr(r, "provider", None) for r in out] if isinstance(out, tuple) else None
    yield Case(
        ok=answered == ["openai", "openai"],
        input="Anthropic answers 529 to everything (breaker threshold 2, max_attempts 3): "
        "two calls",
        expected="both answered by openai (failover)",
        got=str(answered) if answered else _got(out),
        hint="when a provider's attempts run out, or its breaker refuses (CircuitOpenError "
        "from breaker.before_call()), go on to the next provider in self.order",
        diagnosed=True,
    )
    second_call = env.sent["anthropic"] - env.sent["after_first"]
    yield Case(
        ok=answered is not None and env.sent["after_first"] == 2 and second_call == 0,
        input="Anthropic down: requests that reached Anthropic",
        expected="2 in the first call (then the breaker opened), 0 in the second",
        got=f"{env.sent['after_first']} in the first call, {second_call} in the second",
        hint="call breaker.before_call() before every attempt and breaker.record_failure() "
        "on every infrastructure error: an open breaker must stop the requests",
        diagnosed=True,
    )

    waited = len(env.sleeps) - env.sent["sleeps_after_first"]
    yield Case(
        ok=answered is not None and waited == 0,
        input="Anthropic down: waits in the second call (its breaker already open)",
        expected="0 (an open breaker means: the next provider, now)",
        got=f"{waited} wait(s): {env.sleeps[env.sent['sleeps_after_first'] :]}",
        hint="on CircuitOpenError from breaker.before_call() leave this provider's attempts "
        "(break): waiting and retrying only queues behind the outage",
        diagnosed=True,
    )

    async def long_retry_after(client: Any, env: _Env) -> Any:
        env.sim.set_faults(FaultPlan.scripted(["429"]), provider="anthropic")
        return await _generate(client, env)

    out, client, env = _scenario(
        "retry-after too long", 6, long_retry_after, cls, max_retry_after=0.0
    )
    yield Case(
        ok=getattr(out, "provider", None) == "openai" and env.sleeps == [],
        input="Anthropic 429 asking for a longer wait than max_retry_after",
        expected="answered by openai, without waiting",
        got=f"{_got(out)}; waits {env.sleeps}",
        hint="self.next_wait returns None when the server asks for longer than you wait: "
        "fail over now (the next provider) instead of sleeping",
        diagnosed=True,
    )

    async def everything_down(client: Any, env: _Env) -> Any:
        env.sim.set_faults(FaultPlan.random({"500": 1.0}))
        return await _generate(client, env)

    out, client, env = _scenario("all down", 7, everything_down, cls, max_attempts=2)
    yield Case(
        ok=isinstance(out, Raised)
        and _kind(out) == "ProviderUnavailableError"
        and _statuses(client) == ["error"] * 4,
        input="both providers answer 500 to everything (max_attempts 2)",
        expected="ProviderUnavailableError after 4 attempts (4 error rows)",
        got=f"{_got(out)}; rows {_statuses(client)}",
        hint="max_attempts per provider, one row per attempt; when every provider failed "
        "raise llmlab.ProviderUnavailableError(message, errors)",
    )


# -- 10.generate ----------------------------------------------------------------------------
def _error_results(body: dict[str, Any]) -> int:
    """Error tool results a request body sends back (Anthropic's is_error, OpenAI's ERROR:)."""
    n = 0
    for item in body.get("input", []) if isinstance(body.get("input"), list) else []:
        if item.get("type") == "function_call_output" and str(item.get("output")).startswith(
            "ERROR:"
        ):
            n += 1  # Responses: a function_call_output that says ERROR:
    for message in body.get("messages", []):
        content = message.get("content")
        if isinstance(content, list):
            n += sum(1 for b in content if b.get("type") == "tool_result" and b.get("is_error"))
        elif message.get("role") == "tool" and str(content).startswith("ERROR:"):
            n += 1
    return n


@exercise(
    "10.generate",
    "async generate(self, request, *, schema=None, context=None, max_validation_attempts=3)"
    " -> LLMResult",
    "one answer; with a schema, a validated instance, re-asked with the validation feedback",
    LLMClient.generate,
    time_limit=30.0,
)
def _check_generate(candidate: Any) -> Iterator[Case]:
    cls = client_class("10.generate", candidate)
    out, _, _ = _scenario("no schema", 11, _generate, cls)
    yield Case(
        ok=getattr(out, "text", "") != "" and getattr(out, "parsed", 1) is None,
        input="generate(request) without a schema",
        expected="the plain answer (parsed=None)",
        got=_got(out),
        hint="without a schema, return await self.call(request)",
    )

    def breaking(errors: int, limit: int) -> Callable[[Any, _Env], Awaitable[Any]]:
        async def go(client: Any, env: _Env) -> Any:
            env.sim.set_behaviour(Behaviour(schema_errors=errors))
            request = _ask("Checkout is down for every customer.", max_tokens=200)
            return await client.generate(request, schema=Incident, max_validation_attempts=limit)

        return go

    out, _, env = _scenario("schema broken twice", 12, breaking(2, 3), cls)
    fed_back = [_error_results(b) for b in env.bodies]
    yield Case(
        ok=isinstance(getattr(out, "parsed", None), Incident) and len(env.bodies) == 3,
        input="a model that breaks the schema twice, then complies (max 3 answers)",
        expected="an Incident in .parsed after 3 model calls",
        got=f"{_got(out)}, parsed={getattr(out, 'parsed', None)!r}; model calls {len(env.bodies)}",
        hint="validate each answer's respond call with self.validate_or_feedback(schema, call, "
        "context); on feedback ask again, until max_validation_attempts answers",
    )
    yield Case(
        ok=fed_back == [0, 1, 2],
        input="a model that breaks the schema twice: error tool results in each request",
        expected="[0, 1, 2] (each retry carries the feedback so far)",
        got=str(fed_back),
        hint="send the feedback back: messages = (*messages, *self.feedback_turns(call, "
        "feedback)); asking again without it only samples anew",
        diagnosed=True,
    )
    out, _, env = _scenario("never valid", 13, breaking(10, 2), cls)
    yield Case(
        ok=isinstance(out, Raised)
        and _kind(out) == StructuredOutputError.__name__
        and len(env.bodies) == 2,
        input="a model that never validates (max_validation_attempts=2)",
        expected="StructuredOutputError after 2 model calls",
        got=f"{_got(out)}; model calls {len(env.bodies)}",
        hint="after max_validation_attempts answers that do not validate, raise "
        "llmlab.StructuredOutputError: never return unvalidated data",
        diagnosed=True,
    )


# -- 10.stream ------------------------------------------------------------------------------
async def _read(client: Any, stop_after: int | None) -> tuple[list[str], Any, float]:
    """(pieces read, s.result, real seconds the block took to exit after the reader stopped)."""
    pieces: list[str] = []
    request = _ask("Write the full runbook for a database failover.", max_tokens=300)
    stopped = 0.0
    async with client.stream(request) as s:
        async for text in s:
            pieces.append(text)
            if stop_after is not None and len(pieces) == stop_after:
                break
        stopped = time.perf_counter()
    exit_seconds = time.perf_counter() - stopped
    await asyncio.sleep(0)
    return pieces, getattr(s, "result", None), exit_seconds


@exercise(
    "10.stream",
    "stream(self, request) -> async context manager over the text (asynccontextmanager)",
    "text as it arrives; leaving the block early hangs up, so the provider stops billing",
    LLMClient.stream,
    time_limit=30.0,
)
def _check_stream(candidate: Any) -> Iterator[Case]:
    cls = client_class("10.stream", candidate)

    async def whole(client: Any, env: _Env) -> Any:
        return await _read(client, None)

    out, _, env = _scenario("read to the end", 21, whole, cls)
    ok = isinstance(out, tuple) and out[1] is not None and "".join(out[0]) == out[1].text
    yield Case(
        ok=ok and len(out[0]) > 1,
        input="read the stream to its end",
        expected="several pieces whose join is s.result.text",
        got=_got(out)
        if not isinstance(out, tuple)
        else f"{len(out[0])} pieces; s.result = {type(out[1]).__name__}",
        hint="pipe = TextPipe(); pipe.start(self.call(request, on_text=pipe.put)); yield pipe. "
        "Without on_text the whole answer arrives at once, at the end",
        diagnosed=isinstance(out, tuple) and len(out[0]) <= 1,
    )

    async def early(client: Any, env: _Env) -> Any:
        return await _read(client, 3)

    out, _, env = _scenario("stop after 3 pieces", 22, early, cls)
    bills = env.sim.billing.records
    partial = len(bills) == 1 and not bills[0].complete and bills[0].output_tokens < 300
    stuck = isinstance(out, tuple) and out[2] > _HANG / 2
    yield Case(
        ok=isinstance(out, tuple) and partial and not stuck,
        input="stop reading after 3 pieces (max_tokens 300)",
        expected="the provider billed a partial answer (the request was cancelled)",
        got=_got(out)
        if not isinstance(out, tuple)
        else f"{len(bills)} bill(s); complete={[b.complete for b in bills]}, "
        f"output tokens {[b.output_tokens for b in bills]}"
        + (f"; the block took {out[2]:.1f} s to exit (waiting for the call)" if stuck else ""),
        hint="in a finally after the yield, cancel the task pipe.start returned (and await it): "
        "a reader that left must hang up on the provider, or it keeps generating and billing",
        diagnosed=True,
    )


# -- 10.with_tools --------------------------------------------------------------------------
class _TicketArgs(BaseModel):
    summary: str


class _StatusArgs(BaseModel):
    service: str


@exercise(
    "10.with_tools",
    "async with_tools(self, request, tools, *, side_effects=(), max_turns=5) -> ToolRun",
    "the tool loop (06.tool_loop) with idempotency keys for tools that change the world",
    LLMClient.with_tools,
    time_limit=30.0,
)
def _check_with_tools(candidate: Any) -> Iterator[Case]:
    cls = client_class("10.with_tools", candidate)
    keys: list[Any] = []
    tickets = TicketSystem()

    def create_ticket(summary: str, idempotency_key: str) -> str:
        keys.append(idempotency_key)
        return str(tickets.create(summary, idempotency_key)["id"])

    tools = {"create_ticket": ToolSpec(create_ticket, _TicketArgs, "Open a ticket.")}

    async def replayed(client: Any, env: _Env) -> Any:
        runs = []
        for key in ("inc-1", "inc-1", "inc-2"):
            req = _ask("Open a ticket: checkout errors in the EU.", idempotency_key=key)
            runs.append(await client.with_tools(req, tools, side_effects={"create_ticket"}))
        return runs

    out, _, _ = _scenario("replayed", 31, replayed, cls)
    yield Case(
        ok=not isinstance(out, Raised) and len(keys) == 3 and len(tickets.tickets) == 2,
        input="the same request (idempotency_key 'inc-1') twice, then 'inc-2'; "
        "create_ticket is a side effect",
        expected="3 tool calls, 2 tickets (the replay reuses its key)",
        got=_got(out)
        if isinstance(out, Raised)
        else f"{len(keys)} tool calls, {len(tickets.tickets)} tickets, keys {keys}",
        hint="create_ticket never ran: did self.tool_loop get the keyed tools (not `tools`)? "
        "Without idempotency_key= every call of it fails"
        if not keys
        else "give a side-effecting tool idempotency_key= built from request.idempotency_key, "
        "the tool's name and its ordinal in this run: equal on a replay, distinct otherwise",
        diagnosed=not keys,
    )
    ok_keys = len(keys) == 3 and keys[0] == keys[1] != keys[2] and "inc-1" in str(keys[0])
    yield Case(
        ok=ok_keys,
        input="the keys create_ticket received",
        expected="equal for the replay of inc-1, different for inc-2, built from the request key",
        got=str(keys),
        hint="a random or per-call key (uuid4) is new on every replay: the ticket opens twice"
        if keys
        else "no key reached create_ticket (see above)",
        diagnosed=bool(keys),
    )
    statuses: list[str] = []

    def status(service: str) -> str:
        statuses.append(service)
        return "degraded"

    async def looping(client: Any, env: _Env) -> Any:
        env.sim.set_behaviour(Behaviour(tool_loop=True))
        look = {"get_service_status": ToolSpec(status, _StatusArgs, "Status of a service.")}
        return await client.with_tools(
            _ask("What is the status of the checkout service?"), look, max_turns=3
        )

    out, _, _ = _scenario("looping", 32, looping, cls)
    yield Case(
        ok=getattr(out, "stopped", None) == "max_turns" and getattr(out, "turns", 0) == 3,
        input="a model that keeps calling get_service_status (max_turns=3; not a side effect)",
        expected="stopped='max_turns' after 3 model calls",
        got=_got(out)
        if isinstance(out, Raised)
        else f"stopped={getattr(out, 'stopped', None)!r}, turns={getattr(out, 'turns', None)}",
        hint="pass max_turns on to self.tool_loop(conversation, tools, max_turns=max_turns), "
        "and only side-effecting tools get an idempotency_key (the others do not take one)",
    )

    async def keyless(client: Any, env: _Env) -> Any:
        return await client.with_tools(
            _ask("Open a ticket."), tools, side_effects={"create_ticket"}
        )

    out, _, env = _scenario("no key", 33, keyless, cls)
    yield Case(
        ok=isinstance(out, Raised) and _kind(out) == "ValueError" and not env.sent,
        input="side_effects={'create_ticket'} on a request without an idempotency_key",
        expected="ValueError before any request",
        got=f"{_got(out)}; requests sent {sum(env.sent.values())}",
        hint="without request.idempotency_key a replay cannot be recognised: raise ValueError",
    )
