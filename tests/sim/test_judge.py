"""The simulated judge (lab 13): one-word verdicts through the real SDK, with documented biases."""

from __future__ import annotations

import openai

from llmlab.reference.evals import grading_prompt, pairwise_prompt
from llmlab.sim import Simulator
from llmlab.sim.model._judge import BIASES

REPORT = "Checkout is down for all customers: every order fails with an error."
MIXED = "Search is slow for many customers, but a workaround exists and retries succeed."


def _ask(model: str, prompt: str) -> str:
    r = openai.OpenAI(api_key="test").chat.completions.create(
        model=model, temperature=0, max_tokens=5, messages=[{"role": "user", "content": prompt}]
    )
    return (r.choices[0].message.content or "").strip()


def test_grading_passes_the_judges_own_severity(sim: Simulator) -> None:
    assert _ask("gpt-4.1", grading_prompt(REPORT, "severity sev1")) == "PASS"
    assert _ask("gpt-4.1", grading_prompt(REPORT, "severity sev4")) == "FAIL"


def test_pairwise_picks_the_better_answer_in_either_order(sim: Simulator) -> None:
    assert _ask("gpt-4.1", pairwise_prompt(REPORT, "severity sev1", "severity sev4")) == "A"
    assert _ask("gpt-4.1", pairwise_prompt(REPORT, "severity sev4", "severity sev1")) == "B"


def test_a_cheap_judge_prefers_a_padded_wrong_answer(sim: Simulator) -> None:
    pad = "severity sev4. Reasoning: " + "I weighed every factor of this incident. " * 8
    assert _ask("gpt-4.1-mini", pairwise_prompt(REPORT, pad, "severity sev1")) == "A"
    assert _ask("gpt-4.1", pairwise_prompt(REPORT, pad, "severity sev1")) == "B"


def test_a_cheap_judge_takes_the_first_answer_when_the_cues_split(sim: Simulator) -> None:
    first = [
        _ask("gpt-4.1-mini", pairwise_prompt(MIXED, a, b))
        for a, b in [("severity sev2", "severity sev3"), ("severity sev3", "severity sev2")]
    ]
    assert first == ["A", "A"]
    assert BIASES["cheap"][0] > BIASES["strong"][0] and BIASES["cheap"][1] > BIASES["strong"][1]


def test_ordinary_prompts_are_not_judged(sim: Simulator) -> None:
    text = _ask("gpt-4.1-mini", "Write a status update. Answer in one line.")
    assert text not in ("A", "B", "PASS", "FAIL")
