"""What the ``anthropic-version`` header changes, as the real Messages API gates it.

Every Anthropic request must name an API version; the simulator knows two:

============  ================================================================================
2023-06-01    what anthropic < 2.0 sends: ``temperature``, ``top_p`` and ``top_k`` accepted;
              ``messages`` roles are ``user`` and ``assistant``; no ``diagnostics``.
2026-10-21    what anthropic >= 2.0 sends: sampling parameters are refused with a 400 (even at
              their defaults); ``role: "system"`` entries may stand in ``messages``;
              ``diagnostics: {"previous_message_id": ...}`` is answered with
              ``diagnostics.cache_miss_reason``; the response always carries ``diagnostics``.
============  ================================================================================

Both accept ``x-api-key`` and ``Authorization: Bearer``, and a top-level ``cache_control``
(a breakpoint on the last cacheable block).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from llmlab.sim.wire._http import ApiError

LEGACY = "2023-06-01"
CURRENT = "2026-10-21"
SAMPLING_PARAMETERS = ("temperature", "top_p", "top_k")


@dataclass(frozen=True)
class ApiVersion:
    """The behaviour one ``anthropic-version`` selects."""

    name: str
    sampling: bool  # temperature / top_p / top_k accepted
    system_messages: bool  # role "system" allowed inside messages
    diagnostics: bool  # request diagnostics answered, response carries the field


VERSIONS = {
    LEGACY: ApiVersion(LEGACY, sampling=True, system_messages=False, diagnostics=False),
    CURRENT: ApiVersion(CURRENT, sampling=False, system_messages=True, diagnostics=True),
}


def api_version(headers: Any) -> ApiVersion:
    """The version a request asked for, or the 400 the real API gives without a known one."""
    name = headers.get("anthropic-version")
    if not name:
        raise ApiError(
            400,
            "invalid_request_error",
            "anthropic-version: header is required (for example anthropic-version: "
            f"{CURRENT})",
        )
    version = VERSIONS.get(name.strip())
    if version is None:
        raise ApiError(
            400,
            "invalid_request_error",
            f"anthropic-version: {name!r} is not a valid version; use one of "
            f"{', '.join(sorted(VERSIONS))}",
        )
    return version


def refuse_sampling(body: dict[str, Any], version: ApiVersion) -> None:
    """Under 2026-10-21 any sampling parameter is a 400 that names it, whatever its value."""
    if version.sampling:
        return
    for name in SAMPLING_PARAMETERS:
        if name in body:
            raise ApiError(
                400,
                "invalid_request_error",
                f"{name}: Extra inputs are not permitted. Sampling parameters "
                f"(temperature, top_p, top_k) are not supported under anthropic-version "
                f"{version.name}; remove {name}, or send anthropic-version: {LEGACY} to "
                "use them",
            )
