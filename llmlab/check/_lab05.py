"""Lab 05 checker: a hand-written validate-and-retry loop, run through the real anthropic SDK.

The checker opens its own simulator set to violate the schema (``Behaviour(schema_errors=N)``),
records every request body the SDK sends, and checks the conversation the loop built.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from llmlab._exceptions import StructuredOutputError
from llmlab._httpgen import sdk_http
from llmlab.check._registry import Case, exercise
from llmlab.reference import structured as ref
from llmlab.sim import Simulator, mock

_KEY = "sk-ant-llmlab-simulated"  # the checker's own simulator; never a real key
_MODEL = "claude-sonnet-4-6"
_REPORT = (
    "Checkout is completely down. Every customer gets an error when pressing the pay button, "
    "and no orders have been created in the last 15 minutes."
)
_WANT = {"service": "checkout", "valid severity": True}


def _run(candidate: Any, schema_errors: int) -> tuple[Any, BaseException | None, list[Any], int]:
    """(result, exception, request bodies, upstream calls) of one run against a fresh simulator."""
    import anthropic

    from llmlab.sim import Behaviour

    bodies: list[Any] = []

    def record(request: Any) -> None:
        if request.url.path.endswith("/messages"):
            bodies.append(json.loads(request.content))

    sim = Simulator(seed=7, time_scale=0.001, behaviour=Behaviour(schema_errors=schema_errors))
    log: list[str] = []
    result: Any = None
    error: BaseException | None = None
    client = anthropic.Anthropic(
        api_key=_KEY,
        max_retries=0,
        http_client=sdk_http("anthropic").Client(event_hooks={"request": [record]}),
    )
    try:
        with mock(sim=sim):  # innermost mock wins: the checker's simulator, not the notebook's
            result = candidate(client, _REPORT, model=_MODEL, max_attempts=3, log=log)
    except NotImplementedError:
        raise
    except Exception as exc:  # judged below: the right type is part of the contract
        error = exc
    return result, error, bodies, sim.upstream_calls


def _error_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    last = body["messages"][-1]
    content = last.get("content")
    if last.get("role") != "user" or not isinstance(content, list):
        return []
    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]


def _tool_use_ids(body: dict[str, Any]) -> list[str]:
    for message in reversed(body["messages"]):
        if message.get("role") == "assistant" and isinstance(message.get("content"), list):
            return [b["id"] for b in message["content"] if b.get("type") == "tool_use"]
    return []


@exercise(
    "05.validate_and_retry",
    "extract_incident(client, report: str, *, model: str, max_attempts: int = 3, "
    "log: list[str] | None = None) -> Incident",
    "forced record_incident tool, Pydantic validation, is_error feedback, at most "
    "max_attempts calls, then StructuredOutputError",
    ref.extract_incident,
)
def _check_validate_and_retry(candidate: Any) -> Iterator[Case]:
    # 1) one violation: the fed-back error fixes it on attempt 2
    result, error, bodies, calls = _run(candidate, schema_errors=1)
    got = (
        {
            "service": getattr(result, "service", None),
            "valid severity": getattr(result, "severity", None) in ("sev1", "sev2", "sev3", "sev4"),
        }
        if result is not None
        else None
    )
    yield Case(
        ok=error is None and got == _WANT,
        input="a model that breaks the schema once (Behaviour(schema_errors=1))",
        expected=f"an Incident with {_WANT}",
        got=f"{type(error).__name__}: {str(error)[:80]}" if error else str(got),
        hint="validate with Incident.model_validate(block.input) and retry on ValidationError",
    )
    yield Case(
        ok=calls == 2,
        input="upstream calls for a model that breaks the schema once",
        expected="2 (the failed attempt and one corrected retry)",
        got=str(calls),
        hint="stop at the first valid answer; a blind retry repeats the same mistake",
    )
    first = bodies[0] if bodies else {}
    choice = first.get("tool_choice") or {}
    yield Case(
        ok=choice.get("type") == "tool" and bool(first.get("tools")),
        input="the first request's tool_choice",
        expected='{"type": "tool", "name": <your tool>} with the tool declared in tools',
        got=json.dumps(choice),
        hint="force the tool so the answer is always a schema-shaped tool_use block",
    )
    second = bodies[1] if len(bodies) > 1 else {"messages": [{}]}
    results = _error_results(second)
    ids = _tool_use_ids(second)
    flagged = [r for r in results if r.get("is_error") is True]
    yield Case(
        ok=bool(flagged),
        input="the retry request's last user message",
        expected='a tool_result block with "is_error": true carrying the validation message',
        got=json.dumps(results)[:160] or "no tool_result",
        hint="append the assistant's tool_use turn, then a user tool_result with is_error=True",
    )
    yield Case(
        ok=bool(flagged) and all(r.get("tool_use_id") in ids for r in flagged) and bool(ids),
        input="the retry's tool_result.tool_use_id",
        expected=f"the id of the tool_use it answers ({ids[0] if ids else '?'})",
        got=str([r.get("tool_use_id") for r in results]),
        hint="copy block.id of the tool_use you are answering",
    )
    text = json.dumps(flagged)
    yield Case(
        ok="validation error" in text.lower()
        or "input should be" in text.lower()
        or "field required" in text.lower(),
        input="the tool_result's content",
        expected="the Pydantic validation message (what was wrong, so the model can fix it)",
        got=text[:120] or "nothing",
        hint="put str(exc) of the ValidationError in the tool_result content",
    )
    # 2) a model that never complies: a typed failure after exactly max_attempts calls
    result, error, bodies, calls = _run(candidate, schema_errors=5)
    yield Case(
        ok=isinstance(error, StructuredOutputError),
        input="a model that never complies (Behaviour(schema_errors=5)), max_attempts=3",
        expected="llmlab.StructuredOutputError",
        got=type(error).__name__ if error else f"returned {result!r}"[:100],
        hint="after the last attempt raise StructuredOutputError(...) from the ValidationError",
    )
    yield Case(
        ok=calls == 3,
        input="upstream calls for a model that never complies, max_attempts=3",
        expected="3",
        got=str(calls),
        hint="count attempts: at most max_attempts calls, then give up",
    )
