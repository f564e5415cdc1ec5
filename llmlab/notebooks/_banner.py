"""The cost/time banner atop each solution notebook (`python -m llmlab.notebooks banner`).

The generator executes a solution notebook as CI does (``LLMLAB_TIME_SCALE=0.05``, inline
matplotlib, cwd ``solutions/``), reads the billing truth of the simulators the notebook's own
``llmlab.setup()`` made (:func:`llmlab.run_cost`; checkers' simulators are excluded: they never
reach a live provider), measures the wall time of all cells at the learner's pace (time scale
1.0) and writes:

  * cell 1, a markdown blockquote tagged ``banner`` whose figures are also stored as cell
    metadata ``llmlab.banner`` (the text is always :func:`render` of that metadata);
  * a last code cell tagged ``run-cost`` printing :func:`llmlab.run_cost`, so strict nbval
    re-checks the billed figure on every CI run and ``tests/test_banners.py`` ties the banner
    to that stored output.

The executed notebook (outputs at time scale 0.05, as ``make solutions`` stores them) is written
back. Labs inherit the banner through ``python -m llmlab.notebooks build``.
"""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import nbformat

from llmlab._exceptions import NotebookBuildError
from llmlab.pricing import PRICES_AS_OF

__all__ = [
    "BANNER_TAG",
    "RUN_COST_SOURCE",
    "RUN_COST_TAG",
    "BannerFacts",
    "apply_banner",
    "banner_cell",
    "learner_minutes",
    "live_range",
    "render",
    "run_cost_cell",
]

BANNER_TAG = "banner"
RUN_COST_TAG = "run-cost"
RUN_COST_SOURCE = (
    "# What running every cell above billed (the banner at the top quotes this figure)\n"
    "print(llmlab.run_cost())"
)
#: A notebook whose spend depends on timing (metadata ``llmlab.spend_varies`` gives the reason,
#: e.g. concurrent requests meeting random faults) stores its run cost without nbval comparing it.
RUN_COST_SOURCE_VARIES = "# NBVAL_IGNORE_OUTPUT\n" + RUN_COST_SOURCE


def run_cost_source(nb: Any) -> str:
    """The run-cost cell's source for ``nb``: compared by nbval unless its spend varies."""
    varies = nb.get("metadata", {}).get("llmlab", {}).get("spend_varies")
    return RUN_COST_SOURCE_VARIES if varies else RUN_COST_SOURCE
CI_TIME_SCALE = 0.05  # stored outputs and nbval
LEARNER_TIME_SCALE = 1.0  # what a learner's kernel runs at

# Learner-time heuristic (minutes), on top of the measured runtime at time scale 1.0.
WORDS_PER_MINUTE = 150  # technical prose, read with care
MINUTES_PER_CODE_CELL = 0.5  # read it, run it, look at the output
MINUTES_PER_EXERCISE = 6  # write the function, run the checker, fix once
MINUTES_PER_WRITTEN_ANSWER = 2  # a markdown "your answer here"

# Live estimate: the simulator bills at the providers' list prices, so the same requests with the
# same token counts cost exactly the simulated figure. What differs live, as a spread:
#   * Claude's real tokenizer is not the cl100k stand-in (llmlab.tokens.anthropic_tokens); it
#     usually counts more tokens for English: Anthropic input (incl. cache writes/reads) x1.0-1.3;
#   * real replies are shorter or longer than the trigram model's (same max_tokens caps): all
#     output x0.5-1.5;
#   * fault/timeout demos are simulator-only (they skip in live mode), so they are not counted
#     twice; checkers are excluded above.
ANTHROPIC_INPUT_SPREAD = (1.0, 1.3)
OUTPUT_SPREAD = (0.5, 1.5)

_CHECK = re.compile(r"""llmlab\.check\(\s*["'](\d\d\.[\w.]+)["']""")
_MD_ANSWER = re.compile(r"<!--\s*BEGIN SOLUTION\s*-->")
_MARKER = "LLMLAB_BANNER_FACTS "
_PROBE = f"""\
import json as _json
from dataclasses import asdict as _asdict
import llmlab as _llmlab
_cost = _llmlab.run_cost()
print({_MARKER!r} + _json.dumps({{"records": [_asdict(r) for r in _cost.records],
                                 "settled_usd": _cost.settled_usd,
                                 "ended_early": _cost.ended_early}}))"""


@dataclass(frozen=True)
class BannerFacts:
    """Everything the banner says; stored as the banner cell's ``llmlab.banner`` metadata."""

    minutes: int  # estimated learner time, rounded up to 5
    exercises: int
    runtime_s: float  # wall time of all cells at LEARNER_TIME_SCALE, as measured
    usd: float  # simulated spend (llmlab.run_cost) at CI_TIME_SCALE
    calls: int  # billed requests
    settled_usd: float  # usd without the timing-dependent output of streams that ended early
    ended_early: int  # such streams
    live_low_usd: float
    live_high_usd: float
    prices_as_of: str

    def to_metadata(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_metadata(cls, data: dict[str, Any]) -> BannerFacts:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__})


