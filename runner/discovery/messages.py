"""What a failed discovery tells the user: their folder (not the run's copy), each candidate
tried and why it failed, and the next step that fits *this* repository (a missing package, a
settings variable, a monorepo's API folder, or `api-mcp-test init`)."""

from __future__ import annotations

import re
from collections.abc import Sequence

from runner.discovery.entrypoints import EntryPoint
from runner.discovery.probe.result import NotFound, ProbeError
from runner.errors import RunnerError

STAGE = "discovery"
APP_HINT = "Pass --app module:attr (for example --app app.main:app)."
MISSING_MODULE = re.compile(r"No module named '([\w.]+)'")
# Settings that read the environment: KeyError: 'SECRET_KEY', "Set the DATABASE_URL
# environment variable", environ.ImproperlyConfigured, decouple's UndefinedValueError.
ENV_NAME = re.compile(r"\b([A-Z][A-Z0-9]*(?:_[A-Z0-9]+)+|DEBUG|SECRET)\b")
ENV_ERRORS = ("KeyError", "ImproperlyConfigured", "UndefinedValueError", "ValidationError",
              "environment variable", "not set", "must be set")


class DiscoveryFailure(RunnerError):
    """No app found: what was tried, for `api-mcp-test init` to write a config from."""

    def __init__(self, message: str, hint: str, detail: str, errors: Sequence[ProbeError],
                 entries: Sequence[EntryPoint], folders: Sequence[str]) -> None:
        super().__init__(STAGE, message, hint, detail)
        self.errors = list(errors)
        self.entries = list(entries)
        self.folders = list(folders)


# pydantic settings: "1 validation error for Settings | db_url | field required (...)".
REQUIRED_FIELD = re.compile(r"\|\s*([A-Za-z_]\w*)\s*\|\s*[Ff]ield required")


def env_gates(errors: Sequence[ProbeError]) -> list[str]:
    """Environment variables the app's settings refused to start without, from its errors."""
    names: list[str] = []
    for error in errors:
        text = error.error
        for field in REQUIRED_FIELD.findall(text):  # settings fields read DB_URL for db_url
            if field.upper() not in names:
                names.append(field.upper())
        if not any(marker in text for marker in ENV_ERRORS):
            continue
        for name in ENV_NAME.findall(text):
            if name not in names and name not in ("DJANGO_SETTINGS_MODULE",):
                names.append(name)
    return names


def missing_modules(errors: Sequence[ProbeError], local: bool = False) -> list[str]:
    """Top-level modules the app's imports could not find (`local`: instead, the project's own
    modules that are not in the repository, such as a secrets.py kept out of git: dotted
    names inside a package the failing file belongs to)."""
    found: list[str] = []
    for error in errors:
        match = MISSING_MODULE.search(error.error)
        if not match:
            continue
        name = match.group(1)
        where = error.where or ""
        own = "." in name and where.startswith(name.split(".")[0] + "/")
        wanted = name if local else name.split(".")[0]
        if own == local and wanted not in found:
            found.append(wanted)
    return found


def tried(error: ProbeError) -> str:
    """`found app/api.py:app (named by main.py: uvicorn.run(...)) but importing it failed:
    ModuleNotFoundError: ... (at app/db.py:3)`."""
    origin = f" (named by {error.origin})" if error.origin else ""
    where = f" (at {error.where})" if error.where else ""
    if error.error == "no web application in it":
        return f"{error.module}{origin} defines no web application"
    return f"found {error.module}{origin} but importing it failed: {error.error}{where}"


def next_step(shown: str, errors: Sequence[ProbeError], folders: Sequence[str],
              entries: Sequence[EntryPoint]) -> str:
    """The most useful thing to do next, for this repository (and, in a monorepo, which
    folder to point the run at)."""
    step = _fix(shown, errors)
    if folders:
        listed = ", ".join(folders)
        step += (f" The repository holds API folders ({listed}): to test one, pass "
                 f"--working-directory {folders[0]} or write `working-directory: {folders[0]}` "
                 f"in .api-mcp-test.yml (`api-mcp-test init {shown}` writes it).")
    return step.strip()


def _fix(shown: str, errors: Sequence[ProbeError]) -> str:
    gates = env_gates(errors)
    if gates:
        lines = ", ".join(f"{name}: ..." for name in gates)
        return (f"The app's settings need {', '.join(gates)} in the environment: set them under "
                f"`env:` in .api-mcp-test.yml ({lines}); `api-mcp-test init {shown}` writes "
                "that file.")
    own = missing_modules(errors, local=True)
    if own:
        files = ", ".join(name.replace(".", "/") + ".py" for name in own)
        return (f"The project's own module(s) {', '.join(own)} are not in the repository "
                f"(kept out of git, like a secrets file?): create {files} with a `setup:` "
                f"step in .api-mcp-test.yml (`api-mcp-test init {shown}` writes one with "
                "placeholder values).")
    missing = missing_modules(errors)
    if missing:
        names = ", ".join(missing)
        return (f"The module(s) {names} are not installed in the app's environment: declare them "
                f"in the project's dependency file, or add them with `install: {{extra: "
                f"[{names}]}}` in .api-mcp-test.yml (the PyPI name may differ from the import "
                "name).")
    if errors:
        return ("Fix the import error above (the output is in discovery.log). When a dependency "
                "newer than the code broke it (nothing pins its version), pin it on top of the "
                "install with `install: {extra: [\"package<version\"]}` in .api-mcp-test.yml; "
                f"when the wrong module was tried, name the app with `app:` (`api-mcp-test init "
                f"{shown}` writes the file).")
    return (f"Name the app with `app: module:attr` in .api-mcp-test.yml (`api-mcp-test init "
            f"{shown}` writes one), or pass --app module:attr.")


def probe_failure(result: NotFound, shown: str, app: str | None, tail: str,
                  entries: Sequence[EntryPoint], folders: Sequence[str]) -> RunnerError:
    """The user-facing error for a probe result with ok=false."""
    errors = result.errors
    detail = result.traceback or tail
    if app:
        if errors:
            first = errors[0]
            where = f" at {first.where}" if first.where else ""
            return DiscoveryFailure(
                f"Could not import the app {app} in {shown}: {first.error} "
                f"(in {first.module}{where}).",
                next_step(shown, errors, [], [EntryPoint(app, "--app")]),
                detail, errors, [EntryPoint(app, "--app")], [])
        return RunnerError(STAGE, f"Could not use --app {app} in {shown}: "
                           f"{result.message}.", APP_HINT, detail)
    if errors:
        message = (f"No usable web application in {shown}: "
                   + "; ".join(tried(e) for e in errors) + ".")
    else:
        candidates = ", ".join(result.candidates)
        imported = ", ".join(result.searched) or "none (none mentions a framework)"
        message = (f"No web application (FastAPI, Flask, Django, Starlette, Litestar, "
                   f"Connexion) found in {shown}. No run script, Dockerfile, Procfile or "
                   f"source file names one; modules looked for: {candidates}; imported: "
                   f"{imported}.")
    return DiscoveryFailure(message, next_step(shown, errors, folders, entries), detail, errors,
                            entries, folders)
