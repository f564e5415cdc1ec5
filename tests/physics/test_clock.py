"""The clock's time scale can be raised for a block (a measurement) without the clock jumping."""

from __future__ import annotations

import time

import anthropic
import pytest

from llmlab._exceptions import SimulatorError
from llmlab.sim import MODELS, Simulator, mock
from llmlab.sim.physics._clock import SimClock

from ._helpers import CLAUDE, KEY


def test_rescale_keeps_the_simulated_time_and_at_least_restores_the_scale() -> None:
    real = [0.0]
    clock = SimClock(0.5, monotonic=lambda: real[0])
    real[0] = 1.0
    assert clock.now() == 2.0  # 1 real s at 0.5
    with clock.at_least(2.0):
        assert clock.time_scale == 2.0 and clock.now() == 2.0  # no jump
        real[0] = 3.0
        assert clock.now() == 3.0  # 2 real s at 2.0: 1 simulated s
    assert clock.time_scale == 0.5 and clock.now() == 3.0
    real[0] = 4.0
    assert clock.now() == 5.0
    with clock.at_least(0.1):  # never lowers the scale
        assert clock.time_scale == 0.5
    with pytest.raises(SimulatorError, match="time_scale"):
        clock.rescale(0)


def test_at_least_slows_the_latency_of_the_calls_inside_the_block() -> None:
    sim = Simulator(seed=5, time_scale=0.001)
    base = MODELS[CLAUDE].latency.base
    with mock(sim):
        client = anthropic.Anthropic(api_key=KEY)

        def ttft() -> float:
            start = time.perf_counter()
            with client.messages.stream(
                model=CLAUDE, max_tokens=3, messages=[{"role": "user", "content": "Status?"}]
            ) as stream:
                next(iter(stream.text_stream))
                return time.perf_counter() - start

        ttft()  # warm up
        with sim.clock.at_least(0.1):
            slowed = ttft()
        assert sim.time_scale == 0.001
    # load only adds time: the scheduled first token (base x jitter at 0.1) is a lower bound
    assert slowed > 0.7 * base * 0.1, slowed
