"""Reading a file the repository under test names: with the pull request's rights, not ours.

The runner is often root, and every path in the project's config (`.env`, `env-files`, `spec`,
`scenarios`, the config file itself, dependency files) comes from the pull request. So a file is
read only when it is inside the repository (`root`), reached without following any symlink out
of it, a regular file (a FIFO or a device would block or read something else), below a size cap,
and readable by the sandbox user when there is one (see runner/sandbox.py). Each component is
opened with `O_PATH | O_NOFOLLOW` (elsewhere than Linux: a non-blocking read-only open, which a
symlink refuses with ELOOP) relative to its parent's descriptor; symlinks are resolved by
hand and must stay inside `root`; the file is checked and read through one descriptor, so a file
swapped for a symlink meanwhile is either refused or never seen. Errors name the file and the
reason, never its contents.
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path
from typing import Any

from runner import sandbox
from runner.errors import RunnerError, UsageError

FILE_LIMIT = 1 << 20  # env files, config files, scenarios, dependency files
SPEC_LIMIT = 32 << 20  # an OpenAPI document (the openapi package caps what it expands)
_MAX_LINKS = 40
_HINT = ("Keep the files the project's config names inside the repository, as regular files "
         "(symlinks only to files inside it).")
# Linux opens a component without touching it (a FIFO or a device is never opened for reading).
_O_PATH = getattr(os, "O_PATH", 0)
_KINDS = {stat.S_IFIFO: "a FIFO", stat.S_IFSOCK: "a socket", stat.S_IFCHR: "a device",
          stat.S_IFBLK: "a device", stat.S_IFDIR: "a folder"}


class Refused(UsageError):
    """A file of the repository that may not be read (the reason is in the message)."""


def _size(limit: int) -> str:
    return f"{limit >> 20} MB" if limit >= 1 << 20 else f"{limit >> 10} KB"


def _relative_parts(root: Path, path: str | Path) -> list[str]:
    """`path` (relative to `root`, or absolute under it) as components; `..` stays a component
    (resolved against the folders opened so far)."""
    given = Path(path)
    if given.is_absolute():
        text = os.path.abspath(given)
        bases = [b for b in dict.fromkeys((os.path.abspath(root), os.path.realpath(root)))
                 if text == b or text.startswith(b.rstrip("/") + "/")]
        if not bases:
            raise ValueError
        given = Path(os.path.relpath(text, bases[0]))
    return [p for p in given.parts if p not in ("", ".")]


def _permits(info: os.stat_result, want: int) -> bool:
    """Whether the sandbox user (when there is one) has `want` (r=4, x=1) on the object."""
    box = sandbox.user()
    if box is None:
        return True
    shift = 6 if info.st_uid == box.uid else 3 if info.st_gid == box.gid else 0
    return (info.st_mode >> shift) & want == want


def _open_in(root: Path, path: str | Path, what: str) -> int | None:
    """An O_PATH descriptor of the regular file `path` inside `root` (None when it does not
    exist); Refused when it leads outside, is not a regular file or is not the sandbox's."""
    shown = f"{what} {path}"
    try:
        pending = _relative_parts(root, path)
    except ValueError:
        raise Refused(f"{shown} is outside the repository.", _HINT) from None
    if not pending:
        raise Refused(f"{shown} names the repository folder itself, not a file.", _HINT)
    real_root = os.path.realpath(root)
    stack = [os.open(real_root, (_O_PATH or os.O_RDONLY) | os.O_DIRECTORY | os.O_CLOEXEC)]
    links = 0
    try:
        while pending:
            name = pending.pop(0)
            if name in ("", "."):
                continue
            if name == "..":
                if len(stack) == 1:
                    raise Refused(f"{shown} leads outside the repository.", _HINT)
                os.close(stack.pop())
                continue
            fd = _open_component(name, stack[-1])
            if fd is None:
                return None
            info = os.fstat(fd) if fd >= 0 else None
            if info is None or stat.S_ISLNK(info.st_mode):
                if fd >= 0:
                    os.close(fd)
                links += 1
                if links > _MAX_LINKS:
                    raise Refused(f"{shown} goes through too many symbolic links.", _HINT)
                try:
                    target = os.readlink(name, dir_fd=stack[-1])
                except OSError:  # replaced meanwhile: look again
                    pending.insert(0, name)
                    continue
                if os.path.isabs(target):
                    if not (target + "/").startswith(real_root.rstrip("/") + "/"):
                        raise Refused(f"{shown} is a symbolic link to outside the repository.",
                                      _HINT)
                    for fd_ in stack[1:]:
                        os.close(fd_)
                    del stack[1:]
                    target = os.path.relpath(target, real_root)
                pending[:0] = [p for p in target.split("/") if p]
                continue
            assert info is not None
            if pending:
                if not stat.S_ISDIR(info.st_mode):
                    os.close(fd)
                    return None
                if not _permits(info, 0o1):
                    os.close(fd)
                    raise Refused(f"{shown}: the sandbox user may not enter a folder on the way.",
                                  _HINT)
                stack.append(fd)
                continue
            if not stat.S_ISREG(info.st_mode):
                os.close(fd)
                kind = _KINDS.get(stat.S_IFMT(info.st_mode), "not a regular file")
                raise Refused(f"{shown} is {kind}, not a regular file.", _HINT)
            if not _permits(info, 0o4):
                os.close(fd)
                raise Refused(f"{shown} is not readable by the sandbox user.", _HINT)
            return fd
        raise Refused(f"{shown} names a folder, not a file.", _HINT)
    finally:
        for fd_ in stack:
            os.close(fd_)


