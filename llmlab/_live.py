"""Live mode (``LLMLAB_PROVIDER=live``): which mode a notebook runs in, and how a cell that only
the simulator can run steps aside with one line instead of a traceback."""

from __future__ import annotations

import os


def is_live() -> bool:
    """True under ``LLMLAB_PROVIDER=live``: the SDKs talk to the real providers."""
    return os.environ.get("LLMLAB_PROVIDER", "sim").strip().lower() == "live"


def simulator_only(what: str) -> bool:
    """Guard for a cell only the simulator can run (scripted faults, its clock, its billing).

    ``if llmlab.simulator_only("3 x 529 then success: the retry waits"): ...`` runs the block in
    simulator mode and prints nothing; in live mode it prints one line naming what the block
    would have shown and returns False, so the cell skips it without an error.
    """
    if not is_live():
        return True
    print(f"[simulator only, skipped in live mode] {what}")
    return False
