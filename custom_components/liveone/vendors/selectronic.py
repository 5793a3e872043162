"""The ``selectronic`` vendor: a Selectronic SP PRO inverter read through the Select.Live cloud.

Select.Live is a web application, not a documented API. The client behaves like a browser:

* :class:`SelectLiveAccount` logs in with the ``email``/``pwd`` form and keeps the session cookie in a
  cookie jar of its own, one per account, reused across polls and by every system of the account. It logs
  in lazily (on the first request) and again only when a request comes back ``401`` or redirected to the
  login page, at most once per call. Sessions last about half an hour, so a minute poll logs in about
  twice an hour, not sixty times.
* ``GET /dashboard/hfdata/{n}`` returns the system's latest values as JSON; :func:`parse_hfdata` (a pure
  function of the decoded body) turns them into a :class:`~.model.Reading`.
* ``GET /dashboard`` (HTML) links to the account's systems and ``GET /dashboard/{n}`` (HTML) shows a
  system's model, serial, ratings and array and battery sizes as label/value cells; both are read with the
  standard library's HTML parser, tolerant of whitespace, ``<td>``/``<th>`` and nested markup.

Why the shared session's cookie jar is scrubbed: Home Assistant passes its one shared
``aiohttp.ClientSession`` to every integration. aiohttp stores every ``Set-Cookie`` it sees in that
session's jar and merges the jar's cookies over an explicit ``Cookie`` header, so a Select.Live session
cookie left there would leak into every other account's requests (the last account to log in would win).
The client therefore sends its own jar's cookies explicitly and removes from the shared jar the cookies
each Select.Live response just put there.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from html.parser import HTMLParser
import json
import math
import re
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from yarl import URL

from .model import (
    ENERGY_FLOWS,
    AuthError,
    ConnectError,
    InvalidResponse,
    RateLimited,
    Reading,
)

DEFAULT_BASE_URL = "https://select.live"

BAD_LOGIN_TEXT = "Bad email address or password"
"""The text of the page Select.Live answers a wrong email or password with (status 200)."""

_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_LOGGED_IN_PREFIXES = ("/dashboard", "/systems")
_SYSTEM_LINK = re.compile(r"^/dashboard/(\d+)/?$")

# readings column -> hfdata item, for the values taken as sent (floats allowed).
_NUMBER_ITEMS: dict[str, str] = {
    "solar_inverter_w": "solarinverter_w",
    "shunt_w": "shunt_w",
    "load_w": "load_w",
    "battery_w": "battery_w",
    "grid_w": "grid_w",
    "battery_soc": "battery_soc",
    # The ``*_wh_total`` items are kWh despite their names.
    **{f"{flow}_kwh_total": f"{flow}_wh_total" for flow in ENERGY_FLOWS},
}
# readings column -> hfdata item, for the values that must be whole numbers.
_WHOLE_ITEMS: dict[str, str] = {
    "fault_code": "fault_code",
    "fault_timestamp": "fault_ts",
    "generator_status": "gen_status",
}
# normalised label text on /dashboard/{n} -> SystemDetails field.
_DETAIL_LABELS: dict[str, str] = {
    "sp pro model": "model",
    "sp pro serial": "serial",
    "sp pro ratings": "ratings",
    "solar size": "solar_size",
    "battery size": "battery_size",
}


@dataclass(frozen=True, kw_only=True, slots=True)
class SelectLiveSystem:
    """A system listed on an account's dashboard."""

    number: str
    """The system number, as used in ``/dashboard/hfdata/{number}``."""
    name: str | None = None
    """The link text the dashboard shows for it, when it shows more than the number."""


@dataclass(frozen=True, kw_only=True, slots=True)
class SystemDetails:
    """What ``/dashboard/{n}`` says about a system's hardware; a label the page lacks is ``None``."""

    model: str | None = None
    serial: str | None = None
    ratings: str | None = None
    solar_size: str | None = None
    battery_size: str | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class HfData:
    """One ``hfdata`` answer: the parsed reading and the raw text it came from (kept for diagnostics)."""

    reading: Reading
    body: str


# --------------------------------------------------------------------------------------------------
# hfdata parsing


