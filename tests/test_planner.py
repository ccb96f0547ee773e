"""The deterministic agent's planner: call order, the id pool, the argument builder, the probes
it plans, and the generated values (every one checked against its schema)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from runner.agent import probes
from runner.agent.generate import conforms, edges, explore, violations
from runner.agent.planner import (
    ArgumentBuilder,
    IdPool,
    call_order,
    ends_session,
    first_intent,
    needs_unknowable,
)
from runner.models import ApiSpec, Endpoint, Parameter, RequestBody, ToolCall


def ep(method: str, path: str, op: str = "", **extra: Any) -> Endpoint:
    return Endpoint(method=method, path=path, operation_id=op or f"{method}{path}", **extra)


def keys(endpoints: list[Endpoint]) -> list[str]:
    return [e.key for e in endpoints]


def test_creates_first_deletes_last_deepest_first_and_session_enders_after_all() -> None:
    endpoints = [ep("DELETE", "/todos/{id}"), ep("POST", "/auth/logout"), ep("GET", "/todos"),
                 ep("DELETE", "/todos/{id}/comments/{cid}"), ep("POST", "/todos"),
                 ep("POST", "/auth/password/change"), ep("DELETE", "/users/me"),
                 ep("PUT", "/todos/{id}")]
    assert keys(call_order(endpoints)) == [
        "POST /todos", "GET /todos", "PUT /todos/{id}", "DELETE /todos/{id}/comments/{cid}",
        "DELETE /todos/{id}", "POST /auth/logout", "POST /auth/password/change",
        "DELETE /users/me"]


def test_session_ending_operations_are_recognised_by_their_words() -> None:
    for method, path in [("POST", "/api/logout/"), ("POST", "/token/revoke"),
                         ("POST", "/auth/password/reset/"), ("POST", "/token/refresh"),
                         ("DELETE", "/account"), ("POST", "/sign_out")]:
        assert ends_session(ep(method, path)), path
    for method, path in [("GET", "/logout-history"), ("DELETE", "/todos/{id}"),
                         ("POST", "/todos")]:
        assert not ends_session(ep(method, path)), path


def test_values_the_agent_cannot_know_make_the_call_a_guess() -> None:
    spec = ApiSpec("fastapi", "main:app", {}, [])
    reset = ep("POST", "/auth/password/reset/confirm/")
    assert needs_unknowable(reset, {"new_password": "x"})
    assert needs_unknowable(ep("POST", "/users/activate"), {})
    assert needs_unknowable(ep("POST", "/x"), {"uid": "1", "token": "t"})
    assert first_intent(spec, ep("POST", "/change"), {"old_password": "p"}, []) == "guess"
    assert first_intent(spec, ep("POST", "/todos"), {"title": "t"}, []) == "valid"
    assert first_intent(spec, ep("POST", "/todos"), {"code": 1}, ["code: no value"]) == "guess"


def test_id_pool_uses_the_collection_and_forgets_deleted_ids() -> None:
    pool = IdPool()
    create = ep("POST", "/todos")
    item = ep("GET", "/todos/{todo_id}")
    pool.learn(create, {"id": 7, "title": "a"})
    pool.learn(create, {"id": 8, "title": "b"})
    assert pool.value_for_path_param(item, "todo_id") == 8
    pool.forget("/todos", 8)
    assert pool.value_for_path_param(item, "todo_id") == 7
    pool.learn(ep("GET", "/things"), {"items": [{"uuid": "u-1"}]})
    assert pool.value_for_path_param(ep("GET", "/things/{thing_uuid}"), "thing_uuid") == "u-1"


def test_calls_under_a_parent_use_the_parent_a_sub_resource_was_written_under() -> None:
    from runner.models import ToolCall

    pool = IdPool()
    create = ep("POST", "/todos")
    todo_id = (Parameter("todo_id", "path", True, {"type": "integer"}),)
    add_comment = ep("POST", "/todos/{todo_id}/comments", parameters=todo_id)
    summary = ep("GET", "/todos/{todo_id}/summary", parameters=todo_id)
    pool.learn(create, {"id": 2})
    pool.learn_from(add_comment, ToolCall("c1", "add", "POST", add_comment.path, {"todo_id": 2},
                                          status_code=201, body={"id": 1}, body_is_json=True))
    for newer in (3, 4):  # later creates (exploration) make newer todos without comments
        pool.learn(create, {"id": newer})
    assert pool.value_for_path_param(summary, "todo_id") == 2
    assert pool.value_for_path_param(ep("GET", "/todos/{todo_id}"), "todo_id") == 2
    pool.forget("/todos", 2)  # deleted: the newest todo again
    assert pool.value_for_path_param(summary, "todo_id") == 4


def test_argument_builder_never_calls_a_value_valid_that_breaks_the_pattern() -> None:
    body = {"type": "object", "required": ["isbn", "title"],
            "properties": {"isbn": {"type": "string", "pattern": "^[0-9]{3}-[0-9]{10}$"},
                           "title": {"type": "string", "maxLength": 5},
                           "id": {"type": "integer", "readOnly": True}}}
    create = ep("POST", "/books", request_body=RequestBody(schema=body, required=True))
    spec = ApiSpec("fastapi", "main:app", {}, [create])
    builder = ArgumentBuilder(spec)
    tool_schema = {"properties": {"isbn": {"type": "string"}, "title": {"type": "string"},
                                  "id": {"type": "integer"}}, "required": ["isbn", "title"]}
    arguments, problems = builder.build(create, tool_schema, IdPool(), builder.api_schemas(create))
    assert problems == [] and "id" not in arguments
    assert conforms(arguments["isbn"], body["properties"]["isbn"])
    assert len(arguments["title"]) <= 5


def test_path_ids_come_from_earlier_answers() -> None:
    item = ep("GET", "/todos/{todo_id}",
              parameters=(Parameter("todo_id", "path", True, {"type": "integer"}),))
    spec = ApiSpec("fastapi", "main:app", {}, [item])
    pool = IdPool()
    pool.learn(ep("POST", "/todos"), {"id": 3})
    builder = ArgumentBuilder(spec)
    arguments, _ = builder.build(item, {"properties": {"todo_id": {"type": "integer"}},
                                        "required": ["todo_id"]}, pool, builder.api_schemas(item))
    assert arguments == {"todo_id": 3}


def test_generated_values_are_reproducible_and_valid() -> None:
    schema = {"type": "object", "required": ["name"],
              "properties": {"name": {"type": "string", "minLength": 1, "maxLength": 8},
                             "size": {"type": "integer", "minimum": 0, "maximum": 9}}}
    first = explore(schema, 4)
    assert first and first == explore(schema, 4)
    assert all(conforms(v, schema) and set(v) <= {"name", "size"} for v in first)


def test_edges_stay_inside_the_schema_and_cover_the_usual_suspects() -> None:
    text = edges({"type": "string", "maxLength": 5})
    assert "" in text and " " in text and "xxxxx" in text and "😀🎉" in text
    assert all(len(v) <= 5 for v in text)
    assert edges({"type": "string", "minLength": 1, "maxLength": 5}).count("") == 0
    assert edges({"type": "integer", "minimum": 1, "maximum": 10}) == [1, 10]
    assert edges({"type": "string", "enum": ["a", "b"]}) == ["a", "b"]
    # A long enum (a language list) is sampled, not sent value by value.
    languages = [f"l{n}" for n in range(100)]
    sampled = edges({"type": "string", "enum": languages})
    assert len(sampled) == 8 and sampled[0] == "l0" and sampled[-1] == "l99"
    assert len(set(sampled)) == 8 and set(sampled) <= set(languages)
    assert None in edges({"type": ["string", "null"], "maxLength": 3})
    assert edges({"type": "array", "items": {"type": "integer"}})[:2] == [[], [1]]


def test_violations_each_break_the_schema() -> None:
    schema = {"type": "integer", "minimum": 1, "maximum": 10}
    found = dict(violations(schema))
    assert found["below minimum"] == 0 and found["above maximum"] == 11
    assert all(not conforms(v, schema) for _, v in violations(schema))


def call(method: str, path: str, status: int, body: Any = None, **extra: Any) -> ToolCall:
    return ToolCall(call_id="c-1", tool="t", method=method, path=path, arguments={},
                    status_code=status, body=body, body_is_json=body is not None, **extra)


def test_probes_find_the_item_read_the_location_and_the_created_id() -> None:
    endpoints = [ep("POST", "/tags"), ep("GET", "/tags"), ep("GET", "/tags/{tag_id}"),
                 ep("PUT", "/tags/{tag_id}")]
    item = probes.item_read(endpoints, endpoints[0])
    assert item is not None and item.path == "/tags/{tag_id}"
    assert probes.item_read(endpoints, endpoints[3]) == item
    created = call("POST", "/tags", 201, {"id": 4, "label": "x"},
                   headers={"location": "http://127.0.0.1:1/tags/5"})
    assert probes.created_id(item, created) == ("tag_id", "id", 4)
    assert probes.location_params(item, created) == {"tag_id": "5"}


def test_echoed_fields_leave_out_what_the_server_normalised() -> None:
    api = {"title": ("body", {"type": "string"}), "tags": ("body", {"type": "array"}),
           "email": ("body", {"type": "string"})}
    answer = call("POST", "/x", 201, {"title": "a", "email": "a@example.com", "tags": ["t"]})
    sent = {"title": "a", "email": "A@example.com", "tags": ["t"]}
    assert probes.echoed_fields(sent, answer, api) == {"title": "a"}


def test_paging_and_filter_probes_only_for_bounded_and_exact_parameters() -> None:
    listing = ep("GET", "/items", parameters=(
        Parameter("limit", "query", False, {"type": "integer"}),
        Parameter("category", "query", False, {"enum": ["a", "b"]}),
        Parameter("q", "query", False, {"type": "string"})))
    schema = {"properties": {"limit": {"type": "integer"}, "category": {"enum": ["a", "b"]},
                             "q": {"type": "string"}}}
    paging = probes.paging_call(listing, "list_items", {}, schema)
    assert paging is not None and paging.arguments == {"limit": 1}
    filters = probes.filter_calls(listing, "list_items", {}, schema,
                                  {"id": 1, "category": "b", "q": "free text"})
    assert [(f.arguments, f.expect) for f in filters] == [
        ({"category": "b"}, {"field": "category", "value": "b"})]


def test_varied_changes_text_and_enums_within_the_schema() -> None:
    api = {"title": ("body", {"type": "string", "maxLength": 20}),
           "kind": ("body", {"enum": ["a", "b"]}),
           "code": ("body", {"type": "string", "pattern": "^[a-z]+$"})}
    assert probes.varied({"title": "t", "kind": "a", "code": "x"}, api, "-2") == {
        "title": "t-2", "kind": "b", "code": "x"}


class _Tool:
    def __init__(self, name: str, schema: dict[str, Any]) -> None:
        self.name, self.input_schema = name, schema


def answered_agent(endpoints: list[Endpoint], answer: Callable[[Any], tuple[int, Any]],
                   schemas: dict[str, dict[str, Any]], suite: str, credentials: Any = None,
                   framework: str = "fastapi", **options: Any) -> Any:
    """A DeterministicAgent over `endpoints` (each tool named by its operation id, with its
    input schema from `schemas`) run to its end, its calls answered here (no server):
    `answer(planned)` is (status, JSON body or None). `options`: the agent's own."""
    import asyncio
    from pathlib import Path

    from runner.agent.calllog import CallLog
    from runner.agent.deterministic import DeterministicAgent
    from runner.agent.protocol import AgentSetup
    from runner.servers import McpCommand

    class Answered(DeterministicAgent):
        async def _call(self, session: Any, planned: Any) -> ToolCall:
            status, body = answer(planned)
            made = ToolCall(call_id=f"c-{len(self.calls)}", tool=planned.tool,
                            method=planned.endpoint.method, path=planned.endpoint.path,
                            arguments=planned.arguments, status_code=status, body=body,
                            body_is_json=body is not None, intent=planned.intent)
            made.expect = planned.expect
            self.calls.append(made)
            return made

    names = {e.key: e.operation_id for e in endpoints}
    setup = AgentSetup(McpCommand("python", [], {}, None), ApiSpec(framework, "main:app", {},
                                                                  endpoints),
                       names, CallLog(Path("/nonexistent")), suite=suite,  # type: ignore[arg-type]
                       credentials=credentials)
    agent = Answered(setup, **options)
    agent._tools = {name: _Tool(name, schemas[name]) for name in names.values()}
    agent._session = object()
    asyncio.run(agent.exercise())
    return agent


