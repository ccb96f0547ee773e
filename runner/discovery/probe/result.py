"""The probe's result: one JSON object written to --out, read by `runner.discovery`.

Success: {"ok": true, "framework", "app" ("module:attr"), "factory", "interface" ("asgi" or
"wsgi"), "env" (extra environment the server needs: PYTHONPATH, DJANGO_SETTINGS_MODULE),
"spec_source" ("native", "synthesized", "file" or "none" with --locate-only), "openapi" (the
document, or null), "sqlite_databases" (Django aliases), "sqlite_files" (alias -> path),
"seed" (how a user can be made in the run's own database: "django", "sqlalchemy" or ""),
"searched", "errors"}.

Failure: {"ok": false, "message", "candidates", "searched", "errors"}.

Each error is {"module", "error" ("ExcType: message"), "where" ("file:line" inside the
repository, or null), "origin" (what pointed at the module: "Dockerfile CMD", ...)}.
"""

# Runs in the target interpreter: standard library only, Python 3.7+ (no walrus, no `match`,
# no subscripted builtins at runtime). Relative imports only: this package is also copied
# into the run's workspace under another name.
from __future__ import annotations


class ProbeFailure(Exception):
    """A failure to report in the result (not a crash of the probe)."""


def failure(message, candidates, searched, errors):
    return {
        "ok": False,
        "message": message,
        "candidates": candidates,
        "searched": searched,
        "errors": errors,
    }


def success(framework, locator, factory, interface, env, spec_source, openapi, searched, errors):
    return {
        "ok": True,
        "framework": framework,
        "app": locator,
        "factory": factory,
        "interface": interface,
        "env": env,
        "spec_source": spec_source,
        "openapi": openapi,
        "sqlite_databases": [],
        "seed": "",
        "searched": searched,
        "errors": errors,
    }
