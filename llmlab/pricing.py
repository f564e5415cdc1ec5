"""What an LLM call costs, from genai-prices' bundled price snapshot (never fetched live).

Token counts follow Anthropic's usage convention: ``input_tokens`` is the UNCACHED part of
the prompt; cache writes and cache reads are reported beside it, not inside it. (OpenAI's
``prompt_tokens`` includes ``cached_tokens``: pass ``prompt_tokens - cached_tokens`` as
``input_tokens`` and ``cached_tokens`` as ``cache_read_tokens``.)
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from importlib.metadata import version
from typing import Any

from genai_prices import Usage
from genai_prices.data_snapshot import get_snapshot
from genai_prices.types import ModelInfo, ModelPrice, Provider, TieredPrices, calc_unit_price

from llmlab._exceptions import PricingError

__all__ = ["PRICES_AS_OF", "CostBreakdown", "ModelPrices", "cost", "prices"]

_PER_MTOK = 1_000_000

# genai-prices version -> date of the newest dated fact in its bundled snapshot.
# The wheel carries no build date (its zip entries are stamped 2020-02-02 for reproducible
# builds), so we read the data itself: in 0.2.3 the newest entry is a model launched on
# 2026-11-04 (the newest "checked on" note is 2026-11-03). Dates of announced FUTURE price
# changes (e.g. 2027-01-01) are not evidence of when the snapshot was taken and are ignored.
# Add a row when the genai-prices pin moves (tests/test_pricing.py fails until you do).
_SNAPSHOT_DATES = {"0.2.3": "2026-11-04"}
GENAI_PRICES_VERSION = version("genai-prices")

PRICES_AS_OF: str = _SNAPSHOT_DATES.get(GENAI_PRICES_VERSION, "unknown")
"""ISO date up to which the bundled prices were collected (no price can be newer than this).

Every price here is "as of" this date: providers change prices, so verify current ones on
their pricing pages before quoting a figure. ``"unknown"`` if genai-prices was upgraded
without updating ``_SNAPSHOT_DATES``.
"""


def _snapshot_timestamp() -> datetime:
    """Price at the snapshot date, so outputs are reproducible and match ``PRICES_AS_OF``."""
    if PRICES_AS_OF == "unknown":
        return datetime.now(tz=UTC)
    return datetime.combine(date.fromisoformat(PRICES_AS_OF), datetime.min.time(), tzinfo=UTC)


@dataclass(frozen=True)
class ModelPrices:
    """A model's list prices in USD per million tokens; ``None`` = no separate rate.

    With no separate cache rate the tokens bill as ordinary input (OpenAI has no cache-write
    fee). For tiered (long-context) models these are the base-tier prices.
    """

    model: str
    provider: str
    input: Decimal
    output: Decimal
    cache_read: Decimal | None
    cache_write_5m: Decimal | None
    cache_write_1h: Decimal | None
    tiered: bool
    prices_as_of: str


@dataclass(frozen=True)
class CostBreakdown:
    """The USD cost of one call, split by token kind; ``total_usd`` is the sum of the parts."""

    model: str
    input_usd: Decimal
    output_usd: Decimal
    cache_write_usd: Decimal
    cache_read_usd: Decimal
    total_usd: Decimal
    prices_as_of: str

    def __str__(self) -> str:
        return (
            f"{self.model}: ${self.total_usd:.6f} (input ${self.input_usd:.6f}, "
            f"output ${self.output_usd:.6f}, cache write ${self.cache_write_usd:.6f}, "
            f"cache read ${self.cache_read_usd:.6f}); "
            f"prices as of {self.prices_as_of} — verify current"
        )

    def _repr_pretty_(self, p: Any, cycle: bool) -> None:
        """IPython's text/plain: the one-liner rather than the field-by-field repr."""
        p.text(str(self))

    def _repr_html_(self) -> str:
        return f"<code>{html.escape(str(self))}</code>"


#: embedding models genai-prices' snapshot does not carry: input-only list prices, USD per
#: million tokens, from OpenAI's pricing page (text-embedding-3-small $0.02, -large $0.13)
EMBEDDING_PRICES: dict[str, Decimal] = {
    "text-embedding-3-small": Decimal("0.02"),
    "text-embedding-3-large": Decimal("0.13"),
}


def _embedding_cost(model: str, input_tokens: int, output_tokens: int) -> CostBreakdown:
    if output_tokens:
        raise ValueError(f"{model} is an embedding model: it has no output tokens")
    usd = _tidy(EMBEDDING_PRICES[model] * input_tokens / _PER_MTOK)
    zero = Decimal(0)
    return CostBreakdown(model, usd, zero, zero, zero, usd, PRICES_AS_OF)


def _tidy(value: Decimal) -> Decimal:
    """Drop trailing zeros (0.00150 -> 0.0015, 0.00 -> 0) without switching to exponents."""
    return value.quantize(Decimal(1)) if value == value.to_integral() else value.normalize()


def _lookup(model: str, provider: str | None) -> tuple[Provider, ModelInfo]:
    try:
        return get_snapshot().find_provider_model(model, None, provider, None)
    except LookupError as exc:
        where = f" from provider {provider!r}" if provider else ""
        raise PricingError(
            f"no price for model {model!r}{where} in the genai-prices {GENAI_PRICES_VERSION} "
            f"snapshot (prices as of {PRICES_AS_OF}): {exc}"
        ) from exc


