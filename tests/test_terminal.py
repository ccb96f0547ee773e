"""The terminal's table: one readable line per endpoint, app text made inert."""

from __future__ import annotations

from runner.models import Baseline, Endpoint, EndpointResult, RunReport
from runner.report import terminal


def test_each_line_names_the_endpoint_tool_reason_and_base_status() -> None:
    ok = EndpointResult(Endpoint("GET", "/a", "a"), "list_a", "passed")
    bad = EndpointResult(Endpoint("GET", "/b", "b"), "get_b", "failed",
                         reason="not_a_server_error: 500\x1b]52;c;aGk=\x07", baseline="new failure")
    report = RunReport(status="completed", repo_info=None, spec=None, results=[ok, bad],
                       baseline=Baseline("run", "main", "c0ffee"))
    lines = terminal.render(report).splitlines()
    assert lines[0] == "PASS  GET /a  list_a"
    assert lines[1].startswith("FAIL  GET /b  get_b  not_a_server_error: 500")
    assert lines[1].endswith("[new failure]") and "\x1b" not in lines[1] and "\x07" not in lines[1]
    assert lines[-1] == ("1 new failure, 0 fixed, 0 still failing on main · API: "
                         "0 breaking changes")
