"""Per-key token buckets on the simulator clock: requests, input and output tokens per minute."""

from __future__ import annotations

import functools
import math
import threading
import time
from dataclasses import dataclass, field


@dataclass(frozen=True)
class RateLimits:
    """Limits per API key; None means unlimited. Buckets refill continuously over a minute."""

    requests_per_minute: int | None = None
    input_tokens_per_minute: int | None = None
    output_tokens_per_minute: int | None = None


@dataclass
class _Bucket:
    capacity: float
    level: float
    stamp: float

    def refill(self, now: float) -> None:
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.capacity / 60.0)
        self.stamp = now

    def wait_for(self, amount: float) -> float:
        """Simulated seconds until ``amount`` is available (0 when it already is)."""
        missing = min(amount, self.capacity) - self.level
        return 0.0 if missing <= 0 else missing * 60.0 / self.capacity

    def reset_in(self) -> float:
        return (self.capacity - self.level) * 60.0 / self.capacity


@dataclass(frozen=True)
class Admission:
    allowed: bool
    retry_after: float  # simulated seconds
    limited: str = ""  # which bucket refused: "requests", "input_tokens", "output_tokens"


#: Generous defaults shaped like a paid tier, so every response carries real rate-limit headers.
DEFAULT_LIMITS = RateLimits(
    requests_per_minute=4_000, input_tokens_per_minute=2_000_000, output_tokens_per_minute=400_000
)


#: the three buckets of a key, in the order admit() checks them and the headers list them
KINDS = ("requests", "input_tokens", "output_tokens")


@dataclass
class RateLimiter:
    limits: RateLimits = DEFAULT_LIMITS
    _buckets: dict[tuple[str, str], _Bucket] = field(default_factory=dict)
    _lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    #: kind -> capacity per minute for the limited kinds (fixed with ``limits``: a simulator
    #: swaps in a new limiter rather than changing one), so a lookup builds no mapping
    _caps: dict[str, float] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        caps = (
            self.limits.requests_per_minute,
            self.limits.input_tokens_per_minute,
            self.limits.output_tokens_per_minute,
        )
        self._caps = {k: float(c) for k, c in zip(KINDS, caps, strict=True) if c is not None}

    def _bucket(self, key: str, kind: str, now: float) -> _Bucket | None:
        cap = self._caps.get(kind)
        if cap is None:
            return None
        bucket = self._buckets.get((key, kind))
        if bucket is None:
            bucket = self._buckets[(key, kind)] = _Bucket(cap, cap, now)
        bucket.refill(now)
        return bucket

    def admit(self, key: str, input_tokens: int, now: float) -> Admission:
        """Take one request and its input tokens, or say how long to wait (simulated seconds).

        The output-token bucket admits a request while it is not in debt (at least one token
        left); what the reply generates is taken by :meth:`spend_output` when it ends, so a
        burst of long replies drives it negative and later requests wait for the refill.
        """
        needs = {"requests": 1.0, "input_tokens": float(input_tokens), "output_tokens": 1.0}
        with self._lock:
            worst = Admission(True, 0.0)
            buckets = [(kind, self._bucket(key, kind, now)) for kind in KINDS]
            for kind, bucket in buckets:
                if bucket is not None:
                    wait = bucket.wait_for(needs[kind])
                    if wait > worst.retry_after:
                        worst = Admission(False, wait, kind)
            if worst.allowed:
                # refilled at ``now`` just above: taking from them needs no second refill
                for kind, bucket in buckets[:2]:
                    if bucket is not None:
                        bucket.level -= needs[kind]
            return worst

    def spend_output(self, key: str, output_tokens: int, now: float) -> None:
        """Charge the output tokens a reply generated (called once, when its body ends)."""
        with self._lock:
            bucket = self._bucket(key, "output_tokens", now)
            if bucket is not None:
                bucket.level -= output_tokens

    def state(self, key: str, now: float) -> dict[str, tuple[int, int, float]]:
        """kind -> (limit, remaining, seconds until full) for the response headers."""
        out = {}
        with self._lock:
            for kind in KINDS:
                bucket = self._bucket(key, kind, now)
                if bucket is not None:
                    out[kind] = (
                        int(bucket.capacity),
                        max(math.floor(bucket.level), 0),
                        bucket.reset_in(),
                    )
        return out


def retry_after_headers(real_seconds: float) -> dict[str, str]:
    """``retry-after`` (whole seconds, rounded up) and ``retry-after-ms`` for a 429.

    Both are REAL seconds at the current time scale, so a client that sleeps them finds the
    bucket refilled. ``retry-after-ms`` is at least 1: the SDKs ignore a zero and fall back to
    their own exponential backoff.
    """
    return {
        "retry-after": str(max(math.ceil(real_seconds), 1)),
        "retry-after-ms": str(max(math.ceil(real_seconds * 1000), 1)),
    }


def utc_stamp(at: float) -> str:
    """RFC 3339 UTC to the second (``2026-12-01T17:40:00Z``) for a POSIX time, as the
    ``*-reset`` headers give it; memoised per second, since every reply formats a few."""
    return _utc_second(int(at))


@functools.lru_cache(maxsize=64)
def _utc_second(second: int) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second))
