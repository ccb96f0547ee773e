"""The run copy and the privilege drop: the project's code writes only into the run's workspace,
and, when the runner is root, cannot read the runner's environment (its tokens and keys).

The rest of the suite runs with the drop off (see conftest.py): pytest's temporary folders are
private to root, so a sandbox user could not reach them. These tests make their own folders
that every user can enter.
"""

from __future__ import annotations

import hashlib
import json
import os
import pwd
import shutil
import subprocess
import sys
import sysconfig
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from runner import environment, sandbox
from runner.errors import RunnerError
from tests.corpus import FAKE_SECRETS
from tests.helpers import FIXTURES, REPO, run_cli

APP = FIXTURES / "privsep"
# The runner's tokens and keys (the corpus's fake values).
SECRETS = {name: FAKE_SECRETS[name] for name in ("ANTHROPIC_API_KEY", "GITHUB_TOKEN",
                                                 "INPUT_GITHUB-TOKEN", "INPUT_ANTHROPIC-API-KEY")}
needs_root = pytest.mark.skipif(os.geteuid() != 0, reason="the privilege drop only happens when "
                                "the runner is root; this run is not")


def snapshot(folder: Path) -> dict[str, str]:
    """Every entry under `folder`: a file's sha256, a link's target, a folder's mark."""
    found = {}
    for path in sorted(folder.rglob("*")):
        key = str(path.relative_to(folder))
        if path.is_symlink():
            found[key] = "link:" + os.readlink(path)
        elif path.is_dir():
            found[key] = "dir"
        else:
            found[key] = hashlib.sha256(path.read_bytes()).hexdigest()
    return found


@pytest.mark.slow
def test_a_local_run_leaves_the_checkout_byte_identical(fixture_python: Path,
                                                        tmp_path: Path) -> None:
    checkout = tmp_path / "checkout"
    shutil.copytree(APP, checkout, symlinks=True)
    (checkout / "link-to-main.py").symlink_to("main.py")
    before = snapshot(checkout)
    done = run_cli("test", str(checkout), "--python", str(fixture_python), "--agent",
                   "deterministic", "--output-dir", str(tmp_path / "out"), "--workspace-root",
                   str(tmp_path / "ws"), "--keep-workspace")
    assert done.returncode == 0, done.stdout + done.stderr
    assert snapshot(checkout) == before
    # The setup command, the import and the request wrote their files into the run copy.
    (copy,) = (tmp_path / "ws").glob("api-mcp-test-*/repo")
    assert (copy / "app.db").stat().st_size > 0
    assert "leak called" in (copy / "runtime.log").read_text()
    assert (copy / "setup-output.txt").exists()
    assert (copy / "link-to-main.py").is_symlink()
    assert "copied in" in done.stderr
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    (result,) = report["test_results"]
    assert result["source"]["file"] == "main.py"  # relative to the repo: names the user's file
    assert report["repo_info"]["path"] == str(checkout)


# -- as root ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def shared_dir() -> Iterator[Path]:
    """A temporary folder every user can enter (pytest's own are private to root)."""
    folder = Path(tempfile.mkdtemp(prefix="api-mcp-test-privsep-"))
    folder.chmod(0o755)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def nobody() -> sandbox.Sandbox:
    try:
        entry = pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("there is no user `nobody` to run the project's code as")
    return sandbox.Sandbox(entry.pw_name, entry.pw_uid, entry.pw_gid)


def reachable_runner_python(box: sandbox.Sandbox, folder: Path) -> str:
    """The runner's interpreter, or, when it lives where `nobody` cannot go (a pyenv under
    /root), an environment of a system Python of the same version that sees the runner's
    packages: what the Docker image looks like."""
    if box.can_reach(Path(sys.executable), execute=True) is None:
        return sys.executable
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    base = next((p for p in (Path("/usr/local/bin") / version, Path("/usr/bin") / version)
                 if p.exists() and box.can_reach(p, execute=True) is None), None)
    uv = environment.uv_binary()
    if base is None or uv is None:
        pytest.skip(f"the runner's Python is out of reach of `nobody` and there is no system "
                    f"{version} to stand in for it")
    venv = folder / "runner-python"
    subprocess.run([uv, "venv", "--quiet", "--python", str(base), str(venv)], check=True)
    site = Path(sysconfig.get_paths(vars={"base": str(venv), "platbase": str(venv)})["purelib"])
    (site / "runner-packages.pth").write_text("\n".join(dict.fromkeys(
        (sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]))) + "\n")
    return str(venv / "bin" / "python")


@dataclass(frozen=True)
class RootRun:
    """What a run as root with `nobody` as the sandbox user needs."""

    box: sandbox.Sandbox
    python: str  # the runner's interpreter, one `nobody` can run (see reachable_runner_python)
    link: Path  # an install command's script: the new environment sees the fixture frameworks
    env: dict[str, str]  # the runner's environment: the sandbox user, a cache in `folder`


