"""State a wire format keeps per simulator (stored responses, thread histories), made on first use
and dropped with the simulator: one weak map and one lock, not a copy in each wire module."""

from __future__ import annotations

import threading
import weakref
from collections.abc import Callable
from typing import Any, Generic, TypeVar

T = TypeVar("T")


class PerSimulator(Generic[T]):
    """``state = PerSimulator(Factory)``; ``state.of(sim)`` is that simulator's own instance."""

    def __init__(self, factory: Callable[[], T]) -> None:
        self._factory = factory
        self._states: weakref.WeakKeyDictionary[Any, T] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def of(self, sim: Any) -> T:
        with self._lock:
            state = self._states.get(sim)
            if state is None:
                state = self._states[sim] = self._factory()
            return state
