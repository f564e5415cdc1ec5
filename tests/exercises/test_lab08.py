"""Lab 08 checker: the reference breaker passes; textbook mistakes fail; a stub is not attempted."""

from __future__ import annotations

from typing import Any

import pytest

from llmlab import CircuitOpenError
from llmlab.check import run
from llmlab.reference.breaker import CircuitBreaker


class TwoProbes(CircuitBreaker):
    """Lets every before_call through in half-open (no single-probe guard)."""

    def before_call(self) -> None:
        if self.state == "open":
            raise CircuitOpenError("open")
        if self.state == "half_open":
            self._state = "half_open"


class NeverHalfOpens(CircuitBreaker):
    @property
    def state(self) -> str:
        return self._state


class OpensAfterFour(CircuitBreaker):
    def record_failure(self) -> None:
        self._failures += 1  # counts first, then compares with the threshold minus one
        if self._state == "half_open" or self._failures >= self.threshold - 1:
            self._open()


class CountsNonConsecutive(CircuitBreaker):
    def record_success(self) -> None:
        self._state = "closed"
        self._probe_in_flight = False  # forgets to reset the failure count


class ResetsCountOnOpen(CircuitBreaker):
    """Resets the count when opening and treats a failed probe like any other failure."""

    def record_failure(self) -> None:
        self._probe_in_flight = False
        self._failures += 1
        if self._failures >= self.threshold:
            self._failures = 0
            self._open()

    def _open(self) -> None:
        self._state = "open"
        self._opened_at = self.clock()


class StaysOpenAfterProbe(CircuitBreaker):
    def record_success(self) -> None:
        if self._state == "closed":
            self._failures = 0


@pytest.mark.parametrize(
    "wrong",
    [
        TwoProbes,
        NeverHalfOpens,
        OpensAfterFour,
        CountsNonConsecutive,
        ResetsCountOnOpen,
        StaysOpenAfterProbe,
    ],
)
def test_breaker_rejects(wrong: Any) -> None:
    assert not run("08.CircuitBreaker", wrong).passed


def test_reference_passes() -> None:
    assert run("08.CircuitBreaker", CircuitBreaker).passed


def test_stub_not_attempted() -> None:
    class Stub:
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            raise NotImplementedError

    result = run("08.CircuitBreaker", Stub)
    assert not result.attempted


class FailsFastWhileClosed(CircuitBreaker):
    """Counts failures right but refuses calls once two failures are on the books."""

    def before_call(self) -> None:
        if self._failures >= 2:
            raise CircuitOpenError("too many failures")  # while still closed
        super().before_call()


def test_circuit_open_error_reports_step_and_line() -> None:
    report = run("08.CircuitBreaker", FailsFastWhileClosed).report()
    assert "raised CircuitOpenError: too many failures" in report, report
    assert "4 failures, 1 success, 4 failures" in report
    assert 'raise CircuitOpenError("too many failures")' in report
