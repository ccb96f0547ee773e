"""What the app's environment is installed from: the project's dependency declaration (the
table in the README), the pins of its lock file, the packages the config adds, and, when the
project declares nothing, the requirements its imports name.

Everything here reads files; `runner.environment` runs the installers.
"""

from __future__ import annotations

import ast
import json
import re
import shutil
import sys
import tomllib
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from runner import untrusted
from runner.errors import RunnerError
from runner.projectfiles import python_files, read_text


def uv_binary() -> str | None:
    """uv ships with the runner (PyPI `uv`); fall back to the one beside this Python, then PATH.

    `find_uv_bin` reads sysconfig, whose first initialisation is not thread-safe in Python 3.11
    (another thread may see `EXE` as None: a TypeError inside uv, seen in CI)."""
    try:
        from uv import find_uv_bin

        return find_uv_bin()
    except (ImportError, FileNotFoundError, TypeError):
        beside = Path(sys.executable).with_name("uv")
        return str(beside) if beside.is_file() else shutil.which("uv")


# Dev requirements files, installed only with --dev-requirements.
DEV_REQUIREMENTS = ("requirements-dev.txt", "requirements_dev.txt", "dev-requirements.txt")


@dataclass(frozen=True)
class InstallPlan:
    """What installs the app's dependencies, read from its dependency files.

    Requirement lines (from pyproject.toml, Pipfile, ...) are written to a file in the target
    environment; nothing is written into the repository itself.
    """

    source: str  # the file the plan was read from, for notes and errors
    requirement_files: tuple[str, ...] = ()  # requirements files, relative to the repo
    requirements: tuple[str, ...] = ()  # PEP 508 requirement lines
    uv_lock: bool = False  # export the locked set with `uv export --frozen`
    build_project: bool = False  # install the project itself (built from a copy)
    constraints: tuple[str, ...] = ()  # name==version pins from poetry.lock / pdm.lock
    lock: str = ""  # the lock file the constraints come from


def install_plan(repo: Path, dev: bool = False) -> InstallPlan | None:
    """The project's dependency declaration with its lock file's pins as constraints (an
    unpinned install of an old app breaks: uvicorn 0.11 with today's uvloop, passlib with
    bcrypt 5), else the requirements its imports name, else None."""
    plan = _declared_plan(repo, dev)
    if plan is None:
        derived = requirements_from_imports(repo)
        return InstallPlan(IMPORTS_SOURCE, requirements=derived) if derived else None
    if plan.uv_lock or plan.source == "Pipfile.lock":
        return plan  # already the locked set
    lock, pins = lock_pins(repo)
    return replace(plan, constraints=pins, lock=lock) if pins else plan


def _declared_plan(repo: Path, dev: bool) -> InstallPlan | None:
    """The first dependency declaration found (see the table in the README), or None."""
    if (repo / "requirements.txt").is_file():
        extra = [name for name in DEV_REQUIREMENTS if dev and (repo / name).is_file()]
        return InstallPlan("requirements.txt", requirement_files=("requirements.txt", *extra))
    pyproject = _read_toml(repo / "pyproject.toml")
    if (repo / "uv.lock").is_file() and pyproject is not None and uv_binary():
        return InstallPlan("uv.lock", uv_lock=True)
    if (repo / "Pipfile.lock").is_file():
        return InstallPlan("Pipfile.lock", requirements=tuple(_pipfile_lock(repo, dev)))
    if (repo / "Pipfile").is_file():
        pipfile = _read_toml(repo / "Pipfile") or {}
        sections = ["packages", "dev-packages"] if dev else ["packages"]
        return InstallPlan("Pipfile", requirements=tuple(
            _pipfile_requirement(name, spec)
            for section in sections for name, spec in (pipfile.get(section) or {}).items()))
    if pyproject is not None:
        project = pyproject.get("project") or {}
        poetry = (pyproject.get("tool") or {}).get("poetry") or {}
        if project and "dependencies" not in project.get("dynamic", ()):
            lines = list(project.get("dependencies") or ())
            if dev:
                lines += (project.get("optional-dependencies") or {}).get("dev", [])
                lines += [g for g in (pyproject.get("dependency-groups") or {}).get("dev", [])
                          if isinstance(g, str)]
            return InstallPlan("pyproject.toml (PEP 621)", requirements=tuple(lines))
        if poetry.get("dependencies") is not None and not project:
            tables = [poetry.get("dependencies") or {}]
            if dev:
                groups = poetry.get("group") or {}
                tables += [poetry.get("dev-dependencies") or {},
                           (groups.get("dev") or {}).get("dependencies") or {}]
            return InstallPlan("pyproject.toml (Poetry)", requirements=tuple(
                line for table in tables for name, spec in table.items()
                if (line := _poetry_requirement(name, spec))))
        if project or "build-system" in pyproject:
            return InstallPlan("pyproject.toml (built)", build_project=True)
    if (repo / "setup.py").is_file() or (repo / "setup.cfg").is_file():
        return InstallPlan("setup.py" if (repo / "setup.py").is_file() else "setup.cfg",
                           build_project=True)
    return None


