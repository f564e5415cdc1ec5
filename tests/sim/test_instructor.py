"""instructor on top of the real SDKs, against the in-process simulator: modes and re-asks."""

from __future__ import annotations

from typing import Literal

import anthropic
import instructor
import openai
import pytest
from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException
from pydantic import BaseModel, Field

from llmlab.sim import Behaviour, Simulator

pytestmark = pytest.mark.filterwarnings("ignore:Anthropic client does not support:UserWarning")
REPORT = "Checkout is down for all customers since 09:00."


class Triage(BaseModel):
    severity: Literal["sev1", "sev2", "sev3", "sev4"]
    service: str
    summary: str = Field(max_length=200)
    needs_human: bool


def _anthropic(mode: instructor.Mode = instructor.Mode.TOOLS) -> instructor.Instructor:
    return instructor.from_anthropic(anthropic.Anthropic(api_key="test", max_retries=0), mode=mode)


def _openai(mode: instructor.Mode) -> instructor.Instructor:
    return instructor.from_openai(openai.OpenAI(api_key="test", max_retries=0), mode=mode)


ANTHROPIC_MODES = [instructor.Mode.TOOLS, instructor.Mode.JSON_SCHEMA]


@pytest.mark.parametrize("mode", ANTHROPIC_MODES)
def test_anthropic_modes(sim: Simulator, mode: instructor.Mode) -> None:
    # JSON_SCHEMA asks for JSON in prose (the system prompt); switch off the prose quirks here
    sim.set_behaviour(Behaviour(prose_json_quirk_rate=0.0))
    out = _anthropic(mode).chat.completions.create(
        model="claude-sonnet-4-6",
        max_tokens=400,
        response_model=Triage,
        messages=[{"role": "user", "content": REPORT}],
    )
    assert out.severity == "sev1" and out.service == "checkout"


@pytest.mark.parametrize("mode", [instructor.Mode.TOOLS, instructor.Mode.JSON_SCHEMA])
def test_openai_modes(sim: Simulator, mode: instructor.Mode) -> None:
    out = _openai(mode).chat.completions.create(
        model="gpt-4.1-mini",
        response_model=Triage,
        messages=[{"role": "user", "content": "Payments are degraded for many customers."}],
        temperature=0,
    )
    assert out.severity == "sev2" and out.service == "payments"


def test_anthropic_reask_recovers(sim: Simulator) -> None:
    # (Anthropic JSON_SCHEMA mode is prose JSON: the skill injects no schema errors there)
    sim.set_behaviour(Behaviour(schema_errors=1))
    client = _anthropic()
    out = client.chat.completions.create(
        model="claude-sonnet-4-6",
        max_tokens=400,
        response_model=Triage,
        messages=[{"role": "user", "content": REPORT}],
        max_retries=2,
    )
    assert isinstance(out, Triage)
    assert sim.upstream_calls == 2  # one violation, one re-ask that is corrected


def test_anthropic_reask_exhausted(sim: Simulator) -> None:
    sim.set_behaviour(Behaviour(schema_errors=5))
    with pytest.raises(InstructorRetryException):
        _anthropic().chat.completions.create(
            model="claude-sonnet-4-6",
            max_tokens=400,
            response_model=Triage,
            messages=[{"role": "user", "content": REPORT}],
            max_retries=0,
        )
    assert sim.upstream_calls == 1


@pytest.mark.parametrize("mode", [instructor.Mode.TOOLS, instructor.Mode.JSON_SCHEMA])
def test_openai_reask_recovers(sim: Simulator, mode: instructor.Mode) -> None:
    sim.set_behaviour(Behaviour(schema_errors=1))
    out = _openai(mode).chat.completions.create(
        model="gpt-4.1-mini",
        response_model=Triage,
        messages=[{"role": "user", "content": REPORT}],
        max_retries=3,
    )
    assert isinstance(out, Triage) and out.service == "checkout"
    assert sim.upstream_calls == 2


def test_anthropic_incomplete_output(sim: Simulator) -> None:
    with pytest.raises(IncompleteOutputException):
        _anthropic().chat.completions.create(
            model="claude-sonnet-4-6",
            max_tokens=5,
            response_model=Triage,
            messages=[{"role": "user", "content": REPORT}],
            max_retries=0,
        )
    assert sim.billing.records[-1].output_tokens == 5


async def test_async_instructor(sim: Simulator) -> None:
    client = instructor.from_anthropic(anthropic.AsyncAnthropic(api_key="test", max_retries=0))
    out = await client.chat.completions.create(
        model="claude-sonnet-4-6",
        max_tokens=400,
        response_model=Triage,
        messages=[{"role": "user", "content": REPORT}],
    )
    assert out.service == "checkout"
