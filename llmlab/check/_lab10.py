"""Lab 10 checkers: the client's one error decision, majority votes, bounded map-reduce.

The errors ``10.is_infra_error`` sees are real: each was raised by the SDKs against a checker
simulator scripted to fail that way (status errors, timeouts, a dropped connection, an error
event inside a 200 stream), plus llmlab's own refusals and a Pydantic validation error.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable, Iterator
from typing import Any

import anthropic
import openai
from pydantic import BaseModel, ValidationError

from llmlab._exceptions import BudgetExceededError, CircuitOpenError
from llmlab.check._async import run_async
from llmlab.check._registry import Case, exercise
from llmlab.check._sandbox import Raised, call, running, track_mock
from llmlab.reference import client as ref
from llmlab.reference import orchestration as orch
from llmlab.reference._client_wire import Accumulated, read_responses_event
from llmlab.sim import FaultPlan, Simulator, mock

_KEY = "sk-llmlab-checker"  # a dummy key: checkers talk to their own simulator
_CLAUDE, _GPT = "claude-sonnet-4-6", "gpt-4.1-mini"
_MSG: Any = [{"role": "user", "content": "Summarise the payments incident for the status page."}]


# -- 10.is_infra_error ---------------------------------------------------------------------------
def _raised(fn: Callable[[], Any]) -> BaseException:
    try:
        fn()
    except Exception as exc:
        return exc
    raise AssertionError("the checker's simulator did not fail as scripted")


def _drain(stream: Any) -> None:
    for _ in stream:
        pass


def _fold(stream: Any) -> None:
    """Read a Responses stream as the client does: its error event becomes an exception."""
    acc = Accumulated("openai", _GPT)
    for event in stream:
        read_responses_event(acc, event)


@functools.cache
def _error_zoo() -> tuple[tuple[str, BaseException, bool], ...]:
    """(description, a real exception, whether the client should retry / fail over)."""
    sim = Simulator(seed=10, time_scale=0.001)
    out: list[tuple[str, BaseException, bool]] = []
    with mock(sim=sim):
        claude = anthropic.Anthropic(api_key=_KEY, max_retries=0, timeout=10.0)
        gpt = openai.OpenAI(api_key=_KEY, max_retries=0, timeout=10.0)
        # a hang lasts 600 simulated s (0.6 s here): these timeouts fire well before
        claude_short = claude.with_options(timeout=0.15)

        def create(**extra: Any) -> Any:
            args: dict[str, Any] = {"model": _CLAUDE, "max_tokens": 40, "messages": _MSG}
            return claude.messages.create(**{**args, **extra})

        def chat(**extra: Any) -> Any:
            args: dict[str, Any] = {"model": _GPT, "max_tokens": 40, "messages": _MSG}
            return gpt.chat.completions.create(**{**args, **extra})

        def respond(**extra: Any) -> Any:
            args: dict[str, Any] = {"model": _GPT, "max_output_tokens": 40, "input": _MSG}
            return gpt.responses.create(**{**args, "stream": True, "store": False, **extra})

        def scripted(kind: str, fn: Callable[[], Any]) -> BaseException:
            sim.set_faults(FaultPlan.scripted([kind]))
            return _raised(fn)

        out += [
            ("Anthropic 429 rate_limit_error", scripted("429", create), True),
            ("OpenAI 429 insufficient_quota", scripted("quota", chat), False),
            ("Anthropic 500 api_error", scripted("500", create), True),
            ("OpenAI 503", scripted("503", chat), True),
            ("Anthropic 529 overloaded_error", scripted("529", create), True),
            (
                "Anthropic 400: max_tokens above the model's limit",
                _raised(lambda: create(max_tokens=10**7)),
                False,
            ),
            ("OpenAI 404: unknown model", _raised(lambda: chat(model="gpt-9-imaginary")), False),
            (
                "Anthropic timeout (APITimeoutError)",
                scripted(
                    "hang",
                    lambda: claude_short.messages.create(
                        model=_CLAUDE, max_tokens=40, messages=_MSG
                    ),
                ),
                True,
            ),
            ("OpenAI connection dropped (APIConnectionError)", scripted("cut", chat), True),
            (
                "Anthropic stream stalled (httpx.ReadTimeout while reading)",
                scripted(
                    "hang",
                    lambda: _drain(
                        claude_short.messages.create(
                            model=_CLAUDE, max_tokens=40, messages=_MSG, stream=True
                        )
                    ),
                ),
                True,
            ),
            (
                "OpenAI stream cut (httpx.RemoteProtocolError while reading)",
                scripted("cut", lambda: _drain(chat(stream=True))),
                True,
            ),
            (
                "Anthropic overloaded_error event inside a 200 stream",
                scripted("stream_error", lambda: _drain(create(stream=True))),
                True,
            ),
            (
                "OpenAI server_error event inside a 200 stream",
                scripted("stream_error", lambda: _drain(chat(stream=True))),
                True,
            ),
            (
                "OpenAI Responses error event inside a 200 stream (as the client raises it)",
                scripted("stream_error", lambda: _fold(respond())),
                True,
            ),
            (
                "OpenAI Responses 400: max_output_tokens below its floor of 16",
                _raised(lambda: _fold(respond(max_output_tokens=5))),
                False,
            ),
        ]

    class _Shape(BaseModel):
        severity: int

    out += [
        ("CircuitOpenError (the breaker refused)", CircuitOpenError("circuit open"), True),
        ("BudgetExceededError (the budget refused)", BudgetExceededError("over budget"), False),
        ("pydantic ValidationError", _raised(lambda: _Shape.model_validate({})), False),
        ("ValueError from your own code", ValueError("bad input"), False),
    ]
    assert isinstance(out[-2][1], ValidationError)
    return tuple(out)


@exercise(
    "10.is_infra_error",
    "is_infra_error(exc: BaseException) -> bool",
    "True for errors worth another attempt or provider; False for your request's own faults",
    ref.is_infra_error,
)
def _check_infra(candidate: Any) -> Iterator[Case]:
    for described, exc, want in _error_zoo():
        got = call(f"is_infra_error({described})", candidate, exc)
        if want:
            hint = (
                "failures inside a stream arrive while you iterate, as httpx's own errors or as "
                "an SDK APIError with status 200: judge those by the error type"
                if "stream" in described
                else "this is the provider (or the breaker) failing: retry or fail over"
            )
        else:
            hint = "this fails the same way on every attempt and every provider: raise it"
        yield Case(
            ok=got is want,
            input=f"{described}: {type(exc).__name__}",
            expected=str(want),
            got=str(got) if isinstance(got, Raised) else repr(got),
            hint=hint,
        )


# -- 10.majority_vote ---------------------------------------------------------------------------
_VOTES: list[list[str]] = [
    ["sev2"],
    ["sev3", "sev3", "sev2", "sev3", "sev1"],
    ["sev3", "sev2", "sev2", "sev4", "sev3"],  # tie sev3/sev2, sev3 seen first
    ["sev4", "sev3", "sev3", "sev4", "sev2"],  # tie sev4/sev3, sev4 seen first
    ["sev3", "sev2"],
    ["sev4", "sev4", "sev1", "sev1", "sev2", "sev2"],  # three-way tie
    ["sev2", "sev3", "sev3"],
    ["sev1", "sev1", "sev1", "sev2", "sev2"],
]


@exercise(
    "10.majority_vote",
    "majority_vote(labels: Sequence[str]) -> str",
    "the most common severity; a tie goes to the most severe of the tied labels",
    orch.majority_vote,
)
def _check_vote(candidate: Any) -> Iterator[Case]:
    for labels in _VOTES:
        want = orch.majority_vote(labels)
        got = call(f"majority_vote({labels})", candidate, list(labels))
        tie = len([n for n in set(labels) if labels.count(n) == labels.count(want)]) > 1
        yield Case(
            ok=got == want,
            input=f"majority_vote({labels})",
            expected=repr(want),
            got=repr(got),
            hint="on a tie escalate: sev1 < sev2 < sev3 < sev4 in severity order"
            if tie
            else "count each label and return the most common",
        )


# -- 10.map_reduce ------------------------------------------------------------------------------
_CHUNKS = [
    "## Detection\nThe payments error rate alert fired at 09:12 and paged the on-call engineer.",
    "## Impact\nAbout a third of EU checkouts failed for 41 minutes; no data was lost.",
    "## Root cause\nA connection pool limit was lowered in the payments release.",
    "## Response\nThe release was rolled back at 09:48 and error rates recovered.",
    "## Communication\nThe status page was updated twice; support used a macro.",
    "## Action items\nAlert on pool saturation; canary releases for payments.",
    "## What went well\nRollback took four minutes once decided.",
]


async def _run_map_reduce(candidate: Any, chunks: list[str], limit: int) -> tuple[Any, Any]:
    client = ref.LLMClient(
        anthropic=anthropic.AsyncAnthropic(api_key=_KEY), sleep=lambda _s: asyncio.sleep(0)
    )
    recorder = orch.Recorder(client)
    return await candidate(recorder, chunks, limit=limit), recorder


@exercise(
    "10.map_reduce",
    "async map_reduce(client, chunks: Sequence[str], *, limit: int = 5) -> LLMResult",
    "summarise every chunk concurrently (at most `limit` at once), then one combine call",
    orch.map_reduce,
)
def _check_map_reduce(candidate: Any) -> Iterator[Case]:
    for fixture, limit in ((_CHUNKS, 3), (_CHUNKS[:2], 5)):
        chunks = list(fixture)  # a copy: a candidate that mutates its input cannot break later runs
        running(f"map_reduce(client, {len(chunks)} chunks, limit={limit})")
        with track_mock(mock(sim=Simulator(seed=10, time_scale=0.01))):  # the checker's simulator
            given = list(chunks)
            result, rec = run_async(
                lambda c=given, n=limit: _run_map_reduce(candidate, c, n)  # type: ignore[misc]
            )
        n = len(chunks)
        case = f"{n} chunks, limit={limit}"
        yield Case(
            ok=len(rec.spans) == n + 1,
            input=f"{case}: number of generate calls",
            expected=str(n + 1),
            got=str(len(rec.spans)),
            hint="one call per chunk, then exactly one combine call",
        )
        want_peak = min(n, limit)
        yield Case(
            ok=rec.peak == want_peak,
            input=f"{case}: most calls in flight at once",
            expected=str(want_peak),
            got=str(rec.peak),
            hint="1 means the map ran sequentially; more than `limit` means the semaphore is "
            "missing (asyncio.gather alone starts everything at once)",
        )
        if len(rec.spans) != n + 1:
            continue
        by_chunk = {req.messages[0].text: res for req, res in rec.results}
        others = [i for i, (req, _) in enumerate(rec.results) if req.messages[0].text not in chunks]
        if len(others) != 1 or any(c not in by_chunk for c in chunks):
            yield Case(
                ok=False,
                input=f"{case}: one map call per chunk (the chunk as the user text) + one combine",
                expected="each chunk summarised once, then one other call",
                got=f"{len(by_chunk)} distinct chunk calls, {len(others)} other calls",
                hint="send each chunk as the user message of its own request",
            )
            continue
        combine_req, combine_res = rec.results[others[0]]
        combine_span = rec.spans[others[0]]
        last_map_end = max(span.end for i, span in enumerate(rec.spans) if i != others[0])
        gap_ms = (combine_span.start - last_map_end) * 1000
        yield Case(
            ok=gap_ms >= -1e-6,
            input=f"{case}: the combine call starts after every map call finished",
            expected="combine start - last map end >= 0 ms",
            got=f"{gap_ms:+.1f} ms",
            hint="await all the summaries (asyncio.gather) before the combine call",
        )
        combined = combine_req.messages[0].text
        placed, at = 0, 0
        for c in chunks:  # each summary must appear after the previous one
            found = combined.find(by_chunk[c].text, at)
            if found < 0:
                break
            placed, at = placed + 1, found + len(by_chunk[c].text)
        yield Case(
            ok=placed == n,
            input=f"{case}: the combine prompt holds every summary, in chunk order",
            expected=f"{n} of {n} summaries in chunk order",
            got=f"{placed} of {n} in order"
            + ("" if placed == n else f" (summary of chunk {placed + 1} missing or out of order)"),
            hint="asyncio.gather returns results in argument order; as_completed does not",
        )
        same = getattr(result, "request_id", None) == combine_res.request_id
        yield Case(
            ok=same,
            input=f"{case}: the function returns the combine call's LLMResult",
            expected="LLMResult of the combine call",
            got=type(result).__name__ if not same else "LLMResult of the combine call",
            hint="return the result of the combine call",
        )