def agent_over(count: int, max_calls: int, suite: str = "comprehensive"):
    """A DeterministicAgent over `count` operations whose calls are answered 404: what the
    budget lets through is the subject."""
    endpoints = [ep("GET", f"/r{n}/{{item_id}}", f"op{n}", parameters=(
        Parameter("item_id", "path", True, {"type": "integer", "minimum": 1}),))
        for n in range(count)]
    item_id = {"properties": {"item_id": {"type": "integer"}}, "required": ["item_id"]}
    return answered_agent(endpoints, lambda planned: (404, None),
                          {e.operation_id: item_id for e in endpoints}, suite,
                          max_calls=max_calls)


def test_every_operation_gets_its_first_call_before_any_extra_call() -> None:
    agent = agent_over(30, 30)
    assert {c.path for c in agent.calls} == {f"/r{n}/{{item_id}}" for n in range(30)}
    assert agent.not_called == {}


def test_operations_a_budget_leaves_out_are_named_with_the_reason() -> None:
    agent = agent_over(30, 10)
    assert len(agent.calls) == 10 and len(agent.not_called) == 20
    assert all("call budget (10 calls)" in why for why in agent.not_called.values())


def test_negative_calls_break_the_schema_one_way_each_through_the_raw_tool() -> None:
    body = {"type": "object", "required": ["rating"], "additionalProperties": False,
            "properties": {"rating": {"type": "integer", "minimum": 1, "maximum": 5}}}
    post = ep("POST", "/shops/{shop_id}/feedback", request_body=RequestBody(schema=body),
              parameters=(Parameter("shop_id", "path", True, {"type": "integer"}),))
    api = {"rating": ("body", body["properties"]["rating"]), "shopid": ("path", {})}
    planned = probes.negative_calls(post, {"shop_id": 3, "rating": 2}, api, {"shop_id": 3}, body)
    assert {p.tool for p in planned} == {probes.RAW_TOOL}
    assert all(p.intent == "invalid" and p.arguments["path"] == "/shops/3/feedback"
               for p in planned)
    sent = {p.expect["broken"]: p.arguments.get("json_body") for p in planned}
    assert sent["required field rating missing"] == {}
    assert sent["rating: above maximum"] == {"rating": 6}
    assert sent["an unknown property where additionalProperties is false"][
        "unexpected_field_x"] == 1
    assert all(not conforms(b, body) for b in sent.values())


