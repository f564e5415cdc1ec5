"""The models each simulated provider serves: real ids, context windows, output limits and latency.

Latency profiles are calibrated (see ``llmlab/sim/PHYSICS.md``) to published figures. Claude
profiles fit both of Anthropic's caching points (cached / uncached TTFT 0.69 at 10k tokens, 0.21
at 100k) and keep their short-prompt TTFT; OpenAI's cached prefill is 20 % of uncached ("up to
80 %" lower latency).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from llmlab._exceptions import SimulatorError
from llmlab.sim._exchange import Provider


@dataclass(frozen=True)
class LatencyProfile:
    """Seconds of simulated time (before the global time scale is applied)."""

    # claude-sonnet-4-x. Anthropic's two published caching ratios (10k tokens 1.6 -> 1.1 s,
    # 100k 11.5 -> 2.4 s) need base = 20,517 tokens of prefill and cached = 4.63 % of uncached
    # (PHYSICS.md); the scale is set by keeping the 0.45 s short-prompt TTFT
    base: float = 0.45  # network, scheduling and the prompt-independent part of TTFT
    prefill_per_token: float = 21.9e-6  # uncached input: base / 20,517; 100k tokens -> 2.64 s
    cached_per_token: float = 1.02e-6  # cached input: 4.63 % of uncached
    decode_per_token: float = 0.02  # 50 tokens/s
    jitter: float = 0.08  # sigma of a multiplicative log-normal factor


@dataclass(frozen=True)
class ModelProfile:
    id: str
    provider: Provider
    context_window: int
    max_output: int
    encoding: str  # tiktoken encoding used to count (a documented stand-in for Anthropic)
    cache_min_tokens: int = 1024
    latency: LatencyProfile = LatencyProfile()
    created: int = 1_730_000_000
    display_name: str = ""
    # the model's lifecycle as /v1/models reports it; a retired model answers 404 to inference
    lifecycle: Literal["active", "deprecated", "retired"] = "active"
    deprecated_at: str | None = None  # RFC 3339 date
    retires_at: str | None = None
    # "embedding" models answer /v1/embeddings only, with vectors of ``dimensions`` floats
    kind: Literal["chat", "embedding"] = "chat"
    dimensions: int = 0


# Haiku and Opus: the same fitted shape (base = 20,517 tokens of prefill, cached 4.63 %), so the
# same cached / uncached ratios, each from its own short-prompt TTFT
_FAST = LatencyProfile(
    base=0.3, prefill_per_token=14.6e-6, cached_per_token=0.68e-6, decode_per_token=0.01
)
_SLOW = LatencyProfile(
    base=0.7, prefill_per_token=34.1e-6, cached_per_token=1.58e-6, decode_per_token=0.03
)
# OpenAI publishes no two-point table: cached prefill 20 % of uncached, its "up to 80 %"
_OPENAI = LatencyProfile(
    base=0.4, prefill_per_token=100e-6, cached_per_token=20e-6, decode_per_token=0.02
)
_OPENAI_FAST = LatencyProfile(
    base=0.3, prefill_per_token=55e-6, cached_per_token=11e-6, decode_per_token=0.012
)

#: embeddings: one forward pass, no decoding (about 0.1 s plus 10 us per input token)
_EMBED = LatencyProfile(
    base=0.1, prefill_per_token=10e-6, cached_per_token=10e-6, decode_per_token=0
)

_MODELS = [
    ModelProfile(
        "claude-sonnet-4-6",
        "anthropic",
        200_000,
        64_000,
        "cl100k_base",
        1024,
        created=1_770_000_000,
        display_name="Claude Sonnet 4.6",
    ),
    ModelProfile(
        "claude-sonnet-4-5",
        "anthropic",
        200_000,
        64_000,
        "cl100k_base",
        1024,
        created=1_759_000_000,
        display_name="Claude Sonnet 4.5",
        # anthropic 2.14's DEPRECATED_MODELS: end of life 2026-11-30
        lifecycle="retired",
        deprecated_at="2026-05-29T00:00:00Z",
        retires_at="2026-11-30T00:00:00Z",
    ),
    ModelProfile(
        "claude-haiku-4-5",
        "anthropic",
        200_000,
        64_000,
        "cl100k_base",
        4096,
        _FAST,
        created=1_760_000_000,
        display_name="Claude Haiku 4.5",
    ),
    ModelProfile(
        "claude-opus-4-1",
        "anthropic",
        200_000,
        32_000,
        "cl100k_base",
        1024,
        _SLOW,
        created=1_754_000_000,
        display_name="Claude Opus 4.1",
    ),
    ModelProfile(
        "gpt-4o", "openai", 128_000, 16_384, "o200k_base", 1024, _OPENAI, created=1_715_367_049
    ),
    ModelProfile(
        "gpt-4o-mini",
        "openai",
        128_000,
        16_384,
        "o200k_base",
        1024,
        _OPENAI_FAST,
        created=1_721_172_741,
    ),
    ModelProfile(
        "gpt-4.1", "openai", 1_047_576, 32_768, "o200k_base", 1024, _OPENAI, created=1_744_316_542
    ),
    ModelProfile(
        "gpt-4.1-mini",
        "openai",
        1_047_576,
        32_768,
        "o200k_base",
        1024,
        _OPENAI_FAST,
        created=1_744_318_173,
    ),
    ModelProfile(
        "text-embedding-3-small",
        "openai",
        8192,
        0,
        "cl100k_base",
        latency=_EMBED,
        created=1_705_948_997,
        kind="embedding",
        dimensions=1536,
    ),
    ModelProfile(
        "text-embedding-3-large",
        "openai",
        8192,
        0,
        "cl100k_base",
        latency=_EMBED,
        created=1_705_953_180,
        kind="embedding",
        dimensions=3072,
    ),
]
_ALIASES = {
    "claude-sonnet-4-5-20250929": "claude-sonnet-4-5",
    "claude-haiku-4-5-20251001": "claude-haiku-4-5",
    "claude-opus-4-1-20250805": "claude-opus-4-1",
    "gpt-4o-2024-08-06": "gpt-4o",
    "gpt-4o-mini-2024-07-18": "gpt-4o-mini",
    "gpt-4.1-2025-04-14": "gpt-4.1",
    "gpt-4.1-mini-2025-04-14": "gpt-4.1-mini",
}
MODELS: dict[str, ModelProfile] = {m.id: m for m in _MODELS}
DEFAULT_MODEL: dict[Provider, str] = {"anthropic": "claude-sonnet-4-6", "openai": "gpt-4.1-mini"}


def lookup(
    model: str, provider: Provider, kind: Literal["chat", "embedding"] | None = "chat"
) -> ModelProfile | None:
    """The ``kind`` of model (None: any) serving ``model`` on ``provider`` (dated snapshots
    resolve to their alias)."""
    profile = MODELS.get(_ALIASES.get(model, model))
    if profile is None or profile.provider != provider:
        return None
    return profile if kind is None or profile.kind == kind else None


def models_for(provider: Provider) -> list[ModelProfile]:
    return [m for m in _MODELS if m.provider == provider]


def require(model: str) -> ModelProfile:
    """The profile for ``model`` on either provider, or a clear error listing the known ids."""
    profile = MODELS.get(_ALIASES.get(model, model))
    if profile is None:
        raise SimulatorError(f"unknown model {model!r}; the simulator serves {sorted(MODELS)}")
    return profile
