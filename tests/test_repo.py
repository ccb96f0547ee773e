"""The repo stage: cloning branches, pull requests and commits from real git remotes (file:// and
an authenticated smart-HTTP server), dependency files of every style, the environment cache."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from runner import dependencies, environment
from runner.dependencies import InstallPlan, install_plan
from runner.errors import RunnerError, UsageError
from runner.repo import RepoManager, clone, is_remote, split_credentials, working_folder
from tests.git_http import git_http_server
from tests.helpers import processes_mentioning, run_cli

APP = '''from fastapi import FastAPI

app = FastAPI(title="Service", version="1.0")


@app.get("/health")
def health() -> dict[str, str]:
    return {"status": "ok"}
'''


def endpoint(name: str) -> str:
    return f'''

@app.get("/{name}")
def {name}() -> dict[str, str]:
    return {{"name": "{name}"}}
'''


def git(cwd: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Ada", "GIT_AUTHOR_EMAIL": "ada@example.com",
           "GIT_COMMITTER_NAME": "Ada", "GIT_COMMITTER_EMAIL": "ada@example.com"}
    return subprocess.run(["git", *args], cwd=cwd, env=env, check=True, capture_output=True,
                          text=True).stdout.strip()


class Remote:
    """A bare "remote" with main (two commits), a feature branch and refs/pull/7/head.

    The app lives in service/ (tests use --working-directory service):
    main@first: /health; main@second: + /later; feature: + /feature; PR 7: + /pull.
    """

    def __init__(self, root: Path) -> None:
        self.bare = root / "remote.git"
        self.url = self.bare.as_uri()
        work = root / "work"
        git(root, "init", "--quiet", "--bare", "-b", "main", str(self.bare))
        git(root, "init", "--quiet", "-b", "main", str(work))
        (work / "service").mkdir()
        (work / "README.md").write_text("# service\n")
        (work / "service" / "main.py").write_text(APP)
        (work / "service" / "requirements.txt").write_text("fastapi\n")
        git(work, "add", ".")
        git(work, "commit", "--quiet", "-m", "First version")
        self.first = git(work, "rev-parse", "HEAD")
        git(work, "remote", "add", "origin", str(self.bare))
        git(work, "checkout", "--quiet", "-b", "feature/x")
        self._commit(work, "feature", "Add /feature")
        self.feature = git(work, "rev-parse", "HEAD")
        git(work, "push", "--quiet", "origin", "feature/x")
        git(work, "checkout", "--quiet", "-b", "pr", "main")
        self._commit(work, "pull", "Add /pull")
        self.pull = git(work, "rev-parse", "HEAD")
        git(work, "push", "--quiet", "origin", "HEAD:refs/pull/7/head")
        git(work, "checkout", "--quiet", "main")
        self._commit(work, "later", "Add /later")
        self.second = git(work, "rev-parse", "HEAD")
        git(work, "push", "--quiet", "origin", "main")

    @staticmethod
    def _commit(work: Path, name: str, message: str) -> None:
        with open(work / "service" / "main.py", "a") as handle:
            handle.write(endpoint(name))
        git(work, "commit", "--quiet", "-am", message)


@pytest.fixture(scope="module")
def remote(tmp_path_factory: pytest.TempPathFactory) -> Remote:
    return Remote(tmp_path_factory.mktemp("remote"))


def snapshot(folder: Path) -> dict[str, str]:
    """Every file under `folder` with a hash of its content (to prove nothing was written)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


# -- pure functions ---------------------------------------------------------------------------


def test_urls_are_told_from_folders():
    for url in ("https://github.com/org/api.git", "git@github.com:org/api.git",
                "ssh://git@github.com/org/api.git", "file:///srv/api.git", "http://h/x"):
        assert is_remote(url), url
    for path in (".", "examples/todo-api", "/abs/path", "C:stuff", "user@host"):
        assert not is_remote(path), path
    assert split_credentials("https://x-access-token:s3cr%40t@github.com/o/r.git") == (
        "https://github.com/o/r.git", "s3cr@t")
    assert split_credentials("https://tok@github.com/o/r.git") == ("https://github.com/o/r.git",
                                                                    "tok")
    assert split_credentials("git@github.com:o/r.git") == ("git@github.com:o/r.git", None)


