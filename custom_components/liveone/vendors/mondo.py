"""The ``mondo`` vendor: a Mondo Power site (a monitoring-point group) read through Mondo's cloud API.

The protocol is in docs/vendors.md (Mondo Power). In short:

* :class:`MondoAccount` logs in with the OpenID Connect authorization-code flow and PKCE against Mondo's
  identity server: ``GET /Account/Login`` (the hidden ``__RequestVerificationToken`` and the cookies it
  sets), ``POST /Account/Login``, ``GET /connect/authorize`` (a fresh verifier and a random ``state`` per
  login; the ``code`` comes back in the ``Location`` of a redirect, and its ``state`` must be ours), then
  ``POST /connect/token``. The access token is kept until shortly before it expires, then renewed with the
  refresh token; the account logs in again only when the refresh is refused. One account (one token)
  serves every monitoring-point group it can read.
* Every poll reads ``GET /subcircuit/{group}`` (one row per monitoring point) and
  ``GET /liveusage/widget/{group}`` (site load, solar, battery, grid, battery SOC and the vendor's own
  measurement time). :func:`parse_subcircuit` and :func:`parse_widget` are pure functions of the bodies.
* Signs: the one real widget body balances as solar + grid = load + battery, so there battery positive
  is *charging* and grid positive is *import*. :func:`widget_reading` converts to LiveOne's signs
  (battery negative = charging), checking the balance; if the vendor's convention ever differs (the
  documented one does not balance but another does), the one that balances is used and said so.
* Lifetime energy totals: Mondo sends one cumulative counter per point, which cannot tell import from
  export; :func:`with_totals` keeps the six flows' totals by integrating power between polls (the
  aggregation's rule 3, docs/aggregation.md), and takes solar's from the solar points' counters.

Nothing here imports Home Assistant.
"""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
import hashlib
from html.parser import HTMLParser
import json
import math
import secrets
import time
from typing import Any, Final
from urllib.parse import parse_qs, urlencode, urljoin, urlsplit

import aiohttp

from .model import AuthError, ConnectError, InvalidResponse, PointReading, RateLimited, Reading, VendorError

IDENTITY_URL: Final = "https://identity.mondopower.com.au"
API_URL: Final = "https://api.mondopower.com.au"
CLIENT_ID: Final = "platform.frontend"
SCOPE: Final = "openid profile mondoapi offline_access"
REDIRECT_URI: Final = "https://platform.mondopower.com.au/signin-callback"
TOKEN_MARGIN: Final = 120
"""Seconds before its expiry that an access token is renewed (a poll never starts with a dying token)."""
MAX_SEGMENT: Final = 600
"""A gap between two polls longer than this (s) adds no energy (as the aggregation's power integral)."""
BALANCE_TOLERANCE_W: Final = 50.0
BALANCE_TOLERANCE_SHARE: Final = 0.02
"""A reading balances when solar + battery + grid - load is within 50 W or 2 % of its largest flow."""

SUBSYSTEMS: Final[Mapping[str, str]] = {
    "PvInverter": "solar",
    "HybridPv": "solar",
    "HybridBattery": "battery",
    "GateMeter": "grid",
    "Hybridinverter": "inverter",
    "Other": "load",
}
"""``loadType`` -> the point's ``subsystem`` (an unknown type has none)."""

_REDIRECTS: Final = frozenset({301, 302, 303, 307, 308})


class SiteForbidden(VendorError):
    """The account may not read this monitoring-point group (the API answered 403)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class MondoGroup:
    """A monitoring-point group (one site) of one of the account's organisations."""

    id: str
    name: str
    organization_id: str
    organization: str


@dataclass(frozen=True, kw_only=True, slots=True)
class MondoPoint:
    """One ``/subcircuit`` row: a monitoring point and its current values."""

    point_id: str
    name: str
    load_type: str | None
    power_w: float | None
    energy_wh: float | None

    @property
    def subsystem(self) -> str | None:
        """The point's subsystem from its ``loadType`` (docs/vendors.md, Monitoring points)."""
        return None if self.load_type is None else SUBSYSTEMS.get(self.load_type)


