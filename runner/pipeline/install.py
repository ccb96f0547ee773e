"""Stages `install` and `setup`: the app's own environment (never the runner's), with its
dependencies, then the project's setup commands in it."""

from __future__ import annotations

from pathlib import Path

from runner import envcache, environment
from runner.models import RunConfig, TargetEnv
from runner.repo import commit_date


def install(config: RunConfig, trust_root: Path, timeout: float, log_path: Path) -> TargetEnv:
    return environment.prepare(
        config.repo_path, python=config.python, install=config.install,
        install_command=config.install_command, timeout=timeout, log_path=log_path,
        dev=config.dev_requirements, python_version=config.python_version,
        boundary=config.boundary,
        scope=config.cache_scope or envcache.scope_for(
            config.repo_url, config.pr_number, config.branch, config.commit, trust_root),
        extra=config.install_extra, as_of=commit_date(trust_root),
    )


def describe(env: TargetEnv) -> str:
    return ("existing interpreter" if not env.created
            else f"reused cached environment, {env.source}" if env.reused
            else f"new environment, {env.source}")


def set_up(env: TargetEnv, config: RunConfig, timeout: float, log_path: Path) -> str:
    environment.run_setup(env, config.setup, dict(config.app_env), timeout, log_path)
    return f"{len(config.setup)} command(s)"
