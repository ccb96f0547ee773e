"""Hostile corpus cases for issue 12's limits: every limit holds, no process outlives the run, no
traceback ever (collected by tests/corpus.py `all_cases()`).

Each case writes a small app (run with the fixture environment's FastAPI) that attacks one limit:
a FIFO or a symlink in place of the discovery probe's result file, setsid daemons started by the
app (one holding the probe's stdout), a trickling `GET /` at readiness, a trickling spec URL, a
probe that crashes, and inputs that crashed the runner (NUL in a title, a lone surrogate, schemas
nested hundreds deep, 5,000 operations) or blew up openapi/mcpgen (alias bomb, `$ref` explosion).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.corpus import Case, Outcome, many_operations, pids_dir

# Cases that must end well before the whole-run limit run with one: "within --timeout + MARGIN".
LIMITED = ("--start-timeout", "20", "--call-timeout", "5", "--discovery-timeout", "30",
           "--timeout", "120")


def _app(repo: Path, body: str, prologue: str = "", config: str = "") -> None:
    """main.py: `prologue` runs at import (in the probe and in the server), then a FastAPI app
    with one working endpoint, then `body`. `record(pid)` notes a process for the harness."""
    repo.mkdir(parents=True, exist_ok=True)
    source = f'''"""A hostile app written by tests/hostile_limits.py."""

import asyncio
import os
import subprocess
import sys

from fastapi import FastAPI
from fastapi.responses import StreamingResponse

PIDS = {str(pids_dir(repo))!r}


def record(pid):
    with open(os.path.join(PIDS, "%d-%d" % (os.getpid(), pid)), "w") as handle:
        handle.write(str(pid))


def daemon(hold_output=False):
    """A setsid sleeper with an empty environment and a command line naming nothing of ours."""
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(600)"], env={{}},
        start_new_session=True, stdin=subprocess.DEVNULL,
        stdout=None if hold_output else subprocess.DEVNULL,
        stderr=None if hold_output else subprocess.DEVNULL)
    record(child.pid)


{prologue}

app = FastAPI(title="Hostile")


@app.get("/items")
def list_items() -> list[str]:
    return ["a", "b"]

{body}
'''
    (repo / "main.py").write_text(source, encoding="utf-8")
    if config:
        (repo / ".api-mcp-test.yml").write_text(config, encoding="utf-8")


def _probe_out() -> str:
    """Code that finds the probe's --out path from its own command line (empty in the server)."""
    return '''
def probe_out():
    with open("/proc/self/cmdline", "rb") as handle:
        words = handle.read().decode().split("\\0")
    return words[words.index("--out") + 1] if "--out" in words else ""
'''


def _probe_result_replaced(repo: Path, make: str) -> None:
    """The app, imported by the probe, puts what `make` makes (at OUT) where the probe's result
    goes, and exits before the probe writes one."""
    _app(repo, "", _probe_out() + f'''
OUT = probe_out()
if OUT:
    if os.path.lexists(OUT):
        os.unlink(OUT)
    {make}
    os._exit(0)
''')


def fifo_result(repo: Path) -> None:
    _probe_result_replaced(repo, "os.mkfifo(OUT)")


def symlink_result(repo: Path) -> None:
    """The result file is a link to the runner's own environment (where its secrets are)."""
    _probe_result_replaced(repo, 'os.symlink("/proc/%d/environ" % os.getppid(), OUT)')


def daemon_holding_stdout(repo: Path) -> None:
    _app(repo, "", "daemon(hold_output=True)")


def daemon_at_start(repo: Path) -> None:
    """Daemons started by the serving app (at startup and on a request), none by the probe."""
    _app(repo, '''
@app.on_event("startup")
def start_daemons():
    daemon()
    if os.fork() == 0:  # a double fork: the grandchild is nobody's child
        os.setsid()
        daemon(hold_output=True)
        os._exit(0)


@app.get("/spawn")
def spawn() -> dict:
    daemon()
    return {"spawned": True}
''')


