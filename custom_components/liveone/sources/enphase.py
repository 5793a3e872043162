"""Enphase through the official Enlighten API v4: OAuth2, one entry per system, a budgeted schedule.

Its client and the pure budget and schedule functions are :mod:`..vendors.enphase`; this module is the
Home Assistant side (see ``docs/vendors.md``, *Enphase (API v4)*, and ``docs/decisions.md``, *Enphase*):

* **Credentials.** The developer application's client id and secret are Home Assistant application
  credentials (:class:`EnphaseAuth`: token endpoint with HTTP Basic client authentication, no scope);
  its API key is asked for in a step of its own and kept in the entry.
* **Accounts.** One config entry per system. The entries of one authorisation share one
  :class:`EnphaseAccount` (an :class:`~..accounts.AccountPool` keyed by the entry's ``account``): one
  token, refreshed under a lock, the rotated refresh token written into every entry of the account.
* **Budget.** The request count belongs to the API key (:class:`KeyBudget`, saved with Home Assistant's
  ``Store`` helper), shared by every system on the key. Each system's coordinator spends it in daylight
  at its own location (HA's sun helpers), on the gateways' 15-minute rhythm, spread over the days left
  in the month; after local midnight it fetches the finished day again when it holds fewer than 288
  intervals (at most three times); at first setup it backfills some past days.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta, timezone
import hashlib
import json
import math
import time
from typing import Any, ClassVar, Final, cast
import uuid

import aiohttp
from astral import Observer  # type: ignore[import-untyped]
from astral.sun import sunrise, sunset  # type: ignore[import-untyped]
from homeassistant.components.application_credentials import (
    AuthImplementation,
    AuthorizationServer,
    ClientCredential,
)
from homeassistant.components.sensor import SensorDeviceClass, SensorStateClass
from homeassistant.config_entries import (
    SOURCE_REAUTH,
    ConfigEntry,
    ConfigFlowResult,
    OptionsFlow,
)
from homeassistant.const import (
    CONF_API_KEY,
    CONF_LATITUDE,
    CONF_LONGITUDE,
    CONF_TOKEN,
    EntityCategory,
    UnitOfEnergy,
)
from homeassistant.core import HomeAssistant
from homeassistant.helpers import config_entry_oauth2_flow, issue_registry as ir
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
    TextSelectorConfig,
    TextSelectorType,
)
from homeassistant.helpers.storage import Store as StorageFile
from homeassistant.util import dt as dt_util
import sqlalchemy as sa
from sqlalchemy.engine import Connection
import voluptuous as vol

from ..accounts import AccountPool
from ..const import CONF_TIMEZONE_OFFSET, CONF_VENDOR, DOMAIN, LOGGER
from ..coordinator import LiveOneData, PollingCoordinator
from ..descriptions import LiveOneSensorEntityDescription
from ..flow import LiveOneFlowBase, standard_offset_minutes
from ..http_session import async_get_session
from ..registry import SourceKind
from ..store.schema import readings_agg_5m
from ..vendors import enphase as api
from ..vendors.model import AuthError, Batch, ConnectError, Reading, VendorError

VENDOR: Final = "enphase"

CONF_ACCOUNT: Final = "account"
CONF_SYSTEM: Final = "system"
CONF_DETAILS: Final = "details"
CONF_PER_MONTH: Final = "requests_per_month"
CONF_PER_MINUTE: Final = "requests_per_minute"
CONF_BACKFILL_DAYS: Final = "backfill_days"
NEW_ACCOUNT: Final = "new"
DEFAULT_BACKFILL_DAYS: Final = 7
TOKEN_MARGIN_S: Final = 60
"""A token this close to its expiry is refreshed before a call."""
FAILURE_BACKOFF: Final = timedelta(minutes=15)
"""After a failed call, the next one waits at least this long."""
IDLE_CHECK: Final = timedelta(hours=1)
"""With nothing to call (budget spent), the schedule looks again this often."""
STORAGE_VERSION: Final = 1

ENPHASE_BASE_URL: str = api.DEFAULT_BASE_URL
"""Where the Enlighten API and its OAuth endpoints are (tests point it at a fake server)."""


# ---- credentials ---------------------------------------------------------------------------------------


class EnphaseAuth(AuthImplementation):
    """Application credentials for Enphase: its token endpoint wants HTTP Basic client auth, no scope."""

    async def _token_request(self, data: dict[str, Any]) -> dict[str, Any]:
        """Ask the token endpoint; a refusal raises ``aiohttp.ClientResponseError`` with its status."""
        session = async_get_session(self.hass)
        auth = aiohttp.BasicAuth(self.client_id, self.client_secret)
        form = {key: value for key, value in data.items() if key != "client_id"}  # it is in the header
        async with session.post(self.token_url, data=form, auth=auth) as resp:
            text = await resp.text()
        try:
            body: Any = json.loads(text)
        except ValueError:
            body = None  # a proxy's error page: not a token
        if resp.status >= 400 or not isinstance(body, dict):
            error = body.get("error", "unknown") if isinstance(body, dict) else "not a token"
            LOGGER.debug("Enphase token request refused (%s): %s", resp.status, error)
            raise aiohttp.ClientResponseError(
                resp.request_info, resp.history, status=resp.status, message=str(error)
            )
        return body


async def async_get_authorization_server(hass: HomeAssistant) -> AuthorizationServer:
    """Return Enphase's authorize and token URLs (the application credentials platform)."""
    return AuthorizationServer(
        authorize_url=f"{ENPHASE_BASE_URL}/oauth/authorize", token_url=f"{ENPHASE_BASE_URL}/oauth/token"
    )


