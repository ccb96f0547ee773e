"""The project's setup commands (migrations, fixtures) and the shell they run in.

Commands from `setup:` in .api-mcp-test.yml run in order, in the app's folder, with the target
environment's interpreter first on PATH and the app's settings; the app's own server command
gets the same shell (`target_shell_env`).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

from runner import procs, sandbox
from runner.errors import RunnerError
from runner.models import TargetEnv


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