def test_optional_security_is_not_probed_for_ignored_auth() -> None:
    from pathlib import Path

    from runner.agent.calllog import CallLog
    from runner.agent.deterministic import DeterministicAgent
    from runner.agent.protocol import AgentSetup
    from runner.servers import McpCommand

    doc = {"security": [{"bearer": []}], "paths": {
        "/health": {"get": {"security": [{"bearer": []}, {}]}}, "/notes": {"get": {}}}}
    health, notes = ep("GET", "/health", security=True), ep("GET", "/notes", security=True)
    agent = DeterministicAgent(AgentSetup(McpCommand("python", []),
                                          ApiSpec("drf", "x", doc, [health, notes]), {},
                                          CallLog(Path("/nonexistent"))))
    users = agent._users
    assert not users.requires_auth(health) and users.requires_auth(notes)
    assert not users.requires_auth(ep("GET", "/open"))


def test_a_body_field_named_body_is_that_field_not_the_whole_body() -> None:
    schema = {"type": "object", "required": ["title"],
              "properties": {"title": {"type": "string", "minLength": 1},
                             "body": {"type": "string", "maxLength": 500}}}
    create = ep("POST", "/notes", request_body=RequestBody(schema=schema, required=True))
    spec = ApiSpec("fastapi", "main:app", {}, [create])
    builder = ArgumentBuilder(spec)
    api = builder.api_schemas(create)
    assert api["body"] == ("body", schema["properties"]["body"])
    tool_schema = {"properties": {"title": {"type": "string"}, "body": {"type": "string"}},
                   "required": ["title"]}
    arguments, problems = builder.build(create, tool_schema, IdPool(), api)
    assert problems == [] and isinstance(arguments["title"], str)
    assert isinstance(arguments.get("body", ""), str)