def _runtime_text(seconds: float) -> str:
    """Rounded UP: to 10 s below a minute, to whole minutes above."""
    if seconds < 60:
        return f"~{max(10, math.ceil(seconds / 10) * 10)} s"
    return f"~{math.ceil(seconds / 60)} min"


def _usd(value: float, *, up: bool) -> str:
    """To 4 decimals (as the simulated figure), rounded outward so a range contains the estimate."""
    scaled = value * 10_000
    return f"{(math.ceil(scaled - 1e-9) if up else math.floor(scaled + 1e-9)) / 10_000:.4f}"


def render(facts: BannerFacts) -> str:
    """The banner's markdown: a three-line blockquote.

    Amounts are written "USD 0.0189", never "$0.0189": JupyterLab reads a pair of dollar signs in
    markdown as LaTeX and garbles the line between them (seen in the browser tests).
    """
    n = facts.exercises
    exercises = "no exercises" if n == 0 else f"{n} exercise{'' if n == 1 else 's'}"
    return (
        f"> **About {facts.minutes} min** ({exercises}); running every "
        f"cell takes {_runtime_text(facts.runtime_s)} at the learner's pace (time scale 1.0)  \n"
        f"> Simulated spend **USD {facts.usd:.4f}** ({facts.calls} billed calls at list prices "
        f"as of {facts.prices_as_of}); live on your own keys ≈ "
        f"USD {_usd(facts.live_low_usd, up=False)}–{_usd(facts.live_high_usd, up=True)}  \n"
        "> <sub>live differs by Claude's real tokenizer and real reply lengths; "
        "checkers and fault demos are simulator-only</sub>"
    )


def learner_minutes(nb: Any, runtime_s: float) -> tuple[int, int]:
    """(minutes rounded up to 5, exercises): reading + code cells + exercises + runtime."""
    words = code_cells = answers = 0
    exercises: set[str] = set()
    for cell in nb.cells:
        tags = cell.get("metadata", {}).get("tags", [])
        if BANNER_TAG in tags or RUN_COST_TAG in tags:
            continue
        if cell.cell_type == "markdown":
            words += len(cell.source.split())
            answers += len(_MD_ANSWER.findall(cell.source))
        elif cell.cell_type == "code":
            code_cells += 1
            exercises.update(_CHECK.findall(cell.source))
    minutes = (
        words / WORDS_PER_MINUTE
        + code_cells * MINUTES_PER_CODE_CELL
        + len(exercises) * MINUTES_PER_EXERCISE
        + answers * MINUTES_PER_WRITTEN_ANSWER
        + runtime_s / 60
    )
    return max(5, math.ceil(minutes / 5) * 5), len(exercises)


def live_range(records: Sequence[dict[str, Any]]) -> tuple[float, float]:
    """(low, high) USD for the same requests against the live providers; see the spreads above."""
    from llmlab.pricing import cost

    low = high = 0.0
    for r in records:
        parts = cost(
            r["model"],
            input_tokens=r["input_tokens"],
            output_tokens=r["output_tokens"],
            cache_write_tokens=r["cache_write_5m_tokens"] + r["cache_write_1h_tokens"],
            cache_write_1h_tokens=r["cache_write_1h_tokens"],
            cache_read_tokens=r["cache_read_tokens"],
            provider=r["provider"],
        )
        inp = float(parts.input_usd + parts.cache_write_usd + parts.cache_read_usd)
        out = float(parts.output_usd)
        lo_in, hi_in = ANTHROPIC_INPUT_SPREAD if r["provider"] == "anthropic" else (1.0, 1.0)
        low += inp * lo_in + out * OUTPUT_SPREAD[0]
        high += inp * hi_in + out * OUTPUT_SPREAD[1]
    return low, high


def banner_cell(facts: BannerFacts) -> Any:
    cell = nbformat.v4.new_markdown_cell(render(facts))
    cell.metadata["tags"] = [BANNER_TAG]
    cell.metadata["llmlab"] = {"banner": facts.to_metadata()}
    return cell


def run_cost_cell(source: str = RUN_COST_SOURCE) -> Any:
    return nbformat.v4.new_code_cell(source, metadata={"tags": [RUN_COST_TAG]})


def _tagged(nb: Any, tag: str) -> list[int]:
    return [i for i, c in enumerate(nb.cells) if tag in c.get("metadata", {}).get("tags", [])]


