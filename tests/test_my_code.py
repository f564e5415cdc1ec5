"""The learner's code persists: a passing check keeps it in my_client/, later labs load it back,
a redefinition is checked again, and solutions/my_client/ matches the solution notebooks."""

from __future__ import annotations

import ast
import itertools
import json
import linecache
import textwrap
from pathlib import Path
from typing import Any

import pytest

import llmlab
from llmlab.check import _persist, check, mine, solution_or_reference
from llmlab.check._registry import all_exercises
from llmlab.reference.client import METHOD_IDS, PIECE_IDS, LLMClient

ROOT = Path(__file__).resolve().parents[1]
_cells = itertools.count()


def cell(source: str, scope: dict[str, Any] | None = None) -> dict[str, Any]:
    """Run ``source`` as a notebook cell would: in ``__main__``, its text in linecache."""
    name = f"<ipython-input-{next(_cells)}>"
    text = textwrap.dedent(source)
    linecache.cache[name] = (len(text), None, text.splitlines(keepends=True), name)
    scope = scope if scope is not None else {"__name__": "__main__"}
    exec(compile(text, name, "exec"), scope)
    return scope


@pytest.fixture()
def my_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("LLMLAB_MY_CODE", str(tmp_path / "my_client"))
    return tmp_path / "my_client"


BACKOFF = """
import random
from llmlab.sim import sdk_http
http = sdk_http("anthropic")
GROWTH = 2


def ceiling(attempt, base, cap):
    return min(cap, base * GROWTH**attempt)


def backoff_delay(attempt, base=1.0, cap=60.0, rand=random.random):
    ### BEGIN SOLUTION
    assert http.TransportError
    return rand() * ceiling(attempt, base, cap)
    ### END SOLUTION
"""


