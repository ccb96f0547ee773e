"""Discovery: find the app in the target repository and get its OpenAPI document.

The runner reads where the repository says its app is (`entrypoints`: run scripts, Dockerfile,
Procfile, `uvicorn.run(...)`); the app is imported by the `probe` package inside the target's
own interpreter (its dependencies, its Python version), which tries those entry points first.
This side starts the probe, reads its JSON result and turns it into an `ApiSpec`, or into a
`RunnerError` that names the user's folder, what was tried and the next step (`messages`).
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import tempfile
from dataclasses import replace
from pathlib import Path
from typing import Any

from runner import procs, sandbox
from runner.discovery.entrypoints import api_folders, read_entry_points
from runner.discovery.gates import MAX_ROUNDS, Filled
from runner.discovery.messages import APP_HINT, DiscoveryFailure, probe_failure
from runner.discovery.probe import result as probe_result
from runner.environment import add_packages
from runner.errors import RunnerError, StageTimeout
from runner.limits import UnsafeFile, read_regular_file
from runner.models import ApiSpec, TargetEnv
from runner.openapi import document_from_file, document_from_value, endpoints_from_openapi

PROBE = Path(__file__).with_name("probe")  # a package, copied into each run's workspace
PROBE_NAME = "api_mcp_test_probe"  # its name there: no clash with the app's own modules
STAGE = "discovery"
RESULT_LIMIT = 256 * 1024 * 1024  # bytes of the probe's result (the app's whole spec) we read


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
        shown_root: str | None = None,
        locate_only: bool = False,
    ) -> ApiSpec:
        """Find the app under `env.root` (or import `app`) and return its spec and endpoints.

        `shown_root` is the folder as the user knows it (`env.root` is often the run's copy),
        for messages. With `locate_only` (the config names the spec file) the app is found
        but its own document is not read: a broken one must not stop the run. The probe
        works in `workdir` (default: a temporary folder), handed to the user it runs as."""
        if workdir is not None:
            workdir.mkdir(parents=True, exist_ok=True)
            sandbox.hand_over(workdir)
            return self._opening_gates(env, app, app_env, workdir, shown_root, locate_only)
        with tempfile.TemporaryDirectory(prefix="api-mcp-discovery-") as tmp:
            sandbox.hand_over(Path(tmp))
            return self._opening_gates(env, app, app_env, Path(tmp), shown_root, locate_only)

    def _opening_gates(self, env: TargetEnv, app: str | None, app_env: dict[str, str] | None,
                       workdir: Path, shown_root: str | None, locate_only: bool) -> ApiSpec:
        """Discover; when the app refused to import without settings (gates.py), again with
        placeholders for them. Modules are only made when the root is the run's copy."""
        given = dict(app_env or {})
        writable = shown_root is not None and _outside(env.root, shown_root)
        filled = Filled()
        rounds = 0
        while True:
            try:
                spec = self._discover(env, app, {**filled.env, **given}, workdir, shown_root,
                                      locate_only)
                break
            except DiscoveryFailure as exc:
                rounds += 1
                packages = filled.missing_packages(exc.errors, env.root)
                if packages and rounds <= MAX_ROUNDS and add_packages(
                        env, packages, self.timeout * 3, self.log_path or workdir / "install.log"):
                    filled.packages += packages
                    continue
                if rounds > MAX_ROUNDS or not filled.learn(exc.errors, env.root, list(given),
                                                           writable):
                    exc.hint += filled.tried()
                    raise
        if not filled:
            return spec
        return replace(spec, server_env={**filled.env, **spec.server_env},
                       filled_env=tuple(filled.env.items()),
                       filled_modules=tuple((m, tuple(n)) for m, n in filled.modules.items()),
                       filled_packages=tuple(filled.packages),
                       notes=(*spec.notes, filled.note()))

    async def discover_api(self, env: TargetEnv, app_module: str | None = None) -> ApiSpec:
        return await asyncio.to_thread(self.discover, env, app_module)

    def _discover(self, env: TargetEnv, app: str | None, app_env: dict[str, str] | None,
                  workdir: Path, shown_root: str | None, locate_only: bool) -> ApiSpec:
        out = workdir / "discovery.json"
        out.unlink(missing_ok=True)
        probe_path = install_probe(workdir / "probe")
        entries = [] if app else read_entry_points(env.root)
        cmd = [str(env.python), "-m", PROBE_NAME, "--root", str(env.root), "--out", str(out)]
        if app:
            cmd += ["--app", app]
        if entries:
            hints = workdir / "probe" / "hints.json"
            hints.write_text(json.dumps([e.as_hint() for e in entries], indent=1))
            cmd += ["--hints", str(hints)]
        if locate_only:
            cmd.append("--locate-only")
        probe_env = sandbox.scrubbed_env(app_env)
        probe_env["PYTHONPATH"] = os.pathsep.join(
            filter(None, (str(probe_path), probe_env.get("PYTHONPATH"))))
        try:
            finished = procs.run(
                cmd,
                cwd=env.root,
                env=probe_env,
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
        if not os.path.lexists(out):
            raise RunnerError(
                STAGE,
                f"The discovery probe exited with code {finished.returncode} without a result "
                f"while importing the app from {env.root}.",
                "The app may exit or crash the interpreter at import time; the output is in the "
                "details. " + APP_HINT,
                detail=finished.tail(),
            )
        try:
            # The app runs in the probe and can replace the result file (a FIFO would block a
            # plain open, a symlink would make us read elsewhere): a bounded regular file only.
            result = probe_result.from_json(
                json.loads(read_regular_file(out, RESULT_LIMIT).decode("utf-8")))
        except UnsafeFile as exc:
            raise RunnerError(
                STAGE,
                f"The discovery probe's result is unusable: {exc}. The app's code, which runs "
                "in the probe, replaced it.",
                "Remove whatever in the app touches files it did not create at import time. "
                + APP_HINT,
                detail=finished.tail(),
            ) from None
        except (ValueError, RecursionError) as exc:  # not JSON, or not the probe's records
            raise RunnerError(
                STAGE,
                f"The discovery probe wrote an unreadable result: {exc}.",
                "The app's code may have overwritten it at import time; if not, this is a bug "
                "in api-mcp-test: please report it with the details.",
                detail=finished.tail(),
            ) from None
        if isinstance(result, probe_result.NotFound):
            shown = shown_root or str(env.root)
            # Paths in the run's copy: the user's.
            errors = [replace(e, error=e.error.replace(str(env.root), shown))
                      for e in result.errors]
            raise probe_failure(replace(result, errors=errors), shown, app, finished.tail(),
                                entries, api_folders(env.root) if not app else [])
        return spec_from_result(result)


def _outside(root: Path, shown: str) -> bool:
    """Whether `root` (the folder discovery reads) is not the user's own folder `shown`."""
    try:
        return root.resolve() != Path(shown).resolve()
    except (OSError, RuntimeError):
        return False


def install_probe(folder: Path) -> Path:
    """Copy the probe package into `folder` (under a name of its own) and return the folder to
    put on the target interpreter's path. A copy, because the project's code may run as a
    user who cannot read the runner's installation."""
    target = folder / PROBE_NAME
    if target.exists():
        shutil.rmtree(target)
    shutil.copytree(PROBE, target, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    sandbox.require_reachable(target, STAGE, "the discovery probe (part of api-mcp-test)")
    return folder


def spec_from_result(result: probe_result.Found) -> ApiSpec:
    """An `ApiSpec` from the probe's successful result (no document with --locate-only)."""
    doc = document_from_value(result.openapi or {"openapi": "3.0.3", "info": {}, "paths": {}},
                              f"of the app {result.app}")
    info = doc.get("info") or {}
    return ApiSpec(
        framework=result.framework,
        app_locator=result.app,
        openapi=doc,
        endpoints=endpoints_from_openapi(doc),
        spec_source=result.spec_source,  # type: ignore[arg-type]
        title=str(info.get("title") or ""),
        version=str(info.get("version") or ""),
        interface=result.interface,
        factory=result.factory,
        server_env=dict(result.env),
        sqlite_databases=tuple(result.sqlite_databases),
        sqlite_files=tuple(sorted(result.sqlite_files.items())),
        seed=result.seed,
        notes=tuple(result.notes),
    )


def load_spec_file(path: Path, root: Path | None = None) -> dict[str, Any]:
    """An OpenAPI document from a JSON or YAML file (Swagger 2.0 is converted to OpenAPI 3).
    With `root`, the file is the repository's: it and the files it references are read inside
    it with runner/untrusted.py."""
    return document_from_file(Path(path), root)
