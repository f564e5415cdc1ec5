"""The capstone's pre-merge checklist: each item is a check run against the learner's client.

``llmlab.check.checklist(make_client, eval_set)`` calls ``make_client(**overrides)`` once per
item, passing SDK clients, a ledger, a clock and a sleep of its own, and drives the client
against a fresh checker simulator (the innermost mock answers, not the notebook's). A factory
that ignores the overrides fails every item, with a note saying so.

Each item names the pieces it exercises (exercise ids); it counts as **your code** only where
the client runs the learner's own version of every one of them (``client.provenance()``), and
the report's last line is ``your code: N/M items``.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import tempfile
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import anthropic
import openai
from pydantic import BaseModel

from llmlab._exceptions import BudgetExceededError, StructuredOutputError
from llmlab._httpgen import sdk_http
from llmlab._paths import data_dir
from llmlab.check._async import run_async
from llmlab.reference.breaker import FakeClock
from llmlab.reference.client import LLMRequest, build_prompt, prompt_hash
from llmlab.reference.cost import OUTPUT_LIMITS
from llmlab.reference.ledger import JsonFormatter, Ledger, RedactingFilter, open_ledger
from llmlab.reference.redact import fingerprint
from llmlab.reference.structured import Incident
from llmlab.reference.tools import ToolSpec
from llmlab.sim import Behaviour, FaultPlan, Simulator, mock

__all__ = ["ChecklistResult", "checklist"]

_KEY = "sk-llmlab-checker"
_LOG_KEY = b"llmlab-checklist-log-key"


@dataclass
class _Env:
    """What one item's client was built with, for the item to inspect afterwards."""

    sim: Simulator
    ledger: Ledger
    log: io.StringIO
    bodies: list[dict[str, Any]]
    sleeps: list[float]
    clock: FakeClock

    captured: list[str] = field(default_factory=list)  # every log record and print, any logger

    def total_ok_cost(self) -> float:
        (usd,) = self.ledger.conn.execute("SELECT COALESCE(SUM(cost_usd), 0) FROM calls").fetchone()
        return float(usd)


Item = Callable[[Any, _Env], Awaitable[tuple[bool, str]]]


def _hooked_http(bodies: list[dict[str, Any]], provider: Literal["anthropic", "openai"]) -> Any:
    """An async client of the SDK's own HTTP generation that records each request body."""

    async def capture(request: Any) -> None:
        if request.method == "POST" and request.content:
            bodies.append(json.loads(request.content))

    return sdk_http(provider).AsyncClient(event_hooks={"request": [capture]})


def _new_env(tmp: Path, n: int, sim: Simulator, budgets: Mapping[str, float]) -> _Env:
    log = io.StringIO()
    logger = logging.getLogger(f"llmlab.checklist.{n}")
    logger.handlers.clear()
    logger.filters.clear()
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.StreamHandler(log)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    logger.addFilter(RedactingFilter(_LOG_KEY))
    conn = open_ledger(tmp / f"ledger{n}.sqlite")
    ledger = Ledger(conn, logger, _LOG_KEY, budgets=budgets, clock=sim.clock.now)
    return _Env(sim, ledger, log, [], [], FakeClock(1000.0))


def _make(make_client: Callable[..., Any], env: _Env) -> Any:
    async def sleep(seconds: float) -> None:
        env.sleeps.append(seconds)
        await asyncio.sleep(0)

    return make_client(
        anthropic=anthropic.AsyncAnthropic(
            api_key=_KEY, http_client=_hooked_http(env.bodies, "anthropic")
        ),
        openai=openai.AsyncOpenAI(api_key=_KEY, http_client=_hooked_http(env.bodies, "openai")),
        ledger=env.ledger,
        clock=env.clock,
        sleep=sleep,
    )


def _ask(text: str, **fields: Any) -> LLMRequest:
    return LLMRequest.ask(text, max_tokens=fields.pop("max_tokens", 40), **fields)


