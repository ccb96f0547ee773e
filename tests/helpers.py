"""Helpers the end-to-end tests share: running the CLI as a process, finding leftover processes."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
import tomllib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "todo-api"
FIXTURES = REPO / "tests" / "fixtures"


@dataclass(frozen=True)
class FixtureApi:
    """What a fixture API is (tests/fixtures/apis.toml says why each fact is there)."""

    fixture: str  # its folder in tests/fixtures
    framework: str
    spec_source: str
    operations: frozenset[str]  # "METHOD /path" of every route
    sqlite_file: str | None = None  # the project's own database file (must stay untouched)
    warned: frozenset[str] = frozenset()  # documented 4xx to a guessed call


FIXTURE_APIS = {
    name: FixtureApi(name, facts["framework"], facts["spec_source"],
                     frozenset(facts["operations"]), facts.get("sqlite_file"),
                     frozenset(facts.get("warned", ())))
    for name, facts in tomllib.loads((FIXTURES / "apis.toml").read_text()).items()
}


def processes_mentioning(text: str) -> list[str]:
    """Command lines of live processes that mention `text` (a test's own temp folder)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
            state = next((line for line in (entry / "status").read_text().splitlines()
                          if line.startswith("State:")), "")
        except OSError:
            continue
        if text in cmdline and "zombie" not in state:
            found.append(f"{entry.name}: {cmdline.strip()}")
    return found


@contextmanager
def http_server(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """`handler` answering on a free loopback port, in threads of this process; yields the
    base URL."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


@contextmanager
def served_in_thread(app: Any, **config: Any) -> Iterator[str]:
    """The ASGI `app` served by uvicorn in a thread of this process on a free loopback port
    (`config`: more uvicorn.Config settings); yields its base URL."""
    import uvicorn

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="off", **config))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        while not server.started:
            time.sleep(0.02)
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


def results_by_key(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """A report.json's test results by "METHOD /path"."""
    return {f"{r['method']} {r['endpoint']}": r for r in report["test_results"]}


def run_cli(*args: str, timeout: float = 180, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runner.cli", *args],
        capture_output=True, text=True, timeout=timeout, cwd=cwd or REPO, check=False,
        env={**os.environ, **(env or {})},
    )