async def async_get_auth_implementation(
    hass: HomeAssistant, auth_domain: str, credential: ClientCredential
) -> config_entry_oauth2_flow.AbstractOAuth2Implementation:
    """Return the implementation that refreshes Enphase tokens the way Enphase wants."""
    return EnphaseAuth(hass, auth_domain, credential, await async_get_authorization_server(hass))


# ---- the account's token -------------------------------------------------------------------------------


@dataclass
class EnphaseAccount:
    """One authorisation shared by the entries (systems) that use it: one token, one refresh at a time."""

    hass: HomeAssistant
    account: str
    token: dict[str, Any]
    auth_implementation: str
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)

    def entries(self) -> list[ConfigEntry[Any]]:
        """Return the config entries of this account."""
        return [
            entry
            for entry in self.hass.config_entries.async_entries(DOMAIN)
            if entry.data.get(CONF_VENDOR) == VENDOR and entry.data.get(CONF_ACCOUNT) == self.account
        ]

    async def async_access_token(self) -> str:
        """Return a valid access token, refreshing it first when it is about to expire.

        Raises:
            AuthError: the token endpoint refused the refresh token (``invalid_grant``): reauthenticate.
            ConnectError: the token endpoint failed or could not be reached: try later, no reauth.

        """
        async with self.lock:
            if float(self.token.get("expires_at", 0)) - TOKEN_MARGIN_S > time.time():
                return str(self.token["access_token"])
            try:
                implementation = await config_entry_oauth2_flow.async_get_config_entry_implementation(
                    self.hass, self.entries()[0]
                )
                token = await implementation.async_refresh_token(self.token)
            except aiohttp.ClientResponseError as err:
                if 400 <= err.status < 500:
                    raise AuthError(
                        f"Enphase refused the refresh token ({err.status} {err.message})"
                    ) from err
                raise ConnectError(f"Enphase's token endpoint answered {err.status}") from err
            except (aiohttp.ClientError, TimeoutError) as err:
                raise ConnectError(f"Enphase's token endpoint failed: {err or type(err).__name__}") from err
            self.async_set_token(token)
            return str(token["access_token"])

    def async_set_token(self, token: dict[str, Any]) -> None:
        """Keep a new token and write it into every entry of the account (refresh tokens rotate)."""
        self.token = token
        for entry in self.entries():
            self.hass.config_entries.async_update_entry(entry, data={**entry.data, CONF_TOKEN: token})


ACCOUNTS: Final[AccountPool[EnphaseAccount]] = AccountPool(VENDOR)


# ---- the key's budget ----------------------------------------------------------------------------------


def _key_id(api_key: str) -> str:
    return hashlib.sha256(api_key.encode()).hexdigest()[:16]


