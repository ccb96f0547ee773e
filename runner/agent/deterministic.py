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

from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.types import PaginatedRequestParams

from runner.agent import probes, shrink
from runner.agent.calllog import CallLog
from runner.agent.planner import (
    ArgumentBuilder,
    IdPool,
    PlannedCall,
    call_order,
    coerce,
    ends_session,
    first_intent,
    is_empty_state_read,
    norm,
)
from runner.agent.users import Users
from runner.evidence import AppLog, attach_tracebacks
from runner.models import ApiSpec, Endpoint, Finding, Suite, ToolCall
from runner.servers import McpCommand

if TYPE_CHECKING:
    from fastmcp import Client

    from runner.auth import Credentials

# Calls with valid input whose 5xx is worth reducing (probes with broken input are not).
_SHRINKABLE = ("valid", "boundary", "explore")


def _endpoint_of(call: ToolCall) -> Endpoint:
    return Endpoint(method=call.method, path=call.path, operation_id=call.tool)


class DeterministicAgent:
    """Implements runner.agent.protocol.Agent: a plan per operation, no model."""

    name = label = "deterministic"
    usage = None  # no model

    def __init__(
        self,
        mcp: McpCommand,
        spec: ApiSpec,
        tool_names: dict[str, str],
        call_log: CallLog,
        suite: Suite = "smoke",
        call_timeout: float = 30.0,
        max_calls: int = 1000,
        known_calls: list[ToolCall] | None = None,
        focus: frozenset[str] = frozenset(),
        credentials: Credentials | None = None,
        examples: int | None = None,
        app_log: AppLog | None = None,
        start_timeout: float = 0.0,
    ) -> None:
        self.mcp = mcp
        self.spec = spec
        self.tool_names = tool_names
        self.call_log = call_log
        self.suite = suite
        self.call_timeout = call_timeout
        # The server answers `initialize` once its module has registered every tool (seconds
        # for thousands): the start-up has the servers stage's time, not one call's.
        self.start_timeout = max(start_timeout, call_timeout + 10)
        self.max_calls = max_calls
        self.known_calls = known_calls or []  # earlier calls (another agent's) to learn ids from
        # Operations a pull request touched: called first, with the comprehensive plan.
        self.focus = focus
        self.credentials = credentials  # to log in again after a session-ending operation
        self._users = Users(credentials, spec)
        # Where the app log stood when each call began: a 5xx gets the app's own traceback.
        self.app_log = app_log
        self._log_marks: dict[str, int] = {}
        # Generated values per operation (hypothesis-jsonschema), by default the suite's.
        self.examples = probes.EXAMPLES_PER_OPERATION.get(suite, 0) if examples is None \
            else examples
        self.not_called: dict[str, str] = {}  # operation -> why it was not called
        self._ids = IdPool()
        self._builder = ArgumentBuilder(spec)
        self._pending: set[str] = set()
        self.calls: list[ToolCall] = []
        self.notes: list[str] = []
        self.findings: list[Finding] = []  # its verdicts are the checks'
        self._failed_calls = 0
        # Collections a second user's list showed to be kept per user (path -> the call that
        # showed it): their items are probed for object-level authorization.
        self._per_user: dict[str, str] = {}
        # The MCP SDK's own session: fastmcp.Client wraps the same session in more layers,
        # which costs about a millisecond per call and nothing here needs.
        self._session: ClientSession | None = None
        self._connection: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()
        self._tools: dict[str, Any] = {}

    async def connect(self) -> None:
        """Start the MCP server over stdio and list its tools (the slow part: it imports fastmcp)."""
        ready: asyncio.Future[ClientSession] = asyncio.get_running_loop().create_future()
        self._closing = asyncio.Event()
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
        server = StdioServerParameters(command=self.mcp.command, args=self.mcp.args,
                                       env=self.mcp.env)
        log_path = self.mcp.log_path
        with log_path.open("a") if log_path else nullcontext(sys.stderr) as errlog:
            async with stdio_client(server, errlog=errlog) as (read, write), ClientSession(
                read, write, read_timeout_seconds=self.start_timeout
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
        self._builder = ArgumentBuilder(self.spec)
        by_key = {e.key: e for e in self.spec.endpoints}
        for known in self.known_calls:
            self._ids.learn_from(by_key.get(known.endpoint_key) or _endpoint_of(known), known)
        order = []
        planned_order = call_order(self.spec.endpoints)
        # Operations a pull request touched come first (their session-ending ones still last).
        planned_order = ([e for e in planned_order if e.key in self.focus and not ends_session(e)]
                         + [e for e in planned_order
                            if e.key not in self.focus or ends_session(e)])
        for endpoint in planned_order:
            tool_name = self.tool_names.get(endpoint.key)
            if tool_name in self._tools:
                order.append(endpoint)
            else:
                self.notes.append(f"{endpoint.key}: no MCP tool {tool_name!r} was listed")
        self._pending = {e.key for e in order}
        for endpoint in order:
            if is_empty_state_read(endpoint) and not ends_session(endpoint):
                await self._first_call(endpoint, {"state": "empty"})
        enders = [e for e in order if ends_session(e)]
        for endpoint in order:
            if not ends_session(endpoint):
                await self._exercise(endpoint)
        for number, endpoint in enumerate(enders):
            # The previous one may have ended the session: a fresh login for the next.
            if number and self.credentials is not None and self.credentials.offered:
                await asyncio.to_thread(self.credentials.log_in)
            await self._exercise(endpoint)
        for key in self._pending:
            self.not_called[key] = (f"not tested: the call budget ({self.max_calls} calls) ran "
                                    "out before this operation; raise --max-tool-calls")
        if self._pending:
            self.notes.append(f"stopped at the call budget ({self.max_calls} calls): "
                              f"{len(self._pending)} operation(s) not called")
        if self.app_log is not None and any((c.status_code or 0) >= 500 for c in self.calls):
            await asyncio.sleep(0.2)  # uvicorn logs a traceback just after the answer
            attach_tracebacks(self.calls, self._log_marks, self.app_log)
        return self.calls

    def _arguments(self, endpoint: Endpoint) -> tuple[str, dict[str, Any], dict[str, Any],
                                                      dict[str, tuple[str, dict[str, Any]]],
                                                      str]:
        tool = self._tools[self.tool_names[endpoint.key]]
        schema = tool.input_schema or {}
        api = self._builder.api_schemas(endpoint)
        arguments, problems = self._builder.build(endpoint, schema, self._ids, api)
        return tool.name, arguments, schema, api, first_intent(self.spec, endpoint, arguments,
                                                               problems)

    async def _first_call(self, endpoint: Endpoint, expect: dict[str, Any]) -> ToolCall | None:
        tool, arguments, _, _, intent = self._arguments(endpoint)
        return await self._send(PlannedCall(endpoint, tool, arguments, intent, expect))

    async def _exercise(self, endpoint: Endpoint) -> None:
        tool, arguments, schema, api, intent = self._arguments(endpoint)
        extras = []
        if self.suite == "comprehensive" or endpoint.key in self.focus:
            extras = probes.input_calls(endpoint, tool, arguments, schema, api, self.examples)
            if probes.RAW_TOOL in self._tools and intent == "valid":
                body = api.get("body", ("", None))[1] if endpoint.request_body else None
                extras += probes.negative_calls(endpoint, arguments, api,
                                                self._path_values(endpoint, arguments), body)
        if endpoint.method in ("PUT", "PATCH"):
            arguments = probes.varied(arguments, api, "-updated")  # an update that shows
        main = PlannedCall(endpoint, tool, arguments, intent)
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
                await self._after(endpoint, main, call, api)
            if (call.status_code or 0) >= 500 and not shrunk and planned.intent in _SHRINKABLE:
                shrunk = True  # one failing input per operation is reduced
                await self._shrink(planned, call, schema, api)

    async def _shrink(self, failing: PlannedCall, call: ToolCall, schema: dict[str, Any],
                      api: dict[str, tuple[str, dict[str, Any]]]) -> None:
        """Reduce a 5xx's input to a smaller one that still fails (a bounded number of calls);
        the smallest is recorded on the first as its reproduction (`shrunk_to`)."""
        endpoint, current, tried = failing.endpoint, failing.arguments, set[str]()
        path = set(probes.path_arguments(endpoint, schema))
        keep = path | set(schema.get("required") or [])
        schemas = {a: api.get(norm(a), ("", s))[1] or s
                   for a, s in (schema.get("properties") or {}).items() if a not in path}
        for _ in range(shrink.CALLS_PER_FAILURE):
            candidate = shrink.plan(current, schemas, keep, tried)
            if candidate is None:
                return
            made = await self._send(PlannedCall(endpoint, failing.tool, candidate, "shrink",
                                                {"shrinks": call.call_id}))
            if made is None:
                return
            if (made.status_code or 0) >= 500:
                current = candidate
                call.expect = {**call.expect, "shrunk_to": made.call_id}

    async def _after(self, endpoint: Endpoint, main: PlannedCall, call: ToolCall,
                     api: dict[str, tuple[str, dict[str, Any]]]) -> None:
        """State and meaning probes after the first call of an operation succeeded."""
        if call.status_code is None or not 200 <= call.status_code < 300:
            return
        await self._without_credentials(endpoint, main)
        if endpoint.method == "GET" and "{" not in endpoint.path:
            await self._meaning(endpoint, main)
            return
        if endpoint.method not in ("POST", "PUT", "PATCH", "DELETE"):
            return
        item = probes.item_read(self.spec.endpoints, endpoint)
        after = f"{endpoint.key} ({call.call_id})"
        if item is None or self.tool_names.get(item.key) not in self._tools:
            return
        known = self._path_values(endpoint, main.arguments)
        if endpoint.method == "POST":
            created = probes.created_id(item, call)
            if created is None:
                return
            param, field_name, value = created
            fields = probes.echoed_fields(main.arguments, call, api)
            await self._read(item, {**known, param: value}, "after_create",
                             {"after": after, "fields": fields})
            located = probes.location_params(item, call)
            if located is not None:
                await self._read(item, located, "after_create",
                                 {"after": f"the Location header of {after}", "fields": fields})
            listing = probes.collection_read(self.spec.endpoints, endpoint)
            if listing is not None and listing.key in self.tool_names:
                tool, arguments, _, _, _ = self._arguments(listing)
                await self._send(PlannedCall(listing, tool, arguments, "after_create",
                                             {"after": after, "contains": [field_name, value]}))
                await self._other_user(item, listing, {**known, param: value},
                                       (field_name, value), after)
        elif endpoint.method in ("PUT", "PATCH"):
            fields = probes.echoed_fields(main.arguments, call, api)
            await self._read(item, known, "after_update", {"after": after, "fields": fields})
        else:
            # Only a read is judged: a second DELETE answered 204 is idempotence, not a bug.
            await self._read(item, known, "after_delete", {"after": after})
            collection = endpoint.path.rstrip("/").rsplit("/", 1)[0]
            for value in list(known.values())[-1:]:
                self._ids.forget(collection, value)

    async def _without_credentials(self, endpoint: Endpoint, main: PlannedCall) -> None:
        """An operation that declares security and answered with the run's credentials is
        called once more without them: it must refuse (ignored_auth). Not for a delete (the
        resource is gone) nor for the operations that end the session."""
        if (not self._users.signed_in or not self._users.requires_auth(endpoint)
                or endpoint.method == "DELETE" or ends_session(endpoint)
                or main.intent != "valid"):
            return
        with self._users.anonymous():
            await self._send(PlannedCall(endpoint, main.tool, main.arguments, "no_auth",
                                         {"why": "the operation declares security"}))

    async def _other_user(self, item: Endpoint, listing: Endpoint, values: dict[str, Any],
                          created: tuple[str, Any], after: str) -> None:
        """Object-level authorization (OWASP API1), where the API offers open sign-up: when a
        second user's list of the collection leaves out the first user's new resource (the API
        keeps it per user, as opposed to shared by design), the second user reading it must be
        refused; changing and deleting it are tried when those operations come."""
        users = self._users
        if not (users.requires_auth(item) and users.requires_auth(listing)
                and users.has_second()):
            return
        tool, arguments, _, _, _ = self._arguments(listing)
        with users.second():
            seen = await self._send(PlannedCall(listing, tool, arguments, "second_user",
                                                {"after": after}))
            if seen is None or not probes.kept_from(seen, *created):
                return
            collection = item.path.rstrip("/").rsplit("/", 1)[0]
            self._per_user[collection] = f"{after}, not in the second user's list"
            await self._read(item, values, "other_user", {"after": self._per_user[collection]})

    async def _meaning(self, endpoint: Endpoint, main: PlannedCall) -> None:
        """Paging and filter parameters of a collection read that answered items."""
        schema = self._tools[main.tool].input_schema or {}
        paging = probes.paging_call(endpoint, main.tool, main.arguments, schema)
        if paging is not None and len(self._ids.objects(endpoint.path)) >= 2:
            await self._send(paging)
        known = self._ids.objects(endpoint.path)
        if known:
            for planned in probes.filter_calls(endpoint, main.tool, main.arguments, schema,
                                               known[-1]):
                await self._send(planned)

    def _path_values(self, endpoint: Endpoint, arguments: dict[str, Any]) -> dict[str, Any]:
        """Path parameter name -> value, from a call's tool arguments."""
        by_norm = {norm(a): v for a, v in arguments.items()}
        return {p.name: by_norm[norm(p.name)] for p in endpoint.parameters
                if p.location == "path" and norm(p.name) in by_norm}

    async def _read(self, item: Endpoint, values: dict[str, Any], intent: str,
                    expect: dict[str, Any]) -> ToolCall | None:
        """Call the item read with these path parameter values (by parameter name)."""
        tool = self._tools[self.tool_names[item.key]]
        schema = tool.input_schema or {}
        by_norm = {norm(k): v for k, v in values.items()}
        arguments = {}
        for arg in probes.path_arguments(item, schema):
            value = by_norm.get(norm(arg), by_norm.get(norm(arg).removesuffix("path")))
            if value is None:
                return None
            arguments[arg] = coerce(value, (schema.get("properties") or {}).get(arg) or {})
        return await self._send(PlannedCall(item, tool.name, arguments, intent, expect))

    async def _send(self, planned: PlannedCall) -> ToolCall | None:
        """Make the call if the budget allows: an operation's first call always has room
        while any operation still waits for its first (None: no room)."""
        first = planned.endpoint.key in self._pending
        reserved = 0 if first else len(self._pending)
        if len(self.calls) + reserved >= self.max_calls:
            return None
        self._pending.discard(planned.endpoint.key)
        call = await self._call(self.session, planned)
        if planned.intent in ("valid", "guess"):  # a probe's narrowed answer teaches nothing
            self._ids.learn_from(planned.endpoint, call)
        return call

    async def _call(self, session: ClientSession, planned: PlannedCall) -> ToolCall:
        mark = self.app_log.mark() if self.app_log is not None else 0
        # A tool error comes back as a result with is_error set, its message in the content.
        result = await session.call_tool(planned.tool, planned.arguments,
                                         read_timeout_seconds=self.call_timeout + 5)
        data = result.structured_content or {}
        if isinstance(data, dict) and "result" in data and "call_id" not in data:
            data = data["result"] if isinstance(data["result"], dict) else data
        call_id = str(data.get("call_id") or "") if isinstance(data, dict) else ""
        recorded = self.call_log.get(call_id) if call_id else None
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
