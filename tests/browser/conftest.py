"""Fixtures for the browser tests: a real JupyterLab server and Debian's chromium.

The server runs on a free loopback port with a token, in a temporary root that holds copies
of labs/ and solutions/ (running a notebook in the browser must never write outputs into the
repository), with the repository's own ``postBuild`` applied to a temporary app/config dir:
what a Binder or JupyterHub learner gets, news and update checks off.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO / "test-artifacts" / "browser"

# Chromium as root in a container, on a machine with no outside network: no sandbox, no GPU,
# and none of the background connections that would be refused over and over.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

# Test-only settings on top of postBuild's: render every cell (no windowing, so the DOM holds
# all outputs) and never autosave (the copies are thrown away anyway).
TEST_OVERRIDES = """{
  "@jupyterlab/notebook-extension:tracker": {"windowingMode": "none"},
  "@jupyterlab/docmanager-extension:plugin": {"autosave": false}
}
"""


def find_chromium() -> str | None:
    """The chromium binary: $LLMLAB_CHROMIUM, else Debian's `chromium` on PATH."""
    explicit = os.environ.get("LLMLAB_CHROMIUM")
    if explicit:
        return explicit if Path(explicit).is_file() else None
    for name in ("chromium", "chromium-browser"):
        found = shutil.which(name)
        if found:
            return found
    return None


@dataclass(frozen=True)
class LabServer:
    """A running `jupyter lab`: where it listens and the folder it serves."""

    base_url: str
    token: str
    root: Path
    log: Path

    def url(self, path: str, workspace: str) -> str:
        """A /lab URL in its own named workspace (no layout restored from another test)."""
        return f"{self.base_url}/lab/workspaces/{workspace}/tree/{path}?token={self.token}"


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], log: Path, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"jupyter lab exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.25)
    raise RuntimeError(f"jupyter lab did not answer {url} in {timeout} s:\n{log.read_text()}")


@pytest.fixture(scope="session")
def chromium_path() -> str:
    """Debian's chromium, or a clean skip (browser downloads are impossible here)."""
    pytest.importorskip("playwright.sync_api", reason="playwright is not installed (.[test])")
    path = find_chromium()
    if path is None:
        pytest.skip(
            "no chromium found (apt-get install chromium, or set LLMLAB_CHROMIUM); "
            ".ci/run installs it in CI"
        )
    return path


@pytest.fixture(scope="session")
def lab_server(chromium_path: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[LabServer]:
    """`jupyter lab` on a free loopback port, token auth, temp workspace, postBuild applied."""
    tmp = tmp_path_factory.mktemp("jupyterlab")
    root = tmp / "root"
    for folder in ("labs", "solutions"):
        shutil.copytree(
            REPO / folder, root / folder, ignore=shutil.ignore_patterns(".ipynb_checkpoints")
        )

    env = os.environ.copy()
    # A learner's kernel: matplotlib's inline backend (tests/run_all.sh exports Agg, under
    # which plt.show() draws nothing), and the fast simulator clock CI uses.
    env.pop("MPLBACKEND", None)
    env["LLMLAB_TIME_SCALE"] = os.environ.get("LLMLAB_BROWSER_TIME_SCALE", "0.05")
    env["PATH"] = f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}"
    env.update(
        LLMLAB_POSTBUILD_SKIP_INSTALL="1",  # postBuild: settings only, no pip install
        JUPYTERLAB_DIR=str(tmp / "app"),  # read by postBuild only; the server gets flags
        LLMLAB_CONFIG_PREFIX=str(tmp / "prefix"),
        JUPYTER_CONFIG_DIR=str(tmp / "config"),
        JUPYTER_CONFIG_PATH=str(tmp / "prefix" / "etc" / "jupyter"),
        JUPYTER_RUNTIME_DIR=str(tmp / "runtime"),
        JUPYTERLAB_SETTINGS_DIR=str(tmp / "user-settings"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp / "workspaces"),
        IPYTHONDIR=str(tmp / "ipython"),
    )
    subprocess.run(["bash", str(REPO / "postBuild")], env=env, check=True, capture_output=True)
    env.pop("JUPYTERLAB_DIR")  # the server must find its built assets in the venv
    settings = tmp / "app" / "settings"
    (settings / "overrides.d" / "zz-browser-tests.json").write_text(TEST_OVERRIDES)

    token = os.urandom(16).hex()
    port = _free_port()
    cmd = [
        sys.executable, "-m", "jupyterlab",
        "--no-browser",
        "--ServerApp.ip=127.0.0.1",
        f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0",
        f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={root}",
        f"--LabApp.app_settings_dir={settings}",
        f"--LabApp.user_settings_dir={tmp / 'user-settings'}",
        f"--LabApp.workspaces_dir={tmp / 'workspaces'}",
        "--expose-app-in-browser",  # window.jupyterapp: run-all and the cell model
    ]  # fmt: skip
    if hasattr(os, "geteuid") and os.geteuid() == 0:
        cmd.append("--allow-root")
    log = tmp / "jupyter-lab.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=root, stdout=out, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        _wait_ready(f"{base}/api/status?token={token}", proc, log, timeout=60)
        yield LabServer(base_url=base, token=token, root=root, log=log)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)


@pytest.fixture(scope="session")
def browser(chromium_path: str) -> Iterator[Any]:
    """Headless Debian chromium under Playwright (a fresh temporary profile per launch)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(
            executable_path=chromium_path, headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield instance
        finally:
            instance.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A new page at a laptop-sized viewport; console errors kept for the report."""
    context = browser.new_context(viewport={"width": 1400, "height": 900})
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    try:
        yield pg
    finally:
        context.close()


@pytest.fixture(scope="session")
def artifacts() -> Path:
    """test-artifacts/browser/: screenshots kept after the run (gitignored)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
