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
import openai
import pytest
import respx
from packaging.requirements import Requirement

import llmlab
from llmlab import DataFileError
from llmlab._offline import ENCODINGS, ensure_tiktoken_offline

ROOT = Path(llmlab.__file__).resolve().parent.parent

# --- (a) the simulator answers every SDK client of either HTTP generation, offline ------------
# In a fresh interpreter with sockets blocked and base-URL / proxy variables pointing at hosts
# that do not exist: each SDK (sync, async, streaming) and instructor must be answered
# in-process, and a request to a non-API, non-loopback URL must be refused, not sent.

_OFFLINE_SDKS = textwrap.dedent(
    """
    import asyncio, os, socket, sys

    attempts = []

    def _refuse(*args, **kwargs):
        attempts.append(args[:2])
        raise OSError("network disabled by test_foundation")

    socket.socket.connect = _refuse
    socket.socket.connect_ex = _refuse
    socket.getaddrinfo = _refuse
    socket.create_connection = _refuse

    import anthropic, httpx, instructor, openai, pydantic
    import llmlab
    from llmlab.sim import sdk_http

    sim = llmlab.setup(seed=0, quiet=True)
    A, O = "claude-sonnet-4-6", "gpt-4.1-mini"
    user = [{"role": "user", "content": "Status of the checkout service?"}]
    a, o = anthropic.Anthropic(max_retries=0), openai.OpenAI(max_retries=0)
    assert a.messages.create(model=A, max_tokens=8, messages=user).content
    with a.messages.stream(model=A, max_tokens=8, messages=user) as s:
        assert s.get_final_text()
    assert o.chat.completions.create(model=O, max_tokens=8, messages=user).choices
    chunks = list(o.chat.completions.create(model=O, max_tokens=8, messages=user, stream=True))
    assert chunks

    async def both():
        aa, ao = anthropic.AsyncAnthropic(max_retries=0), openai.AsyncOpenAI(max_retries=0)
        assert (await aa.messages.create(model=A, max_tokens=8, messages=user)).content
        async with aa.messages.stream(model=A, max_tokens=8, messages=user) as s:
            assert await s.get_final_text()
        assert (await ao.chat.completions.create(model=O, max_tokens=8, messages=user)).choices

    asyncio.run(both())

    class Status(pydantic.BaseModel):
        service: str
        healthy: bool

    ia = instructor.from_anthropic(a, mode=instructor.Mode.ANTHROPIC_TOOLS)
    io = instructor.from_openai(o, mode=instructor.Mode.TOOLS)
    assert ia.messages.create(model=A, max_tokens=200, messages=user, response_model=Status)
    assert io.chat.completions.create(model=O, messages=user, response_model=Status)

    mod = sdk_http("anthropic")
    try:
        mod.get("https://example.com/not-an-api", timeout=2)
    except mod.ConnectError as exc:
        assert "refused" in str(exc), exc
    else:
        raise AssertionError("a non-API request left the simulator")
    assert not attempts, attempts
    print("OK", sim.stats.calls["anthropic"], sim.stats.calls["openai"], mod.__name__)
    """
)


