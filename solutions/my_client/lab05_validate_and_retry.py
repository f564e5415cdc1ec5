"""Your 05.validate_and_retry, kept by llmlab.check when it passed: edit the notebook, not this file."""

import llmlab
from pydantic import BaseModel
from pydantic import Field
from pydantic_core import ValidationError
from typing import Literal

TOOL = {'name': 'record_incident', 'description': 'Record the triage of one incident report.', 'input_schema': {'description': 'A triaged incident (the shape rules R1-R4 of data/triage_policy.md).', 'properties': {'severity': {'enum': ['sev1', 'sev2', 'sev3', 'sev4'], 'title': 'Severity', 'type': 'string'}, 'service': {'enum': ['checkout', 'payments', 'auth', 'search', 'inventory', 'notifications', 'api-gateway', 'database'], 'title': 'Service', 'type': 'string'}, 'summary': {'maxLength': 120, 'minLength': 1, 'title': 'Summary', 'type': 'string'}, 'needs_human': {'title': 'Needs Human', 'type': 'boolean'}}, 'required': ['severity', 'service', 'summary', 'needs_human'], 'title': 'Incident', 'type': 'object'}}


class Incident(BaseModel):
    """A triaged incident (the shape rules R1-R4 of data/triage_policy.md)."""

    severity: Literal["sev1", "sev2", "sev3", "sev4"]
    service: Literal["checkout", "payments", "auth", "search", "inventory",
                     "notifications", "api-gateway", "database"]
    summary: str = Field(min_length=1, max_length=120)
    needs_human: bool


def extract_incident(client, report: str, *, model: str, max_attempts: int = 3,
                     log: list[str] | None = None) -> Incident:
    """Forced tool + Pydantic validation + is_error feedback; StructuredOutputError at the end."""
    messages: list[dict[str, Any]] = [{"role": "user", "content": report}]
    last = None
    for attempt in range(1, max_attempts + 1):
        response = client.messages.create(
            model=model, max_tokens=512, tools=[TOOL],
            tool_choice={"type": "tool", "name": "record_incident"}, messages=messages)
        block = next(b for b in response.content if b.type == "tool_use")
        try:
            return Incident.model_validate(block.input)
        except ValidationError as exc:
            last = exc
            if log is not None:
                log.append(f"attempt {attempt}: {str(exc).splitlines()[0]} "
                           f"({exc.errors()[0]['loc'][0]}: {exc.errors()[0]['type']})")
            messages.append({"role": "assistant", "content": response.content})
            messages.append({"role": "user", "content": [{
                "type": "tool_result", "tool_use_id": block.id, "is_error": True,
                "content": f"{exc}\nFix the errors and call record_incident again."}]})
    raise llmlab.StructuredOutputError(
        f"no valid Incident after {max_attempts} attempts") from last


__llmlab_exercise__ = '05.validate_and_retry'
__llmlab_name__ = 'extract_incident'