def _open_component(name: str, dir_fd: int) -> int | None:
    """A descriptor of `name` in `dir_fd` that follows no symlink; -1 for a symlink (found by
    ELOOP where there is no O_PATH), None when there is nothing of that name."""
    flags = os.O_NOFOLLOW | os.O_CLOEXEC | (_O_PATH or os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY)
    try:
        return os.open(name, flags, dir_fd=dir_fd)
    except (FileNotFoundError, NotADirectoryError):
        return None
    except OSError as exc:
        if exc.errno == errno.ELOOP and not _O_PATH:
            return -1
        raise Refused(f"{name} cannot be opened ({errno.errorcode.get(exc.errno or 0, exc)}).",
                      _HINT) from None


def exists(root: Path, path: str | Path, what: str = "the file") -> bool:
    """Whether `path` names a file that `read_bytes` would read (Refused for one it would not)."""
    fd = _open_in(root, path, what)
    if fd is None:
        return False
    os.close(fd)
    return True


def read_bytes(root: Path, path: str | Path, what: str, limit: int = FILE_LIMIT) -> bytes:
    """The contents of the file `path` inside `root`, read through one descriptor."""
    located = _open_in(root, path, what)
    if located is None:
        raise Refused(f"{what} {path} does not exist in the repository.", _HINT)
    try:
        # Reopening the O_PATH descriptor reads the very inode that was checked.
        fd = (os.open(f"/proc/self/fd/{located}", os.O_RDONLY | os.O_NOCTTY | os.O_NONBLOCK
                      | os.O_CLOEXEC) if _O_PATH else os.dup(located))
    except OSError as exc:
        os.close(located)
        raise Refused(f"{what} {path} cannot be read ({errno.errorcode.get(exc.errno or 0, exc)}).",
                      _HINT) from None
    try:
        checked, opened = os.fstat(located), os.fstat(fd)
        if (checked.st_dev, checked.st_ino) != (opened.st_dev, opened.st_ino) \
                or not stat.S_ISREG(opened.st_mode):
            raise Refused(f"{what} {path} changed while it was being opened.", _HINT)
        chunks: list[bytes] = []
        total = 0
        while chunk := os.read(fd, min(1 << 16, limit + 1 - total)):
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise Refused(f"{what} {path} is larger than {_size(limit)}.", _HINT)
        return b"".join(chunks)
    finally:
        os.close(fd)
        os.close(located)


def read_text(root: Path, path: str | Path, what: str, limit: int = FILE_LIMIT) -> str:
    """`read_bytes` decoded as UTF-8 (a byte that is not UTF-8: Refused, without quoting it)."""
    data = read_bytes(root, path, what, limit)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise Refused(f"{what} {path} is not UTF-8 text (byte {exc.start}).", _HINT) from None


def parse_error(exc: Exception) -> str:
    """What is wrong with a JSON/YAML/TOML document and where, without quoting it (YAML's own
    message shows the offending line, which could be anything a symlink pointed at)."""
    mark = getattr(exc, "problem_mark", None)
    if mark is not None:
        problem = getattr(exc, "problem", None) or "invalid YAML"
        return f"{problem} at line {mark.line + 1}, column {mark.column + 1}"
    if hasattr(exc, "lineno") and hasattr(exc, "msg"):
        return f"{exc.msg} at line {exc.lineno}, column {getattr(exc, 'colno', '?')}"
    return str(exc).splitlines()[0][:200] if type(exc).__name__ == "TOMLDecodeError" \
        else type(exc).__name__


CONFIG_VALUES = 10_000  # values in a project config file once its YAML aliases are expanded
CONFIG_DEPTH = 50


def bounded(data: Any, what: str) -> Any:
    """`data` (parsed YAML) unless its aliases expand it past CONFIG_VALUES values or
    CONFIG_DEPTH levels, or it contains itself: a 350-byte config can otherwise expand to a
    hundred million strings when walked or quoted in an error message."""
    from runner.openapi.limits import Limits
    from runner.openapi.load import measure

    try:
        measure(data, what, Limits(document_nodes=CONFIG_VALUES, depth=CONFIG_DEPTH))
    except RunnerError:
        raise UsageError(
            f"{what} expands to more than {CONFIG_VALUES:,} values or {CONFIG_DEPTH} levels "
            "once its YAML aliases (`*name`) are expanded, or contains itself.",
            "Write the settings out (a config file needs few aliases, if any).",
        ) from None
    return data
