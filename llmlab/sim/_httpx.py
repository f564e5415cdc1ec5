"""The httpx side of the simulator: turn an ``httpx.Request`` into a paced ``httpx.Response``.

Delays are real: ``time.sleep`` when a sync client reads, ``asyncio.sleep`` when an async one
does, so concurrency overlaps exactly as it would over a socket. A read timeout that httpx put
on the request fires here as httpx's own ``ReadTimeout``; a cut connection is a
``RemoteProtocolError``. The SDKs turn both into their own typed exceptions.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Iterator
from urllib.parse import urlsplit

import httpx

from llmlab.sim._engine import Simulator
from llmlab.sim._wire import Chunk, Cut, Hang, Piece, Provider, SimRequest, SimResponse


def _read_timeout(request: httpx.Request) -> float | None:
    timeout = request.extensions.get("timeout")
    if isinstance(timeout, dict):
        value = timeout.get("read")
        return float(value) if value is not None else None
    return None


def to_sim_request(request: httpx.Request, provider: Provider, path: str) -> SimRequest:
    headers = {k.lower(): v for k, v in request.headers.items()}
    return SimRequest(
        request.method, provider, path, headers, request.content, _read_timeout(request)
    )


class _PacedStream(httpx.SyncByteStream, httpx.AsyncByteStream):
    """A response body that waits before each piece, in whichever world reads it."""

    def __init__(
        self,
        response: SimResponse,
        request: httpx.Request,
        timeout: float | None,
        sent: float | None = None,
    ) -> None:
        self._response = response
        self._request = request
        self._timeout = timeout
        # until the first byte, a read timeout counts from when the request was sent, so the
        # simulator's own processing time counts against it as a slow server's would; after
        # that each read waits only for its own piece
        self._sent: float | None = time.perf_counter() if sent is None else sent

    def _check(self, piece: Piece) -> tuple[float, bytes | None, BaseException | None]:
        error: BaseException | None
        if isinstance(piece, Chunk):
            wait, data, error = piece.delay, piece.data, None
        elif isinstance(piece, Cut):
            wait, data = piece.delay, None
            error = httpx.RemoteProtocolError(
                "peer closed connection without sending complete message body (incomplete "
                "chunked read)",
                request=self._request,
            )
        else:
            assert isinstance(piece, Hang)
            wait, data = piece.delay, None
            # nobody set a timeout: after the long hang the server gives up and drops us
            error = httpx.RemoteProtocolError(
                "server disconnected without sending a response", request=self._request
            )
        if self._timeout is not None:
            idle = 0.0 if self._sent is None else time.perf_counter() - self._sent
            if idle + wait > self._timeout:
                return (
                    max(self._timeout - idle, 0.0),
                    None,
                    httpx.ReadTimeout("The read operation timed out", request=self._request),
                )
        return wait, data, error

    def __iter__(self) -> Iterator[bytes]:
        try:
            for piece in self._response.body:
                wait, data, error = self._check(piece)
                if wait > 0:
                    time.sleep(wait)
                if error is not None:
                    raise error
                if data:
                    self._sent = None
                    yield data
        finally:
            self._response.close()

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            for piece in self._response.body:
                wait, data, error = self._check(piece)
                if wait > 0:
                    await asyncio.sleep(wait)
                if error is not None:
                    raise error
                if data:
                    self._sent = None
                    yield data
        finally:
            self._response.close()

    def close(self) -> None:
        self._response.close()

    async def aclose(self) -> None:
        self._response.close()


def to_httpx_response(
    sim: Simulator, request: httpx.Request, provider: Provider, path: str
) -> httpx.Response:
    """Answer ``request`` from the simulator; the body is paced as it is read."""
    sent = time.perf_counter()
    sim_request = to_sim_request(request, provider, path)
    response = sim.handle(sim_request)
    return httpx.Response(
        response.status,
        headers=response.headers,
        stream=_PacedStream(response, request, sim_request.read_timeout, sent),
        request=request,
    )


def route(url: httpx.URL | str) -> tuple[Provider, str] | None:
    """Which provider a URL addresses, and the API path under it (None when neither)."""
    parts = urlsplit(str(url))
    host, path = parts.hostname or "", parts.path
    if host == "api.anthropic.com":
        return "anthropic", path
    if host == "api.openai.com":
        return "openai", path
    if path.startswith("/anthropic/"):
        return "anthropic", path[len("/anthropic") :]
    if path.startswith("/openai/"):
        return "openai", path[len("/openai") :]
    return None
