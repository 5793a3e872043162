"""A fake Select.Live: login form, session cookies, the dashboard pages and ``hfdata``, on 127.0.0.1.

Use it with pytest-aiohttp's ``aiohttp_server`` fixture::

    state = FakeSelectLive()
    server = await aiohttp_server(make_selectlive_app(state))
    account = SelectLiveAccount(session, EMAIL, PASSWORD, base_url=str(server.make_url("")))

or without it (for example from Home Assistant tests)::

    async with serve_selectlive(state) as base_url:
        ...

What it does, like the real service: ``POST /login`` with the ``email``/``pwd`` form sets a random
session cookie and redirects to ``/dashboard``; every ``/dashboard...`` request must carry a live session
cookie, or it is redirected to ``/login`` (or answered 401, see ``unauthenticated``). The knobs on
:class:`FakeSelectLive` make it fail the ways the real one does.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
import json
from pathlib import Path
import secrets
from typing import Any, Literal

from aiohttp import web

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "selectronic"
EMAIL = "owner@example.com"
PASSWORD = "correct horse"
SYSTEM = "1586"
SESSION_COOKIE = "sl_session"
BAD_LOGIN_PAGE = (
    "<html><body><form action='/login' method='post'>"
    "<p class='error'>Bad email address or password</p></form></body></html>"
)
LOGIN_PAGE = "<html><body><form action='/login' method='post'>Log in</form></body></html>"
HFDATA_NAMES = (
    "hfdata-1755437287",
    "hfdata-1755506270",
    "hfdata-1755686310",
    "hfdata-1755695427",
    "hfdata-1755728304",
)
"""The five real ``hfdata`` bodies in ``tests/fixtures/selectronic`` (in time order)."""


def load_hfdata(name: str = HFDATA_NAMES[0]) -> dict[str, Any]:
    """A real ``hfdata`` body, decoded (a fresh copy each call, so tests may change it)."""
    body: dict[str, Any] = json.loads((FIXTURES / f"{name}.json").read_text())
    return body


def load_html(name: str) -> str:
    """A hand-made HTML page of ``tests/fixtures/selectronic`` (``dashboard``, ``system-1586``)."""
    return (FIXTURES / f"{name}.html").read_text()


@dataclass
class FakeSelectLive:
    """The fake service's state: what it holds, what it has seen, and how it should misbehave."""

    accounts: dict[str, str] = field(default_factory=lambda: {EMAIL: PASSWORD})
    """email -> password."""
    systems: dict[str, dict[str, Any]] = field(default_factory=lambda: {SYSTEM: load_hfdata()})
    """system number -> the ``hfdata`` body it answers (replace it to move the system on)."""
    dashboard_html: str = field(default_factory=lambda: load_html("dashboard"))
    details_html: dict[str, str] = field(default_factory=lambda: {SYSTEM: load_html("system-1586")})
    """system number -> its ``/dashboard/{n}`` page."""

    # What it has seen.
    logins: int = 0
    """``POST /login`` requests, successful or not."""
    hfdata_requests: int = 0
    """``GET /dashboard/hfdata/{n}`` requests that reached the handler with a live session."""
    sessions: dict[str, str] = field(default_factory=dict)
    """Live session ids -> the email they belong to."""
    requests: list[tuple[str, str | None]] = field(default_factory=list)
    """Every request as (path, email of the session cookie it carried, or None)."""

    # How it should misbehave.
    fail_next: list[int | str] = field(default_factory=list)
    """Answers for the next requests (any path), popped one per request: an HTTP status (answered with
    a small HTML error page; 429 with ``Retry-After: 120``) or ``"hang"`` (never answers until
    :meth:`release`, so the client's timeout fires)."""
    unauthenticated: Literal["redirect", "401"] = "redirect"
    """How a dashboard request without a live session is answered: 302 to /login, or 401."""
    bad_login_mode: Literal["page", "redirect"] = "page"
    """How a wrong password is answered: the 200 error page, or a 302 back to /login."""
    refuse_sessions: bool = False
    """Accept logins but treat every session as expired (a login that does not help)."""
    html_instead_of_json: bool = False
    """Answer ``hfdata`` with an HTML page (status 200)."""
    truncate_json: bool = False
    """Answer ``hfdata`` with the first half of the JSON text."""
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def expire_sessions(self, mode: Literal["redirect", "401"] | None = None) -> None:
        """Forget every session, as the real service does after about 30 minutes.

        ``mode`` (optional) also sets how the next unauthenticated request is answered.
        """
        self.sessions.clear()
        if mode is not None:
            self.unauthenticated = mode

    def release(self) -> None:
        """Let every hanging request finish (call before stopping the server)."""
        self.released.set()


