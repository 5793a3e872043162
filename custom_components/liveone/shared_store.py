"""The one store per Home Assistant instance, shared by every LiveOne config entry.

The first entry to load opens it; the last to unload closes it, and so does Home Assistant stopping.
The URL comes from ``configuration.yaml`` (``liveone: db_url: ...``, like the recorder's), or is the
SQLite file ``<config>/liveone/liveone.db``.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant
from homeassistant.util.hass_dict import HassKey

from .const import LOGGER
from .store import Store, default_url


@dataclass
class SharedStore:
    """The open store, how many entries use it, and how to reach it."""

    url: str | None = None
    store: Store | None = None
    users: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    unsub_stop: CALLBACK_TYPE | None = None


DATA_SHARED_STORE: HassKey[SharedStore] = HassKey("liveone_store")


def _shared(hass: HomeAssistant) -> SharedStore:
    return hass.data.setdefault(DATA_SHARED_STORE, SharedStore())


def async_set_store_url(hass: HomeAssistant, url: str | None) -> None:
    """Set the URL from ``configuration.yaml`` (``None``: the default SQLite file)."""
    _shared(hass).url = url


async def async_acquire_store(hass: HomeAssistant) -> Store:
    """Return the shared store, opening it for the first user."""
    shared = _shared(hass)
    async with shared.lock:
        if shared.store is None:
            url = shared.url or default_url(hass.config.config_dir)
            shared.store = await Store.async_open(url)
            LOGGER.debug("Opened the LiveOne store at %s", shared.store.url)

            async def _close_on_stop(_event: Event) -> None:
                shared.unsub_stop = None
                await _async_close(shared)

            shared.unsub_stop = hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _close_on_stop)
        shared.users += 1
        return shared.store


async def async_release_store(hass: HomeAssistant) -> None:
    """Give up one use of the store; the last user closes it."""
    shared = _shared(hass)
    async with shared.lock:
        shared.users = max(0, shared.users - 1)
        if shared.users == 0:
            if shared.unsub_stop is not None:
                shared.unsub_stop()
                shared.unsub_stop = None
            await _async_close(shared)


async def _async_close(shared: SharedStore) -> None:
    if shared.store is not None:
        store, shared.store = shared.store, None
        shared.users = 0
        await store.async_close()


@asynccontextmanager
async def async_use_store(hass: HomeAssistant) -> AsyncIterator[Store]:
    """Use the store for one request (the history doors and service actions), opening it if needed."""
    store = await async_acquire_store(hass)
    try:
        yield store
    finally:
        await async_release_store(hass)