def test_working_directory_stays_inside_the_repository(tmp_path: Path):
    (tmp_path / "api").mkdir()
    assert working_folder(tmp_path, "api") == (tmp_path / "api").resolve()
    assert working_folder(tmp_path, None) == tmp_path
    with pytest.raises(UsageError, match="leaves the repository"):
        working_folder(tmp_path, "../elsewhere")
    with pytest.raises(RunnerError, match="is not a folder"):
        working_folder(tmp_path, "missing")


DEPENDENCY_STYLES: dict[str, dict[str, str]] = {
    "requirements.txt": {"requirements.txt": "fastapi\nuvicorn\n"},
    "pep621": {"pyproject.toml": '[project]\nname = "svc"\nversion = "0.1.0"\n'
               'requires-python = ">=3.11"\ndependencies = ["fastapi", "uvicorn"]\n'
               '[dependency-groups]\ndev = ["pytest"]\n'},
    "poetry": {"pyproject.toml": '[tool.poetry]\nname = "svc"\nversion = "0.1.0"\n'
               'description = ""\nauthors = ["Ada"]\n\n[tool.poetry.dependencies]\n'
               'python = "^3.11"\nfastapi = "*"\nuvicorn = { version = ">=0.20", '
               'extras = ["standard"], optional = true }\n'},
    "pipfile": {"Pipfile": '[[source]]\nurl = "https://pypi.org/simple"\nverify_ssl = true\n'
                'name = "pypi"\n\n[packages]\nfastapi = "*"\nuvicorn = {version = "*"}\n\n'
                '[dev-packages]\npytest = "*"\n'},
    "setup.py": {"setup.py": 'from setuptools import setup\n\nsetup(name="svc", version="0.1", '
                 'py_modules=["main"], install_requires=["fastapi", "uvicorn"])\n'},
    "uv.lock": {"pyproject.toml": '[project]\nname = "svc"\nversion = "0.1.0"\n'
                'requires-python = ">=3.11"\ndependencies = ["fastapi", "uvicorn"]\n'},
}


def test_install_plans_for_each_dependency_style(tmp_path: Path):
    plans = {}
    for style, files in DEPENDENCY_STYLES.items():
        folder = tmp_path / style.replace(".", "_")
        folder.mkdir()
        for name, text in files.items():
            (folder / name).write_text(text)
        if style == "uv.lock":
            (folder / "uv.lock").write_text("version = 1\n")
        plans[style] = install_plan(folder)
    assert plans["requirements.txt"] == InstallPlan("requirements.txt",
                                                    requirement_files=("requirements.txt",))
    assert plans["pep621"] == InstallPlan("pyproject.toml (PEP 621)",
                                          requirements=("fastapi", "uvicorn"))
    # Poetry: python is not a package, optional extras are left out.
    assert plans["poetry"] == InstallPlan("pyproject.toml (Poetry)", requirements=("fastapi",))
    assert plans["pipfile"] == InstallPlan("Pipfile", requirements=("fastapi", "uvicorn"))
    assert plans["setup.py"] == InstallPlan("setup.py", build_project=True)
    assert plans["uv.lock"] == InstallPlan("uv.lock", uv_lock=True)
    assert install_plan(tmp_path) is None
    # Development dependencies only when asked.
    assert install_plan(tmp_path / "pipfile", dev=True).requirements == ("fastapi", "uvicorn",
                                                                         "pytest")
    assert install_plan(tmp_path / "pep621", dev=True).requirements[-1] == "pytest"
    (tmp_path / "requirements_txt" / "requirements-dev.txt").write_text("pytest\n")
    assert install_plan(tmp_path / "requirements_txt").requirement_files == ("requirements.txt",)
    assert install_plan(tmp_path / "requirements_txt", dev=True).requirement_files == (
        "requirements.txt", "requirements-dev.txt")


