"""Transport-agnostic request and response shapes shared by the engine and its adapters.

The engine never sees httpx, ASGI or sockets: an adapter turns what arrived into a
:class:`SimRequest` and plays the :class:`SimResponse` back, pacing each chunk by its delay.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Literal

Provider = Literal["anthropic", "openai"]


@dataclass(frozen=True)
class SimRequest:
    """One HTTP request as the simulator sees it, after the adapter stripped the provider prefix."""

    method: str
    provider: Provider
    path: str  # e.g. "/v1/messages"
    headers: Mapping[str, str]  # lower-cased names
    body: bytes = b""
    read_timeout: float | None = None  # seconds, real time; None means wait forever


@dataclass(frozen=True)
class Chunk:
    """Bytes to deliver after waiting ``delay`` real seconds since the previous chunk."""

    delay: float
    data: bytes


@dataclass(frozen=True)
class Cut:
    """The connection drops after waiting ``delay`` seconds (an adapter raises its own error)."""

    delay: float = 0.0


@dataclass(frozen=True)
class Hang:
    """Nothing more arrives for ``delay`` seconds, then the connection drops (a read timeout)."""

    delay: float


Piece = Chunk | Cut | Hang


@dataclass
class SimResponse:
    """Status and headers arrive at once; the body arrives piece by piece as ``body`` yields.

    ``body`` is a generator: an adapter that stops iterating early must call ``close()`` on it,
    which is how the engine learns a stream was cancelled (and bills only what was sent).
    """

    status: int
    headers: dict[str, str]
    body: Iterator[Piece]
    streaming: bool = False
    meta: dict[str, object] = field(default_factory=dict)

    def close(self) -> None:
        close = getattr(self.body, "close", None)
        if close is not None:
            close()
