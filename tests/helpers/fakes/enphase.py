"""A fake Enphase: the OAuth2 authorize/token endpoints and the Enlighten API v4, on 127.0.0.1.

What it does, like the real service (``docs/vendors.md``, *Enphase (API v4)*):

* ``POST /oauth/token`` wants HTTP Basic client authentication. ``grant_type=authorization_code`` with
  the good code, or ``grant_type=refresh_token`` with the current refresh token, issues a new access
  token and a new refresh token; the old refresh token is dead from then on (rotation), and a dead one
  is answered ``400 invalid_grant``. ``token_failures`` answers 503 that many times first.
* Every ``/api/v4`` call must carry a live ``Authorization: Bearer`` token (401 otherwise) and the
  application's API key in the ``key`` header (401 otherwise). Each counts against the key's quota:
  over ``per_minute`` or ``per_month`` it answers 429 with the window's ``period`` and no
  ``Retry-After``. ``api_failures`` answers 503 that many times first.
* ``GET /api/v4/systems`` lists ``systems``; ``GET .../telemetry/production_micro`` serves the real day's
  intervals shifted onto any day (``interval_for``): without parameters today's so far (by the fake's
  clock, ``time.time()``, which the tests' freezer moves), with ``start_at``/``end_at``/``granularity``
  one day; a day that has not started yet is 422. An interval uploads ``UPLOAD_DELAY`` after its end;
  ``withheld`` ends are late (left out until removed from the set).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
import json
from pathlib import Path
import secrets
import time
from typing import Any

from aiohttp import BasicAuth, web

FIXTURES = Path(__file__).resolve().parents[2] / "fixtures" / "enphase"
DAY_FILE = FIXTURES / "production_micro-364880-2025-09-04.json"
CLIENT_ID = "enphase-client"
CLIENT_SECRET = "enphase-secret"
API_KEY = "enphase-api-key"
GOOD_CODE = "good-code"
SYSTEM_ID = "364880"
OFFSET_S = 36_000
"""The real day's system is at UTC+10 (Australia/Brisbane, no DST)."""
UPLOAD_DELAY = 600


def load_day() -> dict[str, Any]:
    """The real ``production_micro`` day body (a fresh copy)."""
    body: dict[str, Any] = json.loads(DAY_FILE.read_text())
    return body


def system_body(system_id: str = SYSTEM_ID, name: str = "Home solar") -> dict[str, Any]:
    """One system as ``GET /api/v4/systems`` lists it."""
    return {
        "system_id": int(system_id),
        "name": name,
        "public_name": "Residential System",
        "timezone": "Australia/Brisbane",
        "address": {"city": "Brisbane", "state": "QLD", "country": "AU", "postal_code": "4000"},
        "connection_type": "ethernet",
        "energy_lifetime": 1,
        "energy_today": 1,
        "system_size": 12_500,
        "status": "normal",
        "last_report_at": 1757323103,
        "last_energy_at": 1757322772,
        "operational_at": 1402001700,
        "attachment_type": None,
        "interconnect_date": None,
        "reference": None,
        "other_references": [],
    }


