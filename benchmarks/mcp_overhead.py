"""How much an MCP tool call adds to a plain HTTP call, for our generated server and FastMCP's own.

    .venv/bin/python benchmarks/mcp_overhead.py [--calls 500] [--warmup 50]

Starts the example Todo API with uvicorn on a free port, creates one todo, then times the same
request (`GET /todos/{id}`) many times, one path after another:

  direct        httpx.AsyncClient straight to the API
  generated     our generated mcp_server.py over stdio, through a fastmcp.Client
  generated     the same module imported and called in-process (no stdio)
  from_openapi  FastMCP.from_openapi(spec, client=httpx2.AsyncClient(...)), in-process Client
  from_openapi  the same server run as a stdio child (the fair comparison with ours)

The call log of the generated server is off unless --call-log is given. Prints p50/p95 in ms and
the ratio of each path to direct; the target is generated <= 1.5x direct at p50 and no slower
than from_openapi over stdio.
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
from pathlib import Path
from types import ModuleType

import httpx
import httpx2
from fastmcp import Client, FastMCP
from fastmcp.client.transports import StdioTransport

REPO = Path(__file__).resolve().parents[1]
TODO_APP_DIR = REPO / "examples" / "todo-api"
sys.path.insert(0, str(REPO))

from runner.discovery.spec import endpoints_from_openapi
from runner.mcpgen import generate_mcp_wrapper, save_wrapper
from runner.models import ApiSpec

# A stdio server running FastMCP.from_openapi on a spec file, for the like-for-like comparison.
FROM_OPENAPI_SERVER = """\
import json, sys
import httpx2
from fastmcp import FastMCP
spec = json.load(open(sys.argv[1]))
client = httpx2.AsyncClient(base_url=sys.argv[2], timeout=30)
FastMCP.from_openapi(spec, client=client, name="from_openapi").run(show_banner=False)
"""


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def start_api() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "main:app", "--app-dir", str(TODO_APP_DIR)]
        + ["--port", str(port), "--log-level", "warning", "--no-access-log"],
    )
    base_url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 30
    while True:
        try:
            httpx.get(base_url + "/health", timeout=1)
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
    module_spec = importlib.util.spec_from_file_location("generated_mcp_server", path)
    assert module_spec and module_spec.loader
    module = importlib.util.module_from_spec(module_spec)
    module_spec.loader.exec_module(module)
    return module


async def measure(call: Callable[[], Awaitable[object]], calls: int, warmup: int) -> list[float]:
    for _ in range(warmup):
        await call()
    times = []
    for _ in range(calls):
        start = time.perf_counter()
        await call()
        times.append((time.perf_counter() - start) * 1000)
    return times


def percentile(times: list[float], fraction: float) -> float:
    ordered = sorted(times)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def run(base_url: str, doc: dict, workdir: Path, args: argparse.Namespace) -> dict:
    results: dict[str, list[float]] = {}
    async with httpx.AsyncClient(base_url=base_url) as direct:
        created = (await direct.post("/todos", json={"title": "bench"})).json()
        todo_id = created["id"]

        async def direct_call() -> None:
            response = await direct.get(f"/todos/{todo_id}")
            assert response.status_code == 200

        results["direct httpx"] = await measure(direct_call, args.calls, args.warmup)

    spec = ApiSpec(
        framework="fastapi",
        app_locator="main:app",
        openapi=doc,
        endpoints=endpoints_from_openapi(doc),
        title=doc["info"]["title"],
        version=doc["info"]["version"],
    )
    wrapper = save_wrapper(generate_mcp_wrapper(spec), workdir)
    env = {"API_BASE_URL": base_url}
    if args.call_log:
        env["API_MCP_TEST_CALL_LOG"] = str(workdir / "calls.jsonl")
    ours = Client(
        StdioTransport(command=sys.executable, args=[str(wrapper)], env=env, keep_alive=False)
    )
    async with ours:

        async def ours_call() -> None:
            result = await ours.call_tool("get_todo", {"todo_id": todo_id})
            assert result.structured_content["status_code"] == 200

        results["generated, stdio"] = await measure(ours_call, args.calls, args.warmup)

    module = load_wrapper(wrapper, base_url)
    async with Client(module.mcp) as ours_in_process:

        async def ours_in_process_call() -> None:
            result = await ours_in_process.call_tool("get_todo", {"todo_id": todo_id})
            assert result.structured_content["status_code"] == 200

        results["generated, in-process"] = await measure(
            ours_in_process_call, args.calls, args.warmup
        )

    peer_tool = "get_todo_todos"  # FastMCP cuts operationIds at the first "__"
    peer_server = FastMCP.from_openapi(
        doc, client=httpx2.AsyncClient(base_url=base_url, timeout=30), name="from_openapi"
    )
    async with Client(peer_server) as peer:

        async def peer_call() -> None:
            result = await peer.call_tool(peer_tool, {"todo_id": todo_id})
            assert not result.is_error

        results["from_openapi, in-process"] = await measure(peer_call, args.calls, args.warmup)

    spec_file = workdir / "openapi.json"
    spec_file.write_text(json.dumps(doc))
    peer_script = workdir / "from_openapi_server.py"
    peer_script.write_text(FROM_OPENAPI_SERVER)
    peer_stdio = Client(
        StdioTransport(
            command=sys.executable,
            args=[str(peer_script), str(spec_file), base_url],
            keep_alive=False,
        )
    )
    async with peer_stdio:

        async def peer_stdio_call() -> None:
            result = await peer_stdio.call_tool(peer_tool, {"todo_id": todo_id})
            assert not result.is_error

        results["from_openapi, stdio"] = await measure(peer_stdio_call, args.calls, args.warmup)
    return results


def report(results: dict[str, list[float]], calls: int) -> None:
    direct = statistics.median(results["direct httpx"])
    print(f"\n{calls} calls of GET /todos/{{id}} per path (after warm-up), milliseconds\n")
    print(f"{'path':28} {'p50':>8} {'p95':>8} {'p50/direct':>11}")
    for name, times in results.items():
        p50 = statistics.median(times)
        p95 = percentile(times, 0.95)
        print(f"{name:28} {p50:8.2f} {p95:8.2f} {p50 / direct:10.2f}x")
    ours = statistics.median(results["generated, stdio"])
    peer = statistics.median(results["from_openapi, stdio"])
    peer_in_process = statistics.median(results["from_openapi, in-process"])
    ours_in_process = statistics.median(results["generated, in-process"])
    print("\n(from_openapi, in-process skips the stdio pipe and JSON-RPC framing entirely.)")
    print(f"generated <= 1.5x direct at p50: {'met' if ours <= 1.5 * direct else 'NOT met'}")
    print(
        "generated no slower than from_openapi over stdio: "
        f"{'met' if ours <= peer else 'NOT met'} ({ours:.2f} vs {peer:.2f} ms); "
        f"in-process: {'met' if ours_in_process <= peer_in_process else 'NOT met'} "
        f"({ours_in_process:.2f} vs {peer_in_process:.2f} ms)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--calls", type=int, default=500)
    parser.add_argument("--warmup", type=int, default=50)
    parser.add_argument("--call-log", action="store_true", help="measure with the JSONL log on")
    args = parser.parse_args()
    doc = todo_openapi()
    proc, base_url = start_api()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            results = asyncio.run(run(base_url, doc, Path(tmp), args))
        report(results, args.calls)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()


if __name__ == "__main__":
    main()
