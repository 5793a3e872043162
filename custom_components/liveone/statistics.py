"""Long-term statistics: the store's hourly energy in Home Assistant's recorder (docs/access.md#long-term-statistics).

Each system has six external statistics, ``liveone:<vendor>_<site>_<flow>`` (flows ``solar``, ``load``,
``battery_charge``, ``battery_discharge``, ``grid_import``, ``grid_export``), hourly, in kWh, with a
running sum. The hours and their energies come from ``store/statistics.py``; this module keeps the
recorder in step with them:

* At setup, in the background: the whole stored history the first time (nothing in the recorder yet, or no
  watermark kept), otherwise the hours completed since the last import and every hour whose 5-minute rows
  were rewritten since then (a watermark on ``readings_agg_5m.created_at``, kept in ``.storage``).
* After a write of the coordinator that completes an hour or changes an hour already imported (the
  write's recomputed intervals say whether and from which hour; nothing is read for the other polls,
  and these imports do not scan for other writers' changes).
* After the daily job and after a rebuild (:func:`async_import_statistics`): the same check as at setup.

Re-importing hour ``X`` rewrites ``X`` and every later hour with new running sums, starting from the sum
the recorder holds for the hour before ``X`` (the recorder replaces a statistic's row of the same start).
A flow's series starts at its first hour with energy, so a system without a battery gets no battery
statistics; after that every complete hour has a row (an hour without data adds 0).

Recorder work runs in the recorder's executor, store work on the store's worker; imports of one system
are serialised by a lock. Without the recorder, nothing is imported.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any, Final, cast

from homeassistant.components.recorder.models import StatisticData, StatisticMeanType, StatisticMetaData
from homeassistant.components.recorder.statistics import (
    async_add_external_statistics,
    get_last_statistics,
    statistics_during_period,
)
from homeassistant.const import UnitOfEnergy
from homeassistant.core import CALLBACK_TYPE, HomeAssistant, callback
from homeassistant.helpers.recorder import get_instance
from homeassistant.helpers.storage import Store as StorageFile
from homeassistant.util import dt as dt_util, slugify
from homeassistant.util.unit_conversion import EnergyConverter

from .const import CONF_SITE_ID, CONF_VENDOR, DOMAIN, LOGGER
from .coordinator import LiveOneCoordinator
from .runtime import LiveOneConfigEntry
from .store import BatchResult, Store, StoreError
from .store.statistics import HOUR, STATISTIC_FLOWS, EnergyHour, hour_of
from .vendors.model import FLOWS, system_key

FLOW_STATISTICS: Final[Mapping[str, tuple[str, str]]] = {
    flow.key: (flow.name, f"{flow.label} energy") for flow in FLOWS
}
"""For each store flow: the statistic id's last part and the name's last words."""

STORAGE_VERSION: Final = 1


def metadata_has_unit_class() -> bool:
    """Whether the running Home Assistant's statistics metadata has ``unit_class`` (late 2025 on; 2026.11 has it).

    HA 2025.4 has ``mean_type`` (``has_mean`` is deprecated there and later removed) but not ``unit_class``,
    and its recorder rejects metadata with keys it does not know.
    """
    return "unit_class" in StatisticMetaData.__required_keys__ | StatisticMetaData.__optional_keys__


METADATA_HAS_UNIT_CLASS: Final = metadata_has_unit_class()


def statistic_system(vendor: str, site_id: str) -> str:
    """Return the ``<system>`` part of a system's statistic ids: its vendor and site id as one slug."""
    return slugify(system_key(vendor, site_id))


def statistic_metadata(statistic_id: str, name: str, *, unit_class: bool) -> StatisticMetaData:
    """Describe one energy statistic: an hourly kWh sum, no mean, imported by LiveOne.

    ``unit_class`` adds the field that newer Home Assistant releases require (see
    :func:`metadata_has_unit_class`).
    """
    metadata: dict[str, Any] = {
        "mean_type": StatisticMeanType.NONE,
        "has_sum": True,
        "name": name,
        "source": DOMAIN,
        "statistic_id": statistic_id,
        "unit_of_measurement": UnitOfEnergy.KILO_WATT_HOUR,
    }
    if unit_class:
        metadata["unit_class"] = EnergyConverter.UNIT_CLASS
    return cast("StatisticMetaData", metadata)


