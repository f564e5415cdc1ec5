"""The cost/time banner atop each notebook: rendered from stored figures that CI re-checks.

The billed figure is guarded twice: the banner's metadata must match the stored output of the
notebook's last cell (``print(llmlab.run_cost())``), and strict nbval re-executes that cell on
every CI run, so a change to the notebook's calls or to the simulator's billing fails CI until
``make banners`` (or ``python -m llmlab.notebooks banner solutions/NN_x.ipynb``) is re-run.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import anthropic
import nbformat
import openai
import pytest

import llmlab
from llmlab import _setup
from llmlab._paths import repo_root
from llmlab.check import get, run
from llmlab.notebooks._banner import (
    BANNER_TAG,
    RUN_COST_SOURCE,
    RUN_COST_SOURCE_VARIES,
    RUN_COST_TAG,
    BannerFacts,
    apply_banner,
    learner_minutes,
    live_range,
    render,
    run_cost_source,
    stored_facts,
)
from llmlab.pricing import PRICES_AS_OF

SOLUTIONS = sorted((repo_root() / "solutions").glob("*.ipynb"))
LABS = repo_root() / "labs"


def _tags(cell: nbformat.NotebookNode) -> list[str]:
    return list(cell.get("metadata", {}).get("tags", []))


def _stdout(cell: nbformat.NotebookNode) -> str:
    return "".join(o.get("text", "") for o in cell.get("outputs", []) if o.get("name") == "stdout")


# --- every notebook: one banner, rendered from its figures, which match the stored run -----


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_banner_is_rendered_from_its_figures(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    facts = stored_facts(nb)  # exactly one cell tagged "banner"
    banner = nb.cells[1]
    assert BANNER_TAG in _tags(banner), "the banner is cell 1, right after the title"
    assert banner.source == render(facts)
    assert facts.prices_as_of == PRICES_AS_OF, "prices moved: re-run `make banners`"
    assert facts.live_low_usd <= facts.usd <= facts.live_high_usd
    assert (facts.minutes, facts.exercises) == learner_minutes(nb, facts.runtime_s), (
        "exercises or prose changed: re-run `make banners`"
    )


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_banner_spend_is_the_stored_run_cost(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    facts = stored_facts(nb)
    last = nb.cells[-1]
    assert _tags(last) == [RUN_COST_TAG] and last.source == run_cost_source(nb)
    assert [i for i, c in enumerate(nb.cells) if RUN_COST_TAG in _tags(c)] == [len(nb.cells) - 1]
    # strict nbval keeps this stored output equal to a fresh run's; the output tokens of streams
    # that ended early depend on timing, so the stored line prints the rest (the settled part)
    assert f"billed {facts.calls} calls: ${facts.settled_usd:.4f} at" in _stdout(last)
    assert (f"output of {facts.ended_early} stream" in _stdout(last)) == (facts.ended_early > 0)
    assert facts.settled_usd <= facts.usd
    assert f"as of {facts.prices_as_of}" in _stdout(last)


@pytest.mark.parametrize("path", SOLUTIONS, ids=lambda p: p.stem)
def test_lab_carries_the_banner(path: Path) -> None:
    lab = nbformat.read(LABS / path.name, as_version=4)
    solution = nbformat.read(path, as_version=4)
    assert BANNER_TAG in _tags(lab.cells[1])
    assert lab.cells[1].source == solution.cells[1].source
    assert lab.cells[-1].source == run_cost_source(solution)


# --- the rendering and the estimates --------------------------------------------------------


def test_render_wording() -> None:
    facts = BannerFacts(35, 4, 41.0, 0.0189, 23, 0.0189, 0, 0.0151, 0.03, "2026-11-04")
    text = render(facts)
    assert text.count("\n") == 2 and all(line.startswith("> ") for line in text.splitlines())
    assert "About 35 min** (4 exercises)" in text
    assert "~50 s" in text  # runtime rounded up to 10 s
    assert "**USD 0.0189** (23 billed calls at list prices as of 2026-11-04)" in text
    assert "≈ USD 0.0151–0.0300" in text
    assert "$" not in text  # a pair of dollar signs is LaTeX to JupyterLab
    assert "(no exercises)" in render(BannerFacts(10, 0, 61.0, 0.001, 1, 0.001, 0, 0.0, 0.01, "x"))
    assert "~2 min" in render(BannerFacts(10, 1, 61.0, 0.001, 1, 0.001, 0, 0.0, 0.01, "x"))


def test_live_range_brackets_the_list_price_and_widens_only_anthropic_input() -> None:
    record = {
        "input_tokens": 1000,
        "output_tokens": 0,
        "cache_write_5m_tokens": 0,
        "cache_write_1h_tokens": 0,
        "cache_read_tokens": 0,
    }
    claude = {**record, "provider": "anthropic", "model": "claude-sonnet-4-6"}
    gpt = {**record, "provider": "openai", "model": "gpt-4.1-mini"}
    low, high = live_range([claude])
    assert low == pytest.approx(0.003) and high == pytest.approx(0.0039)  # $3/MTok, x1.0-1.3
    assert live_range([gpt])[0] == pytest.approx(live_range([gpt])[1])  # same tokenizer live
    low, high = live_range([{**gpt, "input_tokens": 0, "output_tokens": 1000}])
    assert (low, high) == (pytest.approx(0.0008), pytest.approx(0.0024))  # $1.60/MTok x0.5-1.5


def test_learner_minutes_counts_exercises_once_and_ignores_banner_cells() -> None:
    cells = [
        nbformat.v4.new_markdown_cell("word " * 300),  # 2 min
        nbformat.v4.new_code_cell('llmlab.check("01.softmax", softmax)'),
        nbformat.v4.new_code_cell('llmlab.check("01.softmax", softmax2)'),
        nbformat.v4.new_markdown_cell("<!-- BEGIN SOLUTION -->x<!-- END SOLUTION -->"),
        nbformat.v4.new_markdown_cell("word " * 3000, metadata={"tags": [BANNER_TAG]}),
    ]
    nb = nbformat.v4.new_notebook(cells=cells)
    # 2 + 2 cells x 0.5 + 1 exercise x 6 + 1 answer x 2 + 60 s = 12 -> 15
    assert learner_minutes(nb, 60.0) == (15, 1)


# --- llmlab.run_cost(): the notebook's own simulators, not the checkers' --------------------


@pytest.fixture
def fresh_setup(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("ANTHROPIC_API_KEY", "test")
    monkeypatch.setenv("OPENAI_API_KEY", "test")
    monkeypatch.delenv("LLMLAB_PROVIDER", raising=False)
    monkeypatch.setattr(_setup, "_made", [])
    try:
        yield
    finally:
        if _setup._active is not None:
            _setup._active.stop()
            _setup._active = None


def _one_call_each() -> None:
    messages = [{"role": "user", "content": "Summarise the checkout outage."}]
    anthropic.Anthropic().messages.create(
        model="claude-sonnet-4-6", max_tokens=20, messages=messages
    )
    openai.OpenAI().chat.completions.create(model="gpt-4.1-mini", max_tokens=20, messages=messages)


def test_run_cost_is_setup_spend_without_checkers(fresh_setup: None) -> None:
    first = llmlab.setup(seed=0, time_scale=0.001, quiet=True)
    _one_call_each()
    before = llmlab.run_cost()
    assert before.calls == 2 and before.usd == pytest.approx(first.billing.total_usd)
    assert before.usd > 0
    assert run("05.validate_and_retry", get("05.validate_and_retry").reference).passed
    assert llmlab.run_cost() == before  # the checker's own simulator billed, not ours
    second = llmlab.setup(seed=1, time_scale=0.001, quiet=True)
    _one_call_each()
    after = llmlab.run_cost()
    assert after.calls == 4
    assert after.usd == pytest.approx(first.billing.total_usd + second.billing.total_usd)
    assert f"billed 4 calls: ${after.usd:.4f} at list prices as of {PRICES_AS_OF};" in str(after)
    assert after.ended_early == 0 and after.settled_usd == after.usd


def test_run_cost_sets_apart_streams_that_ended_early(fresh_setup: None) -> None:
    llmlab.setup(seed=0, time_scale=0.001, quiet=True)
    with anthropic.Anthropic().messages.stream(
        model="claude-sonnet-4-6",
        max_tokens=200,
        messages=[{"role": "user", "content": "Write the checkout runbook."}],
    ) as stream:
        next(iter(stream.text_stream))  # close after the first text: billed for what was made
    spend = llmlab.run_cost()
    assert (spend.calls, spend.ended_early) == (1, 1)
    assert 0 < spend.settled_usd < spend.usd
    assert "+ the output of 1 stream that ended early" in str(spend)


# --- the generator end to end, on a small notebook ------------------------------------------


@pytest.mark.notebooks
@pytest.mark.slow
def test_generator_measures_replaces_and_excludes_checkers(tmp_path: Path) -> None:
    setup = "import anthropic\nimport llmlab\nfrom llmlab.sim import Simulator, mock\n\n"
    setup += "sim = llmlab.setup(seed=0, quiet=True)\nclaude = anthropic.Anthropic()"
    call = (
        'claude.messages.create(model="claude-sonnet-4-6", max_tokens=20,\n'
        '    messages=[{"role": "user", "content": "Summarise the outage."}]).usage.output_tokens'
    )
    checker = f"with mock(sim=Simulator(seed=1, time_scale=0.001)):\n    {call}"
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("# 99 · Demo"),
            nbformat.v4.new_code_cell(setup),
            nbformat.v4.new_code_cell(call),
            nbformat.v4.new_code_cell(checker),
            nbformat.v4.new_code_cell(call),
        ]
    )
    kernel = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["kernelspec"] = kernel
    path = tmp_path / "99_demo.ipynb"
    nbformat.write(nb, path)

    first = apply_banner(path, runtime_s=12.0, log=lambda _: None)
    second = apply_banner(path, runtime_s=12.0, log=lambda _: None)  # replaces, never stacks
    assert first == second
    done = nbformat.read(path, as_version=4)
    assert [BANNER_TAG in _tags(c) for c in done.cells].count(True) == 1
    assert [RUN_COST_TAG in _tags(c) for c in done.cells].count(True) == 1
    assert stored_facts(done) == second and done.cells[1].source == render(second)
    assert second.calls == 2  # the checker-style simulator's call is not the notebook's spend
    assert f"billed 2 calls: ${second.settled_usd:.4f} at" in _stdout(done.cells[-1])
    assert second.settled_usd == second.usd and second.ended_early == 0
    assert json.dumps(done.cells[1].metadata["llmlab"]["banner"])  # plain JSON


def test_a_notebook_whose_spend_varies_stores_its_run_cost_uncompared() -> None:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("# 99 · demo")])
    assert run_cost_source(nb) == RUN_COST_SOURCE
    nb.metadata["llmlab"] = {"spend_varies": "500 concurrent requests meet random faults"}
    assert run_cost_source(nb) == RUN_COST_SOURCE_VARIES
    assert RUN_COST_SOURCE_VARIES.splitlines()[0] == "# NBVAL_IGNORE_OUTPUT"  # nbval's marker
