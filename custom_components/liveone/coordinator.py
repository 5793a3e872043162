"""Coordinators: ask a vendor for readings every minute, store them, hand the newest to entities.

:class:`LiveOneCoordinator` holds what every vendor shares (the store, polling status, the daily
aggregation, error handling); a vendor adds a subclass that implements :meth:`_async_fetch` (and, if it
needs one, :meth:`_async_prepare`).
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
import functools
import time

from homeassistant.config_entries import ConfigEntry
from homeassistant.const import CONF_EMAIL, CONF_LATITUDE, CONF_LONGITUDE, CONF_PASSWORD
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .accounts import async_acquire_selectlive, async_release_selectlive
from .const import (
    CONF_BACKFILL_DAYS,
    CONF_DETAILS,
    CONF_OWNER,
    CONF_SITE_ID,
    CONF_TIMEZONE_OFFSET,
    CONF_VENDOR,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
    LOGGER,
    TRANSIENT_GRACE_POLLS,
    VENDOR_DEMO,
    VENDOR_SELECTRONIC,
)
from .store import Store, StoreError, SystemInfo, WriteResult
from .vendors.demo import DemoClient, DemoSite, site_details
from .vendors.model import AuthError, Reading, VendorError, time_problem
from .vendors.selectronic import SelectLiveAccount

type LiveOneConfigEntry = ConfigEntry[LiveOneCoordinator]

# Readings kept in memory while the store cannot write them (a day of 1-minute polls).
MAX_PENDING_READINGS = 1440


@dataclass(frozen=True, slots=True)
class LiveOneData:
    """What entities show: the newest reading and when it was received."""

    reading: Reading
    received_time: datetime

    @property
    def inverter_time(self) -> datetime:
        """When the system measured the reading."""
        return datetime.fromtimestamp(self.reading.inverter_time, UTC)

    @property
    def delay_seconds(self) -> float:
        """How long the reading took to reach Home Assistant."""
        return max(0.0, (self.received_time - self.inverter_time).total_seconds())


def _store_failed(err: StoreError) -> UpdateFailed:
    return UpdateFailed(
        translation_domain=DOMAIN,
        translation_key="store_unavailable",
        translation_placeholders={"error": str(err)},
    )


class LiveOneCoordinator(DataUpdateCoordinator[LiveOneData]):
    """Poll one system, write every reading to the store, keep the newest."""

    config_entry: LiveOneConfigEntry

    transient_grace_polls = 0
    """Consecutive failed polls (other than refused credentials) that keep the last reading shown.

    0 makes entities unavailable at the first failure. A vendor whose service has known short outages
    sets more, so that a burst does not flap every automation that uses its entities; Home Assistant
    then logs once when the failure outlasts the grace and once when polling recovers.
    """

    def __init__(
        self,
        hass: HomeAssistant,
        entry: LiveOneConfigEntry,
        store: Store,
        system_id: int,
        *,
        info: SystemInfo,
        update_interval: timedelta | None = DEFAULT_SCAN_INTERVAL,
    ) -> None:
        """Set up the coordinator of one config entry's system."""
        super().__init__(
            hass,
            LOGGER,
            config_entry=entry,
            name=f"{DOMAIN} {entry.title}",
            update_interval=update_interval,
        )
        self.store = store
        self.system_id = system_id
        self._cause = "POLL"
        self.vendor: str = entry.data[CONF_VENDOR]
        self.site_id: str = entry.data[CONF_SITE_ID]
        self.tz_offset_min: int = entry.data[CONF_TIMEZONE_OFFSET]
        self.info = info
        self._pending: list[Reading] = []
        self._failed_polls = 0
        self.last_response: str | None = None
        """The vendor's raw answer to the current poll, kept in polling_status (set by _async_fetch)."""
        self._store_failing = False
        self._write_listeners: list[Callable[[WriteResult], None]] = []

    @callback
    def async_add_write_listener(self, listener: Callable[[WriteResult], None]) -> CALLBACK_TYPE:
        """Call ``listener`` with the result of every poll's successful store write; return its remover."""
        self._write_listeners.append(listener)
        return functools.partial(self._write_listeners.remove, listener)

    @classmethod
    def system_details(cls, entry: ConfigEntry) -> Mapping[str, str | None]:
        """Return what the vendor says about the system: model, serial, ratings, solar/battery size."""
        return {}

    @classmethod
    def system_info(cls, entry: ConfigEntry) -> SystemInfo:
        """Describe the entry's system for the store and its device."""
        details = cls.system_details(entry)
        return SystemInfo(
            vendor_type=entry.data[CONF_VENDOR],
            vendor_site_id=entry.data[CONF_SITE_ID],
            display_name=entry.title,
            timezone_offset_min=entry.data[CONF_TIMEZONE_OFFSET],
            owner_user_id=entry.data.get(CONF_OWNER),
            model=details.get("model"),
            serial=details.get("serial"),
            ratings=details.get("ratings"),
            solar_size=details.get("solar_size"),
            battery_size=details.get("battery_size"),
        )

    def local_today(self) -> date:
        """Return the system's local date now, by its fixed standard offset."""
        return (dt_util.utcnow() + timedelta(minutes=self.tz_offset_min)).date()

    async def _async_setup(self) -> None:
        """Prepare the vendor client, then aggregate any day that finished while HA was down."""
        try:
            await self._async_prepare()
            await self.async_run_daily_aggregation()
        except StoreError as err:
            raise _store_failed(err) from err

    async def _async_prepare(self) -> None:
        """Prepare the vendor client before the first poll (log in, resume state, backfill)."""

    @abstractmethod
    async def _async_fetch(self) -> list[Reading]:
        """Return the vendor's new readings (oldest first); raise a ``VendorError`` on failure."""

    async def _async_update_data(self) -> LiveOneData:
        """Poll the vendor, store what it returned, and return the newest reading."""
        started = time.time()
        self.last_response = None
        try:
            readings = await self._async_fetch()
        except VendorError as err:
            await self._async_record_failure(started, err)
            if isinstance(err, AuthError):
                raise ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="auth_failed") from err
            self._failed_polls += 1
            shown: LiveOneData | None = self.data
            if shown is not None and self._failed_polls <= self.transient_grace_polls:
                # A transient failure: keep showing the last reading (see transient_grace_polls).
                LOGGER.debug(
                    "%s: poll %d of %d allowed to fail: %s",
                    self.config_entry.title,
                    self._failed_polls,
                    self.transient_grace_polls,
                    err,
                )
                return shown
            raise UpdateFailed(
                translation_domain=DOMAIN,
                translation_key="update_failed",
                translation_placeholders={"error": str(err) or type(err).__name__},
            ) from err
        self._failed_polls = 0

        await self._async_store(started, readings)
        # Only a reading the store accepts may become the entities' newest (not one from 2036).
        now = dt_util.utcnow().timestamp()
        accepted = [reading for reading in readings if time_problem(reading.inverter_time, now) is None]
        newest = max(accepted, key=lambda reading: reading.inverter_time, default=None)
        # The coordinator has no data before its first successful refresh (HA types it as always set).
        current: LiveOneData | None = self.data
        if newest is not None and (current is None or newest.inverter_time > current.reading.inverter_time):
            return LiveOneData(reading=newest.normalized(), received_time=dt_util.utcnow())
        if current is not None:
            return current  # no new data: not an error
        return await self._async_stored_data()

    async def _async_stored_data(self) -> LiveOneData:
        """Return the newest stored reading, for a first poll that brought nothing new.

        That happens after a restart when the inverter has not moved on, or right after a backfill.
        """
        try:
            stored = await self.store.async_latest_reading(self.system_id)
        except StoreError as err:
            raise _store_failed(err) from err
        if stored is None:
            raise UpdateFailed(translation_domain=DOMAIN, translation_key="no_data")
        received = stored.received_time or stored.reading.inverter_time
        return LiveOneData(reading=stored.reading, received_time=datetime.fromtimestamp(received, UTC))

    async def _async_store(self, started: float, readings: list[Reading]) -> None:
        """Write a poll to the store; if the store fails, keep the readings for the next poll.

        A store failure does not make entities unavailable (the vendor's data is good); it is logged
        once when it starts and once when it ends, and nothing is lost unless it lasts a whole day.
        """
        batch = [*self._pending, *readings]
        try:
            result = await self.store.async_record_poll(
                self.system_id,
                self.vendor,
                batch,
                cause=self._cause,
                started=started,
                last_response=self.last_response,
                now=dt_util.utcnow().timestamp(),
            )
        except StoreError as err:
            self._pending = batch[-MAX_PENDING_READINGS:]
            if not self._store_failing:
                LOGGER.error(
                    "Cannot write %s's readings to the LiveOne store (kept %d for a retry): %s",
                    self.config_entry.title,
                    len(self._pending),
                    err,
                )
                self._store_failing = True
            return
        self._pending = []
        if self._store_failing:
            LOGGER.info("The LiveOne store accepts %s's readings again", self.config_entry.title)
            self._store_failing = False
        for listener in list(self._write_listeners):
            listener(result)

    async def _async_record_failure(self, started: float, err: VendorError) -> None:
        try:
            await self.store.async_record_poll(
                self.system_id,
                self.vendor,
                [],
                cause=self._cause,
                started=started,
                error=f"{type(err).__name__}: {err}",
                now=dt_util.utcnow().timestamp(),
            )
        except StoreError as store_err:
            LOGGER.debug("Could not record the failed poll: %s", store_err)

    async def async_poll_now(self) -> None:
        """Poll at once for a user (``liveone.poll_now``); its session row says cause ``USER``."""
        self._cause = "USER"
        try:
            await self.async_refresh()
        finally:
            self._cause = "POLL"

    async def async_run_daily_aggregation(self) -> list[str]:
        """Compute the daily rows of every finished day that lacks one (the 00:05 job)."""
        days = await self.store.async_catch_up_days(self.system_id, self.local_today())
        if days:
            LOGGER.debug("Aggregated %s for %s", ", ".join(days), self.config_entry.title)
        return days


