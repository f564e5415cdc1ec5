"""The simulator's structured and tool skills: calibrated triage, stubborn schema errors, tools."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import numpy as np
import openai

from llmlab import data_dir
from llmlab.sim import Behaviour, Simulator, mock
from llmlab.sim.model._skills import pick_severity, services_in

_MODEL = "claude-sonnet-4-6"
_TOOL = {
    "name": "record_incident",
    "description": "Record a triage.",
    "input_schema": {
        "type": "object",
        "properties": {
            "severity": {"type": "string", "enum": ["sev1", "sev2", "sev3", "sev4"]},
            "service": {"type": "string"},
            "needs_human": {"type": "boolean"},
        },
        "required": ["severity", "service", "needs_human"],
    },
}


def _rows() -> list[dict[str, Any]]:
    lines = (data_dir() / "incident_reports.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def test_clear_reports_are_right_at_temperature_zero() -> None:
    rng = np.random.default_rng(0)
    for row in _rows():
        if row["ambiguous"]:
            continue
        assert pick_severity(row["report"], 0, rng) == row["severity"], row["id"]
        assert services_in(row["report"])[0] == row["service"], row["id"]


def _forced(client: anthropic.Anthropic, messages: list[dict[str, Any]]) -> Any:
    return client.messages.create(
        model=_MODEL,
        max_tokens=300,
        tools=[_TOOL],
        tool_choice={"type": "tool", "name": "record_incident"},
        messages=messages,
    )


def test_schema_errors_repeat_on_blind_retry_and_yield_to_feedback() -> None:
    report = "Checkout is down for all customers."
    with mock(seed=1, time_scale=0.001, behaviour=Behaviour(schema_errors=1)):
        client = anthropic.Anthropic(api_key="sk-ant-llmlab-simulated", max_retries=0)
        first = _forced(client, [{"role": "user", "content": report}]).content[0]
        blind = _forced(client, [{"role": "user", "content": report}]).content[0]
        assert first.input != {"severity": "sev1", "service": "checkout", "needs_human": True}
        assert blind.input != {"severity": "sev1", "service": "checkout", "needs_human": True}
        fixed = _forced(
            client,
            [
                {"role": "user", "content": report},
                {"role": "assistant", "content": [first]},
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": first.id,
                            "is_error": True,
                            "content": "1 validation error: fix the errors",
                        }
                    ],
                },
            ],
        ).content[0]
        assert fixed.input == {"severity": "sev1", "service": "checkout", "needs_human": True}


def test_explicit_corrections_are_followed() -> None:
    report = "Kestrel Logistics sees a typo on the internal dashboard; cosmetic only."
    with mock(seed=1, time_scale=0.001):
        client = anthropic.Anthropic(api_key="sk-ant-llmlab-simulated", max_retries=0)
        first = _forced(client, [{"role": "user", "content": report}]).content[0]
        assert first.input["needs_human"] is False  # the skill does not know the customers
        again = _forced(
            client,
            [
                {"role": "user", "content": report},
                {"role": "assistant", "content": [first]},
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": first.id,
                            "is_error": True,
                            "content": "Validation error: R7: needs_human must be true",
                        }
                    ],
                },
            ],
        ).content[0]
        assert again.input["needs_human"] is True


def test_openai_tool_errors_in_words_let_the_model_recover() -> None:
    tools = [
        {
            "type": "function",
            "function": {
                "name": "get_service_status",
                "description": "Status of a service.",
                "parameters": {
                    "type": "object",
                    "properties": {"service": {"type": "string"}},
                    "required": ["service"],
                },
            },
        }
    ]
    sim = Simulator(seed=2, time_scale=0.001, behaviour=Behaviour(hallucinate_tool=1))
    with mock(sim=sim):
        client = openai.OpenAI(api_key="sk-llmlab-simulated", max_retries=0)
        messages: list[Any] = [{"role": "user", "content": "Check the service status of auth."}]
        first = client.chat.completions.create(model="gpt-4.1-mini", messages=messages, tools=tools)
        call = first.choices[0].message.tool_calls[0]
        assert call.function.name == "run_diagnostics"
        messages += [
            first.choices[0].message.model_dump(exclude_none=True),
            {"role": "tool", "tool_call_id": call.id, "content": "ERROR: unknown tool"},
        ]
        second = client.chat.completions.create(
            model="gpt-4.1-mini", messages=messages, tools=tools
        )
        again = second.choices[0].message.tool_calls[0]
        assert again.function.name == "get_service_status"
        assert json.loads(again.function.arguments) == {"service": "auth"}
