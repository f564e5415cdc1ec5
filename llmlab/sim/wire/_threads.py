"""Anthropic message threads (beta ``message-threads-2026-08-12``): server-held history.

anthropic 2.x's tool runner sends ``thread: {"type": "create"}`` with the whole conversation,
then ``thread: {"type": "continue", "previous_message_id": "msg_…"}`` with only the new
messages (the tool results) and without ``system`` and ``tools``, which the thread holds. The
simulator keeps, per API key and reply id, the conversation up to and including that reply (the
last :data:`MAX_THREADS` replies; an older id is ``thread_not_found``, which makes the SDK
replay the whole history under a new thread). Each reply can be continued once.

A continued request is answered exactly as the same conversation sent in full would be: the
history is put back into the body before validation, token counting, caching and sampling.
"""

from __future__ import annotations

import copy
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from llmlab.sim.physics._per_sim import PerSimulator
from llmlab.sim.wire._http import ApiError

#: replies kept for continuation, per simulator (oldest dropped first)
MAX_THREADS = 512
#: fields the thread holds; a ``continue`` that repeats them is refused
CREATE_ONLY = ("system", "tools")


@dataclass
class _Entry:
    model: str
    messages: list[Any]
    held: dict[str, Any]
    continued: bool = False


@dataclass
class ThreadStore:
    """The replies a simulator can continue from, bounded to :data:`MAX_THREADS`."""

    entries: OrderedDict[tuple[str, str], _Entry] = field(default_factory=OrderedDict)
    lock: threading.Lock = field(default_factory=threading.Lock)


_STORES: PerSimulator[ThreadStore] = PerSimulator(ThreadStore)


def store_for(sim: Any) -> ThreadStore:
    """The thread store of ``sim`` (created on first use)."""
    return _STORES.of(sim)


def _thread_error(status: int, code: str, message: str) -> ApiError:
    kind = "not_found_error" if status == 404 else "invalid_request_error"
    return ApiError(status, kind, message, details={"error_code": code})


@dataclass
class ThreadTurn:
    """A threaded request in flight: what to record once its reply exists."""

    bucket: str
    body: dict[str, Any]  # the full request, history included
    previous: tuple[str, str] | None

    def record(self, sim: Any, message_id: str, content: list[dict[str, Any]]) -> None:
        """Keep the conversation up to this reply, and mark the reply it continued."""
        store = store_for(sim)
        reply = {"role": "assistant", "content": copy.deepcopy(content)}
        held = {k: self.body[k] for k in CREATE_ONLY if k in self.body}
        entry = _Entry(str(self.body.get("model")), [*self.body["messages"], reply], held)
        with store.lock:
            if self.previous is not None and self.previous in store.entries:
                store.entries[self.previous].continued = True
            store.entries[(self.bucket, message_id)] = entry
            while len(store.entries) > MAX_THREADS:
                store.entries.popitem(last=False)


def resolve(
    sim: Any, bucket: str, body: dict[str, Any]
) -> tuple[dict[str, Any], ThreadTurn | None]:
    """The request as if sent in full, and the turn to record (None without ``thread``)."""
    thread = body.get("thread")
    if thread is None:
        return body, None
    rest = {k: v for k, v in body.items() if k != "thread"}
    if not isinstance(thread, dict) or thread.get("type") not in ("create", "continue"):
        raise ApiError(
            400, "invalid_request_error", "thread.type: Input tag should be 'create' or 'continue'"
        )
    if thread["type"] == "create":
        for name in sorted(set(thread) - {"type"}):
            raise ApiError(
                400,
                "invalid_request_error",
                f"thread.create.{name}: Extra inputs are not permitted",
            )
        return rest, ThreadTurn(bucket, rest, None)
    previous = thread.get("previous_message_id")
    if not isinstance(previous, str):
        raise ApiError(
            400, "invalid_request_error", "thread.continue.previous_message_id: Field required"
        )
    for name in sorted(set(thread) - {"type", "previous_message_id"}):
        raise ApiError(
            400, "invalid_request_error", f"thread.continue.{name}: Extra inputs are not permitted"
        )
    for name in CREATE_ONLY:
        if name in rest:
            raise ApiError(
                400,
                "invalid_request_error",
                f"{name}: the thread holds `{name}`; a `continue` must not send it (start a "
                "new thread to change it)",
            )
    store = store_for(sim)
    key = (bucket, previous)
    with store.lock:
        entry = store.entries.get(key)
        if entry is not None:
            store.entries.move_to_end(key)
    if entry is None:
        raise _thread_error(
            404,
            "thread_not_found",
            f"thread.continue.previous_message_id: no thread state for {previous}; replay the "
            'full conversation with thread: {"type": "create"}',
        )
    if entry.continued:
        raise _thread_error(
            400,
            "thread_already_continued",
            f"thread.continue.previous_message_id: {previous} has already been continued; "
            "continue from the thread's most recent response id",
        )
    if rest.get("model") != entry.model:
        raise _thread_error(
            400,
            "thread_fingerprint_mismatch",
            f"model: {rest.get('model')!r} differs from the thread's model {entry.model!r}",
        )
    messages = rest.get("messages")
    if messages is not None and not isinstance(messages, list):
        raise ApiError(400, "invalid_request_error", "messages: Input should be a valid list")
    full = {**rest, **entry.held, "messages": [*entry.messages, *(messages or [])]}
    return full, ThreadTurn(bucket, full, key)
