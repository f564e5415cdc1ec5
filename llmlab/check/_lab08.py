"""Lab 08 checker: the circuit breaker's textbook acceptance, through the real SDK."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import anthropic

from llmlab._exceptions import CircuitOpenError
from llmlab.check._registry import Case, exercise
from llmlab.check._sandbox import current_case, raised, running, track_mock
from llmlab.reference import breaker as ref
from llmlab.reference.retry import is_retryable
from llmlab.sim import FaultPlan, Simulator, mock

_KEY = "sk-llmlab-checker"  # a dummy key: the checker talks to its own simulator
_MSG = [{"role": "user", "content": "Status of the payments service?"}]


def _allowed(breaker: Any) -> bool:
    """Whether ``before_call()`` let the call through (False if it raised CircuitOpenError)."""
    try:
        breaker.before_call()
    except CircuitOpenError:
        return False
    return True


def _call(breaker: Any, fn: Callable[[], Any]) -> str:
    """One guarded call: 'fast-fail', 'ok' or 'error' (the breaker is told the outcome)."""
    if not _allowed(breaker):
        return "fast-fail"
    try:
        fn()
    except Exception as exc:
        if is_retryable(exc):
            breaker.record_failure()
        else:
            breaker.record_success()
        return "error"
    breaker.record_success()
    return "ok"


Row = tuple[str, str, str, str]  # (step, expected, got, hint)


def _acceptance(candidate: Any, faults: int, rows: list[Row]) -> None:
    """Drive the breaker through the SDK, appending (step, expected, got, hint) rows."""
    running(f"[SDK, {faults} scripted 500s] CircuitBreaker(5, 30.0, clock)")
    clock = ref.FakeClock(1000.0)
    breaker = candidate(5, 30.0, clock)
    sim = Simulator(seed=8, time_scale=0.001, faults=FaultPlan.scripted(["500"] * faults))
    with track_mock(mock(sim=sim)):  # innermost mock wins: the checker's simulator
        client = anthropic.Anthropic(api_key=_KEY, max_retries=0)

        def fn() -> Any:
            return client.messages.create(
                model="claude-sonnet-4-6",
                max_tokens=5,
                messages=_MSG,  # type: ignore[arg-type]
            )

        def row(step: str, want: str, got: str, hint: str) -> None:
            rows.append((f"[SDK, {faults} scripted 500s] {step}", want, got, hint))

        for i in range(1, 6):
            running(f"[SDK, {faults} scripted 500s] failed call {i} of 5 (HTTP 500)")
            outcome = _call(breaker, fn)
            want_state = "open" if i == 5 else "closed"
            row(
                f"failed call {i} of 5 (HTTP 500)",
                f"error, state {want_state!r}",
                f"{outcome}, state {breaker.state!r}",
                "open after exactly `threshold` consecutive failures, not before",
            )
        before = ref.requests_reaching(sim)
        outcome = _call(breaker, fn)
        row(
            "call 6 while open",
            "fast-fail, requests to the provider +0",
            f"{outcome}, requests to the provider +{ref.requests_reaching(sim) - before}",
            "before_call() must raise CircuitOpenError while open, so nothing is sent",
        )
        clock.advance(29.5)  # the breaker opened at the 5th failure, at t=1000
        row(
            "29.5 s after opening",
            "state 'open', before_call raises",
            f"state {breaker.state!r}, before_call {'passes' if _allowed(breaker) else 'raises'}",
            "stay open for the whole reset_seconds",
        )
        # the row above must not have consumed a probe; if it did the next rows show it
        clock.advance(0.5)
        state = breaker.state
        first = _allowed(breaker)
        second = _allowed(breaker)
        row(
            "30 s after opening: two concurrent before_call()",
            "state 'half_open', first passes, second raises",
            f"state {state!r}, first {'passes' if first else 'raises'}, "
            f"second {'passes' if second else 'raises'}",
            "half-open lets exactly one probe through; others fail fast until it reports",
        )
        if not first:
            return
        before = ref.requests_reaching(sim)
        probe_fails = faults > 5
        try:
            fn()
            breaker.record_success()
            probe = "ok"
        except Exception:
            breaker.record_failure()
            probe = "error"
        want = ("error, state 'open'" if probe_fails else "ok, state 'closed'") + ", requests +1"
        row(
            "the probe" + (" (the 6th scripted 500)" if probe_fails else ""),
            want,
            f"{probe}, state {breaker.state!r}, requests +{ref.requests_reaching(sim) - before}",
            "a failed probe re-opens for another reset_seconds; a successful one closes",
        )
        if probe_fails:
            clock.advance(29.0)
            row(
                "29 s after the failed probe",
                "state 'open'",
                f"state {breaker.state!r}",
                "a failed probe restarts the cool-down from the moment it failed",
            )
            clock.advance(1.0)
            row(
                "30 s after the failed probe, probe succeeds",
                "ok, state 'closed'",
                f"{_call(breaker, fn)}, state {breaker.state!r}",
                "the second probe meets a healthy provider: close",
            )
        row(
            "next call after closing",
            "ok",
            _call(breaker, fn),
            "closed lets every call through",
        )


def _fake_counts(candidate: Any, rows: list[Row]) -> None:
    """Pure-clock cases: consecutive counting, custom threshold, count reset after closing."""
    running("CircuitBreaker(threshold=5): 4 failures, 1 success, 4 failures")
    clock = ref.FakeClock()
    b = candidate(threshold=5, reset_seconds=30.0, clock=clock)
    for _ in range(4):
        b.before_call()
        b.record_failure()
    b.before_call()
    b.record_success()
    for _ in range(4):
        b.before_call()
        b.record_failure()
    rows.append(
        (
            "4 failures, 1 success, 4 failures (threshold 5)",
            "state 'closed'",
            f"state {b.state!r}",
            "count CONSECUTIVE failures: a success resets the count",
        )
    )
    running("CircuitBreaker(threshold=3, reset_seconds=10.0): 3 failures")
    b3 = candidate(threshold=3, reset_seconds=10.0, clock=clock)
    states = []
    for _ in range(3):
        b3.before_call()
        b3.record_failure()
        states.append(b3.state)
    rows.append(
        (
            "threshold=3: state after each of 3 failures",
            "['closed', 'closed', 'open']",
            repr(states),
            "use the threshold argument",
        )
    )
    running("threshold=3, 10 s after opening: a successful probe, then 3 failures")
    clock.advance(10.0)
    b3.before_call()
    b3.record_success()
    states = []
    for _ in range(3):
        b3.before_call()
        b3.record_failure()
        states.append(b3.state)
    rows.append(
        (
            "threshold=3, after a successful probe closed it: 3 failures",
            "['closed', 'closed', 'open']",
            repr(states),
            "closing resets the failure count; it takes `threshold` new failures to open",
        )
    )
    running("CircuitBreaker(clock=...) with the defaults: 5 failures")
    default = candidate(clock=clock)
    for _ in range(5):
        default.before_call()
        default.record_failure()
    rows.append(
        (
            "defaults: CircuitBreaker(clock=...) after 5 failures",
            "state 'open'",
            f"state {default.state!r}",
            "the defaults are threshold=5, reset_seconds=30.0",
        )
    )


@exercise(
    "08.CircuitBreaker",
    "CircuitBreaker(threshold: int = 5, reset_seconds: float = 30.0, "
    "clock: Callable[[], float] = time.monotonic); .state, .before_call(), "
    ".record_success(), .record_failure()",
    "closed -> open after `threshold` consecutive failures; fail fast while open; "
    "after reset_seconds one half-open probe; success closes, failure re-opens",
    ref.CircuitBreaker,
    parts=("__init__", "state", "before_call", "record_success", "record_failure"),
)
def _check_breaker(candidate: Any) -> Iterator[Case]:
    groups: list[Callable[[list[Row]], None]] = [
        lambda rows: _fake_counts(candidate, rows),
        lambda rows: _acceptance(candidate, 5, rows),
        lambda rows: _acceptance(candidate, 6, rows),
    ]
    for group in groups:
        rows: list[Row] = []
        try:
            group(rows)
        except Exception as exc:  # judged as the step it interrupted, at the learner's line
            error: Exception | None = exc
        else:
            error = None
        for step, want, got, hint in rows:
            yield Case(ok=want == got, input=step, expected=want, got=got, hint=hint)
        if error is not None:
            yield Case(
                False,
                current_case() or "the breaker",
                "the step to complete without an exception",
                str(raised(error)),
                "before_call() raises CircuitOpenError only while open (or while a half-open "
                "probe is out); closed lets every call through"
                if isinstance(error, CircuitOpenError)
                else "the breaker's methods should not raise here",
            )
