"""The call log the generated MCP server writes: one JSON line per tool call, outside any model.

Agents read it back by call id, so evidence never depends on what a model says it saw.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

from runner.limits import UnsafeFile, open_regular
from runner.models import ToolCall

REFRESH_LIMIT = 64 * 1024 * 1024  # bytes read per refresh (each record is capped far below)


class CallLog:
    """Reads new records from the JSONL file as the server appends them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._offset = 0
        self._records: dict[str, ToolCall] = {}

    def refresh(self) -> None:
        if not self.path.exists():
            return
        try:
            # The app may share the server's user: a FIFO or a link in the log's place must
            # not block or redirect us, and one refresh reads a bounded amount.
            handle = open_regular(self.path)
        except UnsafeFile:
            return
        with handle:
            handle.seek(self._offset)
            chunk = handle.read(REFRESH_LIMIT)
        # Only whole lines: the writer may be half-way through one.
        complete, _, _ = chunk.rpartition(b"\n")
        if not complete:
            return
        self._offset += len(complete) + 1
        for line in complete.splitlines():
            try:
                record = json.loads(line)
            except json.JSONDecodeError:
                continue
            if not isinstance(record, dict):
                continue
            try:  # read once here: a record of another shape is not evidence
                call = ToolCall.from_record(record)
            except (TypeError, ValueError):
                continue
            self._records[str(call.call_id)] = call

    def get(self, call_id: str) -> ToolCall | None:
        if call_id not in self._records:
            self.refresh()
        call = self._records.get(call_id)
        return replace(call) if call else None  # a copy: callers add to what they get

    def all_calls(self) -> list[ToolCall]:
        self.refresh()
        return [replace(call) for call in self._records.values()]