def trickling_readiness(repo: Path) -> None:
    _app(repo, '''
@app.get("/", include_in_schema=False)
async def trickle():
    async def drops():
        while True:
            yield b"."
            await asyncio.sleep(0.5)
    return StreamingResponse(drops())
''')


def trickling_spec(repo: Path) -> None:
    _app(repo, '''
@app.get("/openapi-slow.json", include_in_schema=False)
async def trickle():
    async def drops():
        yield b'{"openapi": "3.0.0", "paths": {'
        while True:
            yield b" "
            await asyncio.sleep(0.5)
    return StreamingResponse(drops(), media_type="application/json")
''', config="spec: /openapi-slow.json\n")


def crashing_probe(repo: Path) -> None:
    _app(repo, "", _probe_out() + '''
import signal
if probe_out():
    os.kill(os.getpid(), signal.SIGSEGV)
''')


def fifo_call_log(repo: Path) -> None:
    """The serving app (the MCP server's user when sandboxed) puts a FIFO where the call log is."""
    _app(repo, '''
CALLS = os.path.join(os.path.dirname(PIDS), "out", "calls.jsonl")


@app.on_event("startup")
def swap_call_log():
    if os.path.lexists(CALLS):
        os.unlink(CALLS)
    os.mkfifo(CALLS)
''')


def ignores_sigterm(repo: Path) -> None:
    _app(repo, "", '''
import signal
signal.signal(signal.SIGTERM, signal.SIG_IGN)
''')


def floods_stdout(repo: Path) -> None:
    """50 MB on stdout while imported (in the probe and in the server)."""
    _app(repo, "", '''
for _ in range(50):
    sys.stdout.write("y" * (1 << 20))
sys.stdout.flush()
''')


def nul_title(repo: Path) -> None:
    _app(repo, 'app.title = "Todo\\x00API"\napp.description = "a\\x00b"')


def lone_surrogate(repo: Path) -> None:
    _app(repo, '''
@app.get("/notes", summary="Notes \\ud800 here", description="broken \\udfff text")
def notes() -> list[str]:
    return ["n"]
''')


def deep_schema(depth: int):
    """A spec (served by the app) whose request body schema nests `depth` objects."""

    def build(repo: Path) -> None:
        _app(repo, f'''
def _deep(depth):
    schema = {{"type": "string"}}
    for _ in range(depth):
        schema = {{"type": "object", "properties": {{"child": schema}}}}
    return schema


def _openapi():
    return {{
        "openapi": "3.0.3", "info": {{"title": "Deep", "version": "1"}},
        "paths": {{"/items": {{"get": {{"operationId": "list_items", "responses": {{"200": {{
            "description": "ok", "content": {{"application/json": {{"schema": _deep({depth})}}}}
        }}}}}}}}, "/deep": {{"post": {{"operationId": "post_deep", "requestBody": {{
            "content": {{"application/json": {{"schema": _deep({depth})}}}}}},
            "responses": {{"200": {{"description": "ok"}}}}}}}}}},
    }}


@app.post("/deep")
def post_deep() -> dict:
    return {{}}


app.openapi = _openapi
''')

    return build


def five_thousand(repo: Path) -> None:
    many_operations(repo, 5000)


def _spec_file(repo: Path, name: str, text: str) -> None:
    _app(repo, "", config=f"spec: {name}\n")
    (repo / name).write_text(text, encoding="utf-8")


def alias_bomb(repo: Path) -> None:
    """A 1 KB YAML spec whose aliases expand to 10^7 strings (kept at 10^7, not 10^9, so that a
    runner without the cap still finishes on a shared machine)."""
    lines = ['openapi: "3.0.3"', "info: {title: Bomb, version: '1'}", "x-bomb:",
             '  a: &a ["x","x","x","x","x","x","x","x","x","x"]']
    previous = "a"
    for name in "bcdefg":
        lines.append(f"  {name}: &{name} [" + ",".join(f"*{previous}" for _ in range(10)) + "]")
        previous = name
    lines.append("paths: {/items: {get: {responses: {'200': {description: ok}}}}}")
    _spec_file(repo, "openapi.yaml", "\n".join(lines) + "\n")


