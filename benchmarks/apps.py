"""Apps the benchmarks generate: the same wide API for the per-call overhead and the scale runs."""

from __future__ import annotations

from pathlib import Path


def wide_app(folder: Path, count: int) -> Path:
    """A FastAPI app with `count` operations (a list and a read per resource) in `folder`, with
    a requirements file so the CLI can build its environment."""
    lines = [f'"""{count} operations."""', "", "from fastapi import FastAPI", "",
             "app = FastAPI(title='Wide API')", ""]
    for i in range(count // 2):
        lines += [f"@app.get('/r{i}')", f"def list_r{i}() -> list[dict]:",
                  f"    return [{{'id': {i}, 'name': 'r{i}'}}]", "",
                  f"@app.get('/r{i}/{{item_id}}')", f"def get_r{i}(item_id: int) -> dict:",
                  "    return {'id': item_id}", ""]
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "main.py").write_text("\n".join(lines))
    (folder / "requirements.txt").write_text("fastapi>=0.110\n")
    return folder
