"""The simulator's clock: simulated seconds that run 1/time_scale times faster than real ones.

Physics (latency) is slept in real time scaled by ``time_scale``; caches and rate-limit buckets
read this clock, which a learner can also ``advance`` to make a TTL expire instantly.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager

from llmlab._exceptions import SimulatorError


def _checked(scale: float, where: str) -> float:
    if not 0 < scale <= 100:
        raise SimulatorError(f"{where} must be in (0, 100], got {scale}")
    return scale


def default_time_scale() -> float:
    """``$LLMLAB_TIME_SCALE`` (CI runs at 0.05) or 1.0: real seconds per simulated second."""
    raw = os.environ.get("LLMLAB_TIME_SCALE", "1.0")
    try:
        scale = float(raw)
    except ValueError:
        raise SimulatorError(f"LLMLAB_TIME_SCALE must be a number, got {raw!r}") from None
    return _checked(scale, "LLMLAB_TIME_SCALE")


class SimClock:
    """Simulated seconds since start: real elapsed / time_scale, plus whatever was advanced."""

    def __init__(
        self, time_scale: float = 1.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self.time_scale = time_scale
        self._monotonic = monotonic
        self._start = monotonic()
        self._advanced = 0.0

    @classmethod
    def manual(cls, time_scale: float = 1.0) -> SimClock:
        """A clock that moves only when advanced; latencies still sleep at ``time_scale``.

        At small time scales the simulated clock runs fast (at 0.001 a 5-minute TTL lasts 0.3
        real seconds), so tests of TTLs and rate-limit windows use this and ``advance``.
        """
        return cls(time_scale, monotonic=lambda: 0.0)

    def now(self) -> float:
        return (self._monotonic() - self._start) / self.time_scale + self._advanced

    def advance(self, seconds: float) -> None:
        if seconds < 0:
            raise SimulatorError(f"the clock only moves forward; got {seconds} s")
        self._advanced += seconds

    def rescale(self, time_scale: float) -> None:
        """Sleep at ``time_scale`` from now on; the simulated clock carries on without a jump."""
        now = self.now()
        self.time_scale = _checked(float(time_scale), "time_scale")
        self._start = self._monotonic()
        self._advanced = now

    @contextmanager
    def at_least(self, time_scale: float) -> Iterator[None]:
        """Within the block, sleep at no less than ``time_scale`` (then as before).

        At CI's 0.05 a cached 100k-token TTFT lasts ~28 real ms, less than the simulator's
        own work on such a request, so a measurement of it reads the work, not the physics;
        ``with sim.clock.at_least(0.2):`` measures it at 0.2 (and changes nothing at 1.0).
        """
        before = self.time_scale
        self.rescale(max(before, time_scale))
        try:
            yield
        finally:
            self.rescale(before)

    def real(self, simulated_seconds: float) -> float:
        """Real seconds that ``simulated_seconds`` take at this time scale."""
        return simulated_seconds * self.time_scale

    def reals(self, simulated: Iterable[float]) -> list[float]:
        """``real`` of each of ``simulated`` (a stream's delays), in one pass."""
        scale = self.time_scale
        return [seconds * scale for seconds in simulated]
