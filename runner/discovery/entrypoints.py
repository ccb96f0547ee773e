"""Where a repository says its app is, read the way a developer would read it.

The run scripts (Procfile, Dockerfile CMD/ENTRYPOINT, docker-compose `command`, shell scripts,
Makefile, pyproject scripts and task tables, .flaskenv) name the server command that starts
the app (`gunicorn app.wsgi:app`, `uvicorn --app-dir src api.main:app`, `flask --app x run`,
`APP_MODULE=...`, `python manage.py runserver`), and the Python sources name it in
`uvicorn.run("app.api:app")` or `app = FastAPI()`. Each finding is an `EntryPoint` the probe
tries first, in this order; what pointed at it is kept for the messages.

This runs in the runner (the files are only read, never executed or imported).
"""

from __future__ import annotations

import json
import posixpath
import re
import shlex
import tomllib
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from runner.projectfiles import python_files, read_text, walk_dirs

DEPENDENCY_FILES = ("requirements.txt", "pyproject.toml", "Pipfile", "setup.py", "setup.cfg",
                    "manage.py")

LOCATOR = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*(?:\(\))?$")
# Server programs and how they are told the app and its folder.
SERVERS = ("gunicorn", "uvicorn", "hypercorn", "daphne", "granian", "waitress-serve")
FOLDER_FLAGS = ("--chdir", "--app-dir", "--root-path-dir")
ASSIGNED_APP = re.compile(r"^\s*(?:export\s+)?(?:APP_MODULE|FLASK_APP|ASGI_APP|WSGI_APP|APP)"
                          r"\s*[=:]\s*['\"]?([\w.:()]+)['\"]?\s*$", re.MULTILINE)
# In Python sources.
RUN_CALL = re.compile(r"\b(?:uvicorn|hypercorn|granian)\.run\(\s*(?:['\"]([\w.:]+)['\"]|(\w+))")
APP_RUN = re.compile(r"^\s*(\w+)\.run\(", re.MULTILINE)
APP_CLASS = (r"(?:FastAPI|Flask|APIFlask|Quart|Starlette|Litestar|FlaskApp|AsyncApp|App)"
             r"|(?:connexion|fastapi|flask|starlette|litestar)\.\w+")
APP_ASSIGNED = re.compile(r"^(\w+)\s*(?::\s*[\w.\[\]]+\s*)?=\s*(?:" + APP_CLASS + r")\(",
                          re.MULTILINE)
TOP_IMPORT = re.compile(r"^\s*(?:from|import)\s+([A-Za-z_]\w*)", re.MULTILINE)
FACTORY_DEF = re.compile(r"^def (create_app|make_app|get_app|app_factory)\(", re.MULTILINE)
FRAMEWORK_IMPORT = re.compile(r"^\s*(?:from|import)\s+(fastapi|flask|starlette|litestar|"
                              r"connexion|django|quart|apiflask)\b", re.MULTILINE)


@dataclass(frozen=True)
class EntryPoint:
    """One place the repository names its app."""

    locator: str  # "module:attr", "module" (attribute unknown) or "manage.py" (Django)
    origin: str  # what named it, for messages: "Dockerfile CMD", "main.py: uvicorn.run(...)"
    folder: str = ""  # the folder it is imported from, relative to the app folder

    def as_hint(self) -> dict[str, str]:
        return asdict(self)


def read_entry_points(root: Path) -> list[EntryPoint]:
    """Every entry point named in `root`, the run scripts' first, without repeats."""
    found: list[EntryPoint] = []
    seen: set[tuple[str, str]] = set()
    for entry in (*_from_run_files(root), *_from_pyproject(root), *_from_sources(root)):
        key = (entry.locator.removesuffix("()"), entry.folder)
        if key not in seen and _exists(root, entry):
            seen.add(key)
            found.append(entry)
    return found


