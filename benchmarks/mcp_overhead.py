"""How much an MCP tool call adds to a plain HTTP call, for our generated server and FastMCP's own.

    .venv/bin/python benchmarks/mcp_overhead.py [--calls 500] [--warmup 50]

Starts the example Todo API with uvicorn on a free port, creates one todo, then times the same
request (`GET /todos/{id}`) along each path below. The paths take turns call by call (one round
calls each path once, in a rotating order), so a busy machine slows them all alike:

  direct                  httpx.AsyncClient straight to the API
  stdio floor             a bare child process that reads a JSON-RPC line from its stdin, makes the
                          same httpx call and writes one line back: no MCP library at all, the
                          least any stdio tool can cost
  generated               our generated mcp_server.py over stdio, connected the way the
                          deterministic agent connects (mcp.ClientSession, the agent's own code)
  from_openapi            FastMCP.from_openapi(spec) run as a stdio child, connected the same way
  ... , fastmcp.Client    both servers again through fastmcp.Client (more layers, same session)
  ... , in-process        both servers in this process through fastmcp.Client (no pipe)
  ... , N tools           with --wide N (default 500): a FastAPI app with N operations started
                          beside the example, the same kind of call (`GET /r0/{item_id}`) direct,
                          through our generated server and through from_openapi, in the same
                          rotation: the cost of a call must not grow with the number of tools

The call log of the generated server is off unless --call-log is given. Prints p50/p95 in ms,
the ratio of each path to its direct call, and what each costs above it; the targets are
generated <= 1.5x direct at p50, no slower than from_openapi, and with N tools within 2x the
11-tool ratio.
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from contextlib import AsyncExitStack
from pathlib import Path
from types import ModuleType
from typing import Any

import httpx
import httpx2
from fastmcp import Client, FastMCP
from fastmcp.client.transports import StdioTransport

REPO = Path(__file__).resolve().parents[1]
TODO_APP_DIR = REPO / "examples" / "todo-api"
sys.path.insert(0, str(REPO))

from apps import wide_app  # benchmarks/apps.py

from runner.agent.calllog import CallLog
from runner.agent.deterministic import DeterministicAgent
from runner.agent.protocol import AgentSetup
from runner.mcpgen import MCPGenerator, generate_mcp_wrapper, save_wrapper
from runner.models import ApiSpec
from runner.openapi import endpoints_from_openapi
from runner.servers import McpCommand

# A stdio server running FastMCP.from_openapi on a spec file, for the like-for-like comparison.
FROM_OPENAPI_SERVER = """\
import json, sys
import httpx2
from fastmcp import FastMCP
spec = json.load(open(sys.argv[1]))
client = httpx2.AsyncClient(base_url=sys.argv[2], timeout=30)
FastMCP.from_openapi(spec, client=client, name="from_openapi").run(show_banner=False)
"""

# The stdio floor: JSON-RPC lines over a pipe and the same httpx call, no MCP library.
FLOOR_SERVER = """import asyncio, json, sys
import httpx

async def main():
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out, _ = await loop.connect_write_pipe(asyncio.Protocol, sys.stdout)
    async with httpx.AsyncClient(base_url=sys.argv[1]) as client:
        while line := await reader.readline():
            request = json.loads(line)
            response = await client.get(request["params"]["path"])
            result = {"status_code": response.status_code, "body": response.json()}
            reply = {"jsonrpc": "2.0", "id": request["id"], "result": result}
            out.write(json.dumps(reply).encode() + b"\\n")

asyncio.run(main())
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_api(app_dir: Path = TODO_APP_DIR, ready: str = "/health"
              ) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "main:app", "--app-dir", str(app_dir)]
        + ["--port", str(port), "--log-level", "warning", "--no-access-log"],
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            httpx.get(base_url + ready, timeout=5).raise_for_status()
            return proc, base_url
        except httpx.HTTPError:
            if proc.poll() is not None or time.monotonic() > deadline:
                proc.kill()
                raise SystemExit("the example API did not start") from None
            time.sleep(0.1)


def todo_openapi() -> dict:
    module_spec = importlib.util.spec_from_file_location("todo_main", TODO_APP_DIR / "main.py")
    assert module_spec and module_spec.loader
    module = importlib.util.module_from_spec(module_spec)
    sys.modules["todo_main"] = module
    module_spec.loader.exec_module(module)
    return module.app.openapi()


def load_wrapper(path: Path, base_url: str) -> ModuleType:
    """Import the generated server in this process (its settings come from the environment)."""
    os.environ["API_BASE_URL"] = base_url
    os.environ.pop("API_MCP_TEST_CALL_LOG", None)
    sys.path.insert(0, str(path.parent))  # its runtime (mcp_runtime/) sits beside it
    module_spec = importlib.util.spec_from_file_location("generated_mcp_server", path)
    assert module_spec and module_spec.loader
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


