"""A circuit breaker (closed / open / half-open with a single probe) and provider failover.

Lab 08 teaches this code. The breaker's clock is injected so a test can jump 30 s without
sleeping; failover happens on infrastructure errors only (a 400 is your bug on any provider).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from llmlab._exceptions import CircuitOpenError
from llmlab.reference.retry import is_retryable

if TYPE_CHECKING:
    from llmlab.sim import Simulator

T = TypeVar("T")

CLOSED = "closed"
OPEN = "open"
HALF_OPEN = "half_open"


class CircuitBreaker:
    """Opens after ``threshold`` consecutive failures; after ``reset_seconds`` lets one probe by.

    ``before_call()`` raises :class:`~llmlab.CircuitOpenError` while open (and while the
    half-open probe is in flight); report each outcome with ``record_success()`` or
    ``record_failure()``. A successful probe closes the breaker, a failed one re-opens it.
    """

    def __init__(
        self,
        threshold: int = 5,
        reset_seconds: float = 30.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.threshold = threshold
        self.reset_seconds = reset_seconds
        self.clock = clock
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0
        self._probe_in_flight = False
        self._lock = threading.Lock()

    @property
    def state(self) -> str:
        """``"closed"``, ``"open"`` or ``"half_open"`` (open turns half-open once cooled down)."""
        if self._state == OPEN and self.clock() - self._opened_at >= self.reset_seconds:
            return HALF_OPEN
        return self._state

    def before_call(self) -> None:
        """Raise :class:`CircuitOpenError` unless a call may go to the provider now."""
        with self._lock:
            state = self.state
            if state == CLOSED:
                return
            if state == HALF_OPEN and not self._probe_in_flight:
                self._state = HALF_OPEN
                self._probe_in_flight = True
                return
            wait = max(0.0, self.reset_seconds - (self.clock() - self._opened_at))
            raise CircuitOpenError(
                "circuit open: failing fast"
                + (f" (probe allowed in {wait:.1f} s)" if state == OPEN else " (probe in flight)")
            )

    def record_success(self) -> None:
        """The provider answered: close the breaker and forget past failures."""
        with self._lock:
            self._state = CLOSED
            self._failures = 0
            self._probe_in_flight = False

    def record_failure(self) -> None:
        """An infrastructure failure: count it, open at the threshold, re-open on a failed probe."""
        with self._lock:
            if self._state == HALF_OPEN or self._probe_in_flight:
                self._open()
                return
            self._failures += 1
            if self._failures >= self.threshold:
                self._open()

    def _open(self) -> None:
        self._state = OPEN
        self._opened_at = self.clock()
        self._probe_in_flight = False


def guarded(breaker: CircuitBreaker, fn: Callable[[], T]) -> T:
    """Call ``fn`` through ``breaker``: infra errors count as failures, content errors do not."""
    breaker.before_call()
    try:
        result = fn()
    except Exception as exc:
        if is_retryable(exc):
            breaker.record_failure()
        else:
            breaker.record_success()  # the provider is up; the request was wrong
        raise
    breaker.record_success()
    return result


def is_infra_error(exc: BaseException) -> bool:
    """Errors another provider might not have: outages, overload, timeouts, an open breaker."""
    return isinstance(exc, CircuitOpenError) or is_retryable(exc)


def call_with_failover(
    primary: Callable[[], T],
    secondary: Callable[[], T],
    is_infra_error: Callable[[BaseException], bool] = is_infra_error,
) -> T:
    """``primary()``, or ``secondary()`` if the primary failed for an infrastructure reason.

    Content errors (400, 422, a failed validation) are re-raised: the secondary would reject
    the same request, and silently switching providers would hide the bug.
    """
    try:
        return primary()
    except Exception as exc:
        if not is_infra_error(exc):
            raise
    return secondary()


def requests_reaching(sim: Simulator) -> int:
    """Generation requests that reached the provider: served ones plus error answers."""
    return sim.upstream_calls + sum(sim.stats.errors.values())


class FakeClock:
    """A clock for tests and replays: ``clock()`` reads it, ``clock.advance(s)`` moves it."""

    def __init__(self, start: float = 0.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Timeline:
    """One call per tick: the breaker's state before it and whether a request went upstream."""

    times: list[float] = field(default_factory=list)
    states: list[str] = field(default_factory=list)
    upstream: list[bool] = field(default_factory=list)
    succeeded: list[bool] = field(default_factory=list)

    @property
    def upstream_total(self) -> int:
        return sum(self.upstream)


def replay(
    provider_down: Callable[[float], bool] | Sequence[tuple[float, float]],
    *,
    threshold: int = 5,
    reset_seconds: float = 30.0,
    duration: float = 120.0,
    interval: float = 1.0,
    breaker_factory: Callable[..., CircuitBreaker] = CircuitBreaker,
) -> Timeline:
    """Replay a fault schedule against a breaker with a fake clock (no SDK, no sleeping).

    ``provider_down`` is a predicate of time or a list of (start, end) outage windows.
    """
    if callable(provider_down):
        down = provider_down
    else:
        windows = list(provider_down)

        def down(t: float) -> bool:
            return any(a <= t < b for a, b in windows)

    clock = FakeClock()
    breaker = breaker_factory(threshold, reset_seconds, clock)
    out = Timeline()
    steps = int(round(duration / interval))
    for i in range(steps):
        t = i * interval
        clock.now = t
        out.times.append(t)
        out.states.append(breaker.state)
        try:
            breaker.before_call()
        except CircuitOpenError:
            out.upstream.append(False)
            out.succeeded.append(False)
            continue
        out.upstream.append(True)
        if down(t):
            breaker.record_failure()
            out.succeeded.append(False)
        else:
            breaker.record_success()
            out.succeeded.append(True)
    return out
