"""Whose credentials a call carries: the run's user, nobody (ignored_auth), or a second
throwaway user (object_level_authorization), switched through the headers file the generated
tools reread (runner/auth/credentials.py)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from runner.models import ApiSpec, Endpoint

if TYPE_CHECKING:
    from runner.auth import Credentials


class Users:
    def __init__(self, credentials: Credentials | None, spec: ApiSpec) -> None:
        self.credentials = credentials
        self.spec = spec

    @property
    def signed_in(self) -> bool:
        return self.credentials is not None and self.credentials.offered

    def has_second(self) -> bool:
        """Whether a second user can be had (open sign-up; signed up on first use)."""
        return self.credentials is not None and self.credentials.second_user() is not None

    def requires_auth(self, endpoint: Endpoint) -> bool:
        """The operation declares security and no alternative without it (an empty
        requirement `{}`, as drf-spectacular writes for AllowAny views, makes it optional)."""
        if not endpoint.security:
            return False
        doc = self.spec.openapi if isinstance(self.spec.openapi, dict) else {}
        operation = ((doc.get("paths") or {}).get(endpoint.path) or {}).get(
            endpoint.method.lower()) or {}
        requirements = operation.get("security", doc.get("security")) or []
        return not any(isinstance(r, dict) and not r for r in requirements)

    @contextmanager
    def anonymous(self) -> Iterator[None]:
        assert self.credentials is not None
        self.credentials.log_out()
        try:
            yield
        finally:
            self.credentials.restore()

    @contextmanager
    def second(self) -> Iterator[None]:
        credentials = self.credentials
        headers = credentials.second_user() if credentials is not None else None
        assert credentials is not None and headers is not None, "check has_second() first"
        credentials.act_as(headers)
        try:
            yield
        finally:
            credentials.restore()
