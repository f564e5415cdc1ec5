"""Billing truth: what the simulated providers would charge, per request id and token class."""

from __future__ import annotations

import functools
import threading
from dataclasses import asdict, dataclass, field

from llmlab.pricing import cost


@functools.lru_cache(maxsize=4096)
def _usd(
    model: str,
    provider: str,
    input_tokens: int,
    output_tokens: int,
    write_5m: int,
    write_1h: int,
    read: int,
) -> float:
    """USD of one call, memoised: pricing through genai-prices took as long as a bare SDK call,
    and a notebook bills the same few token counts over and over (the price is a pure
    function of its arguments and the bundled snapshot)."""
    return float(
        cost(
            model,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cache_write_tokens=write_5m + write_1h,  # all writes; 1h is a part
            cache_write_1h_tokens=write_1h,
            cache_read_tokens=read,
            provider=provider,
        ).total_usd
    )


@dataclass(frozen=True, slots=True)
class BillingRecord:
    """What one request was billed: ids and token counts, never a body (kept per call)."""

    request_id: str
    provider: str
    model: str
    input_tokens: int  # uncached input
    output_tokens: int
    cache_write_5m_tokens: int
    cache_write_1h_tokens: int
    cache_read_tokens: int
    cost_usd: float
    complete: bool  # False when the client closed a stream early


@dataclass
class Billing:
    records: list[BillingRecord] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def charge(
        self,
        request_id: str,
        provider: str,
        model: str,
        *,
        input_tokens: int,
        output_tokens: int,
        write_5m: int = 0,
        write_1h: int = 0,
        read: int = 0,
        complete: bool = True,
    ) -> BillingRecord:
        usd = _usd(model, provider, input_tokens, output_tokens, write_5m, write_1h, read)
        record = BillingRecord(
            request_id,
            provider,
            model,
            input_tokens,
            output_tokens,
            write_5m,
            write_1h,
            read,
            usd,
            complete,
        )
        with self._lock:
            self.records.append(record)
        return record

    @property
    def total_usd(self) -> float:
        return sum(r.cost_usd for r in self.records)

    def by_request(self) -> dict[str, BillingRecord]:
        return {r.request_id: r for r in self.records}

    def as_rows(self) -> list[dict[str, object]]:
        return [asdict(r) for r in self.records]
