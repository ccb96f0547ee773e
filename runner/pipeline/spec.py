"""Stage `discovery` (the app and its OpenAPI document) and, when the document must come from
the running app, stage `served spec`. The spec's source is decided here, before generation, so
the MCP server is generated once."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from runner import auth as auth_mod
from runner.config import select_operations
from runner.discovery import APIDiscoveryService, load_spec_file
from runner.discovery.served import served_spec
from runner.environment import cache_root
from runner.errors import RunnerError
from runner.models import ApiSpec, Endpoint, TargetEnv
from runner.openapi import check_operation_count, endpoints_from_openapi, validate_document
from runner.runconfig import ServeSettings, SpecSettings
from runner.shard import select_shard

SERVED_SPEC_DEADLINE = 10.0  # seconds (at least; the start timeout when longer) to read a served spec


@dataclass(frozen=True)
class Selection:
    """The spec the run tests: the configured operations (and this shard's part of them)."""

    spec: ApiSpec
    operations: list[Endpoint]  # every selected operation: the contract diff needs them all
    notes: list[str] = field(default_factory=list)


def adopt_document(spec: ApiSpec, document: dict[str, Any], source: str) -> ApiSpec:
    """`spec` with `document` as its OpenAPI document (the one way a document becomes a spec)."""
    info = document.get("info") or {}
    return replace(spec, openapi=document, spec_source=source,  # type: ignore[arg-type]
                   endpoints=endpoints_from_openapi(document), title=str(info.get("title") or ""),
                   version=str(info.get("version") or ""))


def spec_from_file(path: Path) -> ApiSpec:
    """A spec file given on the command line (`generate --spec`), no app behind it."""
    empty = ApiSpec(framework="spec-file", app_locator=str(path), openapi={}, endpoints=[])
    return adopt_document(empty, load_spec_file(path), "file")


def _project_file(settings: SpecSettings, path: Path) -> bool:
    boundary = settings.boundary
    return boundary is not None and os.path.abspath(path).startswith(
        str(boundary).rstrip("/") + "/")


def spec_file(settings: SpecSettings) -> Path | None:
    """The spec file: one the project's config names (inside the run copy, read with
    runner/untrusted.py), or one given through the Python API."""
    location = settings.location
    if not location:
        return None
    if _project_file(settings, Path(location)):
        return Path(location)
    return Path(location) if Path(location).is_file() else None


def spec_url(settings: SpecSettings) -> str | None:
    """The URL path on the running app the project's config names for its spec."""
    location = settings.location
    return location if location and spec_file(settings) is None else None


def discover(settings: SpecSettings, env: TargetEnv, timeout: float, log_path: Path, workdir: Path,
             shown_root: str) -> ApiSpec:
    """The app and its spec: the configured spec file when there is one (read after setup: a
    setup step may write it), else the document the app builds."""
    service = APIDiscoveryService(timeout=timeout, log_path=log_path)
    path = spec_file(settings)
    spec = service.discover(env, app=settings.app, app_env=settings.app_env, workdir=workdir,
                            shown_root=shown_root, locate_only=bool(path))
    if path is None:
        return spec
    boundary = settings.boundary if _project_file(settings, path) else None
    return adopt_document(spec, load_spec_file(path, boundary), "file")


def select(spec: ApiSpec, settings: SpecSettings) -> Selection:
    """The configured operations (include/exclude), this shard's part, and the document's
    validation warnings."""
    # The cap bounds what one run serves as tools: with --shard, this shard's part.
    chosen = select_operations(spec, settings.include, settings.exclude,
                               counted=settings.shard is None)
    operations = chosen.endpoints
    if settings.shard is not None:
        chosen = select_shard(chosen, settings.shard)
        check_operation_count(len(chosen.endpoints), source=f"(shard {settings.shard})")
    # Validated once per document: the cache under the runner's own cache folder.
    notes = (validate_document(chosen.openapi, cache=cache_root() / "validated")
             if chosen.spec_source != "synthesized" else [])
    return Selection(chosen, operations, list(notes))


def no_operations(spec: ApiSpec) -> RunnerError:
    return RunnerError("discovery", f"The app {spec.app_locator} declares no operations.",
                       "Check that routes are registered on the app object found, or pass the "
                       "right one with --app.")


def needs_running_app(spec: ApiSpec, settings: SpecSettings, serve: ServeSettings) -> bool:
    """Whether the app must answer before the MCP server is generated and started: its spec is
    read from it (a configured URL path, or a synthesized spec to replace), or the run logs in
    to it, or it has its own start command."""
    auth = serve.auth
    if auth is not None and auth.mode == "login":
        return True
    if (auth is None or auth.mode == "auto") and auth_mod.automatic_plan(
            spec, seed=bool(spec.seed) and not serve.start_command)[0]:
        return True
    return bool(spec_url(settings)) or spec.spec_source == "synthesized" or bool(
        serve.start_command)


def wants_served_spec(spec: ApiSpec, settings: SpecSettings) -> bool:
    return spec_url(settings) is not None or spec.spec_source == "synthesized"


def read_served(spec: ApiSpec, settings: SpecSettings,
                base_url: str) -> tuple[ApiSpec, str] | None:
    """The document the running app serves (at the configured path, or the usual ones), as
    the spec; None when it serves none."""
    found = served_spec(base_url, spec_url(settings))
    if found is None:
        return None
    document, path = found
    return adopt_document(spec, document, "native"), path


def served_timeout(settings: SpecSettings, limit: float) -> RunnerError:
    where = spec_url(settings) or "its usual spec paths"
    return RunnerError(
        "discovery", f"The app did not finish serving its OpenAPI document at {where} "
        f"within {limit:.0f} s.",
        "Check that the spec endpoint answers quickly against the running app, or point `spec` "
        "in .api-mcp-test.yml at a file.")


def no_served_operations(path: str) -> RunnerError:
    return RunnerError("discovery", f"The spec the app serves at {path} declares no operations "
                       "(after include/exclude).",
                       "Check `spec`, `include` and `exclude` in .api-mcp-test.yml.")
