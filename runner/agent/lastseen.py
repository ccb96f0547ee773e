"""What each resource looked like when it was last read, until a write may have changed it.

An update is judged against it: a read after the update that still shows the value from before,
for a field the update set to another value, lost the update (check `update_persisted`), even
when the update's own answer showed nothing (a 204) or the unsaved object.
"""

from __future__ import annotations

from typing import Any

from runner.models import Endpoint, ToolCall


def concrete_path(endpoint: Endpoint, path_values: dict[str, Any]) -> str:
    """The operation's path with its path parameters filled in, without a trailing slash."""
    path = endpoint.path
    for name, value in path_values.items():
        path = path.replace("{" + name + "}", str(value))
    return path.rstrip("/")


class LastSeen:
    """The last object a read of each resource answered, by its concrete path."""

    def __init__(self) -> None:
        self._seen: dict[str, dict[str, Any]] = {}

    def observe(self, endpoint: Endpoint, path: str, call: ToolCall) -> None:
        """Remember what a successful read of one resource (`path`, filled in) showed; forget
        what a successful write may have changed: the resource it wrote, those above it (a
        POST of /books/5/loan changes /books/5) and, but for a create, those below it."""
        if not (call.status_code and 200 <= call.status_code < 300):
            return
        if endpoint.method == "GET":
            if "{" in endpoint.path and call.body_is_json and isinstance(call.body, dict):
                self._seen[path.rstrip("/")] = call.body
            return
        written = _segments(path)
        below = endpoint.method != "POST"
        self._seen = {seen: body for seen, body in self._seen.items()
                      if not _overlaps(seen.split("/"), written, below)}

    def get(self, endpoint: Endpoint, path_values: dict[str, Any]) -> dict[str, Any] | None:
        return self._seen.get(concrete_path(endpoint, path_values))


def _segments(path: str) -> list[str | None]:
    """A path's segments; a path parameter left unfilled (None) stands for any value."""
    return [None if part.startswith("{") else part for part in path.rstrip("/").split("/")]


def _overlaps(seen: list[str], written: list[str | None], below: bool) -> bool:
    """Whether `seen` is the written resource or above it (or, `below`, under it)."""
    if len(seen) > len(written) and not below:
        return False
    size = min(len(seen), len(written))
    return all(w is None or w == s for s, w in zip(seen[:size], written[:size], strict=True))
