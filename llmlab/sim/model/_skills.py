"""The model's task skills: filling a JSON schema, triaging incidents and deciding on tool calls.

Free text comes from the n-gram model; these skills decide *structure*. Triage is documented
so learners can reason about it: each cue word in a report votes for a severity (weights below).
Greedy decoding (temperature 0) follows the single strongest cue (a first impression); sampling
at temperature T draws a label from softmax(total_votes / T), so a majority of samples tends to
the label most cues support. That is why self-consistency voting can beat one greedy call.

Cue weights are calibrated on data/incident_reports.jsonl: every clear-cut report (IR-001..020)
gets its labelled severity and service at temperature 0. The skill does not know the customer
directory, so a sev4 report naming a customer (IR-020) comes back with ``needs_human: false``:
valid JSON that breaks triage_policy.md R7, which is what business validation must catch.

Schema violations (``Behaviour.schema_errors``) are stubborn: the model repeats the mistake on a
blind retry and only complies after the error is fed back (an ``is_error`` tool_result or a
re-ask such as instructor's "Validation Error found ... fix the errors"). Explicit corrections
in that feedback ("needs_human must be true") are followed.
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from llmlab.sim.model import _judge, _strength
from llmlab.sim.model._conversation import Conversation, Part, Tool, Turn
from llmlab.sim.model._extract import extract

SEVERITIES = ["sev1", "sev2", "sev3", "sev4"]
SERVICES = [
    "checkout",
    "payments",
    "auth",
    "search",
    "inventory",
    "notifications",
    "api-gateway",
    "database",
]
_SERVICE_CUES = {
    "checkout": ["checkout", "cart", "order"],
    "payments": ["payment", "card", "refund", "charge", "invoice"],
    "auth": ["auth", "log in", "login", "sign in", "password", "sso", "token"],
    "search": ["search", "query", "results"],
    "inventory": ["inventory", "stock", "warehouse"],
    "notifications": ["notification", "email", "sms", "push"],
    "api-gateway": ["gateway", "api-gateway", "502", "routing"],
    "database": ["database", "replica", "postgres", "db ", "disk"],
}
# cue -> (severity, weight); weights are the skill's documented "beliefs"
_SEVERITY_CUES: dict[str, tuple[str, float]] = {
    "all customers": ("sev1", 3.0),
    "every customer": ("sev1", 3.0),
    "nobody can": ("sev1", 2.5),
    "blocked": ("sev1", 2.0),
    "outage": ("sev1", 2.5),
    "down": ("sev1", 2.0),
    "data loss": ("sev1", 3.0),
    "breach": ("sev1", 3.0),
    "security": ("sev1", 2.0),
    "cannot": ("sev1", 1.5),
    "unavailable": ("sev1", 2.0),
    "every request": ("sev1", 2.0),
    "many customers": ("sev2", 2.5),
    "degraded": ("sev2", 2.0),
    "elevated error": ("sev2", 2.0),
    "slow": ("sev2", 1.5),
    "timeouts": ("sev2", 1.5),
    "errors": ("sev2", 1.0),
    "latency": ("sev2", 1.0),
    "some customers": ("sev3", 2.0),
    "workaround": ("sev3", 2.5),
    "intermittent": ("sev3", 2.0),
    "retries": ("sev3", 1.5),
    "minor": ("sev3", 2.0),
    "a few": ("sev3", 1.5),
    "typo": ("sev4", 3.0),
    "cosmetic": ("sev4", 3.0),
    "internal": ("sev4", 1.5),
    "no customer impact": ("sev4", 3.0),
    "dashboard": ("sev4", 1.0),
    "documentation": ("sev4", 2.0),
}
_FEEDBACK = re.compile(
    r"validation error|fix the errors|correct your json|failed validation", re.IGNORECASE
)
_CORRECTION = re.compile(
    r"\b(needs_human|severity|service)\b[^.\n]{0,60}?\bmust be\b\s+([a-z0-9_-]+)", re.IGNORECASE
)
_CONFIDENCE = 1.5  # how sharply cue votes turn into label probabilities at temperature 1
_ERROR_TEXT = re.compile(r"\s*(error|invalid|unknown tool|failed)\b", re.IGNORECASE)
_MAX_TOOL_RETRIES = 2  # after this many error results the model gives up and answers in text
_STOP = {"get", "set", "the", "tool", "for", "and", "with", "from", "into", "call", "use", "run"}


@dataclass
class Behaviour:
    """Configurable imperfection. Counts act on the next N chances; rates are seeded draws."""

    # forced structured outputs violate the schema until the caller has fed the error back N
    # times (1: one corrected retry fixes it; a blind retry repeats the mistake)
    schema_errors: int = 0
    schema_error_rate: float = 0.0  # first attempts that violate; one correction fixes them
    prose_json_quirk_rate: float = (
        0.7  # fences / preamble / trailing comma when JSON is asked in prose
    )
    hallucinate_tool: int = 0  # next N tool decisions call an undeclared tool
    bad_tool_args: int = 0  # next N tool decisions send arguments that break the tool's schema
    tool_loop: bool = False  # keep calling the same tool after its result arrives
    _counters: dict[str, int] = field(default_factory=dict, repr=False)

    def take(self, name: str, budget: int) -> bool:
        used = self._counters.get(name, 0)
        if used < budget:
            self._counters[name] = used + 1
            return True
        return False


@dataclass
class Plan:
    """What the model will say: verbatim text and/or tool calls (name, arguments)."""

    text: str = ""
    tool_calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)


# -- triage -------------------------------------------------------------------------------------
def severity_votes(text: str) -> tuple[dict[str, float], str | None]:
    """Total cue weight per severity, and the severity of the single strongest cue."""
    low = text.lower()
    votes = dict.fromkeys(SEVERITIES, 0.0)
    strongest: tuple[float, int, str] | None = None
    for cue, (sev, weight) in _SEVERITY_CUES.items():
        pos = low.find(cue)
        if pos >= 0:
            votes[sev] += weight
            if strongest is None or (weight, -pos) > (strongest[0], -strongest[1]):
                strongest = (weight, pos, sev)
    return votes, strongest[2] if strongest else None


def pick_severity(text: str, temperature: float, rng: np.random.Generator) -> str:
    votes, first_impression = _strength.adjust(text, *severity_votes(text))  # strong models
    if temperature <= 0:
        return first_impression or "sev3"
    scores = _CONFIDENCE * np.array([votes[s] for s in SEVERITIES]) / max(temperature, 1e-6)
    probs = np.exp(scores - scores.max())
    probs /= probs.sum()
    return SEVERITIES[int(rng.choice(len(SEVERITIES), p=probs))]


def services_in(text: str) -> list[str]:
    """Services the text mentions, most-mentioned first (ties: the earliest mention first)."""
    low = text.lower()
    found = []
    for s, cues in _SERVICE_CUES.items():
        hits = sum(low.count(c) for c in cues)
        if hits:
            found.append((-hits, min(low.find(c) for c in cues if c in low), s))
    return [s for _, _, s in sorted(found)]


def _summary(text: str, limit: int) -> str:
    first = (
        re.split(r"(?<=[.!?])\s", text.strip(), maxsplit=1)[0] if text.strip() else "No details."
    )
    return first if len(first) <= limit else first[: max(limit - 3, 1)].rstrip() + "..."


# -- schema filling -----------------------------------------------------------------------------
#: a valid value for each string format structured outputs support (no random draws)
_FORMAT_EXAMPLES = {
    "date-time": "2026-01-15T09:30:00Z",
    "date": "2026-01-15",
    "time": "09:30:00Z",
    "duration": "PT15M",
    "email": "oncall@example.com",
    "hostname": "api.example.com",
    "uri": "https://status.example.com/incidents/1",
    "ipv4": "192.0.2.10",
    "ipv6": "2001:db8::10",
    "uuid": "8c5b7d4e-2f1a-4c3b-9e6d-1a2b3c4d5e6f",
}


def _resolve(schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    ref = schema.get("$ref")
    if isinstance(ref, str) and ref.startswith("#/"):
        node: Any = root
        for key in ref[2:].split("/"):
            node = node.get(key, {}) if isinstance(node, dict) else {}
        return _resolve(node, root) if isinstance(node, dict) else {}
    for combo in ("anyOf", "oneOf", "allOf"):
        options = schema.get(combo)
        if isinstance(options, list) and options:
            non_null = [o for o in options if isinstance(o, dict) and o.get("type") != "null"]
            return _resolve(non_null[0] if non_null else options[0], root)
    return schema


@dataclass
class _Filler:
    text: str
    rng: np.random.Generator
    temperature: float
    severity: str | None = None
    taken: frozenset[Any] = frozenset()  # values already given to a field (one per field)

    def value(self, name: str, schema: dict[str, Any], root: dict[str, Any]) -> Any:
        schema = _resolve(schema, root)
        key = name.lower()
        if "enum" in schema and schema["enum"]:
            return self._enum(key, list(schema["enum"]))
        if "const" in schema:
            return schema["const"]
        kind = schema.get("type", "string")
        if isinstance(kind, list):
            kind = next((k for k in kind if k != "null"), "string")
        if kind == "object":
            return self.obj(schema, root)
        if kind == "array":
            item = self.value(name.rstrip("s"), schema.get("items", {}), root)
            return [item] * max(int(schema.get("minItems", 1)), 1)
        if kind == "boolean":
            if any(w in key for w in ("human", "escalat", "page", "urgent")):
                sev = self.severity or pick_severity(self.text, self.temperature, self.rng)
                cue = re.search(r"security|breach|data loss", self.text, re.IGNORECASE)
                return sev in ("sev1", "sev2") or bool(cue)
            return False
        if kind in ("integer", "number"):
            named = extract(name, schema, self.text, self.rng, self.temperature, self.taken)
            if named is not None:
                self.taken = self.taken | {named}
            value = named if named is not None else schema.get("minimum", 1)
            if "maximum" in schema:
                value = min(value, schema["maximum"])
            if "minimum" in schema:
                value = max(value, schema["minimum"])
            return int(value) if kind == "integer" else value
        limit = int(schema.get("maxLength", 100))
        if "service" in key:
            found = services_in(self.text)
            return found[0] if found else "api-gateway"
        if "sever" in key:
            return self.severity or pick_severity(self.text, self.temperature, self.rng)
        named = extract(name, schema, self.text, self.rng, self.temperature, self.taken)
        if named is not None:
            self.taken = self.taken | {named}
            return str(named)[:limit]
        if schema.get("format") in _FORMAT_EXAMPLES:
            return _FORMAT_EXAMPLES[schema["format"]]
        return _summary(self.text, limit)

    def _enum(self, key: str, options: list[Any]) -> Any:
        if set(options) <= set(SEVERITIES):
            self.severity = self.severity or pick_severity(self.text, self.temperature, self.rng)
            return self.severity if self.severity in options else options[0]
        found = [s for s in services_in(self.text) if s in options]
        if found:
            return found[0]
        named = extract(key, {"type": "string"}, self.text, self.rng, self.temperature)
        if named in options:
            return named
        low = self.text.lower()
        mentioned = []
        for i, o in enumerate(options):
            m = re.search(rf"(?<![\w-]){re.escape(str(o).lower())}(?![\w-])", low)
            if m:
                mentioned.append((m.start(), i, o))
        if mentioned:
            return min(mentioned)[2]
        scored = [(-(str(o).lower() in low), i, o) for i, o in enumerate(options)]
        return min(scored)[2]

    def obj(self, schema: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
        props: dict[str, Any] = schema.get("properties", {})
        # fill severity first so booleans such as needs_human agree with it
        order = sorted(props, key=lambda k: 0 if "sever" in k.lower() else 1)
        out = {k: self.value(k, props[k], root) for k in order}
        return {k: out[k] for k in props}


def fill_schema(
    schema: dict[str, Any], text: str, rng: np.random.Generator, temperature: float
) -> dict[str, Any]:
    """An object that satisfies ``schema``, filled from ``text``."""
    return _Filler(text, rng, temperature).obj(_resolve(schema, schema), schema)


def violate(
    value: dict[str, Any], schema: dict[str, Any], rng: np.random.Generator
) -> dict[str, Any]:
    """The same object broken in one plausible way: wrong enum, missing field, overlong string."""
    props: dict[str, Any] = _resolve(schema, schema).get("properties", {})
    broken = dict(value)
    kinds = []
    for k, s in props.items():
        s = _resolve(s, schema)
        if "enum" in s:
            kinds.append(("enum", k, s))
        if s.get("type") == "string" and "maxLength" in s:
            kinds.append(("long", k, s))
    required = [k for k in _resolve(schema, schema).get("required", []) if k in broken]
    if required:
        kinds.append(("missing", required[-1], {}))
    if not kinds:
        return {"error": "unexpected shape"}
    kind, key, s = kinds[int(rng.integers(len(kinds)))]
    if kind == "enum":
        broken[key] = {"sev1": "critical", "sev2": "high", "sev3": "medium", "sev4": "low"}.get(
            str(broken.get(key)), str(broken.get(key)).upper() + "!"
        )
    elif kind == "long":
        broken[key] = (str(broken.get(key, "")) + " ") * 3 + "x" * int(s["maxLength"])
    else:
        broken.pop(key, None)
    return broken


def _feedback_parts(turn: Turn) -> list[Part]:
    return [
        p
        for p in turn.parts
        if (p.kind == "tool_result" and p.is_error) or _FEEDBACK.search(p.text)
    ]


def feedback_count(conv: Conversation) -> int:
    """How many user turns fed a validation error back (is_error tool_result or a re-ask)."""
    return sum(1 for t in conv.turns if t.role == "user" and _feedback_parts(t))


def got_feedback(conv: Conversation) -> bool:
    """Did the caller feed a validation error back (is_error tool_result or a re-ask)?"""
    return feedback_count(conv) > 0


def corrections(conv: Conversation) -> dict[str, Any]:
    """Explicit fixes the feedback asked for ("needs_human must be true"), latest wins."""
    out: dict[str, Any] = {}
    for turn in conv.turns:
        if turn.role != "user":
            continue
        for part in _feedback_parts(turn):
            for key, value in _CORRECTION.findall(part.text):
                low = value.lower()
                out[key.lower()] = {"true": True, "false": False}.get(low, low)
    return out


def _apply(obj: dict[str, Any], fixes: dict[str, Any]) -> dict[str, Any]:
    return {k: fixes.get(k.lower(), v) for k, v in obj.items()}


# -- tool decisions -----------------------------------------------------------------------------
def _tool_score(tool: Tool, text: str) -> float:
    low = text.lower()
    words = [w for w in re.split(r"[_\W]+", tool.name.lower()) if len(w) > 3 and w not in _STOP]
    score = sum(1.0 for w in words if w[:5] in low)
    desc = [w for w in re.findall(r"[a-z]{5,}", tool.description.lower()) if w not in _STOP]
    score += 0.25 * sum(1 for w in set(desc) if w in low)
    return score


def choose_tools(
    conv: Conversation, rng: np.random.Generator, temperature: float, behaviour: Behaviour
) -> list[tuple[str, dict[str, Any]]]:
    """The tool calls the model makes now (empty: it answers in text)."""
    choice = conv.tool_choice
    text = conv.last_user_text
    tools = {t.name: t for t in conv.tools}
    if choice.mode == "none" or not tools:
        return []
    results = conv.last_tool_results()
    if results and choice.mode == "auto":
        if behaviour.tool_loop:
            previous = _previous_calls(conv)
            return previous[:1]
        errors = sum(1 for t in conv.turns if any(_failed(p) for p in t.parts))
        if not any(_failed(r) for r in results) or errors > _MAX_TOOL_RETRIES:
            return []
        # an error came back (unknown tool, bad arguments): read it and try again
    if choice.mode != "tool" and behaviour.take("hallucinate_tool", behaviour.hallucinate_tool):
        return [("run_diagnostics", {"target": (services_in(text) or ["api-gateway"])[0]})]
    if choice.mode == "tool" and choice.name in tools:
        picked = [tools[choice.name]]
    else:
        scored = sorted(
            ((-_tool_score(t, text), i, t) for i, t in enumerate(tools.values())),
            key=lambda x: (x[0], x[1]),
        )
        picked = [t for s, _, t in scored if -s >= 1.0]
        if not picked and choice.mode == "any":
            picked = [scored[0][2]]
    calls: list[tuple[str, dict[str, Any]]] = []
    for tool in picked:
        targets = services_in(text) if _takes_service(tool) else []
        options: list[str | None] = [*targets[:3]] or [None]
        for service in options:
            args = fill_schema(tool.schema, text, rng, temperature)
            if service is not None:
                for k in args:
                    if "service" in k.lower():
                        args[k] = service
            calls.append((tool.name, args))
    if calls and choice.mode == "auto" and behaviour.take("bad_tool_args", behaviour.bad_tool_args):
        tool = tools[calls[0][0]]
        calls[0] = (calls[0][0], violate(calls[0][1], tool.schema, rng))
    return calls if choice.parallel else calls[:1]


def _failed(part: Part) -> bool:
    """A tool result reporting failure: Anthropic's is_error, or an error said in words."""
    if part.kind != "tool_result":
        return False
    return part.is_error or bool(_ERROR_TEXT.match(part.text))