class DemoCoordinator(LiveOneCoordinator):
    """The built-in simulated system: no network, one reading a minute."""

    client: DemoClient

    @staticmethod
    def demo_site(entry: ConfigEntry) -> DemoSite:
        """Return the simulated site of an entry (seeded by its site id, placed where HA was)."""
        return DemoSite(
            seed=entry.data[CONF_SITE_ID],
            latitude=float(entry.data[CONF_LATITUDE]),
            longitude=float(entry.data[CONF_LONGITUDE]),
            tz_offset_min=entry.data[CONF_TIMEZONE_OFFSET],
        )

    @classmethod
    def system_details(cls, entry: ConfigEntry) -> Mapping[str, str | None]:
        """Return the simulated system's made-up model, serial and sizes."""
        return site_details(cls.demo_site(entry))

    async def _async_prepare(self) -> None:
        """Resume the simulation from the newest stored reading, or backfill history for a new system."""
        site = self.demo_site(self.config_entry)
        stored = await self.store.async_latest_reading(self.system_id)
        self.client = DemoClient(site, resume_from=None if stored is None else stored.reading)
        backfill_days = int(self.config_entry.data.get(CONF_BACKFILL_DAYS, 0))
        if stored is None and backfill_days > 0:
            await self._async_backfill(backfill_days)

    async def _async_backfill(self, days: int) -> None:
        now = int(dt_util.utcnow().timestamp())
        start = now - days * 86400
        written = 0
        # One day at a time: the simulation runs in HA's executor, the writes on the store's worker.
        for chunk_start in range(start, now, 86400):
            chunk_end = min(chunk_start + 86400, now)
            readings = await self.hass.async_add_executor_job(_simulate, self.client, chunk_start, chunk_end)
            result = await self.store.async_write_readings(self.system_id, readings)
            written += result.rows_written
        LOGGER.info(
            "Backfilled %d simulated readings (%d days) for %s", written, days, self.config_entry.title
        )

    async def _async_fetch(self) -> list[Reading]:
        """Return the simulated readings of every minute since the last poll."""
        return await self.client.async_get_readings(dt_util.utcnow().timestamp())


