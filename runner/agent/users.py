"""Whose credentials a call carries: the run's user, nobody (ignored_auth), or a second
throwaway user (object_level_authorization), switched through the headers file the generated
tools reread (runner/auth/credentials.py)."""

from __future__ import annotations

import asyncio
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
        self._signing_up: asyncio.Task[object] | None = None

    @property
    def signed_in(self) -> bool:
        return self.credentials is not None and self.credentials.offered

    def sign_up_second(self) -> None:
        """Sign the second user up in a thread while the run goes on: a sign-up and a login
        take seconds where the app hashes passwords slowly (Django: twice per user)."""
        if self.signed_in and self._signing_up is None:
            assert self.credentials is not None
            self._signing_up = asyncio.create_task(
                asyncio.to_thread(self.credentials.second_user))

    async def finish(self) -> None:
        """Wait for a sign-up still under way: the run does not end with a thread on the API."""
        if self._signing_up is not None:
            await self._signing_up

    async def has_second(self) -> bool:
        """Whether a second user can be had (open sign-up; signed up on first use)."""
        await self.finish()  # then second_user() answers from what it made
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
