"""The repo stage: what is being tested (a folder, or a clone of a remote repository), its git
facts, and its dependencies.

Clones are shallow where git allows: a branch with `clone --depth 1`, a pull request as
`refs/pull/N/head`, a commit by its sha. A token reaches git only as an HTTP header in
`GIT_CONFIG_*` environment variables: never on a command line, in `.git/config`, a log or a report.
"""

from __future__ import annotations

import asyncio
import base64
import os
import re
import shutil
import stat
import tempfile
from collections.abc import Mapping
from pathlib import Path
from urllib.parse import unquote, urlsplit, urlunsplit

from runner import environment, gitcmd, procs, sandbox
from runner.errors import RunnerError, UsageError
from runner.models import RepoInfo, TargetEnv, Timeouts

STAGE = "repo"
_REMOTE_PREFIXES = ("https://", "http://", "ssh://", "git://", "file://")
_SCP_LIKE = re.compile(r"^[\w.-]+@[\w.-]+:(?!//)")  # git@github.com:org/api.git
_FULL_SHA = re.compile(r"^[0-9a-fA-F]{40}([0-9a-fA-F]{24})?$")
_SHORT_SHA = re.compile(r"^[0-9a-fA-F]{4,64}$")
# What git needs from our environment besides the scrubbed basics: ssh agent, proxies, CA bundles.
_GIT_INHERITED = ("SSH_AUTH_SOCK", "GIT_SSH", "GIT_SSH_COMMAND", "GIT_SSL_CAINFO", "GIT_SSL_CAPATH",
                  "SSL_CERT_FILE", "SSL_CERT_DIR", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY",
                  "http_proxy", "https_proxy", "no_proxy")


_GIT_CONFIG_KEY = re.compile(r"GIT_CONFIG_KEY_(\d+)")


def with_git_config(environ: Mapping[str, str], *entries: tuple[str, str]) -> dict[str, str]:
    """`environ` plus git config `entries` (key, value) as GIT_CONFIG_* variables, appended
    after the ones already there: a token's header must not erase `safe.directory`."""
    env = dict(environ)
    count = int(env.get("GIT_CONFIG_COUNT", "0") or 0)
    for key, value in entries:
        env.update({f"GIT_CONFIG_KEY_{count}": key, f"GIT_CONFIG_VALUE_{count}": value})
        count += 1
    env["GIT_CONFIG_COUNT"] = str(count)
    return env


def git_config_secrets(environ: Mapping[str, str]) -> list[str]:
    """Secret values among GIT_CONFIG_VALUE_n: those of HTTP headers (the token); never a key
    name or `safe.directory` (masking those would hide ordinary words and paths)."""
    found = []
    for name, key in environ.items():
        match = _GIT_CONFIG_KEY.fullmatch(name)
        if match and key.lower().startswith("http.") and key.lower().endswith("extraheader"):
            value = environ.get(f"GIT_CONFIG_VALUE_{match.group(1)}", "")
            found += [value, value.split()[-1]] if value.split() else []
    return found


def is_remote(target: str) -> bool:
    """True for something to clone (https://, ssh://, git@host:path, file://), not a folder."""
    return target.startswith(_REMOTE_PREFIXES) or bool(_SCP_LIKE.match(target))


def read_repo_info(path: Path) -> RepoInfo:
    """Git facts when `path` is inside a work tree; just the path otherwise."""
    info = RepoInfo(path=str(path))
    if gitcmd.output(path, "rev-parse", "--is-inside-work-tree") != "true":
        return info
    info.commit = gitcmd.output(path, "rev-parse", "HEAD")
    branch = gitcmd.output(path, "rev-parse", "--abbrev-ref", "HEAD")
    info.branch = branch if branch and branch != "HEAD" else None
    info.message = gitcmd.output(path, "log", "-1", "--format=%s")
    info.author = gitcmd.output(path, "log", "-1", "--format=%an")
    remote = gitcmd.output(path, "remote", "get-url", "origin")
    info.remote = split_credentials(remote)[0] if remote else None
    return info


