"""Copy-paste curl reproductions of failing calls, and where the reports show them."""

from __future__ import annotations

import shlex
from pathlib import Path

from runner.checks import CHECKS
from runner.evidence import (
    AppLog,
    attach_logged_tracebacks,
    attach_tracebacks,
    curl,
    parse_traceback,
    parse_tracebacks,
)
from runner.models import Endpoint, Parameter, RequestBody, ToolCall
from runner.verdicts import evaluate

CREATE = Endpoint(method="POST", path="/shops/{shop_id}/items", operation_id="create",
                  parameters=(Parameter("shop_id", "path", True, {"type": "integer"}),),
                  request_body=RequestBody("application/json", {
                      "type": "object", "properties": {"name": {"type": "string"},
                                                       "body": {"type": "string"}}}),
                  responses={"201": {"description": "made"}}, security=True)


def made(**extra: object) -> ToolCall:
    defaults = {"call_id": "c-1", "tool": "create", "method": "POST",
                "path": "/shops/{shop_id}/items",
                "arguments": {"shop_id": 3, "name": "Zoë", "body_body": "hi"},
                "url": "http://127.0.0.1:9/shops/3/items", "status_code": 500,
                "body": "Internal Server Error"}
    return ToolCall(**{**defaults, **extra})  # type: ignore[arg-type]


def test_the_body_is_rebuilt_under_its_documented_names_and_no_secret_is_written() -> None:
    words = shlex.split(curl(made(), CREATE))
    assert words[:5] == ["curl", "-i", "-X", "POST", "http://127.0.0.1:9/shops/3/items"]
    assert "Authorization: <your credentials>" in words
    assert words[-1] == '{"name": "Zoë", "body": "hi"}'


def test_a_raw_request_is_reproduced_with_the_method_and_body_it_sent() -> None:
    raw = made(tool="api_mcp_test_raw_request", arguments={
        "operation": "POST /shops/{shop_id}/items", "method": "PUT", "path": "/shops/3/items",
        "json_body": {"name": 5}})
    words = shlex.split(curl(raw, CREATE))
    assert words[3] == "PUT" and words[-1] == '{"name": 5}'


def test_every_failed_check_carries_its_reproduction() -> None:
    (result,) = evaluate([CREATE], [made()], {}, CHECKS)
    failed = [c for c in result.checks if not c.passed]
    assert failed and all(c.reproduce.startswith("curl -i -X POST") for c in failed)
    assert all(not c.reproduce for c in result.checks if c.passed)


UVICORN_LOG = '''INFO:     127.0.0.1:1 - "GET /stats HTTP/1.1" 500 Internal Server Error
ERROR:    Exception in ASGI application
Traceback (most recent call last):
  File "/venv/lib/python3.11/site-packages/starlette/routing.py", line 73, in app
    response = await f(request)
               ^^^^^^^^^^^^^^^^
  File "/run/repo/app/main.py", line 57, in stats
    return total / count
           ~~~~~~^~~~~~~
ZeroDivisionError: division by zero
INFO:     127.0.0.1:1 - "GET /items HTTP/1.1" 200 OK
'''
GROUP_LOG = '''  + Exception Group Traceback (most recent call last):
  |   File "/venv/lib/python3.12/site-packages/anyio/_backends/_asyncio.py", line 767, in __aexit__
  |     raise BaseExceptionGroup(
  | ExceptionGroup: unhandled errors in a TaskGroup (1 sub-exception)
  +-+---------------- 1 ----------------
    | Traceback (most recent call last):
    |   File "/run/repo/svc.py", line 9, in handler
    |     raise KeyError("missing")
    | KeyError: 'missing'
    +------------------------------------
'''


def test_the_apps_traceback_is_read_with_its_exception_and_own_frame() -> None:
    found = parse_traceback(UVICORN_LOG, "/run/repo")
    assert found is not None
    assert found.exception == "ZeroDivisionError: division by zero"
    assert found.where == "app/main.py:57 in stats"
    assert found.summary() == "ZeroDivisionError: division by zero (app/main.py:57 in stats)"
    assert found.text.startswith("Traceback") and "/run/repo" not in found.text
    grouped = parse_traceback(GROUP_LOG, "/run/repo")
    assert grouped is not None and grouped.where.startswith("/venv/")  # no app frame in it
    assert parse_traceback("INFO: all fine\n") is None
    deep = UVICORN_LOG.replace("  File \"/run/repo/app/main.py\"",
                               '  File "/venv/lib/python3.11/site-packages/x.py", line 1, in f\n'
                               '    f()\n' * 60 + '  File "/run/repo/app/main.py"')
    capped = parse_traceback(deep, "/run/repo")
    assert capped is not None and len(capped.text.splitlines()) < 50
    assert parse_traceback(capped.text) == capped  # what a report keeps still reads the same


