"""Live mode runs every solution notebook top to bottom with 0 error outputs (issue 16).

``LLMLAB_PROVIDER=live`` with the SDKs' base URLs at the HTTP simulator, standing in for the
real providers: ``llmlab.setup()`` leaves the SDKs alone, so every request crosses a real
socket, and the simulator-only cells (scripted faults, the clock, the simulator's billing)
must say so in one line and step aside instead of raising. The checkers keep their own
in-process simulator. All eleven notebooks take about two minutes at time scale 0.05.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

import llmlab
from llmlab import SimulatorError
from llmlab._setup import RunCost
from llmlab.reference.breaker import requests_reaching
from llmlab.sim import FaultPlan, Simulator
from llmlab.sim.testing import SimServer, serving

pytestmark = [pytest.mark.notebooks, pytest.mark.slow]

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((ROOT / "solutions").glob("[0-9][0-9]_*.ipynb"))
TIME_SCALE = 0.05
SKIP_LINE = "[simulator only, skipped in live mode]"


@pytest.fixture(scope="module")
def provider() -> Iterator[SimServer]:
    """One HTTP simulator on a free loopback port: the 'real providers' for every notebook."""
    with serving(Simulator(seed=0, time_scale=TIME_SCALE)) as server:
        yield server


def _live_env(server: SimServer) -> dict[str, str]:
    return {
        "LLMLAB_PROVIDER": "live",
        "ANTHROPIC_BASE_URL": server.anthropic_base_url,
        "OPENAI_BASE_URL": server.openai_base_url,
        "ANTHROPIC_API_KEY": "sk-ant-test",
        "OPENAI_API_KEY": "sk-test",
        "LLMLAB_TIME_SCALE": str(TIME_SCALE),
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
        "PYTHONPATH": os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p),
    }


def _outputs(nb: nbformat.NotebookNode, kind: str) -> list[tuple[int, dict[str, object]]]:
    return [
        (i, out)
        for i, cell in enumerate(nb.cells)
        if cell.cell_type == "code"
        for out in cell.get("outputs", [])
        if out["output_type"] == kind
    ]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_runs_live_without_errors(
    path: Path, provider: SimServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name, value in _live_env(provider).items():
        monkeypatch.setenv(name, value)  # the kernel inherits this process's environment
    before = requests_reaching(provider.sim)
    nb = nbformat.read(path, as_version=4)
    NotebookClient(
        nb, timeout=600, kernel_name="python3", allow_errors=True,
        resources={"metadata": {"path": str(ROOT / "solutions")}},
    ).execute()

    errors = [f"cell {i}: {out['ename']}: {out['evalue']}" for i, out in _outputs(nb, "error")]
    assert errors == [], f"{path.name} in live mode:\n" + "\n".join(errors)
    text = "".join(str(out.get("text", "")) for _, out in _outputs(nb, "stream"))
    assert "LIVE mode" in text  # setup() took the live branch: nothing answered in-process
    assert "Traceback" not in text and "sk-ant-test" not in text and "sk-test" not in text
    assert "this run billed" not in text  # no simulator bill passed off as a live one
    checks = re.findall(r"^\[(\d\d\.\w+)\] (.*)$", text, flags=re.MULTILINE)
    # checkers keep their simulator: each exercise's last check passes (lab 00's tour shows
    # an untouched stub and a wrong answer first, on purpose)
    last = {exercise: verdict for exercise, verdict in checks}
    assert all(v.startswith("passed") for v in last.values()), checks
    assert requests_reaching(provider.sim) > before, "the notebook's own calls reach the provider"


def test_simulator_only_is_silent_in_simulator_mode(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("LLMLAB_PROVIDER", raising=False)
    assert llmlab.simulator_only("scripted faults") is True and capsys.readouterr().out == ""
    monkeypatch.setenv("LLMLAB_PROVIDER", "live")
    assert llmlab.simulator_only("scripted faults") is False
    assert capsys.readouterr().out == f"{SKIP_LINE} scripted faults\n"


def test_a_live_simulator_refuses_settings_but_allows_resets() -> None:
    sim = Simulator(seed=0)
    sim.live = True
    with pytest.raises(SimulatorError, match="simulator_only"):
        sim.set_faults(FaultPlan.scripted(["529"]))
    with pytest.raises(SimulatorError):
        sim.advance(seconds=1)
    sim.set_faults(None)  # nothing to undo: a reset is allowed
    sim.set_faults(None, provider="anthropic")
    sim.set_behaviour(None)
    sim.set_rate_limits(None)


def test_run_cost_in_live_mode_points_at_the_providers_bill() -> None:
    live = str(RunCost((), "2026-11-04", live=True))
    assert "usage pages" in live and "$" not in live
    assert str(RunCost((), "2026-11-04")).startswith("this run billed 0 calls: $0.0000")