Call = Callable[[], Awaitable[object]]


async def measure(paths: dict[str, Call], calls: int, warmup: int) -> dict[str, list[float]]:
    """Milliseconds per call of each path; the paths take turns, in a rotating order."""
    names = list(paths)
    times: dict[str, list[float]] = {name: [] for name in names}
    for round_number in range(warmup + calls):
        shift = round_number % len(names)
        for name in names[shift:] + names[:shift]:
            start = time.perf_counter()
            await paths[name]()
            if round_number >= warmup:
                times[name].append((time.perf_counter() - start) * 1000)
    return times


def percentile(times: list[float], fraction: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def stdio_floor(stack: AsyncExitStack, script: Path, base_url: str) -> Call:
    """A call through the floor server (see FLOOR_SERVER)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(script), base_url,
        stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
    )

    async def stop() -> None:
        assert proc.stdin is not None
        proc.stdin.close()
        await proc.wait()

    stack.push_async_callback(stop)
    ids = iter(range(1, 1 << 30))

    def call(path: str) -> Call:
        async def send() -> None:
            assert proc.stdin is not None and proc.stdout is not None
            request = {"jsonrpc": "2.0", "id": next(ids), "method": "tools/call",
                       "params": {"path": path}}
            proc.stdin.write(json.dumps(request).encode() + b"\n")
            reply = json.loads(await proc.stdout.readline())
            assert reply["result"]["status_code"] == 200

        return send

    return call  # type: ignore[return-value]


async def agent_session(stack: AsyncExitStack, command: McpCommand, spec: ApiSpec,
                        workdir: Path) -> Any:
    """The MCP session the deterministic agent opens for `command` (its own connect code)."""
    agent = DeterministicAgent(AgentSetup(command, spec, {}, CallLog(workdir / "unused.jsonl")))
    await agent.connect()
    stack.push_async_callback(agent.close)
    return agent.session


def api_spec(doc: dict) -> ApiSpec:
    return ApiSpec(framework="fastapi", app_locator="main:app", openapi=doc,
                   endpoints=endpoints_from_openapi(doc), title=doc["info"]["title"],
                   version=doc["info"]["version"])


def mcp_commands(spec: ApiSpec, base_url: str, folder: Path, call_log: bool
                 ) -> tuple[McpCommand, McpCommand]:
    """Our generated server and a from_openapi server for `spec`, as stdio commands."""
    wrapper = save_wrapper(generate_mcp_wrapper(spec), folder)
    env = {"API_BASE_URL": base_url}
    if call_log:
        env["API_MCP_TEST_CALL_LOG"] = str(folder / "calls.jsonl")
    spec_file = folder / "openapi.json"
    spec_file.write_text(json.dumps(spec.openapi))
    peer_script = folder / "from_openapi_server.py"
    peer_script.write_text(FROM_OPENAPI_SERVER)
    return (McpCommand(sys.executable, [str(wrapper)], env),
            McpCommand(sys.executable, [str(peer_script), str(spec_file), base_url]))


def session_call(session: Any, tool: str, arguments: dict[str, Any]) -> Call:
    async def call() -> None:
        result = await session.call_tool(tool, arguments)
        assert not result.is_error
    return call


def client_call(client: Client, tool: str, arguments: dict[str, Any]) -> Call:
    async def call() -> None:
        await client.call_tool(tool, arguments)  # raises on a tool error
    return call


def direct_get(client: httpx.AsyncClient, path: str) -> Call:
    async def call() -> None:
        assert (await client.get(path)).status_code == 200
    return call


async def wide_paths(stack: AsyncExitStack, base_url: str, workdir: Path,
                     args: argparse.Namespace) -> dict[str, Call]:
    """The same read, direct and through both servers, on the API with --wide operations."""
    folder = workdir / "wide"
    folder.mkdir()
    direct = await stack.enter_async_context(httpx.AsyncClient(base_url=base_url, timeout=60))
    doc = (await direct.get("/openapi.json")).json()
    spec = api_spec(doc)
    ours, peer = mcp_commands(spec, base_url, folder, args.call_log)
    tool = MCPGenerator().tool_names(spec)["GET /r0/{item_id}"]
    peer_tool = doc["paths"]["/r0/{item_id}"]["get"]["operationId"].split("__")[0]
    arguments = {"item_id": 1}
    tools = len(spec.endpoints)
    return {
        f"direct httpx, {tools}-op API": direct_get(direct, "/r0/1"),
        f"generated, stdio, {tools} tools": session_call(
            await agent_session(stack, ours, spec, folder), tool, arguments),
        f"from_openapi, stdio, {tools} tools": session_call(
            await agent_session(stack, peer, spec, folder), peer_tool, arguments),
    }


async def run(base_url: str, doc: dict, workdir: Path, args: argparse.Namespace,
              wide_url: str | None) -> dict:
    spec = api_spec(doc)
    ours_command, peer_command = mcp_commands(spec, base_url, workdir, args.call_log)
    floor_script = workdir / "floor_server.py"
    floor_script.write_text(FLOOR_SERVER)
    peer_tool = "get_todo_todos"  # FastMCP cuts operationIds at the first "__"

    async with AsyncExitStack() as stack:
        direct = await stack.enter_async_context(httpx.AsyncClient(base_url=base_url))
        todo_id = (await direct.post("/todos", json={"title": "bench"})).json()["id"]
        path = f"/todos/{todo_id}"
        arguments = {"todo_id": todo_id}
        ours = await agent_session(stack, ours_command, spec, workdir)
        peer = await agent_session(stack, peer_command, spec, workdir)
        ours_client = await stack.enter_async_context(Client(StdioTransport(
            command=ours_command.command, args=ours_command.args, env=ours_command.env,
            keep_alive=False)))
        peer_client = await stack.enter_async_context(Client(StdioTransport(
            command=peer_command.command, args=peer_command.args, keep_alive=False)))
        ours_in_process = await stack.enter_async_context(Client(load_wrapper(
            Path(ours_command.args[0]), base_url).mcp))
        peer_in_process = await stack.enter_async_context(Client(FastMCP.from_openapi(
            doc, client=httpx2.AsyncClient(base_url=base_url, timeout=30), name="from_openapi")))
        floor = await stdio_floor(stack, floor_script, base_url)

        paths = {
            "direct httpx": direct_get(direct, path),
            "stdio floor (no MCP)": floor(path),
            "generated, stdio": session_call(ours, "get_todo", arguments),
            "from_openapi, stdio": session_call(peer, peer_tool, arguments),
            "generated, fastmcp.Client": client_call(ours_client, "get_todo", arguments),
            "from_openapi, fastmcp.Client": client_call(peer_client, peer_tool, arguments),
            "generated, in-process": client_call(ours_in_process, "get_todo", arguments),
            "from_openapi, in-process": client_call(peer_in_process, peer_tool, arguments),
        }
        if wide_url:
            paths.update(await wide_paths(stack, wide_url, workdir, args))
        return await measure(paths, args.calls, args.warmup)


def report(results: dict[str, list[float]], calls: int) -> None:
    p50 = {name: statistics.median(times) for name, times in results.items()}
    direct = p50["direct httpx"]
    wide_direct = next((v for k, v in p50.items() if k.startswith("direct httpx,")), direct)
    print(f"\n{calls} calls per path, taking turns (after warm-up), ms; the 11-tool rows call "
          "GET /todos/{id},\nthe rows with N tools GET /r0/{id} on the N-operation API and are "
          "compared with its own direct call\n")
    print(f"{'path':36} {'p50':>7} {'p95':>7} {'p50/direct':>11} {'above direct':>13}")
    for name, times in results.items():
        base = wide_direct if name.endswith((" tools", "-op API")) else direct
        print(f"{name:36} {p50[name]:7.2f} {percentile(times, 0.95):7.2f} "
              f"{p50[name] / base:10.2f}x {p50[name] - base:+12.2f}")
    ours = p50["generated, stdio"]
    peer = p50["from_openapi, stdio"]
    floor = p50["stdio floor (no MCP)"]
    print("\nstdio rows connect as the deterministic agent does (mcp.ClientSession over stdio);")
    print("the stdio floor is a pipe round trip to a bare child making the same call.")
    print(f"generated <= 1.5x direct at p50: {'met' if ours <= 1.5 * direct else 'NOT met'} "
          f"({ours / direct:.2f}x; the stdio floor alone is {floor / direct:.2f}x)")
    print(f"generated no slower than from_openapi over stdio: "
          f"{'met' if ours <= peer else 'NOT met'} ({ours:.2f} vs {peer:.2f} ms)")
    for name in (k for k in p50 if k.endswith(" tools")):
        small = p50[name.rsplit(",", 1)[0]] / direct
        ratio = p50[name] / wide_direct
        print(f"{name}: {ratio:.2f}x direct against {small:.2f}x with 11 tools -> "
              f"{ratio / small:.2f} ({'within' if ratio <= 2 * small else 'NOT within'} 2x)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--wide", type=int, default=500,
                        help="operations of the wide API (0: no wide rows)")
    parser.add_argument("--call-log", action="store_true", help="measure with the JSONL log on")
    args = parser.parse_args()
    doc = todo_openapi()
    procs = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            proc, base_url = start_api()
            procs.append(proc)
            wide_url = None
            if args.wide:
                proc, wide_url = start_api(wide_app(Path(tmp) / "wide-app", args.wide), "/r0")
                procs.append(proc)
            results = asyncio.run(run(base_url, doc, Path(tmp), args, wide_url))
        report(results, args.calls)
    finally:
        for proc in procs:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()


if __name__ == "__main__":
    main()
