"""LiveOne: home solar and battery systems, with a bundled history store."""

from __future__ import annotations

from datetime import datetime

from homeassistant.const import Platform
from homeassistant.core import HomeAssistant
from homeassistant.exceptions import ConfigEntryNotReady
from homeassistant.helpers import config_validation as cv, issue_registry as ir
from homeassistant.helpers.event import async_track_utc_time_change
from homeassistant.helpers.typing import ConfigType
from homeassistant.util.hass_dict import HassKey
import voluptuous as vol

from . import sources  # noqa: F401  (importing the package registers every kind)
from .const import (
    CONF_DB_URL,
    CONF_SITE_ID,
    CONF_VENDOR,
    DAILY_JOB_MINUTE_OF_DAY,
    DOMAIN,
    LOGGER,
)
from .panel import async_register_panel
from .registry import get_source
from .runtime import LiveOneConfigEntry, LiveOneRuntimeData
from .services import async_register_services
from .shared_store import async_acquire_store, async_release_store, async_set_store_url
from .statistics import async_import_statistics, async_setup_statistics
from .store import StoreError
from .store.engine import parse_url
from .store.systems import STATUS_REMOVED
from .views import HistoryView
from .websocket import async_register_websocket_commands

PLATFORMS: list[Platform] = [Platform.BINARY_SENSOR, Platform.SENSOR]

ISSUE_INVALID_DB_URL = "invalid_db_url"

# Raw-reading retention (liveone: keep_raw_days: N): a store-wide setting, like db_url; see README.
CONF_KEEP_RAW_DAYS = "keep_raw_days"
DATA_KEEP_RAW_DAYS: HassKey[int] = HassKey("liveone_keep_raw_days")

CONFIG_SCHEMA = vol.Schema(
    {
        DOMAIN: vol.Schema(
            {
                vol.Optional(CONF_DB_URL): cv.string,
                vol.Optional(CONF_KEEP_RAW_DAYS): vol.All(vol.Coerce(int), vol.Range(min=1)),
            }
        )
    },
    extra=vol.ALLOW_EXTRA,
)


async def async_setup(hass: HomeAssistant, config: ConfigType) -> bool:
    """Read the store's URL (the SQLite file when absent); register the history doors and actions."""
    url = config.get(DOMAIN, {}).get(CONF_DB_URL)
    if url is not None:
        # The URL's form is checked now (no I/O); whether the database answers is checked when the
        # first entry opens the store, off the event loop.
        try:
            parse_url(url)
        except StoreError as err:
            LOGGER.error("Invalid db_url for LiveOne in configuration.yaml: %s", err)
            ir.async_create_issue(
                hass,
                DOMAIN,
                ISSUE_INVALID_DB_URL,
                is_fixable=False,
                severity=ir.IssueSeverity.ERROR,
                translation_key=ISSUE_INVALID_DB_URL,
                translation_placeholders={"error": str(err)},
            )
            return False
    ir.async_delete_issue(hass, DOMAIN, ISSUE_INVALID_DB_URL)
    async_set_store_url(hass, url)
    if (keep_raw_days := config.get(DOMAIN, {}).get(CONF_KEEP_RAW_DAYS)) is not None:
        hass.data[DATA_KEEP_RAW_DAYS] = keep_raw_days
    async_register_services(hass)
    async_register_websocket_commands(hass)
    hass.http.register_view(HistoryView())
    await async_register_panel(hass)
    return True


def _store_not_ready(err: StoreError) -> ConfigEntryNotReady:
    return ConfigEntryNotReady(
        translation_domain=DOMAIN,
        translation_key="store_unavailable",
        translation_placeholders={"error": str(err)},
    )


async def async_setup_entry(hass: HomeAssistant, entry: LiveOneConfigEntry) -> bool:
    """Register the system in the store, update it once, then add its entities."""
    kind = get_source(entry.data[CONF_VENDOR])
    try:
        store = await async_acquire_store(hass)
    except StoreError as err:
        raise _store_not_ready(err) from err
    try:
        info = kind.coordinator.system_info(entry)
        try:
            system_id = await store.async_ensure_system(info)
        except StoreError as err:
            raise _store_not_ready(err) from err
        coordinator = kind.coordinator(hass, entry, store, system_id, info=info)
        await coordinator.async_config_entry_first_refresh()
    except BaseException:
        await async_release_store(hass)
        raise

    entry.runtime_data = LiveOneRuntimeData(coordinator=coordinator)
    if kind.async_setup_entry is not None:
        await kind.async_setup_entry(hass, entry)

    # The daily aggregation runs at 00:05 of the system's own (fixed, standard) local time.
    utc_minute = (DAILY_JOB_MINUTE_OF_DAY - coordinator.tz_offset_min) % 1440

    async def _daily_job(_now: datetime) -> None:
        try:
            await coordinator.async_run_daily_aggregation()
            await async_import_statistics(hass, entry)
            if (keep_raw_days := hass.data.get(DATA_KEEP_RAW_DAYS)) is not None:
                await coordinator.store.async_purge_raw(
                    coordinator.system_id, keep_raw_days, coordinator.local_today()
                )
        except StoreError as err:
            LOGGER.error("Daily aggregation of %s failed: %s", entry.title, err)

    entry.async_on_unload(
        async_track_utc_time_change(hass, _daily_job, hour=utc_minute // 60, minute=utc_minute % 60, second=0)
    )
    await hass.config_entries.async_forward_entry_setups(entry, PLATFORMS)
    entry.runtime_data.statistics = async_setup_statistics(hass, entry, coordinator)
    return True


async def async_unload_entry(hass: HomeAssistant, entry: LiveOneConfigEntry) -> bool:
    """Remove the system's entities and timers; the store closes with its last user."""
    if unloaded := await hass.config_entries.async_unload_platforms(entry, PLATFORMS):
        await async_release_store(hass)
    return unloaded


async def async_remove_entry(hass: HomeAssistant, entry: LiveOneConfigEntry) -> None:
    """Mark the system removed and drop who may see it; its history is kept for when it comes back."""
    if (remove_hook := get_source(entry.data[CONF_VENDOR]).async_remove_entry) is not None:
        await remove_hook(hass, entry)
    store = await async_acquire_store(hass)
    try:
        system_id = await store.async_find_system(entry.data[CONF_VENDOR], entry.data[CONF_SITE_ID])
        if system_id is not None:
            await store.async_set_status(system_id, STATUS_REMOVED)
            await store.async_revoke_all(system_id)
    except StoreError as err:
        LOGGER.warning("Could not mark %s removed in the LiveOne store: %s", entry.title, err)
    finally:
        await async_release_store(hass)
