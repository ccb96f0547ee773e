"""Settings gates, opened for the run: an app that refuses to import without `SECRET_KEY`,
`DEBUG` or `DATABASE_URL` in its environment, or without a settings module kept out of git
(`from .secrets import *`), is imported again with placeholder values, the way a developer
trying the project on a laptop would. What was filled is said in the report and written by
`init`; real values still go under `env:`.

The values come from the project's example settings file (`.env.example`, ...) when it sets
them, else from `PLACEHOLDERS` (never real secrets). Placeholder modules are only written into
the run's copy of the repository, never into the user's folder.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from runner.dependencies import PYPI_NAMES
from runner.discovery.messages import env_gates, missing_modules
from runner.discovery.probe.result import ProbeError
from runner.projectfiles import python_files

# Placeholder values for settings an app refused to start without (never real secrets).
DATABASE = re.compile(r"(?:DATABASE|DB|SQLALCHEMY|SQL)(?:_\w+)?_UR[LI]$|^DB_UR[LI]$")
PLACEHOLDERS = (
    (re.compile(r"DEBUG$"), "1"),  # reads as true for int(), bool parsers and "== '1'"
    (DATABASE, "sqlite:///api-mcp-test.sqlite3"),
    (re.compile(r"SECRET|_KEY$|TOKEN|PASSWORD"), "not-a-production-secret"),
    (re.compile(r"HOSTS$"), "*"),  # split on "," or " ", it allows the loopback host
    (re.compile(r"ORIGINS$"), "http://localhost"),  # read as URLs (pydantic, corsheaders)
    (re.compile(r"_URL$|_URI$"), "http://127.0.0.1:9"),
    (re.compile(r"PORT$"), "8000"),
)
EXAMPLE_SETTINGS = (".env.example", ".env.sample", ".env.template", ".env.dist", "example.env",
                    "env.example", ".env.dev_example", ".env.local.example")
# A name a star-imported placeholder module lacks: "NameError: name 'DB_PASSWORD' is not defined".
UNDEFINED_NAME = re.compile(r"NameError: name '([A-Z][A-Z0-9_]*)' is not defined")
# Modules of the build tools an old package imports at run time (no longer in a fresh venv).
BUILD_TOOL_MODULES = {"pkg_resources": "setuptools<81", "distutils": "setuptools<81"}
MAX_ROUNDS = 12  # imports tried with more filled in, after the first
# Variables a settings file requires the way the failing line did: os.environ["NAME"],
# environ["NAME"] (each KeyError would cost one more import).
REQUIRED_READ = re.compile(r"\benviron\[\s*['\"]([A-Z][A-Z0-9_]*)['\"]\s*\]")
# ... read without a default, None when unset: `os.environ.get("DATABASE_URL")`.
OPTIONAL_READ = re.compile(r"\b(?:environ\.get|getenv)\(\s*['\"]([A-Z][A-Z0-9_]*)['\"]\s*\)")
# ... read as a number: `int(environ["EMAIL_USE_TLS"])` wants a number, whatever its name.
NUMBER_READ = re.compile(r"\b(?:int|float)\(\s*(?:os\.)?(?:environ\[|environ\.get\(|getenv\()"
                         r"\s*['\"]([A-Z][A-Z0-9_]*)['\"]")


def placeholder(name: str) -> str:
    for pattern, value in PLACEHOLDERS:
        if pattern.search(name):
            return value
    return "change-me"


def example_settings(folder: Path, names: Sequence[str]) -> tuple[str, dict[str, str]] | None:
    """(file, its NAME=VALUE settings) for the first example settings file in `folder` that
    sets one of `names`, else None."""
    candidates = [folder / name for name in EXAMPLE_SETTINGS]
    candidates += sorted(p for p in folder.glob(".env*example*") if p not in candidates)
    for path in candidates:
        if not path.is_file():
            continue
        values = {}
        for line in path.read_text(errors="replace").splitlines():
            name, sep, value = line.strip().removeprefix("export ").partition("=")
            if sep and name.strip() and not name.startswith("#"):
                values[name.strip()] = value.strip().strip("'\"")
        if any(name in values for name in names):
            return path.name, values
    return None


@dataclass
class Filled:
    """What the run filled in to get the app imported."""

    env: dict[str, str] = field(default_factory=dict)  # NAME -> value given to the app
    env_file: str | None = None  # the example settings file some values came from
    modules: dict[str, list[str]] = field(default_factory=dict)  # module -> names it defines
    packages: list[str] = field(default_factory=list)  # installed: imported, declared nowhere

    def __bool__(self) -> bool:
        return bool(self.env or self.modules or self.packages)

    def missing_packages(self, errors: Sequence[ProbeError], folder: Path) -> list[str]:
        """PyPI names for the third-party modules the import lacked (never a name the
        repository has as a folder or module of its own: that is a path problem)."""
        files = list(python_files(folder))
        own = {p.stem for p in files} | {d.name for p in files for d in p.relative_to(
            folder).parents if d.name}
        names = [BUILD_TOOL_MODULES.get(module) or PYPI_NAMES.get(module, module)
                 for module in missing_modules(errors) if module not in own]
        return [name for name in names if name not in self.packages]

    def note(self) -> str:
        """The report's line about it ("" when nothing was filled)."""
        parts = []
        if self.packages:
            parts.append(f"{', '.join(self.packages)} (imported, declared in no dependency "
                         "file) were installed")
        if self.env:
            source = f" (from {self.env_file} where it sets them)" if self.env_file else ""
            parts.append(f"settings {', '.join(self.env)} were given placeholder values"
                         f"{source}")
        if self.modules:
            files = ", ".join(_module_file(name) for name in self.modules)
            parts.append(f"the missing module(s) {files} were made with placeholder values in "
                         "the run's copy")
        return ("The app did not import as the repository is: " + "; ".join(parts)
                + ". Declare those packages, and give real settings under `env:` in "
                ".api-mcp-test.yml (`api-mcp-test init` writes them) if the placeholders change "
                "what the API does.")

    def tried(self) -> str:
        """For a failure after filling: what was already given ("" when nothing)."""
        return (f" (Discovery already retried with placeholder values for "
                f"{', '.join([*self.env, *map(_module_file, self.modules)])}.)" if self else "")

    def learn(self, errors: Sequence[ProbeError], folder: Path, given: Sequence[str],
              writable: bool) -> bool:
        """Fill what `errors` say the app lacks; False when there is nothing new to fill.
        `folder` is the app's folder (the run's copy when `writable`); `given` the settings the
        user set, which are never replaced."""
        learned = False
        gates = [name for name in [*env_gates(errors), *_read_alike(errors, folder),
                                   *_none_read(errors, folder)]
                 if name not in self.env and name not in given]
        if gates and self.env_file is None:
            example = example_settings(folder, gates)
            if example is not None:
                self.env_file, values = example
                for name in gates:
                    # A database server named there does not run here: sqlite instead.
                    if values.get(name) and not (DATABASE.search(name)
                                                 and not values[name].startswith("sqlite")):
                        self.env[name] = values[name]
                        learned = True
                gates = [name for name in gates if name not in self.env]
        for name, url in _empty_url(errors, folder).items():
            if name not in given and self.env.get(name) != url:
                self.env[name] = url
                learned = True
        numbers = _numbers(errors, folder)
        for name in numbers:  # a placeholder given earlier, read as a number here
            if self.env.get(name) == "change-me":
                self.env[name] = "1"
                learned = True
        for name in gates:
            value = placeholder(name)
            self.env[name] = "1" if name in numbers and not value.isdigit() else value
            learned = True
        if writable:
            learned |= self._modules(errors, folder)
        return learned

    def _modules(self, errors: Sequence[ProbeError], folder: Path) -> bool:
        learned = False
        for module in missing_modules(errors, local=True):
            path = folder / _module_file(module)
            if module in self.modules or path.exists() or not path.parent.is_dir():
                continue
            self.modules[module] = ["SECRET_KEY"]
            learned = True
        for error in errors:  # a star import of a placeholder module lacks a name
            match = UNDEFINED_NAME.search(error.error)
            for names in self.modules.values():
                if match and match.group(1) not in names:
                    names.append(match.group(1))
                    learned = True
                    break
        for module, names in self.modules.items():
            (folder / _module_file(module)).write_text(_module_text(names), encoding="utf-8")
        return learned


