"""The broken-input corpus: repositories that are broken, slow or hostile, each run through the
CLI as a process with fake secrets in its environment.

Shared by tests/test_robustness.py (asserts) and benchmarks/robustness.py (prints the table).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.helpers import FIXTURES, REPO, processes_mentioning

BROKEN = FIXTURES / "broken"

# What a GitHub runner's environment holds that untrusted code must never see.
FAKE_SECRETS = {
    "ANTHROPIC_API_KEY": "sk-ant-fake-4f1c9a0b7e2d",
    "GITHUB_TOKEN": "ghs_fakeGithubToken9b8c7d6e",
    "INPUT_GITHUB-TOKEN": "ghs_fakeInputToken1a2b3c4d",
    "INPUT_ANTHROPIC-API-KEY": "sk-ant-fake-input-77aa88bb",
    "ACTIONS_RUNTIME_TOKEN": "fake-actions-runtime-5e6f7a8b",
    "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "fake-oidc-request-9c0d1e2f",
    "AWS_ACCESS_KEY_ID": "AKIAFAKEFAKEFAKE1234",
    "AWS_SECRET_ACCESS_KEY": "fake/aws/secret+key/0123456789abcdef",
    "GOOGLE_API_KEY": "AIzaFakeGoogleKey-0123456789",
    "AZURE_CLIENT_SECRET": "fake~azure~client~secret~42",
    "PIP_INDEX_URL": "https://builder:fake-index-password-31@pypi.internal.example/simple",
}
# Not secret, but not the app's business either.
FOREIGN_NAMES = {"INPUT_SUITE": "comprehensive", "ACTIONS_CACHE_URL": "https://cache.example/x"}
# A secret the user hands the app on purpose: the app sees it, every output masks it.
APP_SECRET = ("DB_PASSWORD", "fake-db-password-8d7c6b")
SECRET_VALUES = [v for k, v in FAKE_SECRETS.items() if k != "PIP_INDEX_URL"]
SECRET_VALUES += ["fake-index-password-31", APP_SECRET[1]]
RUN_LIMIT = 240  # seconds; a run still going by then counts as hung
# Short where a case waits the whole limit (never ready, a hanging call); generous where the
# limit is only a safety net, so a loaded CI machine does not change the outcome.
FAST = ("--start-timeout", "5", "--call-timeout", "3", "--discovery-timeout", "20")


def many_operations(folder: Path, count: int = 500) -> None:
    """A FastAPI app with `count` operations, written into `folder`."""
    lines = ['"""500 operations: 250 resources, a list and a read each."""', "",
             "from fastapi import FastAPI", "", "app = FastAPI(title='Wide API')", ""]
    for i in range(count // 2):
        lines += [
            f"@app.get('/r{i}')",
            f"def list_r{i}() -> list[dict]:",
            f"    return [{{'id': {i}, 'name': 'r{i}'}}]",
            "",
            f"@app.get('/r{i}/{{item_id}}')",
            f"def get_r{i}(item_id: int) -> dict:",
            "    return {'id': item_id}",
            "",
        ]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "main.py").write_text("\n".join(lines))


@dataclass(frozen=True)
class Case:
    """One broken input and what the run must do with it."""

    name: str
    exit_code: int
    stage: str | None  # report.json failed_stage (None: the run completed)
    mentions: tuple[str, ...]  # words the one-paragraph error on stderr must contain
    fixture: Path | None = None
    build: Callable[[Path], None] | None = None  # writes the repo instead of a fixture
    args: tuple[str, ...] = FAST
    use_python: bool = True  # False: the runner builds the environment (install stage)
    app_env: tuple[str, ...] = ()


CASES = [
    Case("empty repo", 3, "discovery", ("No web application",), BROKEN / "empty_repo"),
    Case("no app found", 3, "discovery", ("No web application", "--app"), FIXTURES / "no_app"),
    Case("syntax error", 3, "discovery", ("SyntaxError", "main.py"), BROKEN / "syntax_error"),
    Case("import error", 3, "discovery", ("definitely_not_installed_module",),
         BROKEN / "import_error"),
    # A crash costs no waiting, so a start timeout generous enough for a loaded machine.
    Case("app crashes at start", 3, "servers", ("exited while starting", "database unreachable"),
         BROKEN / "crash_at_start", args=("--start-timeout", "30", "--call-timeout", "3")),
    Case("app never becomes ready", 3, "servers", ("did not answer HTTP", "--start-timeout"),
         BROKEN / "never_ready"),
    Case("app serves on its own port", 3, "discovery", ("did not finish", "__main__"),
         BROKEN / "own_port", args=(*FAST[:4], "--discovery-timeout", "5")),
    Case("invalid OpenAPI", 3, "discovery", ("OpenAPI",), BROKEN / "invalid_openapi"),
    Case("unresolvable $ref", 3, "discovery", ("DoesNotExist", "$ref"),
         BROKEN / "unresolvable_ref"),
    Case("500-operation spec", 0, None, (), build=many_operations,
         args=("--start-timeout", "30", "--call-timeout", "10", "--max-tool-calls", "600")),
    Case("dependency install failure", 3, "install", ("fastapi==0.0.0", "requirements.txt"),
         BROKEN / "install_failure", use_python=False),
    Case("endpoint hangs", 1, None, ("Timeout",), BROKEN / "endpoint_hangs"),
    Case("whole-run timeout", 3, "agent", ("time limit", "--timeout"), BROKEN / "endpoint_hangs",
         args=("--start-timeout", "30", "--call-timeout", "60", "--timeout", "30")),
    Case("endpoint returns 10 MB", 0, None, (), BROKEN / "huge_body"),
    Case("endpoint echoes its environment", 0, None, (), BROKEN / "env_echo",
         app_env=(f"{APP_SECRET[0]}={APP_SECRET[1]}",)),
]


@dataclass
class Outcome:
    case: Case
    exit_code: int | None  # None: the run itself hung and was killed
    failed_stage: str | None
    seconds: float
    leftovers: list[str]
    secrets_seen: list[str]  # fake secret values found in any output
    names_seen: list[str]  # foreign variable names found in any output (the app saw them)
    stdout: str
    stderr: str
    report: dict[str, Any] | None
    out: Path
    outputs: dict[str, str] = field(default_factory=dict)  # file name -> text


def run_case(case: Case, python: Path, workdir: Path) -> Outcome:
    """Copy or build the repo under `workdir`, run the CLI on it, and collect what it left."""
    repo = workdir / "repo"
    if case.build:
        case.build(repo)
    else:
        assert case.fixture is not None
        shutil.copytree(case.fixture, repo, ignore=shutil.ignore_patterns("__pycache__"))
    out = workdir / "out"
    cmd = [sys.executable, "-m", "runner.cli", "test", str(repo), "--output-dir", str(out),
           *case.args]
    if case.use_python:
        cmd += ["--python", str(python)]
    for pair in case.app_env:
        cmd += ["--app-env", pair]
    env = {**os.environ, **FAKE_SECRETS, **FOREIGN_NAMES,
           # A fresh environment cache inside workdir: the install stage runs for real, and its
           # processes mention workdir.
           "API_MCP_TEST_CACHE": str(workdir / "cache")}
    began = time.monotonic()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=REPO, env=env,
                              timeout=RUN_LIMIT, check=False)
        exit_code, stdout, stderr = proc.returncode, proc.stdout, proc.stderr
    except subprocess.TimeoutExpired as exc:
        exit_code, stdout, stderr = None, _text(exc.stdout), _text(exc.stderr)
    seconds = time.monotonic() - began
    leftovers = processes_mentioning(str(workdir))
    outputs = {"stdout": stdout, "stderr": stderr}
    if out.is_dir():
        outputs |= {p.name: p.read_text(errors="replace") for p in sorted(out.iterdir())
                    if p.is_file()}
    everything = "\n".join(outputs.values())
    report_path = out / "report.json"
    report = json.loads(report_path.read_text()) if report_path.exists() else None
    shutil.rmtree(workdir / "cache", ignore_errors=True)
    return Outcome(
        case=case,
        exit_code=exit_code,
        failed_stage=(report or {}).get("failed_stage"),
        seconds=seconds,
        leftovers=leftovers,
        secrets_seen=[v for v in SECRET_VALUES if v in everything],
        names_seen=[n for n in [*FAKE_SECRETS, *FOREIGN_NAMES] if n in everything],
        stdout=stdout,
        stderr=stderr,
        report=report,
        out=out,
        outputs=outputs,
    )


def _text(data: str | bytes | None) -> str:
    return data.decode(errors="replace") if isinstance(data, bytes) else data or ""


def run_all(python: Path, workdir: Path, workers: int = 3) -> list[Outcome]:
    """Every case, `workers` at a time (most of a case is waiting on a timeout or a child)."""
    from concurrent.futures import ThreadPoolExecutor

    def one(index_case: tuple[int, Case]) -> Outcome:
        index, case = index_case
        return run_case(case, python, workdir / f"case{index:02d}")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, enumerate(CASES)))
