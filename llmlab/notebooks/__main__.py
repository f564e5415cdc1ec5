"""CLI: ``build`` regenerates labs/ from solutions/; ``check`` fails if labs/ is stale;
``banner [NOTEBOOK ...]`` (re)writes the cost/time banner of solution notebooks (all by default)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from llmlab._exceptions import NotebookBuildError
from llmlab._paths import repo_root
from llmlab.notebooks.build import build, stale_labs


def _short(path: Path) -> Path:
    """``path`` relative to the cwd when it lies below it, for readable messages."""
    path = path.resolve()
    cwd = Path.cwd().resolve()
    return path.relative_to(cwd) if path.is_relative_to(cwd) else path


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the process exit code."""
    parser = argparse.ArgumentParser(prog="python -m llmlab.notebooks", description=__doc__)
    parser.add_argument("command", choices=["build", "check", "banner"])
    parser.add_argument("notebooks", nargs="*", type=Path, help="banner: solution notebooks")
    parser.add_argument(
        "--reuse-runtime",
        action="store_true",
        help="banner: keep each banner's stored time-scale-1.0 runtime instead of re-measuring",
    )
    parser.add_argument("--solutions", type=Path, default=repo_root() / "solutions")
    parser.add_argument("--labs", type=Path, default=repo_root() / "labs")
    args = parser.parse_intermixed_args(argv)
    args.solutions, args.labs = _short(args.solutions), _short(args.labs)
    if args.command == "banner":
        return _banner(args.notebooks or sorted(args.solutions.glob("*.ipynb")), args.reuse_runtime)
    if args.notebooks:
        parser.error(f"{args.command} takes no notebook arguments")
    try:
        if args.command == "build":
            changed = build(args.solutions, args.labs)
            for path in changed:
                print(f"wrote {path}")
            print(f"labs/ is up to date ({len(changed)} file(s) changed)")
            return 0
        problems = stale_labs(args.solutions, args.labs)
    except NotebookBuildError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if problems:
        print("labs/ is stale: run `make labs`", file=sys.stderr)
        for line in problems:
            print(f"  {line}", file=sys.stderr)
        return 1
    print("labs/ is up to date")
    return 0


def _banner(paths: Sequence[Path], reuse_runtime: bool) -> int:
    import nbformat

    from llmlab.notebooks._banner import BANNER_TAG, apply_banner

    for path in paths:
        runtime = None
        if reuse_runtime:
            for cell in nbformat.read(path, as_version=4).cells:
                if BANNER_TAG in cell.get("metadata", {}).get("tags", []):
                    runtime = cell.metadata.get("llmlab", {}).get("banner", {}).get("runtime_s")
            if runtime is None:
                print(f"{path}: no stored runtime, measuring it", file=sys.stderr)
        try:
            apply_banner(path, runtime_s=runtime)
        except NotebookBuildError as exc:
            print(f"error: {exc}", file=sys.stderr)
            return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
