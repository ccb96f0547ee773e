"""The headers file the generated MCP server rereads, and keeping it valid for the whole run.

The file is readable by the MCP server's user and nobody else: when the runner is root and drops
the project's processes to a sandbox user, it is root's, in that user's group, mode 0640, in a
root folder that group may only traverse (so the app, running as that user, cannot replace it);
otherwise it is owner-only. A file the MCP server cannot read is a loud failure here, before
the server starts, and in the server (a tool error), never a run without credentials.
"""

from __future__ import annotations

import json
import os
import stat
import threading
import time
from pathlib import Path
from typing import Any

from runner import sandbox
from runner.auth.flow import AuthResult, authenticate, describe, renew
from runner.auth.seed import Seeder
from runner.auth.user import STAGE
from runner.errors import RunnerError
from runner.models import ApiSpec, AuthConfig, Timeouts

# A JWT access token is renewed when this share of its lifetime is gone (simplejwt: 5 minutes).
RENEW_AT = 0.7


class Credentials:
    """The headers every tool call carries, kept in a file the generated wrapper rereads when it
    changes. `log_in` obtains them (again: a new throwaway user for a sign-up flow), `log_out`
    sends none until `restore`; a JWT access token is renewed before it expires (`refresh`
    renews at once, for a 401 on credentials that worked)."""

    def __init__(self, path: Path, auth: AuthConfig | None, spec: ApiSpec, base_url: str,
                 timeout: float = Timeouts.call, seeder: Seeder | None = None) -> None:
        self.path = path
        self.seeder = seeder  # makes a user in the run's throwaway database (runner/auth/seed.py)
        self.auth = auth
        self.spec = spec
        self.base_url = base_url
        self.timeout = timeout
        self.headers: dict[str, str] = {}  # the credentials obtained last
        self.record: dict[str, Any] = {}  # how (no secrets), see authenticate
        self.logins = 0
        self._grant: AuthResult | None = None
        self._anonymous = False  # the file holds other headers than the run's user's
        self._second: dict[str, str] | None = None  # a second user's headers, made once
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._renewer: threading.Thread | None = None
        self._prepare_folder()
        self._write({})

    @property
    def offered(self) -> bool:
        """Whether logging in again can work: the first login (configured or automatic) did."""
        return bool(self.record.get("ok"))

    def log_in(self) -> AuthResult:
        """Obtain credentials and make every later call carry them. A configured flow that
        fails raises RunnerError; a failed automatic one keeps the previous credentials (and
        their record)."""
        self.logins += 1
        outcome = authenticate(self.auth, self.spec, self.base_url, self.timeout,
                               seeder=self.seeder)
        with self._lock:
            if outcome.headers or not self.headers:
                self.record, self.headers = outcome.record, outcome.headers
                self._grant = outcome if outcome.headers else None
            self._anonymous = False
            self._write(self.headers)
        self._keep_fresh()
        return outcome

    def refresh(self) -> bool:
        """Renew the credentials now (refresh token, else the same user logged in again);
        whether new ones were obtained. The failure is kept in the record."""
        grant = self._grant
        if grant is None:
            return False
        try:
            fresh = renew(self.auth, self.spec, self.base_url, grant, self.timeout, self.seeder)
        except RunnerError as exc:
            self.record["renew_error"] = exc.message
            return False
        if not fresh.headers:
            self.record["renew_error"] = fresh.record.get("message", "no credentials")
            return False
        with self._lock:
            if self._stop.is_set():  # discarded meanwhile: nothing is written again
                return False
            self._grant, self.headers = fresh, fresh.headers
            self.record["renewed"] = self.record.get("renewed", 0) + 1
            if not self._anonymous:
                self._write(self.headers)
        return True

    def log_out(self) -> None:
        with self._lock:
            self._anonymous = True
            self._write({})

    def second_user(self) -> dict[str, str] | None:
        """Headers of a second throwaway user, signed up the way the first was (None: the API
        has no open sign-up the run used, or the second sign-up failed). For the object-level
        authorization probes; made once per run."""
        if self._second is None:
            signed_up = self.offered and any(
                c.get("step") == "register" and int(c.get("status_code") or 500) < 400
                for c in self.record.get("calls", []))
            outcome = None
            if signed_up:
                try:
                    outcome = authenticate(self.auth, self.spec, self.base_url, self.timeout)
                except RunnerError:
                    outcome = None
            self._second = dict(outcome.headers) if outcome and outcome.headers else {}
        return self._second or None

    def act_as(self, headers: dict[str, str]) -> None:
        """Send these headers (another user's) until `restore`."""
        with self._lock:
            self._anonymous = True
            self._write(headers)

    def restore(self) -> None:
        with self._lock:
            self._anonymous = False
            self._write(self.headers)

    def discard(self) -> None:
        self._stop.set()
        if self._renewer is not None:
            # A renewal still waiting on the app is not waited for (the run's cleanup is
            # bounded); it writes nothing once stopped.
            self._renewer.join(timeout=min(self.timeout + 1, 2.0))
        self.path.unlink(missing_ok=True)

    def describe_state(self) -> str:
        """For the model: whether calls carry credentials, and how they were obtained."""
        if self.record.get("mode") == "off":
            return "none: authentication is switched off in the config (auth: off)"
        if self.record.get("ok"):
            return (f"obtained by the runner ({describe(self.record).removeprefix('auth: ')}); "
                    "every tool call carries them")
        if self.record.get("message"):
            return f"none: the login did not work: {self.record['message']}"
        return "none configured"

    # -- renewing an expiring token ----------------------------------------------------------

    def _keep_fresh(self) -> None:
        running = self._renewer is not None and self._renewer.is_alive()
        if not running and self._grant is not None and self._grant.expires:
            self._renewer = threading.Thread(target=self._renew_loop, name="auth-renew",
                                             daemon=True)
            self._renewer.start()

    def _renew_loop(self) -> None:
        while not self._stop.is_set():
            grant = self._grant
            if grant is None or grant.expires is None:
                return
            issued, expires = grant.expires
            due = issued + RENEW_AT * max(expires - issued, 1.0)
            if self._stop.wait(max(due - time.time(), 0.5)):
                return
            if not self.refresh():
                return  # the record says why; calls then answer 401 and say so

    # -- the file ----------------------------------------------------------------------------

    def _prepare_folder(self) -> None:
        folder = self.path.parent
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        box = sandbox.user()
        if box is not None:  # root: the sandbox user's group may traverse, not list or write
            os.chown(folder, os.geteuid(), box.gid)
            folder.chmod(0o710)

    def _write(self, headers: dict[str, str]) -> None:
        box = sandbox.user()
        staged = self.path.with_name(self.path.name + ".new")
        staged.unlink(missing_ok=True)
        descriptor = os.open(staged, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        if box is not None:
            os.fchown(descriptor, os.geteuid(), box.gid)
            os.fchmod(descriptor, 0o640)
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(headers, file)
        os.replace(staged, self.path)  # the wrapper sees the old file or the new, never half
        blocked = box.can_reach(self.path) if box is not None else None
        if blocked is not None:
            raise RunnerError(
                STAGE,
                f"The MCP server runs as {box.name} (API_MCP_TEST_SANDBOX_USER), which cannot read "
                f"the credentials file {self.path}: {blocked} is "
                f"{stat.filemode(blocked.stat().st_mode)}; every call would go without "
                "credentials.",
                "Put the workspace where that user can enter (--workspace-root on a folder "
                "others may traverse, chmod o+x), or run api-mcp-test as a normal user.")
