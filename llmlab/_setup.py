"""The one call every notebook's first cell makes: simulator on, seeds fixed, plots styled."""

from __future__ import annotations

import os
import random

import numpy as np

from llmlab.sim import Behaviour, FaultPlan, InProcess, RateLimits, Simulator

_DUMMY_KEYS = {
    "ANTHROPIC_API_KEY": "sk-ant-llmlab-simulated",
    "OPENAI_API_KEY": "sk-llmlab-simulated",
}
_active: InProcess | None = None


def _style_plots() -> None:
    import matplotlib as mpl

    mpl.rcParams.update(
        {
            "figure.figsize": (7.5, 3.6),
            "figure.dpi": 100,
            "axes.grid": True,
            "grid.alpha": 0.3,
            "axes.spines.top": False,
            "axes.spines.right": False,
            "axes.titleweight": "bold",
            "svg.hashsalt": "llmlab",  # stable SVG ids, should a notebook store SVG
        }
    )


def setup(
    seed: int = 0,
    *,
    time_scale: float | None = None,
    quiet: bool = False,
    rate_limits: RateLimits | None = None,
    faults: FaultPlan | None = None,
    behaviour: Behaviour | None = None,
) -> Simulator:
    """Route the SDKs to a fresh simulator (unless ``LLMLAB_PROVIDER=live``) and fix the seeds.

    Returns the :class:`~llmlab.sim.Simulator` so a notebook can advance its clock, script
    faults or show its summary. Keys: a dummy key is set only where none exists; llmlab never
    reads, prints or forwards a real one.
    """
    global _active
    random.seed(seed)
    np.random.seed(seed)
    _style_plots()
    if _active is not None:
        _active.stop()
        _active = None
    sim = Simulator(
        seed=seed,
        time_scale=time_scale,
        rate_limits=rate_limits,
        faults=faults,
        behaviour=behaviour,
    )
    if os.environ.get("LLMLAB_PROVIDER", "sim").lower() == "live":
        sim.live = True
        if not quiet:
            print(
                "llmlab: LIVE mode - the SDKs talk to the real providers with your own keys; "
                "calls cost real money. Simulator-only cells (faults, clock) will say so."
            )
        return sim
    for name, value in _DUMMY_KEYS.items():
        os.environ.setdefault(name, value)
    _active = InProcess(sim).start()
    if not quiet:
        print(
            f"llmlab: simulated Anthropic + OpenAI on (seed={seed}, time scale "
            f"{sim.time_scale:g}); unset nothing, change nothing: the SDK code is the real one."
        )
    return sim
