"""git on a work tree the run did not create: trust exactly that tree (it may belong to another
user, as the checkout does in the action) and take no optional locks (a read never writes
`.git/index`)."""

from __future__ import annotations

import subprocess
from pathlib import Path


def command(root: Path, *args: str) -> list[str]:
    return ["git", "--no-optional-locks", "-c", f"safe.directory={root}", "-C", str(root), *args]


def run(root: Path, *args: str, timeout: float,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """git's result, whatever its exit status; `subprocess.TimeoutExpired` past `timeout`."""
    return subprocess.run(command(root, *args), capture_output=True, timeout=timeout,
                          check=False, text=True, stdin=subprocess.DEVNULL, env=env)


def output(root: Path, *args: str, timeout: float = 10) -> str | None:
    """git's stripped output, or None when it failed, timed out or is not installed."""
    try:
        done = run(root, *args, timeout=timeout)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None