def root_run(fixture_python: Path, folder: Path) -> RootRun:
    """Prepare a run as root in `folder` (one every user can enter); skips the test when
    `nobody` cannot reach the fixture environment."""
    box = nobody()
    runner_python = reachable_runner_python(box, folder)
    fixture_site = subprocess.run(
        [str(fixture_python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True, text=True, check=True).stdout.strip()
    if box.can_reach(Path(fixture_site)) is not None:
        pytest.skip(f"the fixture environment ({fixture_site}) is out of reach of `nobody`")
    link = folder / "link_fixture_env.py"
    link.write_text("import pathlib, sysconfig\n"
                    "pathlib.Path(sysconfig.get_paths()['purelib'], 'fixture.pth')"
                    f".write_text({fixture_site!r})\n")
    env = {k: v for k, v in os.environ.items() if k != "UV_CACHE_DIR"}
    env.update(API_MCP_TEST_SANDBOX_USER=box.name, API_MCP_TEST_CACHE=str(folder / "cache"))
    return RootRun(box, runner_python, link, env)


@needs_root
def test_the_sandbox_command_drops_to_the_user_with_no_groups(shared_dir: Path) -> None:
    box = nobody()
    launcher = [sys.executable, "-I", "-S", str(REPO / "runner" / "sandbox_exec.py"),
                str(box.uid), str(box.gid), "--"]
    for prefix in (box.command([]), launcher):
        script = "id -u; id -g; id -G; grep NoNewPrivs /proc/self/status"
        out = subprocess.run([*prefix, "sh", "-c", script],
                             capture_output=True, text=True, check=True).stdout.split("\n")
        assert out[:3] == [str(box.uid), str(box.gid), str(box.gid)], prefix
        assert out[3].split() == ["NoNewPrivs:", "1"], prefix


@needs_root
def test_an_unreachable_interpreter_is_a_clear_error(shared_dir: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sandbox.SANDBOX_USER_VARIABLE, nobody().name)
    private = shared_dir / "private"
    (private / "bin").mkdir(parents=True)
    private.chmod(0o700)
    with pytest.raises(RunnerError) as caught:
        sandbox.require_reachable(private / "bin" / "python", "install", "the interpreter",
                                execute=True)
    assert caught.value.stage == "install"
    assert f"{private} is drwx------" in caught.value.message
    assert "chmod o+x" in caught.value.hint


@needs_root
@pytest.mark.slow
def test_untrusted_code_cannot_read_the_runners_secrets(fixture_python: Path,
                                                        shared_dir: Path) -> None:
    run = root_run(fixture_python, shared_dir)
    box = run.box
    checkout = shared_dir / "checkout"
    shutil.copytree(APP, checkout)
    before = snapshot(checkout)
    side = shared_dir / "side-channel"
    side.mkdir()
    side.chmod(0o777)
    leaks = side / "leak.jsonl"
    # The install command (untrusted too) reports what it can read, then lets the new
    # environment see the fixture frameworks (no download of fastapi needed).
    install = f"LEAK_REPORT={leaks} python leak.py install && python {run.link}"
    env = {**run.env, **SECRETS}
    # An output folder the sandbox user cannot enter: the MCP server works in the workspace
    # and the call log is copied out at the end.
    (shared_dir / "private-reports").mkdir(mode=0o700)
    out = shared_dir / "private-reports" / "out"
    cli = subprocess.Popen(
        [run.python, "-m", "runner.cli", "test", str(checkout), "--agent", "deterministic",
         "--install-command", install, "--app-env", f"LEAK_REPORT={leaks}",
         "--output-dir", str(out), "--workspace-root", str(shared_dir / "ws")],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    stdout, stderr = cli.communicate(timeout=240)
    assert cli.returncode == 0, stdout + stderr

    records = [json.loads(line) for line in leaks.read_text().splitlines()]
    assert {"install", "setup", "import", "app"} <= {r["label"] for r in records}
    for record in records:
        assert record["uid"] == box.uid, record["label"]
        assert record["home"].startswith(str(shared_dir / "ws")), record
        assert record["cwd"].startswith(str(shared_dir / "ws")), record
        runner = next(p for p in record["chain"] if p["pid"] == cli.pid)
        assert runner["uid"] == 0 and not runner["ok"], record["label"]
        for process in record["chain"]:
            if process.get("uid") == 0:  # the runner, pytest, ...: the kernel says no
                assert not process["ok"] and "PermissionError" in process["error"], process
    # The MCP server the agent's calls went through runs as the sandbox user too.
    apps = [r for r in records if r["label"] == "app"]  # one per call of the endpoint
    assert apps
    for app in apps:
        ours = [s["uid"] for s in app["mcp_servers"] if str(shared_dir) in s["cmdline"]]
        assert ours and set(ours) == {box.uid}

    raw = leaks.read_text()
    written = "\n".join(p.read_text(errors="replace") for p in out.rglob("*") if p.is_file())
    for secret in SECRETS.values():
        assert secret not in raw
        assert secret not in written and secret not in stdout + stderr
    assert snapshot(checkout) == before
    assert len((out / "calls.jsonl").read_text().splitlines()) == len(apps)
    assert not list((shared_dir / "ws").iterdir())  # the workspace is removed
