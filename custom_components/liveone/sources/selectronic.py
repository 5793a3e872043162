"""Selectronic SP PRO through Select.Live: one hfdata poll a minute, several systems per account.

Its client is :mod:`..vendors.selectronic`; this module is its coordinator, its config-flow steps
(account, system, reauthentication, reconfigure) and its declaration in the registry. The systems of
one account share one :class:`SelectLiveAccount` (one cookie jar, one login): adding a second system
does not log in again. An account is keyed by its email and password, so an entry whose password was
changed (reauthentication) gets a fresh account while the old one is dropped with its last user.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict
from typing import Any, ClassVar, Final

from homeassistant.config_entries import SOURCE_RECONFIGURE, ConfigEntry, ConfigFlowResult
from homeassistant.const import CONF_EMAIL, CONF_PASSWORD
from homeassistant.core import HomeAssistant
from homeassistant.helpers.selector import (
    SelectOptionDict,
    SelectSelector,
    SelectSelectorConfig,
    SelectSelectorMode,
    TextSelector,
)
import voluptuous as vol

from ..accounts import AccountPool
from ..const import CONF_SITE_ID, LOGGER
from ..coordinator import PollingCoordinator
from ..flow import CREDENTIALS_SCHEMA, PASSWORD_SCHEMA, LiveOneFlowBase, email_account_key
from ..http_session import async_get_session
from ..registry import SourceKind
from ..vendors.model import AuthError, Batch, VendorError
from ..vendors.selectronic import DEFAULT_BASE_URL, SelectLiveAccount, SelectLiveSystem

VENDOR: Final = "selectronic"

CONF_SYSTEM_NUMBER: Final = "system_number"
CONF_DETAILS: Final = "details"

TRANSIENT_GRACE_POLLS: Final = 5
"""Select.Live's 500/503 bursts around minutes 48-52 and 504s around midnight last about five minutes:
the last reading stays shown through this many consecutive failed polls before entities go unavailable."""

SELECTLIVE_BASE_URL = DEFAULT_BASE_URL
"""Where Select.Live is (tests point it at a fake server on 127.0.0.1)."""

ACCOUNTS: Final[AccountPool[SelectLiveAccount]] = AccountPool(VENDOR)


def new_account(hass: HomeAssistant, email: str, password: str) -> SelectLiveAccount:
    """Create a Select.Live client for an account, on LiveOne's cookie-less session."""
    return SelectLiveAccount(async_get_session(hass), email, password, base_url=SELECTLIVE_BASE_URL)


class SelectronicCoordinator(PollingCoordinator):
    """A Selectronic SP PRO through Select.Live: one hfdata poll a minute."""

    transient_grace_polls: ClassVar[int] = TRANSIENT_GRACE_POLLS
    account: SelectLiveAccount

    @classmethod
    def system_details(cls, entry: ConfigEntry[Any]) -> Mapping[str, str | None]:
        """Return the details the config flow read from the system's Select.Live page."""
        details: Mapping[str, str | None] = entry.data.get(CONF_DETAILS, {})
        return details

    async def _async_prepare(self) -> None:
        """Use the account's shared client (one login for all of its systems)."""
        email, password = self.config_entry.data[CONF_EMAIL], self.config_entry.data[CONF_PASSWORD]
        key = email_account_key(email, password)
        self.account = ACCOUNTS.async_acquire(self.hass, key, lambda: new_account(self.hass, email, password))
        self.config_entry.async_on_unload(lambda: ACCOUNTS.async_release(self.hass, key))

    async def _async_fetch(self) -> Batch:
        """Return the system's current reading (Select.Live keeps no history to fetch)."""
        hfdata = await self.account.async_get_hfdata(self.site_id)
        return Batch(readings=(hfdata.reading,), raw=hfdata.body)


