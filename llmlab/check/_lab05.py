"""Lab 05 checker: a hand-written validate-and-retry loop, run through the real anthropic SDK.

The checker opens its own simulator set to violate the schema (``Behaviour(schema_errors=N)``),
records every request body the simulator receives, and checks the conversation the loop built.
Each rule is judged on its own evidence, so one missing piece fails one case, not five.
"""

from __future__ import annotations

import contextlib
import copy
import json
from collections.abc import Iterator
from typing import Any

from pydantic import BaseModel, ValidationError

from llmlab._exceptions import StructuredOutputError
from llmlab.check._registry import Case, exercise
from llmlab.check._sandbox import Raised, call, track_mock
from llmlab.reference import structured as ref
from llmlab.sim import Simulator, mock

_KEY = "sk-ant-llmlab-simulated"  # the checker's own simulator; never a real key
_MODEL = "claude-sonnet-4-6"
_REPORT = (
    "Checkout is completely down. Every customer gets an error when pressing the pay button, "
    "and no orders have been created in the last 15 minutes."
)
_WANT = {"service": "checkout", "valid severity": True}


_SAMPLING = ("temperature", "top_p", "top_k")


class _Recording(Simulator):
    """The checker's simulator, keeping every Messages request body it was sent."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.bodies: list[dict[str, Any]] = []

    def handle(self, request: Any) -> Any:
        if request.path.endswith("/messages"):
            with contextlib.suppress(ValueError):  # a malformed body is the simulator's to answer
                self.bodies.append(json.loads(request.body))
        return super().handle(request)


def _run(
    candidate: Any, schema_errors: int, *, with_log: bool = True
) -> tuple[Any, list[dict[str, Any]], int, list[str]]:
    """(result or Raised, request bodies, upstream calls, log) of one run on a fresh simulator."""
    import anthropic

    from llmlab.sim import Behaviour

    sim = _Recording(seed=7, time_scale=0.001, behaviour=Behaviour(schema_errors=schema_errors))
    log: list[str] = []
    client = anthropic.Anthropic(api_key=_KEY, max_retries=0)
    kwargs: dict[str, Any] = {"model": _MODEL, "max_attempts": 3}
    if with_log:
        kwargs["log"] = log
    label = (
        f"extract_incident(client, report, model={_MODEL!r}, max_attempts=3"
        + (", log=[])" if with_log else ")")
        + f" against Behaviour(schema_errors={schema_errors})"
    )
    with track_mock(mock(sim=sim)):  # innermost mock wins: the checker's simulator
        result = call(label, candidate, client, _REPORT, **kwargs)
    return result, sim.bodies, sim.upstream_calls, log


def _error_results(body: dict[str, Any]) -> list[dict[str, Any]]:
    last = (body.get("messages") or [{}])[-1]
    content = last.get("content")
    if last.get("role") != "user" or not isinstance(content, list):
        return []
    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]


def _tool_use_ids(body: dict[str, Any]) -> list[str]:
    for message in reversed(body.get("messages") or []):
        if message.get("role") == "assistant" and isinstance(message.get("content"), list):
            return [b.get("id") for b in message["content"] if b.get("type") == "tool_use"]
    return []


def _valid(result: Any) -> bool:
    return getattr(result, "service", None) == "checkout" and getattr(result, "severity", None) in (
        "sev1",
        "sev2",
        "sev3",
        "sev4",
    )


@exercise(
    "05.validate_and_retry",
    "extract_incident(client, report: str, *, model: str, max_attempts: int = 3, "
    "log: list[str] | None = None) -> Incident",
    "forced record_incident tool, Pydantic validation, is_error feedback, at most "
    "max_attempts calls, then StructuredOutputError from the last ValidationError",
    ref.extract_incident,
)
def _check_validate_and_retry(candidate: Any) -> Iterator[Case]:
    # 1) one violation: the fed-back error fixes it on attempt 2
    result, bodies, calls, log = _run(candidate, schema_errors=1)
    first = bodies[0] if bodies else {}
    choice = first.get("tool_choice") or {}
    yield Case(
        ok=choice.get("type") == "tool" and bool(first.get("tools")),
        input="the first request's tool_choice",
        expected='{"type": "tool", "name": <your tool>} with the tool declared in tools',
        got=json.dumps(choice) if bodies else "no request was sent",
        hint="force the tool so the answer is always a schema-shaped tool_use block",
    )
    sampled = sorted({k for b in bodies for k in _SAMPLING if k in b})
    yield Case(
        ok=not sampled,
        input="sampling parameters in the Anthropic requests",
        expected="none (no temperature, top_p or top_k)",
        got=", ".join(sampled) or "none",
        hint="leave temperature out of Anthropic calls: anthropic 2.x (API version 2026-10-21) "
        "answers 400 for sampling parameters; the forced tool already fixes the shape",
        diagnosed=bool(sampled),
    )
    label = "a model that breaks the schema once (Behaviour(schema_errors=1))"
    yield Case(
        ok=_valid(result),
        input=label,
        expected="an Incident for service 'checkout'",
        got=str(result) if isinstance(result, Raised) else repr(result)[:200],
        hint="validate with Incident.model_validate(block.input) and retry on ValidationError",
    )
    if isinstance(result, Raised) and not bodies:
        return  # nothing was sent: every later rule would only repeat this failure
    yield Case(
        ok=calls == 2,
        input="upstream calls for a model that breaks the schema once",
        expected="2 (the failed attempt and one corrected retry)",
        got=str(calls),
        hint="stop at the first valid answer"
        if calls > 2
        else "on a ValidationError, feed it back and call again",
    )
    if len(bodies) < 2:
        return
    second = bodies[1]
    results = _error_results(second)
    ids = _tool_use_ids(second)
    yield Case(
        ok=bool(results) and bool(ids),
        input="the retry request's last two messages",
        expected="the assistant's tool_use turn, then a user turn with a tool_result block",
        got=f"{len(ids)} tool_use block(s) in the assistant turn, {len(results)} tool_result(s)",
        hint="append {'role': 'assistant', 'content': response.content}, then a user turn "
        "whose content is [{'type': 'tool_result', ...}]",
    )
    if not results:
        return
    yield Case(
        ok=all(r.get("is_error") is True for r in results),
        input="the retry's tool_result.is_error",
        expected="True (the model must know its call failed)",
        got=str([r.get("is_error") for r in results]),
        hint="set 'is_error': True on the tool_result that carries the validation message",
    )
    yield Case(
        ok=bool(ids) and all(r.get("tool_use_id") in ids for r in results),
        input="the retry's tool_result.tool_use_id",
        expected=f"the id of the tool_use it answers ({ids[0] if ids else '?'})",
        got=str([r.get("tool_use_id") for r in results]),
        hint="copy block.id of the tool_use you are answering",
    )
    text = json.dumps([r.get("content") for r in results]).lower()
    yield Case(
        ok="validation error" in text or "input should be" in text or "field required" in text,
        input="the tool_result's content",
        expected="the Pydantic validation message (what was wrong, so the model can fix it)",
        got=text[:200] or "nothing",
        hint="put str(exc) of the ValidationError in the tool_result content",
    )
    log_ok = len(log) == 1 and all(isinstance(x, str) and x for x in log)
    yield Case(
        ok=log_ok,
        input="log after one failed attempt (log=[] passed in)",
        expected="1 line describing the validation error",
        got=f"{len(log)} lines: {log!r}"[:200],
        hint="append one line to log for each failed attempt (when log is given)",
        diagnosed=not log,
    )
    # 2) log left at its default: nothing to write to
    plain, *_ = _run(candidate, schema_errors=1, with_log=False)
    yield Case(
        ok=_valid(plain),
        input="the same model, log not passed (log=None)",
        expected="an Incident for service 'checkout'",
        got=str(plain) if isinstance(plain, Raised) else repr(plain)[:200],
        hint="log is optional: write to it only `if log is not None`",
    )
    # 3) a model that never complies: a typed failure after exactly max_attempts calls
    result, bodies, calls, log = _run(candidate, schema_errors=5)
    error = result.exc if isinstance(result, Raised) else None
    yield Case(
        ok=isinstance(error, StructuredOutputError),
        input="a model that never complies (Behaviour(schema_errors=5)), max_attempts=3",
        expected="llmlab.StructuredOutputError",
        got=str(result) if error else f"returned {result!r}"[:200],
        hint="after the last attempt raise StructuredOutputError(...) from the ValidationError",
    )
    if isinstance(error, StructuredOutputError):
        yield Case(
            ok=isinstance(error.__cause__, ValidationError),
            input="the StructuredOutputError's __cause__",
            expected="the last pydantic ValidationError (raise ... from exc)",
            got=type(error.__cause__).__name__ if error.__cause__ else "None",
            hint="chain it: `raise StructuredOutputError(...) from last_error`, so the "
            "traceback shows what was invalid",
            diagnosed=error.__cause__ is None,
        )
    yield Case(
        ok=calls == 3,
        input="upstream calls for a model that never complies, max_attempts=3",
        expected="3",
        got=str(calls),
        hint="count attempts: at most max_attempts calls, then give up",
    )
    if log_ok:  # otherwise the case above already said what is wrong with the log
        yield Case(
            ok=len(log) == 3,
            input="log after three failed attempts",
            expected="3 lines, one per failed attempt",
            got=f"{len(log)} lines",
            hint="append one line to log for each failed attempt, the last one included",
        )


# -- 05.validate_or_feedback: the client's structured mode, one answer at a time ---------------
_KESTREL = (
    "Kestrel Logistics asked why the usage graph for their API key on the developer portal shows "
    "last week's numbers."
)
_GOOD = {
    "severity": "sev2",
    "service": "payments",
    "summary": "Card captures time out.",
    "needs_human": True,
}
_FEEDBACK_CASES: list[
    tuple[str, type[BaseModel], dict[str, Any], dict[str, Any] | None, tuple[str, ...]]
] = [
    ("a valid Incident", ref.Incident, _GOOD, None, ()),
    (
        "severity 'critical' (not one of sev1-sev4)",
        ref.Incident,
        {**_GOOD, "severity": "critical"},
        None,
        ("severity",),
    ),
    (
        "two failing fields: severity 'p1' and a 200-character summary",
        ref.Incident,
        {**_GOOD, "severity": "p1", "summary": "x" * 200},
        None,
        ("severity", "summary"),
    ),
    (
        "needs_human missing",
        ref.Incident,
        {k: v for k, v in _GOOD.items() if k != "needs_human"},
        None,
        ("needs_human",),
    ),
    (
        "arguments whose JSON did not parse (as Accumulated.calls() keeps them)",
        ref.Incident,
        {"_unparsable": '{"severity": "sev1", "serv'},
        None,
        ("severity", "service", "summary", "needs_human"),
    ),
    (
        "a TriagedIncident that breaks rule R7 (the report names a customer, nobody paged)",
        ref.TriagedIncident,
        {
            "severity": "sev4",
            "service": "api-gateway",
            "summary": "Stale usage graph.",
            "needs_human": False,
        },
        {"report": _KESTREL},
        ("R7",),
    ),
    (
        "the same customer report, answered with needs_human true",
        ref.TriagedIncident,
        {
            "severity": "sev4",
            "service": "api-gateway",
            "summary": "Stale usage graph.",
            "needs_human": True,
        },
        {"report": _KESTREL},
        (),
    ),
]


def _feedback_case(
    label: str,
    got: Any,
    schema: type[BaseModel],
    arguments: dict[str, Any],
    context: dict[str, Any] | None,
    names: tuple[str, ...],
) -> Case:
    want = (
        "(None, feedback naming " + ", ".join(names) + ")"
        if names
        else f"({schema.__name__}(...), None)"
    )
    if isinstance(got, Raised):
        uncaught = isinstance(got.exc, ValidationError)
        return Case(
            False,
            label,
            want,
            str(got),
            "catch ValidationError and return (None, feedback): the client sends the feedback "
            "back to the model instead of crashing"
            if uncaught
            else "validate with schema.model_validate(arguments, context=...)",
            diagnosed=uncaught,
        )
    if not (isinstance(got, tuple) and len(got) == 2):
        return Case(
            False,
            label,
            want,
            repr(got)[:200],
            "return a pair: (instance, None) or (None, feedback)",
        )
    instance, feedback = got
    if not names:
        right = isinstance(instance, schema) and feedback is None
        if right and instance == schema.model_validate(arguments, context=context):
            return Case(True, label, want, want)
        as_dict = isinstance(instance, dict)
        return Case(
            False,
            label,
            want,
            repr(got)[:200],
            "return the validated instance (schema.model_validate(...)), not the raw dict"
            if as_dict
            else "a valid answer is (the instance, None): no feedback to send",
            diagnosed=as_dict,
        )
    if instance is not None or not isinstance(feedback, str):
        ignored_context = context is not None and isinstance(instance, schema)
        return Case(
            False,
            label,
            want,
            repr(got)[:200],
            "pass context= to model_validate: the policy validator reads the report from it, so "
            "without it a rule breach looks valid"
            if ignored_context
            else "an invalid answer is (None, feedback text)",
            diagnosed=ignored_context,
        )
    missing = [n for n in names if n not in feedback]
    return Case(
        not missing,
        label,
        want,
        f"feedback that does not name {', '.join(missing)}: {feedback[:120]!r}"
        if missing
        else want,
        "name EVERY failing field and rule (str(exc) does): the model fixes only what the feedback "
        "tells it"
        if missing and len(missing) < len(names)
        else "the feedback must say what failed: include the validation error text (str(exc))",
        diagnosed=bool(missing) and len(missing) < len(names),
    )


@exercise(
    "05.validate_or_feedback",
    "validate_or_feedback(schema: type[BaseModel], arguments: dict, context: dict | None = None) "
    "-> tuple[BaseModel | None, str | None]",
    "(schema instance, None) when arguments validate (context passed to the validators); "
    "(None, feedback naming every failing field and rule) when not; never raise for bad answers",
    ref.validate_or_feedback,
)
def _check_validate_or_feedback(candidate: Any) -> Iterator[Case]:
    for what, schema, arguments, context, names in _FEEDBACK_CASES:
        ctx = "" if context is None else ", context={'report': ...}"
        label = f"validate_or_feedback({schema.__name__}, arguments{ctx}) for {what}"
        given = copy.deepcopy(arguments)
        got = call(label, candidate, schema, given, copy.deepcopy(context))
        yield _feedback_case(label, got, schema, arguments, context, names)