def _read_alike(errors: Sequence[ProbeError], folder: Path) -> list[str]:
    """The other variables the file of a KeyError gate requires the same way (its
    `environ["NAME"]` reads), filled in the same round."""
    names: list[str] = []
    for error in errors:
        if error.error.startswith("KeyError"):
            text = _failing_file(error, folder)
            names += [name for name in REQUIRED_READ.findall(text) if name not in names]
    return names


def _none_read(errors: Sequence[ProbeError], folder: Path) -> list[str]:
    """Variables read without a default on the line that failed with a TypeError or an
    AttributeError (`dj_database_url.parse(os.environ.get("DATABASE_URL"))` got None)."""
    names: list[str] = []
    for error in errors:
        if not error.error.startswith(("TypeError", "AttributeError")):
            continue
        number = (error.where or "").rpartition(":")[2]
        lines = _failing_file(error, folder).splitlines()
        if number.isdigit() and 0 < int(number) <= len(lines):
            names += [n for n in OPTIONAL_READ.findall(lines[int(number) - 1]) if n not in names]
    return names


# An engine given an empty or missing URL (a settings field defaulting to "", read unset):
# SQLAlchemy's error names no setting, the failing line does (`settings.database_url`).
EMPTY_URL = re.compile(r"Could not parse (?:SQLAlchemy|rfc1738) URL from (?:given URL )?string"
                       r"|Expected string or URL object, got None")
