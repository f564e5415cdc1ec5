"""Anthropic structured outputs: ``output_config.format`` (``{"type": "json_schema", ...}``).

anthropic 2.x ``messages.parse(output_format=Model)`` sends the model's JSON schema after
``transform_schema``, which keeps what the API supports and folds the rest into descriptions.
What it keeps is what this module accepts: ``type`` (object, array, string, integer, number,
boolean, null), ``enum``/``const`` of primitives, ``anyOf``, ``allOf``, ``$ref``/``$defs``,
``properties``/``required``, ``additionalProperties: false`` (required on every object),
``items``, ``minItems`` of 0 or 1, the listed string ``format`` values, and annotations
(``title``, ``description``, ``default``, ``examples``). Any constraint keyword (``minimum``,
``maxLength``, ``pattern``, ``oneOf``, ...) is a 400 naming its path. The reply's text block is
JSON valid for the schema, filled from the prompt by the simulator's schema skill.
"""

from __future__ import annotations

from typing import Any

from llmlab.sim.wire._anthropic_request import bad

_TYPES = {"object", "array", "string", "integer", "number", "boolean", "null"}
_FORMATS = {
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "uri",
    "ipv4",
    "ipv6",
    "uuid",
}
_ANNOTATIONS = {"title", "description", "default", "examples", "$schema", "$id", "$comment"}
_STRUCTURE = {"type", "enum", "const", "anyOf", "allOf", "$ref", "$defs", "definitions"}
_BY_TYPE = {
    "object": {"properties", "required", "additionalProperties"},
    "array": {"items", "minItems"},
    "string": {"format"},
}
_EFFORTS = ("low", "medium", "high", "xhigh", "max")


def output_schema(body: dict[str, Any]) -> dict[str, Any] | None:
    """The JSON schema the reply must follow (None without one); 400s name the field."""
    config = body.get("output_config")
    fmt: Any = None
    where = "output_config.format"
    if config is not None:
        if not isinstance(config, dict):
            raise bad("output_config: Input should be a valid dictionary")
        for name in sorted(set(config) - {"format", "effort"}):
            raise bad(f"output_config.{name}: Extra inputs are not permitted")
        effort = config.get("effort")
        if effort is not None and effort not in _EFFORTS:
            raise bad("output_config.effort: Input should be " + ", ".join(map(repr, _EFFORTS)))
        fmt = config.get("format")
    if fmt is None and body.get("output_format") is not None:  # anthropic 0.93's beta field
        fmt, where = body["output_format"], "output_format"
    if fmt is None:
        return None
    if not isinstance(fmt, dict) or fmt.get("type") != "json_schema":
        raise bad(f"{where}.type: Input should be 'json_schema'")
    for name in sorted(set(fmt) - {"type", "schema"}):
        raise bad(f"{where}.{name}: Extra inputs are not permitted")
    schema = fmt.get("schema")
    if not isinstance(schema, dict):
        raise bad(f"{where}.schema: Field required")
    if schema.get("type") != "object" and "$ref" not in schema:
        raise bad(f"{where}.schema: the root of the schema must be of type 'object'")
    check_supported(schema, f"{where}.schema")
    return schema


def check_supported(schema: Any, where: str) -> None:
    """Refuse what structured outputs do not support, naming the keyword's path."""
    stack: list[tuple[Any, str]] = [(schema, where)]
    while stack:
        node, path = stack.pop()
        if not isinstance(node, dict):
            raise bad(f"{path}: a schema must be an object")
        kind = node.get("type")
        kinds = kind if isinstance(kind, list) else [kind] if kind is not None else []
        for k in kinds:
            if not isinstance(k, str) or k not in _TYPES:
                raise bad(f"{path}.type: {k!r} is not a supported type")
        allowed = _STRUCTURE | _ANNOTATIONS
        for k in kinds:
            allowed |= _BY_TYPE.get(k, set())
        if "properties" in node and not kinds:
            allowed |= _BY_TYPE["object"]
        for key in node:
            if key not in allowed:
                label = f"'{kinds[0]}' type" if kinds else "schema"
                raise bad(
                    f"{path}: For {label}, property '{key}' is not supported by structured outputs"
                )
        if ("object" in kinds or "properties" in node) and node.get(
            "additionalProperties"
        ) is not False:
            raise bad(
                f"{path}: For 'object' type, 'additionalProperties' must be explicitly set to false"
            )
        if "minItems" in node and node["minItems"] not in (0, 1):
            raise bad(f"{path}.minItems: only 0 or 1 is supported, got {node['minItems']!r}")
        if "format" in node and str(node["format"]) not in _FORMATS:
            raise bad(f"{path}.format: {node['format']!r} is not a supported string format")
        enum = node.get("enum")
        if "enum" in node and not (
            isinstance(enum, list)
            and enum
            and all(v is None or isinstance(v, str | int | float | bool) for v in enum)
        ):
            raise bad(f"{path}.enum: must be a non-empty list of strings, numbers or booleans")
        for key in ("properties", "$defs", "definitions"):
            children = node.get(key)
            if children is not None:
                if not isinstance(children, dict):
                    raise bad(f"{path}.{key}: Input should be a valid dictionary")
                stack.extend((v, f"{path}.{key}.{k}") for k, v in children.items())
        if "items" in node:
            stack.append((node["items"], f"{path}.items"))
        for key in ("anyOf", "allOf"):
            options = node.get(key)
            if options is not None:
                if not isinstance(options, list) or not options:
                    raise bad(f"{path}.{key}: must be a non-empty list of schemas")
                stack.extend((v, f"{path}.{key}.{i}") for i, v in enumerate(options))