def test_a_collection_another_user_cannot_list_is_kept_per_user() -> None:
    mine = {"id": 7, "text": "a"}
    assert probes.kept_from(call("GET", "/notes", 200, []), "id", 7)
    assert probes.kept_from(call("GET", "/notes", 200, {"results": [{"id": 8}]}), "id", 7)
    assert not probes.kept_from(call("GET", "/notes", 200, [mine]), "id", 7)  # shared
    assert not probes.kept_from(call("GET", "/notes", 200, {"id": 7}), "id", "7")  # no list
    assert not probes.kept_from(call("GET", "/notes", 401, {"detail": "no"}), "id", 7)


class _Identities:
    """Credentials as the agent uses them: whose headers the tools send right now."""

    offered = True

    def __init__(self, second: bool = True) -> None:
        self.current, self.second = "alice", second
        self.threads: list[str] = []  # where second_user() was called

    def second_user(self) -> dict[str, str] | None:
        import threading

        self.threads.append(threading.current_thread().name)
        return {"Authorization": "Bearer bob"} if self.second else None

    def act_as(self, headers: dict[str, str]) -> None:
        self.current = "bob"

    def log_out(self) -> None:
        self.current = ""

    def restore(self) -> None:
        self.current = "alice"


def two_user_run(shared: bool, second: bool = True,
                 who: _Identities | None = None) -> list[ToolCall]:
    """A per-user (or shared) notes API answered here; GET of an item ignores the owner."""
    note_id = Parameter("note_id", "path", True, {"type": "integer"})
    body = RequestBody(schema={"type": "object", "required": ["text"],
                               "properties": {"text": {"type": "string"}}})
    endpoints = [ep("POST", "/notes", "create", security=True, request_body=body),
                 ep("GET", "/notes", "list", security=True),
                 ep("GET", "/notes/{note_id}", "read", security=True, parameters=(note_id,)),
                 ep("DELETE", "/notes/{note_id}", "delete", security=True, parameters=(note_id,))]
    who = who or _Identities(second)
    notes: dict[int, dict[str, Any]] = {}

    def answer(planned: Any) -> tuple[int, Any]:
        key, args, user = planned.endpoint.key, planned.arguments, who.current
        status, answer = 401, None
        if user and key == "POST /notes":
            notes[len(notes) + 1] = answer = {"id": len(notes) + 1, "text": args["text"],
                                              "owner": user}
            status = 201
        elif user and key == "GET /notes":
            status, answer = 200, [n for n in notes.values() if shared or n["owner"] == user]
        elif user and key == "GET /notes/{note_id}":
            answer = notes.get(args["note_id"])
            status = 200 if answer else 404
        elif user and key == "DELETE /notes/{note_id}":
            found = notes.get(args["note_id"])
            status = 204 if found and found["owner"] == user else 404
            if status == 204:
                del notes[args["note_id"]]
        return status, answer

    id_schema = {"properties": {"note_id": {"type": "integer"}}, "required": ["note_id"]}
    schemas = {"create": body.schema, "list": {}, "read": id_schema, "delete": id_schema}
    return answered_agent(endpoints, answer, schemas, "smoke", credentials=who).calls