def make_selectlive_app(state: FakeSelectLive) -> web.Application:
    """The fake Select.Live as an aiohttp application serving ``state``."""

    def session_email(request: web.Request) -> str | None:
        sid = request.cookies.get(SESSION_COOKIE)
        return None if sid is None else state.sessions.get(sid)

    @web.middleware
    async def misbehave(
        request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
    ) -> web.StreamResponse:
        state.requests.append((request.path, session_email(request)))
        if state.fail_next:
            failure = state.fail_next.pop(0)
            if failure == "hang":
                await state.released.wait()
                return web.Response(status=504, text="released")
            headers = {"Retry-After": "120"} if failure == 429 else None
            return web.Response(
                status=int(failure),
                text=f"<html><body>Error {failure}</body></html>",
                content_type="text/html",
                headers=headers,
            )
        if request.path.startswith("/dashboard") and (
            state.refuse_sessions or session_email(request) is None
        ):
            if state.unauthenticated == "401":
                return web.Response(status=401, text=LOGIN_PAGE, content_type="text/html")
            raise web.HTTPFound("/login")
        return await handler(request)

    async def login_form(request: web.Request) -> web.Response:
        return web.Response(text=LOGIN_PAGE, content_type="text/html")

    async def login(request: web.Request) -> web.Response:
        state.logins += 1
        form = await request.post()
        email, password = str(form.get("email", "")), str(form.get("pwd", ""))
        if email not in state.accounts or state.accounts[email] != password:
            if state.bad_login_mode == "redirect":
                raise web.HTTPFound("/login")
            return web.Response(text=BAD_LOGIN_PAGE, content_type="text/html")
        sid = secrets.token_hex(16)
        state.sessions[sid] = email
        response = web.HTTPFound("/dashboard")
        response.set_cookie(SESSION_COOKIE, sid, path="/", httponly=True)
        raise response

    async def dashboard(request: web.Request) -> web.Response:
        return web.Response(text=state.dashboard_html, content_type="text/html")

    async def details(request: web.Request) -> web.Response:
        page = state.details_html.get(request.match_info["number"])
        if page is None:
            raise web.HTTPNotFound
        return web.Response(text=page, content_type="text/html")

    async def hfdata(request: web.Request) -> web.Response:
        state.hfdata_requests += 1
        body = state.systems.get(request.match_info["number"])
        if body is None:
            raise web.HTTPNotFound
        if state.html_instead_of_json:
            return web.Response(text=load_html("dashboard"), content_type="text/html")
        text = json.dumps(body, indent=1)
        if state.truncate_json:
            text = text[: len(text) // 2]
        return web.Response(text=text, content_type="application/json")

    app = web.Application(middlewares=[misbehave])
    app.router.add_get("/login", login_form)
    app.router.add_post("/login", login)
    app.router.add_get("/dashboard", dashboard)
    app.router.add_get(r"/dashboard/{number:\d+}", details)
    app.router.add_get(r"/dashboard/hfdata/{number:\d+}", hfdata)
    return app


@asynccontextmanager
async def serve_selectlive(state: FakeSelectLive) -> AsyncIterator[str]:
    """Serve the fake on 127.0.0.1 (a free port) and yield its base URL; hanging requests are released
    and the server stopped on exit."""
    runner = web.AppRunner(make_selectlive_app(state), handler_cancellation=True, shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        state.release()
        await runner.cleanup()