def _read_toml(path: Path) -> dict[str, Any] | None:
    """A TOML file of the project (read with its rights: runner/untrusted.py), None when absent."""
    if not untrusted.exists(path.parent, path, path.name):
        return None
    try:
        return tomllib.loads(untrusted.read_text(path.parent, path, path.name))
    except tomllib.TOMLDecodeError as exc:
        raise RunnerError("install", f"{path.name} is not valid TOML: {exc}.",
                          f"Fix {path.name}, or pass --install-command.") from exc


def _pipfile_lock(repo: Path, dev: bool) -> list[str]:
    try:
        lock = json.loads(untrusted.read_text(repo, repo / "Pipfile.lock", "Pipfile.lock",
                                              untrusted.SPEC_LIMIT))
    except ValueError as exc:
        raise RunnerError("install", f"Pipfile.lock is not valid JSON: {exc}.",
                          "Regenerate it with `pipenv lock`, or delete it.") from exc
    sections = ["default", "develop"] if dev else ["default"]
    return [_pipfile_requirement(name, spec)
            for section in sections for name, spec in (lock.get(section) or {}).items()]


def _pipfile_requirement(name: str, spec: Any) -> str:
    """A Pipfile / Pipfile.lock entry as a PEP 508 line: "*", "==1.0" or a table."""
    if isinstance(spec, str):
        return name if spec.strip() in ("", "*") else f"{name}{spec}"
    spec = dict(spec)
    if spec.get("git"):
        ref = f"@{spec['ref']}" if spec.get("ref") else ""
        return f"{name} @ git+{spec['git']}{ref}"
    if spec.get("path") or spec.get("file"):
        return str(spec.get("path") or spec.get("file"))
    extras = f"[{','.join(spec['extras'])}]" if spec.get("extras") else ""
    version = spec.get("version", "*")
    version = "" if version in ("", "*") else version
    markers = spec.get("markers")
    return f"{name}{extras}{version}" + (f"; {markers}" if markers else "")


def _poetry_requirement(name: str, spec: Any) -> str | None:
    """A [tool.poetry.dependencies] entry as a PEP 508 line (None for python and optionals)."""
    if name.lower() == "python":
        return None
    if isinstance(spec, list):  # multiple constraints by marker: take the first
        spec = spec[0] if spec else "*"
    if isinstance(spec, str):
        return f"{name}{_poetry_constraint(spec)}"
    spec = dict(spec)
    if spec.get("optional"):
        return None
    if spec.get("git"):
        ref = spec.get("rev") or spec.get("tag") or spec.get("branch")
        return f"{name} @ git+{spec['git']}" + (f"@{ref}" if ref else "")
    if spec.get("path"):
        return str(spec["path"])
    if spec.get("url"):
        return f"{name} @ {spec['url']}"
    extras = f"[{','.join(spec['extras'])}]" if spec.get("extras") else ""
    markers = spec.get("markers")
    return (f"{name}{extras}{_poetry_constraint(spec.get('version', '*'))}"
            + (f"; {markers}" if markers else ""))