def _rate(price: ModelPrice, *keys: str) -> Decimal | TieredPrices | None:
    """The first price present among ``keys`` (how genai-prices falls back to a parent unit)."""
    for key in keys:
        value = getattr(price, key)
        if value is not None:
            assert isinstance(value, Decimal | TieredPrices)
            return value
    return None


def _base(value: Decimal | TieredPrices | None) -> Decimal | None:
    return value.base if isinstance(value, TieredPrices) else value


def prices(model: str, provider: str | None = None) -> ModelPrices:
    """List prices for ``model`` (e.g. ``"claude-sonnet-4-5"``, ``"gpt-4o"``) as of the snapshot.

    Raises ``PricingError`` for a model or provider the snapshot does not know.
    """
    if model in EMBEDDING_PRICES and provider in (None, "openai"):
        per_mtok = EMBEDDING_PRICES[model]
        return ModelPrices(
            model, "openai", per_mtok, Decimal(0), None, None, None, False, PRICES_AS_OF
        )
    found_provider, info = _lookup(model, provider)
    price = info.get_prices(_snapshot_timestamp())
    fields = (
        "input_mtok",
        "output_mtok",
        "cache_read_mtok",
        "cache_write_mtok",
        "cache_write_5m_mtok",
        "cache_write_1h_mtok",
    )
    input_price = _base(_rate(price, "input_mtok"))
    output_price = _base(_rate(price, "output_mtok"))
    if input_price is None or output_price is None:
        raise PricingError(f"model {model!r} has no per-token input/output price")
    return ModelPrices(
        model=info.id,
        provider=found_provider.id,
        input=input_price,
        output=output_price,
        cache_read=_base(_rate(price, "cache_read_mtok")),
        cache_write_5m=_base(_rate(price, "cache_write_5m_mtok", "cache_write_mtok")),
        cache_write_1h=_base(_rate(price, "cache_write_1h_mtok")),
        tiered=any(isinstance(getattr(price, f), TieredPrices) for f in fields),
        prices_as_of=PRICES_AS_OF,
    )


def _check_counts(**counts: int) -> None:
    for name, value in counts.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            raise ValueError(f"{name} must be a non-negative int, got {value!r}")


def cost(
    model: str,
    *,
    input_tokens: int,
    output_tokens: int,
    cache_write_tokens: int = 0,
    cache_write_1h_tokens: int = 0,
    cache_read_tokens: int = 0,
    provider: str | None = None,
) -> CostBreakdown:
    """The USD cost of one call, priced as of ``PRICES_AS_OF``.

    Arguments map 1:1 onto Anthropic's ``usage``: ``input_tokens`` is the UNCACHED input,
    ``cache_write_tokens`` all cache writes (``cache_creation_input_tokens``),
    ``cache_write_1h_tokens`` the part of those written with a 1-hour TTL, and
    ``cache_read_tokens`` the cache hits (``cache_read_input_tokens``).
    Raises ``PricingError`` for an unknown model, ``ValueError`` for impossible counts.
    """
    _check_counts(
        input_tokens=input_tokens,
        output_tokens=output_tokens,
        cache_write_tokens=cache_write_tokens,
        cache_write_1h_tokens=cache_write_1h_tokens,
        cache_read_tokens=cache_read_tokens,
    )
    if cache_write_1h_tokens > cache_write_tokens:
        raise ValueError(
            "cache_write_1h_tokens is the 1h part of cache_write_tokens, so it cannot exceed it "
            f"({cache_write_1h_tokens} > {cache_write_tokens})"
        )
    if model in EMBEDDING_PRICES and provider in (None, "openai") and not cache_read_tokens:
        if cache_write_tokens:
            raise ValueError(f"{model} is an embedding model: nothing is written to a cache")
        return _embedding_cost(model, input_tokens, output_tokens)
    found_provider, info = _lookup(model, provider)
    when = _snapshot_timestamp()
    price = info.get_prices(when)
    write_5m = cache_write_tokens - cache_write_1h_tokens
    # genai-prices wants the TOTAL input, with the cache counts as parts of it.
    total_input = input_tokens + cache_write_tokens + cache_read_tokens
    usage = Usage(
        input_tokens=total_input,
        output_tokens=output_tokens,
        cache_read_tokens=cache_read_tokens,
        cache_write_tokens=cache_write_tokens,
        cache_write_5m_tokens=write_5m,
        cache_write_1h_tokens=cache_write_1h_tokens,
    )
    calc = info.calc_price(usage, found_provider, genai_request_timestamp=when)

    def part(count: int, *keys: str) -> Decimal:
        return calc_unit_price(_rate(price, *keys), count, total_input, _PER_MTOK)

    cache_read_usd = part(cache_read_tokens, "cache_read_mtok", "input_mtok")
    cache_write_usd = part(
        write_5m, "cache_write_5m_mtok", "cache_write_mtok", "input_mtok"
    ) + part(cache_write_1h_tokens, "cache_write_1h_mtok", "cache_write_mtok", "input_mtok")
    # genai-prices is the authority on the input total; the uncached part is what is left.
    input_usd = _tidy(calc.input_price - cache_write_usd - cache_read_usd)
    output_usd = _tidy(calc.output_price)
    cache_write_usd, cache_read_usd = _tidy(cache_write_usd), _tidy(cache_read_usd)
    return CostBreakdown(
        model=info.id,
        input_usd=input_usd,
        output_usd=output_usd,
        cache_write_usd=cache_write_usd,
        cache_read_usd=cache_read_usd,
        total_usd=_tidy(input_usd + output_usd + cache_write_usd + cache_read_usd),
        prices_as_of=PRICES_AS_OF,
    )
