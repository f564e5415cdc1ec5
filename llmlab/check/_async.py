"""Checkers run a learner's async code on a fresh event loop in the checker's own thread.

Checkers run in a worker thread (see ``_sandbox``), which has no event loop of its own, so
``asyncio.run()`` works there even though a notebook's kernel loop runs in the main thread;
running it in that same thread lets the time limit stop a stuck coroutine too.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def run_async(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """``asyncio.run(make())``: its result, or its exception re-raised.

    Outside a checker's worker (a loop already running in this thread) it uses a helper thread.
    """
    if not _loop_running():
        return asyncio.run(make())
    with concurrent.futures.ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()