def config_alias_bomb(repo: Path) -> None:
    """A 350-byte .api-mcp-test.yml whose aliases expand to 10^8 strings."""
    lines, previous = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'], "a"
    for name in "bcdefgh":
        lines.append(f"{name}: &{name} [" + ",".join(f"*{previous}" for _ in range(10)) + "]")
        previous = name
    _app(repo, "", config="\n".join([*lines, f"auth: *{previous}", f"include: *{previous}"]))


def ref_explosion(repo: Path) -> None:
    """A ~3 KB spec whose `$ref`s double at each of 18 levels when resolved (2^18 leaves)."""
    schemas: dict[str, object] = {"S0": {"type": "string"}}
    for i in range(1, 19):
        schemas[f"S{i}"] = {"type": "object", "properties": {
            "a": {"$ref": f"#/components/schemas/S{i - 1}"},
            "b": {"$ref": f"#/components/schemas/S{i - 1}"}}}
    doc = {"openapi": "3.0.3", "info": {"title": "Refs", "version": "1"},
           "components": {"schemas": schemas},
           "paths": {"/items": {"post": {"operationId": "post_items", "requestBody": {"content": {
               "application/json": {"schema": {"$ref": "#/components/schemas/S18"}}}},
               "responses": {"200": {"description": "ok"}}}}}}
    _spec_file(repo, "openapi.json", json.dumps(doc))


def huge_generated_server(repo: Path) -> None:
    """A 1 MB schema shared by 250 operations: inlined into each tool, the generated server
    would be about 250 MB."""
    props = {f"field_{i:05d}_" + "x" * 100: {"type": "string", "description": "d" * 380}
             for i in range(2000)}
    operations = {f"/r{i}": {"post": {"operationId": f"op{i}", "requestBody": {"content": {
        "application/json": {"schema": {"$ref": "#/components/schemas/Big"}}}},
        "responses": {"200": {"description": "ok"}}}} for i in range(250)}
    doc = {"openapi": "3.0.3", "info": {"title": "Huge", "version": "1"}, "paths": operations,
           "components": {"schemas": {"Big": {"type": "object", "properties": props}}}}
    _spec_file(repo, "openapi.json", json.dumps(doc))


def _daemons_recorded(outcome: Outcome) -> None:
    recorded = list((outcome.workdir / "pids").iterdir())
    assert recorded, "the app recorded no daemon: the case tests nothing"


def _app_was_tested(outcome: Outcome) -> None:
    assert outcome.report is not None
    tested = [r for r in outcome.report["test_results"] if r["endpoint"] == "/items"]
    assert tested and tested[0]["outcome"] == "passed"


def _log_capped(outcome: Outcome) -> None:
    _app_was_tested(outcome)
    assert len(outcome.outputs["discovery.log"]) < 8 * 1024 * 1024


def _daemons_and_tested(outcome: Outcome) -> None:
    _daemons_recorded(outcome)
    _app_was_tested(outcome)