def test_a_pass_keeps_a_standalone_readable_module(
    my_code: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ns = cell(BACKOFF)
    assert check("07.backoff_delay", ns["backoff_delay"]).passed
    assert "(kept in my_client/lab07_backoff_delay.py" in capsys.readouterr().out
    text = (my_code / "lab07_backoff_delay.py").read_text()
    assert "import random" in text and 'http = sdk_http("anthropic")' in text
    assert "GROWTH = 2" in text and "def ceiling(" in text  # a helper cell it calls, and a constant
    assert "BEGIN SOLUTION" not in text
    kept = mine("07.backoff_delay")
    assert kept is not ns["backoff_delay"] and kept(3, 1.0, 60.0, lambda: 0.5) == 4.0


def test_a_library_object_without_a_module_is_imported_from_where_it_lives(my_code: Path) -> None:
    """Lab 04's cache_breakpoint reads llmlab.sim.MODELS, a dict: it has no __module__."""
    ns = cell(
        """
        from llmlab.sim import MODELS


        def cache_minimum(model):
            return MODELS[model].cache_min_tokens
        """
    )
    text = _persist.source_of("04.cache_minimum", ns["cache_minimum"])
    assert "from llmlab.sim import MODELS" in text
    scope: dict[str, Any] = {}
    exec(compile(text, "kept.py", "exec"), scope)
    assert scope["cache_minimum"]("claude-sonnet-4-6") == ns["cache_minimum"]("claude-sonnet-4-6")
    with pytest.raises(_persist._Unsaveable, match="the notebook's 'TABLE'"):
        _persist.source_of("04.x", cell("TABLE = {1: object()}\ndef x():\n    return TABLE\n")["x"])


def test_a_helper_known_by_a_second_name_is_kept_under_both(my_code: Path) -> None:
    """``backoff_delay_ = solution_or_reference(...)`` is the same function under a new name."""
    ns = cell(
        """
        def backoff(attempt):
            return 2.0**attempt


        backoff_ = backoff


        def wait_for(attempt):
            return backoff_(attempt)
        """
    )
    text = _persist.source_of("07.wait_for", ns["wait_for"])
    assert "def backoff(" in text and "backoff_ = backoff" in text
    scope: dict[str, Any] = {}
    exec(compile(text, "kept.py", "exec"), scope)
    assert scope["wait_for"](3) == 8.0


def test_a_failing_redefinition_is_checked_again_and_not_kept(
    my_code: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    ns = cell(BACKOFF)
    assert check("07.backoff_delay", ns["backoff_delay"]).passed
    saved = (my_code / "lab07_backoff_delay.py").read_text()
    cell("def backoff_delay(attempt, base=1.0, cap=60.0, rand=None):\n    return cap\n", ns)
    assert not check("07.backoff_delay", ns["backoff_delay"]).passed
    assert (my_code / "lab07_backoff_delay.py").read_text() == saved
    capsys.readouterr()
    used = solution_or_reference("07.backoff_delay", ns["backoff_delay"])
    assert used is not ns["backoff_delay"] and used(0, 1.0, 60.0, lambda: 0.5) == 0.5
    assert "the one in this notebook does not pass its check" in capsys.readouterr().out


def test_a_class_defined_in_a_cell_is_kept(my_code: Path) -> None:
    source = textwrap.dedent(
        (ROOT / "llmlab/reference/breaker.py").read_text().split("class CircuitBreaker:")[1]
    ).split("\ndef guarded")[0]
    ns = cell(
        "import threading, time\nimport llmlab\nfrom llmlab._exceptions import CircuitOpenError\n"
        'CLOSED, OPEN, HALF_OPEN = "closed", "open", "half_open"\n\n\n'
        "class CircuitBreaker:" + source
    )
    assert check("08.CircuitBreaker", ns["CircuitBreaker"]).passed
    kept = mine("08.CircuitBreaker")
    assert isinstance(kept, type) and kept is not ns["CircuitBreaker"]
    assert kept(2, 30.0).state == "closed"


def test_no_kept_code_means_the_reference_with_a_one_line_note(
    my_code: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from llmlab.reference.retry import backoff_delay

    assert mine("07.backoff_delay") is backoff_delay
    out = capsys.readouterr().out.strip().splitlines()
    assert out == [
        "(note: using llmlab's reference for 07.backoff_delay until yours passes its check)"
    ]


def test_my_client_is_the_reference_until_lab_10_is_kept(
    my_code: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import anthropic

    client = llmlab.my_client(anthropic=anthropic.AsyncAnthropic(api_key="k"))
    assert type(client) is LLMClient
    assert "none of your lab-10 methods is kept" in capsys.readouterr().out
    my_code.mkdir(parents=True)
    for exercise_id in METHOD_IDS:  # the solution's kept methods
        name = _persist.path_for(exercise_id).name
        (my_code / name).write_text((ROOT / "solutions/my_client" / name).read_text())
    client = llmlab.my_client(anthropic=anthropic.AsyncAnthropic(api_key="k"))
    mine_ = client.provenance()
    assert all(mine_[exercise_id] for exercise_id in METHOD_IDS)


# -- solutions/my_client/ is what running the solutions writes -------------------------------
def _solution_code(lab: str) -> str:
    (path,) = (ROOT / "solutions").glob(f"{lab}_*.ipynb")
    cells = json.loads(path.read_text())["cells"]
    return "\n".join(
        line
        for c in cells
        if c["cell_type"] == "code"
        for line in "".join(c["source"]).splitlines()
        if line.strip() not in ("### BEGIN SOLUTION", "### END SOLUTION")
    )


KEPT = sorted((ROOT / "solutions/my_client").glob("lab*.py"))


@pytest.mark.parametrize("path", KEPT, ids=[p.name for p in KEPT])
def test_each_kept_solution_file_is_the_code_of_its_solution_notebook(path: Path) -> None:
    tree = ast.parse(path.read_text())
    name = next(
        n.value.value
        for n in tree.body
        if isinstance(n, ast.Assign) and n.targets[0].id == "__llmlab_name__"  # type: ignore[attr-defined]
    )
    (definition,) = [n for n in tree.body if getattr(n, "name", None) == name]
    first = min([definition.lineno, *(d.lineno for d in definition.decorator_list)])  # type: ignore[attr-defined]
    lines = path.read_text().splitlines()[first - 1 : definition.end_lineno]
    assert "\n".join(lines) in _solution_code(path.name[3:5]), (
        f"{path.name} is stale: re-run its solution notebook (it rewrites solutions/my_client/)"
    )


def test_every_registered_client_piece_of_the_solutions_is_kept() -> None:
    registered = {e.id for e in all_exercises()}
    missing = [
        p
        for p in (*PIECE_IDS, *METHOD_IDS)
        if p in registered and not (ROOT / "solutions/my_client" / _name(p)).is_file()
    ]
    assert not missing, f"run the solution notebooks of {missing}: their kept files are missing"


def _name(exercise_id: str) -> str:
    lab, _, name = exercise_id.partition(".")
    return f"lab{lab}_{name}.py"
