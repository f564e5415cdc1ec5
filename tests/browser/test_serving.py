"""Part II in a real browser: Chromium's own EventSource reads lab 14's app, and solution 14 and the
unsolved lab 11 run clean in JupyterLab (Run All), their sliders redrawing.

The first test serves llmlab's reference app (the one the notebook builds) with uvicorn on
loopback, its LLM client answered by a simulator in this process, and opens the app's page: the
page's script appends each message's text, ignores heartbeats (comments fire no event) and
closes the EventSource on the `done` event (else it would reconnect and ask again).
"""

from __future__ import annotations

import io
import json
import logging
from pathlib import Path
from typing import Any

import anthropic
import pytest

import llmlab.sim
from llmlab.reference.client import LLMClient, LLMRequest
from llmlab.reference.serving import LoopbackServer, make_app, sse_endpoint
from llmlab.sim import Fault, FaultPlan, Simulator

from .conftest import LabServer
from .test_jupyterlab import (
    assert_widget_responds,
    drag_slider,
    expected_inline_plots,
    open_and_run,
    screenshot,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def test_eventsource_reads_the_apps_stream(page: Any, chromium_path: str, artifacts: Path) -> None:
    sim = Simulator(seed=14, time_scale=0.05)
    buffer = io.StringIO()
    log = logging.getLogger("tests.browser.serving")
    log.handlers, log.propagate, log.level = [logging.StreamHandler(buffer)], False, logging.INFO
    with llmlab.sim.mock(sim=sim):
        client = LLMClient(
            anthropic=anthropic.AsyncAnthropic(api_key="sk-browser-test"),
            timeout=0.4,
            backoff_base=0.05,
        )
        endpoint = sse_endpoint(
            lambda q: client.stream(LLMRequest.ask(q, max_tokens=300)), heartbeat=0.02, log=log
        )
        # the first request stalls after message_start: heartbeats, then the retry answers
        sim.set_faults(FaultPlan.scripted([Fault("hang", after_events=1)]))
        with LoopbackServer(make_app(endpoint)) as server:
            page.goto(f"{server.url}/?q=Explain+a+safe+restart+of+the+payments+service")
            page.wait_for_function(
                "() => document.getElementById('status').textContent === 'done'", timeout=20_000
            )
            pieces = int(page.text_content("#pieces") or "0")
            answer = page.text_content("#answer") or ""
            screenshot(page, artifacts, "lab14-eventsource")
            page.wait_for_timeout(3500)  # a reconnecting EventSource asks again after ~3 s
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    starts = [r for r in lines if r["event"] == "stream_start"]
    ends = [r for r in lines if r["event"] == "stream_end"]
    assert len(starts) == 1, f"the page asked more than once (no close on done?): {lines}"
    assert ends and ends[0]["outcome"] == "complete" and ends[0]["heartbeats"] >= 1, lines
    assert ends[0]["trace_id"] == starts[0]["trace_id"]
    texts = [r for r in sim.billing.records if r.complete]
    assert len(texts) == 1 and pieces == ends[0]["frames"] - 1  # every data frame, not done
    assert answer.strip() and "heartbeat" not in answer, answer
    assert client.stats["retries"] == 1


def test_solution_14_runs_in_jupyterlab(page: Any, lab_server: LabServer, artifacts: Path) -> None:
    path = "solutions/14_serving_a_stream.ipynb"
    run = open_and_run(page, lab_server, path, "sol14", artifacts)
    run.assert_clean_first_screen()
    run.assert_ran_without_errors()
    run.assert_plots(expected_inline_plots(path))
    assert run.snapshot["widgetViews"] > 0 and not run.snapshot["widgetProblems"], run.snapshot
    assert_widget_responds(
        page, "img.widget-image", lambda: drag_slider(page, ".widget-slider", 120), "replay slider"
    )
    screenshot(page, artifacts, "sol14-widget", anchor="img.widget-image")
    run.assert_no_accidental_math()
    print(f"[browser] {path}: open {run.seconds_to_open:.1f} s, run {run.seconds_to_run:.1f} s")


def test_lab_11_runs_and_slider_redraws(page: Any, lab_server: LabServer, artifacts: Path) -> None:
    """The unsolved Part II lab runs clean on the references; its turn slider redraws."""
    path = "labs/11_context_windows.ipynb"
    run = open_and_run(page, lab_server, path, "lab11", artifacts)
    run.assert_clean_first_screen()
    run.assert_ran_without_errors()
    run.assert_plots(expected_inline_plots(path))
    assert_widget_responds(
        page, "img.widget-image", lambda: drag_slider(page, ".widget-slider", 120), "turn slider"
    )
    screenshot(page, artifacts, "lab11-widget", anchor="img.widget-image")
    run.assert_no_accidental_math()
    print(f"[browser] {path}: open {run.seconds_to_open:.1f} s, run {run.seconds_to_run:.1f} s")
