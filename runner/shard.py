"""Sharding a big API over a GitHub Actions matrix: shard K of N tests a stable part of the
operations, and `merge` puts the shards' reports back together (runner/report/merge.py).

Operations are split by resource, never one by one: a resource's create, reads, updates and
deletes stay in one shard, so ids flow between them as in a single run and the verdicts match
one run's. Resources are dealt largest first to the emptiest shard (ties to the lowest), which
depends only on the spec, so every matrix job computes the same split.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from runner.errors import UsageError
from runner.models import ApiSpec, Endpoint

_FORM = re.compile(r"^\s*(\d+)\s*/\s*(\d+)\s*$")
MAX_SHARDS = 256


@dataclass(frozen=True)
class Shard:
    index: int  # 1-based
    count: int

    def __str__(self) -> str:
        return f"{self.index}/{self.count}"


def parse_shard(text: str, what: str = "--shard") -> Shard:
    match = _FORM.match(text or "")
    if not match:
        raise UsageError(f"{what} {text!r} is not K/N.",
                         "Write it as 1/3, 2/3, 3/3 (one matrix job each).")
    index, count = int(match[1]), int(match[2])
    if not 1 <= index <= count <= MAX_SHARDS:
        raise UsageError(f"{what} {text!r}: K must be between 1 and N (N at most {MAX_SHARDS}).",
                         "Write it as 1/3, 2/3, 3/3 (one matrix job each).")
    return Shard(index, count)


def resource(endpoint: Endpoint) -> str:
    """The resource an operation belongs to: its path up to the first parameter's parent
    (`/todos/{id}/comments` -> `/todos`), so a collection and its items stay together."""
    parts = [p for p in endpoint.path.split("/") if p]
    kept: list[str] = []
    for part in parts:
        if part.startswith(("{", "<", ":")):
            break
        kept.append(part)
    return "/" + "/".join(kept)


def split(endpoints: list[Endpoint], count: int) -> list[list[Endpoint]]:
    """`count` lists of operations, each resource wholly in one."""
    groups: dict[str, list[Endpoint]] = {}
    for endpoint in endpoints:
        groups.setdefault(resource(endpoint), []).append(endpoint)
    shards: list[list[Endpoint]] = [[] for _ in range(count)]
    for _, members in sorted(groups.items(), key=lambda item: (-len(item[1]), item[0])):
        emptiest = min(range(count), key=lambda i: (len(shards[i]), i))
        shards[emptiest].extend(members)
    order = {e.key: n for n, e in enumerate(endpoints)}
    return [sorted(s, key=lambda e: order[e.key]) for s in shards]


def select_shard(spec: ApiSpec, shard: Shard) -> ApiSpec:
    """The spec with only this shard's operations (the document stays whole)."""
    return replace(spec, endpoints=split(spec.endpoints, shard.count)[shard.index - 1])