# -- the items ----------------------------------------------------------------------------------
async def _prompt_hashed(client: Any, env: _Env) -> tuple[bool, str]:
    req = _ask("Summarise the payments incident.", system="You write status pages.")
    same = build_prompt(req) == build_prompt(
        _ask("Summarise the payments incident.", system="You write status pages.")
    )
    changed = prompt_hash(req) != prompt_hash(
        _ask("Summarise the payments incident!", system="You write status pages.")
    )
    await client.generate(req)
    (fp,) = env.ledger.conn.execute("SELECT prompt_fp FROM calls").fetchone()
    keyed = fp == fingerprint(prompt_hash(req), _LOG_KEY)
    ok = same and changed and keyed
    return ok, (
        f"sha256 {prompt_hash(req)[:12]}…; one character changes it; "
        f"the ledger keeps only its keyed fingerprint ({fp})"
        if ok
        else f"pure: {same}, hash sensitive: {changed}, ledger fingerprint of the hash: {keyed}"
    )


async def _typed_parse_failures(client: Any, env: _Env) -> tuple[bool, str]:
    env.sim.set_behaviour(Behaviour(schema_errors=10))
    try:
        await client.generate(
            _ask("Checkout is down for every customer.", max_tokens=200),
            schema=Incident,
            max_validation_attempts=2,
        )
    except StructuredOutputError:
        return True, "a model that never validates ends in StructuredOutputError after 2 answers"
    except Exception as exc:
        return False, f"expected StructuredOutputError, got {type(exc).__name__}"
    return False, "a model that never validates produced a result: unvalidated data got through"


async def _explicit_sampling(client: Any, env: _Env) -> tuple[bool, str]:
    await client.generate(_ask("Status of search?"))
    if not env.bodies:
        return False, "no request body seen: does make_client pass anthropic=/openai= through?"
    # Anthropic's messages carry "max_tokens"; OpenAI's chat completions "stream_options",
    # its Responses "input" (and "max_output_tokens")
    anthropic_bodies = [
        b for b in env.bodies if "max_tokens" in b and not {"stream_options", "input"} & set(b)
    ]
    sampled = [b for b in anthropic_bodies if {"temperature", "top_p", "top_k"} & set(b)]
    if sampled:
        return False, (
            f"{len(sampled)} Anthropic request(s) sent sampling parameters: API version "
            "2026-10-21 answers 400 for temperature/top_p/top_k; send them to OpenAI only"
        )
    openai_bodies = [b for b in env.bodies if b not in anthropic_bodies]
    missing = [
        b.get("model", "?")
        for b in openai_bodies
        if "temperature" not in b or not (set(OUTPUT_LIMITS) & set(b))
    ]
    if missing:
        return False, f"{len(missing)} OpenAI request(s) left temperature or max_tokens to the API"
    if not any(set(OUTPUT_LIMITS) & set(b) for b in env.bodies):
        return False, "no request stated its output limit (max_tokens)"
    return True, "every request states its output limit; OpenAI's also state temperature"


class _StatusArgs(BaseModel):
    service: str


async def _tool_loop_cap(client: Any, env: _Env) -> tuple[bool, str]:
    env.sim.set_behaviour(Behaviour(tool_loop=True))
    tools = {"get_service_status": ToolSpec(lambda service: "degraded", _StatusArgs, "Status.")}
    run = await client.with_tools(
        _ask("What is the status of the checkout service?"), tools, max_turns=3
    )
    ok = run.stopped == "max_turns" and run.turns == 3
    return ok, f"a looping model stopped after {run.turns} model calls (stopped={run.stopped!r})"


async def _streaming_cancellation(client: Any, env: _Env) -> tuple[bool, str]:
    pieces = 0
    async with client.stream(
        _ask("Write the full runbook for a database failover.", max_tokens=300)
    ) as stream:
        async for _ in stream:
            pieces += 1
            if pieces == 3:
                break
    await asyncio.sleep(0)
    bills = env.sim.billing.records
    if len(bills) != 1:
        return False, f"expected 1 billed request, the provider billed {len(bills)}"
    bill = bills[0]
    ok = not bill.complete and bill.output_tokens < 300
    return ok, (
        "stopped after 3 pieces: the provider billed a partial answer, under the 300-token limit"
        if ok
        else "the stream was read to the end after the caller stopped"
    )


