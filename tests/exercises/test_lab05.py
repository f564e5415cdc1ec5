"""05.validate_and_retry: the reference passes; wrong loops fail; a stub is unattempted."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from llmlab import StructuredOutputError
from llmlab.check import run
from llmlab.reference import structured as ref
from llmlab.reference.structured import TOOL_NAME, Incident, incident_tool


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
) -> Incident:
    messages: list[dict[str, Any]] = [{"role": "user", "content": report}]
    attempt = 0
    last: ValidationError | None = None
    while unlimited and attempt < 8 or attempt < max_attempts:
        attempt += 1
        response = client.messages.create(
            model=model,
            max_tokens=512,
            tools=[incident_tool()],
            tool_choice={"type": "tool", "name": TOOL_NAME},
            messages=messages,
        )
        block = next(b for b in response.content if b.type == "tool_use")
        try:
            return Incident.model_validate(block.input)
        except ValidationError as exc:
            last = exc
            if not feedback:
                continue
            result: dict[str, Any] = {
                "type": "tool_result",
                "tool_use_id": "toolu_01wrong" if wrong_id else block.id,
                "content": str(exc),
            }
            if is_error:
                result["is_error"] = True
            messages += [
                {"role": "assistant", "content": response.content},
                {"role": "user", "content": [result]},
            ]
    if raise_validation and last is not None:
        raise last
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
    ],
    ids=["blind-retry", "no-is-error", "unlimited", "raises-validation-error", "wrong-id"],
)
def test_wrong_variants_fail(flags: dict[str, Any]) -> None:
    assert not run("05.validate_and_retry", _variant(**flags)).passed


def test_stub_is_not_attempted() -> None:
    def stub(*args: Any, **kwargs: Any) -> Incident:
        raise NotImplementedError

    result = run("05.validate_and_retry", stub)
    assert not result.attempted and not result.passed
