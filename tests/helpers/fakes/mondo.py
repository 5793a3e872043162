"""A fake Mondo Power: an identity server and an API server on 127.0.0.1, speaking the real flow.

Identity server (like Mondo's IdentityServer):

* ``GET /Account/Login?ReturnUrl=...`` answers the login page with a hidden
  ``__RequestVerificationToken`` and sets an anti-forgery cookie that must come back with the form;
* ``POST /Account/Login`` checks the token against that cookie and the email and password; a wrong
  password answers the page again (200); a right one sets the identity cookie and redirects (302) to
  the ``ReturnUrl``;
* ``GET /connect/authorize`` needs the identity cookie (else 302 back to the login page) and checks the
  client, redirect URI, scope, ``response_type=code`` and an S256 ``code_challenge``; it answers 302 with
  the ``code`` and the caller's ``state`` in the ``Location`` (the redirect URI);
* ``POST /connect/token`` exchanges a code once (a reused code is ``invalid_grant``), checking the
  verifier's S256 against the challenge, or renews with a refresh token; access tokens expire after
  ``expires_in`` seconds (by ``time.time()``, so the ``freezer`` fixture moves them on).

API server: Bearer-protected ``/monitoring/organizations``, ``.../monitoringpointgroups``,
``/subcircuit/{group}`` and ``/liveusage/widget/{group}``, serving the bodies in
``tests/fixtures/mondo`` (replace them on :class:`FakeMondo` to move a site on); an expired or unknown
token is 401, a group the account may not read 403.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
import copy
from dataclasses import dataclass, field
from datetime import datetime, timedelta
import hashlib
import json
from pathlib import Path
import secrets
import time
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "mondo"
EMAIL = "owner@example.com"
PASSWORD = "correct horse"
ORG = "org-1"
GROUP = "6f1a2b3c-4d5e-4f60-8a9b-0c1d2e3f4a5b"
OTHER_GROUP = "0a9b8c7d-6e5f-4a3b-9c2d-1e0f9a8b7c6d"
FORBIDDEN_GROUP = "deadbeef-0000-4000-8000-000000000403"
CLIENT_ID = "platform.frontend"
REDIRECT_URI = "https://platform.mondopower.com.au/signin-callback"
SCOPE = "openid profile mondoapi offline_access"
ANTIFORGERY_COOKIE = ".AspNetCore.Antiforgery.mondo"
IDENTITY_COOKIE = ".AspNetCore.Identity.Application"


def load(name: str) -> dict[str, Any]:
    """A body of ``tests/fixtures/mondo`` (a fresh copy each call)."""
    body: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return body


def widget() -> dict[str, Any]:
    """The real ``/liveusage/widget`` body of 2026-09-11 (SOC 74 %, load 4.35 kW at 03:50:00Z)."""
    return load("liveusage-widget-2026-09-11")


def subcircuit() -> dict[str, Any]:
    """The hand-made ``/subcircuit`` body (five points)."""
    return load("subcircuit-synthetic")


def _s256(verifier: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()


def _login_page(token: str, error: str = "") -> str:
    return (
        "<html><body><form method='post' action='/Account/Login'>"
        f"<p class='error'>{error}</p>"
        "<input type='email' name='Email'><input type='password' name='Password'>"
        f'<input name="__RequestVerificationToken" type="hidden" value="{token}" />'
        "</form></body></html>"
    )


@dataclass
class _Code:
    challenge: str
    redirect_uri: str
    email: str
    used: bool = False


@dataclass
class FakeMondo:
    """The fake's state: accounts, sites, what it has seen, and how it should misbehave."""

    accounts: dict[str, str] = field(default_factory=lambda: {EMAIL: PASSWORD})
    organizations: list[dict[str, Any]] = field(
        default_factory=lambda: [{"id": ORG, "name": "Hillcrest household"}]
    )
    groups: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: {
            ORG: [
                {"id": GROUP, "name": "Hillcrest"},
                {"id": OTHER_GROUP, "name": "Hillcrest shed"},
                {"id": FORBIDDEN_GROUP, "name": "Neighbour"},
            ]
        }
    )
    subcircuits: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {GROUP: subcircuit(), OTHER_GROUP: subcircuit()}
    )
    widgets: dict[str, dict[str, Any]] = field(
        default_factory=lambda: {GROUP: widget(), OTHER_GROUP: widget()}
    )
    forbidden: set[str] = field(default_factory=lambda: {FORBIDDEN_GROUP})
    expires_in: int = 3600

    # What it has seen.
    login_posts: int = 0
    """``POST /Account/Login`` requests, successful or not."""
    logins: int = 0
    """Codes exchanged for tokens (completed logins)."""
    refreshes: int = 0
    api_requests: list[str] = field(default_factory=list)

    # Its live state.
    antiforgery: dict[str, str] = field(default_factory=dict)
    """cookie value -> the form token it goes with."""
    identity_sessions: dict[str, str] = field(default_factory=dict)
    codes: dict[str, _Code] = field(default_factory=dict)
    access_tokens: dict[str, tuple[str, float]] = field(default_factory=dict)
    """access token -> (email, expiry)."""
    refresh_tokens: dict[str, str] = field(default_factory=dict)

    # How it should misbehave.
    fail_next: list[int | str] = field(default_factory=list)
    """Answers for the next requests (any path): an HTTP status, or ``"hang"`` until :meth:`release`."""
    refuse_refresh: bool = False
    wrong_state: bool = False
    no_code: bool = False
    token_status: int | None = None
    reject_tokens: bool = False
    """The API refuses every token (401), fresh ones too."""
    """Answer ``/connect/token`` with this status (and a small text body) instead."""
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def move_on(self, seconds: int = 120, group: str = GROUP) -> None:
        """Advance a site's ``lastRecordedUtc`` by ``seconds``."""
        body = self.widgets[group]
        moment = datetime.fromisoformat(body["lastRecordedUtc"].replace("Z", "+00:00"))
        body["lastRecordedUtc"] = (moment + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")

    def expire_tokens(self) -> None:
        """Make every access token expired (the refresh tokens still work)."""
        self.access_tokens = {token: (email, 0.0) for token, (email, _) in self.access_tokens.items()}

    def release(self) -> None:
        """Let every hanging request finish."""
        self.released.set()


def _misbehave(state: FakeMondo) -> Callable[..., Awaitable[web.StreamResponse]]:
    @web.middleware
    async def middleware(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        if state.fail_next:
            failure = state.fail_next.pop(0)
            if failure == "hang":
                await state.released.wait()
                return web.Response(status=504, text="released")
            headers = {"Retry-After": "300"} if failure == 429 else None
            return web.Response(status=int(failure), text=f"Error {failure}", headers=headers)
        return await handler(request)

    return middleware


def make_identity_app(state: FakeMondo) -> web.Application:
    """The fake identity server."""

    async def login_page(request: web.Request) -> web.Response:
        token = secrets.token_urlsafe(24)
        cookie = secrets.token_hex(16)
        state.antiforgery[cookie] = token
        response = web.Response(text=_login_page(token), content_type="text/html")
        response.set_cookie(ANTIFORGERY_COOKIE, cookie, httponly=True, path="/")
        return response

    async def login(request: web.Request) -> web.Response:
        state.login_posts += 1
        form = await request.post()
        cookie = request.cookies.get(ANTIFORGERY_COOKIE, "")
        if not cookie or state.antiforgery.get(cookie) != form.get("__RequestVerificationToken"):
            return web.Response(status=400, text="Bad antiforgery token")
        email, password = str(form.get("Email", "")), str(form.get("Password", ""))
        if state.accounts.get(email) != password or not password:
            return web.Response(
                text=_login_page(state.antiforgery[cookie], "Invalid login attempt"), content_type="text/html"
            )
        session = secrets.token_hex(16)
        state.identity_sessions[session] = email
        response = web.HTTPFound(str(form.get("ReturnUrl") or request.query.get("ReturnUrl", "/")))
        response.set_cookie(IDENTITY_COOKIE, session, httponly=True, path="/")
        raise response

    async def authorize(request: web.Request) -> web.Response:
        query = request.query
        email = state.identity_sessions.get(request.cookies.get(IDENTITY_COOKIE, ""))
        if email is None:
            raise web.HTTPFound("/Account/Login?" + urlencode({"ReturnUrl": str(request.rel_url)}))
        if (
            query.get("client_id") != CLIENT_ID
            or query.get("redirect_uri") != REDIRECT_URI
            or query.get("response_type") != "code"
            or set(query.get("scope", "").split()) != set(SCOPE.split())
            or query.get("code_challenge_method") != "S256"
            or len(query.get("code_challenge", "")) != 43
        ):
            return web.Response(status=400, text="invalid_request")
        code = secrets.token_hex(16)
        state.codes[code] = _Code(query["code_challenge"], query["redirect_uri"], email)
        answer: dict[str, str] = {"scope": SCOPE, "session_state": secrets.token_hex(8)}
        if not state.no_code:
            answer["code"] = code
        answer["state"] = "someone-else" if state.wrong_state else query.get("state", "")
        raise web.HTTPFound(f"{REDIRECT_URI}?{urlencode(answer)}")

    def tokens(email: str) -> web.Response:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        state.access_tokens[access] = (email, time.time() + state.expires_in)
        state.refresh_tokens[refresh] = email
        return web.json_response(
            {
                "access_token": access,
                "expires_in": state.expires_in,
                "token_type": "Bearer",
                "refresh_token": refresh,
                "scope": SCOPE,
                "id_token": "header.payload.signature",
            }
        )

    async def token(request: web.Request) -> web.Response:
        form = await request.post()
        if state.token_status is not None:
            return web.Response(status=state.token_status, text="token endpoint trouble")
        if form.get("client_id") != CLIENT_ID:
            return web.json_response({"error": "invalid_client"}, status=400)
        if form.get("grant_type") == "authorization_code":
            code = state.codes.get(str(form.get("code", "")))
            if code is None or code.used:
                return web.json_response({"error": "invalid_grant"}, status=400)
            code.used = True
            if (
                code.redirect_uri != form.get("redirect_uri")
                or _s256(str(form.get("code_verifier", ""))) != code.challenge
            ):
                return web.json_response({"error": "invalid_grant"}, status=400)
            state.logins += 1
            return tokens(code.email)
        if form.get("grant_type") == "refresh_token":
            email = state.refresh_tokens.pop(str(form.get("refresh_token", "")), None)
            if email is None or state.refuse_refresh:
                return web.json_response({"error": "invalid_grant"}, status=400)
            state.refreshes += 1
            return tokens(email)
        return web.json_response({"error": "unsupported_grant_type"}, status=400)

    app = web.Application(middlewares=[_misbehave(state)])
    app.router.add_get("/Account/Login", login_page)
    app.router.add_post("/Account/Login", login)
    app.router.add_get("/connect/authorize", authorize)
    app.router.add_post("/connect/token", token)
    return app


def make_api_app(state: FakeMondo) -> web.Application:
    """The fake API server."""

    @web.middleware
    async def bearer(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        state.api_requests.append(request.path)
        auth = request.headers.get("Authorization", "")
        found = state.access_tokens.get(auth.removeprefix("Bearer "))
        if state.reject_tokens or not auth.startswith("Bearer ") or found is None or found[1] <= time.time():
            return web.json_response({"message": "Unauthorized"}, status=401)
        return await handler(request)

    def group_body(request: web.Request, bodies: dict[str, dict[str, Any]]) -> web.Response:
        group = request.match_info["group"]
        if group in state.forbidden:
            return web.json_response({"message": "Forbidden"}, status=403)
        if group not in bodies:
            return web.json_response({"message": "Not found"}, status=404)
        return web.json_response(copy.deepcopy(bodies[group]))

    async def organizations(request: web.Request) -> web.Response:
        return web.json_response(state.organizations)

    async def groups(request: web.Request) -> web.Response:
        org = request.match_info["org"]
        if org not in state.groups:
            return web.json_response({"message": "Forbidden"}, status=403)
        return web.json_response(state.groups[org])

    async def subcircuit_handler(request: web.Request) -> web.Response:
        return group_body(request, state.subcircuits)

    async def widget_handler(request: web.Request) -> web.Response:
        return group_body(request, state.widgets)

    app = web.Application(middlewares=[_misbehave(state), bearer])
    app.router.add_get("/monitoring/organizations", organizations)
    app.router.add_get("/monitoring/organizations/{org}/monitoringpointgroups", groups)
    app.router.add_get("/subcircuit/{group}", subcircuit_handler)
    app.router.add_get("/liveusage/widget/{group}", widget_handler)
    return app


@asynccontextmanager
async def _serve(app: web.Application) -> AsyncIterator[tuple[web.AppRunner, str]]:
    runner = web.AppRunner(app, handler_cancellation=True, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield runner, f"http://{host}:{port}"
    finally:
        await runner.cleanup()


@asynccontextmanager
async def serve_mondo(state: FakeMondo) -> AsyncIterator[tuple[str, str]]:
    """Serve the identity and API servers on 127.0.0.1; yield their base URLs (identity, API)."""
    async with _serve(make_identity_app(state)) as (_, identity), _serve(make_api_app(state)) as (_, api):
        try:
            yield identity, api
        finally:
            state.release()
