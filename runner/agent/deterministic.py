"""The deterministic agent: a plain MCP client that exercises every tool from the schema alone.

Order matters for a meaningful run: creates first (so later calls have real ids), then reads,
updates, and deletes last, deepest first. Ids for path parameters come from earlier responses.
"""

from __future__ import annotations

import asyncio
import re
import sys
from contextlib import nullcontext
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mcp import ClientSession, StdioServerParameters, stdio_client
from mcp.types import PaginatedRequestParams

from runner.agent.calllog import CallLog
from runner.agent.values import boundary_values, value_for
from runner.discovery.spec import resolve
from runner.models import ApiSpec, Endpoint, Suite, ToolCall
from runner.servers import McpCommand

if TYPE_CHECKING:
    from fastmcp import Client

_METHOD_ORDER = {"POST": 0, "GET": 1, "HEAD": 1, "OPTIONS": 1, "PUT": 2, "PATCH": 3, "DELETE": 4}
_MISSING_ID = 987654321
_ID_CONTAINERS = ("items", "data", "results", "records", "objects", "content")


@dataclass
class PlannedCall:
    endpoint: Endpoint
    tool: str
    arguments: dict[str, Any]
    intent: str = "valid"


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]", "", name.lower())


def call_order(endpoints: list[Endpoint]) -> list[Endpoint]:
    def key(endpoint: Endpoint) -> tuple[int, int, str]:
        depth = endpoint.path.count("/")
        rank = _METHOD_ORDER.get(endpoint.method, 1)
        return (rank, -depth if endpoint.method == "DELETE" else depth, endpoint.path)

    return sorted(endpoints, key=key)


class IdPool:
    """Values seen in earlier responses, to fill path parameters with ids that exist."""

    def __init__(self) -> None:
        self._by_collection: dict[str, list[Any]] = {}
        self._by_name: dict[str, Any] = {}

    def learn_from(self, endpoint: Endpoint, call: ToolCall) -> None:
        """Learn from a call that succeeded with a JSON body."""
        if call.status_code and 200 <= call.status_code < 300 and call.body_is_json:
            self.learn(endpoint, call.body)

    def learn(self, endpoint: Endpoint, body: Any) -> None:
        objects = _objects_in(body)
        if not objects:
            return
        collection = endpoint.path.rstrip("/")
        if endpoint.method in ("GET", "PUT", "PATCH") and collection.endswith("}"):
            collection = collection.rsplit("/", 1)[0]
        for obj in objects:
            self._by_collection.setdefault(collection, []).append(obj)
            for field, value in obj.items():
                if isinstance(value, (int, str)) and not isinstance(value, bool):
                    self._by_name.setdefault(_norm(field), value)

    def value_for_path_param(self, endpoint: Endpoint, name: str) -> Any | None:
        template = endpoint.path
        marker = "{" + name + "}"
        if marker in template:
            collection = template[: template.index(marker)].rstrip("/")
            # The collection as created: its own path params replaced by nothing we know; match
            # on the template, which is how it was learned.
            for obj in reversed(self._by_collection.get(collection, [])):
                for candidate in (name, "id", name.removesuffix("_id"), "uuid", "slug", "key"):
                    for field, value in obj.items():
                        if _norm(field) == _norm(candidate) and isinstance(value, (int, str)):
                            return value
        return self._by_name.get(_norm(name))


def _objects_in(body: Any) -> list[dict[str, Any]]:
    if isinstance(body, dict):
        for container in _ID_CONTAINERS:
            if isinstance(body.get(container), list):
                return [o for o in body[container] if isinstance(o, dict)]
        return [body]
    if isinstance(body, list):
        return [o for o in body if isinstance(o, dict)]
    return []


class ArgumentBuilder:
    """Tool arguments from the tool's input schema, with examples from the OpenAPI operation."""

    def __init__(self, spec: ApiSpec) -> None:
        self.spec = spec

    def api_schemas(self, endpoint: Endpoint) -> dict[str, tuple[str, dict[str, Any]]]:
        """normalised tool-argument name -> (where, OpenAPI schema) for the operation."""
        found: dict[str, tuple[str, dict[str, Any]]] = {}
        for param in endpoint.parameters:
            found[_norm(param.name)] = (param.location, param.schema)
        if endpoint.request_body:
            body = resolve(endpoint.request_body.get("schema") or {}, self.spec.openapi)
            found.setdefault("body", ("body", body))
            for prop, sub in (body.get("properties") or {}).items():
                found.setdefault(_norm(prop), ("body", sub))
                found.setdefault(_norm(prop) + "body", ("body", sub))
        return found

    def build(self, endpoint: Endpoint, input_schema: dict[str, Any], ids: IdPool,
              api: dict[str, tuple[str, dict[str, Any]]]) -> dict[str, Any]:
        """`api` is `api_schemas(endpoint)`, computed once per endpoint by the caller."""
        properties = input_schema.get("properties") or {}
        required = set(input_schema.get("required") or [])
        path_names = {_norm(p.name): p.name for p in endpoint.parameters if p.location == "path"}
        arguments: dict[str, Any] = {}
        for arg, arg_schema in properties.items():
            where, schema = api.get(_norm(arg), ("", arg_schema))
            if _norm(arg) in path_names:
                known = ids.value_for_path_param(endpoint, path_names[_norm(arg)])
                if known is not None:
                    arguments[arg] = _coerce(known, arg_schema)
                    continue
            # Optional filters narrow results to nothing; a smoke call leaves them out unless
            # the schema documents an example.
            documented = any(k in schema for k in ("example", "examples"))
            if arg not in required and where in ("query", "header", "cookie") and not documented:
                continue
            # A readOnly field (an id) is the server's to set: strict schemas reject it.
            if arg not in required and where == "body" and schema.get("readOnly"):
                continue
            value = value_for(resolve(schema, self.spec.openapi) if schema else arg_schema, arg)
            if value is None and arg not in required:
                continue
            arguments[arg] = _coerce(value, arg_schema)
        return arguments


