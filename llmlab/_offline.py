"""Make tiktoken work with no network, from the encoding files shipped in ``data/tokenizers``.

tiktoken downloads each BPE file on first use, but first looks in ``$TIKTOKEN_CACHE_DIR``
for a file named ``sha1(<download URL>)`` whose sha256 matches (``tiktoken/load.py``,
``read_file_cached``). We fill such a cache from the repo's copies and point tiktoken at it.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import warnings
from pathlib import Path

from llmlab._exceptions import DataFileError
from llmlab._paths import data_dir

__all__ = ["ENCODINGS", "ensure_tiktoken_offline"]

_URL = "https://openaipublic.blob.core.windows.net/encodings/{name}.tiktoken"

#: encoding file name -> sha256 that ``tiktoken_ext/openai_public.py`` expects.
ENCODINGS: dict[str, str] = {
    "o200k_base": "446a9538cb6c348e3516120d7c08b09f57c36495e2acfffe59a5bf8b0cfb1a2d",
    "cl100k_base": "223921b76ee99bde995b7ff738513eef100fb51d18c93597a113bcffe865b2a7",
}

_done: Path | None = None


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _cache_key(name: str) -> str:
    """The file name tiktoken looks up: sha1 of the download URL."""
    return hashlib.sha1(_URL.format(name=name).encode()).hexdigest()


def _default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "llmlab" / "tiktoken"


def _tempdir_fallback() -> Path:
    uid = os.getuid() if hasattr(os, "getuid") else 0
    return Path(tempfile.gettempdir()) / f"llmlab-tiktoken-{uid}"


def _populate(cache_dir: Path, source_dir: Path) -> None:
    """Copy every encoding whose cached copy is missing or wrong into ``cache_dir``."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    for name, expected in ENCODINGS.items():
        target = cache_dir / _cache_key(name)
        if target.is_file() and _sha256(target) == expected:
            continue
        source = source_dir / f"{name}.tiktoken"
        if not source.is_file():
            raise DataFileError(
                f"{source} is missing; restore it from git (git checkout -- data/tokenizers/)"
            )
        data = source.read_bytes()
        if hashlib.sha256(data).hexdigest() != expected:
            raise DataFileError(
                f"{source} does not match its sha256 {expected}; it is corrupted or was edited. "
                "Restore it from git (git checkout -- data/tokenizers/)"
            )
        tmp = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, target)


def ensure_tiktoken_offline() -> Path:
    """Fill a tiktoken cache from ``data/tokenizers`` and set ``TIKTOKEN_CACHE_DIR``; idempotent.

    Uses ``$TIKTOKEN_CACHE_DIR`` when the user set a non-empty one, else
    ``~/.cache/llmlab/tiktoken`` (or a temp-dir fallback when that is not writable).
    Returns the cache directory in use. Raises ``DataFileError`` if a shipped file is bad.
    """
    global _done
    user_dir = os.environ.get("TIKTOKEN_CACHE_DIR")
    if _done is not None and user_dir == str(_done):
        return _done

    source_dir = data_dir() / "tokenizers"
    candidates = [Path(user_dir)] if user_dir else []
    candidates += [_default_cache_dir(), _tempdir_fallback()]
    errors: list[str] = []
    for cache_dir in candidates:
        try:
            _populate(cache_dir, source_dir)
        except OSError as exc:
            errors.append(f"{cache_dir}: {exc}")
            continue
        if user_dir and cache_dir != Path(user_dir):
            warnings.warn(
                f"TIKTOKEN_CACHE_DIR={user_dir} is not writable; using {cache_dir} instead",
                stacklevel=2,
            )
        os.environ["TIKTOKEN_CACHE_DIR"] = str(cache_dir)
        _done = cache_dir
        return cache_dir
    raise DataFileError("no writable tiktoken cache directory: " + "; ".join(errors))
