"""The PR's base in the repo stage: its tree, exported from git, and the lines the PR changed.

The user's repository is only read (`git archive`, `git diff`, no index refresh): the base's
files land in the run's workspace. A base that is not in the local history is fetched only where
the run owns the clone (a URL given to the CLI, the action's checkout).
"""

from __future__ import annotations

import re
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path

from runner import gitcmd
from runner.errors import RunnerError, UsageError
from runner.models import Endpoint

STAGE = "repo"
_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")
# A base's archive is read into memory before it is unpacked; a larger one is refused.
_MAX_ARCHIVE_BYTES = 512 * 1024 * 1024
# A handler's body is taken to reach the next handler in its file, or this many lines.
_HANDLER_LINES = 60


@dataclass(frozen=True)
class BaseCheckout:
    root: Path  # the base's tree (repository root) in the workspace
    folder: Path  # the app's folder in it (the working directory)
    commit: str
    changed_lines: dict[str, list[tuple[int, int]]]  # repo-relative file -> [first, last] lines


def git_root(path: Path) -> Path | None:
    """The work tree holding `path` (found by its `.git`), without asking git: a repository
    owned by another user is still found."""
    for folder in (path, *path.parents):
        if (folder / ".git").exists():
            return folder
    return None


def _git(root: Path, *args: str, timeout: float,
         env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    try:
        return gitcmd.run(root, *args, timeout=timeout, env=env)
    except subprocess.TimeoutExpired:
        raise RunnerError(STAGE, f"git {args[0]} did not finish within {timeout:.0f} s.",
                          "Check the repository, or compare with a stored report "
                          "(--baseline).") from None


def check_out_base(source: Path, ref: str, dest: Path, *, timeout: float,
                   fetch_env: dict[str, str] | None = None) -> BaseCheckout:
    """Export `ref` of the repository holding `source` into `dest`. With `fetch_env` (the run
    owns the clone) a ref missing locally is fetched from origin with that environment."""
    if ref.startswith("-") or not ref.strip():
        raise UsageError(f"--base {ref!r} is not a branch, tag or commit.",
                         "Name a ref of the same repository, e.g. main or a sha.")
    root = git_root(source.resolve())
    if root is None:
        raise UsageError(f"--base {ref}: {source} is not in a git repository.",
                         "Compare with a stored report instead (--baseline report.json), or "
                         "run from a clone.")
    commit = _resolve(root, ref, timeout)
    if commit is None and fetch_env is not None:
        fetched = _git(root, "fetch", "--quiet", "--depth", "1", "--no-tags", "origin", ref,
                       timeout=timeout, env=fetch_env)
        if fetched.returncode == 0:
            commit = _resolve(root, "FETCH_HEAD", timeout)
    if commit is None:
        raise UsageError(f"--base {ref}: no such branch, tag or commit in {root.name}.",
                         "Name a ref of the same repository (e.g. main, origin/main, a sha); "
                         "fetch it first if it exists only on the remote.")
    _export(root, ref, commit, dest, timeout)
    relative = source.resolve().relative_to(root)
    folder = dest / relative
    if not folder.is_dir():
        raise RunnerError(STAGE, f"--base {ref}: {relative.as_posix()} does not exist at "
                          f"{commit[:12]}.", "Compare with a base that has the app's folder, or "
                          "with a stored report (--baseline).")
    return BaseCheckout(dest, folder, commit, changed_lines(root, commit, timeout))


def _export(root: Path, ref: str, commit: str, dest: Path, timeout: float) -> None:
    """`git archive` of `commit` into a file beside `dest` (never held in memory), unpacked."""
    dest.mkdir(parents=True, exist_ok=True)
    archive = dest.with_name(dest.name + ".tar")
    cmd = gitcmd.command(root, "archive", "--format=tar", commit)
    try:
        with archive.open("wb") as out:
            done = subprocess.run(cmd, stdout=out, stderr=subprocess.PIPE, timeout=timeout,
                                  check=False, stdin=subprocess.DEVNULL)
        too_big = archive.stat().st_size > _MAX_ARCHIVE_BYTES
        if done.returncode != 0 or too_big:
            raise RunnerError(STAGE, f"--base {ref}: git archive of {commit[:12]} failed"
                              + (" (larger than the archive cap)" if too_big else "") + ".",
                              "Check the repository, or compare with a stored report "
                              "(--baseline).", detail=done.stderr.decode(errors="replace")[-2000:])
        with tarfile.open(archive) as tar:
            tar.extractall(dest, filter="data")  # no absolute paths, links out, or devices
    except subprocess.TimeoutExpired:
        raise RunnerError(STAGE, f"git archive did not finish within {timeout:.0f} s.",
                          "Compare with a stored report (--baseline).") from None
    finally:
        archive.unlink(missing_ok=True)


def _resolve(root: Path, ref: str, timeout: float) -> str | None:
    out = _git(root, "rev-parse", "--quiet", "--verify", f"{ref}^{{commit}}", timeout=timeout)
    return out.stdout.strip() or None if out.returncode == 0 else None


def changed_lines(root: Path, commit: str, timeout: float) -> dict[str, list[tuple[int, int]]]:
    """Lines of the work tree (committed or not) that differ from `commit`, by file."""
    out = _git(root, "diff", "-U0", "--no-color", "--no-ext-diff", commit, "--", timeout=timeout)
    if out.returncode != 0:
        return {}
    return parse_diff(out.stdout)


def parse_diff(text: str) -> dict[str, list[tuple[int, int]]]:
    """`git diff -U0` output -> new-file line ranges per file (a deletion marks its line)."""
    ranges: dict[str, list[tuple[int, int]]] = {}
    current: str | None = None
    for line in text.splitlines():
        if line.startswith("+++ "):
            name = line[4:]
            current = name[2:] if name.startswith("b/") else None
        elif current is not None and (match := _HUNK.match(line)):
            start, count = int(match.group(1)), int(match.group(2) or "1")
            ranges.setdefault(current, []).append((start, start + max(count, 1) - 1))
    return ranges


def touched_operations(endpoints: list[Endpoint], changed: dict[str, list[tuple[int, int]]],
                       folder: str) -> set[str]:
    """Operations whose handler's lines the PR changed. A handler reaches from its first line
    to the next handler in the same file (or a fixed number of lines)."""
    prefix = "" if folder in ("", ".") else folder.rstrip("/") + "/"
    starts: dict[str, list[int]] = {}
    located = [(e, e.source.file, e.source.line) for e in endpoints
               if e.source is not None and e.source.line is not None]
    for _, file, line in located:
        starts.setdefault(prefix + file, []).append(line)
    touched = set()
    for endpoint, file, line in located:
        later = [s for s in starts[prefix + file] if s > line]
        end = min([*later, line + _HANDLER_LINES]) - 1
        if any(first <= end and last >= line for first, last in changed.get(prefix + file, [])):
            touched.add(endpoint.key)
    return touched