class KeyBudget:
    """The request count of one API key, saved across restarts and shared by every system on the key.

    Beside the :class:`~..vendors.enphase.Budget` it keeps each system's schedule state (last call,
    pending backfill days, the finished day's refetch attempts) and each system's daylight length, so
    that every system's spacing accounts for all of them.
    """

    def __init__(self, hass: HomeAssistant, api_key: str) -> None:
        """Prepare the budget of a key (nothing is read yet)."""
        self.hass = hass
        self.key_id = _key_id(api_key)
        self.budget = api.Budget()
        self.systems: dict[str, dict[str, Any]] = {}
        self.daylight: dict[str, float] = {}
        self._storage: StorageFile[dict[str, Any]] = StorageFile(
            hass, STORAGE_VERSION, f"{DOMAIN}.{VENDOR}_budget_{self.key_id}"
        )
        self._loaded = False
        self._load_lock = asyncio.Lock()

    @property
    def issue_id(self) -> str:
        """The repair issue raised while this key's monthly quota is spent."""
        return f"{VENDOR}_quota_{self.key_id}"

    async def async_load(self) -> None:
        """Read the saved count (once)."""
        async with self._load_lock:
            if self._loaded:
                return
            saved = await self._storage.async_load() or {}
            self.budget.load(saved.get("budget", {}))
            systems = saved.get("systems", {})
            self.systems = {str(k): dict(v) for k, v in systems.items() if isinstance(v, dict)}
            self._loaded = True

    async def async_save(self) -> None:
        """Write the count now (it must survive a restart that follows at once)."""
        await self._storage.async_save({"budget": self.budget.as_dict(), "systems": self.systems})

    def set_plan(self, per_month: int, per_minute: int) -> None:
        """Set the plan's limits (the entries' option)."""
        self.budget.per_month, self.budget.per_minute = per_month, per_minute

    async def async_spend(self, now: float) -> bool:
        """Count one request about to be sent; ``False`` (nothing counted) when none may be sent now."""
        if self.budget.wait(now) > 0:
            return False
        self.budget.spend(now)
        await self.async_save()
        ir.async_delete_issue(self.hass, DOMAIN, self.issue_id)  # a call may be sent: not blocked
        return True

    async def async_refused(self, now: float, err: api.QuotaExceeded) -> None:
        """Stop calls after a 429; for the monthly quota raise a repair issue until the month rolls over."""
        self.budget.refused(now, err)
        await self.async_save()
        if err.monthly:
            renews = dt_util.as_local(datetime.fromtimestamp(api.month_end(now), UTC))
            ir.async_create_issue(
                self.hass,
                DOMAIN,
                self.issue_id,
                is_fixable=False,
                severity=ir.IssueSeverity.WARNING,
                translation_key="enphase_quota",
                translation_placeholders={"renews": renews.strftime("%Y-%m-%d %H:%M")},
            )

    def pending_backfill(self) -> int:
        """Return the backfill days still to fetch, of every system on the key."""
        return sum(len(state.get("backfill", [])) for state in self.systems.values())

    def reserve(self, now: float, offset_min: int) -> int:
        """Return the requests kept back (see :func:`~..vendors.enphase.reserve`)."""
        return api.reserve(now, offset_min, len(self.daylight), self.pending_backfill())

    def spacing(self, now: float, offset_min: int, today_left_s: float, site: str) -> float | None:
        """Return a system's daylight spacing (see :func:`~..vendors.enphase.month_spacing`)."""
        return api.month_spacing(
            now,
            offset_min,
            remaining=self.budget.remaining(now),
            today_left_s=today_left_s,
            own_length_s=self.daylight.get(site, 0.0),
            other_lengths_s=[length for other, length in self.daylight.items() if other != site],
            pending_backfill=self.pending_backfill(),
        )


KEYS: Final[AccountPool[KeyBudget]] = AccountPool(f"{VENDOR}_keys")


async def _async_flow_budget(hass: HomeAssistant, api_key: str) -> KeyBudget:
    """Return the key's budget (the one in use, or a fresh one read from storage) for a flow's calls."""
    budget = KEYS.async_find(hass, _key_id(api_key)) or KeyBudget(hass, api_key)
    await budget.async_load()
    return budget


# ---- the stored data -----------------------------------------------------------------------------------

_AGG = readings_agg_5m


@dataclass(frozen=True, slots=True)
class StoredDay:
    """What the store holds of a system: its newest interval, lifetime total, and one day's rows."""

    newest_end: int | None
    newest_w: float | None
    total_kwh: float | None
    day_wh: float
    day_rows: int


def _stored_day(conn: Connection, system_id: int, start: int, end: int) -> StoredDay:
    newest = conn.execute(
        sa.select(_AGG.c.interval_end, _AGG.c.solar_w_avg, _AGG.c.solar_kwh_total_last)
        .where(_AGG.c.system_id == system_id)
        .order_by(_AGG.c.interval_end.desc())
        .limit(1)
    ).first()
    day = conn.execute(
        sa.select(sa.func.coalesce(sa.func.sum(_AGG.c.solar_interval_wh), 0), sa.func.count()).where(
            _AGG.c.system_id == system_id, _AGG.c.interval_end > start, _AGG.c.interval_end <= end
        )
    ).one()
    return StoredDay(
        newest_end=None if newest is None else int(newest[0]),
        newest_w=None if newest is None else newest[1],
        total_kwh=None if newest is None else newest[2],
        day_wh=float(day[0]),
        day_rows=int(day[1]),
    )


@dataclass(frozen=True, slots=True)
class EnphaseData(LiveOneData):
    """The newest interval as a reading, with what Enphase's own sensors show."""

    today_kwh: float | None = None
    devices_reporting: int | None = None
    newest_interval: datetime | None = None
    requests_left: int | None = None
    next_call: datetime | None = None


def _enphase(data: LiveOneData) -> EnphaseData:
    return cast("EnphaseData", data)


# ---- the coordinator -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Call:
    """One call the schedule says is due: today's intervals (``day`` None) or one finished day."""

    day: date | None
    why: str


