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

# Scheduling for `-n WORKERS --dist loadgroup --no-loadscope-reorder` (tests/run_all.sh): the
# heaviest work units first, so that no long one starts last and leaves the other workers idle
# (greedy longest-first). Measured with --durations on the 2-core machine (seconds under load,
# noisy): only the order is taken from here, so a stale entry costs wall time, never a result.
_HEAVY_FIRST = (
    "tests/sim/test_memory.py",  # an RSS run in a child process
    "tests/test_live_mode.py::test_notebook_runs_live_without_errors[10_",  # 56
    "tests/test_live_mode.py::test_notebook_runs_live_without_errors[11_",  # 30
    "tests/test_live_mode.py::test_notebook_runs_live_without_errors[13_",  # 24
    "tests/test_live_mode.py::test_notebook_runs_live_without_errors[09_",  # 23
    "tests/sim/test_offline_guarantee.py",  # 45, subprocesses
    "tests/sim/test_language.py",  # 40, a 25 s module fixture
    "tests/test_live_mode.py::test_notebook_runs_live_without_errors[14_",  # 20
    "tests/test_live_mode.py::test_notebook_runs_live_without_errors[07_",  # 19
    "tests/exercises/test_lab03.py",
    "tests/exercises/test_checklist.py",
    "tests/test_live_mode.py::test_notebook_runs_live_without_errors[12_",  # 18
    "tests/test_live_mode.py::test_notebook_runs_live_without_errors[04_",  # 17
    "tests/test_live_mode.py::test_notebook_runs_live_without_errors[08_",  # 17
    "tests/test_foundation.py",  # 30, subprocesses
    "tests/claims/test_lab11.py",  # 28
    "tests/test_banners.py",  # 27, executes a notebook
    "tests/claims/test_lab10.py",  # 26
    "tests/test_ledger.py",  # 21, subprocesses
    "tests/test_live_mode.py",  # the other notebooks, 7-13 s each
)
#: tests that are their own work unit (one notebook each); every other file is one unit
_OWN_UNIT = "tests/test_live_mode.py::test_notebook_runs_live_without_errors["


def _rank(nodeid: str) -> int:
    return next(
        (i for i, prefix in enumerate(_HEAVY_FIRST) if nodeid.startswith(prefix)),
        len(_HEAVY_FIRST),
    )


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Work units for ``--dist loadgroup``: one per file (as ``loadfile``, so module fixtures
    are built once), but one per live-mode notebook, which would otherwise queue 15 notebooks
    on one worker; heaviest first (a stable sort: the rest keeps its order)."""
    for item in items:
        unit = item.nodeid if item.nodeid.startswith(_OWN_UNIT) else item.nodeid.split("::")[0]
        item.add_marker(pytest.mark.xdist_group(unit))
    items.sort(key=lambda item: _rank(item.nodeid))


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