@dataclass(frozen=True, kw_only=True, slots=True)
class MondoLive:
    """One poll of a group: the system reading, the points and the raw bodies."""

    reading: Reading
    """The system reading in LiveOne's signs (no lifetime totals yet: see :func:`with_totals`)."""
    points: tuple[MondoPoint, ...]
    time_from_vendor: bool
    """Whether ``reading.inverter_time`` is the vendor's ``lastRecordedUtc`` (not the wall clock)."""
    signs: tuple[int, int]
    """The (battery, grid) factors used: ``(-1, 1)`` is the documented convention."""
    problems: tuple[str, ...]
    body: str

    def point_readings(self) -> tuple[PointReading, ...]:
        """Each point as two ``point_readings`` values (power W, energy Wh) at the reading's time."""
        return point_readings(self.points, self.reading.inverter_time * 1000)


# --------------------------------------------------------------------------------------------------
# Pure parsing


def pkce_pair() -> tuple[str, str]:
    """Return a fresh PKCE ``(verifier, S256 challenge)`` (RFC 7636)."""
    verifier = secrets.token_urlsafe(48)
    return verifier, s256(verifier)


def s256(verifier: str) -> str:
    """Return the S256 code challenge of a verifier: base64url(sha256(verifier)) without padding."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class _TokenFinder(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.token: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "input" and values.get("name") == "__RequestVerificationToken" and self.token is None:
            self.token = values.get("value")


def parse_verification_token(html: str) -> str:
    """Return the login page's hidden ``__RequestVerificationToken``.

    Raises:
        InvalidResponse: the page has none.

    """
    finder = _TokenFinder()
    finder.feed(html)
    if not finder.token:
        raise InvalidResponse("Mondo login page: no __RequestVerificationToken")
    return finder.token


def _text(row: Mapping[str, Any], key: str) -> str | None:
    value = row.get(key)
    return value if isinstance(value, str) and value else None


def _number(value: Any) -> float | None:
    """Return a JSON number as a float; ``None`` for null, a string, a boolean or anything else."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def parse_subcircuit(body: Any) -> tuple[MondoPoint, ...]:
    """Turn a decoded ``/subcircuit/{group}`` body into its points (docs/vendors.md, Monitoring points).

    A row without a ``monitoringPointId`` is skipped; a value that is not a number is ``None``.

    Raises:
        InvalidResponse: the body is not an object with a ``rows`` list.

    """
    if not isinstance(body, dict) or not isinstance(body.get("rows"), list):
        raise InvalidResponse("subcircuit: expected an object with a 'rows' list")
    points: list[MondoPoint] = []
    for row in body["rows"]:
        if not isinstance(row, dict) or (point_id := _text(row, "monitoringPointId")) is None:
            continue
        points.append(
            MondoPoint(
                point_id=point_id,
                name=_text(row, "monitoringPointName") or point_id,
                load_type=_text(row, "loadType"),
                power_w=_number(row.get("energyNowW")),
                energy_wh=_number(row.get("totalEnergyWh")),
            )
        )
    return tuple(points)


def parse_time(value: Any) -> int | None:
    """``lastRecordedUtc`` (ISO 8601, UTC) as Unix seconds; ``None`` when missing or unparseable."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        return None
    return math.floor(moment.timestamp())


def imbalance_w(reading: Reading) -> float | None:
    """Return solar + battery + grid - load (W) in LiveOne's signs; ``None`` without all four values."""
    values = (reading.solar_w, reading.battery_w, reading.grid_w, reading.load_w)
    if any(value is None for value in values):
        return None
    solar, battery, grid, load = (float(value) for value in values if value is not None)
    return solar + battery + grid - load


def balances(reading: Reading) -> bool:
    """Whether a reading's flows balance (see :data:`BALANCE_TOLERANCE_W`); unknown counts as yes."""
    residual = imbalance_w(reading)
    if residual is None:
        return True
    largest = max(abs(reading.solar_w or 0), abs(reading.battery_w or 0), abs(reading.grid_w or 0))
    return abs(residual) <= max(
        BALANCE_TOLERANCE_W, BALANCE_TOLERANCE_SHARE * max(largest, abs(reading.load_w or 0))
    )


