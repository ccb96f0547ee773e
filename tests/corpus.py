"""The hostile corpus: repositories that are broken, slow or hostile, each run through the CLI (or
as the GitHub Action, entrypoint.py against the local GitHub REST fake) as a process with fake
secrets in its environment.

Shared by tests/test_robustness.py (asserts) and benchmarks/robustness.py (prints the table).
Other modules contribute cases: `all_cases()` adds the lists named in `CONTRIBUTORS` when those
modules exist (tests/hostile_inputs.py, tests/hostile_publish.py, tests/hostile_limits.py).

What every run is measured for (`Outcome`): the exit code, the failed stage, wall seconds (the
runner's own exit, never pipe EOF), processes left behind (see `leftover_processes`), fake secret
values seen in any encoding in any output (see `secret_forms`), and in action mode whether the PR
comment was forged or a comment the action does not own was edited.
"""

from __future__ import annotations

import atexit
import base64
import importlib
import json
import os
import pwd
import re
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import quote

from tests.helpers import FIXTURES, REPO

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
# Handed to every app (--app-env / the app-env input): its processes carry the case's folder in
# their environment, so a daemon that renamed itself is still found (see leftover_processes).
MARKER_VARIABLE = "API_MCP_TEST_CORPUS_CASE"
RUN_LIMIT = 240  # seconds; a run still going by then counts as hung
# What a run may take past its --timeout on a loaded machine (the product aims at a few seconds;
# the benchmark prints the real figure).
MARGIN = 30.0
# Short where a case waits the whole limit (never ready, a hanging call); generous where the
# limit is only a safety net, so a loaded CI machine does not change the outcome.
FAST = ("--start-timeout", "30", "--call-timeout", "3", "--discovery-timeout", "30")
# The action's token identity in the GitHub fake, and a comment someone else wrote that carries
# the action's marker (it must never be edited).
BOT_LOGIN = "github-actions[bot]"
FOREIGN_LOGIN = "someone-else"
FOREIGN_BODY = ("<!-- api-mcp-test:. -->\nI wrote this comment myself; the action must not "
                "overwrite it.")
PR_NUMBER = 7


def pids_dir(repo: Path) -> Path:
    """Where a hostile app records the pids of the processes it starts (one pid a line, any file
    name): the harness reports every one still alive after the run as a leftover."""
    return repo.parent / "pids"


def many_operations(folder: Path, count: int = 500) -> None:
    """A FastAPI app with `count` operations, written into `folder`."""
    lines = [f'"""{count} operations: {count // 2} resources, a list and a read each."""', "",
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
    """One broken or hostile input and what the run must do with it."""

    name: str
    exit_code: int
    stage: str | None  # report.json failed_stage (None: the run completed)
    mentions: tuple[str, ...]  # words the one-paragraph error on stderr must contain
    fixture: Path | None = None
    build: Callable[[Path], None] | None = None  # writes the repo instead of a fixture
    args: tuple[str, ...] = FAST  # CLI flags (action mode: ignored, see `inputs`)
    use_python: bool = True  # False: the runner builds the environment (install stage)
    app_env: tuple[str, ...] = ()
    action: bool = False  # run entrypoint.py against the GitHub fake instead of the CLI
    inputs: tuple[tuple[str, str], ...] = ()  # action inputs (name, value) over the defaults
    # Text that must not appear raw in the PR comment or the job summary (a forged headline, an
    # unescaped tag, a mention): its presence counts as a forged comment.
    forged: tuple[str, ...] = ()
    seconds: float | None = None  # the run must end within this (default: --timeout + MARGIN)
    # Run as root with API_MCP_TEST_SANDBOX_USER=nobody (the action image's privilege drop), in
    # folders every user can enter, with interpreters `nobody` can run (see `_sandbox_setup`).
    sandbox: bool = False
    env: tuple[tuple[str, str], ...] = ()  # the runner's environment (the workflow author's)
    also: tuple[str, ...] = ()  # other stages that may fail instead (depends on the load)
    xfail: str = ""  # expected to fail until the named work lands (reported, not strict)
    check: Callable[[Outcome], None] | None = None  # further assertions on the outcome

    def stage_expected(self, stage: str | None) -> bool:
        return stage == self.stage or stage in self.also

    @property
    def run_limit(self) -> float | None:
        """The --timeout the run was given (seconds), if any."""
        flags = dict(zip(self.args[::2], self.args[1::2], strict=False))
        if self.action:
            minutes = dict(self.inputs).get("timeout-minutes")
            return float(minutes) * 60 if minutes else None
        return float(flags["--timeout"]) if "--timeout" in flags else None

    @property
    def deadline(self) -> float | None:
        if self.seconds is not None:
            return self.seconds
        flags = dict(zip(self.args[::2], self.args[1::2], strict=False))
        if self.action:
            minutes = dict(self.inputs).get("timeout-minutes")
            return float(minutes) * 60 + MARGIN if minutes else None
        return float(flags["--timeout"]) + MARGIN if "--timeout" in flags else None


BASE_CASES = [
    Case("empty repo", 3, "discovery", ("No web application",), BROKEN / "empty_repo"),
    Case("no app found", 3, "discovery", ("No web application", "--app"), FIXTURES / "no_app"),
    Case("syntax error", 3, "discovery", ("SyntaxError", "main.py"), BROKEN / "syntax_error"),
    Case("import error", 3, "discovery", ("definitely_not_installed_module",),
         BROKEN / "import_error"),
    # A crash costs no waiting, so a start timeout generous enough for a loaded machine.
    Case("app crashes at start", 3, "servers", ("exited while starting", "database unreachable"),
         BROKEN / "crash_at_start", args=("--start-timeout", "30", "--call-timeout", "3")),
    Case("app never becomes ready", 3, "servers", ("did not answer HTTP", "--start-timeout"),
         BROKEN / "never_ready", args=("--start-timeout", "10", *FAST[2:])),
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
         args=("--start-timeout", "45", "--call-timeout", "120", "--timeout", "75")),
    Case("endpoint returns 10 MB", 0, None, (), BROKEN / "huge_body"),
    Case("endpoint echoes its environment", 0, None, (), BROKEN / "env_echo",
         app_env=(f"{APP_SECRET[0]}={APP_SECRET[1]}",)),
]
# Kept under its old name: the corpus before contributed cases.
CASES = BASE_CASES
# module -> the list of cases it contributes (each module is optional).
CONTRIBUTORS = {
    "tests.hostile_limits": "LIMIT_CASES",
    "tests.hostile_inputs": "INPUT_CASES",
    "tests.hostile_publish": "PUBLISH_CASES",
    "tests.hostile_sandbox": "SANDBOX_CASES",
}