def test_a_second_user_reads_and_deletes_a_per_user_resource_and_must_be_refused() -> None:
    from runner.checks import CHECKS

    calls = two_user_run(shared=False)
    other = [c for c in calls if c.intent == "other_user"]
    assert [c.endpoint_key for c in other] == ["GET /notes/{note_id}", "DELETE /notes/{note_id}"]
    read = other[0]
    judged = {c.endpoint_key: CHECKS["object_level_authorization"](c, ep(c.method, c.path))
              for c in other}
    assert judged["GET /notes/{note_id}"].passed is False  # the read ignores the owner
    assert judged["DELETE /notes/{note_id}"].passed is True
    assert "not in the second user's list" in read.expect["after"]
    # The run's own user still deleted its note afterwards.
    assert any(c.intent == "valid" and c.method == "DELETE" and c.status_code == 204
               for c in calls)


def test_the_second_user_signs_up_in_a_thread_while_the_run_goes_on() -> None:
    import threading

    who = _Identities()
    two_user_run(shared=False, who=who)
    # Started in a worker thread up front; later uses answer from what it made.
    assert who.threads[0] != threading.current_thread().name


def test_a_resource_shared_by_design_or_no_sign_up_is_not_probed_as_another_user() -> None:
    assert not [c for c in two_user_run(shared=True) if c.intent == "other_user"]
    calls = two_user_run(shared=False, second=False)
    assert not [c for c in calls if c.intent in ("other_user", "second_user")]


