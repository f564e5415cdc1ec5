"""Retries that help instead of hurt: status taxonomy, full-jitter backoff, retry-after, a wrapper.

Lab 07 teaches this code. The rules follow the SDKs' own (anthropic/openai ``_base_client``):
retry connection errors, timeouts, 408, 409, 429 and every 5xx (529 included); never retry
other 4xx, nor a 429 whose code says the quota is exhausted (waiting does not add credit).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

import anthropic
import numpy as np
import openai

T = TypeVar("T")

RETRY = "retry"
FAIL = "fail"
#: Error types/codes that mean "this will not get better by waiting" even on a 429.
NOT_RETRYABLE_TYPES = frozenset({"insufficient_quota", "billing_error"})
#: A retry-after longer than this is not waited for (the caller gives up instead).
MAX_RETRY_AFTER = 60.0

_STATUS_ERRORS = (anthropic.APIStatusError, openai.APIStatusError)
_CONNECTION_ERRORS = (anthropic.APIConnectionError, openai.APIConnectionError)


def classify_error(status: int, error_type: str = "") -> str:
    """``"retry"`` for transient failures (408/409/429 rate limit/5xx/529), else ``"fail"``."""
    if error_type in NOT_RETRYABLE_TYPES:
        return FAIL
    if status in (408, 409, 429) or status >= 500:
        return RETRY
    return FAIL


def backoff_delay(
    attempt: int,
    base: float = 1.0,
    cap: float = 60.0,
    rand: Callable[[], float] = random.random,
) -> float:
    """Full jitter: a uniform draw in ``[0, min(cap, base * 2**attempt))``, attempt from 0."""
    return float(rand() * min(cap, base * 2**attempt))


def error_type(exc: BaseException) -> str:
    """The provider's error code or type from an SDK status error (``""`` if none).

    OpenAI puts ``code`` (``"insufficient_quota"``, ``"rate_limit_exceeded"``) and ``type`` on
    the exception; Anthropic's body is ``{"type": "error", "error": {"type": ...}}``.
    """
    code = getattr(exc, "code", None)
    if isinstance(code, str) and code:
        return code
    body = getattr(exc, "body", None)
    if isinstance(body, Mapping):
        inner = body.get("error")
        if isinstance(inner, Mapping) and isinstance(inner.get("type"), str):
            return str(inner["type"])
        if isinstance(body.get("type"), str) and body.get("type") != "error":
            return str(body["type"])
    kind = getattr(exc, "type", None)
    return kind if isinstance(kind, str) else ""


def is_retryable(exc: BaseException) -> bool:
    """True for connection errors, timeouts and the status errors classify_error retries."""
    if isinstance(exc, _CONNECTION_ERRORS):  # APITimeoutError is a subclass
        return True
    if isinstance(exc, _STATUS_ERRORS):
        return classify_error(exc.status_code, error_type(exc)) == RETRY
    return False


def retry_after_seconds(exc: BaseException) -> float | None:
    """The server's requested wait from ``retry-after-ms`` (preferred) or ``retry-after``."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            value = float(raw) * scale
        except ValueError:
            continue  # an HTTP-date: not used by these providers
        if math.isfinite(value) and value >= 0:
            return value
    return None


def next_wait(
    exc: BaseException,
    attempt: int,
    *,
    base: float,
    cap: float,
    max_retry_after: float,
    rand: Callable[[], float],
) -> float | None:
    """Seconds to wait after retryable failure ``exc`` of attempt ``attempt`` (from 0).

    The server's wait (``retry-after-ms``, else ``retry-after``) when it sent one and it is at most
    ``max_retry_after``; ``None`` when it asks for longer (give up here: fail over now); without
    one, full-jitter :func:`backoff_delay`.
    """
    wait = retry_after_seconds(exc)
    if wait is None:
        return backoff_delay(attempt, base, cap, rand)
    return wait if wait <= max_retry_after else None


def retry_call(
    fn: Callable[[], T],
    *,
    max_attempts: int = 4,
    sleep: Callable[[float], None] = time.sleep,
    rand: Callable[[], float] = random.random,
    base: float = 0.5,
    cap: float = 8.0,
) -> T:
    """Call ``fn`` up to ``max_attempts`` times, sleeping between retryable failures.

    The wait is the server's ``retry-after`` when it sent one, else full-jitter backoff.
    Non-retryable errors are re-raised at once; there is no sleep after the last attempt.
    Wrap clients built with ``max_retries=0`` so retries do not multiply.
    """
    for attempt in range(max_attempts):
        try:
            return fn()
        except Exception as exc:
            if not is_retryable(exc) or attempt == max_attempts - 1:
                raise
            wait = next_wait(
                exc, attempt, base=base, cap=cap, max_retry_after=MAX_RETRY_AFTER, rand=rand
            )
            if wait is None:  # the server asked for longer than we are willing to wait
                raise
            sleep(wait)
    raise ValueError(f"max_attempts must be at least 1, got {max_attempts}")


