"""Claims of notebook 05, measured through the real SDKs against the simulator."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import instructor
import openai
import pytest
from pydantic import ValidationError

from llmlab import data_dir
from llmlab.reference.structured import (
    Incident,
    TriagedIncident,
    incident_tool,
    policy_violations,
)
from llmlab.sim import Behaviour, mock

_ASK = "Triage the incident report. Reply in JSON with severity, service, summary, needs_human."


def _reports() -> list[dict[str, Any]]:
    lines = (data_dir() / "incident_reports.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_prose_json_often_fails_but_the_forced_tool_always_validates() -> None:
    with mock(seed=5, time_scale=0.001):
        gpt = openai.OpenAI(api_key="sk-llmlab-simulated")
        claude = anthropic.Anthropic(api_key="sk-ant-llmlab-simulated")
        failed = valid = 0
        for row in _reports()[:30]:
            r = gpt.chat.completions.create(
                model="gpt-4.1-mini",
                messages=[
                    {"role": "system", "content": _ASK},
                    {"role": "user", "content": row["report"]},
                ],
            )
            try:
                json.loads(r.choices[0].message.content or "")
            except json.JSONDecodeError:
                failed += 1
            m = claude.messages.create(
                model="claude-sonnet-4-6",
                max_tokens=400,
                tools=[incident_tool()],  # type: ignore[list-item]
                tool_choice={"type": "tool", "name": "record_incident"},
                messages=[{"role": "user", "content": row["report"]}],
            )
            block = next(b for b in m.content if b.type == "tool_use")
            valid += isinstance(Incident.model_validate(block.input), Incident)
        assert failed >= 10  # most prose replies need cleaning before json.loads
        assert valid == 30


def test_truncated_prose_json_does_not_parse() -> None:
    with mock(seed=5, time_scale=0.001):
        gpt = openai.OpenAI(api_key="sk-llmlab-simulated")
        r = gpt.chat.completions.create(
            model="gpt-4.1-mini",
            max_tokens=20,
            messages=[
                {"role": "system", "content": _ASK},
                {"role": "user", "content": _reports()[0]["report"]},
            ],
        )
        assert r.choices[0].finish_reason == "length"
        with pytest.raises(json.JSONDecodeError):
            json.loads(r.choices[0].message.content or "")


@pytest.mark.parametrize("provider", ["anthropic", "openai"])
def test_instructor_retries_once_after_one_schema_error(provider: str) -> None:
    report = _reports()[8]["report"]
    with mock(seed=5, time_scale=0.001, behaviour=Behaviour(schema_errors=1)) as sim:
        seen: list[str] = []
        if provider == "anthropic":
            client = instructor.from_anthropic(anthropic.Anthropic(api_key="sk-ant-x"))
            extra: dict[str, Any] = {"max_tokens": 400, "model": "claude-sonnet-4-6"}
        else:
            client = instructor.from_openai(openai.OpenAI(api_key="sk-x"))
            extra = {"model": "gpt-4.1-mini", "temperature": 0}  # Anthropic has no temperature
        client.on("parse:error", lambda e: seen.append(type(e).__name__))
        out = client.create(
            response_model=Incident,
            max_retries=2,
            messages=[{"role": "user", "content": report}],
            **extra,
        )
        assert (out.severity, out.service) == ("sev2", "payments")
        assert seen == ["ValidationError"]
        assert sim.upstream_calls == 2


def test_valid_shape_can_break_policy_and_context_validation_fixes_it() -> None:
    row = _reports()[19]
    assert row["id"] == "IR-020"
    with mock(seed=5, time_scale=0.001) as sim:
        claude = anthropic.Anthropic(api_key="sk-ant-llmlab-simulated")
        m = claude.messages.create(
            model="claude-sonnet-4-6",
            max_tokens=400,
            tools=[incident_tool()],  # type: ignore[list-item]
            tool_choice={"type": "tool", "name": "record_incident"},
            messages=[{"role": "user", "content": row["report"]}],
        )
        shaped = Incident.model_validate(next(b for b in m.content if b.type == "tool_use").input)
        assert policy_violations(row["report"], shaped)
        with pytest.raises(ValidationError):
            TriagedIncident.model_validate(shaped.model_dump(), context={"report": row["report"]})
        before = sim.upstream_calls
        fixed = instructor.from_anthropic(claude).create(
            model="claude-sonnet-4-6",
            max_tokens=400,
            response_model=TriagedIncident,
            max_retries=2,
            context={"report": row["report"]},
            messages=[{"role": "user", "content": row["report"]}],
        )
        assert fixed.needs_human is True and not policy_violations(row["report"], fixed)
        assert sim.upstream_calls - before == 2