def parse_hfdata(body: Any) -> Reading:
    """Turn a decoded ``/dashboard/hfdata/{n}`` body into a normalised :class:`~.model.Reading`.

    The mapping (docs/vendors.md#hfdata-mapping): ``inverter_time`` is ``items.timestamp``; powers, SOC and the
    ``*_wh_total`` totals (kWh) are taken as named; ``fault_ts`` 0 means no fault time (``None``).
    ``solar_w`` is ``solarinverter_w + shunt_w`` (summed before rounding) only when both are present:
    with one missing the solar total is unknown, and treating the missing part as 0 would fabricate a
    value. A missing item (or JSON ``null``) is ``None``, never 0; unknown extra items are ignored, so
    newer firmware that adds fields keeps working.

    Raises :class:`~.model.InvalidResponse` naming what is wrong when the body is not an object with an
    ``items`` object, when ``items.timestamp`` is missing, or when an item is not a finite number (a
    string or a boolean, say).
    """
    if not isinstance(body, dict):
        raise InvalidResponse(f"hfdata: expected a JSON object, got {type(body).__name__}")
    items = body.get("items")
    if not isinstance(items, dict):
        what = "missing" if items is None else f"a {type(items).__name__}, not an object"
        raise InvalidResponse(f"hfdata: 'items' is {what}")
    inverter_time = _whole(items, "timestamp")
    if inverter_time is None:
        raise InvalidResponse("hfdata: 'items.timestamp' is missing")
    values: dict[str, Any] = {column: _number(items, item) for column, item in _NUMBER_ITEMS.items()}
    values |= {column: _whole(items, item) for column, item in _WHOLE_ITEMS.items()}
    if values["fault_timestamp"] == 0:
        values["fault_timestamp"] = None
    inverter_w, shunt_w = values["solar_inverter_w"], values["shunt_w"]
    solar_w = None if inverter_w is None or shunt_w is None else inverter_w + shunt_w
    return Reading(inverter_time=inverter_time, solar_w=solar_w, **values).normalized()


def _number(items: dict[str, Any], name: str) -> int | float | None:
    """Return ``items[name]`` as a finite number, ``None`` when absent or null."""
    value = items.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidResponse(f"hfdata: 'items.{name}' is not a number: {value!r}")
    return value


def _whole(items: dict[str, Any], name: str) -> int | None:
    """Return ``items[name]`` as an int (``3.0`` is accepted), ``None`` when absent or null."""
    value = _number(items, name)
    if value is None:
        return None
    if isinstance(value, float):
        if not value.is_integer():
            raise InvalidResponse(f"hfdata: 'items.{name}' is not a whole number: {value!r}")
        return int(value)
    return value


# --------------------------------------------------------------------------------------------------
# HTML pages


def _clean(text: str) -> str:
    """Collapse runs of whitespace (including non-breaking spaces) and trim."""
    return " ".join(text.split())


