"""In-process interception: respx routes the SDKs' httpx requests to the simulator.

Only the providers' hosts are routed; anything else passes through untouched. One respx router
serves every active :class:`InProcess`; the most recently started one answers, so a checker's
own ``with llmlab.sim.mock(...)`` inside a notebook wins over the notebook's ``llmlab.setup()``
until it exits.
"""

from __future__ import annotations

import threading
from types import TracebackType

import httpx
import respx

from llmlab.sim._engine import Simulator
from llmlab.sim._httpx import route, to_httpx_response

HOSTS = ("api.anthropic.com", "api.openai.com")

_lock = threading.Lock()
_stack: list[InProcess] = []
_router: respx.MockRouter | None = None


def _answer(request: httpx.Request) -> httpx.Response:
    with _lock:
        current = _stack[-1] if _stack else None
    target = route(request.url)
    if current is None or target is None:  # the simulator stopped while this request was routed
        raise httpx.ConnectError("the llmlab simulator is not running", request=request)
    return to_httpx_response(current.sim, request, *target)


def _shared_router() -> respx.MockRouter:
    global _router
    if _router is None:
        _router = respx.MockRouter(assert_all_called=False, assert_all_mocked=False, using="httpx")
        for host in HOSTS:
            _router.route(host=host).mock(side_effect=_answer)
        _router.route().pass_through()
    return _router


class InProcess:
    """Start/stop (or ``with``) to route both providers' hosts to ``sim`` inside this process."""

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
                _shared_router().start()
            _stack.append(self)
        return self

    def stop(self) -> None:
        with _lock:
            if self not in _stack:
                return
            _stack.remove(self)
            if not _stack:
                _shared_router().stop(clear=False, reset=False, quiet=True)

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
