"""MCP readiness per tool: can a model call it right from what the tool says about itself?

Four questions per tool, each worth a quarter of its score: a meaningful name of at most 64
characters that no clash changed; a description; every parameter described; every scalar
parameter constrained (enum, format, pattern, bounds, lengths or examples).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from runner.mcpgen.names import base_tool_name
from runner.mcpgen.schemas import split_null
from runner.models import ApiSpec, Endpoint
from runner.openapi import to_json_schema

MAX_CLIENT_NAME = 64
CONSTRAINING = ("enum", "const", "format", "pattern", "minimum", "maximum", "exclusiveMinimum",
                "exclusiveMaximum", "minLength", "maxLength", "multipleOf", "examples")
SCALARS = ("string", "integer", "number")


@dataclass(frozen=True)
class ToolReadiness:
    tool: str
    endpoint: str
    score: int  # 0..100
    fully_described: bool  # a description, and every parameter described
    problems: list[str] = field(default_factory=list)
    undocumented: list[str] = field(default_factory=list)  # parameters without a description
    unconstrained: list[str] = field(default_factory=list)  # scalars with no constraint


def _parameters(endpoint: Endpoint) -> list[tuple[str, dict[str, Any], str]]:
    """(name, JSON Schema, description) of every parameter and body property (the endpoint's
    schemas are resolved in discovery)."""
    found = [(p.name, to_json_schema(p.schema, "write"), p.description)
             for p in endpoint.parameters]
    body = endpoint.request_body
    if body is not None:
        schema = to_json_schema(body.schema, "write")
        properties = schema.get("properties")
        if isinstance(properties, dict) and properties:
            found += [(name, prop if isinstance(prop, dict) else {}, "")
                      for name, prop in properties.items()]
        else:
            found.append(("body", schema, ""))
    return found


def assess_tool(endpoint: Endpoint, tool: str) -> ToolReadiness:
    problems = []
    if len(tool) > MAX_CLIENT_NAME:
        problems.append(f"name longer than {MAX_CLIENT_NAME} characters")
    if not endpoint.operation_id.strip():
        problems.append("no operationId: the name is made from the method and path")
    elif tool != base_tool_name(endpoint):
        problems.append(f"name changed to {tool!r} to avoid a clash")
    described = bool(endpoint.summary.strip() or endpoint.description.strip())
    if not described:
        problems.append("no summary or description")
    undocumented, unconstrained = [], []
    parameters = _parameters(endpoint)
    for name, schema, description in parameters:
        inner, _ = split_null(schema)
        if not (description.strip() or str(inner.get("description") or "").strip()):
            undocumented.append(name)
        if inner.get("type") in SCALARS and not any(k in inner for k in CONSTRAINING):
            unconstrained.append(name)
    count = len(parameters)
    parts = [not any("name" in p for p in problems), described,
             1 - len(undocumented) / count if count else 1.0,
             1 - len(unconstrained) / count if count else 1.0]
    score = round(100 * sum(float(p) for p in parts) / len(parts))
    return ToolReadiness(tool, endpoint.key, score, described and not undocumented, problems,
                         undocumented, unconstrained)


def assess(spec: ApiSpec, tool_names: dict[str, str]) -> dict[str, Any]:
    """The readiness of every tool and a one-line summary, as report.json holds them."""
    tools = [assess_tool(e, tool_names[e.key]) for e in spec.endpoints
             if e.key in tool_names]
    full = sum(t.fully_described for t in tools)
    undocumented = sum(len(t.undocumented) for t in tools)
    summary = f"MCP readiness: {full}/{len(tools)} tools fully described"
    if undocumented:
        summary += f"; {undocumented} parameter{'s' if undocumented != 1 else ''} undocumented"
    return {"summary": summary,
            "score": round(sum(t.score for t in tools) / len(tools)) if tools else 0,
            "tools": [asdict(t) for t in tools]}


def worse_than_base(readiness: dict[str, Any], base: ApiSpec) -> list[dict[str, Any]]:
    """The tools this change made harder for a model to call: the same operation scored lower
    on the base's spec, with what is new among its problems."""
    from runner.mcpgen import MCPGenerator

    names = MCPGenerator().tool_names(base)
    before = {e.key: assess_tool(e, names[e.key]) for e in base.endpoints if e.key in names}
    worse = []
    for tool in readiness.get("tools", []):
        old = before.get(tool["endpoint"])
        if old is None or tool["score"] >= old.score:
            continue
        new_problems = (
            [p for p in tool["problems"] if p not in old.problems]
            + [f"parameter {n} undocumented" for n in tool["undocumented"]
               if n not in old.undocumented]
            + [f"parameter {n} unconstrained" for n in tool["unconstrained"]
               if n not in old.unconstrained])
        worse.append({"tool": tool["tool"], "endpoint": tool["endpoint"], "before": old.score,
                      "after": tool["score"], "new_problems": new_problems})
    return worse


def note_regressions(readiness: dict[str, Any], worse: list[dict[str, Any]]) -> None:
    """Add the tools made worse to the readiness record and its one-line summary."""
    readiness["worse_than_base"] = worse
    if worse:
        shown = ", ".join(f"{w['tool']} ({w['before']} -> {w['after']})" for w in worse[:5])
        more = f" and {len(worse) - 5} more" if len(worse) > 5 else ""
        readiness["summary"] += f"; worse than the base: {shown}{more}"