DOCUMENTED_SIGNS: Final = (-1, 1)
"""(battery, grid) factors of the documented convention: the vendor's battery + is charging, grid + import."""
_SIGN_CHOICES: Final = (DOCUMENTED_SIGNS, (1, 1), (-1, -1), (1, -1))
"""(battery, grid) factors from the vendor's values to LiveOne's, the documented convention first."""


def widget_reading(body: Any, *, now: float) -> tuple[Reading, bool, tuple[int, int], tuple[str, ...]]:
    """Turn a decoded ``/liveusage/widget/{group}`` body into a system reading (docs/vendors.md).

    ``inverter_time`` is ``lastRecordedUtc`` (``now`` only when it is missing or unparseable); load is
    ``demand``, solar, battery and grid ``liveUsageData.*.value`` (kW to W); SOC is
    ``battery.stateOfCharge`` as sent (the store's check refuses a string or a non-finite value and
    says so; a real 0 % is kept). Battery and grid get the first sign convention of
    :data:`_SIGN_CHOICES` that balances (the documented one when several do, or none does).

    Returns the reading, whether its time is the vendor's, the (battery, grid) factors used, and the
    problems found (values that are not numbers).

    Raises:
        InvalidResponse: the body is not an object.

    """
    if not isinstance(body, dict):
        raise InvalidResponse("liveusage: expected a JSON object")
    problems: list[str] = []
    usage = body.get("liveUsageData")
    usage = usage if isinstance(usage, dict) else {}

    def kw(value: Any, name: str) -> float | None:
        if value is None:
            return None
        number = _number(value)
        if number is None:
            problems.append(f"{name}={value!r:.40}: not a number")
            return None
        return number * 1000

    def part(name: str) -> Mapping[str, Any]:
        value = usage.get(name)
        return value if isinstance(value, dict) else {}

    vendor_time = parse_time(body.get("lastRecordedUtc"))
    if vendor_time is None:
        problems.append(
            f"lastRecordedUtc={body.get('lastRecordedUtc')!r:.40}: not a time; the wall clock is used"
        )
    battery = kw(part("battery").get("value"), "battery")
    grid = kw(part("grid").get("value"), "grid")
    base = Reading(
        inverter_time=vendor_time if vendor_time is not None else math.floor(now),
        solar_w=kw(part("solar").get("value"), "solar"),
        load_w=kw(body.get("demand"), "demand"),
        battery_soc=part("battery").get("stateOfCharge"),
    )
    choice = _SIGN_CHOICES[0]
    for candidate in _SIGN_CHOICES:
        trial = _signed(base, battery, grid, candidate)
        if balances(trial):
            choice = candidate
            break
    return _signed(base, battery, grid, choice), vendor_time is not None, choice, tuple(problems)


def _signed(base: Reading, battery: float | None, grid: float | None, signs: tuple[int, int]) -> Reading:
    return replace(
        base,
        battery_w=None if battery is None else battery * signs[0] + 0.0,
        grid_w=None if grid is None else grid * signs[1] + 0.0,
    )


def point_readings(points: tuple[MondoPoint, ...], measured_ms: int) -> tuple[PointReading, ...]:
    """Each point as its ``power`` (W) and ``energy`` (Wh) values; a missing value is an error value."""
    values: list[PointReading] = []
    for point in points:
        for sub, metric, unit, value in (
            ("power", "power", "W", point.power_w),
            ("energy", "energy", "Wh", point.energy_wh),
        ):
            values.append(
                PointReading(
                    point_id=point.point_id,
                    point_sub_id=sub,
                    name=point.name,
                    metric_type=metric,
                    metric_unit=unit,
                    measurement_time_ms=measured_ms,
                    value=value if value is None or math.isfinite(value) else None,
                    subsystem=point.subsystem,
                    error=None if value is not None and math.isfinite(value) else "no value",
                    data_quality="good" if value is not None and math.isfinite(value) else "error",
                )
            )
    return tuple(values)


def solar_counter_kwh(points: tuple[MondoPoint, ...]) -> float | None:
    """Return the solar points' cumulative counters summed (kWh); ``None`` unless every solar point has one."""
    solar = [point.energy_wh for point in points if point.subsystem == "solar"]
    if not solar or any(value is None or not math.isfinite(value) or value < 0 for value in solar):
        return None
    return sum(value for value in solar if value is not None) / 1000