def test_each_5xx_call_gets_the_traceback_logged_in_its_own_stretch(tmp_path: Path) -> None:
    log = tmp_path / "app.log"
    flask_style = ("[x] ERROR in app: Exception on /a [GET]\nTraceback (most recent call last):\n"
                   '  File "/run/repo/app.py", line 3, in a\n    1 / 0\n'
                   "ZeroDivisionError: division by zero\n")
    log.write_text(flask_style + "GET /ok 200\n" + UVICORN_LOG)
    first_end = len(flask_style.encode())
    calls = [made(call_id="a"), made(call_id="ok", status_code=200), made(call_id="b")]
    marks = {"a": 0, "ok": first_end, "b": first_end + len(b"GET /ok 200\n")}
    attach_tracebacks(calls, marks, AppLog(log, Path("/run/repo")))
    assert "app.py\", line 3" in calls[0].traceback and "main.py" not in calls[0].traceback
    assert calls[1].traceback == ""
    assert "app/main.py" in calls[2].traceback


def test_5xx_calls_begun_at_the_same_point_share_only_an_unambiguous_traceback(
        tmp_path: Path) -> None:
    """Two calls made at once (the LLM's parallel tool calls), or the next call begun before
    uvicorn wrote the previous one's traceback: one stretch of log for both."""
    log = tmp_path / "app.log"
    other = UVICORN_LOG.replace("ZeroDivisionError: division by zero",
                                "KeyError: 'name'").replace("line 57", "line 12")
    log.write_text(UVICORN_LOG + UVICORN_LOG)
    calls = [made(call_id="a"), made(call_id="b")]
    attach_tracebacks(calls, {"a": 0, "b": 0}, AppLog(log, Path("/run/repo")))
    assert all("ZeroDivisionError" in c.traceback for c in calls)  # the same error twice
    log.write_text(UVICORN_LOG + other)
    calls = [made(call_id="a"), made(call_id="b")]
    attach_tracebacks(calls, {"a": 0, "b": 0}, AppLog(log, Path("/run/repo")))
    assert [c.traceback for c in calls] == ["", ""]  # whose is whose cannot be told
    assert [t.exception for t in parse_tracebacks(UVICORN_LOG + other)] == [
        "ZeroDivisionError: division by zero", "KeyError: 'name'"]


def test_a_traceback_written_after_the_answer_is_waited_for(tmp_path: Path) -> None:
    import asyncio
    import threading

    log = tmp_path / "app.log"
    log.write_text("")
    calls = [made(call_id="a")]
    late = threading.Timer(0.5, lambda: log.write_text(UVICORN_LOG))
    late.start()
    asyncio.run(attach_logged_tracebacks(calls, {"a": 0}, AppLog(log, Path("/run/repo")),
                                         wait=30))
    late.join()
    assert "ZeroDivisionError" in calls[0].traceback
    never = [made(call_id="b")]  # an app that logs no traceback: the wait is bounded
    asyncio.run(attach_logged_tracebacks(never, {"b": 0}, AppLog(tmp_path / "none.log"),
                                         wait=0.3))
    assert never[0].traceback == ""


def test_a_5xx_names_the_apps_exception_in_every_report(tmp_path: Path) -> None:
    from runner.models import RunReport
    from runner.report import junit, markdown

    call = made(traceback=parse_traceback(UVICORN_LOG, "/run/repo").text)  # type: ignore[union-attr]
    (result,) = evaluate([CREATE], [call], {}, CHECKS)
    assert "the app raised ZeroDivisionError: division by zero (app/main.py:57 in stats)" \
        in result.reason
    report = RunReport(status="completed", repo_info=None, spec=None, results=[result])
    assert "return total / count" in markdown.render(report)
    assert "return total / count" in junit.render(report)
