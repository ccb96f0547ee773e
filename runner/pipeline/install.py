"""Stages `install` and `setup`: the app's own environment (never the runner's), with its
dependencies, then the project's setup commands in it."""

from __future__ import annotations

from pathlib import Path

from runner import environment, project_setup
from runner.models import TargetEnv
from runner.runconfig import InstallSettings


def install(settings: InstallSettings, cache_scope: str, as_of: str | None, timeout: float,
            log_path: Path) -> TargetEnv:
    """`as_of`: the commit's date, which the project's unbounded requirements resolve at."""
    return environment.prepare(
        settings.folder, python=settings.python, install=settings.install,
        install_command=settings.command, timeout=timeout, log_path=log_path, dev=settings.dev,
        python_version=settings.python_version, boundary=settings.boundary, scope=cache_scope,
        extra=settings.extra, as_of=as_of,
    )


def describe(env: TargetEnv) -> str:
    return ("existing interpreter" if not env.created
            else f"reused cached environment, {env.source}" if env.reused
            else f"new environment, {env.source}")


def set_up(env: TargetEnv, settings: InstallSettings, timeout: float, log_path: Path) -> str:
    project_setup.run_setup(env, settings.setup, dict(settings.app_env), timeout, log_path)
    return f"{len(settings.setup)} command(s)"
