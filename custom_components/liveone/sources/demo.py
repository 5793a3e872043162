"""The built-in simulated system (``demo``): no account, no network, one reading a minute.

Its client is :mod:`..vendors.demo`; this module is its coordinator, its config-flow step and its
declaration in the registry.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from homeassistant.config_entries import ConfigEntry, ConfigFlowResult
from homeassistant.const import CONF_LATITUDE, CONF_LONGITUDE, CONF_NAME
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
)
from homeassistant.util import dt as dt_util, slugify
import voluptuous as vol

from ..const import CONF_SITE_ID, CONF_TIMEZONE_OFFSET, LOGGER
from ..coordinator import PollingCoordinator
from ..flow import LiveOneFlowBase
from ..registry import SourceKind
from ..vendors.demo import DemoClient, DemoSite, site_details
from ..vendors.model import Batch, Reading

VENDOR: Final = "demo"

CONF_BACKFILL_DAYS: Final = "backfill_days"
DEFAULT_BACKFILL_DAYS: Final = 2
MAX_BACKFILL_DAYS: Final = 30

DEMO_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_NAME, default="Demo Home"): TextSelector(),
        vol.Required(CONF_BACKFILL_DAYS, default=DEFAULT_BACKFILL_DAYS): NumberSelector(
            NumberSelectorConfig(min=0, max=MAX_BACKFILL_DAYS, step=1, mode=NumberSelectorMode.BOX)
        ),
    }
)


def demo_site(entry: ConfigEntry[Any]) -> DemoSite:
    """Return the simulated site of an entry (seeded by its site id, placed where HA was)."""
    return DemoSite(
        seed=entry.data[CONF_SITE_ID],
        latitude=float(entry.data[CONF_LATITUDE]),
        longitude=float(entry.data[CONF_LONGITUDE]),
        tz_offset_min=entry.data[CONF_TIMEZONE_OFFSET],
    )


class DemoCoordinator(PollingCoordinator):
    """Simulate the readings of every minute since the last poll."""

    client: DemoClient

    @classmethod
    def system_details(cls, entry: ConfigEntry[Any]) -> Mapping[str, str | None]:
        """Return the simulated system's made-up model, serial and sizes."""
        return site_details(demo_site(entry))

    async def _async_prepare(self) -> None:
        """Resume the simulation from the newest stored reading, or backfill history for a new system."""
        stored = await self.store.async_latest_reading(self.system_id)
        self.client = DemoClient(
            demo_site(self.config_entry), resume_from=None if stored is None else stored.reading
        )
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

    async def _async_fetch(self) -> Batch:
        """Return the simulated readings of every minute since the last poll."""
        readings = await self.client.async_get_readings(dt_util.utcnow().timestamp())
        return Batch(readings=tuple(readings))


def _simulate(client: DemoClient, start: int, end: int) -> list[Reading]:
    return list(client.system.readings_between(start, end))


class DemoFlow(LiveOneFlowBase):
    """The simulated system's config-flow step."""

    async def async_step_demo(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Add a simulated system; it needs no account and reaches no network."""
        errors: dict[str, str] = {}
        if user_input is not None:
            name = user_input[CONF_NAME].strip()
            site_id = slugify(name)
            # HA's slugify turns a name with no letters or digits into "unknown": refuse those.
            if not any(character.isalnum() for character in name):
                errors[CONF_NAME] = "invalid_name"
            else:
                await self.async_set_system_id(VENDOR, site_id)
                self._abort_if_unique_id_configured()
                return self.async_create_system_entry(
                    VENDOR,
                    site_id,
                    title=name,
                    data={
                        CONF_BACKFILL_DAYS: int(user_input[CONF_BACKFILL_DAYS]),
                        CONF_LATITUDE: self.hass.config.latitude,
                        CONF_LONGITUDE: self.hass.config.longitude,
                    },
                )
        return self.async_show_form(
            step_id="demo",
            data_schema=self.add_suggested_values_to_schema(DEMO_SCHEMA, user_input),
            errors=errors,
        )


SOURCE: Final = SourceKind(
    vendor=VENDOR,
    manufacturer="LiveOne (simulated)",
    coordinator=DemoCoordinator,
    flow=DemoFlow,
)
