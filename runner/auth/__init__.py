"""Credentials for the API under test: a static header, basic auth, or a login flow (optionally
after registering a generated throwaway user), configured or worked out from the spec.

The runner logs in itself, with httpx against the API's base URL only, after the API is ready and
before the MCP server starts; the resulting headers reach the generated tools through a file the
wrapper rereads when it changes (`API_MCP_TEST_HEADERS_FILE`, see `Credentials`), so the LLM
agent can log in again or out mid-run, and an expiring JWT is renewed. What was done is recorded
for the report without any secret: method, path and status of each request, the header name and
scheme, never a token or password.

- plan.py: what the spec offers (sign-up, login, refresh, schemes, an operation to try on)
- user.py: the generated user and the bodies made for it
- tokens.py: what a login answer holds (token, refresh token, expiry, scheme, CSRF cookie)
- flow.py: the login flow (sign-up, login, choosing the credentials, renewal)
- session.py: one login's requests (the CSRF retry, each recorded with its secrets masked)
- credentials.py: the headers file and keeping it fresh
"""

from runner.auth.credentials import Credentials
from runner.auth.flow import AuthResult, authenticate, describe, renew
from runner.auth.plan import automatic_plan, configure_hint, find_operation, secured
from runner.auth.session import INTENT
from runner.auth.tokens import json_path
from runner.auth.user import ThrowawayUser, credentials_body, expand

__all__ = ["INTENT", "AuthResult", "Credentials", "ThrowawayUser", "authenticate",
           "automatic_plan", "configure_hint", "credentials_body", "describe", "expand",
           "find_operation", "json_path", "renew", "secured"]