def api_folders(root: Path, depth: int = 2) -> list[str]:
    """Subfolders (not `root` itself) that look like a Python API of their own: a dependency
    file or manage.py, and a Python file importing a web framework. For monorepos."""
    folders = []
    for folder in sorted(walk_dirs(root, depth)):
        if folder == root or not any((folder / name).is_file() for name in DEPENDENCY_FILES):
            continue
        files = list(python_files(folder, max_files=60))
        if any(FRAMEWORK_IMPORT.search(read_text(f)) for f in files):
            folders.append(folder.relative_to(root).as_posix())
    # A folder inside another API folder is part of it.
    return [f for f in folders if not any(f.startswith(o + "/") for o in folders if o != f)]


# -- run files ---------------------------------------------------------------------------------


def _from_run_files(root: Path) -> Iterator[EntryPoint]:
    procfile = root / "Procfile"
    if procfile.is_file():
        lines = [line.partition(":") for line in read_text(procfile).splitlines() if ":" in line]
        lines.sort(key=lambda parts: parts[0].strip() != "web")  # the web process first
        for name, _, command in lines:
            yield from commands_in(command, f"Procfile ({name.strip()})", root)
    for path in sorted(root.glob("Dockerfile*")) + sorted(root.glob("*/Dockerfile")):
        yield from _dockerfile(path, root)
    for path in sorted(root.glob("docker-compose*.y*ml")) + sorted(root.glob("compose*.y*ml")):
        yield from _compose(path, root)
    scripts = sorted(root.glob("*.sh")) + sorted(root.glob("scripts/*.sh"))
    for path in [*scripts, root / "Makefile", root / ".flaskenv"]:
        if path.is_file():
            text = read_text(path)
            where = path.relative_to(root).as_posix()
            for match in ASSIGNED_APP.finditer(text):
                yield from _locator(match.group(1), where, "", root)
            for line in _joined_lines(text):
                yield from commands_in(line, where, root)


def _dockerfile(path: Path, root: Path) -> Iterator[EntryPoint]:
    where = path.relative_to(root).as_posix()
    for line in _joined_lines(read_text(path)):
        instruction, _, rest = line.strip().partition(" ")
        instruction = instruction.upper()
        if instruction == "ENV":
            for match in ASSIGNED_APP.finditer(rest.replace(" ", "\n")):
                yield from _locator(match.group(1), f"{where} ENV", "", root)
        elif instruction in ("CMD", "ENTRYPOINT"):
            yield from commands_in(_exec_form(rest), f"{where} {instruction}", root)


def _compose(path: Path, root: Path) -> Iterator[EntryPoint]:
    import yaml

    try:
        doc = yaml.safe_load(read_text(path))
    except yaml.YAMLError:
        return
    services = doc.get("services") if isinstance(doc, dict) else None
    for name, service in (services or {}).items() if isinstance(services, dict) else ():
        command = service.get("command") if isinstance(service, dict) else None
        if isinstance(command, list):
            command = shlex.join(str(part) for part in command)
        if isinstance(command, str):
            where = f"{path.name} command (service {name})"
            yield from commands_in(command, where, root)


def _exec_form(text: str) -> str:
    """A Dockerfile CMD in exec form (["uvicorn", "x:app"]) as a shell line."""
    text = text.strip()
    if text.startswith("["):
        try:
            return shlex.join(str(part) for part in json.loads(text))
        except ValueError:
            pass
    return text


def _joined_lines(text: str) -> list[str]:
    """Lines with backslash continuations joined."""
    return text.replace("\\\n", " ").splitlines()


