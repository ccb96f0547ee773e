"""The probe's result: one JSON object written to --out, read back by `runner.discovery`.

The records are declared here once and used on both sides: the probe builds them and writes
`to_json(result)`; the runner reads the file with `from_json`, which refuses any other shape
(a key it does not know, a value of the wrong type: the app runs in the probe and may have
written the file) instead of guessing.

Success (`Found`): {"ok": true, "framework", "app" ("module:attr"), "factory", "interface"
("asgi" or "wsgi"), "env" (extra environment the server needs: PYTHONPATH,
DJANGO_SETTINGS_MODULE), "spec_source" ("native", "synthesized", "file" or "none" with
--locate-only), "openapi" (the document, or null), "searched", "errors", "sqlite_databases"
(Django aliases), "sqlite_files" (alias -> path), "notes", "seed" (how a user can be made in
the run's own database: "django", "sqlalchemy" or "")}.

Failure (`NotFound`): {"ok": false, "message", "candidates", "searched", "errors",
"traceback" (a crash of the probe itself, or null)}.

Each error (`ProbeError`) is {"module", "error" ("ExcType: message"), "where" ("file:line"
inside the repository, or null), "origin" (what pointed at the module: "Dockerfile CMD", ...)}.
"""

# Runs in the target interpreter: standard library only, Python 3.7+ (no walrus, no `match`,
# no subscripted builtins at runtime). Relative imports only: this package is also copied
# into the run's workspace under another name.
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields


class ProbeFailure(Exception):
    """A failure to report in the result (not a crash of the probe)."""


@dataclass(frozen=True)
class ProbeError:
    """A module that was tried and did not give the app."""

    module: str
    error: str  # "ExcType: message", or "no web application in it"
    where: str | None = None  # "file:line" inside the repository
    origin: str | None = None  # what named the module ("Dockerfile CMD", ...)


@dataclass(frozen=True)
class Found:
    framework: str
    app: str  # module:attr
    factory: bool
    interface: str  # asgi | wsgi
    env: dict = field(default_factory=dict)  # str -> str
    spec_source: str = "native"  # native | synthesized | file | none
    openapi: dict | None = None
    searched: list = field(default_factory=list)  # str
    errors: list = field(default_factory=list)  # ProbeError
    sqlite_databases: list = field(default_factory=list)  # str
    sqlite_files: dict = field(default_factory=dict)  # str -> str
    notes: list = field(default_factory=list)  # str
    seed: str = ""  # how a login user can be made in the run's own database: django | sqlalchemy


@dataclass(frozen=True)
class NotFound:
    message: str
    candidates: list = field(default_factory=list)  # str
    searched: list = field(default_factory=list)  # str
    errors: list = field(default_factory=list)  # ProbeError
    traceback: str | None = None


def to_json(result):
    """The JSON object of a `Found` or `NotFound` (the document as it is: no deep copy)."""
    data = {f.name: getattr(result, f.name) for f in fields(result)}
    data["errors"] = [asdict(error) for error in result.errors]
    data["ok"] = isinstance(result, Found)
    return data


# The type each key must have (None: may also be null); errors are checked as records.
_TYPES = {
    "framework": (str,), "app": (str,), "factory": (bool,), "interface": (str,),
    "env": (dict,), "spec_source": (str,), "openapi": (dict, None), "searched": (list,),
    "sqlite_databases": (list,), "sqlite_files": (dict,), "notes": (list,), "message": (str,),
    "candidates": (list,), "traceback": (str, None), "seed": (str,),
    "module": (str,), "error": (str,), "where": (str, None), "origin": (str, None),
}
_STRINGS = ("searched", "sqlite_databases", "notes", "candidates", "env", "sqlite_files")


def _record(cls, data, what):
    if not isinstance(data, dict):
        raise ValueError(what + " is not a JSON object")  # noqa: TRY004 - one error: bad shape
    names = [f.name for f in fields(cls)]
    unknown = sorted(set(data) - set(names) - {"ok"})
    if unknown:
        raise ValueError(what + " has keys the runner does not know: " + ", ".join(unknown))
    values = {}
    for name in names:
        if name not in data:
            continue
        value = data[name]
        if name == "errors":
            if not isinstance(value, list):
                raise ValueError(what + ": errors is not a list")
            value = [_record(ProbeError, e, "an error of " + what) for e in value]
        elif not (value is None and None in _TYPES[name]
                  or isinstance(value, tuple(t for t in _TYPES[name] if t is not None))):
            raise ValueError(what + ": " + name + " is " + type(value).__name__)
        elif name in _STRINGS and not all(
                isinstance(v, str) for v in (value.values() if isinstance(value, dict)
                                             else value)):
            raise ValueError(what + ": " + name + " holds something other than strings")
        values[name] = value
    try:
        return cls(**values)
    except TypeError:  # a required key is missing
        raise ValueError(what + " lacks one of " + ", ".join(names)) from None


def from_json(data):
    """`Found` or `NotFound` from the result file's JSON; ValueError names what is wrong."""
    if not isinstance(data, dict) or not isinstance(data.get("ok"), bool):
        raise ValueError("the result is not an object with ok: true or false")  # noqa: TRY004
    if data["ok"]:
        return _record(Found, data, "the result")
    return _record(NotFound, data, "the result")