def all_cases() -> list[Case]:
    """The base corpus plus every contributed list; names are unique."""
    cases = list(BASE_CASES)
    for module_name, attribute in CONTRIBUTORS.items():
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name != module_name:
                raise
            continue
        cases += getattr(module, attribute, [])  # a module may hold other things first
    names = [c.name for c in cases]
    duplicates = {n for n in names if names.count(n) > 1}
    assert not duplicates, f"corpus case names must be unique: {sorted(duplicates)}"
    return cases


# -- secrets in any encoding -----------------------------------------------------------------


def secret_forms(secret: str) -> dict[str, str]:
    """`secret` as it could appear in an output: raw, hex, URL-encoded and base64 (standard and
    URL-safe) at each of the three alignments it can take inside a longer encoded text. For
    base64 only the characters that depend on the secret alone are kept."""
    raw = secret.encode()
    forms = {"raw": secret, "hex": raw.hex(), "url": quote(secret, safe="")}
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw).decode()
        core = encoded[(shift * 8 + 5) // 6:(shift + len(raw)) * 8 // 6]
        forms[f"base64/{shift}"] = core
        forms[f"base64url/{shift}"] = core.replace("+", "-").replace("/", "_")
    return forms


_WHITESPACE = re.compile(r"\s+")


def secrets_in(texts: dict[str, str]) -> list[str]:
    """'value-name (form) in where' for every fake secret found in `texts` (where -> text), in
    any form of `secret_forms`, also when split across lines or spaces."""
    found = []
    for where, text in texts.items():
        squeezed = _WHITESPACE.sub("", text)
        lowered = squeezed.lower()
        for value in SECRET_VALUES:
            for form, encoded in secret_forms(value).items():
                if form == "url" and encoded == value:
                    continue  # the same as raw
                hit = (encoded.lower() in lowered if form in ("hex", "url")
                       else encoded in squeezed)
                if hit:
                    found.append(f"{_secret_name(value)} ({form}) in {where}")
    return found


def _secret_name(value: str) -> str:
    names = [k for k, v in FAKE_SECRETS.items() if value in v]
    return names[0] if names else APP_SECRET[0]


# -- leftover processes ----------------------------------------------------------------------


@dataclass(frozen=True)
class Process:
    pid: int
    cmdline: str


def _live(pid: int) -> Process | None:
    proc = Path("/proc") / str(pid)
    try:
        state = next((line for line in (proc / "status").read_text().splitlines()
                      if line.startswith("State:")), "")
        cmdline = (proc / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except (OSError, ValueError):
        return None
    return None if "zombie" in state else Process(pid, cmdline.strip())


def leftover_processes(workdir: Path, exclude: set[int] = frozenset()) -> list[Process]:
    """Live processes of a case: those whose command line or environment mentions its folder
    (the marker variable every app gets), and those whose pid a hostile app wrote under
    `pids_dir` (a setsid daemon that cleared its environment and renamed itself)."""
    marker = str(workdir).encode()
    found: dict[int, Process] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) in exclude | {os.getpid()}:
            continue
        try:
            seen = (marker in (entry / "cmdline").read_bytes()
                    or marker in (entry / "environ").read_bytes())
        except OSError:
            continue
        if seen and (proc := _live(int(entry.name))):
            found[proc.pid] = proc
    for pid in _recorded_pids(workdir / "pids"):
        if pid not in exclude and (proc := _live(pid)):
            found[pid] = proc
    return sorted(found.values(), key=lambda p: p.pid)


def _recorded_pids(folder: Path) -> Iterator[int]:
    if folder.is_dir():
        for path in folder.iterdir():
            for word in path.read_text(errors="replace").split():
                if word.isdigit():
                    yield int(word)


def _kill(processes: list[Process]) -> None:
    """The harness cleans up what a run left, so one case's daemons never disturb another."""
    for proc in processes:
        try:
            os.kill(proc.pid, signal.SIGKILL)
        except OSError:
            pass


# -- running a case --------------------------------------------------------------------------


@dataclass
class Outcome:
    case: Case
    exit_code: int | None  # None: the run itself hung and was killed
    failed_stage: str | None
    seconds: float
    leftovers: list[str]
    secrets_seen: list[str]  # "NAME (form) in where" for fake secrets found in any output
    names_seen: list[str]  # foreign variable names found in any output (the app saw them)
    stdout: str
    stderr: str
    report: dict[str, Any] | None
    out: Path
    workdir: Path  # the case's folder: repo/, pids/, the runner's stdout and stderr
    outputs: dict[str, str] = field(default_factory=dict)  # file (relative path) -> text
    comment: str | None = None  # action mode: the PR comment the action wrote (None: none)
    summary: str = ""  # action mode: the job summary
    comment_forged: bool = False  # the comment or summary carries forged or raw app text
    foreign_edited: bool = False  # a comment the action does not own was changed or deleted


SANDBOX_USER = "nobody"


def sandbox_available() -> str:
    """Why sandboxed cases cannot run here ("" when they can)."""
    if os.geteuid() != 0:
        return "the privilege drop only happens when the runner is root"
    try:
        pwd.getpwnam(SANDBOX_USER)
    except KeyError:
        return f"there is no user {SANDBOX_USER!r}"
    return ""


@dataclass(frozen=True)
class _SandboxSetup:
    root: Path  # a folder every user can enter; sandboxed cases run below it
    runner_python: str  # the runner's interpreter, or a stand-in `nobody` can execute
    app_python: Path  # an interpreter `nobody` can execute that sees the fixture frameworks


_sandbox_setups: dict[Path, _SandboxSetup] = {}
_sandbox_lock = threading.Lock()


def _sandbox_setup(python: Path) -> _SandboxSetup:
    """Made once per fixture interpreter: pytest's and tempfile's folders are private to root
    and the interpreters live under /root (pyenv), out of reach of `nobody`, as in
    tests/test_privsep.py; the action's image has them in /usr/local."""
    from runner import sandbox

    with _sandbox_lock:
        if python in _sandbox_setups:
            return _sandbox_setups[python]
        entry = pwd.getpwnam(SANDBOX_USER)
        box = sandbox.Sandbox(entry.pw_name, entry.pw_uid, entry.pw_gid)
        root = Path(tempfile.mkdtemp(prefix="api-mcp-test-corpus-"))
        root.chmod(0o755)
        atexit.register(shutil.rmtree, root, True)
        runner_python = _reachable_python(box, root / "runner-python", [
            sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]])
        site = subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True, text=True, check=True).stdout.strip()
        app_python = Path(_reachable_python(box, root / "app-python", [site], always=True))
        setup = _SandboxSetup(root, runner_python, app_python)
        _sandbox_setups[python] = setup
        return setup


