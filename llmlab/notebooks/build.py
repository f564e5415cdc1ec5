"""Derive the learner notebooks (``labs/``) from the worked ones (``solutions/``).

Rules, applied per cell:
  * code: each region from a ``### BEGIN SOLUTION`` line to a ``### END SOLUTION`` line
    becomes one line at the BEGIN line's indentation: ``raise NotImplementedError  # YOUR
    CODE HERE``, or the text after ``stub:`` (``### BEGIN SOLUTION stub: answer = None``);
  * markdown: ``<!-- BEGIN SOLUTION -->`` ... ``<!-- END SOLUTION -->`` becomes
    ``*Your answer here.*``;
  * cells tagged ``solution-only`` are dropped;
  * outputs, execution counts and all metadata except cell tags are removed.
Output is byte-deterministic so ``check`` can compare files exactly.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import nbformat

from llmlab._exceptions import NotebookBuildError

__all__ = [
    "DEFAULT_STUB",
    "MARKDOWN_STUB",
    "SOLUTION_ONLY_TAG",
    "build",
    "lab_source",
    "render_lab",
    "stale_labs",
]

DEFAULT_STUB = "raise NotImplementedError  # YOUR CODE HERE"
MARKDOWN_STUB = "*Your answer here.*"
SOLUTION_ONLY_TAG = "solution-only"
KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}

_BEGIN = re.compile(r"^(?P<indent>[ \t]*)### BEGIN SOLUTION(?:\s+stub:\s?(?P<stub>.*?))?\s*$")
_END = re.compile(r"^[ \t]*### END SOLUTION\s*$")
_MD_BEGIN = re.compile(r"<!--\s*BEGIN SOLUTION\s*-->")
_MD_END = re.compile(r"<!--\s*END SOLUTION\s*-->")
_MD_REGION = re.compile(r"<!--\s*BEGIN SOLUTION\s*-->.*?<!--\s*END SOLUTION\s*-->", re.DOTALL)


@dataclass(frozen=True)
class _Where:
    """Names a cell in error messages."""

    notebook: str
    index: int

    def __str__(self) -> str:
        return f"{self.notebook}, cell {self.index}"


def _stub_code(source: str, where: _Where) -> str:
    out: list[str] = []
    begin_line: int | None = None
    for number, line in enumerate(source.split("\n"), start=1):
        begin = _BEGIN.match(line)
        if begin:
            if begin_line is not None:
                raise NotebookBuildError(
                    f"{where}: line {number} opens a SOLUTION region inside the one opened at "
                    f"line {begin_line}; close it with '### END SOLUTION' first"
                )
            begin_line = number
            stub = begin.group("stub") or DEFAULT_STUB
            out.append(begin.group("indent") + stub)
        elif _END.match(line):
            if begin_line is None:
                raise NotebookBuildError(
                    f"{where}: line {number} has '### END SOLUTION' with no BEGIN before it"
                )
            begin_line = None
        elif begin_line is None:
            out.append(line)
    if begin_line is not None:
        raise NotebookBuildError(
            f"{where}: '### BEGIN SOLUTION' at line {begin_line} has no '### END SOLUTION'"
        )
    return "\n".join(out)


def _stub_markdown(source: str, where: _Where) -> str:
    stubbed = _MD_REGION.sub(MARKDOWN_STUB, source)
    if _MD_BEGIN.search(stubbed):
        raise NotebookBuildError(f"{where}: '<!-- BEGIN SOLUTION -->' has no END marker")
    if _MD_END.search(stubbed):
        raise NotebookBuildError(f"{where}: '<!-- END SOLUTION -->' has no BEGIN marker")
    return stubbed


def _cell_id(cell: Any, notebook: str, index: int) -> str:
    existing = cell.get("id")
    if isinstance(existing, str) and existing:
        return existing
    return hashlib.sha1(f"{notebook}:{index}".encode()).hexdigest()[:8]


def render_lab(solution: Any, name: str) -> Any:
    """The lab notebook (an ``nbformat`` node) for a solution notebook called ``name``."""
    cells: list[Any] = []
    for index, cell in enumerate(solution.cells):
        tags = [str(t) for t in cell.get("metadata", {}).get("tags", [])]
        if SOLUTION_ONLY_TAG in tags:
            continue
        where = _Where(name, index)
        source = cell.source
        metadata: dict[str, Any] = {"tags": tags} if tags else {}
        cell_id = _cell_id(cell, name, index)
        if cell.cell_type == "code":
            new = nbformat.v4.new_code_cell(_stub_code(source, where), metadata=metadata)
        elif cell.cell_type == "markdown":
            new = nbformat.v4.new_markdown_cell(_stub_markdown(source, where), metadata=metadata)
        else:
            new = nbformat.v4.new_raw_cell(source, metadata=metadata)
        new["id"] = cell_id
        cells.append(new)
    return nbformat.v4.new_notebook(cells=cells, metadata={"kernelspec": dict(KERNELSPEC)})


def lab_source(solution_path: Path, name: str | None = None) -> str:
    """The exact text ``build`` writes for ``solution_path``."""
    solution = nbformat.read(solution_path, as_version=4)
    lab = render_lab(solution, name or solution_path.name)
    text: str = nbformat.writes(lab)  # sorted keys, indent 1, validated
    return text if text.endswith("\n") else text + "\n"


def _notebooks(folder: Path) -> dict[Path, Path]:
    """Relative path -> path, for every notebook under ``folder`` (checkpoints excluded)."""
    if not folder.is_dir():
        return {}
    return {
        p.relative_to(folder): p
        for p in sorted(folder.rglob("*.ipynb"))
        if ".ipynb_checkpoints" not in p.parts
    }


def build(solutions: Path, labs: Path) -> list[Path]:
    """Regenerate every lab from its solution; delete labs with no solution. Returns changes."""
    wanted = _notebooks(solutions)
    changed: list[Path] = []
    for rel, path in wanted.items():
        target = labs / rel
        text = lab_source(path, str(Path(solutions.name) / rel))
        if not target.is_file() or target.read_bytes() != text.encode():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(text.encode())
            changed.append(target)
    for rel, path in _notebooks(labs).items():
        if rel not in wanted:
            path.unlink()
            changed.append(path)
    return changed


def stale_labs(solutions: Path, labs: Path) -> list[str]:
    """Why ``labs`` differs from what ``build`` would write, one line per file; empty if fresh."""
    wanted = _notebooks(solutions)
    present = _notebooks(labs)
    problems: list[str] = []
    for rel, path in wanted.items():
        target = labs / rel
        if rel not in present:
            problems.append(f"{target}: missing")
        elif target.read_bytes() != lab_source(path, str(Path(solutions.name) / rel)).encode():
            problems.append(f"{target}: out of date with {path}")
    problems += [f"{labs / rel}: has no solution notebook" for rel in present if rel not in wanted]
    return problems
