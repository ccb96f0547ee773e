"""The GitHub event payload (`GITHUB_EVENT_PATH`): the pull request facts the action needs.

A `pull_request` or `pull_request_target` payload gives the PR's number, head and base commits
and whether it comes from a fork; other events give an empty `PullRequest`.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from runner.errors import UsageError


@dataclass(frozen=True)
class PullRequest:
    number: int | None = None
    head_sha: str | None = None
    head_ref: str | None = None
    base_ref: str | None = None
    base_sha: str | None = None
    is_fork: bool = False


def read_event(path: str | None) -> dict[str, Any]:
    if not path:
        return {}
    try:
        event = json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise UsageError(f"The event payload GITHUB_EVENT_PATH={path} cannot be read: {exc}.") \
            from exc
    return event if isinstance(event, dict) else {}


def pull_request_from(event: Mapping[str, Any]) -> PullRequest:
    """The PR facts of a pull_request / pull_request_target payload (empty for other events).

    A fork PR is one whose head repository is not the base repository (or is gone: a deleted fork
    leaves `head.repo` null).
    """
    pr = event.get("pull_request")
    if not isinstance(pr, dict):
        return PullRequest()
    head, base = pr.get("head") or {}, pr.get("base") or {}
    head_repo, base_repo = head.get("repo") or {}, base.get("repo") or {}
    if head_repo.get("full_name") and base_repo.get("full_name"):
        fork = head_repo["full_name"] != base_repo["full_name"]
    else:
        fork = bool(head_repo.get("fork", True))
    number = pr.get("number", event.get("number"))
    return PullRequest(
        number=int(number) if number is not None else None,
        head_sha=head.get("sha"),
        head_ref=head.get("ref"),
        base_ref=base.get("ref"),
        base_sha=base.get("sha") if isinstance(base.get("sha"), str) else None,
        is_fork=fork,
    )
