"""Lab 12: caching whole responses (exact and semantic) and routing to the cheapest able model.

An exact cache answers a request it has seen before without calling the model; its key must
be a canonical hash of everything that shapes the answer (model, sampling parameters, tools,
messages) and of the tenant, so one customer never reads another's answer. A semantic cache
also answers *similar* requests, by embedding similarity, and pays for its hits with false
hits. A router sends each request to the cheap model unless it looks hard.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

__all__ = [
    "HEDGES",
    "ResponseCache",
    "cache_key",
    "difficulty",
    "pick_threshold",
    "routed",
    "semantic_lookup",
]


def _canonical_number(value: Any) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return value
    return float(value)  # 0 and 0.0 are the same temperature


def cache_key(
    model: str,
    params: Mapping[str, Any],
    tools: Sequence[Mapping[str, Any]],
    messages: Sequence[Mapping[str, Any]],
    tenant: str,
) -> str:
    """A SHA-256 hex digest of the request in canonical form, scoped to ``tenant``.

    Canonical: dict keys sorted, numbers as floats, parameters left unset (None) dropped,
    tools sorted by name (their order does not change what they offer); messages keep their
    order (it is the conversation).
    """
    canonical = {
        "tenant": tenant,
        "model": model,
        "params": {k: _canonical_number(v) for k, v in params.items() if v is not None},
        "tools": sorted(tools, key=lambda t: json.dumps(t, sort_keys=True)),
        "messages": list(messages),
    }
    blob = json.dumps(canonical, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


@dataclass
class ResponseCache:
    """Answers by key, each kept ``ttl`` seconds after it was stored (clock injected)."""

    ttl: float
    clock: Callable[[], float] = time.monotonic
    hits: int = 0
    misses: int = 0
    _entries: dict[str, tuple[float, Any]] = field(default_factory=dict, repr=False)

    def get(self, key: str) -> Any | None:
        """The stored answer, or None (never stored, or older than the TTL: then dropped)."""
        entry = self._entries.get(key)
        if entry is not None and self.clock() - entry[0] < self.ttl:
            self.hits += 1
            return entry[1]
        self._entries.pop(key, None)
        self.misses += 1
        return None

    def put(self, key: str, answer: Any) -> None:
        self._entries[key] = (self.clock(), answer)

    def __len__(self) -> int:
        return len(self._entries)


def semantic_lookup(query: np.ndarray, keys: np.ndarray, threshold: float) -> int | None:
    """Index of the row of ``keys`` most cosine-similar to ``query``, if at least ``threshold``."""
    if len(keys) == 0:
        return None
    keys = np.asarray(keys, dtype=float)
    query = np.asarray(query, dtype=float)
    sims = keys @ query / (np.linalg.norm(keys, axis=1) * np.linalg.norm(query))
    best = int(np.argmax(sims))
    return best if sims[best] >= threshold else None


#: words that mark a hedged or mixed report: the cheap model's first impression is less safe
HEDGES = (
    "but",
    "although",
    "though",
    "however",
    "unclear",
    "whether",
    "may",
    "might",
    "probably",
    "seems",
    "mostly",
    "except",
)
_SERVICE_WORDS = {
    "checkout": ("checkout", "cart", "order"),
    "payments": ("payment", "card", "refund", "charge", "invoice"),
    "auth": ("auth", "login", "log in", "sign in", "password", "sso"),
    "search": ("search",),
    "inventory": ("inventory", "stock", "warehouse"),
    "notifications": ("notification", "email", "sms", "webhook"),
    "api-gateway": ("gateway", "routing"),
    "database": ("database", "replica", "postgres"),
}


def difficulty(report: str) -> int:
    """Hedge words, plus services named beyond the first: how mixed a report's signals are."""
    low = report.lower()
    hedges = sum(len(re.findall(rf"\b{w}\b", low)) for w in HEDGES)
    services = sum(any(w in low for w in words) for words in _SERVICE_WORDS.values())
    return hedges + max(services - 1, 0)


def routed(
    scores: Sequence[int], cheap: Sequence[float], strong: Sequence[float], threshold: int
) -> list[float]:
    """Per item, the strong model's value where ``score >= threshold``, else the cheap one's."""
    return [s if d >= threshold else c for d, c, s in zip(scores, cheap, strong, strict=True)]


def pick_threshold(
    scores: Sequence[int],
    cheap_ok: Sequence[bool],
    strong_ok: Sequence[bool],
    cheap_usd: Sequence[float],
    strong_usd: Sequence[float],
    min_accuracy: float,
) -> int | None:
    """The cheapest routing threshold whose accuracy on the labelled set is >= ``min_accuracy``.

    Threshold t escalates every item with ``score >= t`` to the strong model: t = 0 sends all,
    t = max(score) + 1 none. Ties in cost go to the more accurate threshold, then the larger t.
    None when no threshold is accurate enough.
    """
    best: tuple[float, float, int] | None = None
    for t in range(0, max(scores, default=0) + 2):
        ok = routed(scores, [float(x) for x in cheap_ok], [float(x) for x in strong_ok], t)
        accuracy = sum(ok) / len(ok) if ok else 0.0
        if accuracy < min_accuracy:
            continue
        usd = sum(routed(scores, cheap_usd, strong_usd, t))
        candidate = (usd, -accuracy, -t)
        if best is None or candidate < best:
            best = candidate
    return None if best is None else -best[2]