def commit_date(path: Path) -> str | None:
    """The committer date (RFC 3339) of HEAD when `path` is in a git work tree, else None: what
    the project's unbounded requirements are resolved as of (runner/environment.py)."""
    return gitcmd.output(path, "log", "-1", "--format=%cI") or None


def split_credentials(url: str) -> tuple[str, str | None]:
    """`https://user:secret@host/x.git` -> (`https://host/x.git`, `secret`); other URLs as given."""
    if not url.startswith(("https://", "http://")):
        return url, None
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url, None
    userinfo, _, host = parts.netloc.rpartition("@")
    user, _, password = userinfo.partition(":")
    return urlunsplit(parts._replace(netloc=host)), unquote(password or user) or None


class _Git:
    """Runs git for one clone: no prompts, bounded, the token only in the environment.
    `trust`: a folder owned by another user that git may work in (exactly that one)."""

    def __init__(self, url: str, token: str | None, timeout: float,
                 trust: Path | None = None) -> None:
        self.url = url
        self.timeout = timeout
        self.secrets = [s for s in (token,) if s]
        extra = {k: v for k, v in os.environ.items() if k in _GIT_INHERITED}
        extra["HOME"] = str(Path.home())  # git runs as us (see procs.run's `trusted`)
        extra.update(GIT_TERMINAL_PROMPT="0", GIT_ASKPASS="", SSH_ASKPASS="",
                     GCM_INTERACTIVE="never")
        extra["GIT_SSH_COMMAND"] = extra.get("GIT_SSH_COMMAND", "ssh -o BatchMode=yes")
        config = [("safe.directory", str(trust))] if trust is not None else []
        if token and url.startswith(("https://", "http://")):
            basic = base64.b64encode(f"x-access-token:{token}".encode()).decode()
            self.secrets.append(basic)
            config.append(("http.extraHeader", f"Authorization: Basic {basic}"))
        self.env = sandbox.scrubbed_env(with_git_config(extra, *config) if config else extra)

    def mask(self, text: str) -> str:
        for secret in self.secrets:
            text = text.replace(secret, "***")
        return text

    def __call__(self, cwd: Path, *args: str, check: bool = True) -> procs.Finished:
        finished = procs.run(["git", *args], cwd=cwd, env=self.env, timeout=self.timeout,
                             stage=STAGE, what=f"git {args[0]}", trusted=True)
        finished = procs.Finished(finished.returncode, self.mask(finished.output))
        if check and finished.returncode != 0:
            raise self.failure(args, finished)
        return finished

    def failure(self, args: tuple[str, ...], finished: procs.Finished) -> RunnerError:
        out = finished.output
        lower = out.lower()
        where = f"Cloning {self.url}"
        if "remote branch" in lower and "not found" in lower:
            return RunnerError(STAGE, f"{where}: the branch does not exist ({_last(out)}).",
                               "Check the --branch name (it is case-sensitive).", detail=out)
        if "couldn't find remote ref refs/pull/" in lower:
            return RunnerError(STAGE, f"{where}: there is no such pull request ({_last(out)}).",
                               "Check the --pr number; the host must publish refs/pull/N/head "
                               "(GitHub does).", detail=out)
        if re.search(r"authentication failed|could not read username|permission denied|"
                     r"terminal prompts disabled|invalid username or password|\b40[13]\b", lower):
            return RunnerError(STAGE, f"{where}: the server refused access ({_last(out)}).",
                               "For a private repository give a token with read access "
                               "(GITHUB_TOKEN or --token-file); for SSH load a key into ssh-agent.",
                               detail=out)
        if any(s in lower for s in ("could not resolve host", "failed to connect",
                                    "connection refused", "does not appear to be a git repository",
                                    "repository not found", "not found", "unable to access",
                                    "could not read from remote")):
            return RunnerError(STAGE, f"{where}: the repository could not be reached "
                               f"({_last(out)}).",
                               "Check the URL and your network; a private repository also needs "
                               "a token (GITHUB_TOKEN or --token-file).", detail=out)
        return RunnerError(STAGE, f"{where}: `git {' '.join(args[:2])}` failed ({_last(out)}).",
                           "Check the URL and the branch, pull request or commit.", detail=out)


