"""Running the package installers (uv, pip) in a target environment, and explaining failures.

`install_requirements` installs what an `InstallPlan` (runner/dependencies.py) found: the
requirement files (without their Windows-only packages), an exported uv.lock, requirements read
from imports, the lock's pins as constraints, the project itself (built from a copy). An install
may be resolved as of the commit's date (`Dated`). `install_step` runs one installer command and
turns a failure into a `RunnerError` whose message is the installer's own explanation.
Where the environment lives and when it is built is runner/environment.py's.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from runner import procs, sandbox
from runner.dependencies import (
    InstallPlan,
    portable_requirements,
    unbounded_names,
    uv_binary,
)
from runner.errors import RunnerError


@dataclass(frozen=True)
class Dated:
    """An install resolved as of a date (uv's --exclude-newer): the project leaves `names`
    unbounded, and their dependencies must be of that time too (Flask 1.1 with today's
    Jinja2 does not import)."""

    date: str  # UTC, RFC 3339
    names: tuple[str, ...]

    def args(self) -> list[str]:
        return ["--exclude-newer", self.date]


def dated_install(plan: InstallPlan | None, repo: Path, as_of: str | None) -> Dated | None:
    if plan is None or not as_of or not uv_binary():
        return None
    try:
        moment = datetime.fromisoformat(as_of).astimezone(UTC)
    except ValueError:
        return None
    if datetime.now(UTC) - moment < timedelta(days=30):
        return None  # recent code: today's releases are what it was written against
    return Dated(moment.strftime("%Y-%m-%dT%H:%M:%SZ"), unbounded_names(plan, repo))


def install_requirements(plan: InstallPlan, repo: Path, venv: Path, pip: list[str],
                         uv: str | None, env: dict[str, str], timeout: float, log_path: Path,
                         dev: bool, dated: Dated | None = None) -> str:
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
        install_step([uv, "export", "--frozen", "--no-hashes", "--no-emit-project",
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
                install_step([*cmd, *dated.args()], repo, env, timeout, log_path,
                             f"{what}, as of {day}")
                note = (f"; resolved as of the commit's date {day} ({', '.join(dated.names)} "
                        "unbounded)")
        except RunnerError:
            note = f"; the releases of {day} did not install: the newest were taken"
            dated = None
        if not (dated and dated.names):
            try:
                install_step(cmd, repo, env, timeout, log_path, what)
            except RunnerError as exc:
                # An old pin that today's build tools cannot build (setuptools 80 dropped
                # convert_path): its build requirements as of the commit, too.
                if dated is None or not BUILD_FAILED.search(f"{exc.message}\n{exc.detail}"):
                    raise
                install_step([*cmd, *dated.args()], repo, env, timeout, log_path,
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
            install_step([*pip, str(copy), *constraints], repo, env, timeout, log_path, what)
    return note


def install_step(
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
