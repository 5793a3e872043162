"""The ``enphase`` vendor: Enphase microinverter systems through the official Enlighten API v4.

Protocol facts are in ``docs/vendors.md`` (section *Enphase (API v4)*). In short:

* Every call sends the OAuth2 access token (``Authorization: Bearer``) and the developer application's
  API key (header ``key``). The token comes from a callable the Home Assistant layer provides; this
  module never refreshes it.
* ``GET /api/v4/systems`` lists the account's systems (:func:`parse_systems`).
* ``GET /api/v4/systems/{id}/telemetry/production_micro`` returns 5-minute intervals: today's so far
  without parameters, or a whole day with ``start_at``/``end_at``/``granularity=day``
  (:func:`parse_production`). Each interval becomes a :class:`~.model.Interval` with
  ``solar_w_avg/min/max = powr``, ``solar_wh = enwh``, ``sample_count = 1``.
* 401/403: :class:`~.model.AuthError`; 422 (a day not yet available): :class:`DayNotAvailable`; 429:
  :class:`QuotaExceeded` (minute or month window, from the body; no ``Retry-After``); 5xx and transport
  failures: :class:`~.model.ConnectError`; a body of the wrong shape: :class:`~.model.InvalidResponse`.

The request budget and the call schedule are pure functions here (:class:`Budget`, :func:`poll_spacing`,
:func:`next_daylight_call`), so that a month of scheduling can be simulated without Home Assistant;
the Home Assistant layer gives them the time and the daylight window from its sun helpers.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
import json
import math
from typing import Any, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import aiohttp

from .model import AuthError, ConnectError, Interval, InvalidResponse, RateLimited, VendorError

DEFAULT_BASE_URL: Final = "https://api.enphaseenergy.com"
AUTHORIZE_URL: Final = f"{DEFAULT_BASE_URL}/oauth/authorize"
TOKEN_URL: Final = f"{DEFAULT_BASE_URL}/oauth/token"

INTERVAL_S: Final = 300
INTERVALS_PER_DAY: Final = 288
UPLOAD_PERIOD_S: Final = 900
"""Gateways upload their data every 15 minutes."""
UPLOAD_LAG_S: Final = 300
"""Calls are placed this long after a quarter hour, so that the upload of that quarter has landed."""
FREE_PLAN_PER_MINUTE: Final = 10
FREE_PLAN_PER_MONTH: Final = 1000
REQUEST_TIMEOUT_S: Final = 30


class DayNotAvailable(VendorError):
    """Enphase answered 422: the day asked for is not available yet (not an error of the system)."""


class QuotaExceeded(RateLimited):
    """Enphase answered 429; ``monthly`` says whether the month's quota (not the minute's) is spent."""

    def __init__(self, message: str, *, monthly: bool, retry_after: float | None) -> None:
        """Keep which window is spent and, for the minute window, how long until it ends."""
        super().__init__(message, retry_after=retry_after)
        self.monthly = monthly


@dataclass(frozen=True, slots=True)
class EnphaseSystem:
    """One system of the account, as ``GET /api/v4/systems`` lists it."""

    system_id: str
    name: str
    timezone: str | None
    status: str | None
    system_size: float | None
    address: str | None


@dataclass(frozen=True, slots=True)
class MicroInterval:
    """One ``production_micro`` interval as sent."""

    end_at: int
    powr: float
    enwh: float
    devices_reporting: int | None

    def as_interval(self) -> Interval:
        """Return the store's 5-minute row for this interval (``docs/vendors.md``, *Storage*)."""
        return Interval(
            interval_end=self.end_at,
            solar_w_avg=self.powr,
            solar_w_min=self.powr,
            solar_w_max=self.powr,
            solar_wh=self.enwh,
            sample_count=1,
        )


@dataclass(frozen=True, slots=True)
class Production:
    """A ``production_micro`` body: its intervals (ascending) and the system's microinverter count."""

    intervals: tuple[MicroInterval, ...]
    total_devices: int | None
    raw: str = field(default="", repr=False)

    @property
    def newest(self) -> MicroInterval | None:
        """The newest interval, if any."""
        return self.intervals[-1] if self.intervals else None


def _number(value: Any, what: str) -> float:
    if type(value) is bool or not isinstance(value, int | float) or not math.isfinite(value):
        raise InvalidResponse(f"{what} is not a number: {value!r:.40}")
    return value