async def _caching_measured(client: Any, env: _Env) -> tuple[bool, str]:
    system = (data_dir() / "style_guide.md").read_text(encoding="utf-8")
    first = await client.generate(_ask("Summarise the checkout incident.", system=system))
    second = await client.generate(_ask("Summarise the search incident.", system=system))
    ok = second.usage.cache_read_tokens > 0
    return ok, (
        f"second call read {second.usage.cache_read_tokens:,} tokens from the cache: "
        f"${second.cost_usd:.6f} vs ${first.cost_usd:.6f}"
        if ok
        else "the stable system prompt was not cached (cache_read_tokens stayed 0)"
    )


async def _retry_with_jitter(client: Any, env: _Env) -> tuple[bool, str]:
    env.sim.set_faults(FaultPlan.scripted(["500", None] * 6))
    results = [await client.generate(_ask(f"Status of service {i}?")) for i in range(6)]
    if len(env.sleeps) < 6:
        return False, f"6 calls met one 500 each but the client waited {len(env.sleeps)} times"
    distinct = len({round(s, 9) for s in env.sleeps})
    ok = all(r.attempts == 2 for r in results) and distinct > 1
    return ok, (
        "6 calls met a 500, each retried once after a different wait (full jitter)"
        if ok
        else f"waits were not jittered ({distinct} distinct value(s) for {len(env.sleeps)} waits)"
    )


async def _breaker_failover(client: Any, env: _Env) -> tuple[bool, str]:
    env.sim.set_faults(FaultPlan.random({"529": 1.0}), provider="anthropic")
    answered = [(await client.generate(_ask(f"Status of region {i}?"))).provider for i in range(10)]
    reached = sum(env.sim.stats.errors.values())
    ok = answered == ["openai"] * 10 and reached <= 5
    return ok, (
        f"Anthropic down: 10/10 answered by OpenAI; Anthropic saw {reached} requests, then "
        "none while its breaker was open"
        if ok
        else f"answered by {answered}; requests that reached the failing provider: {reached}"
    )


async def _ledger_matches(client: Any, env: _Env) -> tuple[bool, str]:
    env.sim.set_faults(FaultPlan.scripted([None, "529", None, "500", None]))
    for i in range(3):
        await client.generate(_ask(f"Summarise incident {i}."))
    rows = env.ledger.conn.execute("SELECT status, request_id, cost_usd FROM calls").fetchall()
    bills = env.sim.billing.by_request()
    ok_rows = {rid: usd for status, rid, usd in rows if status == "ok"}
    exact = set(ok_rows) == set(bills) and all(
        abs(bills[rid].cost_usd - usd) < 1e-9 for rid, usd in ok_rows.items()
    )
    errors = sum(1 for status, _, usd in rows if status == "error" and usd == 0)
    ok = exact and errors == 2 and len(rows) == 5
    return ok, (
        f"{len(rows)} rows for 5 attempts (2 failed at $0); ledger ${env.total_ok_cost():.6f} "
        f"= billing ${env.sim.billing.total_usd:.6f}"
        if ok
        else f"{len(rows)} rows for 5 attempts; ledger matches billing: {exact}"
    )


async def _budget_refuses(client: Any, env: _Env) -> tuple[bool, str]:
    before = env.sim.upstream_calls
    try:
        await client.generate(_ask("Summarise the quarter.", tenant="tiny", max_tokens=500))
    except BudgetExceededError:
        sent = env.sim.upstream_calls - before + sum(env.sim.stats.errors.values())
        return sent == 0, f"refused before sending; requests that reached the provider: {sent}"
    except Exception as exc:
        return False, f"expected BudgetExceededError, got {type(exc).__name__}"
    return False, "a $0.000001 budget let the call through"


async def _redaction(client: Any, env: _Env) -> tuple[bool, str]:
    secret_mail, card = "jane.doe@example.com", "4111 1111 1111 1111"
    prompt = f"Refund for {secret_mail}, card {card}: summarise the ticket."
    await client.generate(_ask(prompt))
    text = env.log.getvalue()
    leaks = [s for s in (secret_mail, card, card.replace(" ", ""), prompt[:30], _KEY) if s in text]
    lines = len(text.splitlines())
    ok = not leaks and lines > 0
    return ok, (
        f"{lines} log line(s): no prompt text, e-mail, card number or API key"
        if ok
        else (f"leaked: {leaks}" if leaks else "the client wrote no log line through the ledger")
    )