def _poetry_constraint(constraint: str) -> str:
    """Poetry's version syntax (^1.2, ~1.2, 1.2.*, 1.2, >=1,<2) as a PEP 440 specifier."""
    parts = [p.strip() for p in constraint.split(",") if p.strip()]
    return ",".join(_poetry_single(p) for p in parts if p != "*")


def _poetry_single(part: str) -> str:
    if part.startswith("^"):
        version = part[1:].strip()
        numbers = [int(n) for n in version.split(".") if n.isdigit()]
        first = next((i for i, n in enumerate(numbers) if n != 0), len(numbers) - 1)
        upper = [*numbers[:first], numbers[first] + 1] if numbers else [1]
        return f">={version},<{'.'.join(map(str, upper))}"
    if part.startswith("~") and not part.startswith("~="):
        version = part[1:].strip()
        numbers = [int(n) for n in version.split(".") if n.isdigit()]
        upper = [numbers[0], numbers[1] + 1] if len(numbers) > 1 else [numbers[0] + 1]
        return f">={version},<{'.'.join(map(str, upper))}"
    if part[0].isdigit():
        return f"=={part}"
    return part


# -- lock files -------------------------------------------------------------------------------

LOCK_FILES = ("poetry.lock", "pdm.lock")


def lock_pins(repo: Path) -> tuple[str, tuple[str, ...]]:
    """(lock file, name==version for every package it locks), or ("", ()). Used as
    constraints: a pin only applies to a package the install needs, so the lock's dev-only
    packages cost nothing."""
    for name in LOCK_FILES:
        lock = _read_toml(repo / name)
        if lock is None:
            continue
        pins = []
        for package in lock.get("package") or ():
            if not isinstance(package, dict):
                continue
            source = package.get("source") or {}
            if isinstance(source, dict) and source.get("type") in ("git", "directory", "file",
                                                                   "url"):
                continue  # not a registry version: the declaration names it
            if package.get("name") and package.get("version"):
                pins.append(f"{package['name']}=={package['version']}")
        return name, tuple(dict.fromkeys(pins))
    return "", ()


# -- no dependency file: the imports ------------------------------------------------------------

IMPORTS_SOURCE = "the imports (no dependency file)"
# Import names whose PyPI name differs (PyPI treats - and _ alike, so flask_cors needs no entry).
PYPI_NAMES = {
    "rest_framework": "djangorestframework", "rest_framework_simplejwt":
    "djangorestframework-simplejwt", "yaml": "PyYAML", "jwt": "PyJWT", "jose": "python-jose",
    "PIL": "Pillow", "dotenv": "python-dotenv", "bs4": "beautifulsoup4", "decouple":
    "python-decouple", "environ": "django-environ", "multipart": "python-multipart", "magic":
    "python-magic", "ninja": "django-ninja", "corsheaders": "django-cors-headers",
    "django_filters": "django-filter", "crispy_forms": "django-crispy-forms", "debug_toolbar":
    "django-debug-toolbar", "allauth": "django-allauth", "knox": "django-rest-knox",
    "oauth2_provider": "django-oauth-toolkit", "storages": "django-storages", "sklearn":
    "scikit-learn", "cv2": "opencv-python", "dateutil": "python-dateutil", "psycopg2":
    "psycopg2-binary", "MySQLdb": "mysqlclient", "attr": "attrs", "OpenSSL": "pyOpenSSL",
    "Crypto": "pycryptodome", "dns": "dnspython", "slugify": "python-slugify", "socketio":
    "python-socketio", "telegram": "python-telegram-bot", "serial": "pyserial", "flask_restful":
    "Flask-RESTful", "jinja2": "Jinja2", "markdown": "Markdown", "google.protobuf": "protobuf",
    "phonenumber_field": "django-phonenumber-field", "taggit": "django-taggit", "mptt":
    "django-mptt", "polymorphic": "django-polymorphic", "import_export": "django-import-export",
}
# Django apps named only as strings in INSTALLED_APPS (never imported by the code).
SETTINGS_STRING = re.compile(r"['\"]([A-Za-z_]\w*)(?:\.[\w.]*)?['\"]")
BUILD_TOOLS = frozenset({"setuptools", "pip", "wheel", "pkg_resources", "distutils"})
# Windows-only packages a requirements file may list (they cannot install here).
WINDOWS_ONLY = frozenset({"pywin32", "pypiwin32", "pywin32-ctypes", "wmi", "windows-curses",
                          "pywinpty", "comtypes", "winshell"})