def parse_production(body: Any, raw: str = "") -> Production:
    """Parse a ``production_micro`` body (today so far, or one whole day).

    Raises:
        InvalidResponse: the body is not an object with an ``intervals`` list of well-formed intervals.

    """
    if not isinstance(body, Mapping) or not isinstance(body.get("intervals"), list):
        raise InvalidResponse("production_micro: no intervals list")
    found: dict[int, MicroInterval] = {}
    for item in body["intervals"]:
        if not isinstance(item, Mapping):
            raise InvalidResponse(f"production_micro: interval is not an object: {item!r:.40}")
        end = item.get("end_at")
        if type(end) is not int or end <= 0 or end % INTERVAL_S:
            raise InvalidResponse(f"production_micro: end_at {end!r:.40} is not a 5-minute boundary")
        reporting = item.get("devices_reporting")
        found[end] = MicroInterval(
            end_at=end,
            powr=_number(item.get("powr"), f"powr at {end}"),
            enwh=_number(item.get("enwh"), f"enwh at {end}"),
            devices_reporting=reporting if type(reporting) is int else None,
        )
    total = body.get("total_devices")
    return Production(
        intervals=tuple(found[end] for end in sorted(found)),
        total_devices=total if type(total) is int else None,
        raw=raw,
    )


def _address(value: Any) -> str | None:
    if not isinstance(value, Mapping):
        return None
    parts = [
        str(value[k]) for k in ("city", "state", "country") if isinstance(value.get(k), str) and value[k]
    ]
    return ", ".join(parts) or None


def parse_systems(body: Any) -> list[EnphaseSystem]:
    """Parse a ``GET /api/v4/systems`` body.

    Raises:
        InvalidResponse: the body has no ``systems`` list, or a system has no id.

    """
    if not isinstance(body, Mapping) or not isinstance(body.get("systems"), list):
        raise InvalidResponse("systems: no systems list")
    systems: list[EnphaseSystem] = []
    for item in body["systems"]:
        if not isinstance(item, Mapping) or type(item.get("system_id")) not in (int, str):
            raise InvalidResponse(f"systems: a system without an id: {item!r:.60}")
        system_id = str(item["system_id"])
        size = item.get("system_size")
        systems.append(
            EnphaseSystem(
                system_id=system_id,
                name=str(item.get("name") or f"Enphase {system_id}"),
                timezone=item.get("timezone") if isinstance(item.get("timezone"), str) else None,
                status=item.get("status") if isinstance(item.get("status"), str) else None,
                # Enphase now always sends -1 here (its release notes): only a positive size is one.
                system_size=float(size)
                if isinstance(size, int | float) and type(size) is not bool and size > 0
                else None,
                address=_address(item.get("address")),
            )
        )
    return systems


def standard_offset_minutes(timezone: str | None, at: datetime, fallback: int) -> int:
    """Return a time zone's standard (non-DST) UTC offset at ``at``, in minutes (``fallback`` if unknown)."""
    if not timezone:
        return fallback
    try:
        zone = ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return fallback
    local = at.astimezone(zone)
    standard = (local.utcoffset() or timedelta(0)) - (local.dst() or timedelta(0))
    return int(standard.total_seconds() // 60)


def day_bounds(day: date, offset_min: int) -> tuple[int, int]:
    """Return a local day's ``start_at`` and ``end_at`` (Unix s) at a fixed standard offset."""
    start = int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp()) - offset_min * 60
    return start, start + 86_400


def _quota_error(body: Any) -> QuotaExceeded:
    """Read which window a 429 spent; Enphase sends ``period`` (``minute``/``month``), no ``Retry-After``."""
    period = body.get("period") if isinstance(body, Mapping) else None
    end = body.get("period_end") if isinstance(body, Mapping) else None
    if period == "month":
        return QuotaExceeded("Enphase: the month's request quota is spent", monthly=True, retry_after=None)
    retry = 60.0
    if isinstance(end, int) and type(end) is not bool:
        retry = max(1.0, min(60.0, end - datetime.now(UTC).timestamp()))
    return QuotaExceeded("Enphase: the minute's request quota is spent", monthly=False, retry_after=retry)


