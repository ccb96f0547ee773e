"""Discovery: find the app in the target repository and get its OpenAPI document.

The app is imported by `probe.py` inside the target's own interpreter (its dependencies, its
Python version); this side only starts the probe, reads its JSON result and turns it into an
`ApiSpec`, or into a `RunnerError` that says what was searched and what failed.
"""

from __future__ import annotations

import asyncio
import json
import tempfile
from pathlib import Path
from typing import Any

import yaml

from runner import procs, untrusted
from runner.discovery.spec import endpoints_from_openapi, swagger2_to_openapi3
from runner.errors import RunnerError, StageTimeout
from runner.models import ApiSpec, TargetEnv

PROBE = Path(__file__).with_name("probe.py")
STAGE = "discovery"
APP_HINT = "Pass --app module:attr (for example --app app.main:app)."


class APIDiscoveryService:
    """Runs the probe in the target environment and builds the `ApiSpec`."""

    def __init__(self, timeout: float = 120.0, log_path: Path | None = None) -> None:
        self.timeout = timeout
        self.log_path = log_path

    def discover(
        self,
        env: TargetEnv,
        app: str | None = None,
        app_env: dict[str, str] | None = None,
        workdir: Path | None = None,
    ) -> ApiSpec:
        """Find the app under `env.root` (or import `app`) and return its spec and endpoints.

        The probe writes its result into `workdir` (default: a temporary folder), which is
        handed to the user the probe runs as."""
        if workdir is not None:
            workdir.mkdir(parents=True, exist_ok=True)
            procs.hand_over(workdir)
            return self._discover(env, app, app_env, workdir / "discovery.json")
        with tempfile.TemporaryDirectory(prefix="api-mcp-discovery-") as tmp:
            procs.hand_over(Path(tmp))
            return self._discover(env, app, app_env, Path(tmp) / "discovery.json")

    async def discover_api(self, env: TargetEnv, app_module: str | None = None) -> ApiSpec:
        return await asyncio.to_thread(self.discover, env, app_module)

    def _discover(
        self, env: TargetEnv, app: str | None, app_env: dict[str, str] | None, out: Path
    ) -> ApiSpec:
        out.unlink(missing_ok=True)
        procs.require_reachable(PROBE, STAGE, "the discovery probe (part of api-mcp-test)")
        cmd = [str(env.python), str(PROBE), "--root", str(env.root), "--out", str(out)]
        if app:
            cmd += ["--app", app]
        try:
            finished = procs.run(
                cmd,
                cwd=env.root,
                env=procs.scrubbed_env(app_env),
                timeout=self.timeout,
                stage=STAGE,
                log_path=self.log_path,
                what="The discovery probe (importing the app)",
            )
        except StageTimeout as exc:
            exc.hint = (
                "Importing the app must not block: a server started at import time (uvicorn.run "
                "or app.run outside `if __name__ == \"__main__\":`) or a connection that waits "
                "forever hangs here. Fix that, or raise --discovery-timeout if the import is "
                "just slow."
            )
            raise
        except OSError as exc:
            raise RunnerError(
                STAGE,
                f"Could not start the target interpreter {env.python} in {env.root}: {exc}.",
                "Check --python (or let api-mcp-test create the environment).",
            ) from exc
        if not out.exists():
            raise RunnerError(
                STAGE,
                f"The discovery probe exited with code {finished.returncode} without a result "
                f"while importing the app from {env.root}.",
                "The app may exit or crash the interpreter at import time; the output is in the "
                "details. " + APP_HINT,
                detail=finished.tail(),
            )
        try:
            result = json.loads(out.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise RunnerError(
                STAGE,
                f"The discovery probe wrote an unreadable result: {exc}.",
                "This is a bug in api-mcp-test; please report it with the details.",
                detail=finished.tail(),
            ) from exc
        if not result.get("ok"):
            raise probe_failure(result, env.root, app, finished.tail())
        return spec_from_result(result)


def spec_from_result(result: dict[str, Any]) -> ApiSpec:
    """An `ApiSpec` from the probe's successful result."""
    doc = result["openapi"]
    if isinstance(doc, dict) and str(doc.get("swagger", "")).startswith("2"):
        doc = swagger2_to_openapi3(doc)
    info = doc.get("info") or {} if isinstance(doc, dict) else {}
    return ApiSpec(
        framework=result["framework"],
        app_locator=result["app"],
        openapi=doc,
        endpoints=endpoints_from_openapi(doc),
        spec_source=result.get("spec_source", "native"),
        title=str(info.get("title") or ""),
        version=str(info.get("version") or ""),
        interface=result.get("interface", "asgi"),
        factory=bool(result.get("factory")),
        server_env=dict(result.get("env") or {}),
        sqlite_databases=tuple(result.get("sqlite_databases") or ()),
    )


def probe_failure(result: dict[str, Any], root: Path, app: str | None, tail: str) -> RunnerError:
    """The user-facing error for a result with ok=false."""
    errors = result.get("errors") or []
    met = "; ".join(f"{e['module']}: {e['error']}" + _where(e) for e in errors)
    detail = result.get("traceback") or tail
    if app and errors:
        first = errors[0]
        return RunnerError(
            STAGE,
            f"Could not import the app {app}: {first['error']} (in {first['module']}{_where(first)}).",
            "Check that the module path is right and that the app's dependencies are installed "
            "(requirements.txt or pyproject.toml).",
            detail=detail,
        )
    if app:
        return RunnerError(
            STAGE, f"Could not use --app {app}: {result.get('message')}.", APP_HINT, detail
        )
    candidates = ", ".join(result.get("candidates") or [])
    imported = (
        ", ".join(result.get("searched") or []) or "none (no candidate file mentions a framework)"
    )
    message = (
        f"No web application (FastAPI, Flask, Django, Starlette, Litestar, Connexion) found in {root}. "
        f"Candidate modules searched: {candidates}; imported: {imported}."
    )
    if met:
        message += f" Import errors: {met}."
        hint = "Install the app's dependencies or fix the import error, or " + APP_HINT[0].lower()
        return RunnerError(STAGE, message, hint + APP_HINT[1:], detail=detail)
    return RunnerError(STAGE, message, APP_HINT, detail=detail)


def _where(error: dict[str, Any]) -> str:
    return f" at {error['where']}" if error.get("where") else ""


def load_spec_file(path: Path, root: Path | None = None) -> dict[str, Any]:
    """An OpenAPI document from a JSON or YAML file (Swagger 2.0 is converted to OpenAPI 3).
    With `root`, the file is the repository's: read inside it with runner/untrusted.py."""
    try:
        text = (untrusted.read_text(root, path, "the spec file", untrusted.SPEC_LIMIT)
                if root is not None else Path(path).read_text(encoding="utf-8"))
        doc = json.loads(text) if Path(path).suffix == ".json" else yaml.safe_load(text)
    except (OSError, ValueError, yaml.YAMLError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else untrusted.parse_error(exc)
        raise RunnerError(
            STAGE,
            f"Could not read the spec file {path}: {reason}.",
            "Give a readable OpenAPI document in JSON or YAML.",
        ) from None
    if not isinstance(doc, dict):
        raise RunnerError(STAGE, f"The spec file {path} is not an OpenAPI document.", "")
    if str(doc.get("swagger", "")).startswith("2"):
        doc = swagger2_to_openapi3(doc)
    return doc