def test_shrinking_candidates_are_smaller_valid_and_keep_path_ids() -> None:
    from runner.agent import shrink

    schemas = {"name": {"type": "string", "minLength": 1}, "note": {"type": "string"},
               "count": {"type": "integer", "minimum": 0}}
    failing = {"item_id": 41, "name": "Zoë Å", "note": "long text", "count": 40}
    found = list(shrink.smaller(failing, schemas, keep={"item_id", "name"}))
    assert {"item_id": 41, "name": "Zoë Å", "count": 40} in found  # an optional one left out
    assert all(c["item_id"] == 41 and "name" in c for c in found)  # ids and required stay
    assert all(c.get("name") != "" for c in found)  # minLength holds
    assert {**failing, "count": 0} in found and {**failing, "name": "Zo"} in found
    assert all(shrink.size(c) < shrink.size(failing) for c in found)


def test_a_5xx_input_is_reduced_to_the_smallest_that_still_fails() -> None:
    body = {"type": "object", "required": ["name"],
            "properties": {"name": {"type": "string"}, "note": {"type": "string"}}}
    create = ep("POST", "/things", "create", request_body=RequestBody(schema=body))
    agent = answered_agent(
        [create], lambda planned: (201 if str(planned.arguments.get("name", "")).isascii()
                                   else 500, None),
        {"create": body}, "comprehensive", examples=0)
    failing = next(c for c in agent.calls if c.status_code == 500 and c.intent != "shrink")
    tries = [c for c in agent.calls if c.intent == "shrink"]
    assert 0 < len(tries) <= 6 and all(c.expect["shrinks"] == failing.call_id for c in tries)
    smallest = next(c for c in agent.calls if c.call_id == failing.expect["shrunk_to"])
    assert smallest.status_code == 500 and len(smallest.arguments["name"]) < len(
        failing.arguments["name"])
    assert "note" not in smallest.arguments
    from runner.checks import CHECKS
    from runner.verdicts import evaluate

    (result,) = evaluate([create], agent.calls, {}, CHECKS)
    (check,) = [c for c in result.checks if c.call_id == failing.call_id
                and c.check == "not_a_server_error"]
    assert smallest.call_id in check.message


def test_edge_values_of_different_arguments_share_calls_and_each_is_sent() -> None:
    from runner.agent.generate import edges as edges_of

    body = {"title": {"type": "string", "maxLength": 20}, "note": {"type": "string"},
            "rank": {"type": "integer", "minimum": 1, "maximum": 9}}
    post = ep("POST", "/things", request_body=RequestBody(schema={"type": "object", "properties": body}))
    api = {name: ("body", schema) for name, schema in body.items()}
    arguments = {"title": "t", "note": "n", "rank": 2}
    tool_schema = {"properties": body, "required": ["title"]}
    planned = probes.input_calls(post, "create", arguments, tool_schema, api, 0)
    rounds = [p for p in planned if "varied" in p.expect]
    wanted = {(name, edge) for name, schema in body.items() for edge in edges_of(schema)
              if edge != arguments[name]}
    sent = {(name, p.arguments[name]) for p in rounds for name in p.expect["varied"]}
    assert sent == {(n, e) for n, e in wanted}  # every edge of every argument is sent
    assert len(rounds) == max(len([e for e in edges_of(s) if e != arguments[n]])
                              for n, s in body.items()) < len(wanted)
    (absent,) = [p for p in planned if "absent" in p.expect]
    assert absent.arguments == {"title": "t"}  # every optional argument left out at once
    assert all(conforms(p.arguments[n], body[n]) for p in rounds for n in p.arguments)


def test_a_field_naming_another_resource_gets_a_known_id_of_it() -> None:
    pool = IdPool()
    pool.learn(ep("POST", "/reviews"), {"id": 5, "rating": 3})
    pool.learn(ep("POST", "/categories"), {"id": 9, "name": "x"})
    assert pool.value_for_reference("review_id") == 5
    assert pool.value_for_reference("reviewId") == 5
    assert pool.value_for_reference("category_id") == 9
    assert pool.value_for_reference("book_id") is None and pool.value_for_reference("id") is None
    vote = ep("POST", "/votes", request_body=RequestBody(schema={"type": "object", "properties": {
        "review_id": {"type": "integer"}, "points": {"type": "integer"}}}))
    builder = ArgumentBuilder(ApiSpec("fastapi", "x", {}, [vote]))
    schema = {"properties": {"review_id": {"type": "integer"}, "points": {"type": "integer"}},
              "required": ["review_id", "points"]}
    arguments, _ = builder.build(vote, schema, pool, builder.api_schemas(vote))
    assert arguments["review_id"] == 5


