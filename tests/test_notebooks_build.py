"""llmlab.notebooks: solutions/ -> labs/ stubbing, stripping and staleness detection."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat
import pytest

from llmlab import NotebookBuildError
from llmlab.notebooks import DEFAULT_STUB, MARKDOWN_STUB, build, stale_labs
from llmlab.notebooks.__main__ import main

pytestmark = pytest.mark.notebooks

SOLVED_FN = '''\
def add(a: int, b: int) -> int:
    """Add two numbers."""
    ### BEGIN SOLUTION
    total = a + b
    return total
    ### END SOLUTION

llmlab.check("01.add", add)'''

CUSTOM_STUB = """\
### BEGIN SOLUTION stub: answer = None  # YOUR CODE HERE
answer = 42
### END SOLUTION
print(answer)"""

ANSWER_MD = """\
**Why is caching cheaper?**

<!-- BEGIN SOLUTION -->
Reads cost 0.1x the base input price.
<!-- END SOLUTION -->"""


def _code(source: str, **metadata: Any) -> Any:
    cell = nbformat.v4.new_code_cell(source, metadata=metadata)
    cell.execution_count = 3
    cell.outputs = [nbformat.v4.new_output("stream", name="stdout", text="42\n")]
    return cell


def _write_solution(folder: Path, name: str = "01_demo.ipynb", extra: Any = None) -> Path:
    cells = [
        nbformat.v4.new_markdown_cell("# Demo"),
        _code(SOLVED_FN),
        _code(CUSTOM_STUB, tags=["nbval-ignore-output"], collapsed=True),
        nbformat.v4.new_markdown_cell(ANSWER_MD),
        _code("print('secret grader')", tags=["solution-only"]),
    ]
    if extra is not None:
        cells.append(extra)
    nb = nbformat.v4.new_notebook(cells=cells)
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Py", "language": "python"}
    nb.metadata["widgets"] = {"state": {}}
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    nbformat.write(nb, path)
    return path


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    solutions, labs = tmp_path / "solutions", tmp_path / "labs"
    _write_solution(solutions)
    return solutions, labs


def _lab(labs: Path) -> Any:
    return nbformat.read(labs / "01_demo.ipynb", as_version=4)


def test_solution_regions_become_stubs(dirs: tuple[Path, Path]) -> None:
    solutions, labs = dirs
    build(solutions, labs)
    cells = _lab(labs).cells
    assert cells[1].source == (
        "def add(a: int, b: int) -> int:\n"
        '    """Add two numbers."""\n'
        f"    {DEFAULT_STUB}\n"
        "\n"
        'llmlab.check("01.add", add)'
    )
    assert cells[2].source == "answer = None  # YOUR CODE HERE\nprint(answer)"
    assert cells[3].source == f"**Why is caching cheaper?**\n\n{MARKDOWN_STUB}"
    assert "BEGIN SOLUTION" not in nbformat.writes(_lab(labs))


def test_outputs_metadata_and_solution_only_cells_are_stripped(dirs: tuple[Path, Path]) -> None:
    solutions, labs = dirs
    build(solutions, labs)
    nb = _lab(labs)
    assert len(nb.cells) == 4, "the solution-only cell must be dropped"
    assert all("secret grader" not in c.source for c in nb.cells)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None
    assert nb.cells[2].metadata == {"tags": ["nbval-ignore-output"]}
    assert nb.cells[1].metadata == {}
    assert set(nb.metadata) == {"kernelspec"}
    assert nb.metadata.kernelspec.name == "python3"


def test_build_is_deterministic_and_check_detects_staleness(dirs: tuple[Path, Path]) -> None:
    solutions, labs = dirs
    assert stale_labs(solutions, labs) == [f"{labs / '01_demo.ipynb'}: missing"]
    assert build(solutions, labs) == [labs / "01_demo.ipynb"]
    first = (labs / "01_demo.ipynb").read_bytes()
    assert build(solutions, labs) == []
    assert (labs / "01_demo.ipynb").read_bytes() == first
    assert stale_labs(solutions, labs) == []

    # Re-executing a solution changes only outputs: the lab stays fresh.
    nb = nbformat.read(solutions / "01_demo.ipynb", as_version=4)
    nb.cells[1].execution_count = 99
    nbformat.write(nb, solutions / "01_demo.ipynb")
    assert stale_labs(solutions, labs) == []

    # Editing a solution's code makes the lab stale.
    nb.cells[1].source = nb.cells[1].source.replace("Add two", "Sum two")
    nbformat.write(nb, solutions / "01_demo.ipynb")
    assert stale_labs(solutions, labs) == [
        f"{labs / '01_demo.ipynb'}: out of date with {solutions / '01_demo.ipynb'}"
    ]

    # A lab with no solution is stale too, and build removes it.
    (labs / "99_orphan.ipynb").write_text(nbformat.writes(nbformat.v4.new_notebook()))
    assert f"{labs / '99_orphan.ipynb'}: has no solution notebook" in stale_labs(solutions, labs)
    build(solutions, labs)
    assert stale_labs(solutions, labs) == []
    assert not (labs / "99_orphan.ipynb").exists()


def test_cli_check_names_stale_files(
    dirs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    solutions, labs = dirs
    args = ["--solutions", str(solutions), "--labs", str(labs)]
    assert main(["check", *args]) == 1
    err = capsys.readouterr().err
    assert "labs/ is stale: run `make labs`" in err
    assert "01_demo.ipynb" in err
    assert main(["build", *args]) == 0
    assert main(["check", *args]) == 0


@pytest.mark.parametrize(
    ("cell", "message"),
    [
        (
            nbformat.v4.new_code_cell("x = 1\n### BEGIN SOLUTION\nx = 2"),
            "'### BEGIN SOLUTION' at line 2 has no '### END SOLUTION'",
        ),
        (
            nbformat.v4.new_code_cell("x = 1\n### END SOLUTION"),
            "line 2 has '### END SOLUTION' with no BEGIN",
        ),
        (
            nbformat.v4.new_code_cell("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION"),
            "line 2 opens a SOLUTION region inside the one opened at line 1",
        ),
        (
            nbformat.v4.new_markdown_cell("<!-- BEGIN SOLUTION -->\nan answer"),
            "'<!-- BEGIN SOLUTION -->' has no END marker",
        ),
    ],
)
def test_unbalanced_markers_name_notebook_and_cell(tmp_path: Path, cell: Any, message: str) -> None:
    solutions = tmp_path / "solutions"
    _write_solution(solutions, "07_broken.ipynb", extra=cell)
    with pytest.raises(NotebookBuildError) as info:
        build(solutions, tmp_path / "labs")
    text = str(info.value)
    assert "07_broken.ipynb" in text
    assert "cell 5" in text
    assert message in text


_SHIPPED = sorted((Path(__file__).parent.parent / "solutions").glob("*.ipynb"))


@pytest.mark.parametrize("path", _SHIPPED, ids=lambda p: p.stem)
def test_markdown_has_no_dollar_pairs_that_render_as_latex(path: Path) -> None:
    """JupyterLab typesets text between two $ signs as LaTeX ("$3 / $15" became a fraction in the
    browser tests); amounts in prose are written "USD 3" (or escaped)."""
    import re

    nb = nbformat.read(path, as_version=4)
    for index, cell in enumerate(nb.cells):
        if cell.cell_type != "markdown":
            continue
        prose = re.sub(r"```.*?```|`[^`]*`", "", cell.source, flags=re.DOTALL)
        dollars = re.findall(r"(?<!\\)\$", prose)
        assert len(dollars) < 2, f"{path.name} cell {index}: {len(dollars)} unescaped '$' in prose"
