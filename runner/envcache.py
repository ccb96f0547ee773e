"""Cache isolation: an environment built for one run is never one another run's code wrote.

The environment cache (`API_MCP_TEST_CACHE/envs/<key>`) is reused across runs, and the code under
test runs in those environments: a pull request that plants a `.pth` in site-packages (from the
app, a `setup:` step, or its own build) would run it in every later run reusing the environment.
Three layers:

- **Per-trust-domain keys**: the key includes the run's scope (`scope_for`): the repository and
  pull request (or branch/commit) in the action and for a URL, the folder for a local run. Another
  PR, the base branch or another project never share an environment with this one.
- **Sealed entries**: once built, an environment is owned by the runner and not writable by the
  sandbox user the code runs as (when the runner is root, see runner/sandbox.py).
- **Verified before reuse**: a manifest of every entry (path, type, mode, size, inode, mtime and
  ctime; ctime cannot be set by an unprivileged process) is stored beside the environment, where
  its code cannot write; an environment that does not match it is rebuilt.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import stat
import time
from collections.abc import Iterator
from pathlib import Path

from runner import sandbox
from runner.errors import RunnerError

MANIFEST_SUFFIX = ".manifest"


def scope_for(repo_url: str | None, pr_number: int | None, branch: str | None,
              commit: str | None, folder: Path) -> str:
    """The trust domain of a run: whose code it is (see the module docstring)."""
    if repo_url:
        from runner.repo import split_credentials

        where = (f"pr-{pr_number}" if pr_number is not None else
                 f"commit-{commit}" if commit else f"branch-{branch}" if branch else "default")
        return f"{split_credentials(repo_url)[0]}#{where}"
    return f"local:{os.path.realpath(folder)}"


def manifest(venv: Path) -> str:
    """A digest of every entry below `venv` (names, types, modes, sizes, inodes, times)."""
    digest = hashlib.sha256()
    count = 0
    for folder, dirs, files in os.walk(venv):
        dirs.sort()
        for name in sorted((*dirs, *files)):
            path = os.path.join(folder, name)
            info = os.lstat(path)
            target = os.readlink(path) if stat.S_ISLNK(info.st_mode) else ""
            digest.update(f"{os.path.relpath(path, venv)}\0{info.st_mode}\0{info.st_size}\0"
                          f"{info.st_ino}\0{info.st_mtime_ns}\0{info.st_ctime_ns}\0{target}\n"
                          .encode("utf-8", "surrogateescape"))
            count += 1
    return f"{count} {digest.hexdigest()}"


@contextlib.contextmanager
def building(venv: Path, timeout: float) -> Iterator[None]:
    """Hold the build lock of one cache entry: two runs with the same key (matrix jobs on one
    self-hosted runner, two local runs) would otherwise delete each other's half-built
    environment. Waits at most `timeout` seconds for the other run."""
    lock_path = venv.with_name(venv.name + ".lock")
    with open(lock_path, "a") as lock:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise RunnerError(
                        "install",
                        f"Another run has been building the same environment ({venv}) for more "
                        f"than {timeout:.0f} s.",
                        "Wait for it to finish, or point API_MCP_TEST_CACHE at another folder.",
                    ) from None
                time.sleep(0.2)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def manifest_path(venv: Path) -> Path:
    return venv.with_name(venv.name + MANIFEST_SUFFIX)


def seal(venv: Path) -> None:
    """Make the built environment the runner's, readable but not writable by the sandbox user
    (nothing to do without one: the code then runs as the runner's own user, and the manifest
    is the guard)."""
    box = sandbox.user()
    if box is None:
        return
    uid, gid = os.getuid(), os.getgid()
    for folder, dirs, files in os.walk(venv):
        for path in (folder, *(os.path.join(folder, n) for n in (*dirs, *files))):
            info = os.lstat(path)
            os.chown(path, uid, gid, follow_symlinks=False)
            if stat.S_ISLNK(info.st_mode):
                continue
            executable = stat.S_ISDIR(info.st_mode) or info.st_mode & stat.S_IXUSR
            os.chmod(path, 0o755 if executable else 0o644)


def record(venv: Path) -> None:
    """Seal the built environment and store its manifest beside it (last: the manifest also
    marks the environment complete)."""
    seal(venv)
    staged = manifest_path(venv).with_suffix(".tmp")
    staged.write_text(manifest(venv) + "\n")
    os.replace(staged, manifest_path(venv))


def verify(venv: Path) -> bool:
    """Whether `venv` is complete and exactly as it was built."""
    path = manifest_path(venv)
    try:
        expected = path.read_text().strip()
    except OSError:
        return False
    return venv.is_dir() and manifest(venv) == expected


def protect_root(envs: Path) -> None:
    """The folder of environments and manifests: the runner's, not writable by the sandbox
    user (a sandbox that could write there could swap an environment or its manifest)."""
    envs.mkdir(parents=True, exist_ok=True)
    if sandbox.user() is None:
        return
    info = envs.stat()
    if info.st_uid != os.getuid() or info.st_mode & 0o022:
        os.chown(envs, os.getuid(), os.getgid())
        envs.chmod(0o755)