def _reachable_python(box: Any, venv: Path, sites: list[str], always: bool = False) -> str:
    """This interpreter when `box` can run it (unless `always`), else a virtualenv of a system
    Python of the same version that sees `sites` (a .pth file)."""
    if not always and box.can_reach(Path(sys.executable), execute=True) is None:
        return sys.executable
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = next(p for p in (Path("/usr/local/bin") / version, Path("/usr/bin") / version)
                if p.exists() and box.can_reach(p, execute=True) is None)
    uv = Path(sys.executable).with_name("uv")
    subprocess.run([str(uv) if uv.exists() else "uv", "venv", "--quiet", "--python", str(base),
                    str(venv)], check=True)
    site = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
    (site / "corpus-packages.pth").write_text("\n".join(dict.fromkeys(sites)) + "\n")
    return str(venv / "bin" / "python")


def run_case(case: Case, python: Path, workdir: Path) -> Outcome:
    """Copy or build the repo under `workdir`, run the CLI (or the action) on it, and collect
    what it left."""
    runner_python = sys.executable
    if case.sandbox:
        setup = _sandbox_setup(python)
        workdir = setup.root / f"{workdir.parent.name}-{workdir.name}"
        runner_python, python = setup.runner_python, setup.app_python
    workdir.mkdir(parents=True, exist_ok=True)
    workdir.chmod(0o755)
    (workdir / "pids").mkdir(exist_ok=True)
    (workdir / "pids").chmod(0o777)  # also writable by a sandbox user
    repo = workdir / "repo"
    if case.build:
        case.build(repo)
    else:
        assert case.fixture is not None
        shutil.copytree(case.fixture, repo, ignore=shutil.ignore_patterns("__pycache__"))
    env = {**os.environ, **FAKE_SECRETS, **FOREIGN_NAMES,
           # A fresh environment cache inside workdir: the install stage runs for real, and its
           # processes mention workdir.
           "API_MCP_TEST_CACHE": str(workdir / "cache")}
    env.update(case.env)
    if case.sandbox:
        env.pop("UV_CACHE_DIR", None)  # the runner gives the sandbox a cache of its own
        env["API_MCP_TEST_SANDBOX_USER"] = SANDBOX_USER
    marker = f"{MARKER_VARIABLE}={workdir}"
    if case.action:
        return _run_action(case, python, workdir, repo, env, marker, runner_python)
    out = workdir / "out"
    cmd = [runner_python, "-m", "runner.cli", "test", str(repo), "--output-dir", str(out),
           *case.args]
    if case.sandbox:
        cmd += ["--workspace-root", str(workdir / "ws")]
    if case.use_python:
        cmd += ["--python", str(python)]
    for pair in (*case.app_env, marker):
        cmd += ["--app-env", pair]
    run = _run_process(cmd, REPO, env, workdir)
    return _outcome(case, run, workdir, out, {})


