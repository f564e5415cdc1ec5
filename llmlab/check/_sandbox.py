"""Running learner code safely: a time limit, capped output, and exceptions shown at their line.

A checker runs in a daemon worker thread with a deadline, so an endless loop in a learner's
function yields a verdict within seconds instead of hanging the notebook. On a timeout (or a
KeyboardInterrupt from the notebook) the worker is stopped by raising :class:`Abandoned` inside
it (``PyThreadState_SetAsyncExc``): a spinning loop stops within a few bytecodes instead of
keeping a core busy. Checkers call learner code through :func:`call`, which names the case that
is running and turns an exception into a :class:`Raised` value that points at the learner's line.
"""

from __future__ import annotations

import ctypes
import io
import linecache
import os
import sys
import sysconfig
import threading
import time
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType, TracebackType
from typing import Any

OUTPUT_LIMIT = 2000  # characters of learner output kept for the report
VALUE_LIMIT = 300  # characters of one reported value (input, expected, got)

_LLMLAB_DIR = str(Path(__file__).resolve().parents[1])
_LIBRARY_DIRS = tuple(
    {
        str(Path(p).resolve())
        for k in ("stdlib", "platstdlib", "purelib", "platlib")
        if (p := sysconfig.get_paths().get(k))
    }
)


class Abandoned(BaseException):  # noqa: N818 - not an error: the supervisor's stop signal
    """Raised inside a checker's worker thread to stop it (timeout or interrupt).

    A ``BaseException`` so that a learner's ``except Exception`` cannot swallow it.
    """


def shorten(text: str, limit: int = VALUE_LIMIT) -> str:
    """``text`` cut to ``limit`` characters, saying how much was left out."""
    if len(text) <= limit:
        return text
    return f"{text[:limit]}... ({len(text) - limit:,} more characters not shown)"


def is_learner_file(filename: str) -> bool:
    """Whether ``filename`` holds the learner's code: not llmlab, not a library, not frozen."""
    if filename.startswith("<frozen") or filename.startswith("<string"):
        return False
    try:
        path = str(Path(filename).resolve())
    except (OSError, ValueError):
        return True  # e.g. "<ipython-input-3>": a notebook cell
    if path.startswith(_LLMLAB_DIR + os.sep) or "site-packages" in path:
        return False
    return not any(path.startswith(d + os.sep) for d in _LIBRARY_DIRS)


def _where(filename: str, lineno: int) -> str:
    source = linecache.getline(filename, lineno).strip()
    cell = "ipykernel" in filename or filename.startswith("<")
    name = "your notebook cell" if cell else Path(filename).name
    where = f"{name}, line {lineno}"
    return f"{where}: `{shorten(source, 120)}`" if source else where


def learner_line_of_traceback(tb: TracebackType | None) -> str:
    """Where in the learner's code an exception was raised (the innermost learner frame)."""
    found = ""
    for frame, lineno in traceback.walk_tb(tb):
        if is_learner_file(frame.f_code.co_filename):
            found = _where(frame.f_code.co_filename, lineno)
    return found


def learner_line_of_frame(frame: FrameType | None) -> str:
    """Where the learner's code is now (the innermost learner frame of a running stack)."""
    while frame is not None:
        if is_learner_file(frame.f_code.co_filename):
            return _where(frame.f_code.co_filename, frame.f_lineno)
        frame = frame.f_back
    return ""


@dataclass(frozen=True)
class Raised:
    """What a learner's call raised instead of returning: shown as the 'got' of a case."""

    exc: BaseException
    where: str

    def __str__(self) -> str:
        text = f"raised {type(self.exc).__name__}: {shorten(_message(self.exc), 200)}"
        return f"{text} (at {self.where})" if self.where else text

    __repr__ = __str__


def _message(exc: BaseException) -> str:
    """The exception's message; for an SDK API error, the provider's own ``error.message``
    (the SDKs' str() starts with ~90 characters of envelope that would push it out of sight)."""
    body = getattr(exc, "body", None)
    error = body.get("error") if isinstance(body, dict) else None
    if isinstance(error, dict) and error.get("message"):
        status = getattr(exc, "status_code", "")
        return f"{status} {error.get('type') or ''}: {error['message']}".strip()
    return str(exc)


def raised(exc: BaseException) -> Raised:
    """A :class:`Raised` for ``exc``, located at the learner's innermost line."""
    return Raised(exc, learner_line_of_traceback(exc.__traceback__))


