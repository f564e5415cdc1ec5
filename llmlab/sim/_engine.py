"""The transport-agnostic simulator: a :class:`SimRequest` in, a paced :class:`SimResponse` out.

Wire formats live in one module per provider (:mod:`._anthropic`, :mod:`._openai`); physics in
small modules (latency, cache, rate limits, faults, billing) that share the simulator clock.
Every random choice comes from a generator seeded by (simulator seed, request body, how many
times that same body was seen), so outputs never depend on timing or arrival order.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from llmlab._exceptions import SimulatorError
from llmlab.sim._billing import Billing
from llmlab.sim._cache import AnthropicCache, OpenAICache
from llmlab.sim._clock import SimClock, default_time_scale
from llmlab.sim._faults import Fault, FaultPlan
from llmlab.sim._ratelimit import DEFAULT_LIMITS, RateLimiter, RateLimits
from llmlab.sim._skills import Behaviour
from llmlab.sim._wire import Chunk, Cut, Hang, Piece, SimRequest, SimResponse

if TYPE_CHECKING:
    from llmlab.sim._summary import SimSummary

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


@dataclass
class Stats:
    calls: Counter[str] = field(default_factory=Counter)  # provider -> generation requests
    errors: Counter[str] = field(default_factory=Counter)  # "429 rate_limit_error" -> n
    input_tokens: int = 0  # all input tokens, cached or not
    cached_tokens: int = 0  # read from cache


class Simulator:
    """Simulated Anthropic and OpenAI APIs sharing one clock, one model and one billing ledger."""

    def __init__(
        self,
        *,
        seed: int = 0,
        time_scale: float | None = None,
        clock: SimClock | None = None,
        rate_limits: RateLimits | None = None,
        faults: FaultPlan | None = None,
        behaviour: Behaviour | None = None,
    ) -> None:
        self.seed = seed
        self.clock = clock or SimClock(default_time_scale() if time_scale is None else time_scale)
        self.rate_limiter = RateLimiter(rate_limits or DEFAULT_LIMITS)
        self.faults = faults or FaultPlan()
        self.behaviour = behaviour or Behaviour()
        self.billing = Billing()
        self.anthropic_cache = AnthropicCache()
        self.openai_cache = OpenAICache()
        self.stats = Stats()
        self.upstream_calls = 0  # generation requests that reached the provider
        self.live = False  # set by llmlab.setup() under LLMLAB_PROVIDER=live: physics is not ours
        self._seen: Counter[str] = Counter()
        self._lock = threading.RLock()

    # -- configuration a notebook touches ---------------------------------------------------
    @property
    def time_scale(self) -> float:
        return self.clock.time_scale

    def _simulated_only(self, what: str) -> None:
        if self.live:
            raise SimulatorError(
                f"{what} needs the simulator; in live mode the real provider "
                "runs on its own clock and faults"
            )

    def advance(self, *, seconds: float = 0, minutes: float = 0, hours: float = 0) -> None:
        """Move the simulator clock forward (cache TTLs and rate-limit windows)."""
        self._simulated_only("advance()")
        self.clock.advance(seconds + 60 * minutes + 3600 * hours)

    def set_faults(self, plan: FaultPlan | None) -> None:
        self._simulated_only("set_faults()")
        self.faults = plan or FaultPlan()

    def set_rate_limits(self, limits: RateLimits | None) -> None:
        self._simulated_only("set_rate_limits()")
        self.rate_limiter = RateLimiter(limits or DEFAULT_LIMITS)

    def set_behaviour(self, behaviour: Behaviour | None) -> None:
        self._simulated_only("set_behaviour()")
        self.behaviour = behaviour or Behaviour()

    # -- the one entry point adapters call ---------------------------------------------------
    def handle(self, request: SimRequest) -> SimResponse:
        from llmlab.sim import _anthropic, _openai  # wire formats import the engine's helpers

        handler = _anthropic.handle if request.provider == "anthropic" else _openai.handle
        return handler(self, request)

    # -- helpers shared by the wire formats --------------------------------------------------
    def rng_for(
        self, provider: str, body: object, fixed_seed: int | None = None
    ) -> np.random.Generator:
        canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), default=str)
        digest = hashlib.sha256(f"{self.seed}|{provider}|{canonical}".encode()).hexdigest()
        with self._lock:
            occurrence = 0 if fixed_seed is not None else self._seen[digest]
            self._seen[digest] += 1
        material = f"{digest}|{occurrence}|{fixed_seed}".encode()
        return np.random.default_rng(int.from_bytes(hashlib.sha256(material).digest()[:8], "big"))

    @staticmethod
    def new_id(prefix: str, rng: np.random.Generator, length: int = 24) -> str:
        return prefix + "".join(_ALPHABET[i] for i in rng.integers(0, len(_ALPHABET), length))

    def next_fault(self, rng: np.random.Generator) -> Fault | None:
        with self._lock:
            return self.faults.next(rng)

    def record_error(self, status: int, kind: str) -> None:
        with self._lock:
            self.stats.errors[f"{status} {kind}"] += 1

    def record_call(self, provider: str, input_total: int, cached: int) -> None:
        with self._lock:
            self.upstream_calls += 1
            self.stats.calls[provider] += 1
            self.stats.input_tokens += input_total
            self.stats.cached_tokens += cached

    def paced(
        self,
        timeline: list[tuple[float, bytes, int]],
        on_close: Callable[[int, bool], None],
        fault: Fault | None = None,
        error_event: bytes | None = None,
    ) -> Iterator[Piece]:
        """Yield chunks at simulated delays (converted to real seconds) and settle billing.

        ``timeline`` holds (simulated delay, bytes, output tokens in this chunk). ``on_close``
        receives the output tokens delivered and whether the body completed.
        """
        delivered = 0
        complete = False
        started = False
        try:
            for i, (delay, data, tokens) in enumerate(timeline):
                if fault is not None and i == fault.after_events and i > 0:
                    if fault.kind == "cut":
                        yield Cut(self.clock.real(delay))
                        return
                    if fault.kind == "stream_error" and error_event is not None:
                        yield Chunk(self.clock.real(delay), error_event)
                        complete = True
                        return
                yield Chunk(self.clock.real(delay), data)
                started = True
                delivered += tokens
            complete = True
        finally:
            if started:
                on_close(delivered, complete)

    def hang(self, fault: Fault) -> Iterator[Piece]:
        yield Hang(self.clock.real(fault.hang_seconds))

    # -- what a notebook shows ---------------------------------------------------------------
    def summary(self) -> SimSummary:
        from llmlab.sim._summary import SimSummary

        with self._lock:
            return SimSummary.of(self)
