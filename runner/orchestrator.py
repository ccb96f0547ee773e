"""The names users wrote code against, as one thin facade over the pipeline (runner/pipeline/).

`DynamicBackendOrchestrator.test_local` / `test_repo` return the JSON result dict; `run` returns
the typed `RunReport`. `RepoManager`, `APIDiscoveryService`, `MCPGenerator` and
`DynamicServerManager` are the stage helpers of the same names. New code calls
`runner.pipeline.run_pipeline`.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from runner.config import build_config
from runner.discovery import APIDiscoveryService
from runner.mcpgen import MCPGenerator
from runner.models import RunConfig, RunReport
from runner.pipeline import run_pipeline
from runner.pipeline.driver import Progress, RunInterrupted, cancel_on_signals
from runner.pipeline.generate import SOURCE_LIMIT, compiles
from runner.repo import RepoManager
from runner.report import result
from runner.servers import DynamicServerManager

__all__ = [
    "SOURCE_LIMIT",
    "APIDiscoveryService",
    "DynamicBackendOrchestrator",
    "DynamicServerManager",
    "MCPGenerator",
    "RepoManager",
    "RunInterrupted",
    "cancel_on_signals",
    "compiles",
]


class DynamicBackendOrchestrator:
    """Tests an API end to end; `test_local` / `test_repo` return the JSON result dict."""

    def __init__(self, config: RunConfig | None = None, progress: Progress | None = None) -> None:
        self.config = config
        self.progress = progress or (lambda line: None)

    async def test_local(
        self, api_path: str | Path, app_module: str | None = None,
        test_suite: str | None = None, **options: Any,
    ) -> dict[str, Any]:
        """Test the API in `api_path`. `options` are RunConfig fields; they, `app_module` and
        `test_suite` (smoke when left out) override the project's config file, and a keyword
        left None is not given."""
        config = build_config({**options, "repo_path": Path(api_path), "app": app_module,
                               "suite": test_suite}, base=self.config)
        report = await asyncio.to_thread(self.run, config)
        return result.to_dict(report)

    async def test_repo(
        self, repo_url: str, branch: str | None = None, pr_number: int | None = None,
        commit: str | None = None, app_module: str | None = None, test_suite: str | None = None,
        **options: Any,
    ) -> dict[str, Any]:
        """Clone `repo_url` (at a branch, a pull request's head or a commit) into the run's
        workspace and test it; the same result dict as `test_local`. The token for a private
        repository defaults to $GITHUB_TOKEN."""
        options.setdefault("token", os.environ.get("GITHUB_TOKEN") or None)
        return await self.test_local(Path("."), app_module=app_module, test_suite=test_suite,
                                     repo_url=repo_url, branch=branch, pr_number=pr_number,
                                     commit=commit, **options)

    def run(self, config: RunConfig) -> RunReport:
        return run_pipeline(config, self.progress).report