class StatisticsImporter:
    """Keeps one system's external statistics in step with the store."""

    def __init__(self, hass: HomeAssistant, entry: LiveOneConfigEntry, store: Store, system_id: int) -> None:
        """Prepare the importer of an entry's system (nothing is read yet)."""
        self.hass = hass
        self.entry = entry
        self.store = store
        self.system_id = system_id
        system = statistic_system(entry.data[CONF_VENDOR], entry.data[CONF_SITE_ID])
        self.statistic_ids = {
            flow: f"{DOMAIN}:{system}_{suffix}" for flow, (suffix, _) in FLOW_STATISTICS.items()
        }
        self.metadata = {
            flow: statistic_metadata(
                self.statistic_ids[flow], f"{entry.title} {words}", unit_class=METADATA_HAS_UNIT_CLASS
            )
            for flow, (_, words) in FLOW_STATISTICS.items()
        }
        self._storage: StorageFile[dict[str, int]] = StorageFile(
            hass, STORAGE_VERSION, f"{DOMAIN}.statistics_{system}"
        )
        self._lock = asyncio.Lock()
        self._loaded = False
        self._next_start: int | None = None
        """The first hour not yet imported (``None``: nothing imported)."""
        self._watermark: int | None = None
        """The newest ``created_at`` of the store's 5-minute rows at the last import."""
        self._dirty_from: int | None = None
        """The earliest hour that coordinator writes changed since the last import (says when to import;
        the watermark says what)."""
        self._newest_end: int | None = None
        self._unloaded = False
        self._uncommitted = False
        """Imports were queued in the recorder since it was last waited for."""

    # ---- triggers

    @callback
    def async_written(self, result: BatchResult) -> None:
        """Note a coordinator write; import when it completed an hour or changed one already imported."""
        if not result.intervals:
            return
        first = hour_of(result.intervals[0])
        self._dirty_from = first if self._dirty_from is None else min(self._dirty_from, first)
        newest = result.intervals[-1]
        self._newest_end = newest if self._newest_end is None else max(self._newest_end, newest)
        if self._due():
            self.async_schedule()

    @callback
    def async_schedule(self, *, check_store: bool = False) -> None:
        """Import in the background (``check_store``: even if no coordinator write asked for it)."""
        self.entry.async_create_background_task(
            self.hass, self._async_import_logged(check_store), f"{DOMAIN} statistics {self.entry.title}"
        )

    @callback
    def async_unload(self) -> None:
        """Stop importing (the entry is unloading)."""
        self._unloaded = True

    @callback
    def async_diagnostics(self) -> dict[str, Any]:
        """Return the statistic ids, where the import stands and its watermark."""
        return {
            "statistic_ids": sorted(self.statistic_ids.values()),
            "imported_until": None
            if self._next_start is None
            else dt_util.utc_from_timestamp(self._next_start).isoformat(),
            "watermark": self._watermark,
        }

    def _due(self) -> bool:
        """Whether coordinator writes since the last import need one (no reading, no I/O)."""
        if not self._loaded or self._next_start is None:
            return True
        if self._dirty_from is not None and self._dirty_from < self._next_start:
            return True  # an hour already imported changed
        return self._newest_end is not None and hour_of(self._newest_end) > self._next_start

    # ---- the import

    async def _async_import_logged(self, check_store: bool) -> None:
        try:
            await self.async_import(check_store=check_store)
        except StoreError as err:
            if self.store.closed:  # the entry unloaded while an import was under way
                LOGGER.debug("Statistics import of %s stopped: %s", self.entry.title, err)
            else:
                LOGGER.warning("Could not import %s's statistics from the store: %s", self.entry.title, err)

    async def async_import(self, *, check_store: bool, since: datetime | None = None) -> None:
        """Write every hour the recorder lacks or holds out of date, with running sums.

        Besides the hours completed since the last import and those the coordinator's writes changed,
        every hour whose 5-minute rows were written since the last import by anything else (a rebuild,
        the command line, another process) is re-imported.

        Args:
            check_store: import even if no coordinator write asked for it, and re-read where the
                recorder's statistics end.
            since: also re-import every hour from the one holding this (time-zone aware) time.

        Raises:
            StoreError: the store could not be read; what was pending is kept for the next import.

        """
        async with self._lock:
            if self._unloaded:
                return
            scan = check_store or not self._loaded
            if scan:
                await self._async_load()
            elif not self._due():
                return  # an import queued earlier already did this one's work
            dirty, self._dirty_from = self._dirty_from, None
            first = self._next_start
            if first is not None and dirty is not None:
                first = min(first, dirty)
            if first is not None and since is not None:
                first = min(first, hour_of(int(since.timestamp()) + 1))
            # A scanning import also finds the hours rewritten by anything else (a rebuild, the command
            # line) by the watermark, which then moves past them; without a watermark nothing says what
            # changed: all of it. The imports after the coordinator's own writes know what they changed
            # and skip that scan (it reads all of the system's 5-minute rows).
            changed_after = self._watermark if scan else None
            if scan and changed_after is None:
                first = None
            try:
                found = await self.store.async_energy_hours(
                    self.system_id, first=first, changed_after=changed_after, scan_changes=scan
                )
            except StoreError:
                self._dirty_from = dirty  # so that the next poll tries again
                raise
            if found.hours:
                await self._async_write(found.hours)
            if found.complete_until is not None:
                self._next_start = found.complete_until
            if found.stamp is not None and found.stamp != self._watermark:
                # Kept only once the recorder holds what it covers: a crash in between re-imports.
                await self._async_wait_for_recorder()
                self._watermark = found.stamp
                await self._storage.async_save({"watermark": found.stamp})

    async def _async_load(self) -> None:
        """Read the watermark (once) and where the recorder's statistics end."""
        if not self._loaded:
            saved = await self._storage.async_load()
            self._watermark = None if saved is None else saved.get("watermark")
        await self._async_wait_for_recorder()
        self._next_start = await get_instance(self.hass).async_add_executor_job(self._recorded_until)
        self._loaded = True

    async def _async_wait_for_recorder(self) -> None:
        """Let the recorder commit the imports queued so far, so that reading it sees their sums."""
        if self._uncommitted:
            await get_instance(self.hass).async_block_till_done()
            self._uncommitted = False

    def _recorded_until(self) -> int | None:
        """Return the hour after the last one every flow's statistic has (recorder executor)."""
        ends: list[int] = []
        for statistic_id in self.statistic_ids.values():
            rows = get_last_statistics(self.hass, 1, statistic_id, False, {"sum"}).get(statistic_id)
            if rows:
                ends.append(int(rows[0]["start"]) + HOUR)
        return min(ends) if ends else None

    def _sums_before(self, start: int) -> dict[str, float]:
        """Return each flow's running sum at the end of the hour before ``start`` (recorder executor)."""
        found = statistics_during_period(
            self.hass,
            dt_util.utc_from_timestamp(start - HOUR),
            dt_util.utc_from_timestamp(start),
            set(self.statistic_ids.values()),
            "hour",
            None,
            {"sum"},
        )
        sums: dict[str, float] = {}
        for flow, statistic_id in self.statistic_ids.items():
            rows = found.get(statistic_id)
            if rows and (value := rows[0].get("sum")) is not None:
                sums[flow] = float(value)
        return sums

    def _statistics_rows(self, hours: tuple[EnergyHour, ...]) -> dict[str, list[StatisticData]]:
        """Return each flow's rows for consecutive hours, its sum running on from the recorder's.

        Runs in the recorder's executor: a first import builds thousands of rows.
        """
        bases = self._sums_before(hours[0].start)
        result: dict[str, list[StatisticData]] = {}
        for index, flow in enumerate(STATISTIC_FLOWS):
            total = bases.get(flow)
            rows: list[StatisticData] = []
            for hour in hours:
                kwh = hour.kwh[index]
                if total is None and kwh is None:
                    continue  # the flow has no statistics yet, and no energy this hour
                total = (total or 0.0) + (kwh or 0.0)
                rows.append(
                    StatisticData(start=dt_util.utc_from_timestamp(hour.start), state=total, sum=total)
                )
            if rows:
                result[flow] = rows
        return result

    async def _async_write(self, hours: tuple[EnergyHour, ...]) -> None:
        """Import consecutive hours (the recorder replaces rows it holds for the same hours)."""
        await self._async_wait_for_recorder()
        rows = await get_instance(self.hass).async_add_executor_job(self._statistics_rows, hours)
        for flow, flow_rows in rows.items():
            async_add_external_statistics(self.hass, self.metadata[flow], flow_rows)
            self._uncommitted = True
        LOGGER.debug(
            "Imported %d hours of %s's statistics from %s",
            len(hours),
            self.entry.title,
            dt_util.utc_from_timestamp(hours[0].start).isoformat(),
        )