def fetch_env(url: str, token: str | None) -> dict[str, str]:
    """The environment a later fetch from `url` runs with: no prompts, a token only as a header
    in GIT_CONFIG_* (e.g. the PR's base, fetched into a clone the run made)."""
    return _Git(url, token, 0.0).env


def _last(output: str) -> str:
    lines = [line.strip() for line in output.strip().splitlines() if line.strip()]
    fatal = [line for line in lines if line.startswith(("fatal:", "error:", "remote:"))]
    return (fatal or lines or ["no output"])[-1]


def clone(url: str, dest: Path, *, branch: str | None = None, pr_number: int | None = None,
          commit: str | None = None, token: str | None = None,
          timeout: float = 300.0, trust: bool = False) -> RepoInfo:
    """Clone `url` into the empty folder `dest` at a branch (default: the remote's default
    branch), a pull request's head or a commit; return its git facts. `trust`: `dest` may
    belong to another user (the action's mounted workspace)."""
    if sum(x is not None for x in (branch, pr_number, commit)) > 1:
        raise UsageError("Give at most one of --branch, --pr and --commit.",
                         "A pull request and a commit already name the code to test.")
    if commit is not None and not _SHORT_SHA.match(commit):
        raise UsageError(f"--commit {commit!r} is not a commit sha.",
                         "Give the full 40-character sha or an abbreviation of it.")
    url, embedded = split_credentials(url)
    git = _Git(url, token or embedded, timeout, trust=dest.resolve() if trust else None)
    dest.mkdir(parents=True, exist_ok=True)
    if branch is None and pr_number is None and commit is None or branch is not None:
        git(dest.parent, "clone", "--quiet", "--depth", "1", "--no-tags", "--single-branch",
            *(("--branch", branch) if branch else ()), "--", url, str(dest))
    else:
        git(dest, "init", "--quiet")
        git(dest, "remote", "add", "origin", url)
        if pr_number is not None:
            git(dest, "fetch", "--quiet", "--depth", "1", "--no-tags", "origin",
                f"refs/pull/{pr_number}/head")
        else:
            assert commit is not None
            _fetch_commit(git, dest, commit)
        git(dest, "checkout", "--quiet", "--detach", "FETCH_HEAD")
    info = read_repo_info(dest)
    if info.commit is None:
        raise RunnerError(STAGE, f"Cloning {url}: the remote's default branch has no commits.",
                          "Name the branch to test with --branch.")
    info.remote = url
    info.pr_number = pr_number
    return info


def _fetch_commit(git: _Git, dest: Path, commit: str) -> None:
    """A full sha is fetched alone (servers allow it for reachable commits); an abbreviation
    needs the history: fetch branches, tags and pull requests, then resolve it."""
    if _FULL_SHA.match(commit) and git(dest, "fetch", "--quiet", "--depth", "1", "--no-tags",
                                       "origin", commit, check=False).returncode == 0:
        return
    git(dest, "fetch", "--quiet", "--no-tags", "origin", "+refs/heads/*:refs/remotes/origin/*",
        "+refs/tags/*:refs/tags/*")
    resolved = git(dest, "rev-parse", "--quiet", "--verify", f"{commit}^{{commit}}", check=False)
    if resolved.returncode != 0:
        # Commits only reachable from a pull request (GitHub publishes refs/pull/*/head).
        git(dest, "fetch", "--quiet", "--no-tags", "origin",
            "+refs/pull/*/head:refs/remotes/origin/pull/*", check=False)
        resolved = git(dest, "rev-parse", "--quiet", "--verify", f"{commit}^{{commit}}",
                       check=False)
    if resolved.returncode != 0:
        raise RunnerError(STAGE, f"Cloning {git.url}: commit {commit} is not in the repository.",
                          "Check the --commit sha (push the commit first if it is only local).")
    git(dest, "update-ref", "FETCH_HEAD", resolved.output.strip())