def requirements_from_imports(repo: Path) -> tuple[str, ...]:
    """PyPI names for the third-party modules the project's code imports (plus the Django apps
    its settings name), for a project that declares no dependencies (tutorial code)."""
    files = list(python_files(repo))
    local = {p.stem for p in files} | {p.name for p in repo.rglob("*") if p.is_dir()}
    found: dict[str, None] = {}
    for path in files:
        text = read_text(path)
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError):
            continue
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                found.setdefault(name, None)
        if path.name.startswith("settings"):
            for match in SETTINGS_STRING.finditer(text):
                if match.group(1) in PYPI_NAMES:
                    found.setdefault(match.group(1), None)
    requirements: dict[str, None] = {}
    for name in found:
        top = name.split(".")[0]
        if (top in sys.stdlib_module_names or top in local or top.startswith("_")
                or top in BUILD_TOOLS):
            continue
        requirements.setdefault(PYPI_NAMES.get(name) or PYPI_NAMES.get(top) or top, None)
    return tuple(requirements)


def portable_requirements(path: Path) -> str | None:
    """The requirements file without its Windows-only packages (pywin32 ...), or None when it
    has none. Such a package makes the whole install unsatisfiable on Linux."""
    raw = path.read_bytes()
    # `pip freeze > requirements.txt` in PowerShell writes UTF-16 (uv reads it; so do we).
    text = (raw.decode("utf-16", errors="replace") if raw[:2] in (b"\xff\xfe", b"\xfe\xff")
            else raw.decode("utf-8-sig", errors="replace"))
    lines = text.splitlines()
    kept = [line for line in lines
            if re.split(r"[\s<>=!~;\[]", line.strip(), maxsplit=1)[0].lower() not in WINDOWS_ONLY]
    return "\n".join(kept) + "\n" if len(kept) != len(lines) else None


# Specifier operators that bound a requirement from above (anything else takes the newest).
BOUNDING = frozenset({"==", "===", "<", "<=", "~="})


def unbounded_names(plan: InstallPlan, repo: Path) -> tuple[str, ...]:
    """The top-level requirements of `plan` that nothing bounds from above (`flask`,
    `uvicorn>=0.15`, the names read from the imports): an install today takes releases newer
    than the code, which break old apps (itsdangerous 2.1 dropped a class, pydantic 2 moved
    BaseSettings). Empty for a locked plan (its pins decide) and a built project."""
    from packaging.requirements import InvalidRequirement, Requirement
    from packaging.utils import canonicalize_name

    if plan.constraints or plan.uv_lock or plan.source == "Pipfile.lock":
        return ()
    lines = list(plan.requirements)
    for name in plan.requirement_files:
        try:
            lines += untrusted.read_text(repo, repo / name, "the requirements file",
                                         untrusted.SPEC_LIMIT).splitlines()
        except (RunnerError, ValueError):  # unreadable here: the installer says why
            continue
    names: dict[str, None] = {}
    for line in lines:
        text = line.split(" #")[0].strip()
        if not text or text.startswith(("#", "-")):
            continue
        try:
            requirement = Requirement(text)
        except InvalidRequirement:
            continue
        if requirement.url or any(s.operator in BOUNDING for s in requirement.specifier):
            continue
        names.setdefault(canonicalize_name(requirement.name), None)
    return tuple(names)