def test_poetry_constraints_become_pep440():
    convert = dependencies._poetry_requirement
    assert convert("a", "^1.2.3") == "a>=1.2.3,<2"
    assert convert("a", "^0.2.3") == "a>=0.2.3,<0.3"
    assert convert("a", "~1.2") == "a>=1.2,<1.3"
    assert convert("a", "1.4") == "a==1.4"
    assert convert("a", ">=1,<2") == "a>=1,<2"
    assert convert("a", {"version": "^2", "extras": ["x"], "markers": "os_name == 'posix'"}) == (
        "a[x]>=2,<3; os_name == 'posix'")
    assert convert("a", {"git": "https://h/a.git", "tag": "v1"}) == "a @ git+https://h/a.git@v1"
    assert convert("python", "^3.11") is None


def test_cache_key_includes_dev_requirements_only_when_used(tmp_path: Path):
    (tmp_path / "requirements.txt").write_text("fastapi\n")
    key = environment.environment_key(tmp_path, "python3", None)
    dev_key = environment.environment_key(tmp_path, "python3", None, dev=True)
    (tmp_path / "requirements-dev.txt").write_text("pytest\n")
    assert environment.environment_key(tmp_path, "python3", None) == key
    assert environment.environment_key(tmp_path, "python3", None, dev=True) != dev_key
    (tmp_path / "requirements.txt").write_text("fastapi\nhttpx\n")
    assert environment.environment_key(tmp_path, "python3", None) != key


# -- cloning ----------------------------------------------------------------------------------


@pytest.mark.slow
def test_clone_errors_name_the_problem(remote: Remote, tmp_path: Path):
    cases = [
        ({"branch": "nope"}, "branch does not exist"),
        ({"pr_number": 8}, "no such pull request"),
        ({"commit": "0123456789abcdef0123456789abcdef01234567"}, "commit 0123456789abcdef"),
        ({"commit": "deadbee"}, "commit deadbee is not in the repository"),
    ]
    for n, (kwargs, message) in enumerate(cases):
        with pytest.raises(RunnerError, match=message) as caught:
            clone(remote.url, tmp_path / str(n), **kwargs)  # type: ignore[arg-type]
        assert caught.value.stage == "repo" and caught.value.hint
    with pytest.raises(RunnerError, match="could not be reached"):
        clone((tmp_path / "missing.git").as_uri(), tmp_path / "x")
    with pytest.raises(UsageError, match="at most one"):
        clone(remote.url, tmp_path / "y", branch="main", pr_number=7)
    # The seed's RepoManager API.
    manager = RepoManager()
    path = asyncio.run(manager.clone_repo(remote.url, pr_number=7))
    info = asyncio.run(manager.get_repo_info(path))
    assert (path / "service" / "main.py").read_text().endswith(endpoint("pull"))
    assert info.commit == remote.pull
    manager.cleanup(path)
    assert not path.exists()
    # An abbreviated sha needs the history: it is resolved after a full fetch.
    info = clone(remote.url, tmp_path / "short", commit=remote.first[:9])
    assert info.commit == remote.first and info.branch is None


def run_remote(remote: Remote, tmp_path: Path, python: Path, *args: str):
    out = tmp_path / "out"
    proc = run_cli("test", remote.url, "--working-directory", "service", "--python", str(python),
                   "--output-dir", str(out), "--workspace-root", str(tmp_path / "ws"), *args)
    report = json.loads((out / "report.json").read_text())
    return proc, report, {r["endpoint"] for r in report["test_results"]}


