"""Fault plans: scripted ("the next 6 calls fail with 500") and probabilistic, seeded per request.

Kinds: ``"429"`` rate limited, ``"quota"`` OpenAI's insufficient_quota 429 (not retryable),
``"500"``, ``"503"``, ``"529"`` overloaded, ``"hang"`` (a stream stalls after ``after_events``
events; a non-streaming body never comes: a timeout fires, else the server drops after
``hang_seconds``), ``"cut"`` (the connection drops after ``after_events`` stream events, or
before a non-streaming body), ``"stream_error"`` (an SSE error event after ``after_events``
events), ``"slow"`` (decode five times slower). See ``llmlab/sim/PHYSICS.md``.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from llmlab._exceptions import SimulatorError

KINDS = ("429", "quota", "500", "503", "529", "hang", "cut", "stream_error", "slow")


@dataclass(frozen=True)
class Fault:
    kind: str
    after_events: int = 3  # for cut / stream_error
    hang_seconds: float = 600.0  # simulated

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SimulatorError(f"unknown fault kind {self.kind!r}; choose from {KINDS}")


SLOW_DECODE = 5.0  # a "slow" fault decodes this many times slower


def decode_slowdown(fault: Fault | None) -> float:
    """How much slower than the profile this request decodes (1.0 without a "slow" fault)."""
    return SLOW_DECODE if fault is not None and fault.kind == "slow" else 1.0


@dataclass
class FaultPlan:
    """Scripted faults are consumed one per generation request, in arrival order, before rates."""

    rates: dict[str, float] = field(default_factory=dict)
    script: deque[Fault | None] = field(default_factory=deque)

    def __post_init__(self) -> None:
        for kind, rate in self.rates.items():
            Fault(kind)  # validates the name
            if not 0 <= rate <= 1:
                raise SimulatorError(f"fault rate for {kind!r} must be within [0, 1], got {rate}")
        if sum(self.rates.values()) > 1:
            raise SimulatorError(f"fault rates add up to more than 1: {self.rates}")

    @classmethod
    def scripted(cls, steps: Iterable[str | Fault | None]) -> FaultPlan:
        """E.g. ``FaultPlan.scripted(["500"] * 6)``: six failures, then normal service."""
        return cls(script=deque(Fault(s) if isinstance(s, str) else s for s in steps))

    @classmethod
    def random(cls, rates: Mapping[str, float]) -> FaultPlan:
        return cls(rates=dict(rates))

    def next(self, rng: np.random.Generator) -> Fault | None:
        if self.script:
            return self.script.popleft()
        if not self.rates:
            return None
        u = rng.random()
        for kind, rate in sorted(self.rates.items()):
            if u < rate:
                return Fault(kind, after_events=int(rng.integers(2, 8)))
            u -= rate
        return None

    @property
    def pending(self) -> int:
        return len(self.script)