def _split_wh(start: float, end: float, seconds: float) -> tuple[float, float]:
    """Return the trapezoid energy (Wh) of a linear power segment, as (positive part, negative part magnitude)."""
    if start >= 0 and end >= 0:
        return (start + end) / 2 * seconds / 3600, 0.0
    if start <= 0 and end <= 0:
        return 0.0, -(start + end) / 2 * seconds / 3600
    crossing = seconds * abs(start) / (abs(start) + abs(end))
    first = abs(start) / 2 * crossing / 3600
    second = abs(end) / 2 * (seconds - crossing) / 3600
    return (first, second) if start > 0 else (second, first)


def with_totals(previous: Reading | None, reading: Reading, solar_kwh: float | None) -> Reading:
    """Return ``reading`` with the six lifetime totals (kWh), carried on from ``previous``.

    Each flow's total is the previous total plus the trapezoid integral of its power since the previous
    reading (battery and grid split by sign at zero crossings), as the aggregation's power integral
    does; a gap longer than :data:`MAX_SEGMENT`, a repeated time or a missing power adds nothing. Solar's
    total is the solar points' counters when they give one. The first reading of a system starts at 0.
    """

    def before(column: str) -> float:
        value = None if previous is None else getattr(previous, column)
        return 0.0 if value is None else float(value)

    seconds = 0 if previous is None else reading.inverter_time - previous.inverter_time
    gained: dict[str, float] = dict.fromkeys(
        ("solar", "load", "battery_in", "battery_out", "grid_in", "grid_out"), 0.0
    )
    if previous is not None and 0 < seconds <= MAX_SEGMENT:
        for power, positive, negative in (
            ("solar_w", "solar", None),
            ("load_w", "load", None),
            ("battery_w", "battery_out", "battery_in"),
            ("grid_w", "grid_in", "grid_out"),
        ):
            start, end = getattr(previous, power), getattr(reading, power)
            if start is None or end is None:
                continue
            up, down = _split_wh(float(start), float(end), seconds)
            gained[positive] += up
            if negative is not None:
                gained[negative] += down

    def total(flow: str) -> float:
        return before(f"{flow}_kwh_total") + gained[flow] / 1000

    return replace(
        reading,
        solar_kwh_total=total("solar") if solar_kwh is None else solar_kwh,
        load_kwh_total=total("load"),
        battery_in_kwh_total=total("battery_in"),
        battery_out_kwh_total=total("battery_out"),
        grid_in_kwh_total=total("grid_in"),
        grid_out_kwh_total=total("grid_out"),
    )


# --------------------------------------------------------------------------------------------------
# The client


@dataclass(slots=True)
class _Token:
    access: str
    refresh: str | None
    expires_at: float