@pytest.mark.slow
@pytest.mark.parametrize("selector", ["branch", "pr", "commit"])
def test_cli_tests_the_selected_code(selector: str, remote: Remote, tmp_path: Path,
                                     fixture_python: Path):
    args = {"branch": ["--branch", "feature/x"], "pr": ["--pr", "7"],
            "commit": ["--commit", remote.first]}[selector]
    proc, report, endpoints = run_remote(remote, tmp_path, fixture_python, *args)
    assert proc.returncode == 0, proc.stderr
    info = report["repo_info"]
    expected = {
        "branch": ({"/health", "/feature"}, remote.feature, "feature/x", None, "Add /feature"),
        "pr": ({"/health", "/pull"}, remote.pull, None, 7, "Add /pull"),
        "commit": ({"/health"}, remote.first, None, None, "First version"),  # no /later
    }[selector]
    assert endpoints == expected[0]
    assert (info["commit"], info["branch"], info["pr_number"], info["message"]) == expected[1:]
    assert info["remote"] == remote.url and info["author"] == "Ada"
    assert "✓ repo" in proc.stderr and expected[1][:12] in proc.stderr
    # The run's workspace (and the clone in it) is gone; nothing is left running.
    assert list((tmp_path / "ws").iterdir()) == []
    assert processes_mentioning(str(tmp_path)) == []


@pytest.mark.slow
def test_default_branch_and_python_api(remote: Remote, tmp_path: Path, fixture_python: Path):
    from runner import DynamicBackendOrchestrator

    result = asyncio.run(DynamicBackendOrchestrator().test_repo(
        remote.url, working_directory="service", python=str(fixture_python),
        output_dir=tmp_path / "out", workspace_root=tmp_path / "ws", keep_workspace=True))
    assert result["overall_success"] is True
    assert result["repo_info"]["branch"] == "main"
    assert result["repo_info"]["commit"] == remote.second
    assert {r["endpoint"] for r in result["test_results"]} == {"/health", "/later"}
    # --keep-workspace: the clone is still there, and it is shallow.
    [workspace] = (tmp_path / "ws").iterdir()
    clone_dir = workspace / "repo"
    assert git(clone_dir, "rev-parse", "--is-shallow-repository") == "true"


@pytest.mark.slow
def test_discover_takes_a_url(remote: Remote, fixture_python: Path):
    proc = run_cli("discover", remote.url, "--pr", "7", "--working-directory", "service",
                   "--python", str(fixture_python))
    assert proc.returncode == 0, proc.stderr
    # What was found goes to stderr, the spec to stdout.
    assert "GET     /pull" in proc.stderr and "/later" not in proc.stderr
    assert '"/pull"' in proc.stdout and '"/later"' not in proc.stdout


@pytest.mark.slow
def test_usage_errors_for_repository_options(tmp_path: Path):
    proc = run_cli("test", str(tmp_path), "--branch", "main")
    assert proc.returncode == 2 and "need a repository URL" in proc.stderr
    proc = run_cli("test", "file:///nowhere.git", "--branch", "main", "--pr", "3")
    assert proc.returncode == 2 and "at most one" in proc.stderr


