"""Measured claims of lab 13 (evals and judges), re-measured through the real SDKs on a simulator.

The regression gate's own claim (it passes today and catches a 25-character cut) is asserted by
``tests/test_eval_gate.py``, which CI runs as the gate itself.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

import numpy as np
import openai

import llmlab
from llmlab.reference.client import LLMClient
from llmlab.reference.evals import (
    bootstrap_ci,
    grading_prompt,
    judge,
    judge_agreement,
    load_eval_set,
    pairwise_prompt,
    triage_severities,
)
from llmlab.sim import mock

CHEAP, STRONG = "gpt-4.1-mini", "gpt-4.1"
CASES = load_eval_set(llmlab.data_dir() / "triage_eval.jsonl")
LABELS = [c["severity"] for c in CASES]
SEVS = ["sev1", "sev2", "sev3", "sev4"]
PAD = "Reasoning: " + " ".join(["weighed the impact, the customers, the workarounds"] * 8)


def _client(model: str) -> LLMClient:
    return LLMClient(openai=openai.AsyncOpenAI(api_key="test"), models={"openai": model})


def _triage(model: str) -> list[str]:
    with mock(seed=13, time_scale=0.01):
        return asyncio.run(triage_severities(_client(model), CASES))


def test_sixty_cases_leave_an_accuracy_interval_wider_than_15_points() -> None:
    for model in (CHEAP, STRONG):
        ok = [s == y for s, y in zip(_triage(model), LABELS, strict=True)]
        low, high = bootstrap_ci(ok)
        assert low < np.mean(ok) < high and high - low > 0.15, (model, low, high)


def _verdicts(model: str, prompts: Sequence[str]) -> list[str]:
    async def go() -> list[str]:
        client = _client(model)
        return list(await asyncio.gather(*(judge(client, p) for p in prompts)))

    with mock(seed=13, time_scale=0.01):
        return asyncio.run(go())


def test_a_strong_judge_beats_chance_and_self_grading_does_not() -> None:
    cheap = _triage(CHEAP)
    truth = [s == y for s, y in zip(cheap, LABELS, strict=True)]
    prompts = [
        grading_prompt(c["report"], f"severity {s}") for c, s in zip(CASES, cheap, strict=True)
    ]
    strong_pass = [v == "PASS" for v in _verdicts(STRONG, prompts)]
    self_pass = [v == "PASS" for v in _verdicts(CHEAP, prompts)]
    assert judge_agreement(strong_pass, truth) > 0.2
    assert judge_agreement(self_pass, truth) < 0.1 and np.mean(self_pass) > np.mean(truth) + 0.15


def test_the_cheap_judge_is_swayed_by_position_and_by_padding() -> None:
    cheap = _triage(CHEAP)
    wrong = [
        s if s != y else SEVS[(SEVS.index(y) + 1) % 4] for s, y in zip(cheap, LABELS, strict=True)
    ]
    paired = list(range(0, len(CASES), 2))
    right = [f"severity {LABELS[i]}" for i in paired]
    terse = [f"severity {wrong[i]}" for i in paired]
    padded = [f"severity {wrong[i]}. {PAD}" for i in paired]

    def pick(model: str, first: list[str], second: list[str]) -> list[str]:
        prompts = [
            pairwise_prompt(CASES[i]["report"], a, b)
            for i, a, b in zip(paired, first, second, strict=True)
        ]
        return _verdicts(model, prompts)

    rates = {}
    for model in (CHEAP, STRONG):
        ab, ba = pick(model, right, terse), pick(model, terse, right)
        position = np.mean([x == y for x, y in zip(ab, ba, strict=True)])
        pab, pba = pick(model, right, padded), pick(model, padded, right)
        padded_wins = np.mean([x == "B" for x in pab] + [y == "A" for y in pba])
        rates[model] = (position, padded_wins)
    assert rates[CHEAP][0] > rates[STRONG][0]
    assert rates[CHEAP][1] > 0.5 and rates[CHEAP][1] >= 2 * rates[STRONG][1], rates
