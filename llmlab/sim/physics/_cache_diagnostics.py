"""Anthropic cache diagnostics: why a request could not reuse the previous request's prefix.

A request that sends ``diagnostics: {"previous_message_id": "msg_..."}`` is compared with the
prompt fingerprint of the request that produced that message. The first part that differs,
in prefix order, is the reason: ``model_changed``, ``tools_changed``, ``system_changed``,
``messages_changed`` (an earlier entry changed rather than entries being appended);
``previous_message_not_found`` when the id is unknown, ``unavailable`` when only other
prompt-affecting parameters (``tool_choice``, ``thinking``) differ. A prefix that matched
gives ``null``. ``cache_missed_input_tokens`` approximates what would have been read from
cache had the prefix matched: the previous prompt's input tokens, less what this request
did read. Fingerprints are hashes, kept for the most recent messages only.
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

#: fingerprints kept (oldest dropped first): enough for any notebook's conversations
MAX_FINGERPRINTS = 4096


#: json.dumps(value, sort_keys=True, separators=(",", ":"), default=str), built once: every
#: reply fingerprints a few parts of its request, and json.dumps builds an encoder per call
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), default=str)


def _digest(value: Any, strip: bool = False) -> str:
    """A short hash of ``value``'s canonical JSON; with ``strip``, of the value without its
    ``cache_control`` keys. Those are stripped only when the text shows one: a key is spelled
    ``"cache_control"`` with bare quotes, which a string value escapes (a value that is that
    very string is stripped for nothing, with the same result)."""
    text = _CANONICAL.encode(value)
    if strip and '"cache_control"' in text:
        text = _CANONICAL.encode(_strip_cache_control(value))
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


def _strip_cache_control(value: Any) -> Any:
    """Breakpoints move between turns; they are no part of the prompt's content."""
    if isinstance(value, dict):
        return {k: _strip_cache_control(v) for k, v in value.items() if k != "cache_control"}
    if isinstance(value, list):
        return [_strip_cache_control(v) for v in value]
    return value


@dataclass(frozen=True)
class Fingerprint:
    model: str
    tools: str
    system: str
    messages: tuple[str, ...]
    other: str
    input_tokens: int

    @classmethod
    def of(cls, body: dict[str, Any], model: str, input_tokens: int) -> Fingerprint:
        messages = body.get("messages") or []
        # role "system" entries inside messages (2026-10-21) are system text
        system = [body.get("system")]
        system += [m for m in messages if isinstance(m, dict) and m.get("role") == "system"]
        turns = [m for m in messages if not (isinstance(m, dict) and m.get("role") == "system")]
        return cls(
            model=model + "|" + str(body.get("speed") or "standard"),
            tools=_digest(body.get("tools") or [], strip=True),
            system=_digest(system, strip=True),
            messages=tuple(_digest(m, strip=True) for m in turns),
            other=_digest([body.get("tool_choice"), body.get("thinking")]),
            input_tokens=input_tokens,
        )


class CacheDiagnostics:
    """Fingerprints by message id, and the diagnosis of a request against one of them."""

    def __init__(self, capacity: int = MAX_FINGERPRINTS) -> None:
        self._capacity = capacity
        self._by_id: OrderedDict[str, Fingerprint] = OrderedDict()
        self._lock = threading.Lock()

    def remember(self, message_id: str, fingerprint: Fingerprint) -> None:
        with self._lock:
            self._by_id[message_id] = fingerprint
            while len(self._by_id) > self._capacity:
                self._by_id.popitem(last=False)

    def diagnose(
        self, previous_id: str | None, now: Fingerprint, cache_read: int
    ) -> dict[str, Any] | None:
        """The ``cache_miss_reason`` object for this request, or None when the prefix matched."""
        if previous_id is None:  # opted in on the first turn: nothing to compare with
            return None
        with self._lock:
            before = self._by_id.get(previous_id)
        if before is None:
            return {"type": "previous_message_not_found"}
        missed = max(before.input_tokens - cache_read, 0)
        for kind, changed in (
            ("model_changed", before.model != now.model),
            ("tools_changed", before.tools != now.tools),
            ("system_changed", before.system != now.system),
            ("messages_changed", now.messages[: len(before.messages)] != before.messages),
        ):
            if changed:
                return {"type": kind, "cache_missed_input_tokens": missed}
        if before.other != now.other:
            return {"type": "unavailable"}
        return None
