"""The simulator as an ASGI app, so ``python -m llmlab.sim serve`` speaks real HTTP.

Paths: ``/anthropic/v1/...`` and ``/openai/v1/...``; also ``/admin/faults`` (POST a JSON fault
plan), ``/admin/advance`` (POST ``{"seconds": n}``) and ``/admin/summary`` (GET).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from llmlab._exceptions import SimulatorError
from llmlab.sim._engine import Simulator
from llmlab.sim._faults import FaultPlan
from llmlab.sim._wire import Chunk, Cut, Hang, SimRequest

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


class SimApp:
    """ASGI application serving one :class:`Simulator`."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            while True:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await send({"type": "lifespan.startup.complete"})
                elif message["type"] == "lifespan.shutdown":
                    await send({"type": "lifespan.shutdown.complete"})
                    return
        if scope["type"] != "http":
            return
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        path: str = scope["path"]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        if path.startswith("/admin/"):
            await self._admin(scope["method"], path, body, send)
            return
        for prefix in ("anthropic", "openai"):
            if path.startswith(f"/{prefix}/"):
                request = SimRequest(
                    scope["method"], prefix, path[len(prefix) + 1 :], headers, body
                )
                await self._play(request, send)
                return
        await _json(
            send,
            404,
            {
                "error": {
                    "message": f"no route for {path}; use /anthropic/v1/... or /openai/v1/...",
                    "type": "not_found",
                }
            },
        )

    async def _play(self, request: SimRequest, send: Send) -> None:
        response = self.sim.handle(request)
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [(k.encode(), v.encode()) for k, v in response.headers.items()],
            }
        )
        try:
            for piece in response.body:
                if piece.delay > 0:
                    await asyncio.sleep(piece.delay)
                if isinstance(piece, Chunk):
                    await send(
                        {"type": "http.response.body", "body": piece.data, "more_body": True}
                    )
                elif isinstance(piece, Cut | Hang):
                    raise ConnectionAbortedError("simulated connection drop")
            await send({"type": "http.response.body", "body": b"", "more_body": False})
        finally:
            response.close()

    async def _admin(self, method: str, path: str, body: bytes, send: Send) -> None:
        try:
            payload = json.loads(body or b"{}")
            if path == "/admin/summary" and method == "GET":
                summary = self.sim.summary()
                await _json(
                    send,
                    200,
                    {
                        "calls": summary.calls,
                        "errors": summary.errors,
                        "cache_hit_rate": summary.cache_hit_rate,
                        "billed_usd": summary.billed_usd,
                    },
                )
            elif path == "/admin/faults" and method == "POST":
                self.sim.set_faults(
                    FaultPlan(rates=dict(payload.get("rates", {})))
                    if "rates" in payload
                    else FaultPlan.scripted(payload.get("script", []))
                )
                await _json(send, 200, {"ok": True})
            elif path == "/admin/advance" and method == "POST":
                self.sim.advance(seconds=float(payload.get("seconds", 0)))
                await _json(send, 200, {"ok": True, "now": self.sim.clock.now()})
            else:
                await _json(send, 404, {"error": f"no admin route {method} {path}"})
        except (ValueError, SimulatorError) as exc:
            await _json(send, 400, {"error": str(exc)})


async def _json(send: Send, status: int, payload: Any) -> None:
    data = json.dumps(payload).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [(b"content-type", b"application/json")],
        }
    )
    await send({"type": "http.response.body", "body": data})
