"""Coordinators: one per system, in three shapes that share one way of storing and showing data.

:class:`LiveOneCoordinator` holds what every kind shares: the store, the system's registration, storing
one :class:`~.vendors.model.Batch` per poll, push or derivation in one transaction, keeping what the
store could not write for the next try, polling status and sessions, the daily aggregation and the
write listeners (statistics, derived systems). A kind's module subclasses one of the three shapes:

- :class:`PollingCoordinator`: asks the vendor every ``update_interval``; a kind may change the interval
  poll by poll (a request budget) with :meth:`PollingCoordinator.next_interval`, and a vendor's
  ``RateLimited.retry_after`` delays the next poll by that long.
- :class:`PushCoordinator`: no interval; a receiver (a webhook) hands it batches with
  :meth:`PushCoordinator.async_receive`; its entities go unavailable after ``silence`` without a push.
- :class:`DerivedCoordinator`: no interval; fed by other systems' write results through
  :meth:`DerivedCoordinator.async_source_written`.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
import functools
import time
from typing import TYPE_CHECKING, Any, ClassVar

from homeassistant.config_entries import ConfigEntry
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.exceptions import ConfigEntryAuthFailed
from homeassistant.helpers.event import async_call_later
from homeassistant.helpers.update_coordinator import DataUpdateCoordinator, UpdateFailed
from homeassistant.util import dt as dt_util

from .const import (
    CONF_OWNER,
    CONF_SITE_ID,
    CONF_TIMEZONE_OFFSET,
    CONF_VENDOR,
    DEFAULT_SCAN_INTERVAL,
    DOMAIN,
    LOGGER,
)
from .store import BatchResult, Store, StoreError, SystemInfo
from .vendors.model import AuthError, Batch, RateLimited, Reading, VendorError, time_problem

if TYPE_CHECKING:
    from .runtime import LiveOneConfigEntry

# Readings kept in memory while the store cannot write them (a day of 1-minute polls).
MAX_PENDING_READINGS = 1440


@dataclass(frozen=True, slots=True)
class LiveOneData:
    """What entities show: the newest reading and when it was received."""

    reading: Reading
    received_time: datetime
    unavailable: frozenset[str] = frozenset()
    """Keys of the entities that cannot show a value now (a derived system's source is not loaded)."""

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


def _vendor_failed(err: VendorError) -> UpdateFailed:
    return UpdateFailed(
        translation_domain=DOMAIN,
        translation_key="update_failed",
        translation_placeholders={"error": str(err) or type(err).__name__},
    )


class LiveOneCoordinator(DataUpdateCoordinator[LiveOneData | None]):
    """One system: store every batch its source produces, keep the newest reading for entities.

    ``data`` is ``None`` only for a push or derived system that has received nothing yet; a polling
    system's first poll must bring (or find stored) a reading, or setup is retried.
    """

    config_entry: LiveOneConfigEntry

    cause: ClassVar[str] = "POLL"
    """The ``sessions.cause`` of this shape's writes."""

    transient_grace_polls: ClassVar[int] = 0
    """Consecutive failed polls (other than refused credentials) that keep the last reading shown.

    0 makes entities unavailable at the first failure. A vendor whose service has known short outages
    sets more, so that a burst does not flap every automation that uses its entities; Home Assistant
    then logs once when the failure outlasts the grace and once when polling recovers.
    """

    refuse_stored: ClassVar[bool] = False
    """Refuse a whole batch when one of its readings' times is already stored (see the store's
    ``async_record_batch``): a push kind whose sender is told "already stored" sets it; the write's
    result then lists the times in ``already_stored``. Not applied while readings wait for a retry."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: LiveOneConfigEntry,
        store: Store,
        system_id: int,
        *,
        info: SystemInfo,
        update_interval: timedelta | None = None,
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
        self._cause = self.cause
        self.vendor: str = entry.data[CONF_VENDOR]
        self.site_id: str = entry.data[CONF_SITE_ID]
        self.tz_offset_min: int = entry.data[CONF_TIMEZONE_OFFSET]
        self.info = info
        self._pending: list[Reading] = []
        self._store_failing = False
        self._write_listeners: list[Callable[[BatchResult], None]] = []

    @callback
    def async_add_write_listener(self, listener: Callable[[BatchResult], None]) -> CALLBACK_TYPE:
        """Call ``listener`` with the result of every successful store write; return its remover."""
        self._write_listeners.append(listener)
        return functools.partial(self._write_listeners.remove, listener)

    @classmethod
    def system_details(cls, entry: ConfigEntry[Any]) -> Mapping[str, str | None]:
        """Return what the vendor says about the system: model, serial, ratings, solar/battery size."""
        return {}

    @classmethod
    def system_info(cls, entry: ConfigEntry[Any]) -> SystemInfo:
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
        """Prepare the source, then aggregate any day that finished while HA was down."""
        try:
            await self._async_prepare()
            await self.async_run_daily_aggregation()
        except StoreError as err:
            raise _store_failed(err) from err

    async def _async_prepare(self) -> None:
        """Prepare the source before the first update (log in, resume state, backfill)."""

    async def _async_update_data(self) -> LiveOneData | None:
        """Show what is shown, else the newest stored reading: a push or derived system is never asked.

        Runs at setup and for ``poll_now``; :class:`PollingCoordinator` asks its vendor instead.
        """
        return self.data or await self._async_stored_data()

    # ---- storing

    async def _async_store(self, started: float, batch: Batch) -> BatchResult | None:
        """Write a batch to the store; if the store fails, keep its readings for the next write.

        A store failure does not make entities unavailable (the vendor's data is good); it is logged
        once when it starts and once when it ends, and nothing is lost unless it lasts a whole day.
        Returns the write's result, or ``None`` when the store failed.
        """
        readings = (*self._pending, *batch.readings)
        try:
            result = await self.store.async_record_batch(
                self.system_id,
                self.vendor,
                Batch(readings=readings, intervals=batch.intervals, points=batch.points, raw=batch.raw),
                cause=self._cause,
                started=started,
                now=dt_util.utcnow().timestamp(),
                refuse_stored=self.refuse_stored and not self._pending,
            )
        except StoreError as err:
            self._pending = list(readings[-MAX_PENDING_READINGS:])
            if not self._store_failing:
                LOGGER.error(
                    "Cannot write %s's readings to the LiveOne store (kept %d for a retry): %s",
                    self.config_entry.title,
                    len(self._pending),
                    err,
                )
                self._store_failing = True
            return None
        self._pending = []
        if self._store_failing:
            LOGGER.info("The LiveOne store accepts %s's readings again", self.config_entry.title)
            self._store_failing = False
        for listener in list(self._write_listeners):
            listener(result)
        return result

    async def _async_record_failure(self, started: float, err: VendorError) -> None:
        try:
            await self.store.async_record_batch(
                self.system_id,
                self.vendor,
                Batch(),
                cause=self._cause,
                started=started,
                error=f"{type(err).__name__}: {err}",
                now=dt_util.utcnow().timestamp(),
            )
        except StoreError as store_err:
            LOGGER.debug("Could not record the failed poll: %s", store_err)

    def _newer(self, batch: Batch) -> LiveOneData | None:
        """Return the batch's newest reading as data when it is newer than what is shown, else ``None``."""
        # Only a reading the store accepts may become the entities' newest (not one from 2036).
        now = dt_util.utcnow().timestamp()
        accepted = (reading for reading in batch.readings if time_problem(reading.inverter_time, now) is None)
        newest = max(accepted, key=lambda reading: reading.inverter_time, default=None)
        current = self.data
        if newest is not None and (current is None or newest.inverter_time > current.reading.inverter_time):
            return LiveOneData(reading=newest.normalized(), received_time=dt_util.utcnow())
        return None

    async def _async_stored_data(self) -> LiveOneData | None:
        """Return the newest stored reading (``None``: nothing stored yet).

        A first update that brings nothing new shows it: after a restart when the inverter has not
        moved on, right after a backfill, or a push system before its first push after a restart.
        """
        try:
            stored = await self.store.async_latest_reading(self.system_id)
        except StoreError as err:
            raise _store_failed(err) from err
        if stored is None:
            return None
        received = stored.received_time or stored.reading.inverter_time
        return LiveOneData(reading=stored.reading, received_time=datetime.fromtimestamp(received, UTC))

    async def async_poll_now(self) -> None:
        """Update at once for a user (``liveone.poll_now``); its session row says cause ``USER``."""
        self._cause = "USER"
        try:
            await self.async_refresh()
        finally:
            self._cause = self.cause

    async def async_run_daily_aggregation(self) -> list[str]:
        """Compute the daily rows of every finished day that lacks one (the 00:05 job)."""
        days = await self.store.async_catch_up_days(self.system_id, self.local_today())
        if days:
            LOGGER.debug("Aggregated %s for %s", ", ".join(days), self.config_entry.title)
        return days


class PollingCoordinator(LiveOneCoordinator):
    """A system whose vendor is asked for new data at an interval."""

    default_interval: ClassVar[timedelta] = DEFAULT_SCAN_INTERVAL
    """The interval between polls unless :meth:`next_interval` says otherwise."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: LiveOneConfigEntry,
        store: Store,
        system_id: int,
        *,
        info: SystemInfo,
    ) -> None:
        """Set up the coordinator with the kind's default interval."""
        super().__init__(hass, entry, store, system_id, info=info, update_interval=self.default_interval)
        self._failed_polls = 0

    @abstractmethod
    async def _async_fetch(self) -> Batch:
        """Return the vendor's new data; raise a ``VendorError`` on failure."""

    def next_interval(self) -> timedelta:
        """Return the wait before the next poll (called after each poll; a budgeted kind overrides it)."""
        return self.default_interval

    async def _async_update_data(self) -> LiveOneData | None:
        """Poll the vendor, store what it returned, and return the newest reading."""
        started = time.time()
        try:
            batch = await self._async_fetch()
        except VendorError as err:
            self.update_interval = self._interval_after(err)
            return await self._async_failed(started, err)
        self.update_interval = self.next_interval()
        self._failed_polls = 0
        await self._async_store(started, batch)
        if (newer := self._newer(batch)) is not None:
            return newer
        if self.data is not None:
            return self.data  # no new data: not an error
        if (stored := await self._async_stored_data()) is None:
            raise UpdateFailed(translation_domain=DOMAIN, translation_key="no_data")
        return stored

    async def _async_failed(self, started: float, err: VendorError) -> LiveOneData | None:
        """Record a failed poll; keep the last reading shown within the grace, else fail the update."""
        await self._async_record_failure(started, err)
        if isinstance(err, AuthError):
            raise ConfigEntryAuthFailed(translation_domain=DOMAIN, translation_key="auth_failed") from err
        self._failed_polls += 1
        shown = self.data
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
        raise _vendor_failed(err) from err

    def _interval_after(self, err: VendorError) -> timedelta:
        """Return the wait before the poll after a failed one: never sooner than the vendor asked."""
        interval = self.next_interval()
        if isinstance(err, RateLimited) and err.retry_after is not None:
            interval = max(interval, timedelta(seconds=err.retry_after))
        return interval


class PushCoordinator(LiveOneCoordinator):
    """A system that sends its data (a webhook); nothing is polled.

    Entities go unavailable when no push arrived for :attr:`silence`; the log says so once, and once
    when pushes are back.
    """

    cause: ClassVar[str] = "PUSH"
    silence: ClassVar[timedelta] = timedelta(minutes=10)
    """How long without a push before the system counts as gone."""

    def __init__(
        self,
        hass: HomeAssistant,
        entry: LiveOneConfigEntry,
        store: Store,
        system_id: int,
        *,
        info: SystemInfo,
    ) -> None:
        """Set up a coordinator that never polls."""
        super().__init__(hass, entry, store, system_id, info=info)
        self._unsub_silence: CALLBACK_TYPE | None = None
        self._silent = False

    async def async_receive(self, batch: Batch) -> BatchResult | None:
        """Store a pushed batch and show its newest reading; return the write's result."""
        result = await self._async_store(time.time(), batch)
        self._arm_silence()
        if self._silent:
            LOGGER.info("%s is sending data again", self.config_entry.title)
            self._silent = False
        newer = self._newer(batch)
        if newer is not None or not self.last_update_success:
            self.async_set_updated_data(newer or self.data)
        return result

    @callback
    def _arm_silence(self) -> None:
        if self._unsub_silence is not None:
            self._unsub_silence()
        self._unsub_silence = async_call_later(self.hass, self.silence, self._async_silent)

    @callback
    def _async_silent(self, _now: datetime) -> None:
        self._unsub_silence = None
        self._silent = True
        LOGGER.warning(
            "%s has sent no data for %s; its entities are unavailable until it does",
            self.config_entry.title,
            self.silence,
        )
        self.last_update_success = False
        self.async_update_listeners()

    async def async_shutdown(self) -> None:
        """Stop the silence timer with the coordinator."""
        if self._unsub_silence is not None:
            self._unsub_silence()
            self._unsub_silence = None
        await super().async_shutdown()


class DerivedCoordinator(LiveOneCoordinator):
    """A system computed from other systems (a composite): fed by their write results."""

    cause: ClassVar[str] = "DERIVED"

    @abstractmethod
    async def _async_derive(self, source_system_id: int, result: BatchResult) -> Batch:
        """Return what a source's write changes in this system (readings or 5-minute intervals)."""

    async def async_source_written(self, source_system_id: int, result: BatchResult) -> BatchResult | None:
        """Derive and store this system's data after a source's write; return this write's result."""
        started = time.time()
        try:
            batch = await self._async_derive(source_system_id, result)
        except StoreError as err:
            LOGGER.warning("Could not read %s's sources from the store: %s", self.config_entry.title, err)
            return None
        written = await self._async_store(started, batch)
        if (newer := self._newer(batch)) is not None:
            self.async_set_updated_data(newer)
        return written