def test_a_synthesized_specs_empty_schema_is_varied_as_the_value_sent() -> None:
    assert probes.typed_like({}, "test-title") == {"type": "string"}
    assert probes.typed_like({"type": "integer"}, "x") == {"type": "integer"}
    post = ep("POST", "/tags", request_body=RequestBody(schema={"type": "object",
                                                                "properties": {"name": {}}}))
    api = {"name": ("body", {})}
    tool_schema = {"properties": {"name": {"default": None, "title": "Name"}}}  # `Any = None`
    planned = probes.input_calls(post, "create", {"name": "test-name"}, tool_schema, api, 2)
    sent = {p.arguments.get("name") for p in planned}
    assert {"", " ", "Zoë Ångström"} <= sent  # string edges, not any JSON type
    assert all(isinstance(p.arguments.get("name", ""), str) for p in planned)
    assert probes.varied({"name": "n"}, api, "-2") == {"name": "n-2"}


def test_unchanged_fields_are_those_an_update_set_and_its_answer_did_not_echo() -> None:
    api = {"title": ("body", {"type": "string"}), "status": ("body", {"enum": ["a", "b"]}),
           "tags": ("body", {"type": "array"}), "ticket_id": ("path", {"type": "integer"})}
    sent = {"ticket_id": 3, "title": "t-patch", "status": "a", "tags": ["x"]}
    before = {"id": 3, "title": "t", "status": "a", "tags": []}
    # The answer echoed nothing (the unsaved object): the title must change; the status was
    # sent unchanged and the list is not compared.
    assert probes.unchanged_fields(sent, api, before, {}) == {
        "title": {"was": "t", "sent": "t-patch"}}
    assert probes.unchanged_fields(sent, api, before, {"title": "t-patch"}) == {}
    assert probes.unchanged_fields(sent, api, None, {}) == {}


def test_last_seen_keeps_a_read_until_a_write_may_have_changed_it() -> None:
    from runner.agent.lastseen import LastSeen

    item = ep("GET", "/books/{book_id}/")
    seen = LastSeen()
    seen.observe(item, "/books/5/", call("GET", "/books/{book_id}/", 200, {"id": 5}))
    seen.observe(item, "/books/6/", call("GET", "/books/{book_id}/", 200, {"id": 6}))
    assert seen.get(item, {"book_id": 5}) == {"id": 5}
    # A create in the collection and a failed write change nothing; a write to 6 forgets 6.
    seen.observe(ep("POST", "/books/"), "/books/", call("POST", "/books/", 201, {"id": 7}))
    seen.observe(ep("PUT", "/books/{book_id}/"), "/books/5/",
                 call("PUT", "/books/{book_id}/", 400, {}))
    seen.observe(ep("PATCH", "/books/{book_id}/"), "/books/6/",
                 call("PATCH", "/books/{book_id}/", 200, {"id": 6}))
    assert seen.get(item, {"book_id": 5}) == {"id": 5}
    assert seen.get(item, {"book_id": 6}) is None
    # An action under a resource changes it; a write whose id is unknown may be any of them.
    seen.observe(ep("POST", "/books/{book_id}/loan"), "/books/5/loan",
                 call("POST", "/books/{book_id}/loan", 200, {}))
    assert seen.get(item, {"book_id": 5}) is None
    seen.observe(item, "/books/5/", call("GET", "/books/{book_id}/", 200, {"id": 5}))
    seen.observe(ep("PUT", "/books/{book_id}/"), "/books/{book_id}/",
                 call("PUT", "/books/{book_id}/", 200, {}))
    assert seen.get(item, {"book_id": 5}) is None