def _with_cells(nb: Any, facts: BannerFacts | None) -> Any:
    """``nb`` with exactly one banner at index 1 and one run-cost cell last (placeholders ok)."""
    nb = nbformat.from_dict(json.loads(json.dumps(nb)))  # deep copy
    placeholder = facts or BannerFacts(0, 0, 0.0, 0.0, 0, 0.0, 0, 0.0, 0.0, PRICES_AS_OF)
    old = _tagged(nb, BANNER_TAG)
    cell = banner_cell(placeholder)
    if old:
        cell["id"] = nb.cells[old[0]].get("id", cell["id"])
    nb.cells = [c for i, c in enumerate(nb.cells) if i not in old]
    nb.cells.insert(1, cell)
    source = run_cost_source(nb)
    last = nb.cells[-1] if nb.cells else None
    if _tagged(nb, RUN_COST_TAG) != [len(nb.cells) - 1] or last is None or last.source != source:
        nb.cells = [c for i, c in enumerate(nb.cells) if i not in _tagged(nb, RUN_COST_TAG)]
        nb.cells.append(run_cost_cell(source))
    return nb


@contextmanager
def _environ(**values: str) -> Iterator[None]:
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


def _stamp(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _execute(nb: Any, path: Path, time_scale: float) -> tuple[Any, dict[str, Any], float]:
    """Run ``nb`` plus a probe cell in a fresh kernel: (executed nb, run cost facts, cell time)."""
    from nbclient import NotebookClient

    probe = nbformat.v4.new_code_cell(_PROBE)
    nb.cells.append(probe)
    env = {
        "LLMLAB_TIME_SCALE": f"{time_scale:g}",
        "LLMLAB_PROVIDER": "sim",
        "MPLBACKEND": "module://matplotlib_inline.backend_inline",
    }
    try:
        with _environ(**env):
            NotebookClient(
                nb,
                timeout=1200,
                kernel_name="python3",
                resources={"metadata": {"path": str(path.parent)}},
            ).execute()
    finally:
        nb.cells.remove(probe)
    text = "".join(o.get("text", "") for o in probe.outputs if o.get("name") == "stdout")
    line = next((x for x in text.splitlines() if x.startswith(_MARKER)), None)
    if line is None:
        raise NotebookBuildError(f"{path}: the billing probe printed nothing: {probe.outputs}")
    spend: dict[str, Any] = json.loads(line[len(_MARKER) :])
    runtime = 0.0
    for cell in nb.cells:
        stamps = cell.get("metadata", {}).get("execution", {})
        if "iopub.execute_input" in stamps and "shell.execute_reply" in stamps:
            runtime += (
                _stamp(stamps["shell.execute_reply"]) - _stamp(stamps["iopub.execute_input"])
            ).total_seconds()
    return nb, spend, runtime


def apply_banner(path: Path, *, runtime_s: float | None = None, log: Any = print) -> BannerFacts:
    """(Re)write ``path``'s banner and run-cost cell and its stored outputs; returns the figures.

    ``runtime_s`` skips the (slow) time-scale-1.0 run and uses the given measurement instead.
    """
    nb = _with_cells(nbformat.read(path, as_version=4), None)
    if runtime_s is None:
        started = time.perf_counter()
        _, _, runtime_s = _execute(_with_cells(nb, None), path, LEARNER_TIME_SCALE)
        log(f"{path}: all cells ran in {runtime_s:.1f} s at time scale {LEARNER_TIME_SCALE:g} "
            f"({time.perf_counter() - started:.0f} s with kernel start)")
    executed, spend, ci_runtime = _execute(nb, path, CI_TIME_SCALE)
    records = spend["records"]
    usd = math.fsum(float(r["cost_usd"]) for r in records)
    low, high = live_range(records)
    minutes, exercises = learner_minutes(executed, runtime_s)
    facts = BannerFacts(
        minutes=minutes,
        exercises=exercises,
        runtime_s=round(runtime_s, 1),
        usd=round(usd, 6),
        calls=len(records),
        settled_usd=round(spend["settled_usd"], 6),
        ended_early=spend["ended_early"],
        live_low_usd=round(low, 6),
        live_high_usd=round(high, 6),
        prices_as_of=PRICES_AS_OF,
    )
    index = _tagged(executed, BANNER_TAG)[0]
    cell = banner_cell(facts)
    cell["id"] = executed.cells[index]["id"]
    executed.cells[index] = cell
    nbformat.write(executed, path)
    log(f"{path}: {render(facts).splitlines()[1]} (cells took {ci_runtime:.1f} s at "
        f"time scale {CI_TIME_SCALE:g})")
    return facts


def stored_facts(nb: Any) -> BannerFacts:
    """The figures stored in ``nb``'s banner cell (raises if there is not exactly one)."""
    found = _tagged(nb, BANNER_TAG)
    if len(found) != 1:
        raise NotebookBuildError(f"expected one cell tagged {BANNER_TAG!r}, found {len(found)}")
    return BannerFacts.from_metadata(nb.cells[found[0]].metadata["llmlab"]["banner"])
