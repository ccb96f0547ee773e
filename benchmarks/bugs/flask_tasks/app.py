"""Benchmark app (plain Flask, no spec: the tools synthesize one): a task list.

Planted bugs are listed in ../manifest.json (ids pf-*); every other route is correct.
"""

from __future__ import annotations

import itertools

from flask import Flask, jsonify, request

app = Flask(__name__)
TASKS: dict[int, dict] = {}
TAGS: dict[int, dict] = {}
_ids = itertools.count(1)


def bad_request(message: str):
    return jsonify({"error": message}), 400


@app.get("/health")
def health():
    return jsonify({"status": "ok"})


@app.route("/tasks", methods=["GET", "POST"])
def tasks():
    if request.method == "GET":
        return jsonify(list(TASKS.values()))
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("title"), str):
        return bad_request("title (a string) is required")
    title = data["title"]
    # pf-nonascii: the title goes through an ASCII-only slug
    slug = title.encode("ascii").decode().lower().replace(" ", "-")
    tid = next(_ids)
    TASKS[tid] = {"id": tid, "title": title, "slug": slug, "done": False}
    return jsonify(TASKS[tid]), 201, {"Location": f"/tasks/{tid}"}


@app.route("/tasks/<int:task_id>", methods=["GET", "PUT", "DELETE"])
def task(task_id: int):
    if task_id not in TASKS:
        return jsonify({"error": "no such task"}), 404
    if request.method == "GET":
        return jsonify(TASKS[task_id])
    if request.method == "DELETE":
        # pf-use-after-free: answers 204 and keeps the task
        return "", 204
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("title"), str):
        return bad_request("title (a string) is required")
    # pf-update-lost: answers the new title without storing it
    return jsonify({**TASKS[task_id], "title": data["title"]})


@app.get("/report")
def report():
    # pf-empty-report: share of done tasks divides by the number of tasks
    done = sum(1 for t in TASKS.values() if t["done"])
    return jsonify({"tasks": len(TASKS), "done_share": done / len(TASKS)})


@app.route("/tags", methods=["GET", "POST"])
def tags():
    if request.method == "GET":
        return jsonify(list(TAGS.values()))
    data = request.get_json(silent=True)
    if not isinstance(data, dict) or not isinstance(data.get("name"), str):
        return bad_request("name (a string) is required")
    name = data["name"]
    # pf-empty-tag: the first letter is capitalised without checking there is one
    label = name[0].upper() + name[1:]
    tid = next(_ids)
    TAGS[tid] = {"id": tid, "name": name, "label": label}
    return jsonify(TAGS[tid]), 201


@app.get("/tags/<int:tag_id>")
def tag(tag_id: int):
    if tag_id not in TAGS:
        return jsonify({"error": "no such tag"}), 404
    return jsonify(TAGS[tag_id])


@app.delete("/tags/<int:tag_id>")
def delete_tag(tag_id: int):
    if TAGS.pop(tag_id, None) is None:
        return jsonify({"error": "no such tag"}), 404
    return "", 204