@dataclass
class _Context:
    """The state of the check that is running: its case, its mocks, its captured output."""

    current: str = ""
    mocks: list[Any] = field(default_factory=list)
    output: _CappedText = field(default_factory=lambda: _CappedText(OUTPUT_LIMIT))


_active: _Context | None = None


def call(label: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` for the case ``label``; an exception comes back as :class:`Raised`.

    Naming the case first lets a timeout report which case was running.
    """
    if _active is not None:
        _active.current = label
    try:
        return fn(*args, **kwargs)
    except Exception as exc:  # a learner's bug is feedback, not a crash
        return raised(exc)


def running(label: str) -> None:
    """Name the case about to run learner code that is not called through :func:`call`."""
    if _active is not None:
        _active.current = label


def current_case() -> str:
    """The case named last by :func:`call` or :func:`running` ('' outside a check)."""
    return _active.current if _active is not None else ""


def track_mock(mock: Any) -> Any:
    """Register a checker's ``llmlab.sim.mock(...)`` so an abandoned check stops routing to it."""
    if _active is not None:
        _active.mocks.append(mock)
    return mock


class _CappedText(io.TextIOBase):
    """A text sink keeping the first ``limit`` characters and counting the rest."""

    def __init__(self, limit: int) -> None:
        self.limit, self.kept, self.dropped = limit, io.StringIO(), 0
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, text: str) -> int:
        with self._lock:
            room = self.limit - self.kept.tell()
            if room > 0:
                self.kept.write(text[:room])
            self.dropped += max(0, len(text) - max(room, 0))
        return len(text)

    def summary(self) -> str:
        text = self.kept.getvalue()
        if not text:
            return ""
        if self.dropped:
            text += f"\n... ({self.dropped:,} more characters of output not shown)"
        return text


@dataclass
class Outcome:
    """What supervising a checker produced."""

    cases: list[Any]
    crash: BaseException | None = None  # an exception that escaped the checker
    timed_out: str = ""  # "" or a description of where the learner's code was stuck
    output: str = ""
    current: str = ""  # the case that was running last


def _raise_in(thread: threading.Thread, exc_type: type[BaseException]) -> None:
    if thread.ident is not None and thread.is_alive():
        ctypes.pythonapi.PyThreadState_SetAsyncExc(
            ctypes.c_ulong(thread.ident), ctypes.py_object(exc_type)
        )


def _abandon(thread: threading.Thread, ctx: _Context) -> None:
    """Stop the worker: raise in it now and again for a while (in case it swallows one)."""
    _raise_in(thread, Abandoned)
    for m in ctx.mocks:  # stop answering with the checker's simulator right away
        m.stop()

    def reap() -> None:
        deadline = time.monotonic() + 60.0
        while thread.is_alive() and time.monotonic() < deadline:
            thread.join(0.5)
            _raise_in(thread, Abandoned)

    threading.Thread(target=reap, daemon=True, name="llmlab-check-reaper").start()
    thread.join(0.2)


def supervise(cases: Callable[[], Iterator[Any]], limit: float) -> Outcome:
    """Collect ``cases()`` in a worker thread for at most ``limit`` seconds."""
    global _active
    ctx = _Context()
    outcome = Outcome(cases=[])
    done = threading.Event()

    def work() -> None:
        try:
            for case in cases():
                outcome.cases.append(case)
        except Abandoned:
            pass
        except BaseException as exc:  # reported by the caller, with the learner's line
            outcome.crash = exc
        finally:
            done.set()

    worker = threading.Thread(target=work, daemon=True, name="llmlab-check")
    saved_stdout, previous = sys.stdout, _active
    _active = ctx
    sys.stdout = ctx.output  # the learner's prints: kept, capped, shown with the verdict
    try:
        worker.start()
        if not done.wait(limit):
            frame = sys._current_frames().get(worker.ident or -1)
            where = learner_line_of_frame(frame)
            running_case = ctx.current or "the first case"
            outcome.timed_out = f"stopped after {limit:g} s on {running_case}" + (
                f"; your code was still running at {where}" if where else ""
            )
            _abandon(worker, ctx)
    except KeyboardInterrupt:
        _abandon(worker, ctx)
        raise
    finally:
        sys.stdout = saved_stdout
        _active = previous
    outcome.output = ctx.output.summary()
    outcome.current = ctx.current
    return outcome
