"""Config flow: pick the vendor, then the vendor's own steps. One entry per (vendor, site)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from homeassistant.config_entries import ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_LATITUDE, CONF_LONGITUDE, CONF_NAME
from homeassistant.helpers.selector import (
    NumberSelector,
    NumberSelectorConfig,
    NumberSelectorMode,
    TextSelector,
)
from homeassistant.util import dt as dt_util, slugify
import voluptuous as vol

from .const import (
    CONF_BACKFILL_DAYS,
    CONF_SITE_ID,
    CONF_TIMEZONE_OFFSET,
    CONF_VENDOR,
    DEFAULT_BACKFILL_DAYS,
    DOMAIN,
    MAX_BACKFILL_DAYS,
    VENDOR_DEMO,
)

# The vendors the first step offers; each has an ``async_step_<vendor>``.
VENDORS: list[str] = [VENDOR_DEMO]

DEMO_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_NAME, default="Demo Home"): TextSelector(),
        vol.Required(CONF_BACKFILL_DAYS, default=DEFAULT_BACKFILL_DAYS): NumberSelector(
            NumberSelectorConfig(min=0, max=MAX_BACKFILL_DAYS, step=1, mode=NumberSelectorMode.BOX)
        ),
    }
)


def standard_offset_minutes(now: datetime | None = None) -> int:
    """Return the standard (non-DST) UTC offset of HA's time zone, in minutes.

    Systems keep a fixed standard offset for their day boundaries, as the store's schema does.
    """
    moment = dt_util.as_local(now or dt_util.utcnow())
    standard = (moment.utcoffset() or timedelta(0)) - (moment.dst() or timedelta(0))
    return int(standard.total_seconds() // 60)


class LiveOneConfigFlow(ConfigFlow, domain=DOMAIN):
    """Add a LiveOne system."""

    VERSION = 1

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Let the user choose the kind of system to add."""
        return self.async_show_menu(step_id="user", menu_options=VENDORS)

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
                await self.async_set_unique_id(f"{VENDOR_DEMO}_{site_id}")
                self._abort_if_unique_id_configured()
                return self.async_create_entry(
                    title=name,
                    data={
                        CONF_VENDOR: VENDOR_DEMO,
                        CONF_SITE_ID: site_id,
                        CONF_BACKFILL_DAYS: int(user_input[CONF_BACKFILL_DAYS]),
                        CONF_TIMEZONE_OFFSET: standard_offset_minutes(),
                        CONF_LATITUDE: self.hass.config.latitude,
                        CONF_LONGITUDE: self.hass.config.longitude,
                    },
                )
        return self.async_show_form(
            step_id="demo",
            data_schema=self.add_suggested_values_to_schema(DEMO_SCHEMA, user_input),
            errors=errors,
        )