class EnphaseClient:
    """Calls the Enlighten API v4 with an account's token and an application's API key."""

    def __init__(
        self,
        session: aiohttp.ClientSession,
        api_key: str,
        access_token: Callable[[], Awaitable[str]],
        *,
        base_url: str = DEFAULT_BASE_URL,
        on_request: Callable[[], None] | None = None,
    ) -> None:
        """Keep the session, key and token source; ``on_request`` is called once per request sent."""
        self._session = session
        self._api_key = api_key
        self._access_token = access_token
        self._base = base_url.rstrip("/")
        self._on_request = on_request

    async def _get(self, path: str, params: Mapping[str, str | int] | None = None) -> tuple[Any, str]:
        token = await self._access_token()
        headers = {"Authorization": f"Bearer {token}", "key": self._api_key, "Accept": "application/json"}
        if self._on_request is not None:
            self._on_request()
        try:
            async with asyncio.timeout(REQUEST_TIMEOUT_S):
                async with self._session.get(f"{self._base}{path}", params=params, headers=headers) as resp:
                    text = await resp.text()
                    status = resp.status
        except (aiohttp.ClientError, TimeoutError) as err:
            raise ConnectError(f"Enphase could not be reached: {err or type(err).__name__}") from err
        try:
            body = json.loads(text) if text else None
        except ValueError:
            body = None
        if status in (401, 403):
            raise AuthError(f"Enphase refused the token or API key ({status})")
        if status == 422:
            raise DayNotAvailable("Enphase: the day is not available yet")
        if status == 429:
            raise _quota_error(body)
        if status >= 400:
            raise ConnectError(f"Enphase answered {status}")
        if body is None:
            raise InvalidResponse("Enphase answered a body that is not JSON")
        return body, text

    async def async_list_systems(self) -> list[EnphaseSystem]:
        """Return the account's systems."""
        body, _ = await self._get("/api/v4/systems", {"size": 100})
        return parse_systems(body)

    async def async_get_production(self, system_id: str, day: tuple[int, int] | None = None) -> Production:
        """Return today's intervals so far, or (``day`` = ``start_at``, ``end_at``) one whole day's."""
        params: dict[str, str | int] | None = None
        if day is not None:
            params = {"start_at": day[0], "end_at": day[1], "granularity": "day"}
        body, text = await self._get(f"/api/v4/systems/{system_id}/telemetry/production_micro", params)
        return parse_production(body, text)


# ---- the budget ----------------------------------------------------------------------------------------


def month_of(now: float) -> str:
    """Return the quota month of a moment (UTC calendar month, ``YYYY-MM``)."""
    return datetime.fromtimestamp(now, UTC).strftime("%Y-%m")


def month_end(now: float) -> float:
    """Return the start of the next UTC calendar month (when the monthly quota renews)."""
    moment = datetime.fromtimestamp(now, UTC)
    year, month = (moment.year + 1, 1) if moment.month == 12 else (moment.year, moment.month + 1)
    return datetime(year, month, 1, tzinfo=UTC).timestamp()