def update_run(store: str) -> list[ToolCall]:
    """A tickets API answered here whose PATCH `store`s the update ("saved"), does not save
    it and answers the unsaved object ("lost"), or saves its normal form and answers 204
    ("normalised")."""
    ticket_id = Parameter("ticket_id", "path", True, {"type": "integer"})
    body = RequestBody(schema={"type": "object", "required": ["title"],
                               "properties": {"title": {"type": "string", "maxLength": 80}}})
    endpoints = [ep("POST", "/tickets", "create", request_body=body),
                 ep("GET", "/tickets/{ticket_id}", "read", parameters=(ticket_id,)),
                 ep("PUT", "/tickets/{ticket_id}", "put", parameters=(ticket_id,),
                    request_body=body),
                 ep("PATCH", "/tickets/{ticket_id}", "patch", parameters=(ticket_id,),
                    request_body=body)]
    tickets: dict[int, dict[str, Any]] = {}

    def answer(planned: Any) -> tuple[int, Any]:
        key, args = planned.endpoint.key, planned.arguments
        status, answer = 404, {"detail": "not found"}
        found = tickets.get(args.get("ticket_id", 0))
        if key == "POST /tickets":
            tickets[len(tickets) + 1] = answer = {"id": len(tickets) + 1, "title": args["title"]}
            status = 201
        elif found and key == "GET /tickets/{ticket_id}":
            status, answer = 200, dict(found)
        elif found and key == "PUT /tickets/{ticket_id}":
            found["title"] = args["title"]
            status, answer = 200, dict(found)
        elif found and key == "PATCH /tickets/{ticket_id}":
            status, answer = 200, dict(found)
            if store == "saved":
                found["title"] = answer["title"] = args["title"]
            elif store == "normalised":
                found["title"], status, answer = args["title"].upper(), 204, None
        return status, answer

    id_schema = {"properties": {"ticket_id": {"type": "integer"}}, "required": ["ticket_id"]}
    both = {"properties": {**id_schema["properties"], "title": {"type": "string"}},
            "required": ["ticket_id", "title"]}
    schemas = {"create": body.schema, "read": id_schema, "put": both, "patch": both}
    return answered_agent(endpoints, answer, schemas, "comprehensive", examples=0).calls


def test_an_update_answered_with_the_unsaved_object_is_found_lost() -> None:
    from runner.checks import CHECKS

    def judged(store: str) -> dict[str, bool]:
        reads = [c for c in update_run(store) if c.intent == "after_update"]
        return {c.expect["after"].split(" (")[0]: CHECKS["update_persisted"](
            c, ep(c.method, c.path)).passed for c in reads}  # type: ignore[union-attr]

    assert judged("lost") == {"PUT /tickets/{ticket_id}": True,
                              "PATCH /tickets/{ticket_id}": False}
    # Saved, or saved in the server's normal form without an answer: no alarm.
    assert judged("saved") == {"PUT /tickets/{ticket_id}": True,
                               "PATCH /tickets/{ticket_id}": True}
    assert judged("normalised") == {"PUT /tickets/{ticket_id}": True,
                                    "PATCH /tickets/{ticket_id}": True}


def test_the_apis_own_document_is_recognised_as_json_and_yaml() -> None:
    doc = {"openapi": "3.0.3", "info": {}, "paths": {}}
    assert probes.is_api_document(call("GET", "/api/schema/", 200, doc))
    yaml = "openapi: 3.0.3\ninfo:\n  title: x\npaths:\n  /a: {}\n"
    as_text = ToolCall(call_id="c-1", tool="t", method="GET", path="/api/schema/", arguments={},
                       status_code=200, body=yaml)
    assert probes.is_api_document(as_text)
    assert not probes.is_api_document(call("GET", "/items", 200, {"paths": ["a"]}))
    assert not probes.is_api_document(call("GET", "/api/schema/", 500, doc))
    as_text.body = "openapi is a word, paths: too"
    assert not probes.is_api_document(as_text)


def test_the_apis_own_document_gets_one_call_and_no_edges() -> None:
    lang = Parameter("lang", "query", False, {"type": "string", "enum": ["de", "en", "fr"]})
    endpoints = [ep("GET", "/schema/", "schema", parameters=(lang,)),
                 ep("GET", "/tags", "tags", parameters=(lang,))]
    lang_only = {"properties": {"lang": {"type": "string"}}}
    agent = answered_agent(
        endpoints, lambda planned: (200, {"openapi": "3.1.0", "paths": {}}
                                    if planned.tool == "schema" else []),
        {"schema": lang_only, "tags": lang_only}, "comprehensive", framework="drf", examples=0)
    by_tool = [c.tool for c in agent.calls]
    # The empty-state read and the operation's own call; the collection gets its edges.
    assert by_tool.count("schema") == 2 and by_tool.count("tags") > 2
