"""llmlab.sim: simulated Anthropic and OpenAI APIs that the real SDKs talk to, offline.

In a notebook, ``llmlab.setup()`` starts one; in tests, ``with llmlab.sim.mock() as sim:``;
over HTTP, ``python -m llmlab.sim serve --port 8765``.
"""

from __future__ import annotations

from llmlab._httpgen import sdk_http
from llmlab.sim import wire  # noqa: F401  (registers the wire formats with the engine)
from llmlab.sim._engine import Simulator
from llmlab.sim._summary import SimSummary
from llmlab.sim.adapters._asgi import SimApp
from llmlab.sim.adapters._inprocess import InProcess
from llmlab.sim.model._catalog import DEFAULT_MODEL, MODELS, ModelProfile
from llmlab.sim.model._skills import Behaviour
from llmlab.sim.physics._clock import SimClock
from llmlab.sim.physics._faults import Fault, FaultPlan
from llmlab.sim.physics._ratelimit import RateLimits

__all__ = [
    "DEFAULT_MODEL",
    "MODELS",
    "Behaviour",
    "Fault",
    "FaultPlan",
    "InProcess",
    "ModelProfile",
    "RateLimits",
    "SimApp",
    "SimClock",
    "SimSummary",
    "Simulator",
    "mock",
    "sdk_http",
]


def mock(
    sim: Simulator | None = None,
    *,
    seed: int = 0,
    time_scale: float | None = None,
    rate_limits: RateLimits | None = None,
    faults: FaultPlan | None = None,
    behaviour: Behaviour | None = None,
) -> InProcess:
    """A context manager routing both providers to a simulator in this process.

    ``with llmlab.sim.mock(seed=1) as sim: ...``; pass ``sim`` to reuse an existing one.
    """
    if sim is None:
        sim = Simulator(
            seed=seed,
            time_scale=time_scale,
            rate_limits=rate_limits,
            faults=faults,
            behaviour=behaviour,
        )
    return InProcess(sim)
