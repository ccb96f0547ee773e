"""The target environment: the API under test gets its own virtualenv, never the runner's.

Environments are cached by a hash of the dependency files, the interpreter and the install
command, so a re-run with unchanged dependencies reuses the environment in well under a second.
Running the installers themselves is runner/installer.py's.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from runner import envcache, pythons, sandbox, untrusted
from runner.dependencies import (
    DEV_REQUIREMENTS,
    IMPORTS_SOURCE,
    InstallPlan,
    install_plan,
    uv_binary,
)
from runner.errors import RunnerError, UsageError
from runner.installer import Dated, dated_install, install_requirements, install_step
from runner.models import TargetEnv

# Only what serving needs goes into the user's environment from our side: uvicorn, and a2wsgi,
# which uvicorn's WSGI interface uses (its own WSGI code is deprecated) for Flask and Django.
SERVING_PACKAGES = ("uvicorn", "a2wsgi")
DEPENDENCY_FILES = (
    "requirements.txt",
    "pyproject.toml",
    "setup.py",
    "setup.cfg",
    "Pipfile",
    "Pipfile.lock",
    "poetry.lock",
    "pdm.lock",
    "uv.lock",
)


def cache_root() -> Path:
    configured = os.environ.get("API_MCP_TEST_CACHE")
    if configured:
        return Path(configured)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "api-mcp-test"


def sandbox_uv_cache() -> dict[str, str]:
    """uv's cache when installs run as the sandbox user: under our cache root, the sandbox
    user's (our own user's cache is not its to write). Empty otherwise, or when UV_CACHE_DIR
    is set."""
    box = sandbox.user()
    if box is None or os.environ.get("UV_CACHE_DIR"):
        return {}
    folder = cache_root() / "uv"
    if not folder.exists():
        folder.mkdir(parents=True)
        sandbox.hand_over(folder)
    return {"UV_CACHE_DIR": str(folder)}


def base_interpreter(repo: Path, requested: str | None = None,
                     log_path: Path | None = None) -> str:
    """The interpreter a new environment is built from: the one the project asks for (config
    file, .python-version, requires-python, Pipfile, the Dockerfile's base image), else the
    runner's own."""
    request = pythons.requested_python(repo, requested)
    if request is None:
        return sys.executable
    try:
        return pythons.find_interpreter(request, uv_binary(), log_path)
    except RunnerError:
        if request.hint:
            return sys.executable
        raise


def environment_key(repo: Path, interpreter: str, install_command: str | None,
                    dev: bool = False, scope: str = "", boundary: Path | None = None) -> str:
    """The cache key: the run's trust domain (`scope`, see runner/envcache.py), the interpreter,
    the install command and the dependency files (read with the PR's rights, inside
    `boundary`: runner/untrusted.py)."""
    digest = hashlib.sha256()
    digest.update(scope.encode() + b"\0")
    digest.update(interpreter.encode())
    digest.update((install_command or "").encode())
    digest.update(",".join(SERVING_PACKAGES).encode())
    digest.update(b"dev" if dev else b"main")
    for name in (*DEPENDENCY_FILES, *(DEV_REQUIREMENTS if dev else ())):
        candidate = repo / name
        if untrusted.exists(boundary or repo, candidate, "the dependency file"):
            digest.update(name.encode())
            digest.update(untrusted.read_bytes(boundary or repo, candidate,
                                               "the dependency file", untrusted.SPEC_LIMIT))
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
    # Absolute, since the app runs from its own folder; not resolved, since a venv's python is a
    # symlink whose location is what makes it the venv's.
    return TargetEnv(python=Path(resolved).absolute(), root=repo, created=False)


def prepare(
    repo: Path,
    *,
    python: str | None,
    install: bool,
    install_command: str | None,
    timeout: float,
    log_path: Path,
    dev: bool = False,
    python_version: str | None = None,
    scope: str | None = None,
    boundary: Path | None = None,
    extra: Sequence[str] = (),
    as_of: str | None = None,
) -> TargetEnv:
    """Build (or reuse) the isolated environment the app runs in.

    Nothing is written into `repo`: generated requirement lists go into the environment's folder
    and projects that must be built are built from a copy. Environments are cached per trust
    domain (`scope`, default: the folder) and verified before reuse (runner/envcache.py).
    `extra` (the config's `install: {extra: [...]}`) is installed on top of the automatic
    install, so it can pin or add a package. `as_of` (the commit's date, RFC 3339) bounds
    the requirements the project leaves unbounded to the releases of that day (with uv; when
    those do not install, the newest are taken and the source says so).
    """
    if python:
        env = use_existing(python, repo)
        sandbox.require_reachable(env.python, "install", "the interpreter given with --python",
                                execute=True)
        return env
    interpreter = base_interpreter(repo, python_version, log_path)
    sandbox.require_reachable(Path(interpreter), "install",
                            "the Python the app's environment is built from", execute=True)
    plan = install_plan(repo, dev) if install and not install_command else None
    source = ("install command" if install and install_command
              else plan.source if plan else "no dependency file" if install else "no install")
    scope = scope or envcache.scope_for(None, None, None, None, boundary or repo)
    dated = dated_install(plan, repo, as_of) if install and not install_command else None
    # What the files alone do not say (the config's extras, requirements read from imports).
    unfiled = "\n".join((*extra, *(plan.requirements if plan and not plan.requirement_files
                                    and plan.source == IMPORTS_SOURCE else ()),
                          *((dated.date, *dated.names) if dated else ())))
    key = environment_key(repo, interpreter,
                          (install_command if install else "no-install") or unfiled or None, dev,
                          scope, boundary)
    envs = cache_root() / "envs"
    envcache.protect_root(envs)
    venv = envs / key
    target_python = venv / "bin" / "python"
    if plan and plan.lock:
        source += f" pinned by {plan.lock}"
    if install and extra:
        source += f" + extra {', '.join(extra)}"
    with envcache.building(venv, timeout):
        if envcache.verify(venv) and target_python.exists():
            return TargetEnv(python=target_python, root=repo, created=True, reused=True,
                             source=source)
        source = _build(venv, repo, interpreter, plan, install, install_command, extra, dev,
                        source, timeout, log_path, dated)
    return TargetEnv(python=target_python, root=repo, created=True, source=source)


def _build(venv: Path, repo: Path, interpreter: str, plan: InstallPlan | None, install: bool,
           install_command: str | None, extra: Sequence[str], dev: bool, source: str,
           timeout: float, log_path: Path, dated: Dated | None = None) -> str:
    """Build the environment at `venv` (under its build lock); returns the install's source
    line for the report."""
    target_python = venv / "bin" / "python"
    if envcache.manifest_path(venv).exists():
        source += " (the cached environment had been modified since it was built: rebuilt)"
    envcache.manifest_path(venv).unlink(missing_ok=True)
    if venv.exists():
        shutil.rmtree(venv)  # half-built (an interrupted run) or modified
    venv.mkdir(parents=True)
    sandbox.require_reachable(venv, "install", "the environment cache (API_MCP_TEST_CACHE)")
    sandbox.hand_over(venv)  # the installers run as the sandbox user, when there is one
    uv = uv_binary()
    # Copies, not uv's default hard links into its cache: a hard-linked file's ctime changes
    # whenever any other environment links or unlinks it, so the manifest (envcache) would find
    # every cached environment "modified" after any other install, and rebuild it each run.
    env = sandbox.installer_env({"UV_NO_PROGRESS": "1", "UV_LINK_MODE": "copy",
                               **sandbox_uv_cache()})
    if uv:
        # --seed: pip in the environment, for `install:` and `setup:` commands that call it.
        install_step([uv, "venv", "--quiet", "--seed", "--python", interpreter, str(venv)],
                     repo, env,
                     timeout, log_path, f"creating the environment with Python {interpreter}")
        # Bytecode now, once: the app is imported at least twice per run (discovery, server)
        # with PYTHONDONTWRITEBYTECODE set, so it would otherwise be compiled on every import.
        pip: list[str] = [uv, "pip", "install", "--compile-bytecode", "--python",
                          str(target_python)]
    else:
        install_step([sys.executable, "-m", "venv", str(venv)], repo, env, timeout, log_path,
                     "creating the environment")
        pip = [str(target_python), "-m", "pip", "install", "--disable-pip-version-check"]
    install_step([*pip, *SERVING_PACKAGES], repo, env, timeout, log_path,
                 "installing uvicorn and a2wsgi")
    if install and install_command:
        shell_env = {**env, "VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}:{env['PATH']}",
                     "PYTHONPATH": str(repo)}
        install_step(["/bin/sh", "-c", install_command], repo, shell_env, timeout, log_path,
                     f"the install command `{install_command}`")
    elif plan:
        source += install_requirements(plan, repo, venv, pip, uv, env, timeout, log_path, dev,
                                       dated)
    if install and extra:
        install_step([*pip, *extra], repo, env, timeout, log_path,
                     f"installing the config's extra packages ({', '.join(extra)})")
    envcache.record(venv)
    return source


def add_packages(env: TargetEnv, names: Sequence[str], timeout: float, log_path: Path) -> bool:
    """Install `names` (modules the app imports that no dependency file declares) into the
    environment the runner built for it, and seal it again; False when that is not ours to
    change (--python) or the install fails."""
    uv = uv_binary()
    venv = env.python.parent.parent
    if not (uv and env.created and envcache.manifest_path(venv).exists()):
        return False
    with envcache.building(venv, timeout):
        sandbox.hand_over(venv)  # sealed: the installer runs as the sandbox user
        try:
            install_step([uv, "pip", "install", "--python", str(env.python), *names], env.root,
                         sandbox.installer_env({"UV_NO_PROGRESS": "1", **sandbox_uv_cache()}),
                         timeout, log_path,
                         f"installing {', '.join(names)} (imported by the app, declared nowhere)")
            return True
        except RunnerError:
            return False
        finally:
            envcache.record(venv)
