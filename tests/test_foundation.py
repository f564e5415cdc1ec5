"""Guards for the plumbing every notebook relies on: HTTP stack, tokenizers, pins, layout."""

from __future__ import annotations

import hashlib
import importlib.metadata
import os
import shutil
import subprocess
import sys
import textwrap
import tomllib
from pathlib import Path
from typing import Any

import anthropic
import httpx
import openai
import pytest
import respx
from packaging.requirements import Requirement

import llmlab
from llmlab import DataFileError
from llmlab._offline import ENCODINGS, ensure_tiktoken_offline

ROOT = Path(llmlab.__file__).resolve().parent.parent

# --- (a) the SDKs speak through the httpx that respx patches ---------------------------------

ANTHROPIC_MODELS = {"data": [], "has_more": False, "first_id": None, "last_id": None}
OPENAI_MODELS = {"object": "list", "data": []}

ANTHROPIC_URL = "https://api.anthropic.com/v1/models"
OPENAI_URL = "https://api.openai.com/v1/models"

SDKS: list[tuple[str, Any, bool, str, dict[str, Any]]] = [
    ("anthropic", anthropic.Anthropic, False, ANTHROPIC_URL, ANTHROPIC_MODELS),
    ("anthropic", anthropic.AsyncAnthropic, True, ANTHROPIC_URL, ANTHROPIC_MODELS),
    ("openai", openai.OpenAI, False, OPENAI_URL, OPENAI_MODELS),
    ("openai", openai.AsyncOpenAI, True, OPENAI_URL, OPENAI_MODELS),
]


def _pin_hint(pkg: str) -> str:
    version = importlib.metadata.version(pkg)
    return (
        f"{pkg} {version}: pin {pkg} to a version that uses httpx (see pyproject.toml); "
        "respx, and so the in-process simulator, only intercepts httpx"
    )


@pytest.mark.parametrize(
    ("pkg", "cls", "is_async", "url", "body"), SDKS, ids=[s[1].__name__ for s in SDKS]
)
async def test_sdk_uses_httpx_that_respx_intercepts(
    pkg: str, cls: Any, is_async: bool, url: str, body: dict[str, Any]
) -> None:
    client = cls(api_key="x", max_retries=0, timeout=5.0)
    expected = httpx.AsyncClient if is_async else httpx.Client
    assert isinstance(client._client, expected), (
        f"{cls.__name__}._client is {type(client._client).__module__}."
        f"{type(client._client).__name__}, not {expected.__module__}.{expected.__name__}. "
        + _pin_hint(pkg)
    )
    with respx.mock(assert_all_called=False, assert_all_mocked=True) as mock:
        route = mock.get(url).respond(json=body)
        try:
            if is_async:
                async for _ in client.models.list():
                    pass
            else:
                list(client.models.list())
        except Exception as exc:  # a request respx did not see ends here
            pytest.fail(f"request through {cls.__name__} escaped respx ({exc!r}). {_pin_hint(pkg)}")
    assert route.called, f"respx did not see the request from {cls.__name__}. {_pin_hint(pkg)}"


# --- (b) tiktoken loads its encodings with no network ----------------------------------------

_NO_NETWORK = textwrap.dedent(
    """
    import socket, sys

    def _refuse(*args, **kwargs):
        print("NETWORK-ATTEMPT", args[:2], file=sys.stderr)
        raise OSError("network disabled by test_foundation")

    socket.socket.connect = _refuse
    socket.socket.connect_ex = _refuse
    socket.getaddrinfo = _refuse
    socket.create_connection = _refuse

    import os
    import llmlab, tiktoken

    cache = os.environ["TIKTOKEN_CACHE_DIR"]
    assert cache.startswith(os.environ["HOME"]), cache
    tiktoken.get_encoding("o200k_base")
    ids = tiktoken.encoding_for_model("gpt-4o").encode("hello world")
    assert ids == [24912, 2375], ids
    tiktoken.get_encoding("cl100k_base")
    print("OK", ids)
    """
)


