"""Pytest fixtures handing tests a running simulator, in-process or over real HTTP.

Enable with ``pytest_plugins = ["llmlab.sim.testing"]`` in a ``conftest.py``; then a test
takes ``sim`` (respx routes both providers' hosts to a fresh :class:`Simulator`) or
``sim_server`` (a :class:`SimApp` served by uvicorn on a free loopback port). Tests pass
``api_key="test"`` explicitly, so no environment key is needed.
"""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest

from llmlab.sim import Simulator, mock
from llmlab.sim.adapters._asgi import uvicorn_config

TEST_TIME_SCALE = 0.01


@dataclass
class SimServer:
    """A simulator served over HTTP on loopback, with the SDK base URLs that reach it."""

    sim: Simulator
    host: str
    port: int

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def anthropic_base_url(self) -> str:
        return f"{self.base_url}/anthropic"

    @property
    def openai_base_url(self) -> str:
        return f"{self.base_url}/openai/v1"


def _free_port(host: str) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """A fresh simulator (seed 0, time scale 0.01) with in-process interception active."""
    with mock(seed=0, time_scale=TEST_TIME_SCALE) as simulator:
        yield simulator


@contextmanager
def serving(simulator: Simulator, *, admin_token: str | None = None) -> Iterator[SimServer]:
    """Serve ``simulator`` with uvicorn in a background thread on a free loopback port."""
    import uvicorn

    host = "127.0.0.1"
    port = _free_port(host)
    server = uvicorn.Server(uvicorn_config(simulator, host, port, admin_token=admin_token))
    thread = threading.Thread(target=server.run, name="llmlab-sim-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the simulator server did not start on {host}:{port}")
        time.sleep(0.01)
    try:
        yield SimServer(simulator, host, port)
    finally:
        server.should_exit = True
        thread.join(timeout=10)


@pytest.fixture
def sim_server() -> Iterator[SimServer]:
    """A fresh simulator (seed 0, time scale 0.01) served over HTTP on a free loopback port."""
    with serving(Simulator(seed=0, time_scale=TEST_TIME_SCALE)) as server:
        yield server