# -- the thundering herd ------------------------------------------------------------------------
@dataclass
class HerdResult:
    """Requests per time bucket reaching the provider during and after a common outage."""

    bucket_starts: np.ndarray
    load: np.ndarray  # requests per bucket
    bucket_seconds: float
    total_requests: int
    all_done_at: float  # when the last client succeeded (inf if some never did)
    outage_seconds: float = 0.0
    attempts: list[int] = field(default_factory=list)  # per client
    done_at: list[float] = field(default_factory=list)  # per client, inf if never served

    @property
    def peak(self) -> int:
        """The busiest bucket overall (includes the unavoidable first burst after the failure)."""
        return int(self.load.max()) if self.load.size else 0

    @property
    def recovery_peak(self) -> int:
        """The busiest bucket once the provider is back: the herd that knocks it over again."""
        after = self.load[self.bucket_starts >= self.outage_seconds]
        return int(after.max()) if after.size else 0

    @property
    def unfinished(self) -> int:
        """Clients that never got an answer within the horizon and attempt budget."""
        return sum(1 for a in self.done_at if math.isinf(a))


def simulate_herd(
    n_clients: int = 50,
    *,
    jitter: bool = True,
    outage_seconds: float = 10.0,
    capacity_per_second: int = 10,
    base: float = 1.0,
    cap: float = 30.0,
    max_attempts: int = 12,
    bucket_seconds: float = 0.5,
    horizon: float = 90.0,
    seed: int = 0,
) -> HerdResult:
    """Event simulation (a simulated clock, no sleeping) of clients retrying one outage.

    At t=0 the provider fails every in-flight request at once (one per client). Until
    ``outage_seconds`` every request fails; afterwards the provider serves at most
    ``capacity_per_second`` requests in each 1-second window and answers the rest with 529.
    Each client retries with :func:`backoff_delay` (``rand=1`` without jitter).
    """
    rng = random.Random(seed)
    rand: Callable[[], float] = rng.random if jitter else (lambda: 1.0)
    served: dict[int, int] = {}
    arrivals: list[float] = []
    attempts = [0] * n_clients
    done_at = [math.inf] * n_clients
    # (time, client): the retry after the common failure at t=0 is attempt 0's backoff
    pending = sorted((backoff_delay(0, base, cap, rand), c) for c in range(n_clients))
    while pending:
        t, client = pending.pop(0)
        if t > horizon:
            continue
        arrivals.append(t)
        attempts[client] += 1
        window = int(t)
        ok = t >= outage_seconds and served.get(window, 0) < capacity_per_second
        if ok:
            served[window] = served.get(window, 0) + 1
            done_at[client] = t
            continue
        if attempts[client] >= max_attempts:
            continue
        nxt = t + backoff_delay(attempts[client], base, cap, rand)
        _insert_sorted(pending, (nxt, client))
    edges = np.arange(0.0, horizon + bucket_seconds, bucket_seconds)
    load, _ = np.histogram(np.asarray(arrivals, dtype=float), bins=edges)
    return HerdResult(
        bucket_starts=edges[:-1],
        load=load,
        bucket_seconds=bucket_seconds,
        total_requests=len(arrivals),
        all_done_at=max(done_at) if done_at else 0.0,
        outage_seconds=outage_seconds,
        attempts=attempts,
        done_at=done_at,
    )


def _insert_sorted(items: list[tuple[float, int]], item: tuple[float, int]) -> None:
    lo, hi = 0, len(items)
    while lo < hi:
        mid = (lo + hi) // 2
        if items[mid] < item:
            lo = mid + 1
        else:
            hi = mid
    items.insert(lo, item)


# -- idempotency --------------------------------------------------------------------------------
@dataclass
class TicketSystem:
    """A tiny side-effecting service: ``create`` opens a ticket unless the key was seen before."""

    tickets: list[dict[str, Any]] = field(default_factory=list)
    by_key: dict[str, dict[str, Any]] = field(default_factory=dict)

    def create(self, summary: str, idempotency_key: str | None = None) -> dict[str, Any]:
        """Open a ticket; a repeated ``idempotency_key`` returns the first ticket instead."""
        if idempotency_key is not None and idempotency_key in self.by_key:
            return self.by_key[idempotency_key]
        ticket = {"id": f"TCK-{len(self.tickets) + 1:04d}", "summary": summary}
        self.tickets.append(ticket)
        if idempotency_key is not None:
            self.by_key[idempotency_key] = ticket
        return ticket
