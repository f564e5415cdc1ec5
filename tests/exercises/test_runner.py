"""The checker runner: bounded time, capped output, exceptions at the learner's line, stubs.

Each test hands ``llmlab.check.run`` a plausible broken candidate and asserts the verdict a
learner would need; before the sandbox these hung, flooded the notebook or said too little.
"""

from __future__ import annotations

import signal
import threading
import time
from typing import Any

import pytest

from llmlab.check import get, run
from llmlab.reference.breaker import CircuitBreaker

_ASLEEP: set[threading.Thread] = set()  # workers of the sleep test, still in time.sleep(60)


def _checker_threads() -> list[threading.Thread]:
    return [
        t
        for t in threading.enumerate()
        if t.name == "llmlab-check" and t.is_alive() and t not in _ASLEEP
    ]


def _wait_for_workers(seconds: float = 5.0) -> list[threading.Thread]:
    deadline = time.monotonic() + seconds
    while _checker_threads() and time.monotonic() < deadline:
        time.sleep(0.05)
    return _checker_threads()


def spins(logits: Any, temperature: float = 1.0) -> list[float]:
    total = 0
    while True:  # the learner's endless loop
        total += 1


async def spins_async(call_model: Any, tools: Any, *, max_turns: int = 5) -> Any:
    while True:
        pass


def sleeps(logits: Any, temperature: float = 1.0) -> list[float]:
    time.sleep(60)
    return []


def test_endless_loop_gets_a_verdict_and_stops_spinning() -> None:
    start = time.perf_counter()
    result = run("01.softmax", spins, time_limit=1.5)
    assert time.perf_counter() - start < 4
    report = result.report()
    assert result.attempted and not result.passed
    assert "stopped after 1.5 s" in report and "softmax([2.0, 1.0, 0.1]" in report
    assert "while True:  # the learner's endless loop" in report, report
    assert not _wait_for_workers(), "the spinning worker thread is still running"


def test_endless_async_loop_gets_a_verdict_and_stops_spinning() -> None:
    start = time.perf_counter()
    result = run("06.tool_loop", spins_async, time_limit=1.5)
    assert time.perf_counter() - start < 4
    assert not result.passed and "stopped after 1.5 s" in result.report()
    assert not _wait_for_workers()


def test_default_limit_does_not_wait_for_a_long_sleep() -> None:
    start = time.perf_counter()
    result = run("01.softmax", sleeps)
    elapsed = time.perf_counter() - start
    assert elapsed < 15, f"waited {elapsed:.0f} s for a 60 s sleep"
    assert "time.sleep(60)" in result.report()
    _ASLEEP.update(_checker_threads())  # a sleeping thread holds no core; it dies on waking


def test_interrupt_stops_the_check() -> None:
    main = threading.main_thread().ident
    assert main is not None
    timer = threading.Timer(0.5, lambda: signal.pthread_kill(main, signal.SIGINT))
    timer.start()
    with pytest.raises(KeyboardInterrupt):
        run("01.softmax", spins, time_limit=30)
    assert not _wait_for_workers(), "the interrupted check left its worker running"


def test_huge_print_is_capped() -> None:
    def noisy(logits: Any, temperature: float = 1.0) -> list[float]:
        print("x" * 10_000_000)
        return get("01.softmax").reference(logits, temperature)

    result = run("01.softmax", noisy)
    report = result.report()
    assert result.passed and len(report) < 5_000
    assert "more characters of output not shown" in report


def test_huge_value_is_capped() -> None:
    def huge(logits: Any, temperature: float = 1.0) -> list[float]:
        return [0.5] * 1_000_000

    report = run("01.softmax", huge).report()
    assert len(report) < 5_000 and "more characters not shown" in report


def test_half_written_function_gets_feedback_not_not_attempted() -> None:
    def half(probs: Any, k: int) -> list[float]:
        if k <= 0:
            return list(probs)
        raise NotImplementedError("the k > 0 branch")

    result = run("01.top_k", half)
    assert result.attempted and not result.passed
    assert "NotImplementedError" in result.report()


def test_untouched_stub_with_docstring_is_not_attempted() -> None:
    def stub(lines: Any) -> Any:
        """(event name, parsed JSON data) for every event in an SSE stream's lines."""
        raise NotImplementedError  # YOUR CODE HERE

    assert not run("03.parse_sse", stub).attempted


def test_class_with_some_methods_written_names_the_missing_ones() -> None:
    class Partial(CircuitBreaker):
        def before_call(self) -> None:
            raise NotImplementedError  # YOUR CODE HERE

        def record_failure(self) -> None:
            raise NotImplementedError  # YOUR CODE HERE

    result = run("08.CircuitBreaker", Partial)
    assert result.attempted and not result.passed
    assert "before_call, record_failure" in result.report(), result.report()
