"""MCP readiness per tool: name, description, parameters described, constraints present."""

from __future__ import annotations

from runner.mcpgen import MCPGenerator
from runner.mcpgen.readiness import assess
from runner.models import ApiSpec, RunReport
from runner.openapi import endpoints_from_openapi
from runner.report import markdown, result

DOC = {
    "openapi": "3.0.3",
    "info": {"title": "R", "version": "1"},
    "paths": {
        "/good/{id}": {"get": {
            "operationId": "get_good", "summary": "Fetch one good thing.",
            "parameters": [{"name": "id", "in": "path", "required": True,
                            "description": "Its id", "schema": {"type": "integer",
                                                                "minimum": 1}}],
            "responses": {"200": {"description": "ok"}}}},
        "/bare": {"post": {
            "requestBody": {"content": {"application/json": {"schema": {
                "type": "object", "properties": {"name": {"type": "string"},
                                                 "size": {"type": "integer",
                                                          "description": "How big",
                                                          "maximum": 9}}}}}},
            "responses": {"200": {"description": "ok"}}}},
        "/clash": {"get": {"operationId": "get_good", "summary": "Same id.",
                           "responses": {"200": {"description": "ok"}}}},
    },
}


def test_readiness_scores_and_summary() -> None:
    spec = ApiSpec("openapi", "x", DOC, endpoints_from_openapi(DOC), title="R", version="1")
    found = assess(spec, MCPGenerator().tool_names(spec))
    tools = {t["endpoint"]: t for t in found["tools"]}
    good, bare, clash = tools["GET /good/{id}"], tools["POST /bare"], tools["GET /clash"]
    assert good["score"] == 100 and good["fully_described"] and not good["problems"]
    assert bare["undocumented"] == ["name"] and bare["unconstrained"] == ["name"]
    assert any("no operationId" in p for p in bare["problems"])
    assert any("no summary" in p for p in bare["problems"]) and bare["score"] < 50
    assert any("clash" in p for p in clash["problems"]) and clash["score"] == 75
    assert found["summary"] == "MCP readiness: 2/3 tools fully described; 1 parameter undocumented"

    report = RunReport(status="completed", repo_info=None, spec=spec, mcp_readiness=found)
    assert result.to_dict(report)["mcp_readiness"]["summary"] == found["summary"]
    assert found["summary"] in markdown.render(report)


def test_tools_a_change_made_worse_are_named_against_the_base() -> None:
    import copy

    from runner.mcpgen.readiness import note_regressions, worse_than_base

    base = ApiSpec("openapi", "x", DOC, endpoints_from_openapi(DOC))
    head_doc = copy.deepcopy(DOC)
    good = head_doc["paths"]["/good/{id}"]["get"]
    del good["summary"]
    del good["parameters"][0]["description"]
    head = ApiSpec("openapi", "x", head_doc, endpoints_from_openapi(head_doc))
    found = assess(head, MCPGenerator().tool_names(head))
    worse = worse_than_base(found, base)
    assert worse == [{"tool": "get_good", "endpoint": "GET /good/{id}", "before": 100,
                      "after": 50, "new_problems": ["no summary or description",
                                                    "parameter id undocumented"]}]
    note_regressions(found, worse)
    assert found["summary"].endswith("; worse than the base: get_good (100 -> 50)")
    assert worse_than_base(assess(base, MCPGenerator().tool_names(base)), base) == []
