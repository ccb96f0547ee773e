"""Which Python the API under test needs, and where that interpreter is on this machine.

The request comes from the config file's `python`, `.python-version`, `requires-python` in
pyproject.toml (or Poetry's `python` dependency), or the Pipfile's `python_version`, first found
wins. The runner's own interpreter is used when it satisfies the request; otherwise uv's Python
discovery looks at the interpreters installed here (PATH, pyenv versions, the Actions tool cache),
and `uv python install` is tried where the network allows.
"""

from __future__ import annotations

import glob
import os
import re
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import Version

from runner import procs, sandbox, untrusted
from runner.errors import RunnerError

STAGE = "install"
# Where interpreters live besides PATH: pyenv's versions (its shims do not answer uv's query)
# and the GitHub Actions tool cache (actions/setup-python).
_INSTALL_GLOBS = (
    "{pyenv}/versions/*/bin",
    "/opt/hostedtoolcache/Python/*/x64/bin",
    "/opt/hostedtoolcache/Python/*/arm64/bin",
)
_FIND_TIMEOUT = 30.0
_INSTALL_TIMEOUT = 300.0


@dataclass(frozen=True)
class PythonRequest:
    """A version request as uv understands it ("3.12", ">=3.11,<3.13") and where it came from."""

    request: str
    source: str
    # A hint rather than a requirement (a Dockerfile's base image): when no such interpreter
    # can be had, the runner's own is used, and the environment's note says so.
    hint: bool = False


def requested_python(root: Path, configured: str | None = None) -> PythonRequest | None:
    """The project's Python version request, or None when it states none."""
    if configured:
        return PythonRequest(configured.strip(), "`python` in the config file")
    pinned = root / ".python-version"
    if untrusted.exists(root, pinned, ".python-version"):
        lines = [ln.strip() for ln in untrusted.read_text(root, pinned, ".python-version")
                 .splitlines()]
        first = next((ln for ln in lines if ln and not ln.startswith("#")), "")
        if first:
            return PythonRequest(first, ".python-version")
    pyproject = _toml(root / "pyproject.toml")
    requires = (pyproject.get("project") or {}).get("requires-python")
    if isinstance(requires, str) and requires.strip():
        return PythonRequest(requires.strip(), "requires-python in pyproject.toml")
    poetry = ((pyproject.get("tool") or {}).get("poetry") or {}).get("dependencies") or {}
    if isinstance(poetry.get("python"), str):
        return PythonRequest(_from_poetry(poetry["python"]), "python in [tool.poetry.dependencies]")
    pipfile = _toml(root / "Pipfile")
    requires_section = pipfile.get("requires") or {}
    for key in ("python_full_version", "python_version"):
        if isinstance(requires_section.get(key), str):
            return PythonRequest(requires_section[key].strip(), f"{key} in the Pipfile")
    return dockerfile_python(root)


# `FROM python:3.8-slim`, or an image whose tag names its Python
# (`tiangolo/uvicorn-gunicorn-fastapi:python3.9-slim`).
DOCKER_PYTHON = re.compile(r"^\s*FROM\s+(?:\S+/)?(?:python:|\S+:python-?)(\d+\.\d+)",
                           re.IGNORECASE | re.MULTILINE)


def dockerfile_python(root: Path) -> PythonRequest | None:
    """`FROM python:3.8-slim` in the Dockerfile: the version the project is run with. Old pinned
    requirements (greenlet 0.4, psycopg2 2.8) only build on the Python of their time."""
    path = root / "Dockerfile"
    if not path.is_file():
        return None
    match = DOCKER_PYTHON.search(path.read_text(errors="replace"))
    return PythonRequest(match.group(1), "the Dockerfile's base image", hint=True) if match else None


def _toml(path: Path) -> dict:
    """A TOML file of the project (read with its rights: runner/untrusted.py), {} when absent."""
    if not untrusted.exists(path.parent, path, path.name):
        return {}
    try:
        return tomllib.loads(untrusted.read_text(path.parent, path, path.name))
    except tomllib.TOMLDecodeError:
        return {}