@callback
def async_setup_statistics(
    hass: HomeAssistant, entry: LiveOneConfigEntry, coordinator: LiveOneCoordinator
) -> StatisticsImporter | None:
    """Start keeping an entry's statistics: an import now (in the background), then after writes.

    Returns the importer, for the entry's runtime data; ``None`` (nothing to do) when the recorder is not
    loaded. Everything stops when the entry unloads.
    """
    if "recorder" not in hass.config.components:
        LOGGER.debug("No recorder: %s's energy is not imported as statistics", entry.title)
        return None
    importer = StatisticsImporter(hass, entry, coordinator.store, coordinator.system_id)
    remove_listener: CALLBACK_TYPE = coordinator.async_add_write_listener(importer.async_written)
    entry.async_on_unload(remove_listener)
    entry.async_on_unload(importer.async_unload)
    importer.async_schedule(check_store=True)
    return importer


async def async_import_statistics(
    hass: HomeAssistant, entry: LiveOneConfigEntry, *, since: datetime | None = None
) -> None:
    """Bring an entry's statistics up to date with the store now (after a rebuild, the daily job).

    Re-imports every hour whose 5-minute rows were written since the last import, and every hour from
    ``since`` when given. Does nothing when the recorder is not loaded or the entry is not.

    Raises:
        StoreError: the store could not be read.

    """
    runtime = getattr(entry, "runtime_data", None)
    importer = None if runtime is None else runtime.statistics
    if importer is not None:
        await importer.async_import(check_store=True, since=since)
