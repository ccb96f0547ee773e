"""Reading the repository's files with the pull request's rights (runner/untrusted.py), and the
config loader using it for the config file, .env, env-files, spec and scenarios."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from runner import sandbox, untrusted
from runner.config import apply_project_config
from runner.errors import UsageError
from runner.models import RunConfig

SECRET = "root-only-secret-4242"


@pytest.fixture(params=["O_PATH", "portable"], autouse=True)
def opening(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Every test both ways: Linux's O_PATH, and the open without it other systems get."""
    if request.param == "portable":
        monkeypatch.setattr(untrusted, "_O_PATH", 0)
    return str(request.param)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    (root / "sub").mkdir(parents=True)
    (root / "sub" / "real.env").write_text("A=1\n")
    (tmp_path / "outside.txt").write_text(f"TOKEN={SECRET}\n")
    return root


def refused(root: Path, path: str | Path, match: str) -> str:
    with pytest.raises(untrusted.Refused, match=match) as caught:
        untrusted.read_bytes(root, path, "the file")
    assert caught.value.exit_code == 2
    text = caught.value.user_message()
    assert SECRET not in text
    return text


def test_a_regular_file_inside_is_read(repo: Path) -> None:
    assert untrusted.read_bytes(repo, "sub/real.env", "the file") == b"A=1\n"
    assert untrusted.read_text(repo, repo / "sub" / "real.env", "the file") == "A=1\n"
    assert untrusted.exists(repo, "sub/real.env") and not untrusted.exists(repo, "nope.env")
    assert not untrusted.exists(repo, "sub/real.env/x")


def test_symlinks_inside_the_repository_are_followed(repo: Path) -> None:
    (repo / ".env").symlink_to("sub/real.env")
    (repo / "abs.env").symlink_to(repo / "sub" / "real.env")
    (repo / "linkdir").symlink_to("sub")
    (repo / "sub" / "up.env").symlink_to("../.env")
    for name in (".env", "abs.env", "linkdir/real.env", "sub/up.env", "sub/../sub/real.env"):
        assert untrusted.read_bytes(repo, name, "the file") == b"A=1\n", name


@pytest.mark.parametrize("make", ["absolute link", "relative link", "dir link", "dotdot",
                                  "absolute path", "chain"])
def test_nothing_outside_the_repository_is_read(repo: Path, make: str) -> None:
    outside = repo.parent / "outside.txt"
    path = {"absolute link": ".env", "relative link": ".env", "dir link": "out/outside.txt",
            "dotdot": "../outside.txt", "absolute path": str(outside),
            "chain": "a.env"}[make]
    if make == "absolute link":
        (repo / ".env").symlink_to(outside)
    elif make == "relative link":
        (repo / ".env").symlink_to("../outside.txt")
    elif make == "dir link":
        (repo / "out").symlink_to(repo.parent)
    elif make == "chain":
        (repo / "a.env").symlink_to("sub/b.env")
        (repo / "sub" / "b.env").symlink_to("../../outside.txt")
    refused(repo, path, "outside the repository")


def test_a_symlink_loop_is_refused(repo: Path) -> None:
    (repo / "loop").symlink_to("loop")
    refused(repo, "loop", "too many symbolic links")


def test_a_fifo_is_refused_without_blocking(repo: Path) -> None:
    os.mkfifo(repo / ".env")
    refused(repo, ".env", "is a FIFO, not a regular file")
    refused(repo, "sub", "is a folder")


def test_the_size_is_capped(repo: Path) -> None:
    (repo / "big.yaml").write_bytes(b"x" * 5000)
    with pytest.raises(untrusted.Refused, match="larger than 4 KB"):
        untrusted.read_bytes(repo, "big.yaml", "the spec file", limit=4096)
    assert len(untrusted.read_bytes(repo, "big.yaml", "the spec file", limit=5000)) == 5000


def test_not_utf8_is_refused_without_quoting(repo: Path) -> None:
    (repo / "bin.env").write_bytes(SECRET.encode() + b"\xff")
    with pytest.raises(untrusted.Refused, match="is not UTF-8 text") as caught:
        untrusted.read_text(repo, "bin.env", "the env file")
    assert SECRET not in caught.value.user_message()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to own files as another user")
