"""Which HTTP client generation the installed SDKs speak: ``httpx`` or its fork ``httpx2``.

anthropic < 1 and openai < 3 use ``httpx``; anthropic >= 1 and openai >= 3 use ``httpx2``.
Code that hands an SDK its own ``http_client=`` (checkers recording request bodies) or that
catches transport errors must use the SDK's generation: an ``httpx.Client`` given to
anthropic 2.x raises ``TypeError``, and an ``httpx.TransportError`` never matches what an
httpx2-based SDK raises.
"""

from __future__ import annotations

import functools
import importlib
import sys
from types import ModuleType
from typing import Literal

__all__ = ["TRANSPORT_ERRORS", "sdk_http"]


@functools.cache
def sdk_http(provider: Literal["anthropic", "openai"]) -> ModuleType:
    """The ``httpx``-like module the installed ``provider`` SDK sends its requests with."""
    sdk = importlib.import_module(provider)
    base = sys.modules.get(f"{provider}._base_client") or importlib.import_module(
        f"{sdk.__name__}._base_client"
    )
    for name in ("httpx2", "httpx"):
        if getattr(base, name, None) is not None:
            return importlib.import_module(name)
    raise ImportError(f"{provider} {sdk.__version__} uses neither httpx nor httpx2")


def _transport_errors() -> tuple[type[BaseException], ...]:
    errors: list[type[BaseException]] = []
    for name in ("httpx", "httpx2"):
        try:
            errors.append(importlib.import_module(name).TransportError)
        except ImportError:
            continue
    return tuple(errors)


#: ``TransportError`` of every installed generation: a connection dropped, a read timed out
TRANSPORT_ERRORS: tuple[type[BaseException], ...] = _transport_errors()
