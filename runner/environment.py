"""The target environment: the API under test gets its own virtualenv, never the runner's.

Environments are cached by a hash of the dependency files, the interpreter and the install
command, so a re-run with unchanged dependencies reuses the environment in well under a second.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from runner import procs, pythons
from runner.errors import RunnerError, UsageError
from runner.models import TargetEnv

# Only what serving needs goes into the user's environment from our side.
SERVING_PACKAGES = ("uvicorn",)
DEPENDENCY_FILES = (
    "requirements.txt",
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "Pipfile",
    "Pipfile.lock",
    "poetry.lock",
    "uv.lock",
)
_READY_MARKER = ".api-mcp-test-ready"


def cache_root() -> Path:
    configured = os.environ.get("API_MCP_TEST_CACHE")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "api-mcp-test"


def uv_binary() -> str | None:
    """uv ships with the runner (PyPI `uv`); fall back to one on PATH."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError):
        return shutil.which("uv")


def base_interpreter(repo: Path, requested: str | None = None,
                     log_path: Path | None = None) -> str:
    """The interpreter a new environment is built from: the one the project asks for (config
    file, .python-version, requires-python, Pipfile), else the runner's own."""
    request = pythons.requested_python(repo, requested)
    if request is None:
        return sys.executable
    return pythons.find_interpreter(request, uv_binary(), log_path)


def dependency_install_args(repo: Path) -> list[list[str]]:
    """`uv pip install` argument lists for the repo's dependency declaration (first match wins)."""
    if (repo / "requirements.txt").is_file():
        return [["-r", "requirements.txt"]]
    if (repo / "pyproject.toml").is_file():
        text = (repo / "pyproject.toml").read_text(errors="replace")
        if "[project]" in text or "[tool.poetry" in text:
            return [["-r", "pyproject.toml"]]
    if (repo / "setup.py").is_file() or (repo / "setup.cfg").is_file():
        return [["-e", "."]]
    return []


def environment_key(repo: Path, interpreter: str, install_command: str | None) -> str:
    digest = hashlib.sha256()
    digest.update(interpreter.encode())
    digest.update((install_command or "").encode())
    digest.update(",".join(SERVING_PACKAGES).encode())
    for name in DEPENDENCY_FILES:
        candidate = repo / name
        if candidate.is_file():
            digest.update(name.encode())
            digest.update(candidate.read_bytes())
    return digest.hexdigest()[:16]


def use_existing(python: str, repo: Path) -> TargetEnv:
    """`--python PATH`: run the app with an interpreter the user already prepared."""
    # Absolute but not symlink-resolved: a venv's python is a link whose target is not the venv.
    resolved = os.path.abspath(shutil.which(python) or python)
    if not Path(resolved).exists():
        raise UsageError(
            f"--python {python} does not exist.",
            "Give the path of the interpreter of an environment that has the app's dependencies "
            "(for example .venv/bin/python), or leave --python out to let the runner build one.",
        )
    return TargetEnv(python=Path(resolved), root=repo, created=False)


def prepare(
    repo: Path,
    *,
    python: str | None,
    install: bool,
    install_command: str | None,
    timeout: float,
    log_path: Path,
    python_version: str | None = None,
) -> TargetEnv:
    """Build (or reuse) the isolated environment the app runs in."""
    if python:
        return use_existing(python, repo)
    interpreter = base_interpreter(repo, python_version, log_path)
    key = environment_key(repo, interpreter, install_command if install else "no-install")
    venv = cache_root() / "envs" / key
    target_python = venv / "bin" / "python"
    if (venv / _READY_MARKER).exists() and target_python.exists():
        return TargetEnv(python=target_python, root=repo, created=True, reused=True)
    if venv.exists():
        shutil.rmtree(venv)  # a half-built environment from an interrupted run
    venv.parent.mkdir(parents=True, exist_ok=True)
    uv = uv_binary()
    env = procs.installer_env({"UV_NO_PROGRESS": "1"})
    if uv:
        _install_step([uv, "venv", "--quiet", "--python", interpreter, str(venv)], repo, env,
                      timeout, log_path, f"creating the environment with Python {interpreter}")
        pip: list[str] = [uv, "pip", "install", "--python", str(target_python)]
    else:
        _install_step([sys.executable, "-m", "venv", str(venv)], repo, env, timeout, log_path,
                      "creating the environment")
        pip = [str(target_python), "-m", "pip", "install", "--disable-pip-version-check"]
    _install_step([*pip, *SERVING_PACKAGES], repo, env, timeout, log_path, "installing uvicorn")
    if install:
        if install_command:
            shell_env = {**env, "VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}:{env['PATH']}"}
            _install_step(["/bin/sh", "-c", install_command], repo, shell_env, timeout, log_path,
                          f"the install command `{install_command}`")
        for args in dependency_install_args(repo):
            _install_step([*pip, *args], repo, env, timeout, log_path,
                          "installing the app's dependencies")
    (venv / _READY_MARKER).write_text("ok\n")
    return TargetEnv(python=target_python, root=repo, created=True)


def _install_step(
    cmd: Sequence[str], repo: Path, env: dict[str, str], timeout: float, log_path: Path, what: str
) -> None:
    try:
        finished = procs.run(cmd, cwd=repo, env=env, timeout=timeout, stage="install",
                             log_path=log_path, what=what)
    except (OSError, subprocess.SubprocessError) as exc:
        raise RunnerError("install", f"Could not start {what}: {exc}.",
                          "Check that Python and uv are installed on this machine.") from exc
    if finished.returncode != 0:
        last = finished.tail(1) or f"exit code {finished.returncode}"
        raise RunnerError(
            "install",
            f"Dependency installation failed while {what}: {last}",
            "Fix the dependency declaration (requirements.txt / pyproject.toml) or pass "
            "--install-command, or prepare an environment yourself and pass --python.",
            detail=finished.tail(40),
        )


def target_shell_env(env: TargetEnv, extra: dict[str, str]) -> dict[str, str]:
    """A scrubbed environment for shell commands in the target environment: its interpreter's
    folder first on PATH (so `python`, `pip` and installed tools are the target's)."""
    shell_env = procs.scrubbed_env(extra)
    bin_dir = env.python.parent
    shell_env["PATH"] = f"{bin_dir}{os.pathsep}{shell_env['PATH']}"
    if (bin_dir.parent / "pyvenv.cfg").is_file():
        shell_env["VIRTUAL_ENV"] = str(bin_dir.parent)
    return shell_env


def run_setup(env: TargetEnv, commands: Sequence[str], app_env: dict[str, str], timeout: float,
              log_path: Path) -> None:
    """The project's setup commands (migrations, fixtures), in order, in the app's folder."""
    shell_env = target_shell_env(env, app_env)
    for command in commands:
        finished = procs.run(["/bin/sh", "-c", command], cwd=env.root, env=shell_env,
                             timeout=timeout, stage="setup", log_path=log_path,
                             what=f"the setup command `{command}`")
        if finished.returncode != 0:
            raise RunnerError(
                "setup",
                f"The setup command `{command}` failed with exit code {finished.returncode}: "
                f"{finished.tail(1) or 'no output'}",
                "Fix the command in `setup` (.api-mcp-test.yml); it runs in the app's folder "
                "with the target environment's bin first on PATH. The output is in setup.log.",
                detail=finished.tail(40),
            )
