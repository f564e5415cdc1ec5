"""The triage regression gate (lab 13): CI runs the labelled eval set and fails on a real drop.

The current triage pipeline (the reference ``LLMClient``, ``gpt-4.1-mini``, the ``Incident``
schema) is run on ``data/triage_eval.jsonl`` and compared, case by case, with the stored
baseline ``data/triage_eval_baseline.json``: the gate fails when the bootstrap says, with 95 %
confidence (one-sided), that the accuracy dropped. After an intended change of the model's
behaviour, re-measure the baseline with ``python -m tests.test_eval_gate`` and commit it.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Callable

import openai

import llmlab
from llmlab.reference.client import LLMClient
from llmlab.reference.evals import load_eval_set, regression_gate, triage_correct
from llmlab.sim import mock

BASELINE = llmlab.data_dir() / "triage_eval_baseline.json"
MODEL = "gpt-4.1-mini"


def _run(prepare: Callable[[str], str] | None = None) -> list[bool]:
    cases = load_eval_set(llmlab.data_dir() / "triage_eval.jsonl")
    with mock(seed=13, time_scale=0.01):
        client = LLMClient(openai=openai.AsyncOpenAI(api_key="test"), models={"openai": MODEL})
        return asyncio.run(triage_correct(client, cases, prepare))


def _baseline() -> list[bool]:
    stored = json.loads(BASELINE.read_text())
    cases = load_eval_set(llmlab.data_dir() / "triage_eval.jsonl")
    assert stored["model"] == MODEL and set(stored["correct"]) == {c["id"] for c in cases}
    return [stored["correct"][c["id"]] for c in cases]


def test_the_current_pipeline_passes_the_gate() -> None:
    passed, (low, high) = regression_gate(_run(), _baseline())
    assert passed, f"triage accuracy dropped: change in [{low:+.3f}, {high:+.3f}]"


def test_the_gate_catches_a_real_regression() -> None:
    # reports cut to 25 characters "to save tokens": about 13 points lost on the same cases
    passed, (low, high) = regression_gate(_run(lambda report: report[:25]), _baseline())
    assert not passed and high < 0, (low, high)


if __name__ == "__main__":
    cases = load_eval_set(llmlab.data_dir() / "triage_eval.jsonl")
    correct = _run()
    body = {
        "model": MODEL,
        "pipeline": "llmlab.reference.evals.triage_correct, simulator seed 13",
        "accuracy": round(sum(correct) / len(correct), 4),
        "correct": {c["id"]: ok for c, ok in zip(cases, correct, strict=True)},
    }
    BASELINE.write_text(json.dumps(body, indent=1) + "\n")
    print(f"wrote {BASELINE}: accuracy {body['accuracy']}", file=sys.stderr)
