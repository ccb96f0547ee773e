"""Benchmark app (FastAPI + pydantic): a small shop with per-user bearer tokens.

Planted bugs are listed in ../manifest.json (ids fa-*); every other operation is correct.
"""

from __future__ import annotations

import itertools
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Query, Response
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

app = FastAPI(title="Bench shop", version="1.0.0")

USERS: dict[str, str] = {}  # token -> username
PRODUCTS: dict[int, dict] = {}
NOTES: dict[int, dict] = {}
ORDERS: dict[int, dict] = {}
_ids = itertools.count(1)


class Credentials(BaseModel):
    username: str = Field(min_length=3, max_length=30)
    password: str = Field(min_length=6, max_length=64)


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"


class ProductIn(BaseModel):
    name: str = Field(min_length=1, max_length=40)
    price: int = Field(ge=0, le=10000)
    stock: int = Field(default=5, ge=0, le=100)


class Product(ProductIn):
    id: int


class NoteIn(BaseModel):
    title: str = Field(min_length=1, max_length=60)
    body: str = Field(default="", max_length=500)


class Note(NoteIn):
    id: int
    owner: str


class OrderIn(BaseModel):
    product_id: int = Field(ge=1)
    quantity: int = Field(ge=1, le=10)


class Order(OrderIn):
    id: int


class Stats(BaseModel):
    products: int
    average_price: float


bearer = HTTPBearer(auto_error=False)
Bearer = Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]


def current_user(creds: Bearer) -> str:
    token = creds.credentials if creds else ""
    if token not in USERS:
        raise HTTPException(401, "not authenticated")
    return USERS[token]


@app.get("/health")
def health() -> dict:
    return {"status": "ok"}


@app.post("/auth/register", status_code=201, responses={409: {"description": "name taken"}})
def register(creds: Credentials) -> dict:
    if creds.username in USERS.values():
        raise HTTPException(409, "name taken")
    USERS[f"tok-{creds.username}-{creds.password}"] = creds.username
    return {"username": creds.username}


@app.post("/auth/login", responses={401: {"description": "bad credentials"}})
def login(creds: Credentials) -> Token:
    token = f"tok-{creds.username}-{creds.password}"
    if USERS.get(token) != creds.username:
        raise HTTPException(401, "bad credentials")
    return Token(access_token=token)


@app.get("/products")
def list_products(limit: int = Query(default=20, ge=1, le=100),
                  name: str | None = None) -> list[Product]:
    items = [Product(**p) for p in PRODUCTS.values()]
    if name is not None:
        items = [p for p in items if p.name == name]
    return items[:limit]


@app.post("/products", status_code=201)
def create_product(data: ProductIn, response: Response) -> Product:
    # fa-nonascii: the name is written to an ASCII-only log
    data.name.encode("ascii")
    pid = next(_ids)
    PRODUCTS[pid] = {"id": pid, **data.model_dump()}
    response.headers["Location"] = f"/products/{pid}"
    return Product(**PRODUCTS[pid])


@app.get("/products/stats")
def product_stats() -> Stats:
    # fa-empty-stats: average of nothing
    total = sum(p["price"] for p in PRODUCTS.values())
    return Stats(products=len(PRODUCTS), average_price=total / len(PRODUCTS))


@app.get("/products/{product_id}", responses={404: {"description": "no such product"}})
def get_product(product_id: int) -> Product:
    if product_id not in PRODUCTS:
        raise HTTPException(404, "no such product")
    return Product(**PRODUCTS[product_id])


@app.put("/products/{product_id}", responses={404: {"description": "no such product"}})
def update_product(product_id: int, data: ProductIn) -> Product:
    if product_id not in PRODUCTS:
        raise HTTPException(404, "no such product")
    # fa-update-lost: answers the update but never stores it
    return Product(id=product_id, **data.model_dump())


@app.delete("/products/{product_id}", status_code=204,
            responses={404: {"description": "no such product"}})
def delete_product(product_id: int) -> Response:
    if PRODUCTS.pop(product_id, None) is None:
        raise HTTPException(404, "no such product")
    return Response(status_code=204)


@app.get("/products/{product_id}/quote", responses={404: {"description": "no such product"}})
def quote(product_id: int, quantity: int = Query(ge=1, le=50)) -> dict:
    if product_id not in PRODUCTS:
        raise HTTPException(404, "no such product")
    # fa-quote-maximum: the discount table stops one short of the documented maximum
    discount = [0] * 10 + [5] * 40
    return {"total": PRODUCTS[product_id]["price"] * quantity * (100 - discount[quantity]) // 100}


@app.get("/search")
def search(q: str = Query(max_length=40)) -> list[Product]:
    # fa-empty-query: an empty query indexes the first character
    first = q[0]
    return [Product(**p) for p in PRODUCTS.values() if p["name"].startswith(first)]


@app.post("/orders", status_code=201,
          responses={404: {"description": "no such product"},
                     409: {"description": "not enough stock"}})
def create_order(data: OrderIn) -> Order:
    product = PRODUCTS.get(data.product_id)
    if product is None:
        raise HTTPException(404, "no such product")
    if product["stock"] < data.quantity:
        raise HTTPException(409, "not enough stock")
    product["stock"] -= data.quantity
    oid = next(_ids)
    ORDERS[oid] = {"id": oid, **data.model_dump()}
    return Order(**ORDERS[oid])


@app.get("/orders/{order_id}", responses={404: {"description": "no such order"}})
def get_order(order_id: int) -> Order:
    if order_id not in ORDERS:
        raise HTTPException(404, "no such order")
    return Order(**ORDERS[order_id])


@app.get("/notes", responses={401: {"description": "not authenticated"}})
def list_notes(user: Annotated[str, Depends(current_user)]) -> list[Note]:
    return [Note(**n) for n in NOTES.values() if n["owner"] == user]


@app.post("/notes", status_code=201, responses={401: {"description": "not authenticated"}})
def create_note(data: NoteIn, user: Annotated[str, Depends(current_user)]) -> Note:
    nid = next(_ids)
    NOTES[nid] = {"id": nid, "owner": user, **data.model_dump()}
    return Note(**NOTES[nid])


@app.get("/notes/{note_id}", responses={401: {"description": "not authenticated"},
                                        404: {"description": "no such note"}})
def get_note(note_id: int, user: Annotated[str, Depends(current_user)]) -> Note:
    note = NOTES.get(note_id)
    # fa-bola: the owner is never compared
    if note is None:
        raise HTTPException(404, "no such note")
    return Note(**note)


@app.delete("/notes/{note_id}", status_code=204,
            responses={401: {"description": "not authenticated"},
                       404: {"description": "no such note"}})
def delete_note(note_id: int, user: Annotated[str, Depends(current_user)]) -> Response:
    note = NOTES.get(note_id)
    if note is None or note["owner"] != user:
        raise HTTPException(404, "no such note")
    del NOTES[note_id]
    return Response(status_code=204)


@app.get("/admin/users", responses={401: {"description": "not authenticated"}})
def admin_users(creds: Bearer) -> list[str]:
    # fa-ignored-auth: documented as protected (401) but never checks the token
    return sorted(USERS.values())