def check_out_pull_request(workspace: Path, server_url: str, repository: str, pr_number: int,
                           token: str | None, timeout: float = 300.0) -> str:
    """The action's checkout when no checkout step ran: `refs/pull/N/head` of `repository`
    into the empty mounted `workspace` (another user's folder, trusted alone); returns the
    commit. The token reaches git only as a header (see `_Git`)."""
    try:
        info = clone(f"{server_url}/{repository}.git", workspace, pr_number=pr_number,
                     token=token, timeout=timeout, trust=True)
    except RunnerError as exc:
        exc.hint = ("Add `- uses: actions/checkout@v4` before this action, or give the job "
                    "`contents: read` permission.")
        raise
    assert info.commit is not None  # clone refuses a checkout without one
    return info.commit


def workspace_is_empty(workspace: Path) -> bool:
    return not workspace.exists() or not any(workspace.iterdir())


# Not copied into the run copy: version control, environments, caches, our own reports.
RUN_COPY_IGNORED = (".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__",
                    ".tox", ".nox", ".mypy_cache", ".pytest_cache", ".ruff_cache",
                    "api-mcp-test-report")


def run_copy(source: Path, dest: Path) -> Path:
    """Copy the local folder `source` to `dest` (in the run's workspace) for every later stage
    to work on: the app's runtime files (sqlite databases, logs, uploads) and the installer's
    build files land there, never in the user's checkout. Symlinks are copied as links, FIFOs,
    sockets and devices not at all;
    virtualenvs (any folder with a pyvenv.cfg) are left out. The copy is handed to the sandbox
    user (see procs)."""
    shutil.copytree(source, dest, symlinks=True, ignore=_not_copied)
    sandbox.hand_over(dest)
    return dest


def _not_copied(folder: str, names: list[str]) -> set[str]:
    return {name for name in names if name in RUN_COPY_IGNORED or _special(folder, name)
            or os.path.isfile(os.path.join(folder, name, "pyvenv.cfg"))}


def _special(folder: str, name: str) -> bool:
    """FIFOs, sockets and devices are no part of a project: copying one would block or fail."""
    try:
        mode = os.lstat(os.path.join(folder, name)).st_mode
    except OSError:
        return False
    return not (stat.S_ISREG(mode) or stat.S_ISDIR(mode) or stat.S_ISLNK(mode))


def working_folder(root: Path, working_directory: str | None) -> Path:
    """The app's folder: `working_directory` inside `root`, never outside it."""
    if not working_directory or working_directory in (".", "./"):
        return root
    folder = (root / working_directory).resolve()
    if not folder.is_relative_to(root.resolve()):
        raise UsageError(f"--working-directory {working_directory!r} leaves the repository.",
                         "Give a folder inside the repository, e.g. services/api.")
    if not folder.is_dir():
        raise RunnerError(STAGE, f"--working-directory {working_directory!r} is not a folder in "
                          f"the repository.", "Check the path (relative to the repository root).")
    return folder


class RepoManager:
    """Repository handling with the API the seed's users wrote code against."""

    def __init__(self, timeouts: Timeouts | None = None) -> None:
        self.timeouts = timeouts or Timeouts()

    async def clone_repo(self, url: str, branch: str | None = None, pr_number: int | None = None,
                         commit: str | None = None, token: str | None = None,
                         dest: str | Path | None = None) -> Path:
        """Clone into `dest` (default: a new temporary folder; remove it with `cleanup`)."""
        target = Path(dest) if dest else Path(tempfile.mkdtemp(prefix="api-mcp-test-"))
        await asyncio.to_thread(clone, url, target, branch=branch, pr_number=pr_number,
                                commit=commit, token=token, timeout=self.timeouts.clone)
        return target

    async def get_repo_info(self, path: str | Path) -> RepoInfo:
        return await asyncio.to_thread(read_repo_info, Path(path))

    async def install_dependencies(
        self, path: str | Path, python: str | None = None, install_command: str | None = None,
        log_path: Path | None = None, dev: bool = False,
    ) -> TargetEnv:
        repo = Path(path)
        return await asyncio.to_thread(
            environment.prepare, repo, python=python, install=True,
            install_command=install_command, timeout=self.timeouts.install,
            log_path=log_path or Path(tempfile.gettempdir()) / "api-mcp-test-install.log", dev=dev,
        )

    def cleanup(self, path: str | Path) -> None:
        shutil.rmtree(path, ignore_errors=True)
