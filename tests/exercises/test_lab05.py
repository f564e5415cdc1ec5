"""05.validate_and_retry: the reference passes; wrong loops fail; a stub is unattempted."""

from __future__ import annotations

import importlib.metadata
from typing import Any

import pytest
from pydantic import ValidationError

from llmlab import StructuredOutputError
from llmlab.check import run
from llmlab.reference import structured as ref
from llmlab.reference.structured import TOOL_NAME, Incident, incident_tool

from ._helpers import first_hint


def _loop(
    client: Any,
    report: str,
    *,
    model: str,
    max_attempts: int = 3,
    log: list[str] | None = None,
    feedback: bool = True,
    is_error: bool = True,
    unlimited: bool = False,
    raise_validation: bool = False,
    wrong_id: bool = False,
    chain: bool = True,
    write_log: bool = True,
    temperature: bool = False,
    skip_assistant: bool = False,
) -> Incident:
    messages: list[dict[str, Any]] = [{"role": "user", "content": report}]
    attempt = 0
    last: ValidationError | None = None
    while unlimited and attempt < 8 or attempt < max_attempts:
        attempt += 1
        # through extra_body, so the body carries it whichever SDK generation is installed
        extra: dict[str, Any] = {"extra_body": {"temperature": 0}} if temperature else {}
        response = client.messages.create(
            model=model,
            max_tokens=512,
            **extra,
            tools=[incident_tool()],
            tool_choice={"type": "tool", "name": TOOL_NAME},
            messages=messages,
        )
        block = next(b for b in response.content if b.type == "tool_use")
        try:
            return Incident.model_validate(block.input)
        except ValidationError as exc:
            last = exc
            if write_log and log is not None:
                log.append(f"attempt {attempt}: {exc.error_count()} validation error(s)")
            if not feedback:
                continue
            result: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": "toolu_01wrong" if wrong_id else block.id,
                "content": str(exc),
            }
            if is_error:
                result["is_error"] = True
            if not skip_assistant:
                messages.append({"role": "assistant", "content": response.content})
            messages.append({"role": "user", "content": [result]})
    if raise_validation and last is not None:
        raise last
    if chain:
        raise StructuredOutputError("gave up") from last
    raise StructuredOutputError("gave up")


def _variant(**flags: Any) -> Any:
    def candidate(client: Any, report: str, **kw: Any) -> Incident:
        return _loop(client, report, **kw, **flags)

    return candidate


def test_reference_passes() -> None:
    assert run("05.validate_and_retry", ref.extract_incident).passed


@pytest.mark.parametrize(
    "flags",
    [
        {"feedback": False},  # blind retry
        {"is_error": False},  # feedback without is_error
        {"unlimited": True},  # no attempt cap
        {"raise_validation": True},  # the wrong exception type
        {"wrong_id": True},  # tool_result that answers no tool_use
        {"chain": False},  # StructuredOutputError without `from`
        {"write_log": False},  # log never written
        {"temperature": True},  # a sampling parameter anthropic 2.x rejects
        {"skip_assistant": True},  # tool_result with no tool_use turn before it: a 400
    ],
    ids=[
        "blind-retry",
        "no-is-error",
        "unlimited",
        "raises-validation-error",
        "wrong-id",
        "no-raise-from",
        "no-log",
        "temperature",
        "no-assistant-turn",
    ],
)
def test_wrong_variants_fail(flags: dict[str, Any]) -> None:
    assert not run("05.validate_and_retry", _variant(**flags)).passed


#: the installed anthropic sends API version 2023-06-01, which still accepts temperature
SAMPLING_ACCEPTED = int(importlib.metadata.version("anthropic").split(".")[0]) < 2


@pytest.mark.parametrize(
    ("flags", "words"),
    [
        ({"chain": False}, "from last_error"),
        ({"write_log": False}, "append one line to log"),
        ({"temperature": True}, "leave temperature out"),
        ({"is_error": False}, "'is_error': True"),
    ],
    ids=["no-raise-from", "no-log", "temperature", "no-is-error"],
)
def test_one_missing_piece_is_one_failure_named_first(flags: dict[str, Any], words: str) -> None:
    result = run("05.validate_and_retry", _variant(**flags))
    # under API version 2026-10-21 a sampling parameter is a 400 that fails the later cases too
    cascades = flags.get("temperature") and not SAMPLING_ACCEPTED
    assert cascades or len(result.failures) == 1, result.report()
    assert words in first_hint(result), result.report()


def test_api_error_shows_the_providers_message() -> None:
    result = run("05.validate_and_retry", _variant(skip_assistant=True))
    report = result.report()
    assert "BadRequestError: 400 invalid_request_error:" in report, report


def test_stub_is_not_attempted() -> None:
    def stub(*args: Any, **kwargs: Any) -> Incident:
        raise NotImplementedError

    result = run("05.validate_and_retry", stub)
    assert not result.attempted and not result.passed


# -- 05.validate_or_feedback ------------------------------------------------------------------
def vof_uncaught(schema: Any, arguments: dict[str, Any], context: Any = None) -> Any:
    return schema.model_validate(arguments, context=context), None


def vof_no_context(schema: Any, arguments: dict[str, Any], context: Any = None) -> Any:
    try:
        return schema.model_validate(arguments), None
    except ValidationError as exc:
        return None, str(exc)


def vof_first_error_only(schema: Any, arguments: dict[str, Any], context: Any = None) -> Any:
    try:
        return schema.model_validate(arguments, context=context), None
    except ValidationError as exc:
        first = exc.errors()[0]
        return None, f"{'.'.join(map(str, first['loc']))}: {first['msg']}"


def vof_raw_dict(schema: Any, arguments: dict[str, Any], context: Any = None) -> Any:
    try:
        schema.model_validate(arguments, context=context)
    except ValidationError as exc:
        return None, str(exc)
    return arguments, None


def vof_vague(schema: Any, arguments: dict[str, Any], context: Any = None) -> Any:
    try:
        return schema.model_validate(arguments, context=context), None
    except ValidationError:
        return None, "That answer was invalid. Please try again."


@pytest.mark.parametrize(
    ("wrong", "words"),
    [
        (vof_uncaught, "catch ValidationError"),
        (vof_no_context, "pass context= to model_validate"),
        (vof_first_error_only, "name EVERY failing field"),
        (vof_raw_dict, "not the raw dict"),
        (vof_vague, "include the validation error text"),
    ],
    ids=lambda v: getattr(v, "__name__", None),
)
def test_validate_or_feedback_names_the_mistake(wrong: Any, words: str) -> None:
    result = run("05.validate_or_feedback", wrong)
    assert not result.passed and words in first_hint(result), result.report()


def test_validate_or_feedback_reference_passes_stub_not_attempted() -> None:
    from llmlab.reference.structured import validate_or_feedback

    assert run("05.validate_or_feedback", validate_or_feedback).passed

    def stub(schema: Any, arguments: dict[str, Any], context: Any = None) -> Any:
        raise NotImplementedError

    assert not run("05.validate_or_feedback", stub).attempted
