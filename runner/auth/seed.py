"""A user created in the run's throwaway database, for an API that wants a login but has no open
sign-up (users made in the admin or a shell), or whose sign-up the run cannot complete.

Only where the database is the run's own: Django served on the runner's throwaway sqlite
copies, or SQLAlchemy on a sqlite file inside the run's copy of the repository (discovery says
which, `ApiSpec.seed`); never a database server the project is configured with, and never with
the project's own start command (its database is not known to be a throwaway). The user is
made in the app's interpreter with the environment the app is served with
(runner/discovery/probe/seed.py), then logs in through the API's login operation; Django also
mints credentials (DRF token, simplejwt, knox, session) for an API whose login cannot be used.
"""

from __future__ import annotations

import json
import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from runner import procs, sandbox
from runner.auth.user import ThrowawayUser
from runner.errors import RunnerError
from runner.limits import UnsafeFile, read_regular_file

SEED_MODULE = "api_mcp_test_probe.seed"
RESULT_LIMIT = 1024 * 1024


@dataclass(frozen=True)
class Minted:
    """Credentials made for the seeded user without the API's login (headers and cookies)."""

    how: str
    headers: dict[str, str] = field(default_factory=dict)
    cookies: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SeededUser:
    user: ThrowawayUser
    login_name: str  # what the login names the user by: username or email
    how: str  # for the report: "create_superuser on the user model accounts.User (email ...)"
    minted: tuple[Minted, ...] = ()


@dataclass(frozen=True)
class Served:
    """How the app is served: its interpreter, folder and environment (the seed runs alike)."""

    python: Path
    cwd: Path
    env: dict[str, str]
    app: str
    framework: str


class Seeder:
    """Makes the user once (the first call), then hands the same one out."""

    def __init__(self, served: Served, kind: str, folder: Path, probe_folder: Path,
                 timeout: float) -> None:
        self.served = served
        self.kind = kind  # "django" or "sqlalchemy"
        self.folder = folder
        self.probe_folder = probe_folder  # holds the probe package (runner/discovery/probe)
        self.timeout = timeout
        self.error = ""
        self._made: SeededUser | None = None
        self._tried = False
        self._lock = threading.Lock()

    def user(self) -> SeededUser | None:
        with self._lock:
            if not self._tried:
                self._tried = True
                try:
                    self._made = self._create(ThrowawayUser.generate())
                except RunnerError as exc:
                    self.error = exc.message
            return self._made

    def _create(self, user: ThrowawayUser) -> SeededUser:
        self.folder.mkdir(parents=True, exist_ok=True)
        sandbox.hand_over(self.folder)
        given, out = self.folder / "user.json", self.folder / "seeded.json"
        given.write_text(json.dumps({"username": user.username, "email": user.email,
                                     "password": user.password}), encoding="utf-8")
        sandbox.hand_over(given)
        out.unlink(missing_ok=True)
        env = dict(self.served.env)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, (str(self.probe_folder),
                                                          env.get("PYTHONPATH"))))
        cmd = [str(self.served.python), "-m", SEED_MODULE, "--framework", self.kind,
               "--root", str(self.served.cwd), "--app", self.served.app,
               "--user", str(given), "--out", str(out)]
        finished = procs.run(cmd, cwd=self.served.cwd, env=env, timeout=self.timeout,
                             stage="auth", log_path=self.folder / "seed.log",
                             what="creating a user in the throwaway database")
        try:
            result = json.loads(read_regular_file(out, RESULT_LIMIT).decode("utf-8"))
        except (OSError, UnsafeFile, ValueError) as exc:
            raise RunnerError("auth", f"creating a user in the throwaway database gave no "
                              f"result (exit code {finished.returncode}): {exc}") from None
        finally:  # the password and the minted tokens stay in memory only
            given.unlink(missing_ok=True)
            out.unlink(missing_ok=True)
        if not isinstance(result, dict) or not result.get("ok"):
            error = result.get("error") if isinstance(result, dict) else "an unreadable result"
            raise RunnerError("auth", f"creating a user in the throwaway database failed: "
                              f"{error}")
        return seeded_from(result, user)


def seeded_from(result: dict[str, Any], user: ThrowawayUser) -> SeededUser:
    """The seed script's result as a `SeededUser`. The app's interpreter wrote it: a result of
    another shape is a failed seed (a RunnerError), never a crash of the run."""
    try:
        minted = tuple(
            Minted(how=str(m.get("how") or ""),
                   headers={str(k): str(v) for k, v in (m.get("headers") or {}).items()},
                   cookies={str(k): str(v) for k, v in (m.get("cookies") or {}).items()})
            for m in result.get("minted") or () if isinstance(m, dict))
    except (AttributeError, TypeError) as exc:
        raise RunnerError("auth", "creating a user in the throwaway database gave a result of "
                          f"another shape: {exc}") from None
    name = result.get("login_name")
    return SeededUser(user=user, login_name="email" if name == "email" else "username",
                      how=str(result.get("how") or ""), minted=minted)
