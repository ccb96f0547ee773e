"""Benchmark app (Flask + flask-smorest): a lending library.

Planted bugs are listed in ../manifest.json (ids fs-*); every other operation is correct.
"""

from __future__ import annotations

import itertools

from flask import Flask
from flask.views import MethodView
from flask_smorest import Api, Blueprint, abort
from marshmallow import Schema, fields, validate

app = Flask(__name__)
app.config.update(API_TITLE="Bench library", API_VERSION="1.0.0", OPENAPI_VERSION="3.0.3",
                  OPENAPI_URL_PREFIX="/")
api = Api(app)
blp = Blueprint("library", __name__, url_prefix="/")

BOOKS: dict[int, dict] = {}
LOANS: dict[int, dict] = {}
REVIEWS: dict[int, dict] = {}
_ids = itertools.count(1)
_listed: list[int] | None = None


class BookIn(Schema):
    title = fields.String(required=True, validate=validate.Length(min=1, max=80))
    genre = fields.String(required=True, validate=validate.OneOf(["novel", "poetry", "history"]))
    pages = fields.Integer(required=True, validate=validate.Range(min=1, max=5000))


class Book(BookIn):
    id = fields.Integer(required=True)


class BookQuery(Schema):
    genre = fields.String(validate=validate.OneOf(["novel", "poetry", "history"]))


class IdsQuery(Schema):
    # Optional: an empty selection (no `ids`) is a valid request. (An empty list cannot be
    # sent in a form-exploded query: it is no parameter at all.)
    ids = fields.List(fields.Integer(), load_default=list)


class PagesOut(Schema):
    longest = fields.Integer(required=True)


class LoanIn(Schema):
    book_id = fields.Integer(required=True, validate=validate.Range(min=1))
    member = fields.String(required=True, validate=validate.Length(min=1, max=40))


class Loan(LoanIn):
    id = fields.Integer(required=True)


class ReviewIn(Schema):
    book_id = fields.Integer(required=True)
    # fs-rating-range: the range is only documented (metadata), never validated
    rating = fields.Integer(required=True, metadata={"minimum": 1, "maximum": 5})


class Review(ReviewIn):
    id = fields.Integer(required=True)


class VoteIn(Schema):
    review_id = fields.Integer(required=True)
    # fs-wrong-type: documented as an integer, accepted as anything
    points = fields.Raw(required=True, metadata={"type": "integer"})


class Vote(Schema):
    review_id = fields.Integer(required=True)
    total = fields.Integer(required=True)


@blp.route("/health")
class Health(MethodView):
    @blp.response(200)
    def get(self):
        return {"status": "ok"}


@blp.route("/books")
class Books(MethodView):
    @blp.arguments(BookQuery, location="query")
    @blp.response(200, Book(many=True))
    def get(self, query):
        global _listed
        if query.get("genre") is not None:
            # fs-filter-ignored: `genre` is read and never applied
            return list(BOOKS.values())
        # fs-list-stale: the unfiltered list is computed once and cached forever
        if _listed is None:
            _listed = list(BOOKS)
        return [BOOKS[i] for i in _listed if i in BOOKS]

    @blp.arguments(BookIn)
    @blp.response(201, Book)
    def post(self, data):
        bid = next(_ids)
        BOOKS[bid] = {"id": bid, **data}
        # fs-location: the Location names the next id, not this one
        return BOOKS[bid], 201, {"Location": f"/books/{bid + 1}"}


@blp.route("/books/longest")
class Longest(MethodView):
    @blp.arguments(IdsQuery, location="query")
    @blp.response(200, PagesOut)
    def get(self, query):
        # fs-empty-ids: max() of an empty selection
        return {"longest": max(BOOKS[i]["pages"] if i in BOOKS else 0 for i in query["ids"])}


@blp.route("/books/<int:book_id>")
class BookById(MethodView):
    @blp.response(200, Book)
    @blp.alt_response(404, description="no such book")
    def get(self, book_id):
        if book_id not in BOOKS:
            abort(404, message="no such book")
        return BOOKS[book_id]

    @blp.arguments(BookIn)
    @blp.response(200, Book)
    @blp.alt_response(404, description="no such book")
    def put(self, data, book_id):
        if book_id not in BOOKS:
            abort(404, message="no such book")
        BOOKS[book_id] = {"id": book_id, **data}
        return BOOKS[book_id]

    @blp.response(204)
    @blp.alt_response(404, description="no such book")
    def delete(self, book_id):
        if book_id not in BOOKS:
            abort(404, message="no such book")
        # fs-use-after-free: answers 204 and keeps the book


@blp.route("/loans")
class Loans(MethodView):
    @blp.arguments(LoanIn)
    @blp.response(201, Loan)
    @blp.alt_response(404, description="no such book")
    @blp.alt_response(409, description="already on loan")
    def post(self, data):
        if data["book_id"] not in BOOKS:
            abort(404, message="no such book")
        if any(loan["book_id"] == data["book_id"] for loan in LOANS.values()):
            abort(409, message="already on loan")
        lid = next(_ids)
        LOANS[lid] = {"id": lid, **data}
        return LOANS[lid]


@blp.route("/loans/<int:loan_id>")
class LoanById(MethodView):
    @blp.response(200, Loan)
    @blp.alt_response(404, description="no such loan")
    def get(self, loan_id):
        if loan_id not in LOANS:
            abort(404, message="no such loan")
        return LOANS[loan_id]

    @blp.response(204)
    @blp.alt_response(404, description="no such loan")
    def delete(self, loan_id):
        if LOANS.pop(loan_id, None) is None:
            abort(404, message="no such loan")


@blp.route("/reviews")
class Reviews(MethodView):
    @blp.arguments(ReviewIn)
    @blp.response(201, Review)
    def post(self, data):
        rid = next(_ids)
        REVIEWS[rid] = {"id": rid, **data}
        return REVIEWS[rid]


@blp.route("/votes")
class Votes(MethodView):
    @blp.arguments(VoteIn)
    @blp.response(201, Vote)
    @blp.alt_response(404, description="no such review")
    def post(self, data):
        if data["review_id"] not in REVIEWS:
            abort(404, message="no such review")
        review = REVIEWS[data["review_id"]]
        review["votes"] = review.get("votes", 0) + (data["points"] if data["points"] == 1 else 0)
        return {"review_id": data["review_id"], "total": review["votes"]}


api.register_blueprint(blp)
