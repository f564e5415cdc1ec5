"""Lab 10 checkers: the references pass; plausible mistakes fail; stubs are not attempted."""

from __future__ import annotations

import asyncio
import inspect
import textwrap
from collections import Counter
from collections.abc import Sequence
from typing import Any

import httpx
import pytest

from llmlab.check import run
from llmlab.reference import client as ref
from llmlab.reference import orchestration as orch
from llmlab.reference.client import LLMRequest
from llmlab.reference.retry import is_retryable
from tests.exercises._helpers import first_hint


def stub(*_args: Any, **_kwargs: Any) -> Any:
    raise NotImplementedError


@pytest.mark.parametrize(
    "exercise_id, reference",
    [
        ("10.is_infra_error", ref.is_infra_error),
        ("10.majority_vote", orch.majority_vote),
        ("10.map_reduce", orch.map_reduce),
    ],
)
def test_reference_passes_and_stub_is_not_attempted(exercise_id: str, reference: Any) -> None:
    result = run(exercise_id, reference)
    assert result.passed, result.report()
    assert result.cases >= 8
    assert run(exercise_id, stub).attempted is False


# -- 10.is_infra_error: each of these is a plausible answer --------------
def status_only(exc: BaseException) -> bool:
    """Lab 07's rule alone: blind to errors raised while a stream is being read."""
    return is_retryable(exc)


def everything(exc: BaseException) -> bool:
    return True


def server_side_only(exc: BaseException) -> bool:
    """5xx and transport errors, but a 429 is treated as the caller's fault."""
    code = getattr(exc, "status_code", None)
    return isinstance(exc, httpx.TransportError) or (code is not None and code >= 500)


def forgets_quota(exc: BaseException) -> bool:
    """Retries every 429, including the exhausted quota that waiting never fixes."""
    return getattr(exc, "status_code", None) == 429 or ref.is_infra_error(exc)


@pytest.mark.parametrize("wrong", [status_only, everything, server_side_only, forgets_quota])
def test_wrong_classifiers_fail(wrong: Any) -> None:
    result = run("10.is_infra_error", wrong)
    assert result.attempted and not result.passed, wrong.__name__


# -- 10.majority_vote --------------
def most_common(labels: Sequence[str]) -> str:
    """Counter.most_common: a tie goes to the label seen first."""
    return Counter(labels).most_common(1)[0][0]


def last_seen_on_tie(labels: Sequence[str]) -> str:
    counts = Counter(labels)
    top = max(counts.values())
    return [label for label in labels if counts[label] == top][-1]


def least_severe_on_tie(labels: Sequence[str]) -> str:
    counts = Counter(labels)
    top = max(counts.values())
    return max(label for label in counts if counts[label] == top)


@pytest.mark.parametrize("wrong", [most_common, last_seen_on_tie, least_severe_on_tie])
def test_wrong_votes_fail(wrong: Any) -> None:
    result = run("10.majority_vote", wrong)
    assert result.attempted and not result.passed, wrong.__name__


# -- 10.map_reduce --------------
async def sequential(client: Any, chunks: Sequence[str], *, limit: int = 5) -> Any:
    parts = [
        await client.generate(LLMRequest.ask(c, system=orch.MAP_SYSTEM, max_tokens=60))
        for c in chunks
    ]
    text = "\n".join(p.text for p in parts)
    return await client.generate(LLMRequest.ask(text, system=orch.COMBINE_SYSTEM, max_tokens=60))


async def unbounded(client: Any, chunks: Sequence[str], *, limit: int = 5) -> Any:
    parts = await asyncio.gather(
        *(client.generate(LLMRequest.ask(c, system=orch.MAP_SYSTEM, max_tokens=60)) for c in chunks)
    )
    text = "\n".join(p.text for p in parts)
    return await client.generate(LLMRequest.ask(text, system=orch.COMBINE_SYSTEM, max_tokens=60))


async def completion_order(client: Any, chunks: Sequence[str], *, limit: int = 5) -> Any:
    gate = asyncio.Semaphore(limit)

    async def one(c: str) -> Any:
        async with gate:
            return await client.generate(LLMRequest.ask(c, system=orch.MAP_SYSTEM, max_tokens=60))

    parts = [await f for f in asyncio.as_completed([one(c) for c in chunks])]
    text = "\n".join(p.text for p in parts)
    return await client.generate(LLMRequest.ask(text, system=orch.COMBINE_SYSTEM, max_tokens=60))


