"""The exercise registry: each exercise has an id, a signature, a reference and a checker.

A checker is a function ``candidate -> Iterator[Case]`` run by :func:`llmlab.check`; each
:class:`Case` names its input and says what was expected and what came back, so feedback is
specific. Lab modules (``_lab01.py`` ...) register exercises with :func:`exercise`.
"""

from __future__ import annotations

import difflib
import functools
import importlib
import pkgutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from llmlab._exceptions import ExerciseError


@dataclass(frozen=True)
class Case:
    """One hidden test case's verdict."""

    ok: bool
    input: str  # how the case is described to the learner
    expected: str = ""
    got: str = ""
    hint: str = ""
    diagnosed: bool = False  # the hint names a recognised mistake (shown before generic hints)


Checker = Callable[[Any], Iterator[Case]]


@dataclass(frozen=True)
class Exercise:
    id: str
    signature: str
    summary: str
    reference: Any
    checker: Checker
    parts: tuple[str, ...] = ()  # a class exercise's methods the learner writes (stub detection)
    time_limit: float = 10.0  # seconds the whole check may take


_REGISTRY: dict[str, Exercise] = {}


def exercise(
    id: str,
    signature: str,
    summary: str,
    reference: Any,
    *,
    parts: tuple[str, ...] = (),
    time_limit: float = 10.0,
) -> Callable[[Checker], Checker]:
    """Register the decorated checker for exercise ``id``.

    ``parts`` names the methods of a class exercise that the lab stubs out; ``time_limit`` bounds
    the whole check, so a learner's endless loop gets a verdict instead of a hung notebook.
    """

    def register(checker: Checker) -> Checker:
        if id in _REGISTRY:
            raise ExerciseError(f"exercise {id!r} registered twice")
        _REGISTRY[id] = Exercise(
            id, signature, summary, reference, checker, parts=parts, time_limit=time_limit
        )
        return checker

    return register


@functools.cache
def _lab_modules() -> tuple[str, ...]:
    package = importlib.import_module("llmlab.check")
    names = (info.name for info in pkgutil.iter_modules(package.__path__))
    return tuple(name for name in names if name.startswith("_lab"))


def _load(exercise_id: str | None = None) -> None:
    """Import the lab modules that register exercises: only ``exercise_id``'s lab when given
    (``"07.backoff"``: ``_lab07*``), so a notebook's first check does not import all fifteen."""
    lab = exercise_id.split(".", 1)[0] if exercise_id else ""
    names = _lab_modules()
    if lab.isdigit():
        names = tuple(name for name in names if name[4:].startswith(lab)) or names
    for name in names:
        importlib.import_module(f"llmlab.check.{name}")
    if exercise_id is not None and exercise_id not in _REGISTRY:
        _load()  # an id outside its lab's module, or unknown: the error lists every known id


def all_exercises() -> list[Exercise]:
    _load()
    return sorted(_REGISTRY.values(), key=lambda e: e.id)


def get(exercise_id: str) -> Exercise:
    _load(exercise_id)
    try:
        return _REGISTRY[exercise_id]
    except KeyError:
        close = difflib.get_close_matches(str(exercise_id), _REGISTRY, n=1)
        maybe = f" (did you mean {close[0]!r}?)" if close else ""
        known = ", ".join(sorted(_REGISTRY)) or "none"
        raise ExerciseError(
            f"unknown exercise {exercise_id!r}{maybe}; known ids: {known}"
        ) from None