@dataclass
class _Process:
    exit_code: int | None
    seconds: float
    stdout: str
    stderr: str
    pid: int


def _run_process(cmd: list[str], cwd: Path, env: dict[str, str], workdir: Path) -> _Process:
    """Run the runner with its output in files: the time measured is its own exit, not the
    moment every process holding its stdout lets go. A run past RUN_LIMIT is killed (hung)."""
    paths = workdir / "runner.stdout", workdir / "runner.stderr"
    began = time.monotonic()
    with open(paths[0], "wb") as stdout, open(paths[1], "wb") as stderr:
        popen = subprocess.Popen(cmd, cwd=cwd, env=env, stdin=subprocess.DEVNULL, stdout=stdout,
                                 stderr=stderr, start_new_session=True)
    try:
        exit_code: int | None = popen.wait(timeout=RUN_LIMIT)
    except subprocess.TimeoutExpired:
        exit_code = None
        os.killpg(popen.pid, signal.SIGKILL)
        popen.wait()
    seconds = time.monotonic() - began
    return _Process(exit_code, seconds, paths[0].read_text(errors="replace"),
                    paths[1].read_text(errors="replace"), popen.pid)


def _outcome(case: Case, run: _Process, workdir: Path, out: Path, extra: dict[str, str],
             **action: Any) -> Outcome:
    leftovers = leftover_processes(workdir)
    _kill(leftovers)
    # The action announces its secrets to the runner's log masker: the one place they belong.
    stdout = "\n".join(line for line in run.stdout.splitlines()
                       if not line.startswith("::add-mask::"))
    outputs = {"stdout": stdout, "stderr": run.stderr, **extra}
    if out.is_dir():
        outputs |= {str(p.relative_to(out)): p.read_text(errors="replace")
                    for p in sorted(out.rglob("*")) if p.is_file() and not p.is_symlink()}
    everything = "\n".join(outputs.values())
    report_path = out / "report.json"
    try:
        report = json.loads(report_path.read_text()) if report_path.exists() else None
    except ValueError:
        report = None
    shutil.rmtree(workdir / "cache", ignore_errors=True)
    return Outcome(
        case=case,
        exit_code=run.exit_code,
        failed_stage=(report or {}).get("failed_stage"),
        seconds=run.seconds,
        leftovers=[f"{p.pid}: {p.cmdline}" for p in leftovers],
        secrets_seen=secrets_in(outputs),
        names_seen=[n for n in [*FAKE_SECRETS, *FOREIGN_NAMES] if n in everything],
        stdout=run.stdout,
        stderr=run.stderr,
        report=report,
        out=out,
        workdir=workdir,
        outputs=outputs,
        **action,
    )


