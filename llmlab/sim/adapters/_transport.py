"""The client side of the simulator: an ``httpx`` or ``httpx2`` request in, a paced response out.

Both generations share one transport API (``httpx2`` is a fork of ``httpx``), so one adapter
serves both: it is handed the module the request came from and answers with that module's own
``Response`` and exceptions. Delays are real: ``time.sleep`` when a sync client reads,
``asyncio.sleep`` when an async one does, so concurrency overlaps exactly as over a socket. A
read timeout set on the request fires as the module's own ``ReadTimeout``; a cut connection is
its ``RemoteProtocolError``. The SDKs turn both into their own typed exceptions.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Callable, Iterator
from types import ModuleType
from typing import Any
from urllib.parse import urlsplit

from llmlab.sim._engine import Simulator
from llmlab.sim._exchange import Chunk, Cut, Hang, Piece, Provider, SimRequest, SimResponse

#: paths only the OpenAI API has; everything else under /v1/ is told apart by its headers
_OPENAI_ONLY = ("/v1/chat/", "/v1/responses", "/v1/embeddings", "/v1/completions")
_HOSTS: dict[str, Provider] = {"api.anthropic.com": "anthropic", "api.openai.com": "openai"}
#: the HTTP simulator's own layout: /anthropic/v1/... and /openai/v1/...
_PREFIXED: tuple[Provider, ...] = ("anthropic", "openai")
#: waits shorter than this are not slept: a sleep call costs ~0.1 ms of its own, more than
#: the wait, and the schedule is absolute, so a skipped wait is made up by the next sleep
#: (a chunk is never more than this early, and the body never ends early)
MIN_SLEEP = 2e-4


def _read_timeout(request: Any) -> float | None:
    timeout = request.extensions.get("timeout")
    if isinstance(timeout, dict):
        value = timeout.get("read")
        return float(value) if value is not None else None
    return None


def to_sim_request(request: Any, provider: Provider, path: str) -> SimRequest:
    """The engine's view of an httpx/httpx2 request whose body has been read."""
    # both generations' Headers.items() already give lower-cased names (repeats comma-joined)
    headers = dict(request.headers.items())
    return SimRequest(
        request.method, provider, path, headers, request.content, _read_timeout(request)
    )


def _stepper(response: SimResponse) -> Callable[[], Piece]:
    """What returns ``response``'s next piece (StopIteration at the end): with the chunks due
    within ``MIN_SLEEP`` of each other joined (see ``_Playback.take``) when the body can: the
    same bytes on the same schedule, in fewer, larger pieces, since no sleep separates them."""
    body = response.body
    take = getattr(body, "take", None)
    return body.__next__ if take is None else functools.partial(take, MIN_SLEEP)


def pieces(response: SimResponse) -> Iterator[Piece]:
    """``response``'s body, piece by piece as ``_stepper`` gives them."""
    step = _stepper(response)
    while True:
        try:
            piece = step()
        except StopIteration:
            return
        yield piece


@functools.cache
def _paced_stream_class(mod: ModuleType) -> type[Any]:
    """A body that waits before each piece, built on ``mod``'s stream classes (one per module)."""

    class PacedStream(mod.SyncByteStream, mod.AsyncByteStream):  # type: ignore[name-defined,misc]
        def __init__(self, response: SimResponse, request: Any, timeout: float | None, sent: float):
            self._response = response
            self._request = request
            self._timeout = timeout
            # until the first byte, a read timeout counts from when the request was sent, so
            # the simulator's own processing time counts against it as a slow server's would;
            # after that each read waits only for its own piece
            self._sent: float | None = sent

        def _check(self, piece: Piece) -> tuple[float, bytes | None, BaseException | None]:
            error: BaseException | None
            if isinstance(piece, Chunk):
                wait, data, error = piece.delay, piece.data, None
            elif isinstance(piece, Cut):
                wait, data = piece.delay, None
                error = mod.RemoteProtocolError(
                    "peer closed connection without sending complete message body (incomplete "
                    "chunked read)",
                    request=self._request,
                )
            else:
                assert isinstance(piece, Hang)
                wait, data = piece.delay, None
                # nobody set a timeout: after the long hang the server gives up and drops us
                error = mod.RemoteProtocolError(
                    "server disconnected without sending a response", request=self._request
                )
            if self._timeout is not None:
                idle = 0.0 if self._sent is None else time.perf_counter() - self._sent
                if idle + wait > self._timeout:
                    timeout = mod.ReadTimeout("The read operation timed out", request=self._request)
                    return max(self._timeout - idle, 0.0), None, timeout
            return wait, data, error

        def __iter__(self) -> Iterator[bytes]:
            try:
                for piece in pieces(self._response):
                    wait, data, error = self._check(piece)
                    if wait >= MIN_SLEEP:
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
                for piece in pieces(self._response):
                    wait, data, error = self._check(piece)
                    if wait >= MIN_SLEEP:
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

    PacedStream.__name__ = PacedStream.__qualname__ = f"PacedStream[{mod.__name__}]"
    return PacedStream


def to_response(
    mod: ModuleType, sim: Simulator, request: Any, provider: Provider, path: str, sent: float
) -> Any:
    """Answer ``request`` (an ``mod.Request`` whose body was read) from ``sim``, paced as read."""
    sim_request = to_sim_request(request, provider, path)
    response = sim.handle(sim_request)
    stream = _paced_stream_class(mod)(response, request, sim_request.read_timeout, sent)
    return mod.Response(response.status, headers=response.headers, stream=stream, request=request)


def route(url: object, headers: Any = None) -> tuple[Provider, str] | None:
    """Which provider a request addresses, and the API path under it; None when neither.

    The providers' own hosts route by host. Any other host routes by path, so a base-URL
    variable (a gateway, a proxy, the HTTP simulator) cannot switch the simulator off: the
    path from ``/v1/`` on is the API path, and ``anthropic-version`` (sent by every Anthropic
    client) tells the two providers apart where the path alone does not (``/v1/models``).
    """
    parts = urlsplit(str(url))
    host, path = parts.hostname or "", parts.path
    if host in _HOSTS:
        return _HOSTS[host], path
    for provider in _PREFIXED:
        prefix = f"/{provider}/"
        if path.startswith(prefix) and "/v1/" in path:
            return provider, path[len(prefix) - 1 :]
    at = path.find("/v1/")
    if at < 0:
        return None
    api_path = path[at:]
    names = {k.lower() for k in (headers.keys() if headers is not None else ())}
    if api_path.startswith(_OPENAI_ONLY):
        return "openai", api_path
    if "anthropic-version" in names or api_path.startswith("/v1/messages"):
        return "anthropic", api_path
    return "openai", api_path