class _SystemLinkParser(HTMLParser):
    """Collect ``<a href=".../dashboard/{n}">text</a>`` links, in page order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[tuple[str, str]] = []
        self._number: str | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag != "a":
            return
        self._finish()
        href = dict(attrs).get("href") or ""
        if match := _SYSTEM_LINK.match(urlsplit(href).path):
            self._number = match.group(1)

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self._finish()

    def handle_data(self, data: str) -> None:
        if self._number is not None:
            self._text.append(data)

    def close(self) -> None:
        super().close()
        self._finish()

    def _finish(self) -> None:
        if self._number is not None:
            self.links.append((self._number, _clean("".join(self._text))))
        self._number = None
        self._text = []


def parse_system_list(html: str) -> list[SelectLiveSystem]:
    """Return the systems an account's ``/dashboard`` page links to, once each, in page order.

    A system's name is the text of a link to it, unless that text is empty or just the number.
    """
    parser = _SystemLinkParser()
    parser.feed(html)
    parser.close()
    names: dict[str, str | None] = {}
    for number, text in parser.links:
        name = text if text and text != number else None
        if names.get(number) is None:
            names[number] = name
    return [SelectLiveSystem(number=number, name=name) for number, name in names.items()]


class _CellParser(HTMLParser):
    """Collect the text of every table cell (``<td>`` or ``<th>``), nested markup included."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.cells: list[str] = []
        self._text: list[str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("td", "th"):
            self._finish()  # a cell left open ends where the next one starts
            self._text = []
        elif tag == "tr":
            self._finish()

    def handle_endtag(self, tag: str) -> None:
        if tag in ("td", "th", "tr", "table"):
            self._finish()

    def handle_data(self, data: str) -> None:
        if self._text is not None:
            self._text.append(data)

    def close(self) -> None:
        super().close()
        self._finish()

    def _finish(self) -> None:
        if self._text is not None:
            self.cells.append(_clean("".join(self._text)))
        self._text = None


def _label_key(text: str) -> str:
    return text.rstrip(":").strip().replace("-", " ").casefold()


def parse_system_details(html: str) -> SystemDetails:
    """Read a system's details from its ``/dashboard/{n}`` page.

    A label cell (``SP PRO Model:`` and so on; case, spacing and the colon do not matter) takes its value
    from the next cell; a cell holding both (``Solar Size: 6.6 kW``) also works. Missing or empty values
    are ``None``.
    """
    parser = _CellParser()
    parser.feed(html)
    parser.close()
    found: dict[str, str | None] = {}
    cells = parser.cells
    for index, cell in enumerate(cells):
        label, colon, rest = cell.partition(":")
        field = _DETAIL_LABELS.get(_label_key(label))
        if field is None or field in found:
            continue
        if colon and rest.strip():
            value = rest.strip()
        else:
            value = cells[index + 1] if index + 1 < len(cells) else ""
            if _label_key(value) in _DETAIL_LABELS:  # the next cell is another label
                value = ""
        found[field] = value or None
    return SystemDetails(**found)


# --------------------------------------------------------------------------------------------------
# The account


@dataclass(frozen=True, slots=True)
class _Answer:
    status: int
    text: str
    location: str | None
    retry_after: str | None


class SelectLiveAccount:
    """One Select.Live account: credentials, its own cookie jar, the login state.

    Shared by every system of the account, so they share one session. Create it in the event loop (the
    cookie jar binds to it). ``session`` is usually Home Assistant's shared one; its cookie jar is left
    free of Select.Live cookies (see the module docstring).
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        email: str,
        password: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 30,
    ) -> None:
        self._session = session
        self._email = email
        self._password = password
        self._base = URL(base_url.rstrip("/"))
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self._jar = aiohttp.CookieJar(unsafe=True)  # unsafe: also keep cookies of IP hosts (tests)
        self._login_lock = asyncio.Lock()
        self._logged_in = False
        self._generation = 0  # bumped by every successful login
        self._login_count = 0

    @property
    def email(self) -> str:
        """The account's email address (its identity at Select.Live)."""
        return self._email

    @property
    def login_count(self) -> int:
        """How many logins this account has attempted so far, successful or not."""
        return self._login_count

    async def async_login(self) -> None:
        """Log in afresh, replacing any session cookie held.

        Raises :class:`~.model.AuthError` when Select.Live rejects the email or password (its error page,
        or a redirect back to the login page), :class:`~.model.ConnectError` when it cannot be reached or
        answers a server error (it refuses logins with 5xx for a few minutes around minute 50 of each
        hour: transient, not a credentials problem), :class:`~.model.RateLimited` on 429 and
        :class:`~.model.InvalidResponse` for any other answer.
        """
        self._logged_in = False
        self._jar.clear()
        self._login_count += 1
        answer = await self._request("POST", "/login", data={"email": self._email, "pwd": self._password})
        _raise_for_service(answer, "/login")
        if answer.status in _REDIRECTS:
            path = urlsplit(answer.location or "").path
            if path.startswith(_LOGGED_IN_PREFIXES):
                self._logged_in = True
            elif path.startswith("/login"):
                raise AuthError("Select.Live rejected the email or password")
            else:
                raise InvalidResponse(f"login: unexpected redirect to {answer.location!r}")
        elif answer.status == 200:
            if BAD_LOGIN_TEXT.casefold() in answer.text.casefold():
                raise AuthError("Select.Live rejected the email or password")
            if not self._jar.filter_cookies(self._base):
                raise InvalidResponse("login: answered 200 without setting a session cookie")
            self._logged_in = True
        elif answer.status in (401, 403):
            raise AuthError(f"Select.Live refused the login (HTTP {answer.status})")
        else:
            raise InvalidResponse(f"login: unexpected HTTP {answer.status}")
        self._generation += 1

    async def async_list_systems(self) -> list[SelectLiveSystem]:
        """Return the systems the account's dashboard links to (possibly none)."""
        return parse_system_list(await self._get_page("/dashboard"))

    async def async_system_details(self, number: str) -> SystemDetails:
        """Return what the system's dashboard page says about its hardware."""
        return parse_system_details(await self._get_page(f"/dashboard/{number}"))

    async def async_get_hfdata(self, number: str) -> HfData:
        """Fetch and parse the system's latest values.

        Raises :class:`~.model.ConnectError` for timeouts, network errors and 5xx answers (Select.Live
        has bursts of 500/503 around minutes 48-52 of every hour and 504s around local midnight; they
        are transient, so the caller should simply try again at the next poll),
        :class:`~.model.RateLimited` for 429, :class:`~.model.AuthError` when a fresh login does not
        help, and :class:`~.model.InvalidResponse` when the answer is not the expected JSON.
        """
        path = f"/dashboard/hfdata/{number}"
        text = await self._get_page(path)
        try:
            body = json.loads(text)
        except ValueError as err:
            kind = "an HTML page" if text.lstrip().startswith("<") else f"unparsable text ({err})"
            raise InvalidResponse(f"{path}: expected JSON, got {kind}") from err
        return HfData(reading=parse_hfdata(body), body=text)

    async def _get_page(self, path: str) -> str:
        """GET a page behind the login and return its text, logging in when (and only when) needed."""
        await self._ensure_login(None)
        for attempt in (1, 2):
            generation = self._generation
            answer = await self._request("GET", path)
            if not self._session_expired(answer):
                _raise_for_service(answer, path)
                if answer.status != 200:
                    raise InvalidResponse(f"{path}: unexpected HTTP {answer.status}")
                return answer.text
            if attempt == 2:
                raise AuthError(f"{path}: Select.Live refused the session just after a new login")
            await self._ensure_login(generation)
        raise AssertionError("unreachable")  # pragma: no cover

    async def _ensure_login(self, expired: int | None) -> None:
        """Log in if there is no session, or if the session of generation ``expired`` is still current.

        The lock makes concurrent callers (two systems of one account) share one login.
        """
        async with self._login_lock:
            if not self._logged_in or self._generation == expired:
                await self.async_login()

    def _session_expired(self, answer: _Answer) -> bool:
        """Whether Select.Live asked for a login: a 401, or a redirect to the login page."""
        if answer.status == 401:
            return True
        return answer.status in _REDIRECTS and urlsplit(answer.location or "").path.startswith("/login")

    async def _request(self, method: str, path: str, *, data: dict[str, str] | None = None) -> _Answer:
        """Send one request with this account's cookies, without following redirects."""
        url = self._base.join(URL(path))
        cookies = self._jar.filter_cookies(url)
        headers = {"Cookie": "; ".join(f"{key}={morsel.coded_value}" for key, morsel in cookies.items())}
        try:
            async with self._session.request(
                method,
                url,
                data=data,
                headers=headers if cookies else None,
                allow_redirects=False,
                timeout=self._timeout,
            ) as resp:
                self._keep_cookies(resp)
                text = await resp.text(errors="replace")
                return _Answer(
                    resp.status, text, resp.headers.get("Location"), resp.headers.get("Retry-After")
                )
        except TimeoutError as err:
            raise ConnectError(f"{path}: Select.Live did not answer in time (transient)") from err
        except aiohttp.ClientError as err:
            raise ConnectError(f"{path}: could not reach Select.Live: {err}") from err

    def _keep_cookies(self, resp: aiohttp.ClientResponse) -> None:
        """Move the cookies a response set from the shared session's jar into this account's jar."""
        if not resp.cookies:
            return
        self._jar.update_cookies(resp.cookies, resp.url)
        host = resp.url.host or ""
        names = set(resp.cookies)
        self._session.cookie_jar.clear(
            lambda morsel: (
                morsel.key in names and (morsel["domain"] == host or host.endswith(f".{morsel['domain']}"))
            )
        )


def _raise_for_service(answer: _Answer, path: str) -> None:
    """Raise for a server error (5xx: transient) or a rate limit (429)."""
    if answer.status >= 500:
        raise ConnectError(
            f"{path}: Select.Live answered HTTP {answer.status} (a server error; usually transient)"
        )
    if answer.status == 429:
        try:
            retry_after: float | None = float(answer.retry_after or "")
        except ValueError:
            retry_after = None
        raise RateLimited(f"{path}: Select.Live answered HTTP 429 (too many requests)", retry_after)
