"""Structured output (lab 05): one Pydantic model as the schema, a forced tool, a retry loop.

The model's output is parsed and validated twice: *shape* (Pydantic: types, enums, lengths) and
*business* (data/triage_policy.md: rules that need the report, e.g. a named customer pages a
human). Both failures are fed back to the model as an ``is_error`` tool_result; after
``max_attempts`` the caller gets a typed :class:`~llmlab.StructuredOutputError`, never junk.
"""

from __future__ import annotations

import json
import re
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, ValidationInfo, model_validator

from llmlab._exceptions import StructuredOutputError

Severity = Literal["sev1", "sev2", "sev3", "sev4"]
Service = Literal[
    "checkout",
    "payments",
    "auth",
    "search",
    "inventory",
    "notifications",
    "api-gateway",
    "database",
]
TOOL_NAME = "record_incident"
CUSTOMERS = ("Kestrel Logistics", "Bluefin Market", "Orchard Lane Foods", "Tallgrass Supply Co.")


class Incident(BaseModel):
    """A triaged incident: the single source of the schema (``Incident.model_json_schema()``)."""

    severity: Severity = Field(description="sev1 outage/data loss/breach ... sev4 cosmetic")
    service: Service = Field(description="the affected Northwind service")
    summary: str = Field(min_length=1, max_length=120, description="one line, no secrets")
    needs_human: bool = Field(description="page the on-call engineer now")


def policy_violations(report: str, incident: Incident) -> list[str]:
    """Business rules R5-R8 of data/triage_policy.md that ``incident`` breaks (empty: none).

    Shape rules R1-R4 are Pydantic's job; these need the report, which the schema cannot see.
    """
    low = report.lower()
    named = [c for c in CUSTOMERS if c.lower() in low]
    out = []
    if incident.severity in ("sev1", "sev2") and not incident.needs_human:
        out.append(f"R5: severity {incident.severity} means needs_human must be true")
    if re.search(r"data loss|breach", low) and incident.severity not in ("sev1", "sev2"):
        out.append("R6: the report mentions data loss or a breach, so severity must be sev1")
    sensitive = re.search(r"security|data loss|breach", low)
    if (sensitive or named) and not incident.needs_human:
        why = f"names a customer ({named[0]})" if named else f"mentions {sensitive.group(0)}"  # type: ignore[union-attr]
        out.append(f"R7: the report {why}, so needs_human must be true")
    if incident.severity == "sev4" and incident.needs_human and not named:
        out.append("R8: sev4 never pages, so needs_human must be false")
    return out


class TriagedIncident(Incident):
    """An :class:`Incident` that also obeys the policy; pass the report as validation context.

    ``TriagedIncident.model_validate(data, context={"report": report})`` (instructor:
    ``context={"report": report}``) raises ``ValidationError`` for valid JSON that breaks a rule.
    """

    @model_validator(mode="after")
    def _obey_policy(self, info: ValidationInfo) -> TriagedIncident:
        report = (info.context or {}).get("report", "")
        problems = policy_violations(report, self)
        if problems:
            raise ValueError("; ".join(problems))
        return self


def validate_or_feedback(
    schema: type[BaseModel], arguments: dict[str, Any], context: dict[str, Any] | None = None
) -> tuple[BaseModel | None, str | None]:
    """``(instance, None)`` if ``arguments`` validate as ``schema``, else ``(None, feedback)``.

    ``context`` reaches the schema's validators (a policy rule that needs the report). The
    feedback names every failing field and rule (Pydantic's own message, as instructor sends
    it): the text of the ``is_error`` tool result that asks the model to fix its answer.
    """
    try:
        return schema.model_validate(arguments, context=dict(context or {})), None
    except ValidationError as exc:
        return None, f"Validation Error found:\n{exc}\nFix the errors and call again."


def incident_tool(model: type[BaseModel] = Incident) -> dict[str, Any]:
    """The Anthropic tool whose ``input_schema`` is ``model``'s JSON schema (one source)."""
    return {
        "name": TOOL_NAME,
        "description": "Record the triage of one incident report.",
        "input_schema": model.model_json_schema(),
    }


def extract_incident(
    client: Any,
    report: str,
    *,
    model: str,
    max_attempts: int = 3,
    log: list[str] | None = None,
) -> Incident:
    """Triage ``report`` with a forced ``record_incident`` tool; validate; feed errors back.

    ``client`` is an ``anthropic.Anthropic``. Each failed attempt appends the assistant's
    tool_use turn and a user tool_result (same ``tool_use_id``, ``is_error: True``, the
    validation message) and calls again. At most ``max_attempts`` calls; then
    :class:`~llmlab.StructuredOutputError` (chained to the last ``ValidationError``).
    ``log`` (if given) receives one line per failed attempt.
    """
    messages: list[dict[str, Any]] = [{"role": "user", "content": report}]
    last: ValidationError | None = None
    for attempt in range(1, max_attempts + 1):
        response = client.messages.create(
            model=model,
            max_tokens=512,  # no temperature: anthropic 2.x rejects sampling parameters
            system="Triage the incident report with the record_incident tool.",
            tools=[incident_tool()],
            tool_choice={"type": "tool", "name": TOOL_NAME},
            messages=messages,
        )
        block = next(b for b in response.content if b.type == "tool_use")
        try:
            return Incident.model_validate(block.input)
        except ValidationError as exc:
            last = exc
            if log is not None:
                log.append(f"attempt {attempt}: {exc.error_count()} validation error(s): {exc}")
            messages.append({"role": "assistant", "content": response.content})
            messages.append(
                {
                    "role": "user",
                    "content": [
                        {
                            "type": "tool_result",
                            "tool_use_id": block.id,
                            "is_error": True,
                            "content": f"{exc}\nFix the errors and call {TOOL_NAME} again.",
                        }
                    ],
                }
            )
    raise StructuredOutputError(
        f"no valid Incident after {max_attempts} attempts: {json.dumps(str(last))[:200]}"
    ) from last