def _takes_service(tool: Tool) -> bool:
    return any("service" in k.lower() for k in tool.schema.get("properties", {}))


def _previous_calls(conv: Conversation) -> list[tuple[str, dict[str, Any]]]:
    for turn in reversed(conv.turns):
        if turn.role == "assistant":
            calls = [(p.name, p.input) for p in turn.parts if p.kind == "tool_call"]
            if calls:
                return calls
    return []


def answer_from_tool_results(conv: Conversation) -> str:
    parts = []
    for r in conv.last_tool_results():
        body = r.text.strip().replace("\n", " ")
        body = body if len(body) <= 240 else body[:237] + "..."
        verdict = "reported an error" if r.is_error else "returned"
        parts.append(f"The tool {verdict}: {body}")
    return " ".join(parts) + " Based on this, the on-call engineer should follow the runbook."


# -- the plan -----------------------------------------------------------------------------------
_JSON_WORD = re.compile(r"\bjson\b", re.IGNORECASE)


def _asks_for_json(conv: Conversation) -> bool:
    # the two texts separately (a match cannot straddle the newline that joined them), the
    # system prompt memoised: a 100k-token one took 15 ms to search on every request
    return _mentions_json(conv.last_user_text) or _mentions_json(conv.system)


@functools.lru_cache(maxsize=64)
def _mentions_json(text: str) -> bool:
    return _JSON_WORD.search(text) is not None