def test_every_sdk_client_is_answered_in_process_with_sockets_blocked(tmp_path: Path) -> None:
    env = {
        **os.environ,
        # a learner's gateway and proxy settings must not switch the simulator off
        "ANTHROPIC_BASE_URL": "https://llm-gateway.invalid/anthropic",
        "OPENAI_BASE_URL": "https://llm-gateway.invalid/openai/v1",
        "HTTPS_PROXY": "http://proxy.invalid:3128",
        "ANTHROPIC_API_KEY": "sk-ant-real-looking-key",
        "OPENAI_API_KEY": "sk-real-looking-key",
        "LLMLAB_PROVIDER": "sim",
        "LLMLAB_TIME_SCALE": "0.01",
    }
    proc = subprocess.run(
        [sys.executable, "-c", _OFFLINE_SDKS],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    ok = proc.stdout.strip().splitlines()[-1].split()
    assert ok[0] == "OK" and int(ok[1]) >= 4 and int(ok[2]) >= 3, proc.stdout
    expected = "httpx2" if int(anthropic.__version__.split(".")[0]) >= 1 else "httpx"
    assert ok[3] == expected


def test_respx_still_mocks_the_legacy_sdks_when_no_simulator_runs() -> None:
    """What lab 10 shows for the httpx generation; the httpx2 SDKs take http_client=."""
    if int(anthropic.__version__.split(".")[0]) >= 1:
        pytest.skip("anthropic >= 1 speaks httpx2, which respx 0.23 cannot mock (respx #324)")
    client = anthropic.Anthropic(api_key="x", max_retries=0)
    body = {"data": [], "has_more": False, "first_id": None, "last_id": None}
    with respx.mock(assert_all_mocked=True) as mock:
        route = mock.get("https://api.anthropic.com/v1/models").respond(json=body)
        list(client.models.list())
    assert route.called


def test_an_httpx2_mock_transport_mocks_the_current_sdks() -> None:
    """The documented way to mock an httpx2 SDK: its own client with a MockTransport."""
    from llmlab.sim import sdk_http

    mod = sdk_http("openai")
    seen: list[str] = []

    def handler(request: Any) -> Any:
        seen.append(request.url.path)
        return mod.Response(200, json={"object": "list", "data": []})

    client = openai.OpenAI(
        api_key="x", max_retries=0, http_client=mod.Client(transport=mod.MockTransport(handler))
    )
    assert list(client.models.list()) == []
    assert seen == ["/v1/models"]


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


# --- (c) installed versions equal the exact pins of the active world ---------------------------


def _world() -> str:
    """``current`` (make test) or ``legacy`` (make test-legacy sets LLMLAB_WORLD=legacy)."""
    return os.environ.get("LLMLAB_WORLD", "current")


def _exact_pins() -> dict[str, str]:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    lines = list(project["dependencies"])
    lines += [
        line.split("#", 1)[0].strip()
        for line in (ROOT / "constraints" / f"{_world()}.txt").read_text().splitlines()
    ]
    pins: dict[str, str] = {}
    for line in filter(None, lines):
        req = Requirement(line)
        specs = list(req.specifier)
        if len(specs) == 1 and specs[0].operator == "==":
            pins[req.name] = specs[0].version
    return pins


def test_exact_pins_are_what_is_installed() -> None:
    pins = _exact_pins()
    assert {"anthropic", "openai", "instructor", "respx", "jiter"} <= pins.keys()
    wrong = []
    for name, pinned in sorted(pins.items()):
        installed = importlib.metadata.version(name)
        if installed != pinned:
            target = "make test-legacy" if _world() == "legacy" else "make test"
            wrong.append(
                f"run `{target}` to reinstall; installed {name}=={installed} but the "
                f"{_world()} world pins {name}=={pinned}"
            )
    assert not wrong, "\n".join(wrong)


def test_the_current_world_is_the_current_sdk_majors() -> None:
    pins = {
        Requirement(line.split("#", 1)[0]).name: line.split("==")[1].strip()
        for line in (ROOT / "constraints" / "current.txt").read_text().splitlines()
        if "==" in line and not line.startswith("#")
    }
    assert int(pins["anthropic"].split(".")[0]) >= 2
    assert int(pins["openai"].split(".")[0]) >= 3


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
    # exact pins of the two SDK worlds (current: make lab / make test; legacy: make test-legacy)
    "constraints",
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


# --- (f) a notebook's first cell stays cheap: what setup() and the first check do not import -----

_STARTUP_PROBE = textwrap.dedent(
    """
    import sys
    import openai
    import llmlab
    llmlab.setup(quiet=True)
    unused = ("anthropic", "matplotlib", "llmlab.check._checklist")
    after_setup = {m for m in unused if m in sys.modules}
    llmlab.check.__module__  # the function, not the package
    from llmlab.check import get
    get("01.softmax")
    labs = sorted(m for m in sys.modules if m.startswith("llmlab.check._lab"))
    import matplotlib
    from llmlab.check import ChecklistResult, checklist
    module = sys.modules["llmlab.check._checklist"]
    print(sorted(after_setup), labs, matplotlib.rcParams["axes.titleweight"],
          checklist is module.checklist and ChecklistResult is module.ChecklistResult)
    """
)


def test_setup_and_a_first_check_import_only_what_they_use() -> None:
    """setup() leaves matplotlib (styled on import), anthropic and the lab-10 checklist unloaded;
    a check loads its own lab's checkers only."""
    out = subprocess.run(
        [sys.executable, "-c", _STARTUP_PROBE], capture_output=True, text=True, check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ).stdout.strip()
    assert out == "[] ['llmlab.check._lab01'] bold True", out


def test_check_namespace_is_whole_with_lazy_names() -> None:
    check_pkg = sys.modules["llmlab.check"]  # ``llmlab.check`` itself is the function
    registry = sys.modules["llmlab.check._registry"]
    missing = [name for name in check_pkg.__all__ if not hasattr(check_pkg, name)]
    assert not missing, f"llmlab.check.__all__ names that do not resolve: {missing}"
    assert set(check_pkg.__all__) <= set(dir(check_pkg))
    with pytest.raises(AttributeError, match="no_such_name"):
        check_pkg.no_such_name  # noqa: B018
    with pytest.raises(llmlab.ExerciseError, match="known ids: .*01.softmax"):
        registry.get("99.nothing")
    # a typo names the id it was probably meant to be
    with pytest.raises(llmlab.ExerciseError, match=r"did you mean '02\.estimate_call'\?"):
        registry.get("02.estimate_cal")
