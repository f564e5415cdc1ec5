"""Checkers run a learner's async code on a fresh event loop in a worker thread.

In a notebook the kernel's event loop is already running in the main thread, where
``asyncio.run()`` would refuse to start; a worker thread has no loop of its own.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(make())`` in a worker thread; its result, or its exception re-raised."""
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()
