"""A project's files as the runner reads them: with the project's rights, bounded, app code only.

Discovery (entry points, gates) and the dependency reader look at the same Python files: those
that can be imported as modules, shallowest first, outside tests, virtualenvs, hidden and
front-end folders, and only the start of each (`MAX_FILE_BYTES`). Files are read through
runner/untrusted.py (no symlink out of their folder, no FIFO); they are never executed.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from runner import untrusted
from runner.errors import UsageError

# Folders that hold no app code of the project's own.
SKIP_DIRS = frozenset({
    "tests", "test", "docs", "node_modules", "site-packages", "build", "dist", "migrations",
    "venv", "env", "__pycache__", "frontend", "static", "templates",
})
MAX_PY_FILES = 400  # a big repository is read partly: the first files by depth
MAX_FILE_BYTES = 200_000


def python_files(root: Path, max_files: int = MAX_PY_FILES) -> Iterator[Path]:
    """Python files under `root` that can be imported as modules, shallowest first, outside
    tests, virtualenvs and hidden folders."""
    count = 0
    for folder in sorted(walk_dirs(root, 3), key=lambda p: (len(p.parts), p)):
        for path in sorted(folder.glob("*.py")):
            if path.is_symlink() or not path.stem.isidentifier():
                continue  # a link names a file read in its own right; `a-b.py` is no module
            count += 1
            if count > max_files:
                return
            yield path


def walk_dirs(root: Path, depth: int) -> Iterator[Path]:
    yield root
    if depth <= 0:
        return
    try:
        children = sorted(p for p in root.iterdir() if p.is_dir() and not p.is_symlink())
    except OSError:
        return
    for child in children:
        if child.name.startswith(".") or child.name in SKIP_DIRS \
                or (child / "pyvenv.cfg").is_file():
            continue
        yield from walk_dirs(child, depth - 1)


def read_text(path: Path) -> str:
    """The start of a project file, read with the project's rights (runner/untrusted.py: no
    symlink out of its folder, no FIFO); "" when it cannot be."""
    try:
        data = untrusted.read_bytes(path.parent, path, path.name, limit=MAX_FILE_BYTES)
    except (OSError, UsageError):  # also one too large to be a project file
        return ""
    return data.decode("utf-8", errors="replace")
