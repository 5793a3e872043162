"""What every kind's config-flow steps share; the domain's flow class is composed in :mod:`.config_flow`.

A kind's module defines a mixin subclass of :class:`LiveOneFlowBase` with ``async_step_<vendor>`` (and
any steps of its own, their ids prefixed by the kind where a clash is possible) and names it in its
:class:`~.registry.SourceKind`. This base holds the first menu (built from the registry), the dispatch of
reauthentication and *Reconfigure* to the entry's kind, and the creation of a system's entry.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
import logging
from typing import Any

from homeassistant.components.http import KEY_HASS_USER
from homeassistant.config_entries import ConfigEntry, ConfigFlow, ConfigFlowResult, OptionsFlow
from homeassistant.const import CONF_EMAIL, CONF_PASSWORD
from homeassistant.core import callback
from homeassistant.helpers.http import current_request
from homeassistant.helpers.selector import TextSelector, TextSelectorConfig, TextSelectorType
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .const import CONF_OWNER, CONF_SITE_ID, CONF_TIMEZONE_OFFSET, CONF_VENDOR, DOMAIN, LOGGER
from .registry import get_source, registered
from .vendors.model import system_key

# The sign-in form of a kind whose account is an email address and a password, and its reauth form.
CREDENTIALS_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_EMAIL): TextSelector(
            TextSelectorConfig(type=TextSelectorType.EMAIL, autocomplete="username")
        ),
        vol.Required(CONF_PASSWORD): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="current-password")
        ),
    }
)
PASSWORD_SCHEMA = vol.Schema(
    {
        vol.Required(CONF_PASSWORD): TextSelector(
            TextSelectorConfig(type=TextSelectorType.PASSWORD, autocomplete="current-password")
        )
    }
)


def email_account_key(email: str, password: str) -> tuple[str, str]:
    """Return the key of an email-and-password account in its kind's AccountPool (email case ignored)."""
    return (email.casefold(), password)


def owner_data() -> dict[str, str]:
    """Return the entry data naming the user who is adding the system, when a user is adding it.

    Home Assistant puts no user in a config flow's context, but a flow step runs inside the HTTP
    request of the user who submitted it, and HA's ``current_request`` holds that request. A flow
    started without a request (discovery, or code) has no owner; administrators manage such systems.
    """
    request = current_request.get()
    user = None if request is None else request.get(KEY_HASS_USER)
    return {} if user is None else {CONF_OWNER: user.id}


def standard_offset_minutes(now: datetime | None = None) -> int:
    """Return the standard (non-DST) UTC offset of HA's time zone, in minutes.

    Systems keep a fixed standard offset for their day boundaries, as the store's schema does.
    """
    moment = dt_util.as_local(now or dt_util.utcnow())
    standard = (moment.utcoffset() or timedelta(0)) - (moment.dst() or timedelta(0))
    return int(standard.total_seconds() // 60)


class LiveOneFlowBase(ConfigFlow):
    """The shared steps of the LiveOne config flow (no domain: the composed class has it)."""

    VERSION = 1
    DOMAIN = DOMAIN
    """The domain, as Home Assistant's OAuth2 flow helper expects on its handlers."""

    @property
    def logger(self) -> logging.Logger:
        """The logger of the flow (Home Assistant's OAuth2 flow helper logs through it)."""
        return LOGGER

    @staticmethod
    @callback
    def async_get_options_flow(config_entry: ConfigEntry[Any]) -> OptionsFlow:
        """Return the options flow of the entry's kind."""
        make = get_source(config_entry.data[CONF_VENDOR]).options_flow
        assert make is not None  # Home Assistant asks only when async_supports_options_flow said so
        return make()

    @classmethod
    @callback
    def async_supports_options_flow(cls, config_entry: ConfigEntry[Any]) -> bool:
        """Whether the entry's kind has options."""
        return get_source(config_entry.data[CONF_VENDOR]).options_flow is not None

    async def async_step_user(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Let the user choose the kind of system to add (each kind's first step has its name)."""
        return self.async_show_menu(
            step_id="user",
            menu_options=[kind.vendor for kind in registered() if kind.flow is not None and kind.in_menu],
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Ask again for the credentials the vendor refused: the entry's kind's reauth step."""
        step = get_source(entry_data[CONF_VENDOR]).reauth_step
        if step is None:
            return self.async_abort(reason="reauth_not_supported")
        result: ConfigFlowResult = await getattr(self, f"async_step_{step}")()
        return result

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Change a system's account or site: the entry's kind's reconfigure step."""
        entry = self._get_reconfigure_entry()
        step = get_source(entry.data[CONF_VENDOR]).reconfigure_step
        if step is None:
            return self.async_abort(reason="reconfigure_not_supported")
        result: ConfigFlowResult = await getattr(self, f"async_step_{step}")()
        return result

    async def async_set_system_id(self, vendor: str, site_id: str) -> None:
        """Set the flow's unique id to the system's key (``<vendor>_<site id>``)."""
        await self.async_set_unique_id(system_key(vendor, site_id))

    def async_create_system_entry(
        self, vendor: str, site_id: str, *, title: str, data: Mapping[str, Any]
    ) -> ConfigFlowResult:
        """Create a system's entry: the kind's data plus its vendor, site, standard offset and owner.

        The flow's unique id must already be the system's (:meth:`async_set_system_id`); ``data`` may
        set its own ``timezone_offset_min`` (a system in another zone), else HA's standard offset is used.
        """
        return self.async_create_entry(
            title=title,
            data={
                CONF_VENDOR: vendor,
                CONF_SITE_ID: site_id,
                CONF_TIMEZONE_OFFSET: standard_offset_minutes(),
                **data,
                **owner_data(),
            },
        )
