"""A checker's own ``mock()`` must win over a notebook's ``llmlab.setup()`` while it is active."""

from __future__ import annotations

import anthropic
import pytest

from llmlab.check import get, run
from llmlab.sim import FaultPlan, Simulator, mock


def _call() -> None:
    anthropic.Anthropic(api_key="test", max_retries=0).messages.create(
        model="claude-sonnet-4-6", max_tokens=5, messages=[{"role": "user", "content": "hi"}]
    )


def test_innermost_mock_answers_and_outer_resumes() -> None:
    outer, inner = Simulator(seed=1, time_scale=0.001), Simulator(seed=2, time_scale=0.001)
    with mock(sim=outer):
        _call()
        with mock(sim=inner):
            _call()
            _call()
        _call()
    assert (outer.upstream_calls, inner.upstream_calls) == (2, 2)


@pytest.mark.parametrize(
    "exercise_id", ["05.validate_and_retry", "07.retry_call", "08.CircuitBreaker"]
)
def test_sdk_driven_checkers_use_their_own_simulator(exercise_id: str) -> None:
    # The "notebook" simulator fails every call: a checker that leaked to it could not pass.
    notebook = Simulator(seed=0, time_scale=0.001, faults=FaultPlan.random({"500": 1.0}))
    with mock(sim=notebook):
        result = run(exercise_id, get(exercise_id).reference)
    assert result.passed, result.report()
    assert notebook.upstream_calls == 0