class EnphaseCoordinator(PollingCoordinator):
    """One Enphase system: calls placed by the key's budget, intervals written as 5-minute rows."""

    account: EnphaseAccount
    keys: KeyBudget
    client: api.EnphaseClient
    transient_grace_polls: ClassVar[int] = 3

    @classmethod
    def system_details(cls, entry: ConfigEntry[Any]) -> Mapping[str, str | None]:
        """Return the system's size as Enphase lists it."""
        details: Mapping[str, str | None] = entry.data.get(CONF_DETAILS, {})
        return details

    @property
    def _state(self) -> dict[str, Any]:
        return self.keys.systems.setdefault(self.site_id, {})

    def _option(self, name: str, default: Any) -> Any:
        return self.config_entry.options.get(name, default)

    async def _async_prepare(self) -> None:
        """Join the account's token and the key's budget; plan the backfill of a first setup."""
        data = self.config_entry.data
        account_id = data[CONF_ACCOUNT]
        self.account = ACCOUNTS.async_acquire(
            self.hass,
            account_id,
            lambda: EnphaseAccount(
                self.hass, account_id, dict(data[CONF_TOKEN]), data["auth_implementation"]
            ),
        )
        self.config_entry.async_on_unload(lambda: ACCOUNTS.async_release(self.hass, account_id))
        api_key = data[CONF_API_KEY]
        key_id = _key_id(api_key)
        self.keys = KEYS.async_acquire(self.hass, key_id, lambda: KeyBudget(self.hass, api_key))
        self.config_entry.async_on_unload(self._async_leave_key)
        await self.keys.async_load()
        self.keys.set_plan(
            int(self._option(CONF_PER_MONTH, api.FREE_PLAN_PER_MONTH)),
            int(self._option(CONF_PER_MINUTE, api.FREE_PLAN_PER_MINUTE)),
        )
        self.client = api.EnphaseClient(
            async_get_session(self.hass), api_key, self.account.async_access_token, base_url=ENPHASE_BASE_URL
        )
        if "backfill" not in self._state:
            days = int(self._option(CONF_BACKFILL_DAYS, DEFAULT_BACKFILL_DAYS))
            today = self.local_today()
            self._state["backfill"] = [(today - timedelta(days=n)).isoformat() for n in range(1, days + 1)]
            self._state["since"] = (
                time.time()
            )  # days that ended before this are the backfill's, not refetched
            await self.keys.async_save()
        self.keys.daylight[self.site_id] = self._daylight_length(time.time())

    def _async_leave_key(self) -> None:
        self.keys.daylight.pop(self.site_id, None)
        KEYS.async_release(self.hass, self.keys.key_id)

    # ---- daylight

    def _observer(self) -> Any:
        latitude = float(self._option(CONF_LATITUDE, self.hass.config.latitude))
        longitude = float(self._option(CONF_LONGITUDE, self.hass.config.longitude))
        return Observer(latitude, longitude, 0.0)

    def daylight_windows(self, now: float) -> list[tuple[float, float]]:
        """Return the daylight windows (sunrise to sunset plus half an hour) ending after ``now``.

        Computed with astral (Home Assistant's sun library) at the system's own location and local day
        (its standard offset): see docs/decisions.md, *Enphase*, for why not HA's location helper.
        """
        today = self.local_today()
        cached = self._windows.get(today)
        if cached is None:
            cached = self._windows_from(today, now)
            self._windows = {today: cached}  # one day's: computed once a day, not at every wake-up
        return [window for window in cached if window[1] > now]

    _windows: dict[date, list[tuple[float, float]]] = {}  # noqa: RUF012  (replaced, never mutated)

    def _windows_from(self, today: date, now: float) -> list[tuple[float, float]]:
        observer = self._observer()
        zone = timezone(timedelta(minutes=self.tz_offset_min))
        windows: list[tuple[float, float]] = []
        try:
            for n in range(-1, 3):
                day = today + timedelta(days=n)
                rise = sunrise(observer, day, tzinfo=zone).timestamp()
                end = sunset(observer, day, tzinfo=zone).timestamp() + api.DAYLIGHT_TAIL_S
                windows.append((rise, end))
        except ValueError:  # polar day or night: call around the system's local noon
            noon = (
                math.floor((now + self.tz_offset_min * 60) / 86_400) * 86_400 + 43_200
            ) - self.tz_offset_min * 60
            windows = [(noon - 21_600 + n * 86_400, noon + 21_600 + n * 86_400) for n in range(3)]
        return windows

    def _daylight_length(self, now: float) -> float:
        start, end = self.daylight_windows(now)[0]
        return end - start

    # ---- the schedule

    def _day_end(self, day: date) -> float:
        return float(api.day_bounds(day, self.tz_offset_min)[1])

    def _due(self, now: float) -> _Call | None:
        """Return the call that is due now, if any (backfill, the finished day's refetch, daylight)."""
        state = self._state
        spendable = self.keys.budget.remaining(now) - self.keys.reserve(now, self.tz_offset_min)
        if state.get("backfill") and spendable + len(state["backfill"]) > 0:
            return _Call(date.fromisoformat(state["backfill"][0]), "backfill")
        refetch = self._refetch_time(now)
        if refetch is not None and refetch <= now:
            return _Call(date.fromisoformat(state["refetch_day"]), "refetch")
        daylight = self._daylight_call(now)
        if daylight is not None and daylight <= now + 1:
            return _Call(None, "daylight")
        return None

    def _refetch_time(self, now: float) -> float | None:
        state = self._state
        yesterday = (self.local_today() - timedelta(days=1)).isoformat()
        if state.get("refetch_day") != yesterday:
            state["refetch_day"], state["refetch_attempts"] = yesterday, 0
        return api.refetch_due(self._day_end(date.fromisoformat(yesterday)), int(state["refetch_attempts"]))

    def _daylight_call(self, now: float) -> float | None:
        windows = self.daylight_windows(now)
        start, end = windows[0]
        today_left = max(0.0, end - max(now, start))
        spacing = self.keys.spacing(now, self.tz_offset_min, today_left, self.site_id)
        return api.next_daylight_call(now, windows, spacing, self._state.get("last_call"))

    def _next_wake(self, now: float) -> float:
        """Return when to look at the schedule again."""
        candidates: list[float] = []
        if self._state.get("backfill"):
            candidates.append(now + 7)  # within the minute's limit, one backfill day at a time
        if (refetch := self._refetch_time(now)) is not None:
            candidates.append(max(refetch, now + 1))
        # Today's own refetch, once it has finished (whether it is needed is judged then).
        candidates.append(self._day_end(self.local_today()) + api.REFETCH_AFTER_MIDNIGHT_S)
        if (daylight := self._daylight_call(now)) is not None:
            candidates.append(daylight)
        wake = min(candidates, default=now + IDLE_CHECK.total_seconds())
        return max(wake, now + self.keys.budget.wait(now), now + 1)

    # ---- updates

    async def _async_update_data(self) -> LiveOneData | None:
        """Make the call the schedule says is due (if the budget allows), store it, show the newest data."""
        now = time.time()
        started = now
        today = self.local_today()
        yesterday = today - timedelta(days=1)
        stored_yesterday = (await self._async_stored(yesterday)).day_rows
        self._refetch_time(now)  # starts the refetch state of the day that just finished
        day_end = self._day_end(yesterday)
        if stored_yesterday >= api.INTERVALS_PER_DAY or day_end <= self._state.get("since", 0):
            self._state["refetch_attempts"] = api.REFETCH_ATTEMPTS  # complete, or before setup: no refetch
        call = self._due(now)
        if call is None and self._cause == "USER":
            call = _Call(None, "user")
        elif call is None and self.data is None and (await self._async_stored(today)).newest_end is None:
            call = _Call(None, "first")  # nothing stored yet; after a restart the stored data is shown
        try:
            if call is not None and await self.keys.async_spend(now):
                await self._async_call(started, call)
        except api.DayNotAvailable:
            LOGGER.debug("%s: the day %s is not available yet", self.config_entry.title, call)
            self._finished_call(call, complete=call is not None and call.why == "backfill")
        except api.QuotaExceeded as err:
            await self.keys.async_refused(time.time(), err)
            await self._async_record_failure(started, err)
        except VendorError as err:
            # Enphase failing (5xx, a bad body): no sooner than FAILURE_BACKOFF, so that an outage does
            # not spend the budget on retries (a pending backfill would otherwise retry every few seconds).
            failed = time.time()
            wake = max(self._next_wake(failed), failed + FAILURE_BACKOFF.total_seconds())
            self.update_interval = timedelta(seconds=wake - failed)
            if self.data is None and not isinstance(err, AuthError):
                # Nothing shown yet (a first setup): setup is not retried (each retry would be a request);
                # the schedule tries again and the entities appear with the first data.
                await self._async_record_failure(started, err)
                LOGGER.warning("%s: Enphase failed, trying again later: %s", self.config_entry.title, err)
                return None
            return await self._async_failed(started, err)
        finally:
            await self.keys.async_save()
        self._failed_polls = 0
        later = time.time()
        wake = self._next_wake(later)
        self.update_interval = timedelta(seconds=wake - later)
        # Nothing stored yet (a first setup at night): entities appear with the first interval; setup is
        # not retried, since every retry would spend a request.
        return await self._async_data(today, wake)

    async def _async_call(self, started: float, call: _Call) -> None:
        self._call = call
        await self._async_store(started, await self._async_fetch())
        complete = True
        if call.day is not None:
            complete = (await self._async_stored(call.day)).day_rows >= api.INTERVALS_PER_DAY
        self._finished_call(call, complete=complete)

    async def _async_fetch(self) -> Batch:
        """Make the call chosen by the schedule: today's intervals so far, or one finished day's."""
        call = self._call
        bounds = None if call.day is None else api.day_bounds(call.day, self.tz_offset_min)
        if call.day is None:
            self._state["last_call"] = time.time()
        production = await self.client.async_get_production(self.site_id, bounds)
        if production.newest is not None and call.day is None:
            self._devices = production.newest.devices_reporting
        return Batch(intervals=tuple(item.as_interval() for item in production.intervals), raw=production.raw)

    _call: _Call = _Call(None, "first")
    _devices: int | None = None

    def _finished_call(self, call: _Call | None, *, complete: bool) -> None:
        state = self._state
        if call is None or call.day is None:
            return
        if call.why == "backfill":
            state["backfill"] = [day for day in state["backfill"] if day != call.day.isoformat()]
        else:  # the finished day's refetch
            state["refetch_attempts"] = api.REFETCH_ATTEMPTS if complete else state["refetch_attempts"] + 1

    async def _async_stored(self, day: date) -> StoredDay:
        start, end = api.day_bounds(day, self.tz_offset_min)
        return await self.store.async_transaction(_stored_day, self.system_id, start, end)

    async def _async_data(self, today: date, wake: float) -> EnphaseData | None:
        stored = await self._async_stored(today)
        if stored.newest_end is None:
            return None
        reading = Reading(
            inverter_time=stored.newest_end, solar_w=stored.newest_w, solar_kwh_total=stored.total_kwh
        )
        newest = datetime.fromtimestamp(stored.newest_end, UTC)
        received = self.data.received_time if self.data is not None else dt_util.utcnow()
        if self.data is None or self.data.reading.inverter_time != stored.newest_end:
            received = dt_util.utcnow()
        return EnphaseData(
            reading=reading,
            received_time=received,
            today_kwh=round(stored.day_wh / 1000, 3),
            devices_reporting=self._devices,
            newest_interval=newest,
            requests_left=self.keys.budget.remaining(time.time()),
            next_call=datetime.fromtimestamp(wake, UTC),
        )


