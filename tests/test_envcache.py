"""Cache isolation (runner/envcache.py): per-trust-domain keys, sealed entries, a manifest
verified before reuse; a planted `.pth` never runs in a later run."""

from __future__ import annotations

import os
import pwd
import subprocess
import sys
import tempfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from runner import envcache, environment, procs, sandbox
from runner.context import from_env
from runner.errors import RunnerError

PTH = "import sys; sys.stderr.write('PLANTED-PTH-RAN\\n')\n"


def fake_venv(root: Path) -> Path:
    venv = root / "envs" / "0123456789abcdef"
    site = venv / "lib" / "python3" / "site-packages"
    site.mkdir(parents=True)
    (site / "pkg.py").write_text("x = 1\n")
    (venv / "bin").mkdir()
    (venv / "bin" / "python").symlink_to(sys.executable)
    return venv


def test_the_key_separates_trust_domains(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("fastapi\n")
    key = lambda scope: environment.environment_key(tmp_path, "/usr/bin/python3", None,
                                                    scope=scope)
    assert key("octo/api#pr-1") == key("octo/api#pr-1")
    assert len({key("octo/api#pr-1"), key("octo/api#pr-2"), key("octo/api@main"),
                key("other/api#pr-1"), key("local:/src/api")}) == 5


def test_scopes_of_runs(tmp_path: Path) -> None:
    assert envcache.scope_for("https://x-access-token:s3cret@github.com/o/r.git", 7, None, None,
                              tmp_path) == "https://github.com/o/r.git#pr-7"
    assert envcache.scope_for(None, None, None, None, tmp_path) == f"local:{tmp_path.resolve()}"
    event = tmp_path / "event.json"
    event.write_text('{"number": 4, "pull_request": {"number": 4, "head": {"sha": "a"}, '
                     '"base": {}}}')
    ctx = from_env({"GITHUB_WORKSPACE": str(tmp_path), "GITHUB_REPOSITORY": "octo/api",
                    "GITHUB_EVENT_PATH": str(event)})
    assert ctx.run.cache_scope == "octo/api#pr-4"
    push = from_env({"GITHUB_WORKSPACE": str(tmp_path), "GITHUB_REPOSITORY": "octo/api",
                     "GITHUB_REF_NAME": "main"})
    assert push.run.cache_scope == "octo/api@main"


@pytest.mark.parametrize("tamper", ["plant a .pth", "edit a module, keep its mtime",
                                    "replace the interpreter link", "remove a file"])
def test_the_manifest_sees_any_change(tmp_path: Path, tamper: str) -> None:
    venv = fake_venv(tmp_path)
    envcache.record(venv)
    assert envcache.verify(venv)
    site = venv / "lib" / "python3" / "site-packages"
    if tamper == "plant a .pth":
        (site / "zzz-evil.pth").write_text(PTH)
    elif tamper == "edit a module, keep its mtime":
        before = (site / "pkg.py").stat()
        (site / "pkg.py").write_text("x = 2\n")  # same size
        os.utime(site / "pkg.py", ns=(before.st_atime_ns, before.st_mtime_ns))
    elif tamper == "replace the interpreter link":
        (venv / "bin" / "python").unlink()
        (venv / "bin" / "python").symlink_to("/bin/sh")
    else:
        (site / "pkg.py").unlink()
    assert not envcache.verify(venv)


def test_no_manifest_no_reuse(tmp_path: Path) -> None:
    venv = fake_venv(tmp_path)
    assert not envcache.verify(venv)
    envcache.record(venv)
    assert envcache.manifest_path(venv).parent == venv.parent  # outside the environment


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A folder the sandbox user can reach (pytest's tmp_path is root-only)."""
    import shutil

    folder = Path(tempfile.mkdtemp(prefix="api-mcp-test-envcache-"))
    folder.chmod(0o755)
    try:
        yield folder
    finally:
        shutil.rmtree(folder, ignore_errors=True)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root and a sandbox user")
def test_a_sealed_environment_is_not_writable_by_the_sandbox_user(
        shared_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    try:
        pwd.getpwnam("nobody")
    except KeyError:
        pytest.skip("no user `nobody`")
    monkeypatch.setenv(sandbox.SANDBOX_USER_VARIABLE, "nobody")
    venv = fake_venv(shared_dir)
    envcache.protect_root(venv.parent)
    sandbox.hand_over(venv)  # as the installers leave it: the sandbox user's
    envcache.record(venv)
    site = venv / "lib" / "python3" / "site-packages"
    assert site.stat().st_uid == 0 and site.stat().st_mode & 0o022 == 0
    plant = procs.run(["/bin/sh", "-c", (f"printf '%s' \"$1\" > {site}/evil.pth; "
                       f"echo x >> {site}/pkg.py; rm -f {envcache.manifest_path(venv)}"), "sh",
                       PTH], cwd=shared_dir, env=sandbox.scrubbed_env(), timeout=60,
                      stage="test")
    assert plant.returncode != 0 and "ermission denied" in plant.output
    assert not (site / "evil.pth").exists() and envcache.verify(venv)
    # What the sandbox user may read, it still can: the app runs from it.
    read = procs.run(["/bin/cat", str(site / "pkg.py")], cwd=shared_dir,
                     env=sandbox.scrubbed_env(), timeout=60, stage="test")
    assert read.returncode == 0 and "x = 1" in read.output


@pytest.mark.slow
def test_a_planted_pth_never_runs_in_a_later_run(tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    """A real environment (uv), a `.pth` planted in its site-packages as the app would, then
    the next run of the same project: rebuilt, the `.pth` gone; the run after reuses it."""
    monkeypatch.setenv("API_MCP_TEST_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(sandbox.SANDBOX_USER_VARIABLE, raising=False)
    repo = tmp_path / "api"
    repo.mkdir()
    (repo / "requirements.txt").write_text("")

    def prepare() -> environment.TargetEnv:
        return environment.prepare(repo, python=None, install=True, install_command=None,
                                   timeout=600, log_path=tmp_path / "install.log")

    first = prepare()
    assert not first.reused
    site = Path(subprocess.run([str(first.python), "-c", ("import site; "
                                "print(site.getsitepackages()[0])")], capture_output=True,
                               text=True, check=True).stdout.strip())
    (site / "zzz-planted.pth").write_text(PTH)
    ran = subprocess.run([str(first.python), "-c", "pass"], capture_output=True, text=True,
                         check=True)
    assert "PLANTED-PTH-RAN" in ran.stderr  # the plant works, in this run's own environment

    second = prepare()
    assert not second.reused and "had been modified since it was built: rebuilt" in second.source
    assert not (site / "zzz-planted.pth").exists()
    clean = subprocess.run([str(second.python), "-c", "pass"], capture_output=True, text=True,
                           check=True)
    assert "PLANTED-PTH-RAN" not in clean.stderr
    assert prepare().reused


@pytest.mark.slow
def test_another_projects_install_leaves_a_cached_environment_reusable(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Two projects installing the same packages from uv's cache: building the second must not
    change the first (uv's hard links would change the shared files' ctime, and the manifest
    would call the first environment modified and rebuild it on every run)."""
    monkeypatch.setenv("API_MCP_TEST_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv(sandbox.SANDBOX_USER_VARIABLE, raising=False)

    def prepare(name: str) -> environment.TargetEnv:
        repo = tmp_path / name
        repo.mkdir(exist_ok=True)
        (repo / "requirements.txt").write_text("")
        return environment.prepare(repo, python=None, install=True, install_command=None,
                                   timeout=600, log_path=tmp_path / f"{name}.log")

    assert not prepare("one").reused
    assert not prepare("two").reused
    again = prepare("one")
    assert again.reused, again.source


def test_a_second_build_of_the_same_entry_waits_for_the_first(tmp_path: Path) -> None:
    """Two runs with one key: the second waits for the first's lock, and gives up with a
    clear message (not a deleted half-built environment) when it is held too long."""
    venv = tmp_path / "envs" / "key"
    venv.parent.mkdir()
    order: list[str] = []

    def second() -> None:
        with envcache.building(venv, timeout=120):
            order.append("second")

    with envcache.building(venv, timeout=5):
        waiter = threading.Thread(target=second)
        waiter.start()
        waiter.join(0.5)
        assert waiter.is_alive()  # blocked on the lock the first run holds
        order.append("first")
    waiter.join(60)
    assert order == ["first", "second"]

    with (envcache.building(venv, timeout=5), pytest.raises(RunnerError) as refused,
          envcache.building(venv, timeout=0.3)):
        pass
    assert refused.value.stage == "install"
    assert "Another run has been building the same environment" in refused.value.message
    assert "API_MCP_TEST_CACHE" in refused.value.hint
