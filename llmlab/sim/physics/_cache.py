"""Prompt caches on the simulator clock.

Anthropic: explicit breakpoints. OpenAI: automatic prefixes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

import numpy as np

TTL_SECONDS = {"5m": 300.0, "1h": 3600.0}
#: blocks the lookup checks from each breakpoint back (the breakpoint's own block included)
LOOKBACK = 20
#: Prefixes one cache keeps (~250 bytes each): far beyond any lab's working set, so only a
#: flood of distinct long prompts ever meets the bound (real caches evict under pressure too).
MAX_ENTRIES = 20_000

_E = TypeVar("_E")


def _bound(entries: dict[str, _E], expires: Callable[[_E], float], now: float) -> None:
    """Past MAX_ENTRIES, drop expired entries, then those closest to expiring, to 3/4 of it."""
    if len(entries) <= MAX_ENTRIES:
        return
    for key in [k for k, v in entries.items() if expires(v) <= now]:
        del entries[key]
    excess = len(entries) - MAX_ENTRIES * 3 // 4
    if excess > 0:
        for key in sorted(entries, key=lambda k: expires(entries[k]))[:excess]:
            del entries[key]


@dataclass(frozen=True)
class Segment:
    """One cacheable unit of the prompt in prefix order (tools -> system -> messages)."""

    key: bytes  # canonical bytes: any byte change misses
    tokens: int
    ttl: str | None = None  # set where the block carries cache_control (a breakpoint)


@dataclass
class CacheResult:
    read: int = 0
    written_5m: int = 0
    written_1h: int = 0

    @property
    def written(self) -> int:
        return self.written_5m + self.written_1h


@dataclass
class _Entry:
    expires: float
    ttl: float


@dataclass
class AnthropicCache:
    """Explicit breakpoints; a hit refreshes the TTL; below the model minimum nothing is cached."""

    entries: dict[str, _Entry] = field(default_factory=dict)

    def lookup(
        self, namespace: str, segments: Sequence[Segment], min_tokens: int, now: float
    ) -> CacheResult:
        digest = hashlib.sha256(namespace.encode())
        boundaries: list[tuple[str, int]] = []  # (prefix key, cumulative tokens) per block
        total = 0
        for seg in segments:
            digest.update(len(seg.key).to_bytes(8, "big"))
            digest.update(seg.key)
            total += seg.tokens
            boundaries.append((digest.copy().hexdigest(), total))
        breakpoints = [j for j, seg in enumerate(segments) if seg.ttl is not None]
        result = CacheResult()
        hit_at = self._longest_hit(boundaries, breakpoints, now)
        if hit_at >= 0:
            result.read = boundaries[hit_at][1]
        covered = result.read
        for j in breakpoints:
            key, tokens = boundaries[j]
            ttl = segments[j].ttl
            if j <= hit_at or tokens < min_tokens or ttl is None:
                continue
            seconds = TTL_SECONDS[ttl]
            self.entries[key] = _Entry(now + seconds, seconds)
            if ttl == "1h":
                result.written_1h += tokens - covered
            else:
                result.written_5m += tokens - covered
            covered = tokens
        _bound(self.entries, lambda e: e.expires, now)
        return result

    def _longest_hit(
        self, boundaries: Sequence[tuple[str, int]], breakpoints: Sequence[int], now: float
    ) -> int:
        """The block index of the longest live cached prefix, or -1.

        From each breakpoint, the lookup walks back at most ``LOOKBACK`` blocks: a prefix
        written at an earlier turn's breakpoint is found although this request puts its own
        breakpoint further on (how a growing conversation keeps reading its cache).
        """
        for j in reversed(breakpoints):
            for k in range(j, max(j - LOOKBACK, -1), -1):
                entry = self.entries.get(boundaries[k][0])
                if entry is not None and entry.expires > now:
                    entry.expires = now + entry.ttl  # reads refresh the TTL at no cost
                    return k
        return -1


#: the shortest prompt OpenAI caches: a shorter one neither hits nor is stored
OPENAI_MIN_TOKENS = 1024


@dataclass
class OpenAICache:
    """Automatic prefix caching: from 1024 tokens, hits in 128-token steps, no write fee."""

    idle_ttl: float = 600.0  # entries usually live 5-10 minutes idle
    max_age: float = 3600.0
    entries: dict[str, tuple[float, float]] = field(default_factory=dict)  # key -> (expires, born)

    def lookup(self, namespace: str, tokens: Sequence[int], now: float) -> int:
        """Cached tokens for this prompt; stores its prefixes for the next request."""
        if len(tokens) < OPENAI_MIN_TOKENS:
            return 0
        boundaries = list(range(OPENAI_MIN_TOKENS, len(tokens) + 1, 128))
        keys = []
        digest = hashlib.sha256(namespace.encode())
        # the ids as 8-byte integers, hashed block by block: formatting each id as text took
        # ~20 ms per 100k-token prompt (keys only need to be the same for the same prefix)
        raw = np.asarray(tokens, dtype=np.int64).tobytes()
        start = 0
        for b in boundaries:
            digest.update(raw[8 * start : 8 * b])
            keys.append(digest.copy().hexdigest())
            start = b
        cached = 0
        for b, key in zip(reversed(boundaries), reversed(keys), strict=True):
            hit = self.entries.get(key)
            if hit is not None and hit[0] > now and now - hit[1] < self.max_age:
                cached = b
                break
        for b, key in zip(boundaries, keys, strict=True):
            born = self.entries[key][1] if key in self.entries and b <= cached else now
            self.entries[key] = (now + self.idle_ttl, born)
        _bound(self.entries, lambda e: e[0], now)
        return cached