def _endpoint_of(call: ToolCall) -> Endpoint:
    return Endpoint(method=call.method, path=call.path, operation_id=call.tool)


def _coerce(value: Any, schema: dict[str, Any]) -> Any:
    """Fit a value to the tool's declared type (examples are sometimes strings for ints; an id
    seen as an int may be a string path parameter)."""
    kind = schema.get("type")
    if kind == "string" and isinstance(value, (int, float)) and not isinstance(value, bool):
        return str(value)
    try:
        if kind == "integer" and isinstance(value, str):
            return int(value)
        if kind == "number" and isinstance(value, str):
            return float(value)
    except ValueError:
        return value
    return value


class DeterministicAgent:
    name = "deterministic"

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
    ) -> None:
        self.mcp = mcp
        self.spec = spec
        self.tool_names = tool_names
        self.call_log = call_log
        self.suite = suite
        self.call_timeout = call_timeout
        self.max_calls = max_calls
        self.known_calls = known_calls or []  # earlier calls (another agent's) to learn ids from
        # Operations a pull request touched: called first, with the comprehensive plan.
        self.focus = focus
        self.calls: list[ToolCall] = []
        self.notes: list[str] = []
        self._failed_calls = 0
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
                read, write, read_timeout_seconds=self.call_timeout + 10
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
        assert self._session is not None, "connect() first"
        builder = ArgumentBuilder(self.spec)
        ids = IdPool()
        by_key = {e.key: e for e in self.spec.endpoints}
        for known in self.known_calls:
            ids.learn_from(by_key.get(known.endpoint_key) or _endpoint_of(known), known)
        ordered = call_order(self.spec.endpoints)
        ordered = ([e for e in ordered if e.key in self.focus]
                   + [e for e in ordered if e.key not in self.focus])
        for endpoint in ordered:
            tool_name = self.tool_names.get(endpoint.key)
            tool = self._tools.get(tool_name or "")
            if tool is None:
                self.notes.append(f"{endpoint.key}: no MCP tool {tool_name!r} was listed")
                continue
            schema = tool.input_schema or {}
            api = builder.api_schemas(endpoint)
            arguments = builder.build(endpoint, schema, ids, api)
            for planned in self._plan(endpoint, tool.name, arguments, schema, api):
                if len(self.calls) >= self.max_calls:
                    self.notes.append(f"stopped at the call budget ({self.max_calls} calls)")
                    return self.calls
                ids.learn_from(endpoint, await self._call(self._session, planned))
        return self.calls

    def _plan(
        self, endpoint: Endpoint, tool: str, arguments: dict[str, Any], schema: dict[str, Any],
        api: dict[str, tuple[str, dict[str, Any]]],
    ) -> list[PlannedCall]:
        # A synthesized spec does not document the valid input: the first call is a guess.
        intent = "guess" if self.spec.spec_source == "synthesized" else "valid"
        planned = [PlannedCall(endpoint, tool, arguments, intent)]
        if self.suite != "comprehensive" and endpoint.key not in self.focus:
            return planned
        path_args = [a for a in arguments if _norm(a) in
                     {_norm(p.name) for p in endpoint.parameters if p.location == "path"}]
        props = schema.get("properties") or {}
        for arg in path_args:
            if (props.get(arg) or {}).get("type") == "integer":
                planned.append(PlannedCall(endpoint, tool, {**arguments, arg: _MISSING_ID},
                                           "not_found"))
        for arg, arg_schema in props.items():
            if arg in path_args:
                continue
            _, documented = api.get(_norm(arg), ("", arg_schema))
            for edge in boundary_values(documented):
                planned.append(PlannedCall(endpoint, tool, {**arguments, arg: edge}, "boundary"))
        # Not-found probes must run before the resource is deleted: order within the endpoint.
        if endpoint.method == "DELETE":
            planned.reverse()
        return planned

    async def _call(self, session: ClientSession, planned: PlannedCall) -> ToolCall:
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
        recorded.intent = planned.intent
        recorded.agent = self.name
        self.calls.append(recorded)
        return recorded
