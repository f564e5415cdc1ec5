"""LLMClient (llmlab.reference.client) on its own: through the real async SDKs, in-process and
over real HTTP, against scripted and live-shaped failures."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import anthropic
import openai
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

import llmlab
from llmlab.reference.breaker import FakeClock
from llmlab.reference.client import (
    LLMClient,
    LLMRequest,
    Message,
    StreamInterruptedError,
    build_prompt,
    is_infra_error,
    prompt_hash,
)
from llmlab.reference.cost import ContextWindowError
from llmlab.reference.ledger import JsonFormatter, Ledger, open_ledger
from llmlab.reference.retry import TicketSystem
from llmlab.reference.structured import Incident
from llmlab.reference.tools import ToolSpec
from llmlab.sim import Behaviour, FaultPlan, Simulator, mock
from llmlab.sim.testing import SimServer

KEY = "sk-test-client"


def run(coro_fn: Callable[[], Awaitable[Any]]) -> Any:
    return asyncio.run(coro_fn())  # type: ignore[arg-type]


class Sleeps:
    """An injected sleep that records the waits and does not wait."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def fake() -> Iterator[Simulator]:
    with mock(seed=5, time_scale=0.002) as sim:
        yield sim


def make(**overrides: Any) -> LLMClient:
    settings_: dict[str, Any] = dict(
        anthropic=anthropic.AsyncAnthropic(api_key=KEY),
        openai=openai.AsyncOpenAI(api_key=KEY),
        timeout=5.0,
        sleep=Sleeps(),
    )
    return LLMClient(**{**settings_, **overrides})


def ask(text: str = "Summarise the payments incident.", **fields: Any) -> LLMRequest:
    return LLMRequest.ask(text, max_tokens=fields.pop("max_tokens", 30), **fields)


