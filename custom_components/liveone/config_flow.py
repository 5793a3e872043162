"""Config flow: pick the vendor, then the vendor's own steps. One entry per (vendor, site)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from homeassistant.components.http import KEY_HASS_USER
from homeassistant.config_entries import SOURCE_RECONFIGURE, ConfigFlow, ConfigFlowResult
from homeassistant.const import CONF_EMAIL, CONF_LATITUDE, CONF_LONGITUDE, CONF_NAME, CONF_PASSWORD
from homeassistant.helpers.http import current_request
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
from homeassistant.util import dt as dt_util, slugify
import voluptuous as vol

from .accounts import async_find_selectlive, new_selectlive
from .const import (
    CONF_BACKFILL_DAYS,
    CONF_DETAILS,
    CONF_OWNER,
    CONF_SITE_ID,
    CONF_SYSTEM_NUMBER,
    CONF_TIMEZONE_OFFSET,
    CONF_VENDOR,
    DEFAULT_BACKFILL_DAYS,
    DOMAIN,
    LOGGER,
    MAX_BACKFILL_DAYS,
    VENDOR_DEMO,
    VENDOR_SELECTRONIC,
)
from .vendors.model import AuthError, VendorError
from .vendors.selectronic import SelectLiveAccount, SelectLiveSystem


def _owner() -> dict[str, str]:
    """Return the entry data naming the user who is adding the system, when a user is adding it.

    Home Assistant puts no user in a config flow's context, but a flow step runs inside the HTTP
    request of the user who submitted it, and HA's ``current_request`` holds that request. A flow
    started without a request (discovery, or code) has no owner; administrators manage such systems.
    """
    request = current_request.get()
    user = None if request is None else request.get(KEY_HASS_USER)
    return {} if user is None else {CONF_OWNER: user.id}


# The vendors the first step offers; each has an ``async_step_<vendor>``.
VENDORS: list[str] = [VENDOR_SELECTRONIC, VENDOR_DEMO]

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

    def __init__(self) -> None:
        """Start with no account."""
        self._account: SelectLiveAccount | None = None
        self._credentials: dict[str, str] = {}
        self._systems: list[SelectLiveSystem] = []

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
                        **_owner(),
                    },
                )
        return self.async_show_form(
            step_id="demo",
            data_schema=self.add_suggested_values_to_schema(DEMO_SCHEMA, user_input),
            errors=errors,
        )

    async def _async_selectlive_login(self, email: str, password: str) -> dict[str, str]:
        """Log in (or reuse the logged-in account of another system) and list the account's systems.

        Returns the form errors; empty when the account is ready in ``self._account``.
        """
        account = async_find_selectlive(self.hass, email, password) or new_selectlive(
            self.hass, email, password
        )
        try:
            await account.async_login()
            self._systems = await account.async_list_systems()
        except AuthError:
            return {"base": "invalid_auth"}
        except VendorError as err:
            LOGGER.debug("Select.Live could not be reached: %s", err)
            return {"base": "cannot_connect"}
        except Exception:  # noqa: BLE001  (a config flow reports anything else as "unknown")
            LOGGER.exception("Unexpected error logging in to Select.Live")
            return {"base": "unknown"}
        self._account = account
        self._credentials = {CONF_EMAIL: email, CONF_PASSWORD: password}
        return {}

    async def async_step_selectronic(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the Select.Live account and test it."""
        return await self._async_credentials_step("selectronic", user_input, user_input)

    async def _async_credentials_step(
        self, step_id: str, user_input: dict[str, Any] | None, suggested: Mapping[str, Any] | None
    ) -> ConfigFlowResult:
        """Show the account form; once the account works, go on to pick the system."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = await self._async_selectlive_login(
                user_input[CONF_EMAIL].strip(), user_input[CONF_PASSWORD]
            )
            if not errors:
                return await self.async_step_pick_system()
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(CREDENTIALS_SCHEMA, suggested),
            errors=errors,
        )

    async def async_step_pick_system(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Pick one of the account's systems (or type its number when none was listed)."""
        assert self._account is not None
        errors: dict[str, str] = {}
        if user_input is not None:
            number = str(user_input[CONF_SYSTEM_NUMBER]).strip()
            if not number.isdigit():
                errors[CONF_SYSTEM_NUMBER] = "invalid_system_number"
            else:
                try:
                    await self._account.async_get_hfdata(number)
                except AuthError:
                    errors["base"] = "invalid_auth"
                except VendorError as err:
                    LOGGER.debug("System %s could not be read: %s", number, err)
                    errors["base"] = "system_unreadable"
                else:
                    return await self._async_finish_selectronic(number, await self._async_details(number))
        if self._systems:
            field: Any = SelectSelector(
                SelectSelectorConfig(
                    options=[
                        SelectOptionDict(
                            value=system.number,
                            label=f"{system.name} ({system.number})" if system.name else system.number,
                        )
                        for system in self._systems
                    ],
                    mode=SelectSelectorMode.LIST,
                )
            )
        else:
            field = TextSelector()
        return self.async_show_form(
            step_id="pick_system",
            data_schema=vol.Schema({vol.Required(CONF_SYSTEM_NUMBER): field}),
            errors=errors,
            description_placeholders={"count": str(len(self._systems))},
        )

    async def _async_details(self, number: str) -> dict[str, str | None]:
        """Read the system's model, serial and sizes; the system is added without them if that fails."""
        assert self._account is not None
        try:
            return asdict(await self._account.async_system_details(number))
        except VendorError as err:
            LOGGER.debug("No details for system %s: %s", number, err)
            return {}

    async def _async_finish_selectronic(
        self, number: str, details: dict[str, str | None]
    ) -> ConfigFlowResult:
        assert self._account is not None
        name = next((s.name for s in self._systems if s.number == number and s.name), None)
        data = {
            CONF_VENDOR: VENDOR_SELECTRONIC,
            CONF_SITE_ID: number,
            **self._credentials,
            CONF_DETAILS: details,
        }
        await self.async_set_unique_id(f"{VENDOR_SELECTRONIC}_{number}")
        if self.source == SOURCE_RECONFIGURE:
            entry = self._get_reconfigure_entry()
            if self.unique_id != entry.unique_id:
                self._abort_if_unique_id_configured()
            return self.async_update_reload_and_abort(entry, unique_id=self.unique_id, data_updates=data)
        self._abort_if_unique_id_configured()
        return self.async_create_entry(
            title=name or f"Selectronic {number}",
            data={**data, CONF_TIMEZONE_OFFSET: standard_offset_minutes(), **_owner()},
        )

    async def async_step_reauth(self, entry_data: Mapping[str, Any]) -> ConfigFlowResult:
        """Select.Live refused the stored password: ask for the new one."""
        return await self.async_step_reauth_confirm()

    async def async_step_reauth_confirm(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Test the new password and reload the system with it."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = await self._async_selectlive_login(entry.data[CONF_EMAIL], user_input[CONF_PASSWORD])
            if not errors:
                return self.async_update_reload_and_abort(
                    entry, data_updates={CONF_PASSWORD: user_input[CONF_PASSWORD]}
                )
        return self.async_show_form(
            step_id="reauth_confirm",
            data_schema=PASSWORD_SCHEMA,
            errors=errors,
            description_placeholders={"email": entry.data[CONF_EMAIL]},
        )

    async def async_step_reconfigure(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Change a Selectronic system's account or system number."""
        entry = self._get_reconfigure_entry()
        if entry.data[CONF_VENDOR] != VENDOR_SELECTRONIC:
            return self.async_abort(reason="reconfigure_not_supported")
        return await self._async_credentials_step(
            "reconfigure", user_input, user_input or {CONF_EMAIL: entry.data[CONF_EMAIL]}
        )
