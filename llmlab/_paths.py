"""Where the repository's folders are, so code finds ``data/`` without relying on the cwd."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["data_dir", "repo_root"]


def repo_root() -> Path:
    """The checkout root: the folder holding the ``llmlab`` package (editable install)."""
    return Path(__file__).resolve().parent.parent


def data_dir() -> Path:
    """The course data folder: ``$LLMLAB_DATA_DIR`` if set, else ``<repo root>/data``."""
    override = os.environ.get("LLMLAB_DATA_DIR")
    if override:
        return Path(override).expanduser().resolve()
    return repo_root() / "data"
