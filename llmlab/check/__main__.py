"""``python -m llmlab.check --list``: every exercise id with its signature."""

from __future__ import annotations

import argparse

from llmlab.check import all_exercises


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m llmlab.check")
    parser.add_argument("--list", action="store_true", help="list exercise ids and signatures")
    args = parser.parse_args(argv)
    if not args.list:
        parser.print_help()
        return 0
    for ex in all_exercises():
        print(f"{ex.id:<22} {ex.signature}")
        print(f"{'':<22} {ex.summary}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
