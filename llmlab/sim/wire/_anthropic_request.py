"""Anthropic request checks beyond the conversation itself: field types, cache controls, images.

Split from :mod:`._anthropic`; each check raises the 400 the real Messages API gives, naming the
offending field by its path (``messages.0.content.1.cache_control.ttl``).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from llmlab.sim.wire._http import ApiError
from llmlab.sim.wire._validate import ANTHROPIC_IMAGE_TYPES, valid_base64

_TTLS = ("5m", "1h")
_SERVICE_TIERS = ("auto", "standard_only")
_SPEEDS = ("standard", "fast")


def bad(message: str) -> ApiError:
    """A 400 ``invalid_request_error`` with ``message``."""
    return ApiError(400, "invalid_request_error", message)


def _blocks_with_paths(body: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """Every dict block a cache_control or a source may sit on, with its path."""
    tools = body.get("tools")
    if isinstance(tools, list):
        for i, tool in enumerate(tools):
            if isinstance(tool, dict):
                yield f"tools.{i}", tool
    system = body.get("system")
    if isinstance(system, list):
        for i, block in enumerate(system):
            if isinstance(block, dict):
                yield f"system.{i}", block
    messages = body.get("messages")
    if not isinstance(messages, list):
        return
    for i, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, list):
            continue
        for j, block in enumerate(content):
            if not isinstance(block, dict):
                continue
            yield f"messages.{i}.content.{j}", block
            inner = block.get("content")
            if block.get("type") == "tool_result" and isinstance(inner, list):
                for k, sub in enumerate(inner):
                    if isinstance(sub, dict):
                        yield f"messages.{i}.content.{j}.content.{k}", sub


def _check_cache_control(control: Any, where: str) -> None:
    if control is None:
        return
    if not isinstance(control, dict) or control.get("type") != "ephemeral":
        raise bad(f"{where}.type: Input should be 'ephemeral'")
    ttl = control.get("ttl")
    if ttl is not None and ttl not in _TTLS:
        raise bad(f"{where}.ttl: Input should be '5m' or '1h'")
    for name in sorted(set(control) - {"type", "ttl"}):
        raise bad(f"{where}.{name}: Extra inputs are not permitted")


def _check_source(block: dict[str, Any], where: str) -> None:
    source = block.get("source")
    if block.get("type") not in ("image", "document") or not isinstance(source, dict):
        if block.get("type") in ("image", "document"):
            raise bad(f"{where}.source: Field required")
        return
    if source.get("type") != "base64":
        return
    media = source.get("media_type")
    allowed = ANTHROPIC_IMAGE_TYPES if block["type"] == "image" else ("application/pdf",)
    if media not in allowed:
        options = ", ".join(f"'{m}'" for m in allowed)
        raise bad(f"{where}.source.media_type: Input should be {options}")
    if not valid_base64(source.get("data")):
        raise bad(f"{where}.source.data: Invalid base64 data: the {media} data does not decode")


def check_request_fields(body: dict[str, Any]) -> None:
    """Types and ranges of the top-level fields, every cache_control, every base64 source."""
    stream = body.get("stream")
    if stream is not None and not isinstance(stream, bool):
        raise bad("stream: Input should be a valid boolean")
    tier = body.get("service_tier")
    if tier is not None and tier not in _SERVICE_TIERS:
        raise bad("service_tier: Input should be 'auto' or 'standard_only'")
    speed = body.get("speed")
    if speed is not None and speed not in _SPEEDS:
        raise bad("speed: Input should be 'standard' or 'fast'")
    metadata = body.get("metadata")
    if metadata is not None and not isinstance(metadata, dict):
        raise bad("metadata: Input should be a valid dictionary")
    _check_cache_control(body.get("cache_control"), "cache_control")
    for where, block in _blocks_with_paths(body):
        _check_cache_control(block.get("cache_control"), f"{where}.cache_control")
        _check_source(block, where)