# -- the contract --------------
@pytest.mark.parametrize(
    "fields, message",
    [
        (dict(max_tokens=0), "max_tokens must be a positive integer"),
        (dict(temperature=1.5), "temperature must be within"),
        (dict(top_p=0.0), "top_p must be within"),
    ],
)
def test_bad_requests_are_refused_with_a_clear_error(fields: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        LLMRequest.ask("hi", **fields)
    with pytest.raises(ValueError, match="must start with a user Message"):
        LLMRequest(messages=(Message("assistant", "hi"),))


def test_a_client_needs_a_provider_and_known_models() -> None:
    with pytest.raises(ValueError, match="needs an anthropic= or openai="):
        LLMClient()
    with pytest.raises(ValueError, match="unknown openai model"):
        LLMClient(openai=openai.AsyncOpenAI(api_key=KEY), models={"openai": "claude-sonnet-4-6"})


@settings(max_examples=50, deadline=None)
@given(text=st.text(min_size=1, max_size=60), temperature=st.floats(0, 1), n=st.integers(1, 500))
def test_prompt_hash_is_a_pure_function_of_the_request(
    text: str, temperature: float, n: int
) -> None:
    a = LLMRequest.ask(text, temperature=temperature, max_tokens=n)
    b = LLMRequest.ask(text, temperature=temperature, max_tokens=n)
    assert build_prompt(a) == build_prompt(b) and prompt_hash(a) == prompt_hash(b)
    assert prompt_hash(a) != prompt_hash(
        LLMRequest.ask(text + ".", temperature=temperature, max_tokens=n)
    )


def test_generate_sends_explicit_sampling_and_no_sdk_retries(fake: Simulator) -> None:
    client = make()
    assert all(sdk.max_retries == 0 for sdk in client.sdk.values())
    result = run(lambda: client.generate(ask()))
    assert result.provider == "anthropic" and result.attempts == 1 and result.text
    bill = fake.billing.by_request()[result.request_id]
    assert abs(bill.cost_usd - result.cost_usd) < 1e-12
    assert result.usage.output_tokens == bill.output_tokens


# -- retries, breaker, failover --------------
def test_infrastructure_errors_are_retried_with_full_jitter(fake: Simulator) -> None:
    sleeps = Sleeps()
    client = make(sleep=sleeps, backoff_base=1.0, backoff_cap=8.0)
    fake.set_faults(FaultPlan.scripted(["529", "500"]))
    result = run(lambda: client.generate(ask()))
    assert result.attempts == 3 and result.provider == "anthropic"
    assert len(sleeps.waits) == 2
    assert 0 <= sleeps.waits[0] < 1.0 and 0 <= sleeps.waits[1] < 2.0  # full jitter below the cap


def test_retry_after_is_obeyed_and_a_long_one_fails_over(fake: Simulator) -> None:
    sleeps = Sleeps()
    client = make(sleep=sleeps)
    fake.set_faults(FaultPlan.scripted(["429"]))
    run(lambda: client.generate(ask()))
    assert len(sleeps.waits) == 1 and sleeps.waits[0] > 0  # the server's retry-after, scaled
    impatient = make(sleep=sleeps, max_retry_after=0.0)
    fake.set_faults(FaultPlan.scripted(["429"]))
    result = run(lambda: impatient.generate(ask()))
    assert result.provider == "openai" and len(sleeps.waits) == 1  # no wait: straight to OpenAI


@pytest.mark.parametrize("kind", ["quota"])
def test_exhausted_quota_is_not_retried(fake: Simulator, kind: str) -> None:
    client = make(order=["openai"])
    fake.set_faults(FaultPlan.scripted([kind]))
    with pytest.raises(openai.RateLimitError):
        run(lambda: client.generate(ask()))
    assert client.stats["attempts"] == 1


def test_content_errors_raise_at_once_on_any_provider(fake: Simulator) -> None:
    client = make()
    with pytest.raises(anthropic.BadRequestError):  # above the model's output limit: a 400
        run(lambda: client.generate(ask(max_tokens=70_000)))
    assert client.stats["attempts"] == 1  # no retry, no failover
    assert client.breakers["anthropic"].state == "closed"


def test_breaker_opens_fails_over_and_sends_nothing_while_open(fake: Simulator) -> None:
    clock = FakeClock()
    client = make(clock=clock, breaker_threshold=3, breaker_reset=30.0, max_attempts=1)
    fake.set_faults(FaultPlan.random({"529": 1.0}), provider="anthropic")
    requests = [ask(f"Status {i}?") for i in range(8)]
    providers = [run(lambda r=r: client.generate(r)).provider for r in requests]
    assert providers == ["openai"] * 8
    assert fake.stats.errors["529 overloaded_error"] == 3  # the threshold, then nothing
    assert client.breakers["anthropic"].state == "open"
    fake.set_faults(None, provider="anthropic")
    clock.advance(30)  # cooled down: one probe goes through and closes the breaker
    assert run(lambda: client.generate(ask("Probe?"))).provider == "anthropic"
    assert client.breakers["anthropic"].state == "closed"


def test_every_provider_down_is_one_typed_error(fake: Simulator) -> None:
    client = make(max_attempts=2)
    fake.set_faults(FaultPlan.random({"503": 1.0}))
    with pytest.raises(llmlab.ProviderUnavailableError) as info:
        run(lambda: client.generate(ask()))
    assert set(info.value.errors) == {"anthropic", "openai"}
    assert client.stats["attempts"] == 4


# -- streams that die --------------
@pytest.mark.parametrize("kind", ["cut", "hang", "stream_error"])
def test_a_stream_that_dies_is_retried_and_billed_in_the_ledger(
    fake: Simulator, tmp_path: Path, kind: str
) -> None:
    logger = logging.getLogger(f"test.client.{kind}")
    logger.propagate = False
    ledger = Ledger(open_ledger(tmp_path / "l.sqlite"), logger, b"k", clock=fake.clock.now)
    client = make(ledger=ledger, timeout=0.1)
    fake.set_faults(FaultPlan.scripted([kind]))
    result = run(lambda: client.generate(ask("Write the full runbook.", max_tokens=200)))
    assert result.attempts == 2
    rows = ledger.conn.execute("SELECT status, request_id, cost_usd FROM calls").fetchall()
    assert [r[0] for r in rows] == ["error", "ok"]
    bills = fake.billing.by_request()
    assert set(bills) == {r[1] for r in rows}  # the dead stream was billed, and the ledger knows
    dead = bills[rows[0][1]]
    assert not dead.complete and rows[0][2] > 0
    assert abs(dead.cost_usd - rows[0][2]) < 5e-5  # output estimated from the text that arrived


def test_stream_delivers_text_and_cancellation_stops_billing(fake: Simulator) -> None:
    client = make()

    async def go() -> tuple[list[str], Any]:
        got: list[str] = []
        async with client.stream(ask("Write the runbook for failover.", max_tokens=300)) as s:
            async for text in s:
                got.append(text)
                if len(got) == 3:
                    break
        async with client.stream(ask("Summarise the outage.", max_tokens=20)) as s2:
            async for _ in s2:
                pass
        return got, s2.result

    got, finished = run(go)
    first, second = fake.billing.records
    assert len(got) == 3 and not first.complete and first.output_tokens < 300
    assert second.complete and finished is not None and finished.ttft_ms is not None


def test_a_stream_that_fails_after_text_is_not_retried(fake: Simulator) -> None:
    client = make()
    fake.set_faults(FaultPlan.scripted([llmlab.sim.Fault("cut", after_events=6)]))

    async def go() -> list[str]:
        got: list[str] = []
        async with client.stream(ask("Write the runbook for failover.", max_tokens=200)) as s:
            async for text in s:
                got.append(text)
        return got

    with pytest.raises(StreamInterruptedError) as info:
        run(go)
    assert is_infra_error(info.value.__cause__)  # the provider's fault, but the text is out
    assert client.stats["attempts"] == 1  # a retry would repeat text the caller already showed


# -- budgets, window, structured output, tools --------------
def test_budgets_reserve_calls_in_flight(fake: Simulator, tmp_path: Path) -> None:
    logger = logging.getLogger("test.client.budget")
    logger.propagate = False
    ledger = Ledger(
        open_ledger(tmp_path / "b.sqlite"),
        logger,
        b"k",
        budgets={"t": 0.0012},
        clock=fake.clock.now,
    )
    client = make(ledger=ledger)
    worst = client.estimate(ask(tenant="t", max_tokens=60))[1]

    async def go() -> list[Any]:
        calls = [
            client.generate(ask(f"Incident {i}", tenant="t", max_tokens=60)) for i in range(10)
        ]
        return await asyncio.gather(*calls, return_exceptions=True)

    outcomes = run(go)
    refused = [o for o in outcomes if isinstance(o, llmlab.BudgetExceededError)]
    admitted = len(outcomes) - len(refused)
    assert admitted == int(0.0012 // worst) and refused  # concurrent calls could not overspend
    assert fake.upstream_calls == admitted


def test_a_prompt_over_the_window_is_refused_before_sending(fake: Simulator) -> None:
    client = make(order=["openai"], models={"openai": "gpt-4o-mini"})
    with pytest.raises(ContextWindowError, match="context window"):
        run(lambda: client.generate(ask("word " * 130_000)))
    assert fake.upstream_calls == 0 and not fake.stats.errors


def test_structured_output_is_validated_and_reasked(fake: Simulator) -> None:
    client = make()
    fake.set_behaviour(Behaviour(schema_errors=1))
    result = run(
        lambda: client.generate(
            ask("Checkout is down for everyone.", max_tokens=200), schema=Incident
        )
    )
    assert isinstance(result.parsed, Incident) and client.stats["validation_retries"] == 1
    fake.set_behaviour(Behaviour(schema_errors=9))
    with pytest.raises(llmlab.StructuredOutputError, match="no valid Incident after 2"):
        run(
            lambda: client.generate(
                ask("Search is slow.", max_tokens=200), schema=Incident, max_validation_attempts=2
            )
        )


def test_structured_output_works_on_openai_with_a_strict_tool(fake: Simulator) -> None:
    client = make(order=["openai"])
    result = run(
        lambda: client.generate(
            ask("Payments fail for all EU customers.", max_tokens=200), schema=Incident
        )
    )
    assert isinstance(result.parsed, Incident) and result.provider == "openai"


class Ticket(BaseModel):
    summary: str


def test_side_effects_happen_once_per_idempotency_key(fake: Simulator) -> None:
    tickets = TicketSystem()
    calls: list[str] = []

    def create(summary: str, idempotency_key: str) -> str:
        calls.append(idempotency_key)
        return str(tickets.create(summary, idempotency_key)["id"])

    tools = {"create_ticket": ToolSpec(create, Ticket, "Open a ticket.")}
    client = make()
    request = ask("Open a ticket: checkout errors.", max_tokens=80, idempotency_key="job-1")
    for _ in range(3):  # a queue redelivering the same job
        run(lambda: client.with_tools(request, tools, side_effects={"create_ticket"}))
    assert len(calls) == 3 and len(set(calls)) == 1 and len(tickets.tickets) == 1
    with pytest.raises(ValueError, match="idempotency_key"):
        run(lambda: client.with_tools(ask("Open a ticket."), tools, side_effects={"create_ticket"}))


def test_tool_loop_is_capped(fake: Simulator) -> None:
    fake.set_behaviour(Behaviour(tool_loop=True))
    tools = {"get_service_status": ToolSpec(lambda service: "degraded", Ticket, "Status.")}
    run_ = run(
        lambda: make().with_tools(ask("Status of the checkout service?"), tools, max_turns=4)
    )
    assert run_.stopped == "max_turns" and run_.turns == 4 and run_.answer is None


def test_logs_carry_no_prompt_text(fake: Simulator, tmp_path: Path) -> None:
    buffer = io.StringIO()
    logger = logging.getLogger("test.client.logs")
    logger.propagate = False
    logger.setLevel(logging.INFO)
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(JsonFormatter())
    logger.addHandler(handler)
    ledger = Ledger(open_ledger(tmp_path / "r.sqlite"), logger, b"k", clock=fake.clock.now)
    prompt = "Refund jane.doe@example.com on card 4111 1111 1111 1111 please."
    run(lambda: make(ledger=ledger).generate(ask(prompt)))
    assert "jane.doe" not in buffer.getvalue() and "4111" not in buffer.getvalue()
    assert buffer.getvalue().count("\n") == 1


# -- over real HTTP --------------
def test_the_client_works_over_http_with_live_shaped_failures(sim_server: SimServer) -> None:
    """Base URLs are the only change from the live providers; failures arrive as real HTTP."""
    sleeps = Sleeps()
    client = LLMClient(
        anthropic=anthropic.AsyncAnthropic(api_key=KEY, base_url=sim_server.anthropic_base_url),
        openai=openai.AsyncOpenAI(api_key=KEY, base_url=sim_server.openai_base_url),
        sleep=sleeps,
        timeout=2.0,
    )
    sim_server.sim.set_faults(FaultPlan.scripted(["529", "429", "stream_error"]))
    result = run(lambda: client.generate(ask("Summarise the outage.", max_tokens=40)))
    assert result.attempts == 3 or result.provider == "openai"
    assert set(sim_server.sim.billing.by_request()) >= {result.request_id}
    assert sim_server.sim.summary().errors  # the failures really crossed the wire


def test_a_request_leaving_into_an_open_breaker_is_told_in_flight_or_never_admitted(
    fake: Simulator,
) -> None:
    """The under-fire witness: admitted while closed, then opened by others = in flight; a
    retry that did not ask again (the admission ends with its attempt) = sent into it."""
    clock = FakeClock()
    client = make(clock=clock, breaker_threshold=2, breaker_reset=30.0)
    breaker = client.breakers["anthropic"]
    assert not breaker.admitted_before_it_opened()  # nothing admitted in this context

    async def admitted_then_opened() -> tuple[bool, bool]:
        breaker.before_call()  # admitted while closed
        breaker.record_failure()
        breaker.record_failure()  # two other tasks' failures open it
        in_flight = breaker.admitted_before_it_opened()
        attempt = client.new_attempt("anthropic", ask(), 10)
        with pytest.raises(anthropic.NotFoundError):  # the simulator: no such model
            await client.send(attempt, {"model": "no-such-model", "max_tokens": 5, "messages": []})
        return in_flight, breaker.admitted_before_it_opened()

    in_flight, after_the_attempt = run(admitted_then_opened)
    assert breaker.state == "open" and breaker.openings == 1
    assert in_flight and not after_the_attempt