async def _own_faults_raise(client: Any, env: _Env) -> tuple[bool, str]:
    too_long = _ask("Summarise the quarter.", max_tokens=100_000)  # above the output limit
    try:
        await client.generate(too_long)
    except Exception as exc:
        kind = type(exc).__name__
    else:
        return False, "a request above the model's output limit was answered"
    sent = len(env.bodies)
    if kind == "BadRequestError" and sent == 1 and not env.sleeps:
        return True, "a 400 (max_tokens above the model's limit) was sent once and raised"
    return False, (
        f"a 400 (max_tokens above the model's limit) was sent {sent} times, with "
        f"{len(env.sleeps)} wait(s), and ended in {kind}: a request's own fault fails the "
        "same way on every attempt and provider, so is_infra must answer False"
    )


async def _no_key_in_logs(client: Any, env: _Env) -> tuple[bool, str]:
    await client.generate(_ask("Status of checkout?"))
    keys = {_KEY, *(os.environ.get(k) for k in ("ANTHROPIC_API_KEY", "OPENAI_API_KEY"))}
    text = "\n".join(env.captured)
    leaked = sorted({k for k in keys if k and len(k) >= 8 and k in text})
    if leaked:
        where = next(line for line in env.captured if any(k in line for k in leaked))
        return False, (
            f"an API key appears in your logs or output ({len(leaked)} key(s)), e.g. in: "
            f"{where[:100].replace(_KEY, 'sk-…')!r}: never log a client or its settings"
        )
    return True, f"{len(env.captured)} log record(s) and printed line(s) scanned: no API key"


def _eval_item(eval_set: Sequence[Mapping[str, Any]]) -> Item:
    async def _eval(client: Any, env: _Env) -> tuple[bool, str]:
        if len(eval_set) < 20:
            return False, f"an eval set needs at least 20 labelled cases; got {len(eval_set)}"
        right = 0
        for case in eval_set:
            result = await client.generate(
                _ask(case["report"], system="Triage the incident report.", max_tokens=200),
                schema=Incident,
            )
            right += result.parsed.severity == case["severity"]
        share = right / len(eval_set)
        # A retried attempt (a per-attempt timeout on a busy machine) samples anew, so the figure
        # can move by a case; the notebook's sanitizer normalises [ratio=...], the claim is >= 0.50.
        return share >= 0.5, (
            f"{len(eval_set)} labelled cases; severity accuracy [ratio={share:.2f}] "
            "(claim: at least 0.50)"
        )

    return _eval


_CALL = ("10.call",)
# (name, the check, the pieces it exercises: exercise ids)
_ITEMS: list[tuple[str, Item, tuple[str, ...]]] = [
    ("prompt built by a pure function and hashed", _prompt_hashed, _CALL),
    (
        "typed parse failures",
        _typed_parse_failures,
        ("10.generate", "05.validate_or_feedback", *_CALL),
    ),
    ("explicit limits; sampling only where the API has it", _explicit_sampling, _CALL),
    ("tool-loop cap", _tool_loop_cap, ("10.with_tools", "06.tool_loop", *_CALL)),
    (
        "streaming with cancellation",
        _streaming_cancellation,
        ("10.stream", "03.read_event", *_CALL),
    ),
    ("caching measured", _caching_measured, ("04.cache_breakpoint", "03.read_event", *_CALL)),
    ("retry with jitter", _retry_with_jitter, ("07.next_wait", "10.is_infra_error", *_CALL)),
    (
        "breaker per provider, with failover",
        _breaker_failover,
        ("08.CircuitBreaker", "10.is_infra_error", *_CALL),
    ),
    (
        "no retry or failover on a request's own faults",
        _own_faults_raise,
        ("10.is_infra_error", *_CALL),
    ),
    ("ledger matches the bill", _ledger_matches, ("03.read_event", "02.estimate_call", *_CALL)),
    (
        "budgets refuse before the call",
        _budget_refuses,
        ("09.check_budget", "02.estimate_call", *_CALL),
    ),
    ("redaction at the boundary", _redaction, ("09.log_attempt", *_CALL)),
    ("no API key in your logs", _no_key_in_logs, ("09.log_attempt", *_CALL)),
]