async def returns_the_summaries(client: Any, chunks: Sequence[str], *, limit: int = 5) -> Any:
    final = await orch.map_reduce(client, chunks, limit=limit)
    return final.text


@pytest.mark.parametrize("wrong", [sequential, unbounded, completion_order, returns_the_summaries])
def test_wrong_map_reduce_fails(wrong: Any) -> None:
    result = run("10.map_reduce", wrong)
    assert result.attempted and not result.passed, wrong.__name__


async def map_reduce_consumes_chunks(client: Any, chunks: list[str], *, limit: int = 5) -> Any:
    """Right answer, but it empties the list it was handed (pop until nothing is left)."""
    mine = list(chunks)
    chunks.clear()
    return await orch.map_reduce(client, mine, limit=limit)


def test_a_mutating_candidate_does_not_break_later_checks() -> None:
    run("10.map_reduce", map_reduce_consumes_chunks)
    result = run("10.map_reduce", orch.map_reduce)
    assert result.passed, result.report()


# -- the client's methods: each wrong variant is llmlab's method with one plausible slip --------
def variant(method: str, old: str, new: str) -> Any:
    """``LLMClient.<method>`` with ``old`` replaced by ``new`` in its source."""
    source = textwrap.dedent(inspect.getsource(getattr(ref.LLMClient, method)))
    assert old in source, old
    scope = dict(vars(ref))
    exec(source.replace(old, new), scope)
    return scope[method]


@pytest.mark.parametrize("exercise_id", ["10.call", "10.generate", "10.stream", "10.with_tools"])
def test_client_methods_reference_passes(exercise_id: str) -> None:
    result = run(exercise_id, getattr(ref.LLMClient, exercise_id.split(".")[1]))
    assert result.passed, result.report()


@pytest.mark.parametrize(
    "exercise_id, old, new, named",
    [
        ("10.call", "if not self.is_infra(exc):", "if False:", "self.is_infra(exc)"),
        ("10.call", "self.record(attempt, exc)\n", "pass\n", "record the failed attempt"),
        ("10.call", "await self.sleep(wait)", "await self.sleep(1.0)", "fixed wait"),
        ("10.call", "breaker.before_call()", "pass", "an open breaker must stop"),
        ("10.call", "break  # out of attempts", "raise errors[provider]  #", "next provider"),
        ("10.call", "if wait is None or n", "if n", "fail over now"),
        (
            "10.call",
            "self.admitted(provider, request, worst_usd)",
            "self.admitted(provider, request, 0.0)",
            "worst case from self.estimate_call",
        ),
        (
            "10.generate",
            "messages = (*messages, *self.feedback_turns(call, str(feedback)))",
            "pass",
            "send the feedback back",
        ),
        (
            "10.generate",
            "raise StructuredOutputError(",
            "return result\n    raise StructuredOutputError(",
            "never return",
        ),
        ("10.stream", "task.cancel()", "pass", "hang up"),
        (
            "10.stream",
            "self.call(request, on_text=pipe.put)",
            "self.call(request)",
            "Without on_text",
        ),
        (
            "10.with_tools",
            'key = f"{request.idempotency_key}:{name}:{ordinal[name]}"',
            "key = str(uuid.uuid4())",
            "new on every replay",
        ),
        ("10.with_tools", "max_turns=max_turns)", "max_turns=5)", "pass max_turns on"),
    ],
)
def test_client_method_slips_are_named(exercise_id: str, old: str, new: str, named: str) -> None:
    wrong = variant(exercise_id.split(".")[1], old, new.replace("uuid.", "__import__('uuid')."))
    result = run(exercise_id, wrong)
    assert result.attempted and not result.passed
    assert named in first_hint(result), result.report()


def test_a_breaker_checked_inside_the_attempt_is_named() -> None:
    """before_call() inside the try: an open breaker becomes a failed attempt, waited on."""
    source = textwrap.dedent(inspect.getsource(ref.LLMClient.call))
    lines = source.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if "breaker.before_call()" in line) - 1
    end = next(i for i, line in enumerate(lines) if "attempts += 1" in line)
    send = next(line for line in lines if "await self.send(" in line)
    indent = send[: len(send) - len(send.lstrip())]
    wrong = "".join(lines[:start] + lines[end:]).replace(
        send, f"{indent}breaker.before_call()\n{send}"
    )
    scope = dict(vars(ref))
    exec(wrong, scope)
    result = run("10.call", scope["call"])
    assert result.attempted and not result.passed
    assert "leave this provider's attempts" in first_hint(result), result.report()
