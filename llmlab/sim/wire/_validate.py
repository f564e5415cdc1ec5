"""Strict request checks both wire formats share: known fields, body size, depth and encoding.

The real APIs refuse a request field they do not know (Anthropic: ``foo: Extra inputs are not
permitted``; OpenAI: ``Unrecognized request argument supplied: foo``). The field lists below
are the union of what the SDKs' ``MessageCreateParams`` / ``CompletionCreateParams`` TypedDicts
declare in both generations llmlab supports (anthropic 0.93 and 2.14, beta params included;
openai 2.54 and 3.3). ``tests/sim/test_strict_fields.py`` re-derives them from the installed
SDK, so a field a newer SDK sends fails a test rather than a learner's call.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Any

#: the largest request body either API accepts (Anthropic documents 32 MB for Messages)
MAX_BODY_BYTES = 32 * 1024 * 1024
#: nesting deeper than this is refused before anything walks the body recursively
MAX_DEPTH = 200

ANTHROPIC_MESSAGE_FIELDS = frozenset(
    {
        "model",
        "max_tokens",
        "messages",
        "system",
        "stop_sequences",
        "stream",
        "temperature",
        "top_p",
        "top_k",
        "tools",
        "tool_choice",
        "metadata",
        "thinking",
        "service_tier",
        "cache_control",
        "container",
        "diagnostics",
        "inference_geo",
        "output_config",
        "speed",
        "user_profile_id",
        "workspace_id",
        # beta (anthropic-beta header): the tool runner's threads, MCP, context management
        "thread",
        "context_management",
        "mcp_servers",
        "compaction",
        "billing_policy",
        "fallbacks",
        "fallback_credit_token",
        "output_format",  # anthropic 0.93's beta structured outputs (deprecated for output_config)
    }
)
ANTHROPIC_COUNT_FIELDS = frozenset(
    {
        "model",
        "messages",
        "system",
        "tools",
        "tool_choice",
        "thinking",
        "cache_control",
        "output_config",
        "output_format",
        "speed",
        "user_profile_id",
        "workspace_id",
        "context_management",
        "mcp_servers",
        "compaction",
        "billing_policy",
    }
)
OPENAI_CHAT_FIELDS = frozenset(
    {
        "model",
        "messages",
        "audio",
        "frequency_penalty",
        "function_call",
        "functions",
        "logit_bias",
        "logprobs",
        "max_completion_tokens",
        "max_tokens",
        "metadata",
        "modalities",
        "moderation",
        "n",
        "parallel_tool_calls",
        "prediction",
        "presence_penalty",
        "prompt_cache_key",
        "prompt_cache_options",
        "prompt_cache_retention",
        "reasoning_effort",
        "response_format",
        "safety_identifier",
        "seed",
        "service_tier",
        "stop",
        "store",
        "stream",
        "stream_options",
        "temperature",
        "tool_choice",
        "tools",
        "top_logprobs",
        "top_p",
        "user",
        "verbosity",
        "web_search_options",
    }
)

_SURROGATE = re.compile("[\ud800-\udfff]")
_DATA_URL = re.compile(r"^data:(image/[a-z0-9.+-]+);base64,(.*)$", re.IGNORECASE | re.DOTALL)
ANTHROPIC_IMAGE_TYPES = ("image/jpeg", "image/png", "image/gif", "image/webp")


def unknown_fields(body: dict[str, Any], allowed: frozenset[str]) -> list[str]:
    """The top-level fields of ``body`` the API does not know, sorted."""
    return sorted(set(body) - allowed)


#: a lone surrogate reaches a parsed body only as a ``\uD800``-``\uDFFF`` escape or as raw code
#: units: UTF-8 bytes ED A0..BF (json.loads decodes with surrogatepass) or a UTF-16/32 body
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")


def needs_scan(raw: bytes) -> bool:
    """False when the JSON text ``raw`` provably parses to a value nested at most MAX_DEPTH
    deep with no lone surrogate, so :func:`scan` can be skipped: a few byte searches in C
    instead of a walk that names every node's path. Conservative: more brackets than
    MAX_DEPTH, any escape of a surrogate (even one inside an escaped backslash), any byte ED
    (Hangul too) or a body that is not UTF-8 all mean "scan"."""
    return (
        raw.count(b"[") + raw.count(b"{") > MAX_DEPTH
        or b"\x00" in raw
        or b"\xed" in raw
        or raw.startswith((b"\xff\xfe", b"\xfe\xff"))
        or _SURROGATE_ESCAPE.search(raw) is not None
    )


def scan(value: Any) -> tuple[int, str | None]:
    """Nesting depth (iteratively, up to ``MAX_DEPTH + 1``) and the path of the first string
    holding a lone surrogate (``None`` if there is none)."""
    stack: list[tuple[Any, int, str]] = [(value, 1, "")]
    deepest = 0
    bad: str | None = None
    while stack:
        node, depth, path = stack.pop()
        if isinstance(node, dict | list):
            deepest = max(deepest, depth)
            if depth > MAX_DEPTH:
                return deepest, bad
            items = node.items() if isinstance(node, dict) else enumerate(node)
            for key, child in items:
                where = f"{path}.{key}" if path else str(key)
                if bad is None and isinstance(key, str) and _SURROGATE.search(key):
                    bad = where
                stack.append((child, depth + 1, where))
        elif bad is None and isinstance(node, str) and _SURROGATE.search(node):
            bad = path or "(body)"
    return deepest, bad


def valid_base64(data: Any) -> bool:
    """True for a non-empty string of standard base64 (what both APIs decode image data as)."""
    if not isinstance(data, str) or not data:
        return False
    try:
        base64.b64decode(data, validate=True)
    except (binascii.Error, ValueError):
        return False
    return True


def data_url_image(url: str) -> bool | None:
    """For a ``data:`` URL: whether it is a well-formed base64 image; ``None`` for other URLs."""
    if not url.startswith("data:"):
        return None
    match = _DATA_URL.match(url)
    return bool(match) and valid_base64(match.group(2) if match else "")


def open_objects(schema: Any, path: str = "") -> tuple[str, str] | None:
    """The first object in a strict JSON schema that is open or leaves a property optional:
    ``(path, problem)``, or ``None`` when every object is closed and fully required."""
    stack: list[tuple[Any, str]] = [(schema, path)]
    while stack:
        node, where = stack.pop()
        if isinstance(node, list):
            stack.extend((v, f"{where}[{i}]") for i, v in enumerate(node))
            continue
        if not isinstance(node, dict):
            continue
        kinds = node.get("type")
        is_object = kinds == "object" or (isinstance(kinds, list) and "object" in kinds)
        if is_object or "properties" in node:
            if node.get("additionalProperties") is not False:
                return (
                    where or "(root)",
                    "'additionalProperties' is required to be supplied and to be false",
                )
            props = node.get("properties") or {}
            required = node.get("required") or []
            missing = [k for k in props if k not in required] if isinstance(props, dict) else []
            if missing:
                return where or "(root)", (
                    "'required' is required to be supplied and to be an array including every "
                    f"key in properties. Missing '{missing[0]}'"
                )
        for key, child in node.items():
            if key in ("properties", "$defs", "definitions") and isinstance(child, dict):
                stack.extend((v, f"{where}.{key}.{k}".lstrip(".")) for k, v in child.items())
            elif key in ("items", "anyOf", "allOf", "oneOf", "not"):
                stack.append((child, f"{where}.{key}".lstrip(".")))
    return None


_NUMERIC_KEYWORDS = ("minItems", "maxItems", "minLength", "maxLength", "minimum", "maximum")


def sanitize_schema(schema: Any) -> dict[str, Any]:
    """A copy of a caller's JSON schema that the schema skill can walk without crashing.

    A well-formed schema comes back equal (same keys, same order); malformed keywords (a
    ``properties`` that is not an object, a non-numeric ``maxLength``, ...) are dropped, so a
    broken schema gets a best-effort answer or a 4xx, never a 5xx.
    """
    if not isinstance(schema, dict):
        return {}
    out: dict[str, Any] = {}
    for key, value in schema.items():
        if key in ("properties", "$defs", "definitions"):
            if isinstance(value, dict):
                out[key] = {k: sanitize_schema(v) for k, v in value.items()}
        elif key in ("items", "not", "additionalProperties"):
            out[key] = value if isinstance(value, bool) else sanitize_schema(value)
        elif key in ("anyOf", "oneOf", "allOf"):
            if isinstance(value, list):
                out[key] = [sanitize_schema(v) for v in value]
        elif key in _NUMERIC_KEYWORDS:
            if isinstance(value, int | float) and not isinstance(value, bool):
                out[key] = value
        elif key == "enum":
            if isinstance(value, list):
                out[key] = value
        elif key == "required":
            if isinstance(value, list):
                out[key] = [v for v in value if isinstance(v, str)]
        elif key == "type":
            if isinstance(value, str) or (
                isinstance(value, list) and all(isinstance(v, str) for v in value)
            ):
                out[key] = value
        elif key in ("$ref", "format"):
            if isinstance(value, str):
                out[key] = value
        else:
            out[key] = value
    return out