def _simulate(client: DemoClient, start: int, end: int) -> list[Reading]:
    return list(client.system.readings_between(start, end))


class SelectronicCoordinator(LiveOneCoordinator):
    """A Selectronic SP PRO through Select.Live: one hfdata poll a minute."""

    transient_grace_polls = TRANSIENT_GRACE_POLLS
    account: SelectLiveAccount

    @classmethod
    def system_details(cls, entry: ConfigEntry) -> Mapping[str, str | None]:
        """Return the details the config flow read from the system's Select.Live page."""
        details: Mapping[str, str | None] = entry.data.get(CONF_DETAILS, {})
        return details

    async def _async_prepare(self) -> None:
        """Use the account's shared client (one login for all of its systems)."""
        email, password = self.config_entry.data[CONF_EMAIL], self.config_entry.data[CONF_PASSWORD]
        self.account = async_acquire_selectlive(self.hass, email, password)
        self.config_entry.async_on_unload(lambda: async_release_selectlive(self.hass, email, password))

    async def _async_fetch(self) -> list[Reading]:
        """Return the system's current reading (Select.Live keeps no history to fetch)."""
        hfdata = await self.account.async_get_hfdata(self.site_id)
        self.last_response = hfdata.body
        return [hfdata.reading]


COORDINATORS: dict[str, type[LiveOneCoordinator]] = {
    VENDOR_DEMO: DemoCoordinator,
    VENDOR_SELECTRONIC: SelectronicCoordinator,
}
"""The coordinator class of each vendor type."""
