"""Helpers the end-to-end tests share: running the CLI as a process, finding leftover processes."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "examples" / "todo-api"
FIXTURES = REPO / "tests" / "fixtures"


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


def run_cli(*args: str, timeout: float = 180, env: dict[str, str] | None = None,
            cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "runner.cli", *args],
        capture_output=True, text=True, timeout=timeout, cwd=cwd or REPO, check=False,
        env={**os.environ, **(env or {})},
    )
