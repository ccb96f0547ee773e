"""The repo stage: what is being tested (path, git facts) and its dependencies."""

from __future__ import annotations

import asyncio
import shutil
import subprocess
import tempfile
from pathlib import Path

from runner import environment
from runner.models import RepoInfo, TargetEnv, Timeouts


def _git(path: Path, *args: str) -> str | None:
    try:
        out = subprocess.run(["git", "-C", str(path), *args], capture_output=True, text=True,
                             timeout=10, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def read_repo_info(path: Path) -> RepoInfo:
    """Git facts when `path` is inside a work tree; just the path otherwise."""
    info = RepoInfo(path=str(path))
    if _git(path, "rev-parse", "--is-inside-work-tree") != "true":
        return info
    info.commit = _git(path, "rev-parse", "HEAD")
    branch = _git(path, "rev-parse", "--abbrev-ref", "HEAD")
    info.branch = branch if branch and branch != "HEAD" else None
    info.message = _git(path, "log", "-1", "--format=%s")
    info.author = _git(path, "log", "-1", "--format=%an")
    info.remote = _git(path, "remote", "get-url", "origin")
    return info


class RepoManager:
    """Repository handling with the API the seed's users wrote code against."""

    def __init__(self, timeouts: Timeouts | None = None) -> None:
        self.timeouts = timeouts or Timeouts()

    async def get_repo_info(self, path: str | Path) -> RepoInfo:
        return await asyncio.to_thread(read_repo_info, Path(path))

    async def install_dependencies(
        self, path: str | Path, python: str | None = None, install_command: str | None = None,
        log_path: Path | None = None,
    ) -> TargetEnv:
        repo = Path(path)
        return await asyncio.to_thread(
            environment.prepare, repo, python=python, install=True,
            install_command=install_command, timeout=self.timeouts.install,
            log_path=log_path or Path(tempfile.gettempdir()) / "api-mcp-test-install.log",
        )

    def cleanup(self, path: str | Path) -> None:
        shutil.rmtree(path, ignore_errors=True)
