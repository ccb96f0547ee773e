"""What the deterministic agent does after an operation's own call: state probes after a
write (read back, listed, gone after a delete), meaning probes on collections (paging,
filters), auth probes (no credentials, a second user), and shrinking a 5xx's input.

A mixin of DeterministicAgent (runner/agent/deterministic.py), which holds the MCP connection,
the budget (`_send`), the id pool and the tools these use.
"""

from __future__ import annotations

from typing import Any

from runner.agent import probes, shrink
from runner.agent.lastseen import LastSeen
from runner.agent.planner import IdPool, PlannedCall, coerce, ends_session, norm
from runner.agent.protocol import AgentSetup
from runner.agent.users import Users
from runner.models import Endpoint, ToolCall


class FollowUps:
    setup: AgentSetup
    _tools: dict[str, Any]
    _ids: IdPool
    _users: Users
    _per_user: dict[str, str]
    _last_seen: LastSeen

    async def _send(self, planned: PlannedCall) -> ToolCall | None:
        raise NotImplementedError

    def _arguments(self, endpoint: Endpoint) -> tuple[str, dict[str, Any], dict[str, Any],
                                                      dict[str, tuple[str, dict[str, Any]]],
                                                      str]:
        raise NotImplementedError

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

    async def _before_update(self, endpoint: Endpoint, main: PlannedCall) -> dict[str, Any] | None:
        """The resource as it stands before an update's own call: as last read, or read now
        when a write since may have changed it (None: no read of it is known)."""
        if endpoint.method not in ("PUT", "PATCH") or main.intent != "valid":
            return None
        item = probes.item_read(self.setup.spec.endpoints, endpoint)
        if item is None or self.setup.tool_names.get(item.key) not in self._tools:
            return None
        known = self._path_values(endpoint, main.arguments)
        seen = self._last_seen.get(item, known)
        if seen is None:
            await self._read(item, known, "valid", {})
            seen = self._last_seen.get(item, known)
        return seen

    async def _after(self, endpoint: Endpoint, main: PlannedCall, call: ToolCall,
                     api: dict[str, tuple[str, dict[str, Any]]],
                     before: dict[str, Any] | None = None) -> None:
        """State and meaning probes after the first call of an operation succeeded (`before`:
        an update's resource as read before it)."""
        if call.status_code is None or not 200 <= call.status_code < 300:
            return
        await self._without_credentials(endpoint, main)
        if endpoint.method == "GET" and "{" not in endpoint.path:
            await self._meaning(endpoint, main)
            return
        if endpoint.method not in ("POST", "PUT", "PATCH", "DELETE"):
            return
        item = probes.item_read(self.setup.spec.endpoints, endpoint)
        after = f"{endpoint.key} ({call.call_id})"
        if item is None or self.setup.tool_names.get(item.key) not in self._tools:
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
            listing = probes.collection_read(self.setup.spec.endpoints, endpoint)
            if listing is not None and listing.key in self.setup.tool_names:
                tool, arguments, _, _, _ = self._arguments(listing)
                await self._send(PlannedCall(listing, tool, arguments, "after_create",
                                             {"after": after, "contains": [field_name, value]}))
                await self._other_user(item, listing, {**known, param: value},
                                       (field_name, value), after)
        elif endpoint.method in ("PUT", "PATCH"):
            fields = probes.echoed_fields(main.arguments, call, api)
            expect = {"after": after, "fields": fields}
            unchanged = probes.unchanged_fields(main.arguments, api, before, fields)
            await self._read(item, known, "after_update",
                             {**expect, "unchanged": unchanged} if unchanged else expect)
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
                and await users.has_second()):
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

    def _second_user_needed(self) -> bool:
        """Whether a create is followed by `_other_user`'s probe (a secured create with a
        secured item read and collection read)."""
        users, endpoints = self._users, self.setup.spec.endpoints
        for create in endpoints:
            if create.method != "POST" or not users.requires_auth(create):
                continue
            item = probes.item_read(endpoints, create)
            listing = probes.collection_read(endpoints, create)
            if item and listing and users.requires_auth(item) and users.requires_auth(listing):
                return True
        return False

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
        tool = self._tools[self.setup.tool_names[item.key]]
        schema = tool.input_schema or {}
        by_norm = {norm(k): v for k, v in values.items()}
        arguments = {}
        for arg in probes.path_arguments(item, schema):
            value = by_norm.get(norm(arg), by_norm.get(norm(arg).removesuffix("path")))
            if value is None:
                return None
            arguments[arg] = coerce(value, (schema.get("properties") or {}).get(arg) or {})
        return await self._send(PlannedCall(item, tool.name, arguments, intent, expect))

