"""Vendor accounts shared by the config entries (systems) that use them.

Several systems can belong to one vendor account: they share one client object (one session, one login,
one request budget), so adding a second system does not log in again. A kind keeps its accounts in an
:class:`AccountPool`, keyed by whatever identifies an account's credentials; the last entry that
releases an account drops it.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from dataclasses import dataclass, field

from homeassistant.core import HomeAssistant
from homeassistant.util.hass_dict import HassKey


@dataclass
class _Accounts[T]:
    clients: dict[Hashable, T] = field(default_factory=dict)
    users: dict[Hashable, int] = field(default_factory=dict)


class AccountPool[T]:
    """The shared clients of one kind's accounts, counted by the entries that use them."""

    def __init__(self, name: str) -> None:
        """Name the pool (one per kind)."""
        self._key: HassKey[_Accounts[T]] = HassKey(f"liveone_accounts_{name}")

    def _accounts(self, hass: HomeAssistant) -> _Accounts[T]:
        return hass.data.setdefault(self._key, _Accounts())

    def async_acquire(self, hass: HomeAssistant, key: Hashable, create: Callable[[], T]) -> T:
        """Return the account's client (creating it for its first user) and count one more user."""
        accounts = self._accounts(hass)
        if key not in accounts.clients:
            accounts.clients[key] = create()
        accounts.users[key] = accounts.users.get(key, 0) + 1
        return accounts.clients[key]

    def async_release(self, hass: HomeAssistant, key: Hashable) -> None:
        """Give up one use of an account; the last user drops it."""
        accounts = self._accounts(hass)
        remaining = accounts.users.get(key, 0) - 1
        if remaining > 0:
            accounts.users[key] = remaining
        else:
            accounts.users.pop(key, None)
            accounts.clients.pop(key, None)

    def async_find(self, hass: HomeAssistant, key: Hashable) -> T | None:
        """Return the client already in use for an account, if any."""
        accounts = hass.data.get(self._key)
        return None if accounts is None else accounts.clients.get(key)