def test_the_sandbox_users_rights_apply(repo: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(sandbox.SANDBOX_USER_VARIABLE, "nobody")
    secret = repo / "root-only.env"
    secret.write_text(f"TOKEN={SECRET}\n")
    secret.chmod(0o600)  # ours (root), not the sandbox user's
    refused(repo, "root-only.env", "not readable by the sandbox user")
    secret.chmod(0o644)
    assert untrusted.read_bytes(repo, "root-only.env", "the file").startswith(b"TOKEN=")


def test_a_file_swapped_for_a_symlink_meanwhile_never_yields_the_target(repo: Path) -> None:
    """A thread keeps replacing .env by a symlink to a file outside and back: every read gives
    the real contents or a refusal, never the outside file."""
    env = repo / ".env"
    env.write_text("A=1\n")
    stop = threading.Event()

    def swap() -> None:
        staged = repo / "staged"
        while not stop.is_set():
            staged.unlink(missing_ok=True)
            staged.symlink_to(repo.parent / "outside.txt")
            os.replace(staged, env)
            staged.write_text("A=1\n")
            os.replace(staged, env)

    swapper = threading.Thread(target=swap)
    swapper.start()
    outcomes = set()
    try:
        for _ in range(3000):
            try:
                outcomes.add(untrusted.read_bytes(repo, ".env", "the .env file"))
            except untrusted.Refused as exc:
                assert SECRET not in exc.user_message()
                outcomes.add(b"refused")
    finally:
        stop.set()
        swapper.join()
    assert outcomes <= {b"A=1\n", b"refused"}
    assert b"A=1\n" in outcomes


# -- the config loader ------------------------------------------------------------------------


def apply(root: Path) -> RunConfig:
    return apply_project_config(RunConfig(repo_path=root), boundary=root)


@pytest.mark.parametrize(("config", "link", "expected"), [
    ("app: a:b\n", ".env", "the .env file .* outside the repository"),
    ("env-files: [x.env]\n", "x.env", "the env file .* outside the repository"),
    ("spec: docs.yaml\n", "docs.yaml", "`spec` .* outside the repository"),
    ("scenarios: s.md\n", "s.md", "`scenarios` .* outside the repository"),
    (None, ".api-mcp-test.yml", "the config file .* outside the repository"),
    (None, "pyproject.toml", "pyproject.toml .* outside the repository"),
])
def test_config_files_pointing_outside_exit_2(repo: Path, config: str | None, link: str,
                                              expected: str) -> None:
    if config:
        (repo / ".api-mcp-test.yml").write_text(config)
    (repo / link).symlink_to(repo.parent / "outside.txt")
    with pytest.raises(UsageError, match=expected) as caught:
        apply(repo)
    assert caught.value.exit_code == 2 and SECRET not in caught.value.user_message()


def test_absolute_config_paths_are_refused(repo: Path) -> None:
    (repo / ".api-mcp-test.yml").write_text(f"env-files: [{repo.parent / 'outside.txt'}]\n"
                                            "spec: /etc/passwd\n")
    with pytest.raises(UsageError, match="give a path relative to the app's folder"):
        apply(repo)
    (repo / ".api-mcp-test.yml").write_text("spec: /etc/passwd\n")
    assert apply(repo).spec_location == "/etc/passwd"  # a URL path on the app, never a file


def test_parse_errors_never_quote_the_file(repo: Path) -> None:
    (repo / ".api-mcp-test.yml").write_text(f"app: [{SECRET}\n")
    with pytest.raises(UsageError, match=r"not valid YAML: .* at line \d+") as caught:
        apply(repo)
    assert SECRET not in caught.value.user_message()
    (repo / ".api-mcp-test.yml").write_text("app: a:b\n")
    (repo / ".env").write_text(f"{SECRET} is not a setting\n")
    with pytest.raises(UsageError, match=r"\.env line 1 is not NAME=VALUE") as caught:
        apply(repo)
    assert SECRET not in caught.value.user_message()


def test_a_fifo_env_file_does_not_block_the_config(repo: Path) -> None:
    os.mkfifo(repo / ".env")
    with pytest.raises(UsageError, match="is a FIFO"):
        apply(repo)


def test_install_and_discovery_read_project_files_with_its_rights(repo: Path) -> None:
    """.python-version, pyproject.toml and Pipfile.lock (install) and the files discovery reads
    like a developer (Dockerfile, Procfile, ...) are never followed out of the project."""
    from runner import environment, projectfiles, pythons

    outside = repo.parent / "outside.txt"
    (repo / ".python-version").symlink_to(outside)
    with pytest.raises(untrusted.Refused, match=".python-version .* outside the repository"):
        pythons.requested_python(repo)
    (repo / ".python-version").unlink()
    (repo / "pyproject.toml").symlink_to(outside)
    with pytest.raises(untrusted.Refused, match="pyproject.toml .* outside"):
        environment.install_plan(repo)
    (repo / "pyproject.toml").unlink()
    (repo / "Dockerfile").symlink_to(outside)
    os.mkfifo(repo / "Procfile")
    assert projectfiles.read_text(repo / "Dockerfile") == ""
    assert projectfiles.read_text(repo / "Procfile") == ""  # a FIFO: no read, no block
    (repo / "Procfile").unlink()
    (repo / "Procfile").write_text("web: uvicorn main:app\n")
    assert projectfiles.read_text(repo / "Procfile") == "web: uvicorn main:app\n"


def test_a_config_alias_bomb_or_self_reference_is_refused() -> None:
    """Issue 12, item 6: 350 bytes of YAML aliases would be 10^8 strings once walked or quoted."""
    import yaml

    from runner.untrusted import bounded

    lines, previous = ['a: &a ["x","x","x","x","x","x","x","x","x","x"]'], "a"
    for name in "bcdefgh":
        lines.append(f"{name}: &{name} [" + ",".join(f"*{previous}" for _ in range(10)) + "]")
        previous = name
    for text in ("\n".join([*lines, f"auth: *{previous}"]), "a: &a [*a]"):
        with pytest.raises(UsageError) as caught:
            bounded(yaml.safe_load(text), ".api-mcp-test.yml")
        assert caught.value.exit_code == 2 and "aliases" in caught.value.message
    shared = yaml.safe_load("base: &b {MODE: test}\nenv: *b\nother: *b\n")
    assert bounded(shared, ".api-mcp-test.yml") is shared  # a few aliases are fine
