"""_Playback on a fake clock: joined chunks never span a real sleep, billing counts due tokens."""

from __future__ import annotations

import random

import pytest

import llmlab.sim._engine as engine
from llmlab.sim._engine import Simulator
from llmlab.sim._exchange import Chunk


def _play(timeline: list[tuple[float, bytes, int]], horizon: float, seed: int, now: list[float]):
    """Take every piece, advancing the fake clock a little between reads; (pieces, billed)."""
    rnd = random.Random(seed)
    billed: list[tuple[int, bool]] = []
    sim = Simulator(seed=0, time_scale=0.05)
    token = engine._ARRIVAL.set(now[0])
    playback = sim.paced(timeline, lambda tokens, complete: billed.append((tokens, complete)))
    engine._ARRIVAL.reset(token)
    pieces = []
    while True:
        now[0] += rnd.random() * 0.002
        try:
            piece = playback.take(horizon)
        except StopIteration:
            return pieces, billed, playback
        pieces.append((now[0], piece))
        now[0] += piece.delay


@pytest.mark.parametrize("negative", [False, True])
def test_take_joins_only_chunks_due_within_the_horizon(
    monkeypatch: pytest.MonkeyPatch, negative: bool
) -> None:
    now = [100.0]
    monkeypatch.setattr(engine.time, "perf_counter", lambda: now[0])
    rnd = random.Random(7)
    for trial in range(300):
        n = rnd.choice([1, 2, 5, 40])
        timeline = [
            (
                rnd.choice([0.0, 0.001, 0.004, 0.05]) * (-1 if negative and j % 7 == 3 else 1),
                bytes([65 + j % 26]),
                j % 3,
            )
            for j in range(n)
        ]
        start = now[0]
        pieces, billed, playback = _play(timeline, 2e-4, trial, now)
        assert b"".join(p.data for _, p in pieces if isinstance(p, Chunk)) == b"".join(
            data for _, data, _ in timeline
        )
        deadlines, t = [], start
        for delay, _, _ in timeline:
            t += delay * 0.05
            deadlines.append(t)
        i = 0
        for read_at, piece in pieces:
            size = len(piece.data)
            if size > 1:  # joined: every later chunk was due before the first's time + horizon
                due = max(read_at, deadlines[i]) + 2e-4
                assert all(d < due for d in deadlines[i + 1 : i + size]), (trial, i)
                assert i + size < n, "the last chunk is never joined"
            i += size
        assert billed == [(sum(tokens for _, _, tokens in timeline), True)]
        assert playback._timeline == []


def test_a_stream_closed_early_is_billed_for_the_tokens_due(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    now = [50.0]
    monkeypatch.setattr(engine.time, "perf_counter", lambda: now[0])
    timeline = [(1.0, b"x", 2) for _ in range(10)]  # due every 0.05 real s from 50.0
    billed: list[tuple[int, bool]] = []
    token = engine._ARRIVAL.set(now[0])
    playback = Simulator(seed=0, time_scale=0.05).paced(
        timeline, lambda tokens, complete: billed.append((tokens, complete))
    )
    engine._ARRIVAL.reset(token)
    now[0] = 50.0 + 0.05 * 5 - 0.0005  # four chunks due, the fifth within the 1 ms grace
    playback.close()
    assert billed == [(10, False)]
