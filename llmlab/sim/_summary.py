"""What the simulator did, for a notebook to show without digging into internals."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from llmlab.sim._engine import Simulator


@dataclass(frozen=True)
class SimSummary:
    calls: dict[str, int]
    errors: dict[str, int]
    cache_hit_rate: float  # cached input tokens / all input tokens
    billed_usd: float
    billed_requests: int
    time_scale: float

    @classmethod
    def of(cls, sim: Simulator) -> SimSummary:
        stats = sim.stats
        rate = stats.cached_tokens / stats.input_tokens if stats.input_tokens else 0.0
        return cls(
            dict(stats.calls),
            dict(stats.errors),
            rate,
            sim.billing.total_usd,
            len(sim.billing.records),
            sim.time_scale,
        )

    def __str__(self) -> str:
        calls = ", ".join(f"{k}: {v}" for k, v in sorted(self.calls.items())) or "none"
        errors = ", ".join(f"{k}: {v}" for k, v in sorted(self.errors.items())) or "none"
        return (
            f"simulator: calls {calls} | errors {errors} | cache hit rate "
            f"{self.cache_hit_rate:.0%} | billed ${self.billed_usd:.4f} over "
            f"{self.billed_requests} requests"
        )

    def _repr_html_(self) -> str:
        rows = [
            ("calls", self.calls or "none"),
            ("errors", self.errors or "none"),
            ("cache hit rate (input tokens)", f"{self.cache_hit_rate:.0%}"),
            ("billed", f"${self.billed_usd:.4f} over {self.billed_requests} requests"),
        ]
        body = "".join(
            f"<tr><th style='text-align:left'>{k}</th><td>{v}</td></tr>" for k, v in rows
        )
        return f"<table><caption>Simulator summary</caption>{body}</table>"
