"""pytest plugin (``-p tests.nbval_modes``): strict solutions/ and lax labs/ in one nbval run.

tests/run_all.sh runs ``pytest --nbval ... solutions/ labs/`` with this plugin instead of two
runs (``--nbval solutions/``, then ``--nbval-lax labs/``): one start-up and one pair of workers,
and no worker idle at the end of the first run while the other finishes its last notebook.
For the notebooks under labs/ it restores what ``--nbval-lax`` did: a cell's output is compared
only if the cell asks for it (``# NBVAL_CHECK_OUTPUT``, or the matching tag), and the kernel gets
an empty learner folder (``LLMLAB_MY_CODE``): an untouched lab, as a new learner has it.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from unittest import mock

import pytest
from nbval.plugin import IPyNbCell, find_comment_markers, find_metadata_tags

LABS = Path(__file__).resolve().parents[1] / "labs"
_MY_CODE = "LLMLAB_MY_CODE"
_FOLDER: list[str] = []  # the empty learner folder of this process, made on first use


def _in_labs(item: pytest.Item) -> bool:
    return isinstance(item, IPyNbCell) and LABS in Path(str(item.path)).resolve().parents


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Lab cells compare outputs only where they say so, as under ``--nbval-lax``."""
    for item in items:
        if _in_labs(item):
            assert isinstance(item, IPyNbCell)
            asked = dict(find_metadata_tags(item.cell.metadata) or ())
            asked.update(find_comment_markers(item.cell.source))
            item.options["check"] = bool(asked.get("check", False))


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_setup(item: pytest.Item) -> Iterator[None]:
    """A lab's kernel (started in its first cell's setup) inherits an empty learner folder."""
    if not _in_labs(item):
        yield
        return
    if not _FOLDER:
        _FOLDER.append(tempfile.mkdtemp(prefix="llmlab-labs-my-code-"))
    with mock.patch.dict(os.environ, {_MY_CODE: _FOLDER[0]}):
        yield


def pytest_unconfigure() -> None:
    for folder in _FOLDER:
        shutil.rmtree(folder, ignore_errors=True)
