"""Input shrinking: a failing input reduced to a smaller one that still fails, with a bounded
number of extra calls, so the reproduction a report shows is the smallest one found.

Greedy, in the spirit of delta debugging: each round tries smaller argument sets (an optional
argument left out, a string's first or second half, a number moved to 0 or halved, an array's
first half), every one valid against its schema, and keeps the first that still fails.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from runner.agent.generate import conforms

CALLS_PER_FAILURE = 6  # extra calls spent shrinking one failing input


def size(arguments: dict[str, Any]) -> tuple[int, float]:
    """Smaller is shorter text, then numbers nearer 0."""
    numbers = [abs(v) for v in arguments.values()
               if isinstance(v, (int, float)) and not isinstance(v, bool)]
    return (len(json.dumps(arguments, sort_keys=True, default=str, ensure_ascii=False)),
            sum(numbers))


def smaller(arguments: dict[str, Any], schemas: dict[str, dict[str, Any]],
            keep: set[str]) -> Iterator[dict[str, Any]]:
    """Argument sets smaller than `arguments`, each valid against the argument schemas
    (`schemas`: argument -> schema; only these values are made smaller); arguments in `keep`
    (path ids, required ones) are never left out."""
    for arg in arguments:
        if arg not in keep:
            yield {k: v for k, v in arguments.items() if k != arg}
    for arg, value in arguments.items():
        if arg not in schemas:
            continue  # a path id: another value names another resource
        schema = schemas[arg]
        for candidate in _parts(value):
            if conforms(candidate, schema):
                yield {**arguments, arg: candidate}


def _parts(value: Any) -> list[Any]:
    if isinstance(value, bool) or value is None:
        return []
    if isinstance(value, str):
        half = len(value) // 2
        return [value[:half], value[half:]] if len(value) > 1 else ([""] if value else [])
    if isinstance(value, int):
        return [0, value // 2] if value not in (0, 1, -1) else ([0] if value else [])
    if isinstance(value, float):
        return [0, int(value)] if value != int(value) else ([0] if value else [])
    if isinstance(value, list) and value:
        return [value[: len(value) // 2]] if len(value) > 1 else [[]]
    return []


def plan(failing: dict[str, Any], schemas: dict[str, dict[str, Any]], keep: set[str],
         tried: set[str]) -> dict[str, Any] | None:
    """The next candidate to try after `failing`: the first smaller one not tried yet."""
    for candidate in smaller(failing, schemas, keep):
        key = json.dumps(candidate, sort_keys=True, default=str)
        if key not in tried and size(candidate) < size(failing):
            tried.add(key)
            return candidate
    return None