ASYNC_ENGINE = re.compile(r"create_async_engine|AsyncEngine|async_engine_from_config")
ASYNC_SQLITE = "sqlite+aiosqlite:///api-mcp-test.sqlite3"


def _empty_url(errors: Sequence[ProbeError], folder: Path) -> dict[str, str]:
    """{NAME: sqlite URL} for the database settings named on a line that gave an engine an
    empty URL; the async driver's URL when the file makes an async engine."""
    found: dict[str, str] = {}
    for error in errors:
        if not EMPTY_URL.search(error.error):
            continue
        text = _failing_file(error, folder)
        number = (error.where or "").rpartition(":")[2]
        lines = text.splitlines()
        if not number.isdigit() or not 0 < int(number) <= len(lines):
            continue
        line = " ".join(lines[max(0, int(number) - 3):int(number) + 2])  # a call over lines
        for word in re.findall(r"[A-Za-z_][A-Za-z0-9_]*", line):
            if DATABASE.search(word.upper()):
                found[word.upper()] = ASYNC_SQLITE if ASYNC_ENGINE.search(text) \
                    else placeholder(word.upper())
    return found


def _numbers(errors: Sequence[ProbeError], folder: Path) -> set[str]:
    """Variables the failing files read as numbers."""
    return {name for error in errors for name in NUMBER_READ.findall(_failing_file(error, folder))}


def _failing_file(error: ProbeError, folder: Path) -> str:
    where = (error.where or "").rpartition(":")[0]
    path = folder / where
    try:
        return path.read_text(errors="replace") if where and path.is_file() else ""
    except OSError:
        return ""


def _module_file(module: str) -> str:
    return module.replace(".", "/") + ".py"


def _module_text(names: Sequence[str]) -> str:
    lines = [('"""Written by api-mcp-test for a test run: the project keeps this module out of '
              'git. Placeholder values, not secrets."""'), ""]
    lines += [f"{name} = {placeholder(name)!r}" for name in names]
    lines += ["", "", "def __getattr__(name):  # `from .secrets import NAME` of any other name",
              "    if name.isupper():", f"        return {'not-a-production-secret'!r}",
              "    raise AttributeError(name)", ""]
    return "\n".join(lines)