@dataclass
class FakeEnphase:
    """The fake's state and knobs."""

    systems: list[dict[str, Any]] = field(default_factory=lambda: [system_body()])
    per_minute: int = 10
    per_month: int = 1000
    token_failures: int = 0
    token_body: str | None = None
    """A 200 body the token endpoint answers instead of a token (a broken proxy), when set; ``"DROP"``
    closes the connection instead."""
    api_failures: int = 0
    expires_in: int = 86_400
    withheld: set[int] = field(default_factory=set)
    access_tokens: set[str] = field(default_factory=set)
    refresh_token: str | None = None
    token_requests: list[dict[str, str]] = field(default_factory=list)
    api_calls: list[tuple[float, str, dict[str, str]]] = field(default_factory=list)
    refused: list[int] = field(default_factory=list)
    month_used: dict[str, int] = field(default_factory=dict)
    minute_used: dict[int, int] = field(default_factory=dict)
    _day: list[dict[str, Any]] = field(default_factory=lambda: load_day()["intervals"])

    def issue_token(self) -> dict[str, Any]:
        """Issue a token pair (the previous refresh token dies)."""
        access, refresh = secrets.token_hex(8), secrets.token_hex(8)
        self.access_tokens.add(access)
        self.refresh_token = refresh
        return {
            "access_token": access,
            "refresh_token": refresh,
            "token_type": "bearer",
            "expires_in": self.expires_in,
        }

    def interval_for(self, end: int) -> dict[str, Any]:
        """The real day's interval at the same local time of day as ``end``."""
        index = ((end + OFFSET_S) % 86_400) // 300 - 1
        return {**self._day[index], "end_at": end}

    async def _token(self, request: web.Request) -> web.Response:
        form = {k: str(v) for k, v in (await request.post()).items()}
        self.token_requests.append(form)
        if self.token_failures > 0:
            self.token_failures -= 1
            return web.json_response({"error": "temporarily_unavailable"}, status=503)
        if self.token_body == "DROP":  # the connection drops without an answer
            assert request.transport is not None
            request.transport.close()
            return web.Response()
        if self.token_body is not None:
            return web.Response(text=self.token_body, content_type="application/json")
        try:
            auth = BasicAuth.decode(request.headers.get("Authorization", ""))
        except ValueError:
            return web.json_response({"error": "invalid_client"}, status=401)
        if (
            (auth.login, auth.password) != (CLIENT_ID, CLIENT_SECRET)
            or "client_secret" in form
            or "client_id" in form
        ):
            return web.json_response({"error": "invalid_client"}, status=401)
        grant = form.get("grant_type")
        if grant == "authorization_code" and form.get("code") == GOOD_CODE:
            return web.json_response(self.issue_token())
        if grant == "refresh_token" and form.get("refresh_token") == self.refresh_token:
            return web.json_response(self.issue_token())
        return web.json_response(
            {"error": "invalid_grant", "error_description": "Invalid refresh token"}, status=400
        )

    def _quota(self, now: float) -> web.Response | None:
        month = time.strftime("%Y-%m", time.gmtime(now))
        minute = int(now // 60)
        if self.minute_used.get(minute, 0) >= self.per_minute:
            body = {
                "message": "Too Many Requests",
                "details": "Usage limit exceeded for plan Watt",
                "code": 429,
                "period": "minute",
                "period_start": minute * 60,
                "period_end": minute * 60 + 60,
                "limit": self.per_minute,
            }
            return web.json_response(body, status=429)
        if self.month_used.get(month, 0) >= self.per_month:
            body = {
                "message": "Too Many Requests",
                "details": "Usage limit exceeded for plan Watt",
                "code": 429,
                "period": "month",
                "limit": self.per_month,
            }
            return web.json_response(body, status=429)
        self.minute_used[minute] = self.minute_used.get(minute, 0) + 1
        self.month_used[month] = self.month_used.get(month, 0) + 1
        return None

    @web.middleware
    async def _api(self, request: web.Request, handler: Any) -> web.StreamResponse:
        if not request.path.startswith("/api/"):
            return await handler(request)
        now = time.time()
        self.api_calls.append((now, request.path, dict(request.query)))
        bearer = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if request.headers.get("key") != API_KEY or bearer not in self.access_tokens:
            self.refused.append(401)
            return web.json_response({"message": "Not Authorized"}, status=401)
        if (limited := self._quota(now)) is not None:
            self.refused.append(429)
            return limited
        if self.api_failures > 0:
            self.api_failures -= 1
            return web.json_response({"message": "Service Unavailable"}, status=503)
        return await handler(request)

    async def _systems(self, request: web.Request) -> web.Response:
        return web.json_response(
            {
                "total": len(self.systems),
                "current_page": 1,
                "size": 100,
                "count": len(self.systems),
                "items": "systems",
                "systems": self.systems,
            }
        )

    async def _production(self, request: web.Request) -> web.Response:
        now = int(time.time())
        query = request.query
        if "start_at" in query:
            start, end = int(query["start_at"]), int(query["end_at"])
            if start > now:
                self.refused.append(422)
                return web.json_response(
                    {"message": "Unprocessable Entity", "details": "Requested date range is invalid"},
                    status=422,
                )
        else:
            start = (now + OFFSET_S) // 86_400 * 86_400 - OFFSET_S
            end = start + 86_400
        ends = [
            e for e in range(start + 300, end + 1, 300) if e + UPLOAD_DELAY <= now and e not in self.withheld
        ]
        body = load_day()
        body.update(
            system_id=int(request.match_info["system_id"]),
            start_at=start,
            end_at=end,
            intervals=[self.interval_for(e) for e in ends],
        )
        return web.json_response(body)

    def app(self) -> web.Application:
        """The aiohttp application."""
        app = web.Application(middlewares=[self._api])
        app.router.add_post("/oauth/token", self._token)
        app.router.add_get("/api/v4/systems", self._systems)
        app.router.add_get("/api/v4/systems/{system_id}/telemetry/production_micro", self._production)
        return app


@asynccontextmanager
async def serve_enphase(state: FakeEnphase) -> AsyncIterator[str]:
    """Serve the fake on 127.0.0.1 (a free port) and yield its base URL."""
    runner = web.AppRunner(state.app(), shutdown_timeout=1)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    try:
        yield f"http://{host}:{port}"
    finally:
        await runner.cleanup()