def _from_poetry(constraint: str) -> str:
    """Poetry's ^3.11 / ~3.11 to a PEP 440 specifier uv accepts."""
    parts = []
    for piece in constraint.split(","):
        piece = piece.strip()
        if piece.startswith("^"):
            major = piece[1:].split(".")[0]
            parts += [f">={piece[1:]}", f"<{int(major) + 1}"]
        elif piece.startswith("~") and not piece.startswith("~="):
            parts.append(f"=={'.'.join(piece[1:].split('.')[:2])}.*")
        elif piece:
            parts.append(piece)
    return ",".join(parts)


def specifier(request: str) -> SpecifierSet | None:
    """The request as a PEP 440 specifier ("3.12" means 3.12.*), None when it is not one
    (an implementation name like pypy3.10, or a path)."""
    text = request.strip()
    if re.fullmatch(r"\d+(\.\d+)*", text):
        return SpecifierSet(f"=={text}.*" if text.count(".") < 2 else f"=={text}")
    try:
        return SpecifierSet(text)
    except InvalidSpecifier:
        return None


def satisfies(version: str, request: str) -> bool:
    spec = specifier(request)
    return spec is not None and spec.contains(Version(version), prereleases=True)


def search_path() -> str:
    """PATH for uv's discovery: installed interpreters' folders first, shims left out."""
    pyenv = os.environ.get("PYENV_ROOT") or str(Path.home() / ".pyenv")
    folders: list[str] = []
    for pattern in _INSTALL_GLOBS:
        found = glob.glob(pattern.format(pyenv=pyenv))
        folders += sorted(found, key=_version_key, reverse=True)
    for folder in os.environ.get("PATH", os.defpath).split(os.pathsep):
        if folder and "shims" not in Path(folder).parts and folder not in folders:
            folders.append(folder)
    return os.pathsep.join(folders)


def _version_key(folder: str) -> tuple[int, ...]:
    numbers = re.findall(r"\d+", Path(folder).parent.name)
    return tuple(int(n) for n in numbers) or (0,)


def find_interpreter(request: PythonRequest, uv: str | None, log_path: Path | None) -> str:
    """The path of an interpreter that satisfies the request; RunnerError naming it otherwise."""
    runner_version = ".".join(str(n) for n in sys.version_info[:3])
    if satisfies(runner_version, request.request):
        return sys.executable
    if uv is None:
        raise _missing(request, "uv is not available to look for other interpreters")
    found = _uv_find(uv, request, log_path)
    if found:
        return found
    installed = _uv_python(uv, ["install", request.request], _INSTALL_TIMEOUT, log_path)
    found = _uv_find(uv, request, log_path) if installed.returncode == 0 else None
    if found:
        return found
    reason = installed.tail(1) or "uv could not install it"
    raise _missing(request, f"downloading one failed: {reason.removeprefix('error: ')}")


def _uv_find(uv: str, request: PythonRequest, log_path: Path | None) -> str | None:
    found = _uv_python(uv, ["find", "--no-project", request.request], _FIND_TIMEOUT, log_path)
    if found.returncode != 0:
        return None
    # stdout (the path) and stderr (warnings about unusable interpreters) arrive together.
    paths = [ln.strip() for ln in found.output.splitlines() if ln.strip().startswith("/")]
    return next((p for p in reversed(paths) if Path(p).is_file()), None)


def _uv_python(uv: str, args: list[str], timeout: float, log_path: Path | None) -> procs.Finished:
    env = sandbox.installer_env({"PATH": search_path(), "UV_PYTHON_PREFERENCE": "system",
                               "UV_NO_PROGRESS": "1", "HOME": str(Path.home())})
    try:
        return procs.run([uv, "python", *args], cwd=Path.home(), env=env, timeout=timeout,
                         stage=STAGE, trusted=True, log_path=log_path, what=f"uv python {args[0]}")
    except (OSError, subprocess.SubprocessError) as exc:
        return procs.Finished(1, str(exc))


def _missing(request: PythonRequest, why: str) -> RunnerError:
    return RunnerError(
        STAGE,
        f"The project needs Python {request.request} ({request.source}), and no such interpreter "
        f"is installed on this machine; {why}.",
        f"Install Python {request.request} (actions/setup-python, pyenv or `uv python install`), "
        "or set `python:` in .api-mcp-test.yml to a version that is installed, or pass --python "
        "with the interpreter of an environment you prepared.",
    )
