"""The deterministic agent: a plain MCP client that exercises every tool from the schema alone.

The planner (runner/agent/planner.py) decides the order and the arguments; this module holds
the MCP connection and the budget: every operation gets its first call before any extra call
is made, so a budget never leaves an operation untested while others get a second call.
"""

from __future__ import annotations

import asyncio
import sys
from contextlib import nullcontext
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.types import PaginatedRequestParams

from runner.agent import generate, probes
from runner.agent.followups import FollowUps
from runner.agent.lastseen import LastSeen, concrete_path
from runner.agent.planner import (
    ArgumentBuilder,
    IdPool,
    PlannedCall,
    call_order,
    ends_session,
    first_intent,
    is_empty_state_read,
)
from runner.agent.protocol import AgentSetup
from runner.agent.users import Users
from runner.evidence import attach_logged_tracebacks
from runner.models import Endpoint, Finding, ToolCall

if TYPE_CHECKING:
    from fastmcp import Client


# Calls with valid input whose 5xx is worth reducing (probes with broken input are not).
_SHRINKABLE = ("valid", "boundary", "explore")


def _endpoint_of(call: ToolCall) -> Endpoint:
    return Endpoint(method=call.method, path=call.path, operation_id=call.tool)


class DeterministicAgent(FollowUps):
    """Implements runner.agent.protocol.Agent: a plan per operation, no model."""

    name = label = "deterministic"
    usage = None  # no model

    def __init__(
        self,
        setup: AgentSetup,
        max_calls: int = 1000,
        known_calls: list[ToolCall] | None = None,
        focus: frozenset[str] = frozenset(),
        examples: int | None = None,
    ) -> None:
        self.setup = setup
        self.max_calls = max_calls
        self.known_calls = known_calls or []  # earlier calls (another agent's) to learn ids from
        # Operations a pull request touched: called first, with the comprehensive plan.
        self.focus = focus
        self._users = Users(setup.credentials, setup.spec)
        # Where the app log stood when each call began: a 5xx gets the app's own traceback.
        self._log_marks: dict[str, int] = {}
        # Generated values per operation (hypothesis-jsonschema), by default the suite's.
        self.examples = probes.EXAMPLES_PER_OPERATION.get(setup.suite, 0) if examples is None \
            else examples
        self.not_called: dict[str, str] = {}  # operation -> why it was not called
        self._ids = IdPool()
        self._builder = ArgumentBuilder(setup.spec)
        self._pending: set[str] = set()
        self.calls: list[ToolCall] = []
        self.notes: list[str] = []
        self.findings: list[Finding] = []  # its verdicts are the checks'
        self._failed_calls = 0
        # Collections a second user's list showed to be kept per user (path -> the call that
        # showed it): their items are probed for object-level authorization.
        self._per_user: dict[str, str] = {}
        self._last_seen = LastSeen()  # what an update is judged against
        # The MCP SDK's own session: fastmcp.Client wraps the same session in more layers,
        # which costs about a millisecond per call and nothing here needs.
        self._session: ClientSession | None = None
        self._connection: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._tools: dict[str, Any] = {}
        self._warming: asyncio.Task[None] | None = None

    async def connect(self) -> None:
        """Start the MCP server over stdio and list its tools (the slow part: it imports fastmcp)."""
        ready: asyncio.Future[ClientSession] = asyncio.get_running_loop().create_future()
        self._closing = asyncio.Event()
        self.warm_up()
        self._connection = asyncio.create_task(self._hold_connection(ready))
        try:
            await asyncio.wait([ready, self._connection], return_when=asyncio.FIRST_COMPLETED)
            if not ready.done():
                self._connection.result()  # the server failed to start: its error
            session = ready.result()
            await self._list_tools(session)
        except BaseException:
            await self.close()
            raise
        self._session = session

    async def _hold_connection(self, ready: asyncio.Future[ClientSession]) -> None:
        """Own the stdio connection from start to close in one task (anyio's task groups
        inside it must be left by the task that entered them); `close()` ends it."""
        server = StdioServerParameters(command=self.setup.mcp.command, args=self.setup.mcp.args,
                                       env=self.setup.mcp.env)
        log_path = self.setup.mcp.log_path
        with log_path.open("a") if log_path else nullcontext(sys.stderr) as errlog:
            async with stdio_client(server, errlog=errlog) as (read, write), ClientSession(
                read, write, read_timeout_seconds=self.setup.init_timeout
            ) as session:
                await session.initialize()
                ready.set_result(session)
                await self._closing.wait()

    @property
    def session(self) -> ClientSession:
        """The MCP session the calls go through (benchmarks/mcp_overhead.py times it)."""
        assert self._session is not None, "connect() first"
        return self._session

    async def attach(self, client: Client) -> None:
        """Use another agent's connected fastmcp client (it stays that agent's to close)."""
        await self._list_tools(client.session)
        self._session = client.session

    async def _list_tools(self, session: ClientSession) -> None:
        cursor: str | None = None
        while True:
            page = await session.list_tools(params=PaginatedRequestParams(cursor=cursor)
                                            if cursor else None)
            self._tools.update((tool.name, tool) for tool in page.tools)
            if not page.next_cursor or page.next_cursor == cursor:
                return
            cursor = page.next_cursor

    async def close(self) -> None:
        """Close the connection this agent opened: the server's stdin closes and it exits (or
        is killed after the SDK's grace period). A connection still starting is cancelled."""
        connection, self._connection = self._connection, None
        connected, self._session = self._session is not None, None
        if connection is None:
            return
        if connected:
            self._closing.set()
            await connection
        else:
            connection.cancel()
            await asyncio.wait([connection])

    def warm_up(self) -> asyncio.Task[None] | None:
        """Start hypothesis' one-time cost in a thread (while the servers start)."""
        if self.examples <= 0 or self._warming is not None:
            return self._warming
        self._warming = asyncio.create_task(asyncio.to_thread(generate.warm_up))
        return self._warming

    async def run(self) -> list[ToolCall]:
        if self._session is None:
            await self.connect()
        try:
            return await self.exercise()
        finally:
            await self.close()

    async def exercise(self) -> list[ToolCall]:
        """Safe collection reads on the empty state, then every operation in planner order
        (creates, reads, updates, deletes) with its probes, then those that end the session."""
        assert self._session is not None, "connect() first"
        if self._warming is not None:
            await self._warming  # hypothesis is not run from two threads at once
        self._builder = ArgumentBuilder(self.setup.spec)
        by_key = {e.key: e for e in self.setup.spec.endpoints}
        for known in self.known_calls:
            self._ids.learn_from(by_key.get(known.endpoint_key) or _endpoint_of(known), known)
        order = []
        planned_order = call_order(self.setup.spec.endpoints)
        # Operations a pull request touched come first (their session-ending ones still last).
        planned_order = ([e for e in planned_order if e.key in self.focus and not ends_session(e)]
                         + [e for e in planned_order
                            if e.key not in self.focus or ends_session(e)])
        for endpoint in planned_order:
            tool_name = self.setup.tool_names.get(endpoint.key)
            if tool_name in self._tools:
                order.append(endpoint)
            else:
                self.notes.append(f"{endpoint.key}: no MCP tool {tool_name!r} was listed")
        self._pending = {e.key for e in order}
        for endpoint in order:
            if is_empty_state_read(endpoint) and not ends_session(endpoint):
                await self._first_call(endpoint, {"state": "empty"})
        if self._second_user_needed():
            self._users.sign_up_second()  # (after the empty-state reads: it writes)
        enders = [e for e in order if ends_session(e)]
        for endpoint in order:
            if not ends_session(endpoint):
                await self._exercise(endpoint)
        for number, endpoint in enumerate(enders):
            # The previous one may have ended the session: a fresh login for the next.
            if number and self.setup.credentials is not None and self.setup.credentials.offered:
                await asyncio.to_thread(self.setup.credentials.log_in)
            await self._exercise(endpoint)
        for key in self._pending:
            self.not_called[key] = (f"not tested: the call budget ({self.max_calls} calls) ran "
                                    "out before this operation; raise --max-tool-calls")
        if self._pending:
            self.notes.append(f"stopped at the call budget ({self.max_calls} calls): "
                              f"{len(self._pending)} operation(s) not called")
        await self._users.finish()
        await attach_logged_tracebacks(self.calls, self._log_marks, self.setup.app_log)
        return self.calls

    def _arguments(self, endpoint: Endpoint) -> tuple[str, dict[str, Any], dict[str, Any],
                                                      dict[str, tuple[str, dict[str, Any]]],
                                                      str]:
        tool = self._tools[self.setup.tool_names[endpoint.key]]
        schema = tool.input_schema or {}
        api = self._builder.api_schemas(endpoint)
        arguments, problems = self._builder.build(endpoint, schema, self._ids, api)
        return tool.name, arguments, schema, api, first_intent(self.setup.spec, endpoint, arguments,
                                                               problems)

    async def _first_call(self, endpoint: Endpoint, expect: dict[str, Any]) -> ToolCall | None:
        tool, arguments, _, _, intent = self._arguments(endpoint)
        return await self._send(PlannedCall(endpoint, tool, arguments, intent, expect))

    async def _exercise(self, endpoint: Endpoint) -> None:
        tool, arguments, schema, api, intent = self._arguments(endpoint)
        extras = []
        if self.setup.suite == "comprehensive" or endpoint.key in self.focus:
            extras = probes.input_calls(endpoint, tool, arguments, schema, api, self.examples)
            if probes.RAW_TOOL in self._tools and intent == "valid":
                body = api.get("body", ("", None))[1] if endpoint.request_body else None
                extras += probes.negative_calls(endpoint, arguments, api,
                                                self._path_values(endpoint, arguments), body)
        if endpoint.method in ("PUT", "PATCH"):
            # An update that shows, and differs from what another update method stored.
            arguments = probes.varied(arguments, api, f"-{endpoint.method.lower()}-updated")
        main = PlannedCall(endpoint, tool, arguments, intent)
        before = await self._before_update(endpoint, main)
        # Probes with other input must reach the resource before the delete removes it.
        ordered = [*extras, main] if endpoint.method == "DELETE" else [main, *extras]
        collection = endpoint.path.rstrip("/").rsplit("/", 1)[0]
        if endpoint.method in ("PUT", "PATCH", "DELETE") and collection in self._per_user \
                and intent == "valid":
            # Before the first user's own change: another user must not change or delete it.
            with self._users.second():
                await self._send(PlannedCall(endpoint, tool, arguments, "other_user",
                                             {"after": self._per_user[collection]}))
        if endpoint.method == "POST" and intent == "valid" and not ends_session(endpoint):
            # A second, different resource: paging and filters need more than one item.
            ordered.insert(1, PlannedCall(endpoint, tool, probes.varied(arguments, api, "-2"),
                                          intent))
        shrunk = False
        for planned in ordered:
            call = await self._send(planned)
            if call is None:
                return
            if planned is main:
                await self._after(endpoint, main, call, api, before)
                if probes.is_api_document(call):
                    return  # the API's own document: edges of its options test a library
            if (call.status_code or 0) >= 500 and not shrunk and planned.intent in _SHRINKABLE:
                shrunk = True  # one failing input per operation is reduced
                await self._shrink(planned, call, schema, api)

    async def _send(self, planned: PlannedCall) -> ToolCall | None:
        """Make the call if the budget allows: an operation's first call always has room
        while any operation still waits for its first (None: no room)."""
        first = planned.endpoint.key in self._pending
        reserved = 0 if first else len(self._pending)
        if len(self.calls) + reserved >= self.max_calls:
            return None
        self._pending.discard(planned.endpoint.key)
        call = await self._call(self.session, planned)
        self._last_seen.observe(planned.endpoint, self._written_path(planned), call)
        if planned.intent in ("valid", "guess"):  # a probe's narrowed answer teaches nothing
            self._ids.learn_from(planned.endpoint, call)
        return call

    def _written_path(self, planned: PlannedCall) -> str:
        """The path a call went to, its parameters filled in where known."""
        if planned.tool == probes.RAW_TOOL:
            return unquote(str(planned.arguments.get("path") or planned.endpoint.path))
        return concrete_path(planned.endpoint,
                             self._path_values(planned.endpoint, planned.arguments))

    async def _call(self, session: ClientSession, planned: PlannedCall) -> ToolCall:
        mark = self.setup.app_log.mark() if self.setup.app_log is not None else 0
        # A tool error comes back as a result with is_error set, its message in the content.
        result = await session.call_tool(planned.tool, planned.arguments,
                                         read_timeout_seconds=self.setup.call_timeout + 5)
        data = result.structured_content or {}
        if isinstance(data, dict) and "result" in data and "call_id" not in data:
            data = data["result"] if isinstance(data["result"], dict) else data
        call_id = str(data.get("call_id") or "") if isinstance(data, dict) else ""
        recorded = self.setup.call_log.get(call_id) if call_id else None
        if recorded is None:
            # The tool failed before any request was sent (argument validation, crash).
            self._failed_calls += 1
            text = " ".join(getattr(c, "text", "") for c in result.content or [])
            recorded = ToolCall(
                call_id=f"tool-error-{self._failed_calls}",
                tool=planned.tool,
                method=planned.endpoint.method,
                path=planned.endpoint.path,
                arguments=planned.arguments,
                error=f"tool error: {text.strip()[:500] or 'no details'}",
            )
        self._log_marks[recorded.call_id] = mark
        recorded.intent = planned.intent
        recorded.expect = planned.expect
        recorded.agent = self.name
        self.calls.append(recorded)
        return recorded
