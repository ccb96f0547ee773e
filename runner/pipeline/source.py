"""Stage `repo`: the code to test, as a run copy in the workspace, and the project's settings.

A URL is cloned (at a branch, a pull request's head or a commit); a folder is copied, so that
importing the app never writes into the user's files. The project's `.api-mcp-test.yml` is read
inside the copy (it is the repository's, untrusted) under the explicit inputs
(runner/config/build.py).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, replace
from pathlib import Path

from runner import envcache, sandbox
from runner.config import apply_project_config
from runner.errors import RunnerError
from runner.models import RepoInfo, RunConfig
from runner.pipeline.choices import check_agent_choice, check_configured_scenarios
from runner.repo import clone, commit_date, read_repo_info, run_copy, working_folder


@dataclass(frozen=True)
class Source:
    """The run copy of the code and the settings that apply to it."""

    config: RunConfig  # the project's settings applied; repo_path: the app's folder in the copy
    info: RepoInfo
    copy: Path  # the run copy's root
    origin: Path  # the app's folder in the git repository the copy came from (for the base)
    cache_scope: str  # the environment cache's trust domain (runner/envcache.py)
    as_of: str | None  # the commit's date (the installs resolve as of it), None outside git
    shown_root: str  # the folder as the user knows it, for messages
    note: str  # for the stage's progress line


def check_out(config: RunConfig, workspace: Path, clone_timeout: float) -> Source:
    # The runner's own Python runs the MCP server, as the sandbox user when root.
    sandbox.require_reachable(Path(sys.executable), "repo",
                            "the runner's Python, which runs the MCP server", execute=True)
    sandbox.require_reachable(workspace, "repo", "the run's workspace (see --workspace-root)")
    copy = workspace / "repo"
    config_root = copy
    # Messages name the folder as the user knows it, never the run's copy.
    shown_root = "/".join(filter(None, (config.repo_url or str(config.repo_path),
                                        config.working_directory)))
    if config.repo_url:
        info = clone(config.repo_url, copy, branch=config.branch, pr_number=config.pr_number,
                     commit=config.commit, token=config.token, timeout=clone_timeout)
        sandbox.hand_over(copy)
        copied = ""
    else:
        root = config_root = config.repo_path.resolve()
        if not root.is_dir():
            raise RunnerError("repo", f"{config.repo_path} is not a folder.",
                              "Give the path of the API's repository (or a subfolder of it), "
                              "or a URL to clone.")
        info = read_repo_info(working_folder(root, config.working_directory))
        began = time.monotonic()
        run_copy(root, copy)
        copied = f"copied in {time.monotonic() - began:.2f}s"
    # Every later stage works on the copy; source paths in reports are relative to it, so they
    # name the user's files.
    repo = working_folder(copy, config.working_directory)
    # The project's own settings (.api-mcp-test.yml), under the explicit inputs.
    applied = apply_project_config(replace(config, repo_path=repo), boundary=copy)
    check_configured_scenarios(applied)
    check_agent_choice(applied)
    origin = (copy if config.repo_url else config_root) / applied.repo_path.relative_to(copy)
    note = " ".join(filter(None, (
        info.commit[:12] if info.commit else "",
        f"PR #{info.pr_number}" if info.pr_number else info.branch or "", copied)))
    scope = applied.cache_scope or envcache.scope_for(
        config.repo_url, config.pr_number, config.branch, config.commit, config_root)
    return Source(config=applied, info=info, copy=copy, origin=origin, cache_scope=scope,
                  as_of=commit_date(config_root), shown_root=shown_root, note=note)
