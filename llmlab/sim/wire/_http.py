"""Small helpers both wire formats use to answer: JSON bodies, SSE frames, request parsing."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

from llmlab.sim._exchange import Chunk, Piece, SimRequest, SimResponse
from llmlab.sim.wire._validate import MAX_BODY_BYTES, MAX_DEPTH, needs_scan, scan


class ApiError(Exception):
    """An HTTP error the simulated provider answers with (never escapes the simulator)."""

    def __init__(
        self,
        status: int,
        kind: str,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        headers: dict[str, str] | None = None,
        details: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.details = details  # Anthropic's ``error.details`` (``error_code`` and the like)
        self.status = status
        self.kind = kind
        self.message = message
        self.code = code
        self.param = param
        self.headers = headers or {}


def once(data: bytes, delay: float = 0.0) -> Iterator[Piece]:
    yield Chunk(delay, data)


def json_response(
    status: int, body: Any, headers: dict[str, str], pieces: Iterator[Piece] | None = None
) -> SimResponse:
    data = json.dumps(body).encode()
    return SimResponse(
        status,
        {"content-type": "application/json", **headers},
        pieces if pieces is not None else once(data),
    )


def sse(event: str | None, payload: Any) -> bytes:
    data = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    head = f"event: {event}\n" if event else ""
    return f"{head}data: {data}\n\n".encode()


def parse_json_body(request: SimRequest) -> dict[str, Any]:
    """The request's JSON object, or the 400 a real API gives for a wrong type or bad JSON."""
    ctype = request.headers.get("content-type", "")
    if "application/json" not in ctype:
        raise ApiError(
            400,
            "invalid_request_error",
            f"Unsupported content type {ctype or '(none)'!r}: send application/json",
        )
    try:
        body = json.loads(request.body or b"")
    except (ValueError, UnicodeDecodeError) as exc:
        raise ApiError(
            400, "invalid_request_error", f"There was an error parsing the body: {exc}"
        ) from None
    except RecursionError:
        raise ApiError(
            400, "invalid_request_error", "There was an error parsing the body: nested too deeply"
        ) from None
    if not isinstance(body, dict):
        raise ApiError(400, "invalid_request_error", "The request body must be a JSON object")
    if not needs_scan(request.body):
        return body
    depth, surrogate = scan(body)
    if depth > MAX_DEPTH:
        raise ApiError(
            400,
            "invalid_request_error",
            f"There was an error parsing the body: JSON nested deeper than {MAX_DEPTH} levels",
        )
    if surrogate is not None:
        raise ApiError(
            400,
            "invalid_request_error",
            f"{surrogate}: the string is not valid Unicode (it holds a lone surrogate)",
            param=surrogate,
        )
    return body


def _oversize(request: SimRequest) -> bool:
    return len(request.body) > MAX_BODY_BYTES


def id_seed(request: SimRequest) -> dict[str, object]:
    """What a request's id is drawn from: its path and body. An oversize body, answered 413
    without being read, by its length alone: it is never decoded, escaped and hashed."""
    if _oversize(request):
        return {"path": request.path, "bytes": len(request.body)}
    return {"path": request.path, "body": request.body.decode("latin-1")}


def check_body_size(request: SimRequest, kind: str) -> None:
    """413 for a body over :data:`MAX_BODY_BYTES`, before anything parses or tokenises it."""
    if _oversize(request):
        raise ApiError(
            413,
            kind,
            f"Request exceeds the maximum allowed number of bytes ({MAX_BODY_BYTES}).",
            code="request_too_large",
        )


def api_key(request: SimRequest) -> str | None:
    key = request.headers.get("x-api-key")
    if key:
        return key
    auth = request.headers.get("authorization", "")
    return auth[7:].strip() or None if auth.lower().startswith("bearer ") else None


def key_id(key: str) -> str:
    """A non-reversible label for rate-limit buckets: the key itself is never kept."""
    return hashlib.sha256(key.encode()).hexdigest()[:12]
