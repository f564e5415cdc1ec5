"""Model strength: strong models (gpt-4.1, gpt-4o, claude-opus-4-1) deliberate over every cue."""

from __future__ import annotations

import json

import numpy as np

from llmlab import data_dir
from llmlab.sim.model._skills import pick_severity
from llmlab.sim.model._strength import serving


def test_strong_models_triage_the_ambiguous_reports_better() -> None:
    rows = [json.loads(line) for line in (data_dir() / "incident_reports.jsonl").open()]
    rng = np.random.default_rng(0)

    def right(model: str, subset: list[dict[str, str]]) -> int:
        with serving(model):
            return sum(pick_severity(r["report"], 0, rng) == r["severity"] for r in subset)

    hard = [r for r in rows if r["ambiguous"]]
    assert right("gpt-4.1", hard) >= right("gpt-4.1-mini", hard) + 4
    assert right("gpt-4.1-mini", rows) == right("claude-sonnet-4-6", rows)  # both cheap
    with serving("gpt-4.1"):
        assert pick_severity("Typo on the status page footer.", 0, rng) == "sev4"
