"""The one store per Home Assistant instance, shared by every LiveOne config entry.

The first entry to load opens it; the last to unload closes it, and so does Home Assistant stopping.
The URL comes from ``configuration.yaml`` (``liveone: db_url: ...``, like the recorder's), or is the
SQLite file ``<config>/liveone/liveone.db``.

When the store cannot be opened (a bad URL, a missing driver, a database server that does not answer),
the first entry's setup logs one error naming the redacted URL, raises a repair issue and fails as
"not ready", so Home Assistant retries it; the issue is deleted when the store opens. The password in
the URL never reaches the log, the issue or diagnostics.

A damaged SQLite file (not a database, or corrupt), found at open or by a write, raises a fixable
repair issue instead; its fix flow (:mod:`.repairs`) moves the file aside and starts a new store.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
import functools

from homeassistant.const import EVENT_HOMEASSISTANT_STOP
from homeassistant.core import CALLBACK_TYPE, Event, HomeAssistant, callback
from homeassistant.helpers import issue_registry as ir
from homeassistant.util.hass_dict import HassKey

from .const import DOMAIN, LOGGER
from .store import Store, StoreDamaged, StoreError, default_url, redact_url
from .store.engine import scrub
from .store.recovery import move_aside, sqlite_file

ISSUE_DATABASE_UNREACHABLE = "database_unreachable"
ISSUE_STORE_DAMAGED = "store_damaged"


@dataclass
class SharedStore:
    """The open store, how many entries use it, and how to reach it."""

    url: str | None = None
    store: Store | None = None
    users: int = 0
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    unsub_stop: CALLBACK_TYPE | None = None
    failing: bool = False
    """The last attempt to open the store failed (it was logged and a repair issue raised)."""


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
            try:
                shared.store = await Store.async_open(url)
            except StoreDamaged as err:
                async_report_damaged(hass, err)
                raise
            except StoreError as err:
                _async_report_unopenable(hass, shared, url, err)
                raise
            shared.store.add_damage_listener(functools.partial(async_report_damaged, hass))
            if shared.failing:
                shared.failing = False
                LOGGER.info("The LiveOne store at %s is open again", shared.store.url)
            ir.async_delete_issue(hass, DOMAIN, ISSUE_DATABASE_UNREACHABLE)
            LOGGER.debug("Opened the LiveOne store at %s", shared.store.url)

            async def _close_on_stop(_event: Event) -> None:
                shared.unsub_stop = None
                await _async_close(shared)

            shared.unsub_stop = hass.bus.async_listen_once(EVENT_HOMEASSISTANT_STOP, _close_on_stop)
        shared.users += 1
        return shared.store


@callback
def async_report_damaged(hass: HomeAssistant, err: StoreDamaged) -> None:
    """Raise the fixable repair issue of a damaged SQLite store (at open or during a write)."""
    if ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_STORE_DAMAGED) is None:
        LOGGER.error("The LiveOne store file is damaged: %s. See Settings > System > Repairs", err)
    ir.async_create_issue(
        hass,
        DOMAIN,
        ISSUE_STORE_DAMAGED,
        is_fixable=True,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_STORE_DAMAGED,
        translation_placeholders={"path": err.path or "", "error": str(err)},
        data={"path": err.path},
    )


async def async_move_damaged_store_aside(hass: HomeAssistant) -> list[str]:
    """Close the store (if open) and rename its SQLite file and ``-wal`` / ``-shm``; return the new names.

    The next :func:`async_acquire_store` starts a new, empty store at the same path.

    Raises:
        OSError: a file could not be renamed (nothing is deleted either way).
        ValueError: the store is not an SQLite file.

    """
    shared = _shared(hass)
    path = sqlite_file(shared.url or default_url(hass.config.config_dir))
    if path is None:
        raise ValueError("the LiveOne store is not an SQLite file")
    async with shared.lock:
        if shared.unsub_stop is not None:  # still open for some user: close it all the same
            shared.unsub_stop()
            shared.unsub_stop = None
        await _async_close(shared)
        moved = await hass.async_add_executor_job(move_aside, path)
    LOGGER.warning("Moved the damaged LiveOne store aside: %s", ", ".join(str(p) for p in moved))
    return [str(p) for p in moved]


def _async_report_unopenable(hass: HomeAssistant, shared: SharedStore, url: str, err: StoreError) -> None:
    """Log the failure once per outage and raise (or refresh) the repair issue."""
    where = redact_url(url)
    reason = scrub(str(err), url)
    if not shared.failing:
        shared.failing = True
        LOGGER.error(
            "The LiveOne store cannot be opened: %s. Check db_url in configuration.yaml and that the "
            "database server is running; setup will be retried",
            reason,
        )
    else:
        LOGGER.debug("The LiveOne store at %s still cannot be opened: %s", where, reason)
    ir.async_create_issue(
        hass,
        DOMAIN,
        ISSUE_DATABASE_UNREACHABLE,
        is_fixable=False,
        severity=ir.IssueSeverity.ERROR,
        translation_key=ISSUE_DATABASE_UNREACHABLE,
        translation_placeholders={"url": where, "error": reason},
    )


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
