"""Todo API: the example app bundled with api-mcp-test.

Eleven operations: todos with filters, create, get, replace, patch, delete; a nested resource
(comments on a todo); a stats endpoint; a health check.

A deliberate, documented bug: `GET /todos/{todo_id}/summary` looks up display names in a
directory without the default author "anonymous" and answers 500. TODO_API_FIXED=1 fixes it.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime
from enum import Enum

from fastapi import FastAPI, HTTPException, Query, Response
from pydantic import BaseModel, Field

app = FastAPI(title="Todo API", version="1.2.0", description="A small todo service.")

NOT_FOUND = {404: {"description": "No todo with that id", "model": dict}}


class Priority(str, Enum):
    low = "low"
    normal = "normal"
    high = "high"


class TodoIn(BaseModel):
    title: str = Field(min_length=1, max_length=200, examples=["Buy milk"])
    description: str | None = Field(default=None, max_length=2000)
    priority: Priority = Priority.normal
    done: bool = False


class TodoPatch(BaseModel):
    title: str | None = Field(default=None, min_length=1, max_length=200)
    description: str | None = None
    priority: Priority | None = None
    done: bool | None = None


class Todo(TodoIn):
    id: int
    created_at: datetime


class CommentIn(BaseModel):
    text: str = Field(min_length=1, max_length=500, examples=["Looks good"])
    author: str = Field(default="anonymous", max_length=50)


class Comment(CommentIn):
    id: int
    todo_id: int


class Stats(BaseModel):
    total: int
    done: int
    open: int
    by_priority: dict[str, int]


class Summary(BaseModel):
    todo_id: int
    comments: int
    average_comment_length: float
    commenters: list[str]


# Display names of known commenters.
_DISPLAY_NAMES = {"alice": "Alice A.", "bob": "Bob B.", "carol": "Carol C."}


_todos: dict[int, Todo] = {}
_comments: dict[int, list[Comment]] = {}
_next_id = {"todo": 1, "comment": 1}


def _get(todo_id: int) -> Todo:
    if todo_id not in _todos:
        raise HTTPException(status_code=404, detail=f"Todo {todo_id} not found")
    return _todos[todo_id]


@app.get("/health", tags=["meta"])
def health() -> dict[str, str]:
    """Liveness probe."""
    return {"status": "ok"}


@app.get("/todos", tags=["todos"])
def list_todos(
    done: bool | None = None,
    priority: Priority | None = None,
    q: str | None = Query(default=None, max_length=100, description="Text to find in titles"),
    limit: int = Query(default=50, ge=1, le=100),
    offset: int = Query(default=0, ge=0),
) -> list[Todo]:
    """List todos, newest last, with optional filters."""
    items = list(_todos.values())
    if done is not None:
        items = [t for t in items if t.done == done]
    if priority is not None:
        items = [t for t in items if t.priority == priority]
    if q:
        items = [t for t in items if q.lower() in t.title.lower()]
    return items[offset : offset + limit]


@app.post("/todos", status_code=201, tags=["todos"])
def create_todo(todo: TodoIn) -> Todo:
    """Create a todo."""
    todo_id = _next_id["todo"]
    _next_id["todo"] += 1
    created = Todo(id=todo_id, created_at=datetime.now(UTC), **todo.model_dump())
    _todos[todo_id] = created
    _comments[todo_id] = []
    return created


@app.get("/todos/{todo_id}", tags=["todos"], responses=NOT_FOUND)
def get_todo(todo_id: int) -> Todo:
    """Fetch one todo by id."""
    return _get(todo_id)


@app.put("/todos/{todo_id}", tags=["todos"], responses=NOT_FOUND)
def replace_todo(todo_id: int, todo: TodoIn) -> Todo:
    """Replace a todo."""
    current = _get(todo_id)
    updated = Todo(id=todo_id, created_at=current.created_at, **todo.model_dump())
    _todos[todo_id] = updated
    return updated


@app.patch("/todos/{todo_id}", tags=["todos"], responses=NOT_FOUND)
def update_todo(todo_id: int, patch: TodoPatch) -> Todo:
    """Change some fields of a todo."""
    current = _get(todo_id)
    updated = current.model_copy(update=patch.model_dump(exclude_unset=True))
    _todos[todo_id] = updated
    return updated


@app.delete("/todos/{todo_id}", status_code=204, tags=["todos"], responses=NOT_FOUND)
def delete_todo(todo_id: int) -> Response:
    """Delete a todo and its comments."""
    _get(todo_id)
    del _todos[todo_id]
    _comments.pop(todo_id, None)
    return Response(status_code=204)


@app.get("/todos/{todo_id}/comments", tags=["comments"], responses=NOT_FOUND)
def list_comments(todo_id: int) -> list[Comment]:
    """Comments on a todo, oldest first."""
    _get(todo_id)
    return _comments[todo_id]


@app.post("/todos/{todo_id}/comments", status_code=201, tags=["comments"], responses=NOT_FOUND)
def add_comment(todo_id: int, comment: CommentIn) -> Comment:
    """Add a comment to a todo."""
    _get(todo_id)
    comment_id = _next_id["comment"]
    _next_id["comment"] += 1
    created = Comment(id=comment_id, todo_id=todo_id, **comment.model_dump())
    _comments[todo_id].append(created)
    return created


@app.get("/todos/{todo_id}/summary", tags=["comments"], responses=NOT_FOUND)
def todo_summary(todo_id: int) -> Summary:
    """Comment statistics for one todo, with the commenters' display names.

    Known bug (kept on purpose so the report shows a real failure): an author missing from the
    display-name directory, such as the default author "anonymous", raises KeyError and the
    endpoint answers 500. TODO_API_FIXED=1 turns the fix on.
    """
    _get(todo_id)
    comments = _comments[todo_id]
    if os.environ.get("TODO_API_FIXED") == "1":
        commenters = sorted({_DISPLAY_NAMES.get(c.author, c.author) for c in comments})
    else:
        commenters = sorted({_DISPLAY_NAMES[c.author] for c in comments})
    average = sum(len(c.text) for c in comments) / len(comments) if comments else 0.0
    return Summary(
        todo_id=todo_id,
        comments=len(comments),
        average_comment_length=average,
        commenters=commenters,
    )


@app.get("/stats", tags=["meta"])
def stats() -> Stats:
    """Counts of todos by state and priority."""
    items = list(_todos.values())
    by_priority = {p.value: sum(t.priority == p for t in items) for p in Priority}
    done = sum(t.done for t in items)
    return Stats(total=len(items), done=done, open=len(items) - done, by_priority=by_priority)
