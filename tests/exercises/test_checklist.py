"""The capstone's pre-merge checklist ticks a sound client and catches broken ones."""

from __future__ import annotations

import json
from typing import Any

import anthropic
import openai
import pytest

import llmlab
from llmlab.check import checklist
from llmlab.reference.client import LLMClient

EVAL = [
    json.loads(line)
    for line in (llmlab.data_dir() / "incident_reports.jsonl").read_text().splitlines()
][20:40]


def sound(**overrides: Any) -> LLMClient:
    settings: dict[str, Any] = dict(
        anthropic=anthropic.AsyncAnthropic(api_key="k"),
        openai=openai.AsyncOpenAI(api_key="k"),
        timeout=2.0,
        backoff_base=0.01,
        backoff_cap=0.1,
    )
    return LLMClient(**{**settings, **overrides})


def test_a_sound_client_ticks_every_item(capsys: pytest.CaptureFixture[str]) -> None:
    result = checklist(sound, EVAL)
    assert result.passed, result.report()
    assert len(result.items) == 12
    assert "12/12 ticked" in capsys.readouterr().out


def verdicts(make: Any, eval_set: Any = EVAL) -> dict[str, bool]:
    return {name: ok for name, ok, _ in checklist(make, eval_set).items}


def test_a_client_that_never_retries_loses_retry_breaker_and_ledger_items() -> None:
    got = verdicts(lambda **o: sound(**o, is_infra=lambda exc: False))
    assert not got["retry with jitter"]
    assert not got["breaker per provider, with failover"]
    assert got["explicit limits; sampling only where the API has it"] and got["tool-loop cap"]


def test_a_factory_that_drops_the_overrides_is_caught() -> None:
    def stubborn(**_overrides: Any) -> LLMClient:  # builds its own ledger-less client
        return sound()

    got = verdicts(stubborn)
    assert not got["ledger matches the bill"]
    assert not got["budgets refuse before the call"]
    assert not got["redaction at the boundary"]


def test_a_missing_eval_set_is_not_ticked() -> None:
    got = verdicts(sound, eval_set=EVAL[:5])
    assert not got["an eval set"]