@pytest.mark.slow
def test_token_reaches_the_server_and_nothing_else(remote: Remote, tmp_path: Path,
                                                   fixture_python: Path):
    token = "ghp_TestToken1234567890abcdef"
    with git_http_server(remote.bare.parent, token) as (base, seen):
        url = f"{base}/remote.git"
        out = tmp_path / "out"
        args = ["test", url, "--pr", "7", "--working-directory", "service", "--python",
                str(fixture_python), "--output-dir", str(out), "--workspace-root",
                str(tmp_path / "ws"), "--keep-workspace"]
        proc = run_cli(*args, env={"GITHUB_TOKEN": token})
        assert proc.returncode == 0, proc.stderr
        assert seen, "the server saw no Authorization header"
        report = json.loads((out / "report.json").read_text())
        assert report["repo_info"]["pr_number"] == 7 and report["repo_info"]["remote"] == url
        assert "/pull" in {r["endpoint"] for r in report["test_results"]}
        # Without a token: a clear refusal, exit 3, no prompt.
        denied = run_cli(*args[:-3], "--output-dir", str(tmp_path / "denied"),
                         env={"GITHUB_TOKEN": ""})
        assert denied.returncode == 3
        assert "refused access" in denied.stderr and "--token" in denied.stderr
        # A token in the URL is on the command line: refused, never echoed.
        wrong = "ghp_WrongToken999"
        bad = run_cli("test", url.replace("http://", f"http://x-access-token:{wrong}@"),
                      "--output-dir", str(tmp_path / "bad"), env={"GITHUB_TOKEN": ""})
        assert bad.returncode == 2 and wrong not in bad.stderr + bad.stdout
        assert "carries a credential on the command line" in bad.stderr
    encoded = seen[0].split()[-1]
    for secret in (token, encoded):
        assert secret not in proc.stdout + proc.stderr
        leaks = [str(p) for p in tmp_path.rglob("*")
                 if p.is_file() and secret.encode() in p.read_bytes()]
        assert leaks == []
    [workspace] = (tmp_path / "ws").iterdir()
    assert (workspace / "repo" / ".git" / "config").is_file()


def command_lines() -> list[bytes]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found.append((entry / "cmdline").read_bytes())
            except OSError:
                continue
    return found