def commands_in(line: str, origin: str, root: Path) -> Iterator[EntryPoint]:
    """Entry points in one shell line: each `&&`/`;`-separated command that starts a server."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        words = line.split()
    folder = ""
    for command in _split_commands(words):
        if len(command) >= 2 and command[0] == "cd":
            folder = "" if command[1].startswith("/") else _join(folder, command[1])
            continue
        yield from _server_command(command, origin, folder, root)


def _split_commands(words: list[str]) -> Iterator[list[str]]:
    current: list[str] = []
    for word in words:
        if word in ("&&", ";", "||", "|", "&"):
            yield current
            current = []
        else:
            current.append(word)
    yield current


def _server_command(words: list[str], origin: str, folder: str, root: Path,
                    ) -> Iterator[EntryPoint]:
    """The entry point a single command starts, if it starts one."""
    for word in words:  # FLASK_APP=x flask run
        if "=" in word and not word.startswith("-"):
            for match in ASSIGNED_APP.finditer(word):
                yield from _locator(match.group(1), origin, folder, root)
        else:
            break
    # Wrappers in front of the real command: poetry run, pipenv run, uv run, exec, env, python -m.
    while words and (words[0] in ("exec", "env", "poetry", "pipenv", "uv", "pdm", "run",
                                  "hatch", "rye", "nohup", "sudo")
                     or "=" in words[0] and not words[0].startswith("-")):
        words = words[1:]
    if len(words) >= 2 and re.fullmatch(r"python[\d.]*", Path(words[0]).name):
        if words[1] == "-m" and len(words) > 2:
            words = words[2:]
        elif words[1].endswith("manage.py"):
            yield EntryPoint("manage.py", origin, _join(folder, str(Path(words[1]).parent)))
            return
        elif words[1].endswith(".py"):
            yield from _file_module(Path(folder) / words[1], origin, root)
            return
    if not words:
        return
    program = Path(words[0]).name
    if program in SERVERS:
        for flag in FOLDER_FLAGS:
            if flag in words[:-1]:
                folder = _join(folder, words[words.index(flag) + 1])
        factory = "--factory" in words
        for word in words[1:]:
            if LOCATOR.match(word):
                yield from _locator(word + ("()" if factory and "(" not in word else ""),
                                    origin, folder, root)
    elif program == "flask":
        if "--app" in words[:-1]:
            yield from _locator(words[words.index("--app") + 1], origin, folder, root)
        for word in words:
            if word.startswith("--app="):
                yield from _locator(word.removeprefix("--app="), origin, folder, root)
    elif program == "fastapi" and len(words) >= 3 and words[1] in ("run", "dev"):
        target = next((w for w in words[2:] if not w.startswith("-")), "")
        if target.endswith(".py"):
            yield from _file_module(Path(folder) / target, origin, root)


def _join(folder: str, sub: str) -> str:
    """`folder/sub` relative to the app folder, normalized ("" for the folder itself)."""
    joined = posixpath.normpath(posixpath.join(folder or ".", sub))
    return "" if joined in (".", "") or joined.startswith("..") else joined


def _locator(text: str, origin: str, folder: str, root: Path) -> Iterator[EntryPoint]:
    """`module:attr`, `module` or `path/to/file.py[:attr]` as an entry point."""
    text = text.strip().strip("'\"")
    module, _, attr = text.partition(":")
    if module.endswith(".py"):
        for entry in _file_module(Path(folder) / module, origin, root):
            yield EntryPoint(f"{entry.locator}:{attr}" if attr else entry.locator, origin,
                             entry.folder)
        return
    if re.fullmatch(r"[A-Za-z_][\w.]*", module):
        yield EntryPoint(text, origin, folder.strip("/"))


def _file_module(path: Path, origin: str, root: Path) -> Iterator[EntryPoint]:
    """The module a Python file is, imported from the first folder above its packages."""
    parts = list(path.with_suffix("").parts)
    if not parts or any(p in ("..", "") for p in parts):
        return
    folder = list(parts[:-1])
    module = [] if parts[-1] == "__init__" else [parts[-1]]
    while folder and (root / Path(*folder) / "__init__.py").is_file():
        module.insert(0, folder.pop())
    if module:
        yield EntryPoint(".".join(module), origin, "/".join(folder))


# -- pyproject ----------------------------------------------------------------------------------


def _from_pyproject(root: Path) -> Iterator[EntryPoint]:
    path = root / "pyproject.toml"
    if not path.is_file():
        return
    try:
        data = tomllib.loads(read_text(path))
    except tomllib.TOMLDecodeError:
        return  # the install stage reports it
    tool = data.get("tool") or {}
    # Commands in task tables ([tool.poe.tasks], [tool.pdm.scripts], [tool.taskipy.tasks], ...).
    for name, table in tool.items():
        for text in _strings(table):
            yield from commands_in(text, f"pyproject.toml [tool.{name}]", root)
    scripts = {**((data.get("project") or {}).get("scripts") or {}),
               **((tool.get("poetry") or {}).get("scripts") or {})}
    for name, target in scripts.items():
        if isinstance(target, str) and ":" in target:  # the script's module starts the server
            yield from _locator(target.partition(":")[0], f"pyproject.toml script {name}", "",
                                root)


def _strings(value: Any) -> Iterator[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


# -- Python sources ---------------------------------------------------------------------------


def _from_sources(root: Path) -> Iterator[EntryPoint]:
    assigned: list[EntryPoint] = []
    for path in python_files(root):
        text = read_text(path)
        if not (FRAMEWORK_IMPORT.search(text) or "create_app" in text or RUN_CALL.search(text)):
            continue
        rel = path.relative_to(root)
        entries = list(_file_module(rel, "", root))
        if not entries:
            continue
        module, folder = _import_root(entries[0].locator, entries[0].folder, text)
        for match in RUN_CALL.finditer(text):
            if match.group(1):
                yield from _locator(match.group(1), f"{rel.as_posix()}: uvicorn.run(...)", "",
                                    root)
            elif match.group(2):
                yield EntryPoint(f"{module}:{match.group(2)}",
                                 f"{rel.as_posix()}: uvicorn.run({match.group(2)})", folder)
        names = {m.group(1) for m in APP_ASSIGNED.finditer(text)}
        for match in APP_RUN.finditer(text):
            if match.group(1) in names:
                yield EntryPoint(f"{module}:{match.group(1)}",
                                 f"{rel.as_posix()}: {match.group(1)}.run()", folder)
        for match in APP_ASSIGNED.finditer(text):
            assigned.append(EntryPoint(f"{module}:{match.group(1)}",
                                       f"{rel.as_posix()}: {match.group(1)} = ...", folder))
        for match in FACTORY_DEF.finditer(text):
            assigned.append(EntryPoint(f"{module}:{match.group(1)}()",
                                       f"{rel.as_posix()}: def {match.group(1)}()", folder))
    yield from assigned  # apps made without a run call: after those started explicitly


def _import_root(module: str, folder: str, text: str) -> tuple[str, str]:
    """(module, folder) for a file whose package imports itself by an inner name
    (`from app.api import router` in todos/app/main.py, run with PYTHONPATH=todos): the
    module from that package, imported from the folder above it."""
    parts = module.split(".")
    imported = set(TOP_IMPORT.findall(text))
    if parts[0] in imported:
        return module, folder
    for index in range(1, len(parts) - 1):  # the packages, not the module itself
        if parts[index] in imported:
            return ".".join(parts[index:]), "/".join(filter(None, (folder, *parts[:index])))
    return module, folder


def _exists(root: Path, entry: EntryPoint) -> bool:
    """Whether the module's file (or manage.py) is in the repository: a stale script that
    names a module that is not there is no candidate."""
    base = root / entry.folder
    if entry.locator == "manage.py":
        return (base / "manage.py").is_file()
    rel = Path(*entry.locator.partition(":")[0].split("."))
    return any(p.is_file() for p in (base / rel.with_suffix(".py"), base / rel / "__init__.py",
                                     base / "src" / rel.with_suffix(".py"),
                                     base / "src" / rel / "__init__.py"))


def describe(entries: Iterable[EntryPoint]) -> str:
    """`api.main:app (Dockerfile CMD), ...` for messages."""
    return ", ".join(f"{e.folder + '/' if e.folder else ''}{e.locator} ({e.origin})"
                     for e in entries)
