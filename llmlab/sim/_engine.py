"""The transport-agnostic simulator: a :class:`SimRequest` in, a paced :class:`SimResponse` out.

Wire formats (:mod:`llmlab.sim.wire`, one module per API) register a handler per provider here;
physics (:mod:`llmlab.sim.physics`: clock, latency, cache, rate limits, faults, billing) and the
model (:mod:`llmlab.sim.model`) sit below the engine; adapters (:mod:`llmlab.sim.adapters`) above.
Every random choice comes from a generator seeded by (simulator seed, request body, how many
times that same body was seen), so outputs never depend on timing or arrival order.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import threading
import time
from bisect import bisect_left, bisect_right
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from itertools import accumulate
from json.encoder import encode_basestring_ascii as _ESCAPE
from typing import TYPE_CHECKING

import numpy as np

from llmlab._exceptions import SimulatorError
from llmlab.sim._exchange import Chunk, Cut, Hang, Piece, SimRequest, SimResponse
from llmlab.sim.model._skills import Behaviour
from llmlab.sim.physics._billing import Billing
from llmlab.sim.physics._cache import AnthropicCache, OpenAICache
from llmlab.sim.physics._cache_diagnostics import CacheDiagnostics
from llmlab.sim.physics._clock import SimClock, default_time_scale
from llmlab.sim.physics._faults import Fault, FaultPlan
from llmlab.sim.physics._ratelimit import DEFAULT_LIMITS, RateLimiter, RateLimits

if TYPE_CHECKING:
    from llmlab.sim._summary import SimSummary

_ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_ID_TABLE = bytes.maketrans(bytes(range(len(_ALPHABET))), _ALPHABET.encode())
#: json.dumps(value, sort_keys=True, separators=(",", ":"), default=str), without building an
#: encoder per call
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)


def _canonical(body: object) -> tuple[str, ...]:
    """The canonical JSON text a request's random stream is seeded from (see rng_for), in parts.

    The common ``{"path": ..., "body": ...}`` of two strings is spelled out directly: the same
    text json.dumps gives it, without its per-call machinery, and in parts that are hashed one
    after the other rather than copied into one string (a 32 MB body is hashed before it is
    refused). The text is ASCII (json.dumps escapes the rest), so the parts' bytes are its bytes.
    """
    if type(body) is dict and len(body) == 2:
        path, text = body.get("path"), body.get("body")
        if type(path) is str and type(text) is str:
            return '{"body":', _ESCAPE(text), ',"path":', _ESCAPE(path), "}"
    return (_CANONICAL.encode(body),)


#: perf_counter() when the request being handled arrived (set by Simulator.handle).
_ARRIVAL: contextvars.ContextVar[float | None] = contextvars.ContextVar(
    "llmlab_sim_arrival", default=None
)


#: The wire formats register here (``llmlab.sim.wire``): the engine depends on none of them, they
#: depend on the engine. One handler per provider answers every path of that provider's API.
WireHandler = Callable[["Simulator", SimRequest], SimResponse]
_WIRE_FORMATS: dict[str, WireHandler] = {}


def register_wire_format(provider: str, handler: WireHandler) -> None:
    """Make ``handler`` answer every request to ``provider`` (called by :mod:`llmlab.sim.wire`)."""
    _WIRE_FORMATS[provider] = handler


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
        max_concurrency: int | None = None,
    ) -> None:
        self.seed = seed
        self.clock = clock or SimClock(default_time_scale() if time_scale is None else time_scale)
        self.rate_limiter = RateLimiter(rate_limits or DEFAULT_LIMITS)
        self.faults = faults or FaultPlan()
        # per-provider plans replace the shared one for that provider (an outage of one)
        self.provider_faults: dict[str, FaultPlan] = {}
        self.behaviour = behaviour or Behaviour()
        self.billing = Billing()
        self.anthropic_cache = AnthropicCache()
        self.openai_cache = OpenAICache()
        self.cache_diagnostics = CacheDiagnostics()  # Anthropic's, by message id
        self.stats = Stats()
        # generation requests the provider served (fault-injected errors are in stats.errors)
        self.upstream_calls = 0
        self.live = False  # set by llmlab.setup() under LLMLAB_PROVIDER=live: physics is not ours
        # how often each request body was seen, keyed by 16 bytes of its digest (never the body)
        self._seen: Counter[bytes] = Counter()
        self._lock = threading.RLock()
        self.max_concurrency: int | None = None
        self._slots = _Slots()
        self.set_max_concurrency(max_concurrency)

    # -- configuration a notebook touches ---------------------------------------------------
    @property
    def time_scale(self) -> float:
        return self.clock.time_scale

    def _simulated_only(self, what: str, setting: object = True) -> None:
        # in live mode a reset to the defaults (None) has nothing to undo: it is allowed
        if self.live and setting is not None:
            raise SimulatorError(
                f"{what} needs the simulator; in live mode the real provider runs on its own "
                'clock and faults (guard the cell with `if llmlab.simulator_only("..."):`)'
            )

    def advance(self, *, seconds: float = 0, minutes: float = 0, hours: float = 0) -> None:
        """Move the simulator clock forward (cache TTLs and rate-limit windows)."""
        self._simulated_only("advance()")
        self.clock.advance(seconds + 60 * minutes + 3600 * hours)

    def set_faults(self, plan: FaultPlan | None, *, provider: str | None = None) -> None:
        """Faults for every request, or with ``provider`` for that provider only.

        A provider's own plan replaces the shared one for its requests (``None`` removes it):
        ``sim.set_faults(FaultPlan.random({"529": 1.0}), provider="anthropic")`` is an outage
        of Anthropic while OpenAI keeps the shared plan.
        """
        self._simulated_only("set_faults()", plan)
        if provider is None:
            self.faults = plan or FaultPlan()
        elif provider not in ("anthropic", "openai"):
            raise SimulatorError(f"provider must be 'anthropic' or 'openai', got {provider!r}")
        elif plan is None:
            self.provider_faults.pop(provider, None)
        else:
            self.provider_faults[provider] = plan

    def set_rate_limits(self, limits: RateLimits | None) -> None:
        self._simulated_only("set_rate_limits()", limits)
        self.rate_limiter = RateLimiter(limits or DEFAULT_LIMITS)

    def set_max_concurrency(self, limit: int | None) -> None:
        """At most ``limit`` generations run at once; later ones queue (None: unlimited)."""
        if limit is not None and (not isinstance(limit, int) or limit < 1):
            raise SimulatorError(
                f"max_concurrency must be a positive integer or None, got {limit!r}"
            )
        self.max_concurrency = limit

    def set_behaviour(self, behaviour: Behaviour | None) -> None:
        self._simulated_only("set_behaviour()", behaviour)
        self.behaviour = behaviour or Behaviour()

    # -- the one entry point adapters call ---------------------------------------------------
    def handle(self, request: SimRequest) -> SimResponse:
        handler = _WIRE_FORMATS.get(request.provider)
        if handler is None:  # only if llmlab.sim.wire was never imported (llmlab.sim imports it)
            raise SimulatorError(f"no wire format registered for provider {request.provider!r}")
        token = _ARRIVAL.set(time.perf_counter())
        try:
            return handler(self, request)
        finally:
            _ARRIVAL.reset(token)

    # -- helpers shared by the wire formats --------------------------------------------------
    def rng_for(
        self, provider: str, body: object, fixed_seed: int | None = None
    ) -> np.random.Generator:
        hashed = hashlib.sha256(f"{self.seed}|{provider}|".encode())
        for part in _canonical(body):
            hashed.update(part.encode())
        raw = hashed.digest()
        seen = raw[:16]
        with self._lock:
            occurrence = 0 if fixed_seed is not None else self._seen[seen]
            self._seen[seen] += 1
        material = f"{raw.hex()}|{occurrence}|{fixed_seed}".encode()
        seed = int.from_bytes(hashlib.sha256(material).digest()[:8], "big")
        # what np.random.default_rng(seed) builds, without its argument dispatch
        return np.random.Generator(np.random.PCG64(seed))

    @staticmethod
    def new_id(prefix: str, rng: np.random.Generator, length: int = 24) -> str:
        # the same draws as indexing _ALPHABET one by one, mapped in one bytes.translate
        draws = rng.integers(0, len(_ALPHABET), length).astype(np.uint8).tobytes()
        return prefix + draws.translate(_ID_TABLE).decode("ascii")

    def next_fault(self, rng: np.random.Generator, provider: str = "") -> Fault | None:
        with self._lock:
            return self.provider_faults.get(provider, self.faults).next(rng)

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
        """Play ``timeline`` on an absolute schedule from the request's arrival; settle billing.

        ``timeline`` holds (simulated delay, bytes, output tokens in this chunk); a one-piece
        timeline is a non-streaming body. Delays are converted to real seconds and measured from
        when the request arrived, so the simulator's own work (tokenising a 100k-token prompt)
        is part of the latency instead of added to it, and a queue for ``max_concurrency``
        shifts the whole schedule. ``on_close`` receives the output tokens to bill and whether
        the body completed; see :class:`_Playback` for the billing rules.
        """
        arrival = _ARRIVAL.get()
        if arrival is None:
            arrival = time.perf_counter()
        waits = self.clock.reals([d for d, _, _ in timeline])
        duration = sum(waits)
        if fault is not None and fault.kind == "hang":
            duration = self.clock.real(fault.hang_seconds)
        start, slot = self._slots.acquire(arrival, duration, self.max_concurrency)
        return _Playback(self, timeline, on_close, fault, error_event, start, slot, waits)

    # -- what a notebook shows ---------------------------------------------------------------
    def summary(self) -> SimSummary:
        from llmlab.sim._summary import SimSummary

        with self._lock:
            return SimSummary.of(self)


class _Slots:
    """Scheduled end times (real perf_counter seconds) of generations in flight, for queueing."""

    def __init__(self) -> None:
        self._ends: dict[int, float] = {}
        self._next = 0
        self._lock = threading.Lock()

    def acquire(self, arrival: float, duration: float, limit: int | None) -> tuple[float, int]:
        """(real start time, slot id): FIFO behind the earliest-ending of ``limit`` busy slots."""
        with self._lock:
            self._ends = {k: end for k, end in self._ends.items() if end > arrival}
            start = arrival
            if limit is not None and len(self._ends) >= limit:
                ordered = sorted(self._ends.values())
                start = max(arrival, ordered[len(ordered) - limit])
            slot = self._next
            self._next += 1
            self._ends[slot] = start + duration
            return start, slot

    def release(self, slot: int, now: float) -> None:
        with self._lock:
            if slot in self._ends:
                self._ends[slot] = min(self._ends[slot], now)


def _settled(tokens: int, complete: bool) -> None:
    """What a finished playback holds instead of its billing callback: billing is settled."""


class _Playback(Iterator[Piece]):
    """A response body played on an absolute real-time schedule, billed once when it ends.

    Billing (what the provider would charge): input always; output tokens that were generated
    before the body ended. A stream closed early, cut, stalled or ended by an error event is
    billed for the tokens whose scheduled time had passed. A non-streaming body is generated in
    full before it is sent, so a client that times out or loses the connection is still billed
    for all of it. A non-streaming "hang" was never served and is not billed.
    """

    def __init__(
        self,
        sim: Simulator,
        timeline: list[tuple[float, bytes, int]],
        on_close: Callable[[int, bool], None],
        fault: Fault | None,
        error_event: bytes | None,
        start: float,
        slot: int,
        waits: list[float],
    ) -> None:
        self._sim = sim
        self._timeline = timeline
        self._on_close = on_close
        self._fault = fault
        self._error_event = error_event
        self._slot = slot
        self._whole = len(timeline) == 1
        # ``waits`` are the delays in real seconds; the deadlines are the same sums, in the
        # same order, as adding them one by one from ``start``
        self._deadlines: list[float] = list(accumulate(waits, initial=start))[1:]
        # waits are never negative, so the deadlines are sorted and searched by bisection
        # (were one negative, take and billing would walk them event by event instead)
        self._sorted = not waits or min(waits) >= 0
        self._strike: int | None = None
        kind = fault.kind if fault is not None else ""
        if kind in ("cut", "hang") or (kind == "stream_error" and not self._whole):
            assert fault is not None
            self._strike = 0 if self._whole else min(fault.after_events, len(timeline) - 1)
        self._i = 0
        self._finished = False

    def __iter__(self) -> _Playback:
        return self

    def __next__(self) -> Piece:
        return self._next(time.perf_counter())

    def _next(self, now: float) -> Piece:
        i, n = self._i, len(self._timeline)  # a finished playback holds an empty timeline
        if i >= n:
            if not self._finished:  # complete unless a fault piece was the last thing sent
                self._finish(complete=i > n or self._strike is None)
            raise StopIteration
        self._i = i + 1
        wait = max(0.0, self._deadlines[i] - now)
        if i == self._strike:
            assert self._fault is not None
            self._i = len(self._timeline)  # nothing follows a fault
            if self._fault.kind == "hang":
                return Hang(self._sim.clock.real(self._fault.hang_seconds))
            if self._fault.kind == "cut":
                return Cut(wait)
            assert self._error_event is not None
            return Chunk(wait, self._error_event)
        return Chunk(wait, self._timeline[i][1])

    def take(self, horizon: float) -> Piece:
        """The next piece; a chunk comes joined with the chunks after it that are due within
        ``horizon`` real seconds of it, which an adapter would deliver without a sleep between
        them (``horizon`` is its shortest sleep). The bytes and the schedule are the same; the
        reader's HTTP stack handles one chunk instead of many. Never joins the last piece or a
        fault's, so a reader that stops early is billed exactly as when it took them one by one.
        """
        now = time.perf_counter()
        piece = self._next(now)
        i, last = self._i, len(self._timeline) - 1
        if type(piece) is not Chunk or i >= last or i == self._strike:
            return piece
        due = max(now, self._deadlines[i - 1]) + horizon
        if self._deadlines[i] >= due:
            return piece
        # the chunks from i on due before ``due``, stopping before the last piece and a fault's
        stop = last if self._strike is None or self._strike < i else min(last, self._strike)
        if self._sorted:
            end = bisect_left(self._deadlines, due, i, stop)
        else:
            end = i
            while end < stop and self._deadlines[end] < due:
                end += 1
        self._i = end
        # piece is chunk i - 1 (a fault's piece returned above)
        return Chunk(piece.delay, b"".join([c[1] for c in self._timeline[i - 1 : end]]))

    def _generated_by(self, now: float) -> int:
        limit = len(self._timeline) if self._strike is None else self._strike
        if self._sorted:  # the events due by then are a prefix of the timeline
            limit = bisect_right(self._deadlines, now + 1e-3, 0, limit)
            return sum([tokens for _, _, tokens in self._timeline[:limit]])
        return sum(
            tokens
            for (_, _, tokens), due in zip(self._timeline[:limit], self._deadlines, strict=False)
            if due <= now + 1e-3
        )

    def _finish(self, complete: bool) -> None:
        if self._finished:
            return
        self._finished = True
        now = time.perf_counter()
        self._sim._slots.release(self._slot, now)
        if (
            not complete
            and self._strike is None
            and self._i >= len(self._timeline)
            and now >= self._deadlines[-1] - 1e-3
        ):
            complete = True  # everything was sent; the reader just did not ask for the end
        kind = self._fault.kind if self._fault is not None else ""
        if self._whole:
            tokens = None if kind == "hang" else self._timeline[0][2]  # a hang was never served
        else:
            tokens = self._generated_by(now)
        on_close = self._on_close
        # let go of the body and of the request the billing callback holds: a finished
        # response an adapter (or a recorder around it) keeps must not keep them alive
        self._timeline, self._deadlines = [], []
        self._on_close = _settled
        if tokens is not None:
            on_close(tokens, complete)

    def close(self) -> None:
        """The adapter stopped reading (finished, timed out, cancelled or cut)."""
        self._finish(complete=False)