LIMIT_CASES = [
    Case("FIFO as the probe result file", 3, "discovery", ("regular file",), build=fifo_result,
         args=LIMITED),
    Case("symlink as the probe result file", 3, "discovery", ("regular file",),
         build=symlink_result, args=LIMITED),
    Case("setsid grandchild holding stdout", 0, None, (), build=daemon_holding_stdout,
         args=LIMITED, check=_daemons_and_tested),
    Case("setsid daemons started by the app", 0, None, (), build=daemon_at_start, args=LIMITED,
         check=_daemons_and_tested),
    Case("trickling GET / at readiness", 0, None, (), build=trickling_readiness, args=LIMITED,
         check=_app_was_tested),
    Case("trickling spec URL", 3, "discovery", ("/openapi-slow.json",), build=trickling_spec,
         args=LIMITED),
    Case("probe crashes (SIGSEGV)", 3, "discovery", ("without a result",),
         build=crashing_probe, args=LIMITED),
    # The server blocks opening its log: a clear servers failure, in time.
    # A race: when the MCP server opens its log after the app swapped it, the server does not
    # start (exit 3 [servers]); when before, the calls cannot be recorded and the endpoint is an
    # error (exit 1). Never a hang or a traceback (test_no_traceback_ever checks every case).
    Case("FIFO in place of calls.jsonl", 3, "servers", ("MCP server",), build=fifo_call_log,
         args=LIMITED, xfail="exit 1 instead when the MCP server opened its log first (a race)"),
    Case("app ignores SIGTERM", 0, None, (), build=ignores_sigterm, args=LIMITED,
         check=_app_was_tested),
    Case("50 MB on stdout at import", 0, None, (), build=floods_stdout, args=LIMITED,
         check=_log_capped),
    Case("NUL in the API title", 0, None, (), build=nul_title, args=LIMITED,
         check=_app_was_tested),
    Case("lone surrogate in a summary", 0, None, (), build=lone_surrogate, args=LIMITED,
         check=_app_was_tested),
    # Refused by the nesting cap (runner/openapi/limits.py, raised by API_MCP_TEST_MAX_SPEC_DEPTH).
    Case("schema nested 250 deep", 3, "discovery", ("levels of nesting",),
         build=deep_schema(250), args=LIMITED),
    Case("schema nested 400 deep", 3, "discovery", ("levels of nesting",),
         build=deep_schema(400), args=LIMITED),
    # Over the operations cap (1,000 by default): refused in discovery, before any expansion.
    Case("5,000 operations", 3, "discovery", ("5,000 operations", "API_MCP_TEST_MAX_OPERATIONS"),
         build=five_thousand,
         args=("--start-timeout", "60", "--call-timeout", "10", "--discovery-timeout", "150",
               "--max-tool-calls", "50", "--timeout", "180")),
    # Allowed by the workflow author, with a whole-run limit shorter than the run needs: the
    # limit falls in whichever stage the machine's load puts there (the probe, mcpgen, the
    # MCP server's start with 5,000 tools, the agent), and the run still ends in time: within
    # --timeout + MARGIN here, a few seconds in the benchmark's figures.
    Case("5,000 operations allowed, 40 s whole-run limit", 3, "discovery", (),
         build=five_thousand, env=(("API_MCP_TEST_MAX_OPERATIONS", "6000"),),
         also=("mcpgen", "servers", "agent", "checks"),
         args=("--start-timeout", "60", "--call-timeout", "10", "--discovery-timeout", "150",
               "--max-tool-calls", "50", "--timeout", "40")),
    # As the action: a failed stage still publishes, and fail-on: never still succeeds.
    Case("probe crashes, as the action with fail-on never", 0, "discovery",
         ("without a result",), build=crashing_probe, action=True,
         inputs=(("fail-on", "never"), ("timeout-minutes", "2"))),
    Case("setsid daemons started by the app, as the action", 0, None, (), build=daemon_at_start,
         action=True, inputs=(("timeout-minutes", "2"),), check=_daemons_and_tested),
    Case("YAML alias bomb in a 1 KB spec", 3, "discovery", ("alias",), build=alias_bomb,
         args=LIMITED),
    Case("$ref explosion", 3, "discovery", ("$ref",), build=ref_explosion, args=LIMITED),
    # Before its cap: past --timeout by minutes and 1 GB, the backstop unable to run (the
    # error message quoting the expanded value held the interpreter).
    Case("YAML alias bomb in the config", 2, "config", ("aliases",), build=config_alias_bomb,
         args=LIMITED),
    # Refused before anything is generated: the spec's inlined size is capped.
    Case("generated server of hundreds of MB", 3, "discovery", ("$refs are inlined",),
         build=huge_generated_server, args=LIMITED),
]