@dataclass(slots=True)
class Budget:
    """The request count of one API key: the month's calls, the minute's calls and any 429 block.

    Plain data, saved as a dict (:meth:`as_dict`) so that a restart keeps the count.
    """

    per_minute: int = FREE_PLAN_PER_MINUTE
    per_month: int = FREE_PLAN_PER_MONTH
    month: str = ""
    used: int = 0
    minute: int = 0
    minute_used: int = 0
    blocked_until: float = 0.0
    monthly_blocked: bool = False

    def roll(self, now: float) -> None:
        """Start a new month or minute window when ``now`` is in one."""
        if (current := month_of(now)) != self.month:
            self.month, self.used, self.monthly_blocked = current, 0, False
            self.blocked_until = min(self.blocked_until, now)
        if (minute := int(now // 60)) != self.minute:
            self.minute, self.minute_used = minute, 0

    def remaining(self, now: float) -> int:
        """Return the requests left this month (0 while the month's quota is blocked)."""
        self.roll(now)
        return 0 if self.monthly_blocked else max(0, self.per_month - self.used)

    def wait(self, now: float) -> float:
        """Return the seconds until a request may be sent (0: now)."""
        self.roll(now)
        if self.monthly_blocked or self.used >= self.per_month:
            return month_end(now) - now
        if now < self.blocked_until:
            return self.blocked_until - now
        if self.minute_used >= self.per_minute:
            return (self.minute + 1) * 60 - now
        return 0.0

    def spend(self, now: float) -> None:
        """Count one request sent at ``now``."""
        self.roll(now)
        self.used += 1
        self.minute_used += 1

    def refused(self, now: float, err: QuotaExceeded) -> None:
        """Stop calls after a 429: until the month rolls over, or the minute window ends."""
        self.roll(now)
        if err.monthly:
            self.monthly_blocked = True
            self.blocked_until = month_end(now)
        else:
            self.minute_used = self.per_minute
            self.blocked_until = now + (err.retry_after or 60.0)

    def as_dict(self) -> dict[str, Any]:
        """Return what is saved (the plan is the entries' option, not saved here)."""
        return {
            "month": self.month,
            "used": self.used,
            "minute": self.minute,
            "minute_used": self.minute_used,
            "blocked_until": self.blocked_until,
            "monthly_blocked": self.monthly_blocked,
        }

    def load(self, saved: Mapping[str, Any]) -> None:
        """Take a saved count back (unknown or mistyped values are ignored)."""
        for name, kind in (
            ("month", str),
            ("used", int),
            ("minute", int),
            ("minute_used", int),
            ("blocked_until", float),
            ("monthly_blocked", bool),
        ):
            value = saved.get(name)
            if isinstance(value, kind) or (kind is float and type(value) is int):
                setattr(self, name, value)


# ---- the schedule --------------------------------------------------------------------------------------

DAYLIGHT_TAIL_S: Final = 1800
"""Daylight runs from sunrise to sunset plus half an hour (the last intervals upload after sunset)."""
REFETCH_AFTER_MIDNIGHT_S: Final = 1200
"""The finished day is fetched again this long after local midnight (its last upload has landed)."""
REFETCH_EVERY_S: Final = 7200
REFETCH_ATTEMPTS: Final = 3
"""A finished day short of 288 intervals is fetched again at most this many times, two hours apart."""


def days_left_in_month(now: float, offset_min: int) -> int:
    """Return the local days from today to the quota month's end, today included (at least 1)."""
    return max(1, math.ceil((month_end(now) - now + offset_min * 60) / 86_400))


def poll_spacing(spendable: int, daylight_left_s: float) -> float | None:
    """Return the spacing of daylight calls that spreads ``spendable`` requests over the daylight left.

    ``daylight_left_s`` is the daylight of every system on the key until the month ends, summed. The
    spacing is a whole number of gateway uploads (15 minutes), never shorter than one; ``None``: there
    is nothing left to spend.
    """
    if spendable <= 0:
        return None
    uploads = max(1, math.ceil(daylight_left_s / spendable / UPLOAD_PERIOD_S))
    return float(uploads * UPLOAD_PERIOD_S)


def reserve(now: float, offset_min: int, systems: int, pending_backfill: int) -> int:
    """Return the requests kept back from daylight calls: one refetch per system per day left, and backfills."""
    return systems * days_left_in_month(now, offset_min) + pending_backfill


def month_spacing(
    now: float,
    offset_min: int,
    *,
    remaining: int,
    today_left_s: float,
    own_length_s: float,
    other_lengths_s: Sequence[float],
    pending_backfill: int = 0,
) -> float | None:
    """Return one system's daylight spacing so that the key's budget lasts to the month's end.

    The daylight still to come this month is this system's daylight left today, every system's daylight
    on each later day, and half a day's daylight of each other system for today (how much of it is
    left depends on where each is; half is the mean). The requests to spread over it are the month's
    remaining ones less the :func:`reserve`. See :func:`poll_spacing`.
    """
    systems = 1 + len(other_lengths_s)
    days = days_left_in_month(now, offset_min)
    later = (own_length_s + sum(other_lengths_s)) * (days - 1)
    daylight = today_left_s + sum(other_lengths_s) / 2 + later
    return poll_spacing(remaining - reserve(now, offset_min, systems, pending_backfill), daylight)


SLOT_GRACE_S: Final = 120
"""A call slot stays due this long after its time."""


def aligned(moment: float) -> float:
    """Return the first call slot (a quarter hour plus the upload lag) at or after ``moment``."""
    slot = math.ceil((moment - UPLOAD_LAG_S) / UPLOAD_PERIOD_S) * UPLOAD_PERIOD_S + UPLOAD_LAG_S
    return float(slot)


def next_daylight_call(
    now: float,
    windows: Sequence[tuple[float, float]],
    spacing: float | None,
    last_call: float | None,
) -> float | None:
    """Return the next daylight call: the first slot after ``last_call + spacing`` inside a window.

    ``windows`` are the system's daylight windows (start, end), ascending, today's and the next days'.
    ``None``: no call (no budget, or no window left).
    """
    if spacing is None:
        return None
    # A wake-up a little after its slot (timers fire late) still takes that slot, and a call made a
    # little after its slot does not push the next one a whole upload later.
    earliest = now - SLOT_GRACE_S
    if last_call is not None:
        earliest = max(earliest, last_call + spacing - SLOT_GRACE_S)
    for start, end in windows:
        slot = aligned(max(earliest, start))
        if slot <= end:
            return slot
    return None


def refetch_due(day_end: float, attempts: int) -> float | None:
    """Return when a finished day (ending at ``day_end``) is fetched again, after ``attempts`` tries."""
    if attempts >= REFETCH_ATTEMPTS:
        return None
    return day_end + REFETCH_AFTER_MIDNIGHT_S + attempts * REFETCH_EVERY_S