def _prose_json(obj: dict[str, Any], rng: np.random.Generator, rate: float) -> str:
    body = json.dumps(obj, indent=2)
    if rng.random() >= rate:
        return body
    quirk = int(rng.integers(3))
    if quirk == 0:
        return f"```json\n{body}\n```"
    if quirk == 1:
        return f"Sure! Here is the JSON you asked for:\n\n{body}"
    return body[:-2] + ",\n}"  # a trailing comma before the closing brace


def _default_object(text: str, rng: np.random.Generator, temperature: float) -> dict[str, Any]:
    triage = {
        "type": "object",
        "properties": {
            "severity": {"enum": SEVERITIES},
            "service": {"enum": SERVICES},
            "summary": {"type": "string", "maxLength": 120},
            "needs_human": {"type": "boolean"},
        },
    }
    return fill_schema(triage, text, rng, temperature)


def plan(
    conv: Conversation, behaviour: Behaviour, rng: np.random.Generator, temperature: float
) -> Plan | None:
    """Structured behaviour for this request, or None to let the language model write prose."""
    text = conv.last_user_text
    calls = choose_tools(conv, rng, temperature, behaviour)
    if calls:
        forced = conv.tool_choice.mode in ("tool", "any")
        if forced:
            calls[0] = (calls[0][0], _apply(calls[0][1], corrections(conv)))
            if _should_violate(conv, behaviour, rng):
                tool = next((t for t in conv.tools if t.name == calls[0][0]), None)
                if tool is not None:
                    calls[0] = (calls[0][0], violate(calls[0][1], tool.schema, rng))
        return Plan(tool_calls=calls)
    if conv.last_tool_results() and conv.tool_choice.mode == "auto":
        return Plan(text=answer_from_tool_results(conv))
    if conv.response_schema is not None:
        obj = _apply(fill_schema(conv.response_schema, text, rng, temperature), corrections(conv))
        if _should_violate(conv, behaviour, rng):
            obj = violate(obj, conv.response_schema, rng)
        return Plan(text=json.dumps(obj))
    if conv.json_mode:
        return Plan(text=json.dumps(_default_object(text, rng, temperature)))
    if _asks_for_json(conv):
        obj = _default_object(text, rng, temperature)
        return Plan(text=_prose_json(obj, rng, behaviour.prose_json_quirk_rate))
    judged = _judge.verdict(  # a judging prompt (lab 13)
        text,
        lambda r: pick_severity(r, temperature, rng),
        lambda r: _strength.adjust(r, *severity_votes(r))[0],
        _strength.strong(),
    )
    return None if judged is None else Plan(text=judged)


def _should_violate(conv: Conversation, behaviour: Behaviour, rng: np.random.Generator) -> bool:
    told = feedback_count(conv)
    if told < behaviour.schema_errors:
        return True
    rate = behaviour.schema_error_rate
    return told == 0 and rate > 0 and bool(rng.random() < rate)
