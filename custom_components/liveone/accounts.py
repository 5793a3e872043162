"""Vendor accounts shared by the config entries (systems) that use them.

Several Select.Live systems can belong to one account: they share one ``SelectLiveAccount`` (one
cookie jar, one login), so adding a second system does not log in again and twenty polls of two
systems still make one login. An account is keyed by its email and password, so an entry whose
password was changed (reauthentication) gets a fresh account while the old one is dropped with its
last user.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from homeassistant.core import HomeAssistant
from homeassistant.util.hass_dict import HassKey

from .http_session import async_get_session
from .vendors.selectronic import DEFAULT_BASE_URL, SelectLiveAccount

SELECTLIVE_BASE_URL = DEFAULT_BASE_URL
"""Where Select.Live is (tests point it at a fake server on 127.0.0.1)."""


def new_selectlive(hass: HomeAssistant, email: str, password: str) -> SelectLiveAccount:
    """Create a Select.Live client for an account, on LiveOne's cookie-less session."""
    return SelectLiveAccount(async_get_session(hass), email, password, base_url=SELECTLIVE_BASE_URL)


@dataclass
class _Shared:
    accounts: dict[tuple[str, str], SelectLiveAccount] = field(default_factory=dict)
    users: dict[tuple[str, str], int] = field(default_factory=dict)


DATA_ACCOUNTS: HassKey[_Shared] = HassKey("liveone_accounts")


def async_acquire_selectlive(hass: HomeAssistant, email: str, password: str) -> SelectLiveAccount:
    """Return the Select.Live account for these credentials, shared with other systems of it."""
    shared = hass.data.setdefault(DATA_ACCOUNTS, _Shared())
    key = (email.casefold(), password)
    if key not in shared.accounts:
        shared.accounts[key] = new_selectlive(hass, email, password)
    shared.users[key] = shared.users.get(key, 0) + 1
    return shared.accounts[key]


def async_release_selectlive(hass: HomeAssistant, email: str, password: str) -> None:
    """Give up one use of an account; the last user drops it."""
    shared = hass.data.setdefault(DATA_ACCOUNTS, _Shared())
    key = (email.casefold(), password)
    remaining = shared.users.get(key, 0) - 1
    if remaining > 0:
        shared.users[key] = remaining
    else:
        shared.users.pop(key, None)
        shared.accounts.pop(key, None)


def async_find_selectlive(hass: HomeAssistant, email: str, password: str) -> SelectLiveAccount | None:
    """Return the account already in use for these credentials (logged in), if any."""
    shared = hass.data.get(DATA_ACCOUNTS)
    return None if shared is None else shared.accounts.get((email.casefold(), password))