class MondoAccount:
    """One Mondo Power account: its login, its token, and the API calls of its groups."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        email: str,
        password: str,
        *,
        identity_url: str = IDENTITY_URL,
        api_url: str = API_URL,
        timeout: float = 30,
    ) -> None:
        """Keep the credentials; nothing is sent until the first call."""
        self._session = session
        self._email = email
        self._password = password
        self._identity = identity_url.rstrip("/")
        self._api = api_url.rstrip("/")
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._token: _Token | None = None
        self._lock = asyncio.Lock()
        self.logins = 0
        """Completed logins (the full code flow), for diagnostics and tests."""
        self.refreshes = 0
        """Access tokens renewed with the refresh token."""

    @property
    def email(self) -> str:
        """The account's email."""
        return self._email

    # ---- HTTP

    async def _request(
        self,
        method: str,
        url: str,
        *,
        cookies: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> tuple[int, Mapping[str, str], str]:
        """Send one request (no redirects followed); return status, headers and text.

        Cookies set by the answer go into ``cookies`` (an account's own jar for one login).
        """
        headers: dict[str, str] = kwargs.pop("headers", {})
        if cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in cookies.items())
        try:
            async with self._session.request(
                method, url, headers=headers, allow_redirects=False, timeout=self._timeout, **kwargs
            ) as response:
                text = await response.text()
                if cookies is not None:
                    for name, morsel in response.cookies.items():
                        cookies[name] = morsel.value
                status = response.status
                answer_headers = dict(response.headers)
        except (TimeoutError, aiohttp.ClientError) as err:
            raise ConnectError(f"Mondo could not be reached ({urlsplit(url).path}): {err!r}") from err
        if status == 429:
            retry = answer_headers.get("Retry-After")
            raise RateLimited(
                "Mondo answered 429 (too many requests)",
                retry_after=float(retry) if retry and retry.isdigit() else None,
            )
        if status >= 500:
            raise ConnectError(f"Mondo answered {status} for {urlsplit(url).path}")
        return status, answer_headers, text

    # ---- Login and token

    async def async_login(self) -> None:
        """Log in with the code flow and PKCE (docs/vendors.md, Login); keep the tokens.

        Raises:
            AuthError: the email or password was refused.
            ConnectError, RateLimited: Mondo could not be reached or is busy.
            InvalidResponse: a step answered in a way the flow does not expect.

        """
        async with self._lock:
            await self._async_login()

    async def _async_login(self) -> None:
        jar: dict[str, str] = {}
        verifier, challenge = pkce_pair()
        state = secrets.token_urlsafe(24)
        authorize = "/connect/authorize?" + urlencode(
            {
                "client_id": CLIENT_ID,
                "redirect_uri": REDIRECT_URI,
                "response_type": "code",
                "scope": SCOPE,
                "state": state,
                "code_challenge": challenge,
                "code_challenge_method": "S256",
                "response_mode": "query",
            }
        )
        login_url = f"{self._identity}/Account/Login?" + urlencode({"ReturnUrl": authorize})
        status, _, page = await self._request("GET", login_url, cookies=jar)
        if status != 200:
            raise InvalidResponse(f"Mondo login page answered {status}")
        token = parse_verification_token(page)
        status, headers, _ = await self._request(
            "POST",
            login_url,
            cookies=jar,
            data={
                "Email": self._email,
                "Password": self._password,
                "RememberMe": "false",
                "ReturnUrl": authorize,
                "__RequestVerificationToken": token,
            },
        )
        if status not in _REDIRECTS:
            raise AuthError("Mondo refused the email or password")
        status, headers, _ = await self._request("GET", f"{self._identity}{authorize}", cookies=jar)
        location = headers.get("Location", "")
        target = urlsplit(urljoin(f"{self._identity}/", location))
        if status not in _REDIRECTS or f"{target.scheme}://{target.netloc}{target.path}" != REDIRECT_URI:
            # Sent back to the login page: the login did not hold.
            raise AuthError("Mondo did not accept the login (authorize sent no code)")
        query = parse_qs(target.query)
        if query.get("state") != [state]:
            raise InvalidResponse("Mondo's authorize answer carries a state that is not ours")
        if not (code := query.get("code", [""])[0]):
            raise InvalidResponse("Mondo's authorize answer carries no code")
        await self._async_grant(
            {
                "grant_type": "authorization_code",
                "client_id": CLIENT_ID,
                "code": code,
                "redirect_uri": REDIRECT_URI,
                "code_verifier": verifier,
            },
            login=True,
        )
        self.logins += 1

    async def _async_grant(self, form: dict[str, str], *, login: bool) -> None:
        """Ask the token endpoint; keep the tokens. A refused grant is :class:`AuthError`."""
        started = time.time()
        status, _, text = await self._request("POST", f"{self._identity}/connect/token", data=form)
        if status in (400, 401):
            what = "code" if login else "refresh token"
            raise AuthError(f"Mondo refused the {what} ({status}: {text[:80]})")
        if status != 200:
            raise InvalidResponse(f"Mondo's token endpoint answered {status}")
        body = _decode(text, "token")
        access = body.get("access_token") if isinstance(body, dict) else None
        expires = _number(body.get("expires_in")) if isinstance(body, dict) else None
        if not isinstance(access, str) or not access or expires is None:
            raise InvalidResponse("Mondo's token answer has no access_token or expires_in")
        refresh = body.get("refresh_token")
        previous = self._token
        self._token = _Token(
            access=access,
            refresh=refresh
            if isinstance(refresh, str) and refresh
            else (previous.refresh if previous else None),
            expires_at=started + expires,
        )

    async def async_access_token(self) -> str:
        """Return an access token valid for at least :data:`TOKEN_MARGIN` seconds.

        The kept token while it lasts; else a renewal with the refresh token; else a new login.
        """
        async with self._lock:
            token = self._token
            if token is not None and time.time() < token.expires_at - TOKEN_MARGIN:
                return token.access
            if token is not None and token.refresh:
                try:
                    await self._async_grant(
                        {
                            "grant_type": "refresh_token",
                            "client_id": CLIENT_ID,
                            "refresh_token": token.refresh,
                        },
                        login=False,
                    )
                except AuthError:
                    self._token = None
                else:
                    self.refreshes += 1
                    assert self._token is not None
                    return self._token.access
            await self._async_login()
            assert self._token is not None
            return self._token.access

    def _drop_token(self, access: str) -> None:
        if self._token is not None and self._token.access == access:
            self._token = replace(self._token, expires_at=0)

    # ---- API

    async def _async_get(self, path: str, what: str) -> tuple[Any, str]:
        """GET an API path with the Bearer token; a 401 renews the token once. Return (JSON, text)."""
        for attempt in range(2):
            access = await self.async_access_token()
            status, _, text = await self._request(
                "GET",
                f"{self._api}{path}",
                headers={"Authorization": f"Bearer {access}", "Accept": "application/json"},
            )
            if status == 401 and attempt == 0:
                self._drop_token(access)  # revoked early: renew (or log in) and try once more
                continue
            if status == 401:
                raise AuthError(f"Mondo refused the account's token for {what}")
            if status == 403:
                raise SiteForbidden(f"The Mondo account may not read {what}")
            if status == 404:
                raise InvalidResponse(f"Mondo knows no {what} (404)")
            if status != 200:
                raise InvalidResponse(f"Mondo answered {status} for {what}")
            return _decode(text, what), text
        raise AssertionError("unreachable")  # pragma: no cover

    async def async_list_groups(self) -> list[MondoGroup]:
        """Return every monitoring-point group of every organisation of the account.

        An organisation whose groups may not be read (403) is skipped.
        """
        organizations, _ = await self._async_get("/monitoring/organizations", "the organisations")
        if not isinstance(organizations, list):
            raise InvalidResponse("organizations: expected a list")
        groups: list[MondoGroup] = []
        for org in organizations:
            if not isinstance(org, dict) or (org_id := _text(org, "id")) is None:
                continue
            org_name = _text(org, "name") or org_id
            try:
                found, _ = await self._async_get(
                    f"/monitoring/organizations/{org_id}/monitoringpointgroups",
                    f"the groups of organisation {org_name}",
                )
            except SiteForbidden:
                continue
            if not isinstance(found, list):
                raise InvalidResponse("monitoringpointgroups: expected a list")
            groups.extend(
                MondoGroup(
                    id=group_id,
                    name=_text(group, "name") or group_id,
                    organization_id=org_id,
                    organization=org_name,
                )
                for group in found
                if isinstance(group, dict) and (group_id := _text(group, "id")) is not None
            )
        return groups

    async def async_get_live(self, group_id: str) -> MondoLive:
        """Read a group's points and live usage (two requests) and parse them.

        Raises:
            SiteForbidden: the account may not read the group (403), naming it.
            AuthError, ConnectError, RateLimited, InvalidResponse: as for every call.

        """
        what = f"monitoring-point group {group_id}"
        subcircuit, sub_text = await self._async_get(f"/subcircuit/{group_id}", what)
        widget, widget_text = await self._async_get(f"/liveusage/widget/{group_id}", what)
        points = parse_subcircuit(subcircuit)
        reading, from_vendor, signs, problems = widget_reading(widget, now=time.time())
        return MondoLive(
            reading=reading,
            points=points,
            time_from_vendor=from_vendor,
            signs=signs,
            problems=problems,
            body=f'{{"subcircuit": {sub_text}, "liveusage": {widget_text}}}',
        )


def _decode(text: str, what: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as err:
        raise InvalidResponse(f"{what}: not JSON ({err})") from err
