"""Shared pytest configuration: the simulator fixtures (``sim``, ``sim_server``), and a learner
folder of the tests' own: tests that pass a check must not write ``my_client/`` in the repo.

The folder is set for test functions only, never for notebook cells: nbval's kernels inherit
the environment, and ``solutions/10`` must find the committed ``solutions/my_client/`` even when
one pytest run collects both ``tests/`` and ``--nbval solutions/``.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator

import pytest

pytest_plugins = ["llmlab.sim.testing"]

_VAR = "LLMLAB_MY_CODE"
_ORIGINAL = os.environ.get(_VAR)
_FOLDER: list[str] = []  # one per test process, made on first use, removed at the end


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """Point the learner folder at this process's temporary one for a test (not a notebook
    cell), and put it back after: a notebook's kernel, started later in the same process, sees
    the environment as it was. (pytest calls this conftest's hooks for notebooks outside tests/
    too when one run collects both.)"""
    if type(item).__module__.startswith("nbval"):
        yield
        return
    if not _FOLDER:
        _FOLDER.append(tempfile.mkdtemp(prefix="llmlab-tests-my-code-"))
    os.environ[_VAR] = _FOLDER[0]
    try:
        yield
    finally:
        if _ORIGINAL is None:
            os.environ.pop(_VAR, None)
        else:
            os.environ[_VAR] = _ORIGINAL


def pytest_unconfigure(config: pytest.Config) -> None:
    for folder in _FOLDER:
        shutil.rmtree(folder, ignore_errors=True)
