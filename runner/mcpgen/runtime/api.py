"""The API as the tools see it: one HTTP client owned by the server's lifespan, and one exchange
per call (sent, bounded in time and size, recorded, answered)."""

from __future__ import annotations

import asyncio
import os
import time
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import KW_ONLY, dataclass, field
from typing import Any, Protocol

import httpx

from . import answer
from .request import Operation, Parts, new_parts, operation_parts
from .settings import Credential, Settings

RETIRED_CLIENTS = 8  # clients replaced after a 5xx, kept open for calls still using them


class Hooks(Protocol):
    """What the test harness adds: headers that may change while running, and a call log."""

    def open(self) -> None: ...  # may raise OSError: the server does not start

    def close(self) -> None: ...

    def headers(self) -> Mapping[str, str]: ...  # may raise OSError: the call fails

    def record(self, call: dict[str, Any]) -> None: ...


@dataclass(eq=False)
class Api:
    """The API as the tools see it. Owns one HTTP client between `lifespan` enter and exit.

    `environ` (default: the process environment) and `transport` (default: the network) are
    for tests; `errors_as_results` answers every call with a record (the harness)."""

    default_base_url: str = ""
    credentials: tuple[Credential, ...] = ()
    _: KW_ONLY
    errors_as_results: bool = False
    hooks: Hooks | None = None
    environ: Mapping[str, str] | None = None
    transport: httpx.AsyncBaseTransport | None = None
    _settings: Settings | None = field(default=None, init=False, repr=False)
    _client: httpx.AsyncClient | None = field(default=None, init=False, repr=False)
    _retired: list[httpx.AsyncClient] = field(default_factory=list, init=False, repr=False)

    new_parts = staticmethod(new_parts)
    new_call = staticmethod(answer.new_call)

    @property
    def settings(self) -> Settings:
        if self._settings is None:
            raise RuntimeError("the API client is not open: run the server (its lifespan)")
        return self._settings

    def _environment(self) -> Mapping[str, str]:
        return os.environ if self.environ is None else self.environ

    @asynccontextmanager
    async def lifespan(self, server: Any = None) -> AsyncIterator[dict[str, Any]]:
        """FastMCP lifespan: settings from the environment, one client, closed at exit."""
        self._settings = Settings.from_environment(self._environment(), self.default_base_url)
        self._client = self._new_client()
        if self.hooks is not None:
            self.hooks.open()
        try:
            yield {}
        finally:
            if self.hooks is not None:
                self.hooks.close()
            client, self._client = self._client, None
            for retired in (*self._retired, client):
                if retired is not None:
                    await retired.aclose()
            self._retired.clear()

    def _new_client(self) -> httpx.AsyncClient:
        return httpx.AsyncClient(
            base_url=self.settings.base_url, follow_redirects=False,
            timeout=self.settings.timeout, transport=self.transport,
            # Drop idle connections before servers do (gunicorn after 2 s, uvicorn after 5 s):
            # a request sent on a connection the server is closing gets no answer at all.
            limits=httpx.Limits(keepalive_expiry=1.0),
        )

    async def _fresh_connections(self) -> None:
        """After a 5xx: servers often close that connection (uvicorn does after an unhandled
        exception, without saying `Connection: close`), and the next request sent on it would
        fail with no answer (ReadError), a failure that is not the API's."""
        if self.transport is not None:  # a transport of the caller's (tests): left as is
            return
        # The old client may still serve a concurrent call: closed later, at most a few kept.
        if self._client is not None:
            self._retired.append(self._client)
        self._client = self._new_client()
        while len(self._retired) > RETIRED_CLIENTS:
            await self._retired.pop(0).aclose()

    def add_defaults(self, parts: Parts) -> None:
        """What every request carries unless the call says otherwise: the settings' headers,
        the credentials, then the harness' headers (which may change while the server runs;
        a hook that cannot give them raises OSError and the call is not sent)."""
        defaults = Parts(url="", headers=dict(self.settings.headers))
        environ = self._environment()
        for credential in self.credentials:
            credential.apply(environ, defaults)
        if self.hooks is not None:
            defaults.headers.update(self.hooks.headers())
        given = {name.lower() for name in parts.headers} | parts.drop
        for name, value in defaults.headers.items():
            if name.lower() not in given:
                parts.headers[name] = value
        for key, value in defaults.params.items():
            parts.params.setdefault(key, value)
        for key, value in defaults.cookies.items():
            parts.cookies.setdefault(key, value)

    async def call(self, operation: Operation, arguments: dict[str, Any]) -> Any:
        """One tool call: `arguments` by Python name, None meaning omitted."""
        parts = operation_parts(operation, arguments, self.settings.base_url)
        recorded = {k: v for k, v in arguments.items() if v is not None}
        call = answer.new_call(operation.tool, operation.method, operation.path, recorded,
                               parts.url)
        return await self.exchange(call, operation.method, parts)

    async def exchange(self, call: dict[str, Any], method: str, parts: Parts) -> Any:
        """Send the request, complete and record `call`, answer the tool's caller."""
        settings = self.settings
        assert self._client is not None
        start = time.perf_counter()
        base = httpx.URL(settings.base_url)
        try:
            self.add_defaults(parts)
            cookie = "; ".join(f"{k}={v}" for k, v in parts.cookies.items())
            if cookie:
                parts.headers["Cookie"] = cookie
            request = self._client.build_request(
                method, parts.url, params=parts.params, headers=parts.headers,
                content=parts.content, data=parts.form, files=parts.files,
            )
            call["url"] = str(request.url)
            if request.url.netloc != base.netloc or request.url.scheme != base.scheme:
                raise httpx.InvalidURL(f"refusing to leave the base URL: {request.url}")
            # httpx's timeouts bound each network read, so a body that trickles in would never
            # time out: the timeout bounds the whole exchange.
            response, data, received, truncated = await asyncio.wait_for(
                self._fetch(request, settings.max_body), settings.timeout)
        except (httpx.HTTPError, httpx.InvalidURL, UnicodeEncodeError, TimeoutError,
                OSError) as exc:
            # UnicodeEncodeError: a header or cookie value that is not ASCII; OSError: the
            # harness cannot read the run's credentials.
            call["elapsed_ms"] = round((time.perf_counter() - start) * 1000, 3)
            call["error"] = (f"Timeout: no complete response within {settings.timeout:g} s"
                             if isinstance(exc, TimeoutError)
                             else f"{type(exc).__name__}: {exc}".rstrip(": "))
            self._record(call)
            return answer.failed(call, method, self.errors_as_results)
        call["elapsed_ms"] = round((time.perf_counter() - start) * 1000, 3)
        if response.status_code >= 500:
            await self._fresh_connections()
        body, is_json, body_text = answer.parse_body(
            data, response.headers.get("content-type", ""), response.charset_encoding, truncated)
        call.update(status_code=response.status_code, headers=dict(response.headers.items()),
                    body=body, body_is_json=is_json, body_truncated=truncated,
                    body_bytes=received)
        self._record(call)
        return answer.answered(call, method, body_text, settings.result_limit,
                               self.errors_as_results)

    async def _fetch(self, request: httpx.Request, limit: int
                     ) -> tuple[httpx.Response, bytes, int, bool]:
        """The response, at most `limit` bytes of its body, the bytes received, and whether
        the body was cut."""
        assert self._client is not None
        response = await self._client.send(request, stream=True)
        chunks = []
        received = 0
        try:
            async for chunk in response.aiter_bytes():
                chunks.append(chunk)
                received += len(chunk)
                if received > limit:
                    return response, b"".join(chunks)[:limit], received, True
        finally:
            await response.aclose()
        return response, b"".join(chunks), received, False

    def _record(self, call: dict[str, Any]) -> None:
        if self.hooks is not None:
            self.hooks.record(call)
