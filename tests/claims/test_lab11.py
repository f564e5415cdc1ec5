"""Lab 11's measured claims (context windows), re-measured through the real async OpenAI SDK.

The notebook's 50-turn script runs under each strategy: the local count equals the billed input on
every turn; budgeted prompts stay within the budget while the full history grows past 3x it;
OpenAI's prefix cache serves the append-only history (the budgeted prompts stay under its
1024-token minimum); and the fact-recall probe: full history and pinned facts recall every fact,
drop-oldest and the last-3 window forget, the rolling summary sits in between.
"""

from __future__ import annotations

import asyncio
import functools
import json
from typing import Any

import openai

import llmlab
import llmlab.sim
from llmlab.reference.client import LLMClient, LLMRequest, Message
from llmlab.reference.context import (
    fit_to_budget,
    last_k,
    openai_counter,
    pinned_system,
    remembered,
    rolling_summary,
    summarise_prompt,
    with_summary,
)

SYSTEM = "You are the on-call assistant for Northwind Cloud. Answer in one or two sentences."
BUDGET = 600
COUNT = openai_counter("gpt-4.1-mini")
FACTS = {
    "name": ("Remember: my name is Priya Raman, on call for payments this week.", "Priya Raman"),
    "ticket": ("Remember: our incident ticket is INC-48213.", "INC-48213"),
    "pager": ("Remember: my pager number is 555-0142.", "555-0142"),
    "freeze": ("Remember: our deploy freeze date is 2026-12-14.", "2026-12-14"),
}
QUESTIONS = {
    "name": "What is my name?",
    "ticket": "What was our incident ticket?",
    "pager": "What's my pager number?",
    "freeze": "Remind me of our deploy freeze date.",
}
PROBES = {6: "name", 10: "ticket", 16: "pager", 22: "freeze", 28: "name", 34: "ticket",
          40: "pager", 46: "freeze", 50: "name"}  # fmt: skip
STRATEGIES = ["full history", "drop oldest", "last 3 exchanges", "pinned facts", "rolling summary"]


def _script() -> list[str]:
    reports = [
        json.loads(line)["report"]
        for line in (llmlab.data_dir() / "incident_reports.jsonl").read_text().splitlines()
    ]
    script = [text for text, _ in FACTS.values()]
    for turn in range(len(script) + 1, 51):
        script.append(
            QUESTIONS[PROBES[turn]]
            if turn in PROBES
            else f"Summarise for the status page: {reports[turn % len(reports)]}"
        )
    return script


async def _converse(client: LLMClient, strategy: str) -> list[tuple[int, float, int, int, str]]:
    """Per turn: (billed input, USD, cached input, locally counted input, answer)."""

    async def ask(system: str, turns: list[dict[str, str]], feature: str = "chat") -> Any:
        messages = tuple(Message(t["role"], t["content"]) for t in turns)  # type: ignore[arg-type]
        return await client.generate(
            LLMRequest(messages=messages, system=system, max_tokens=60, feature=feature)
        )

    spent = [0.0]

    async def summarise(previous: str, folded: Any) -> str:
        prompt = summarise_prompt(previous, folded)
        result = await ask("You summarise conversations.", [{"role": "user", "content": prompt}])
        spent[0] += result.cost_usd
        return str(result.text)

    history: list[dict[str, str]] = []
    window: list[dict[str, str]] = []
    summary, rows = "", []
    for text in _script():
        history.append({"role": "user", "content": text})
        system, turns, before = SYSTEM, history, spent[0]
        if strategy == "drop oldest":
            turns = fit_to_budget(SYSTEM, history, BUDGET, COUNT)
        elif strategy == "last 3 exchanges":
            turns = last_k(history, 3)
        elif strategy == "pinned facts":
            system = pinned_system(SYSTEM, remembered(history))
            turns = fit_to_budget(system, history, BUDGET, COUNT)
        elif strategy == "rolling summary":
            window.append(history[-1])
            summary, window = await rolling_summary(
                SYSTEM, summary, window, BUDGET, COUNT, summarise
            )
            system, turns = with_summary(SYSTEM, summary), window
        result = await ask(system, turns)
        usage = result.usage
        rows.append(
            (
                usage.input_tokens,
                result.cost_usd + spent[0] - before,
                usage.cache_read_tokens,
                COUNT(system, turns),
                result.text,
            )
        )
        history.append({"role": "assistant", "content": result.text})
        if strategy == "rolling summary":
            window.append(history[-1])
    return rows


@functools.cache
def _runs(seed: int) -> dict[str, list[tuple[int, float, int, int, str]]]:
    with llmlab.sim.mock(seed=seed, time_scale=0.01):
        client = LLMClient(openai=openai.AsyncOpenAI(api_key="sk-test-claims"))

        async def main() -> list[Any]:
            return list(await asyncio.gather(*(_converse(client, s) for s in STRATEGIES)))

        return dict(zip(STRATEGIES, asyncio.run(main()), strict=True))


def _recall(rows: list[tuple[int, float, int, int, str]]) -> int:
    return sum(FACTS[fact][1] in rows[turn - 1][4] for turn, fact in PROBES.items())


def test_the_local_count_is_the_billed_input_on_every_turn() -> None:
    for name, rows in _runs(11).items():
        assert all(billed == counted for billed, _, _, counted, _ in rows), name


def test_budgeted_prompts_stay_flat_and_the_full_history_grows_past_3x() -> None:
    runs = _runs(11)
    for name in ("drop oldest", "last 3 exchanges", "pinned facts", "rolling summary"):
        assert max(r[0] for r in runs[name]) <= BUDGET, name
    assert runs["full history"][49][0] / runs["drop oldest"][49][0] > 3


def test_the_prefix_cache_serves_the_append_only_history_only() -> None:
    runs = _runs(11)
    full, dropped = runs["full history"], runs["drop oldest"]
    assert sum(r[2] for r in full) / sum(r[0] for r in full) > 0.5
    assert sum(r[2] for r in dropped) == 0
    cost_ratio = full[49][1] / dropped[49][1]
    assert 1 < cost_ratio < full[49][0] / dropped[49][0]


def test_what_each_strategy_forgets() -> None:
    for seed in (11, 12):
        recall = {name: _recall(rows) for name, rows in _runs(seed).items()}
        assert recall["full history"] == recall["pinned facts"] == len(PROBES), (seed, recall)
        assert recall["drop oldest"] <= 3 and recall["last 3 exchanges"] == 0, (seed, recall)
        assert recall["drop oldest"] <= recall["rolling summary"] < len(PROBES), (seed, recall)