@dataclass
class ChecklistResult:
    """Each item's verdict: (name, ticked, detail), and the pieces llmlab's code stood in for."""

    items: list[tuple[str, bool, str]] = field(default_factory=list)
    reference: list[tuple[str, ...]] = field(default_factory=list)  # per item: not yours

    @property
    def passed(self) -> bool:
        return all(ok for _, ok, _ in self.items)

    @property
    def yours(self) -> int:
        """Items ticked by the learner's own code alone."""
        return sum(
            ok and not ref for (_, ok, _), ref in zip(self.items, self.reference, strict=True)
        )

    def report(self) -> str:
        lines = ["Pre-merge checklist, run against the client make_client builds:"]
        for (name, ok, detail), ref in zip(self.items, self.reference, strict=True):
            whose = f"reference: {', '.join(ref)}" if ref else "yours"
            lines.append(f"  {'✓' if ok else '✗'} {name} ({whose}): {detail}")
        ticked = sum(ok for _, ok, _ in self.items)
        lines.append(f"{ticked}/{len(self.items)} ticked")
        lines.append(f"your code: {self.yours}/{len(self.items)} items")
        return "\n".join(lines)


class _Capture(logging.Handler, io.TextIOBase):
    """Every log record any logger handles, and every line printed, while an item runs."""

    def __init__(self, lines: list[str]) -> None:
        logging.Handler.__init__(self)
        self.lines = lines

    def emit(self, record: logging.LogRecord) -> None:
        extras = {k: v for k, v in vars(record).items() if k not in _PLAIN_RECORD}
        self.lines.append(f"{record.name}: {record.getMessage()} {extras!r}")

    def write(self, text: str) -> int:
        if text.strip():
            self.lines.append(text)
        return len(text)


_PLAIN_RECORD = set(vars(logging.makeLogRecord({})))


@contextlib.contextmanager
def _capturing(lines: list[str]) -> Iterator[None]:
    """Copy every record handled by any logger (their own handlers still run) and stdout."""
    capture = _Capture(lines)
    original = logging.Logger.handle

    def handle(self: logging.Logger, record: logging.LogRecord) -> None:
        capture.emit(record)
        original(self, record)

    logging.Logger.handle = handle  # type: ignore[method-assign]
    try:
        with contextlib.redirect_stdout(capture):
            yield
    finally:
        logging.Logger.handle = original  # type: ignore[method-assign]


def _not_yours(client: Any, pieces: tuple[str, ...]) -> tuple[str, ...]:
    """The pieces among ``pieces`` where ``client`` runs llmlab's code (all, if it cannot say)."""
    provenance = getattr(client, "provenance", None)
    mine = provenance() if callable(provenance) else {}
    return tuple(sorted(p for p in pieces if not mine.get(p, False)))


def _dropped_overrides(client: Any, env: _Env) -> str:
    if getattr(client, "ledger", env.ledger) is not env.ledger:
        return (
            "make_client ignored the checker's overrides (its ledger is not the one passed): "
            "build with {**settings, **overrides}"
        )
    return ""


def checklist(
    make_client: Callable[..., Any], eval_set: Sequence[Mapping[str, Any]] = ()
) -> ChecklistResult:
    """Run every item against clients from ``make_client(**overrides)``; print and return."""
    items = [*_ITEMS, ("an eval set", _eval_item(eval_set), ("10.generate", *_CALL))]
    result = ChecklistResult()

    async def run_all(tmp: Path) -> None:
        for n, (name, item, pieces) in enumerate(items):
            sim = Simulator(seed=100 + n, time_scale=0.002)
            env = _new_env(tmp, n, sim, {"tiny": 0.000001})
            client: Any = None
            with mock(sim=sim), _capturing(env.captured):  # the checker's simulator answers
                try:
                    client = _make(make_client, env)
                    dropped = _dropped_overrides(client, env)
                    ok, detail = (False, dropped) if dropped else await item(client, env)
                except Exception as exc:  # the learner's bug is a verdict, not a crash
                    ok, detail = False, f"raised {type(exc).__name__}: {str(exc)[:120]}"
            env.ledger.conn.close()
            result.items.append((name, ok, detail))
            result.reference.append(_not_yours(client, pieces))

    with tempfile.TemporaryDirectory() as tmp:
        run_async(lambda: run_all(Path(tmp)))
    print(result.report())
    return result