def test_tiktoken_works_offline_from_a_fresh_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    tmp = tmp_path / "tmp"
    home.mkdir()
    tmp.mkdir()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"TIKTOKEN_CACHE_DIR", "DATA_GYM_CACHE_DIR", "XDG_CACHE_HOME"}
    }
    env |= {"HOME": str(home), "TMPDIR": str(tmp)}
    proc = subprocess.run(
        [sys.executable, "-c", _NO_NETWORK],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=120,
    )
    if "NETWORK-ATTEMPT" in proc.stderr:
        pytest.fail(
            "tiktoken tried to download: data/tokenizers must hold the encoding files\n"
            + proc.stderr
        )
    assert proc.returncode == 0, proc.stderr
    assert "OK [24912, 2375]" in proc.stdout


def test_shipped_tokenizer_files_match_tiktokens_hashes() -> None:
    for name, expected in ENCODINGS.items():
        path = ROOT / "data" / "tokenizers" / f"{name}.tiktoken"
        actual = hashlib.sha256(path.read_bytes()).hexdigest()
        assert actual == expected, f"{path} is corrupted: restore it from git"


def test_ensure_is_idempotent_and_honours_user_cache_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "mine"))
    first = ensure_tiktoken_offline()
    assert first == tmp_path / "mine"
    assert ensure_tiktoken_offline() == first
    assert len(list(first.iterdir())) == len(ENCODINGS)
    assert os.environ["TIKTOKEN_CACHE_DIR"] == str(first)


def test_corrupted_tokenizer_file_is_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    data = tmp_path / "data"
    shutil.copytree(ROOT / "data" / "tokenizers", data / "tokenizers")
    bad = data / "tokenizers" / "cl100k_base.tiktoken"
    bad.chmod(0o644)
    bad.write_bytes(b"not a tokenizer\n")
    monkeypatch.setenv("LLMLAB_DATA_DIR", str(data))
    monkeypatch.setenv("TIKTOKEN_CACHE_DIR", str(tmp_path / "cache"))
    with pytest.raises(DataFileError, match=r"(?i)cl100k_base\.tiktoken.*restore it from git"):
        ensure_tiktoken_offline()


# --- (c) installed versions equal the exact pins ----------------------------------------------


def _exact_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    pins: dict[str, str] = {}
    for line in project["dependencies"]:
        req = Requirement(line)
        specs = list(req.specifier)
        if len(specs) == 1 and specs[0].operator == "==":
            pins[req.name] = specs[0].version
    return pins


def test_exact_pins_are_what_is_installed() -> None:
    pins = _exact_pins()
    assert {"anthropic", "openai", "instructor", "respx", "httpx"} <= pins.keys()
    wrong = []
    for name, pinned in sorted(pins.items()):
        installed = importlib.metadata.version(name)
        if installed != pinned:
            wrong.append(
                f"run `make test` to reinstall; installed {name}=={installed} "
                f"but pyproject pins {name}=={pinned}"
            )
    assert not wrong, "\n".join(wrong)


# --- (d) the top level holds only what the course promises ----------------------------------

ALLOWED_TOP_LEVEL = {
    "pyproject.toml",
    "llmlab",
    "labs",
    "solutions",
    "data",
    "tests",
    "README.md",
    "LICENSE",
    "CONTRIBUTING.md",
    "Makefile",
    # repo2docker (Binder / JupyterHub images): a binder/ folder would stop it installing the
    # root pyproject.toml, so its two small files sit at the root.
    "postBuild",
    "runtime.txt",
}
_IGNORED = {"test-artifacts", "build", "__pycache__"}


def _top_level_entries() -> set[str]:
    git = shutil.which("git")
    if git and (ROOT / ".git").exists():
        out = subprocess.run(
            [git, "ls-files", "-co", "--exclude-standard"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        return {line.split("/", 1)[0] for line in out.splitlines() if line}
    return {
        p.name
        for p in ROOT.iterdir()
        if p.name not in _IGNORED and not p.name.endswith(".egg-info")
    }


def test_top_level_layout() -> None:
    entries = {e for e in _top_level_entries() if not e.startswith(".")}
    assert entries == ALLOWED_TOP_LEVEL, (
        f"unexpected top-level entries: {sorted(entries - ALLOWED_TOP_LEVEL)}; "
        f"missing: {sorted(ALLOWED_TOP_LEVEL - entries)}"
    )


# --- (e) the public namespace is whole ----------------------------------------------------------


def test_all_names_resolve() -> None:
    missing = [name for name in llmlab.__all__ if not hasattr(llmlab, name)]
    assert not missing, f"llmlab.__all__ names that do not resolve: {missing}"
    assert len(set(llmlab.__all__)) == len(llmlab.__all__)
