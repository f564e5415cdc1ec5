"""In-process interception: respx routes the SDKs' httpx requests to the simulator.

Only the providers' hosts are routed; anything else passes through untouched.
"""

from __future__ import annotations

from types import TracebackType

import httpx
import respx

from llmlab.sim._engine import Simulator
from llmlab.sim._httpx import route, to_httpx_response

HOSTS = ("api.anthropic.com", "api.openai.com")


class InProcess:
    """Start/stop (or ``with``) to route both providers' hosts to ``sim`` inside this process."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.router = respx.MockRouter(
            assert_all_called=False, assert_all_mocked=False, using="httpx"
        )
        for host in HOSTS:
            self.router.route(host=host).mock(side_effect=self._answer)
        self.router.route().pass_through()
        self.active = False

    def _answer(self, request: httpx.Request) -> httpx.Response:
        target = route(request.url)
        assert target is not None  # only the providers' hosts are routed here
        return to_httpx_response(self.sim, request, *target)

    def start(self) -> InProcess:
        if not self.active:
            self.router.start()
            self.active = True
        return self

    def stop(self) -> None:
        if self.active:
            self.router.stop(clear=False, reset=False, quiet=True)
            self.active = False

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
