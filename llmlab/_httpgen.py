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

__all__ = ["sdk_http", "transport_errors"]


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


def transport_errors() -> tuple[type[BaseException], ...]:
    """``TransportError`` of every generation imported so far: a connection dropped, a read
    timed out.

    A generation nobody imported cannot have raised anything, so this never imports one: the
    current SDKs speak httpx2 only, and importing httpx would cost each kernel ~0.1 s (its CLI
    module pulls in click and rich).
    """
    return tuple(
        module.TransportError
        for module in (sys.modules.get(name) for name in ("httpx", "httpx2"))
        if module is not None
    )