@pytest.mark.slow
def test_token_file_keeps_the_token_off_every_command_line(remote: Remote, tmp_path: Path,
                                                           fixture_python: Path):
    """--token-file: the clone works and, polled all through the run, no process's
    /proc/PID/cmdline (readable by the app) holds the token or its Basic form."""
    token = "ghp_FileToken1234567890abcdef"
    token_file = tmp_path / "token"
    token_file.write_text(token + "\n")
    basic = base64.b64encode(f"x-access-token:{token}".encode())
    with git_http_server(remote.bare.parent, token) as (base, seen):
        out = tmp_path / "out"
        proc = subprocess.Popen(
            [sys.executable, "-m", "runner.cli", "test", f"{base}/remote.git", "--pr", "7",
             "--working-directory", "service", "--python", str(fixture_python),
             "--output-dir", str(out), "--token-file", str(token_file)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
            env={k: v for k, v in os.environ.items() if k != "GITHUB_TOKEN"})
        polls = 0
        while proc.poll() is None:
            lines = command_lines()
            polls += 1
            assert not [c for c in lines if token.encode() in c or basic in c]
        stdout, stderr = proc.communicate()
        assert proc.returncode == 0, stderr.decode()
        assert seen and polls > 1
    assert token.encode() not in stdout + stderr + (out / "report.json").read_bytes()


def test_a_token_on_the_command_line_is_refused(tmp_path: Path):
    token = "ghp_TypedToken1234567890"
    for args in (["--token", token, "https://example.invalid/o/r.git"],
                 [f"https://x-access-token:{token}@example.invalid/o/r.git"]):
        proc = run_cli("test", *args, "--output-dir", str(tmp_path / "out"), timeout=60)
        assert proc.returncode == 2, proc.stderr
        assert "command line" in proc.stderr and token not in proc.stdout + proc.stderr
    empty = tmp_path / "empty"
    empty.write_text("\n")
    proc = run_cli("test", "https://example.invalid/o/r.git", "--token-file", str(empty),
                   timeout=60)
    assert proc.returncode == 2 and "holds no token" in proc.stderr


GIT_CONFIG_NAMES = ["GIT_CONFIG_COUNT", *(f"GIT_CONFIG_{kind}_{n}" for kind in ("KEY", "VALUE")
                                          for n in range(4))]


def pr_server(tmp_path: Path) -> Path:
    """A bare repository `octo/api.git` publishing refs/pull/3/head, under the returned folder."""
    source = tmp_path / "source"
    source.mkdir()
    (source / "main.py").write_text("app = None\n")
    git(source, "init", "-q")
    git(source, "add", ".")
    git(source, "-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "pr")
    server = tmp_path / "server"
    subprocess.run(["git", "clone", "-q", "--bare", str(source), str(server / "octo" / "api.git")],
                   check=True)
    git(server / "octo" / "api.git", "update-ref", "refs/pull/3/head", "HEAD")
    return server


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to own a workspace as another uid")
@pytest.mark.parametrize("empty", [True, False], ids=["checkout-into-empty", "checked-out"])
def test_a_workspace_of_another_uid_stays_safe_with_a_token(tmp_path: Path, empty: bool,
                                                            monkeypatch: pytest.MonkeyPatch):
    """The action runs as root on a workspace owned by the runner's user: `safe.directory`
    (this workspace only) survives the token's GIT_CONFIG_* header, and is never masked."""
    import entrypoint
    from runner.context import from_env
    from runner.redact import Redactor

    for name in GIT_CONFIG_NAMES:
        monkeypatch.delenv(name, raising=False)  # restored (absent) after the test
    server = pr_server(tmp_path)
    workspace = tmp_path / "workspace"
    if empty:
        workspace.mkdir()
    else:
        subprocess.run(["git", "clone", "-q", str(server / "octo" / "api.git"), str(workspace)],
                       check=True)
    for folder, dirs, files in os.walk(workspace):
        for name in (folder, *(os.path.join(folder, n) for n in (*dirs, *files))):
            os.chown(name, 12345, 12345)
    other = tmp_path / "elsewhere"  # another repository of that owner: still refused
    subprocess.run(["git", "init", "-q", str(other)], check=True)
    os.chown(other, 12345, 12345)
    os.chown(other / ".git", 12345, 12345)
    event = tmp_path / "event.json"
    event.write_text(json.dumps({"number": 3, "pull_request": {
        "number": 3, "head": {"sha": "x", "ref": "f", "repo": {"full_name": "octo/api"}},
        "base": {"ref": "main", "repo": {"full_name": "octo/api"}}}}))
    token = "ghs_WorkspaceToken1234567890"
    ctx = from_env({"GITHUB_WORKSPACE": str(workspace), "GITHUB_SERVER_URL": f"file://{server}",
                    "GITHUB_REPOSITORY": "octo/api", "GITHUB_EVENT_PATH": str(event),
                    "INPUT_GITHUB-TOKEN": token})
    entrypoint.prepare_workspace(ctx.publish)
    assert os.environ["GIT_CONFIG_VALUE_0"] == str(workspace.resolve())  # not "*"
    assert (workspace / "main.py").is_file()
    info = environment_free_repo_info(workspace)
    assert info.commit is not None and len(info.commit) == 40
    refused = subprocess.run(["git", "-C", str(other), "status"], capture_output=True, text=True,
                             check=False)
    assert refused.returncode != 0 and "dubious ownership" in refused.stderr
    secrets = Redactor.for_run([token]).secrets
    assert "safe.directory" not in secrets and str(workspace.resolve()) not in secrets


def environment_free_repo_info(path: Path):  # type: ignore[no-untyped-def]
    from runner.repo import read_repo_info

    return read_repo_info(path)


# -- installing dependencies ------------------------------------------------------------------


@pytest.mark.slow
def test_real_install_then_reuse(remote: Remote, tmp_path: Path):
    """A real `uv` install into a fresh cache, then a second run that reuses the environment."""
    cache = {"API_MCP_TEST_CACHE": str(tmp_path / "cache")}
    seconds = []
    for n in range(2):
        out = tmp_path / f"out{n}"
        proc = run_cli("test", remote.url, "--branch", "feature/x", "--working-directory",
                       "service", "--output-dir", str(out), env=cache)
        assert proc.returncode == 0, proc.stderr
        stage = next(s for s in json.loads((out / "report.json").read_text())["stages"]
                     if s["stage"] == "install")
        seconds.append(stage["seconds"])
        expected = "new environment" if n == 0 else "reused cached environment"
        assert f"{expected}, requirements.txt" in stage["note"]
        assert re.search(rf"✓ install \d+\.\d\ds \({expected}", proc.stderr)
    assert seconds[1] < 2.0, seconds
    print(f"install stage: cold {seconds[0]:.2f} s, warm {seconds[1]:.2f} s")


@pytest.fixture(scope="module")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    return {"API_MCP_TEST_CACHE": str(tmp_path_factory.mktemp("env-cache"))}


@pytest.mark.slow
# requirements.txt is installed for real in test_real_install_then_reuse.
@pytest.mark.parametrize("style", [s for s in DEPENDENCY_STYLES if s != "requirements.txt"])
def test_each_dependency_style_installs_and_the_app_starts(
        style: str, tmp_path: Path, shared_cache: dict[str, str]):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "main.py").write_text(APP)
    for name, text in DEPENDENCY_STYLES[style].items():
        (checkout / name).write_text(text)
    if style == "uv.lock":
        subprocess.run([environment.uv_binary() or "uv", "lock", "--quiet"], cwd=checkout,
                       check=True, timeout=120)
    before = snapshot(checkout)
    out = tmp_path / "out"
    proc = run_cli("test", str(checkout), "--output-dir", str(out), env=shared_cache)
    assert proc.returncode == 0, proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert [r["endpoint"] for r in report["test_results"]] == ["/health"]
    install = next(s for s in report["stages"] if s["stage"] == "install")
    assert "new environment" in install["note"]
    # The user's checkout is only read: no egg-info, build/, __pycache__, lock or venv written.
    assert snapshot(checkout) == before


@pytest.mark.slow
def test_install_failure_reports_the_installer_output(tmp_path: Path, shared_cache: dict[str, str]):
    checkout = tmp_path / "checkout"
    checkout.mkdir()
    (checkout / "main.py").write_text(APP)
    (checkout / "requirements.txt").write_text("fastapi===>>1\n")
    out = tmp_path / "out"
    proc = run_cli("test", str(checkout), "--output-dir", str(out), env=shared_cache)
    assert proc.returncode == 3
    assert "Traceback" not in proc.stderr + proc.stdout
    assert "[install] Dependency installation failed" in proc.stderr
    report = json.loads((out / "report.json").read_text())
    assert report["failed_stage"] == "install"
    assert "fastapi===>>1" in report["error_detail"]
    assert "fastapi===>>1" in (out / "report.md").read_text()
    assert (out / "install.log").is_file()
    assert not list(checkout.glob("*.egg-info"))
    shutil.rmtree(out)


@pytest.mark.slow
def test_a_cloned_repositorys_config_file_applies(tmp_path: Path, fixture_python: Path):
    """The config file is read after the clone: here it chooses the app's folder and a setting."""
    work = tmp_path / "work"
    bare = tmp_path / "remote.git"
    git(tmp_path, "init", "--quiet", "--bare", "-b", "main", str(bare))
    git(tmp_path, "init", "--quiet", "-b", "main", str(work))
    (work / "service").mkdir()
    (work / "service" / "main.py").write_text(APP + '''

@app.get("/setting")
def setting() -> dict[str, str]:
    import os

    if os.environ.get("GREETING") != "configured":
        raise RuntimeError("the config file's env did not reach the app")
    return {"greeting": os.environ["GREETING"]}
''')
    (work / ".api-mcp-test.yml").write_text(
        "working-directory: service\nenv:\n  GREETING: configured\n")
    git(work, "add", ".")
    git(work, "commit", "--quiet", "-m", "App with a config file")
    git(work, "push", "--quiet", str(bare), "main")
    proc = run_cli("test", bare.as_uri(), "--python", str(fixture_python),
                   "--output-dir", str(tmp_path / "out"))
    assert proc.returncode == 0, proc.stdout + proc.stderr
    result = json.loads((tmp_path / "out" / "report.json").read_text())
    assert {r["endpoint"] for r in result["test_results"]} == {"/health", "/setting"}