# -- action mode -----------------------------------------------------------------------------


def _run_action(case: Case, python: Path, workdir: Path, repo: Path, env: dict[str, str],
                marker: str, runner_python: str) -> Outcome:
    """entrypoint.py as GitHub runs a Docker action on a pull_request event, the repo as the
    workspace, against the local GitHub REST fake holding a comment someone else wrote."""
    from tests.github_api import FakeGitHub, serve

    api = FakeGitHub()
    foreign = api.add_comment(PR_NUMBER, FOREIGN_BODY, login=FOREIGN_LOGIN)
    foreign_before = dict(foreign)
    server = serve(api)
    files = workdir / "file_commands"
    files.mkdir(exist_ok=True)
    output, summary = files / "set_output", files / "step_summary"
    output.write_text("")
    summary.write_text("")
    event = workdir / "event.json"
    base = {"full_name": api.repository, "fork": False}
    event.write_text(json.dumps({
        "action": "synchronize", "number": PR_NUMBER, "repository": base,
        "pull_request": {"number": PR_NUMBER, "base": {"sha": "b" * 40, "ref": "main", "repo": base},
                         "head": {"sha": "a" * 40, "ref": "feature", "repo": base}},
    }))
    env = {k: v for k, v in env.items() if not k.startswith(("GITHUB_", "INPUT_", "RUNNER_"))}
    env.update({**FAKE_SECRETS, "GITHUB_ACTIONS": "true", "CI": "true",
                "HOME": str(workdir / "home"), "GITHUB_WORKSPACE": str(repo),
                "GITHUB_EVENT_PATH": str(event), "GITHUB_EVENT_NAME": "pull_request",
                "GITHUB_REPOSITORY": api.repository, "GITHUB_API_URL": api.api_url,
                "GITHUB_SERVER_URL": "https://github.example", "GITHUB_RUN_ID": "4242",
                "GITHUB_SHA": "a" * 40, "GITHUB_OUTPUT": str(output),
                "GITHUB_STEP_SUMMARY": str(summary)})
    inputs = {"working-directory": ".", "comment": "true", "fail-on": "failures",
              "suite": "smoke", "agent": "deterministic", "output-dir": "api-mcp-test-report",
              "timeout-minutes": "3", "python": str(python) if case.use_python else "",
              "app-env": "\n".join((*case.app_env, marker)), "anthropic-api-key": "",
              "github-token": FAKE_SECRETS["INPUT_GITHUB-TOKEN"], **dict(case.inputs)}
    env.update({f"INPUT_{name.upper()}": value for name, value in inputs.items()})
    try:
        run = _run_process([runner_python, str(REPO / "entrypoint.py")], repo, env, workdir)
    finally:
        server.shutdown()
        server.server_close()
    own = [c for c in api.comments.values() if c["user"]["login"] == BOT_LOGIN]
    comment = own[-1]["body"] if own else None
    summary_text = summary.read_text(errors="replace")
    published = f"{comment or ''}\n{summary_text}"
    foreign_now = api.comments.get(foreign["id"])
    edited = foreign_now is None or foreign_now["body"] != foreign_before["body"]
    markers = (comment or "").count("<!-- api-mcp-test:")
    forged = markers > 1 or any(text in published for text in case.forged)
    extra = {"comment": comment or "", "summary": summary_text,
             "outputs": output.read_text(errors="replace")}
    return _outcome(case, run, workdir, repo / inputs["output-dir"], extra, comment=comment,
                    summary=summary_text, comment_forged=forged, foreign_edited=edited)


def run_all(python: Path, workdir: Path, workers: int = 3,
            cases: list[Case] | None = None) -> list[Outcome]:
    """Every case (default: `all_cases()`), `workers` at a time (most of a case is waiting on a
    timeout or a child)."""
    chosen = all_cases() if cases is None else cases

    def one(index_case: tuple[int, Case]) -> Outcome:
        index, case = index_case
        return run_case(case, python, workdir / f"case{index:02d}")

    with ThreadPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(one, enumerate(chosen)))
