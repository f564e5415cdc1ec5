"""In-process interception at the transport, for both HTTP client generations.

While any :class:`InProcess` is active, the default transports of ``httpx`` (anthropic < 1,
openai < 3) and ``httpx2`` (anthropic >= 1, openai >= 3) answer every provider API request
from the simulator, whatever host, base URL, proxy or client options the SDK was given: the
SDKs' own request building, retries, parsing and streaming still run. A request that is no
provider API call may only go to loopback (a notebook's own local server); anything else
is refused with the generation's ``ConnectError``, so nothing leaves the process. The most
recently started simulator answers, so a checker's own ``with llmlab.sim.mock(...)`` inside
a notebook wins over the notebook's ``llmlab.setup()`` until it exits.

A client built with an explicit transport (``http_client=httpx2.Client(transport=...)``,
``MockTransport``) keeps that transport: that is the documented way to mock an SDK yourself.
"""

from __future__ import annotations

import importlib
import ipaddress
import threading
import time
from collections.abc import Callable
from types import ModuleType, TracebackType
from typing import Any
from urllib.parse import urlsplit

from llmlab.sim._engine import Simulator
from llmlab.sim.adapters._transport import route, to_response

#: the client generations that can be patched, imported where installed
GENERATIONS = ("httpx", "httpx2")

_lock = threading.Lock()
_stack: list[InProcess] = []
_saved: dict[str, tuple[Callable[..., Any], Callable[..., Any]]] = {}


def installed_generations() -> list[ModuleType]:
    """The HTTP client modules importable here (one or both of httpx, httpx2)."""
    out = []
    for name in GENERATIONS:
        try:
            out.append(importlib.import_module(name))
        except ImportError:
            continue
    return out


def _is_loopback(url: object) -> bool:
    host = urlsplit(str(url)).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _current() -> InProcess | None:
    with _lock:
        return _stack[-1] if _stack else None


def _refuse(mod: ModuleType, request: Any) -> BaseException:
    error: BaseException = mod.ConnectError(
        f"llmlab simulator mode refused {request.method} {request.url.copy_with(query=None)}: "
        "not an Anthropic or OpenAI API path, and not loopback. Nothing leaves this process "
        "in simulator mode (set LLMLAB_PROVIDER=live to reach the network).",
        request=request,
    )
    return error


def _patch(mod: ModuleType) -> None:
    sync_cls, async_cls = mod.HTTPTransport, mod.AsyncHTTPTransport
    original_sync, original_async = sync_cls.handle_request, async_cls.handle_async_request
    _saved[mod.__name__] = (original_sync, original_async)

    def handle_request(self: Any, request: Any) -> Any:
        sent = time.perf_counter()
        current, target = _current(), route(request.url, request.headers)
        if current is None or (target is None and _is_loopback(request.url)):
            return original_sync(self, request)
        if target is None:
            raise _refuse(mod, request)
        request.read()
        return to_response(mod, current.sim, request, *target, sent)

    async def handle_async_request(self: Any, request: Any) -> Any:
        sent = time.perf_counter()
        current, target = _current(), route(request.url, request.headers)
        if current is None or (target is None and _is_loopback(request.url)):
            return await original_async(self, request)
        if target is None:
            raise _refuse(mod, request)
        await request.aread()
        return to_response(mod, current.sim, request, *target, sent)

    sync_cls.handle_request = handle_request
    async_cls.handle_async_request = handle_async_request


def _unpatch(mod: ModuleType) -> None:
    original_sync, original_async = _saved.pop(mod.__name__)
    mod.HTTPTransport.handle_request = original_sync
    mod.AsyncHTTPTransport.handle_async_request = original_async


class InProcess:
    """Start/stop (or ``with``) to answer both providers' APIs from ``sim`` in this process."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    @property
    def active(self) -> bool:
        with _lock:
            return self in _stack

    def start(self) -> InProcess:
        with _lock:
            if self in _stack:
                return self
            if not _stack:
                for mod in installed_generations():
                    _patch(mod)
            _stack.append(self)
        return self

    def stop(self) -> None:
        with _lock:
            if self not in _stack:
                return
            _stack.remove(self)
            if not _stack:
                for mod in installed_generations():
                    _unpatch(mod)

    def __enter__(self) -> Simulator:
        self.start()
        return self.sim

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()