class SelectronicFlow(LiveOneFlowBase):
    """Select.Live's steps: account, system; reauthentication and reconfigure."""

    _selectlive_account: SelectLiveAccount | None = None
    _selectlive_credentials: dict[str, str]
    _selectlive_systems: list[SelectLiveSystem]

    async def _async_selectlive_login(self, email: str, password: str) -> dict[str, str]:
        """Log in (or reuse the logged-in account of another system) and list the account's systems.

        Returns the form errors; empty when the account is ready.
        """
        account = ACCOUNTS.async_find(self.hass, email_account_key(email, password)) or new_account(
            self.hass, email, password
        )
        try:
            await account.async_login()
            self._selectlive_systems = await account.async_list_systems()
        except AuthError:
            return {"base": "invalid_auth"}
        except VendorError as err:
            LOGGER.debug("Select.Live could not be reached: %s", err)
            return {"base": "cannot_connect"}
        except Exception:  # noqa: BLE001  (a config flow reports anything else as "unknown")
            LOGGER.exception("Unexpected error logging in to Select.Live")
            return {"base": "unknown"}
        self._selectlive_account = account
        self._selectlive_credentials = {CONF_EMAIL: email, CONF_PASSWORD: password}
        return {}

    async def async_step_selectronic(self, user_input: dict[str, Any] | None = None) -> ConfigFlowResult:
        """Ask for the Select.Live account and test it."""
        return await self._async_selectlive_credentials("selectronic", user_input, user_input)

    async def _async_selectlive_credentials(
        self, step_id: str, user_input: dict[str, Any] | None, suggested: Mapping[str, Any] | None
    ) -> ConfigFlowResult:
        """Show the account form; once the account works, go on to pick the system."""
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = await self._async_selectlive_login(
                user_input[CONF_EMAIL].strip(), user_input[CONF_PASSWORD]
            )
            if not errors:
                return await self.async_step_selectronic_system()
        return self.async_show_form(
            step_id=step_id,
            data_schema=self.add_suggested_values_to_schema(CREDENTIALS_SCHEMA, suggested),
            errors=errors,
        )

    async def async_step_selectronic_system(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Pick one of the account's systems (or type its number when none was listed)."""
        account = self._selectlive_account
        assert account is not None
        errors: dict[str, str] = {}
        if user_input is not None:
            number = str(user_input[CONF_SYSTEM_NUMBER]).strip()
            if not number.isdigit():
                errors[CONF_SYSTEM_NUMBER] = "invalid_system_number"
            else:
                try:
                    await account.async_get_hfdata(number)
                except AuthError:
                    errors["base"] = "invalid_auth"
                except VendorError as err:
                    LOGGER.debug("System %s could not be read: %s", number, err)
                    errors["base"] = "system_unreadable"
                else:
                    return await self._async_finish_selectronic(number, await self._async_details(number))
        systems = self._selectlive_systems
        field: Any = TextSelector()
        if systems:
            field = SelectSelector(
                SelectSelectorConfig(
                    options=[
                        SelectOptionDict(
                            value=system.number,
                            label=f"{system.name} ({system.number})" if system.name else system.number,
                        )
                        for system in systems
                    ],
                    mode=SelectSelectorMode.LIST,
                )
            )
        return self.async_show_form(
            step_id="selectronic_system",
            data_schema=vol.Schema({vol.Required(CONF_SYSTEM_NUMBER): field}),
            errors=errors,
            description_placeholders={"count": str(len(systems))},
        )

    async def _async_details(self, number: str) -> dict[str, str | None]:
        """Read the system's model, serial and sizes; the system is added without them if that fails."""
        assert self._selectlive_account is not None
        try:
            return asdict(await self._selectlive_account.async_system_details(number))
        except VendorError as err:
            LOGGER.debug("No details for system %s: %s", number, err)
            return {}

    async def _async_finish_selectronic(
        self, number: str, details: dict[str, str | None]
    ) -> ConfigFlowResult:
        name = next((s.name for s in self._selectlive_systems if s.number == number and s.name), None)
        data = {**self._selectlive_credentials, CONF_DETAILS: details}
        await self.async_set_system_id(VENDOR, number)
        if self.source == SOURCE_RECONFIGURE:
            entry = self._get_reconfigure_entry()
            if self.unique_id != entry.unique_id:
                self._abort_if_unique_id_configured()
            return self.async_update_reload_and_abort(
                entry, unique_id=self.unique_id, data_updates={CONF_SITE_ID: number, **data}
            )
        self._abort_if_unique_id_configured()
        return self.async_create_system_entry(
            VENDOR, number, title=name or f"Selectronic {number}", data=data
        )

    async def async_step_selectronic_reauth(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Select.Live refused the stored password: test the new one and reload the system with it."""
        entry = self._get_reauth_entry()
        errors: dict[str, str] = {}
        if user_input is not None:
            errors = await self._async_selectlive_login(entry.data[CONF_EMAIL], user_input[CONF_PASSWORD])
            if not errors:
                return self.async_update_reload_and_abort(
                    entry, data_updates={CONF_PASSWORD: user_input[CONF_PASSWORD]}
                )
        return self.async_show_form(
            step_id="selectronic_reauth",
            data_schema=PASSWORD_SCHEMA,
            errors=errors,
            description_placeholders={"email": entry.data[CONF_EMAIL]},
        )

    async def async_step_selectronic_reconfigure(
        self, user_input: dict[str, Any] | None = None
    ) -> ConfigFlowResult:
        """Change a Selectronic system's account or system number."""
        entry = self._get_reconfigure_entry()
        return await self._async_selectlive_credentials(
            "selectronic_reconfigure", user_input, user_input or {CONF_EMAIL: entry.data[CONF_EMAIL]}
        )


SOURCE: Final = SourceKind(
    vendor=VENDOR,
    manufacturer="Selectronic",
    coordinator=SelectronicCoordinator,
    flow=SelectronicFlow,
    reauth_step="selectronic_reauth",
    reconfigure_step="selectronic_reconfigure",
)