# ---- the config flow -----------------------------------------------------------------------------------


def _key_schema() -> vol.Schema:
    return vol.Schema(
        {vol.Required(CONF_API_KEY): TextSelector(TextSelectorConfig(type=TextSelectorType.PASSWORD))}
    )


class EnphaseFlow(LiveOneFlowBase, config_entry_oauth2_flow.AbstractOAuth2FlowHandler):
    """Enphase's steps: account (or an authorised one), API key, OAuth, system; reauth, reconfigure."""

    _enphase_key: str
    _enphase_token: dict[str, Any] | None = None
    _enphase_account: str | None = None
    _enphase_implementation: str = ""
    _enphase_systems: list[api.EnphaseSystem]
    _enphase_oauth: bool = False
    """Whether this flow's OAuth was started by Enphase's steps."""

    def _enphase_entries(self) -> list[ConfigEntry[Any]]:
        return [e for e in self._async_current_entries() if e.data.get(CONF_VENDOR) == VENDOR]

    async def async_step_enphase(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Offer the accounts already authorised (their other systems need no second login), or a new one."""
        accounts: dict[str, ConfigEntry[Any]] = {}
        for entry in self._enphase_entries():
            accounts.setdefault(entry.data[CONF_ACCOUNT], entry)
        if not accounts:
            return await self.async_step_enphase_key()
        if user_input is not None:
            choice = user_input[CONF_ACCOUNT]
            if choice == NEW_ACCOUNT:
                return await self.async_step_enphase_key()
            entry = accounts[choice]
            self._enphase_key = entry.data[CONF_API_KEY]
            self._enphase_account = choice
            self._enphase_implementation = entry.data["auth_implementation"]
            return await self._async_enphase_systems(entry)
        options = [
            SelectOptionDict(
                value=account,
                label=", ".join(e.title for e in self._enphase_entries() if e.data[CONF_ACCOUNT] == account),
            )
            for account in accounts
        ]
        options.append(SelectOptionDict(value=NEW_ACCOUNT, label="Another Enphase account (sign in)"))
        return self.async_show_form(
            step_id="enphase",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_ACCOUNT): SelectSelector(
                        SelectSelectorConfig(options=options, mode=SelectSelectorMode.LIST)
                    )
                }
            ),
        )

    async def async_step_enphase_key(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the developer application's API key; OAuth starts once it is given."""
        if user_input is not None:
            self._enphase_key = user_input[CONF_API_KEY].strip()
            if self._enphase_token is not None:  # authorised, but the key was refused: test it again
                return await self._async_enphase_systems(None)
            self._enphase_oauth = True
            return await self.async_step_pick_implementation()
        return self.async_show_form(step_id="enphase_key", data_schema=_key_schema())

    async def async_oauth_create_entry(self, data: dict[str, Any]) -> ConfigFlowResult:
        """OAuth is done: for a reauthentication renew the account's token, else list its systems.

        Another OAuth2 kind composed into the same flow class gets its own turn (``super()``).
        """
        if not self._enphase_oauth:
            result: ConfigFlowResult = await super().async_oauth_create_entry(data)
            return result
        self._enphase_token = data[CONF_TOKEN]
        self._enphase_implementation = data["auth_implementation"]
        if self.source == SOURCE_REAUTH:
            return await self._async_finish_reauth()
        self._enphase_account = uuid.uuid4().hex
        return await self._async_enphase_systems(None)

    def _enphase_client(self, token_entry: ConfigEntry[Any] | None) -> api.EnphaseClient:
        if token_entry is not None:
            account = ACCOUNTS.async_find(self.hass, token_entry.data[CONF_ACCOUNT]) or EnphaseAccount(
                self.hass,
                token_entry.data[CONF_ACCOUNT],
                dict(token_entry.data[CONF_TOKEN]),
                token_entry.data["auth_implementation"],
            )
            access = account.async_access_token
        else:
            token = self._enphase_token
            assert token is not None

            async def access() -> str:
                return str(token["access_token"])

        return api.EnphaseClient(
            async_get_session(self.hass), self._enphase_key, access, base_url=ENPHASE_BASE_URL
        )

    async def _async_enphase_list(self, token_entry: ConfigEntry[Any] | None) -> str | None:
        """List the account's systems (counted in the key's budget); return an error key, or ``None``."""
        budget = await _async_flow_budget(self.hass, self._enphase_key)
        if not await budget.async_spend(time.time()):
            return "rate_limited"
        try:
            self._enphase_systems = await self._enphase_client(token_entry).async_list_systems()
        except AuthError:
            return "invalid_api_key"
        except api.QuotaExceeded as err:
            await budget.async_refused(time.time(), err)
            return "rate_limited"
        except VendorError as err:
            LOGGER.debug("Enphase systems could not be listed: %s", err)
            return "cannot_connect"
        return None

    async def _async_enphase_systems(self, token_entry: ConfigEntry[Any] | None) -> ConfigFlowResult:
        error = await self._async_enphase_list(token_entry)
        if error == "invalid_api_key" and token_entry is None:
            return self.async_show_form(
                step_id="enphase_key", data_schema=_key_schema(), errors={"base": error}
            )
        if error is not None:
            return self.async_abort(reason=error if error != "invalid_api_key" else "invalid_auth")
        if token_entry is not None:
            self._enphase_token = dict(token_entry.data[CONF_TOKEN])
        return await self.async_step_enphase_system()

    async def async_step_enphase_system(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick one of the account's systems not added yet."""
        configured = {e.data.get("site_id") for e in self._enphase_entries()}
        left = [s for s in self._enphase_systems if s.system_id not in configured]
        if not left:
            return self.async_abort(reason="already_configured")
        if user_input is not None:
            system = next(s for s in self._enphase_systems if s.system_id == user_input[CONF_SYSTEM])
            return await self._async_create_enphase(system)
        return self.async_show_form(
            step_id="enphase_system",
            data_schema=vol.Schema(
                {
                    vol.Required(CONF_SYSTEM): SelectSelector(
                        SelectSelectorConfig(
                            options=[
                                SelectOptionDict(value=s.system_id, label=_system_label(s)) for s in left
                            ],
                            mode=SelectSelectorMode.LIST,
                        )
                    )
                }
            ),
            description_placeholders={"count": str(len(self._enphase_systems))},
        )

    async def _async_create_enphase(self, system: api.EnphaseSystem) -> ConfigFlowResult:
        await self.async_set_system_id(VENDOR, system.system_id)
        self._abort_if_unique_id_configured()
        offset = api.standard_offset_minutes(system.timezone, dt_util.utcnow(), standard_offset_minutes())
        details = {} if system.system_size is None else {"solar_size": f"{system.system_size / 1000:g} kW"}
        return self.async_create_system_entry(
            VENDOR,
            system.system_id,
            title=system.name,
            data={
                "auth_implementation": self._enphase_implementation,
                CONF_TOKEN: self._enphase_token,
                CONF_API_KEY: self._enphase_key,
                CONF_ACCOUNT: self._enphase_account,
                CONF_TIMEZONE_OFFSET: offset,
                CONF_DETAILS: details,
            },
        )

    async def async_step_enphase_reauth(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Enphase refused the account's refresh token: authorise again (OAuth)."""
        if user_input is None:
            return self.async_show_form(step_id="enphase_reauth")
        self._enphase_key = self._get_reauth_entry().data[CONF_API_KEY]
        self._enphase_oauth = True
        return await self.async_step_pick_implementation()

    async def _async_finish_reauth(self) -> ConfigFlowResult:
        entry = self._get_reauth_entry()
        error = await self._async_enphase_list(None)
        if error is not None:
            return self.async_abort(reason=error if error != "invalid_api_key" else "invalid_auth")
        if entry.data["site_id"] not in {s.system_id for s in self._enphase_systems}:
            return self.async_abort(reason="wrong_account")
        token = self._enphase_token
        assert token is not None
        account = ACCOUNTS.async_find(self.hass, entry.data[CONF_ACCOUNT]) or EnphaseAccount(
            self.hass, entry.data[CONF_ACCOUNT], token, self._enphase_implementation
        )
        account.async_set_token(token)
        for other in account.entries():
            if other.entry_id != entry.entry_id:
                self.hass.config_entries.async_schedule_reload(other.entry_id)
        return self.async_update_reload_and_abort(entry, data_updates={CONF_TOKEN: token})

    async def async_step_enphase_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change the API key of a system (a new developer application, or a new plan's key)."""
        entry = self._get_reconfigure_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            self._enphase_key = user_input[CONF_API_KEY].strip()
            error = await self._async_enphase_list(entry)
            if error is None:
                return self.async_update_reload_and_abort(
                    entry, data_updates={CONF_API_KEY: self._enphase_key}
                )
            errors["base"] = error
        return self.async_show_form(step_id="enphase_reconfigure", data_schema=_key_schema(), errors=errors)


def _system_label(system: api.EnphaseSystem) -> str:
    extra = [part for part in (system.address, system.status) if part]
    return f"{system.name} ({', '.join(extra)})" if extra else system.name


# ---- options: the plan, the location, the backfill ----------------------------------------------------


class EnphaseOptionsFlow(OptionsFlow):
    """The plan's limits (shared by every system on the key), the system's location, the first backfill."""

    async def async_step_init(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Start at the Enphase options (a step id of its own: the kinds share one translations file)."""
        return await self.async_step_enphase_options(user_input)

    async def async_step_enphase_options(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Show and save the options; the plan is written to every entry on the same key."""
        entry = self.config_entry
        if user_input is not None:
            plan = {k: int(user_input[k]) for k in (CONF_PER_MONTH, CONF_PER_MINUTE)}
            # The plan applies at once to the key's budget in use; the location and the backfill at the
            # next start of the system.
            if (budget := KEYS.async_find(self.hass, _key_id(entry.data[CONF_API_KEY]))) is not None:
                budget.set_plan(plan[CONF_PER_MONTH], plan[CONF_PER_MINUTE])
            for other in self.hass.config_entries.async_entries(DOMAIN):
                if (
                    other.entry_id != entry.entry_id
                    and other.data.get(CONF_API_KEY) == entry.data[CONF_API_KEY]
                ):
                    self.hass.config_entries.async_update_entry(other, options={**other.options, **plan})
            return self.async_create_entry(
                data={**user_input, **plan, CONF_BACKFILL_DAYS: int(user_input[CONF_BACKFILL_DAYS])}
            )
        number = NumberSelector(NumberSelectorConfig(min=1, step=1, mode=NumberSelectorMode.BOX))
        schema = vol.Schema(
            {
                vol.Required(CONF_PER_MONTH, default=api.FREE_PLAN_PER_MONTH): number,
                vol.Required(CONF_PER_MINUTE, default=api.FREE_PLAN_PER_MINUTE): number,
                vol.Required(CONF_LATITUDE, default=self.hass.config.latitude): NumberSelector(
                    NumberSelectorConfig(min=-90, max=90, step="any", mode=NumberSelectorMode.BOX)
                ),
                vol.Required(CONF_LONGITUDE, default=self.hass.config.longitude): NumberSelector(
                    NumberSelectorConfig(min=-180, max=180, step="any", mode=NumberSelectorMode.BOX)
                ),
                vol.Required(CONF_BACKFILL_DAYS, default=DEFAULT_BACKFILL_DAYS): NumberSelector(
                    NumberSelectorConfig(min=0, max=60, step=1, mode=NumberSelectorMode.BOX)
                ),
            }
        )
        return self.async_show_form(
            step_id="enphase_options", data_schema=self.add_suggested_values_to_schema(schema, entry.options)
        )


# ---- entities and the declaration ----------------------------------------------------------------------

SENSORS: Final = (
    LiveOneSensorEntityDescription(
        key="solar_energy_today",
        translation_key="solar_energy_today",
        device_class=SensorDeviceClass.ENERGY,
        state_class=SensorStateClass.TOTAL,
        native_unit_of_measurement=UnitOfEnergy.KILO_WATT_HOUR,
        suggested_display_precision=2,
        value_fn=lambda data: _enphase(data).today_kwh,
    ),
    LiveOneSensorEntityDescription(
        key="microinverters_reporting",
        translation_key="microinverters_reporting",
        entity_category=EntityCategory.DIAGNOSTIC,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: _enphase(data).devices_reporting,
    ),
    LiveOneSensorEntityDescription(
        key="newest_interval",
        translation_key="newest_interval",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: _enphase(data).newest_interval,
    ),
    LiveOneSensorEntityDescription(
        key="requests_left",
        translation_key="requests_left",
        entity_category=EntityCategory.DIAGNOSTIC,
        state_class=SensorStateClass.MEASUREMENT,
        value_fn=lambda data: _enphase(data).requests_left,
    ),
    LiveOneSensorEntityDescription(
        key="next_call",
        translation_key="next_call",
        device_class=SensorDeviceClass.TIMESTAMP,
        entity_category=EntityCategory.DIAGNOSTIC,
        value_fn=lambda data: _enphase(data).next_call,
    ),
)

SOURCE: Final = SourceKind(
    vendor=VENDOR,
    manufacturer="Enphase Energy",
    coordinator=EnphaseCoordinator,
    flow=EnphaseFlow,
    reauth_step="enphase_reauth",
    reconfigure_step="enphase_reconfigure",
    options_flow=EnphaseOptionsFlow,
    sensors=SENSORS,
    redact=frozenset({CONF_API_KEY, CONF_TOKEN, CONF_ACCOUNT}),
    extra={
        "application_credentials": (async_get_authorization_server, async_get_auth_implementation),
    },
)
