"""Anthropic extended thinking and structured outputs, through the installed SDK.

In-process (``sim``) and over HTTP (``sim_server``); both SDK generations have ``thinking`` on
``messages.create`` and ``messages.parse(output_format=Model)``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, Literal

import anthropic
import jsonschema
import pydantic
import pytest

from llmlab.sim.testing import SimServer

MODEL = "claude-sonnet-4-6"
ASK = [{"role": "user", "content": "Checkout is down for all customers since 09:00."}]
THINK = {"type": "enabled", "budget_tokens": 2000}


class Triage(pydantic.BaseModel):
    severity: Literal["sev1", "sev2", "sev3", "sev4"]
    service: str
    summary: str
    needs_human: bool
    tags: list[str]


@pytest.fixture(params=["in-process", "http"])
def client(request: pytest.FixtureRequest) -> Iterator[anthropic.Anthropic]:
    if request.param == "http":
        server: SimServer = request.getfixturevalue("sim_server")
        yield anthropic.Anthropic(api_key="test", base_url=server.anthropic_base_url)
    else:
        request.getfixturevalue("sim")
        yield anthropic.Anthropic(api_key="test")


def test_thinking_gives_a_signed_block_billed_as_output(client: anthropic.Anthropic) -> None:
    plain = client.messages.create(model=MODEL, max_tokens=3000, messages=ASK)  # type: ignore[arg-type]
    reply = client.messages.create(
        model=MODEL,
        max_tokens=3000,
        messages=ASK,  # type: ignore[arg-type]
        thinking=THINK,  # type: ignore[arg-type]
    )
    assert [b.type for b in reply.content][:2] == ["thinking", "text"]
    block = reply.content[0]
    assert block.type == "thinking" and block.thinking and block.signature
    thought = len(block.thinking.split())
    assert reply.usage.output_tokens > thought // 2
    assert plain.content[0].type == "text"


def test_streamed_thinking_has_thinking_and_signature_deltas(client: anthropic.Anthropic) -> None:
    with client.messages.stream(
        model=MODEL,
        max_tokens=3000,
        messages=ASK,  # type: ignore[arg-type]
        thinking=THINK,  # type: ignore[arg-type]
    ) as stream:
        kinds = [e.delta.type for e in stream if e.type == "content_block_delta"]
        final = stream.get_final_message()
    assert kinds[0] == "thinking_delta" and "signature_delta" in kinds and "text_delta" in kinds
    assert kinds.index("signature_delta") < kinds.index("text_delta")
    first = final.content[0]
    assert first.type == "thinking" and first.signature and first.thinking


def test_omitted_display_keeps_the_signature(client: anthropic.Anthropic) -> None:
    reply = client.messages.create(
        model=MODEL,
        max_tokens=3000,
        messages=ASK,  # type: ignore[arg-type]
        thinking={**THINK, "display": "omitted"},  # type: ignore[arg-type]
    )
    block = reply.content[0]
    assert block.type == "thinking" and block.thinking == "" and block.signature


@pytest.mark.parametrize(
    ("thinking", "max_tokens", "needle"),
    [
        ({"type": "enabled", "budget_tokens": 1000}, 3000, "budget_tokens"),
        ({"type": "enabled", "budget_tokens": 3000}, 3000, "max_tokens"),
        ({"type": "enabled"}, 3000, "budget_tokens"),
        ({"type": "sometimes"}, 3000, "thinking.type"),
    ],
)
def test_budget_rules(
    client: anthropic.Anthropic, thinking: dict[str, Any], max_tokens: int, needle: str
) -> None:
    with pytest.raises(anthropic.BadRequestError) as err:
        client.messages.create(
            model=MODEL,
            max_tokens=max_tokens,
            messages=ASK,  # type: ignore[arg-type]
            thinking=thinking,  # type: ignore[arg-type]
        )
    assert needle in str(err.value)


@pytest.mark.parametrize("kind", ["disabled", "adaptive"])
def test_other_thinking_types(client: anthropic.Anthropic, kind: str) -> None:
    reply = client.messages.create(
        model=MODEL,
        max_tokens=3000,
        messages=ASK,  # type: ignore[arg-type]
        thinking={"type": kind},  # type: ignore[arg-type]
    )
    types = [b.type for b in reply.content]
    assert ("thinking" in types) == (kind == "adaptive")


def test_parse_with_a_pydantic_model(client: anthropic.Anthropic) -> None:
    parsed = client.messages.parse(
        model=MODEL,
        max_tokens=500,
        messages=ASK,  # type: ignore[arg-type]
        output_format=Triage,
    )
    out = parsed.parsed_output
    assert isinstance(out, Triage) and out.service == "checkout" and out.severity == "sev1"


def test_streamed_structured_output_is_valid_json(client: anthropic.Anthropic) -> None:
    schema = {
        "type": "object",
        "properties": {
            "service": {"type": "string"},
            "when": {"type": "string", "format": "date-time"},
            "impact": {"anyOf": [{"type": "string"}, {"type": "null"}]},
        },
        "required": ["service", "when", "impact"],
        "additionalProperties": False,
    }
    with client.messages.stream(
        model=MODEL,
        max_tokens=500,
        messages=ASK,  # type: ignore[arg-type]
        extra_body={"output_config": {"format": {"type": "json_schema", "schema": schema}}},
    ) as stream:
        text = stream.get_final_text()
    value = json.loads(text)
    jsonschema.validate(value, schema, format_checker=jsonschema.FormatChecker())


@pytest.mark.parametrize(
    ("schema", "needle"),
    [
        ({"type": "object", "properties": {"n": {"type": "integer"}}}, "additionalProperties"),
        (
            {
                "type": "object",
                "properties": {"n": {"type": "integer", "minimum": 1}},
                "additionalProperties": False,
            },
            "properties.n: For 'integer' type, property 'minimum'",
        ),
        (
            {
                "type": "object",
                "properties": {"s": {"type": "string", "maxLength": 5}},
                "additionalProperties": False,
            },
            "'maxLength'",
        ),
        (
            {
                "type": "object",
                "properties": {"a": {"type": "array", "items": {}, "minItems": 2}},
                "additionalProperties": False,
            },
            "minItems",
        ),
        ({"type": "array", "items": {"type": "string"}}, "root"),
    ],
)
def test_unsupported_schemas_are_refused(
    client: anthropic.Anthropic, schema: dict[str, Any], needle: str
) -> None:
    with pytest.raises(anthropic.BadRequestError) as err:
        client.messages.create(
            model=MODEL,
            max_tokens=100,
            messages=ASK,  # type: ignore[arg-type]
            extra_body={"output_config": {"format": {"type": "json_schema", "schema": schema}}},
        )
    assert needle in str(err.value)


def test_models_pass_strict_validation(request: pytest.FixtureRequest) -> None:
    """/v1/models and /v1/models/{id} parse under the SDK's strict response validation."""
    for where in ("in-process", "http"):
        base_url = None
        if where == "http":
            base_url = request.getfixturevalue("sim_server").anthropic_base_url
        else:
            request.getfixturevalue("sim")
        client = anthropic.Anthropic(
            api_key="test", base_url=base_url, _strict_response_validation=True
        )
        ids = [m.id for m in client.models.list()]
        assert MODEL in ids
        assert client.models.retrieve(MODEL).id == MODEL
        reply = client.messages.create(
            model=MODEL,
            max_tokens=3000,
            messages=ASK,  # type: ignore[arg-type]
            thinking=THINK,  # type: ignore[arg-type]
        )
        assert reply.content[0].type == "thinking"
