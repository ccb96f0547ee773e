"""The target environment: the API under test gets its own virtualenv, never the runner's.

Environments are cached by a hash of the dependency files, the interpreter and the install
command, so a re-run with unchanged dependencies reuses the environment in well under a second.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from runner import envcache, procs, pythons, sandbox, untrusted
from runner.dependencies import (
    DEV_REQUIREMENTS,
    IMPORTS_SOURCE,
    InstallPlan,
    install_plan,
    portable_requirements,
    unbounded_names,
    uv_binary,
)
from runner.errors import RunnerError, UsageError
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
    dated = _dated(plan, repo, as_of) if install and not install_command else None
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
        _install_step([uv, "venv", "--quiet", "--seed", "--python", interpreter, str(venv)],
                      repo, env,
                      timeout, log_path, f"creating the environment with Python {interpreter}")
        # Bytecode now, once: the app is imported at least twice per run (discovery, server)
        # with PYTHONDONTWRITEBYTECODE set, so it would otherwise be compiled on every import.
        pip: list[str] = [uv, "pip", "install", "--compile-bytecode", "--python",
                          str(target_python)]
    else:
        _install_step([sys.executable, "-m", "venv", str(venv)], repo, env, timeout, log_path,
                      "creating the environment")
        pip = [str(target_python), "-m", "pip", "install", "--disable-pip-version-check"]
    _install_step([*pip, *SERVING_PACKAGES], repo, env, timeout, log_path, "installing uvicorn and a2wsgi")
    if install and install_command:
        shell_env = {**env, "VIRTUAL_ENV": str(venv), "PATH": f"{venv / 'bin'}:{env['PATH']}",
                     "PYTHONPATH": str(repo)}
        _install_step(["/bin/sh", "-c", install_command], repo, shell_env, timeout, log_path,
                      f"the install command `{install_command}`")
    elif plan:
        source += _install_plan(plan, repo, venv, pip, uv, env, timeout, log_path, dev, dated)
    if install and extra:
        _install_step([*pip, *extra], repo, env, timeout, log_path,
                      f"installing the config's extra packages ({', '.join(extra)})")
    envcache.record(venv)
    return source


@dataclass(frozen=True)
class Dated:
    """An install resolved as of a date (uv's --exclude-newer): the project leaves `names`
    unbounded, and their dependencies must be of that time too (Flask 1.1 with today's
    Jinja2 does not import)."""

    date: str  # UTC, RFC 3339
    names: tuple[str, ...]

    def args(self) -> list[str]:
        return ["--exclude-newer", self.date]


def _dated(plan: InstallPlan | None, repo: Path, as_of: str | None) -> Dated | None:
    if plan is None or not as_of or not uv_binary():
        return None
    try:
        moment = datetime.fromisoformat(as_of).astimezone(UTC)
    except ValueError:
        return None
    if datetime.now(UTC) - moment < timedelta(days=30):
        return None  # recent code: today's releases are what it was written against
    return Dated(moment.strftime("%Y-%m-%dT%H:%M:%SZ"), unbounded_names(plan, repo))


def _install_plan(plan: InstallPlan, repo: Path, venv: Path, pip: list[str], uv: str | None,
                  env: dict[str, str], timeout: float, log_path: Path, dev: bool,
                  dated: Dated | None = None) -> str:
    """Install `plan`; returns what to add to the environment's source note."""
    what = f"installing the app's dependencies from {plan.source}"
    files = []
    for name in plan.requirement_files:
        portable = portable_requirements(repo / name)
        if portable is None:
            files.append(str(repo / name))
        else:  # without its Windows-only packages, in the environment's folder
            copy = venv / f"api-mcp-test-{Path(name).name}"
            copy.write_text(portable)
            files.append(str(copy))
    if plan.uv_lock and uv:
        exported = venv / "api-mcp-test-uv-lock.txt"
        _install_step([uv, "export", "--frozen", "--no-hashes", "--no-emit-project",
                       "--no-emit-workspace", *(() if dev else ("--no-dev",)),
                       "--project", str(repo), "--output-file", str(exported), "--quiet"],
                      repo, env, timeout, log_path, "exporting uv.lock")
        files.append(str(exported))
    if plan.requirements:
        listed = venv / "api-mcp-test-requirements.txt"
        listed.write_text("\n".join(plan.requirements) + "\n")
        files.append(str(listed))
    constraints: list[str] = []
    if plan.constraints:
        pins = venv / "api-mcp-test-lock-pins.txt"
        pins.write_text("\n".join(plan.constraints) + "\n")
        constraints = ["-c", str(pins)]
        what += f" pinned by {plan.lock}"
    note = ""
    if files:
        cmd = [*pip, *(arg for f in files for arg in ("-r", f)), *constraints]
        day = dated.date[:10] if dated else ""
        try:
            if dated and dated.names:
                _install_step([*cmd, *dated.args()], repo, env, timeout, log_path,
                              f"{what}, as of {day}")
                note = (f"; resolved as of the commit's date {day} ({', '.join(dated.names)} "
                        "unbounded)")
        except RunnerError:
            note = f"; the releases of {day} did not install: the newest were taken"
            dated = None
        if not (dated and dated.names):
            try:
                _install_step(cmd, repo, env, timeout, log_path, what)
            except RunnerError as exc:
                # An old pin that today's build tools cannot build (setuptools 80 dropped
                # convert_path): its build requirements as of the commit, too.
                if dated is None or not BUILD_FAILED.search(f"{exc.message}\n{exc.detail}"):
                    raise
                _install_step([*cmd, *dated.args()], repo, env, timeout, log_path,
                              f"{what}, built with the tools of {day}")
                note = f"; built with the build tools of the commit's date {day}"
    if plan.build_project:
        # Building writes into the source tree (egg-info, build/): build a copy instead.
        with tempfile.TemporaryDirectory(prefix="api-mcp-test-build-") as tmp:
            copy = Path(tmp) / repo.name
            shutil.copytree(repo, copy, symlinks=True, ignore=shutil.ignore_patterns(
                ".git", ".venv", "venv", "node_modules", "__pycache__", "*.egg-info", "build",
                "dist"))
            sandbox.hand_over(Path(tmp))
            _install_step([*pip, str(copy), *constraints], repo, env, timeout, log_path, what)
    return note


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
        last = installer_error(finished.output) or f"exit code {finished.returncode}"
        hint = ("Fix the dependency declaration (requirements.txt, pyproject.toml, ...) or pass "
                "--install-command, or prepare an environment yourself and pass --python.")
        if BUILD_FAILED.search(finished.output):
            hint = (f"A pinned package has no wheel for this Python ({cmd_python(cmd)}) and does "
                    "not build from source: old pins build on the Python of their time. Set "
                    '`python: "3.8"` (or the version the project was written for) in '
                    ".api-mcp-test.yml, or pin a newer release on top with `install: {extra: "
                    '["package>=X"]}`. ' + hint)
        raise RunnerError("install", f"Dependency installation failed while {what}: {last}",
                          hint, detail=finished.tail(40))


BUILD_FAILED = re.compile(r"Failed to build|failed to build|error: command '.*gcc|"
                          r"returned non-zero exit status|Build backend failed|"
                          r"build backend returned an error")


def cmd_python(cmd: Sequence[str]) -> str:
    """The interpreter an install command targets, for messages."""
    args = list(cmd)
    return args[args.index("--python") + 1] if "--python" in args[:-1] else args[0]


def installer_error(output: str) -> str:
    """The installer's own explanation on one line: from its last `error:` line to the end
    (uv puts the cause on indented lines below it), else the last line."""
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    starts = [i for i, line in enumerate(lines) if line.lower().startswith("error:")]
    if not starts:
        return lines[-1] if lines else ""
    first, *causes = lines[starts[-1]:]
    text = first[len("error:"):].strip()
    causes = [c.removeprefix("cause:").removeprefix("╰─▶").strip() for c in causes]
    return (text + (": " + " ".join(causes) if causes else ""))[:600]


def target_shell_env(env: TargetEnv, extra: dict[str, str]) -> dict[str, str]:
    """A scrubbed environment for shell commands in the target environment: its interpreter's
    folder first on PATH (so `python`, `pip` and installed tools are the target's)."""
    shell_env = sandbox.scrubbed_env(extra)
    # The app folder on the path, as for the app itself (`alembic upgrade head` imports app.*).
    shell_env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(env.root),
                                                            shell_env.get("PYTHONPATH"))))
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
            _install_step([uv, "pip", "install", "--python", str(env.python), *names], env.root,
                          sandbox.installer_env({"UV_NO_PROGRESS": "1", **sandbox_uv_cache()}),
                          timeout, log_path,
                          f"installing {', '.join(names)} (imported by the app, declared nowhere)")
            return True
        except RunnerError:
            return False
        finally:
            envcache.record(venv)
