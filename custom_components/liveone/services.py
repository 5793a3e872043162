"""Service actions: grant and revoke access, poll now, rebuild aggregates, export history.

Registered once in ``async_setup``. Every action names its system by config entry (the ``system``
field) and checks the caller as :mod:`.store.access` describes: a viewer may export, only owners, admins and
Home Assistant administrators may change anything, and a system the caller may not see is reported as
not found. Failures are translated ``ServiceValidationError`` (the request is wrong) or
``HomeAssistantError`` (the store or the vendor failed).
"""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any, Final

from homeassistant.auth.models import User
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant, ServiceCall, ServiceResponse, SupportsResponse, callback
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.helpers import config_validation as cv
from homeassistant.util import dt as dt_util
import voluptuous as vol

from .access import async_history, caller_of
from .const import CONF_SITE_ID, CONF_VENDOR, DOMAIN
from .csv_export import history_table
from .runtime import LiveOneConfigEntry
from .shared_store import async_use_store
from .statistics import async_import_statistics
from .store import Store, StoreError
from .store.access import (
    ROLE_VIEWER,
    ROLES,
    Caller,
    NoAccessError,
    NotPermittedError,
    OwnerRequiredError,
    SystemGrant,
    SystemNotFoundError,
)
from .store.history import INTERVALS, HistoryError

SERVICE_GRANT_ACCESS: Final = "grant_access"
SERVICE_REVOKE_ACCESS: Final = "revoke_access"
SERVICE_POLL_NOW: Final = "poll_now"
SERVICE_REBUILD_AGGREGATES: Final = "rebuild_aggregates"
SERVICE_EXPORT_HISTORY: Final = "export_history"

ATTR_SYSTEM: Final = "system"
ATTR_USER: Final = "user"
ATTR_ROLE: Final = "role"
ATTR_FROM_DAY: Final = "from_day"
ATTR_TO_DAY: Final = "to_day"
ATTR_INTERVAL: Final = "interval"
ATTR_START: Final = "start"
ATTR_END: Final = "end"
ATTR_LAST: Final = "last"
ATTR_PATH: Final = "path"

MAX_REBUILD_DAYS: Final = 366
"""Days one rebuild may cover: the store's worker is busy for its whole transaction, polls wait."""

EXPORT_DIR: Final = "liveone/exports"
"""Where exports go by default, under the configuration directory (not served over HTTP)."""

_SYSTEM: dict[vol.Marker, Any] = {vol.Required(ATTR_SYSTEM): cv.string}
_USER: dict[vol.Marker, Any] = {vol.Required(ATTR_USER): cv.string}

GRANT_SCHEMA: Final = vol.Schema(
    {**_SYSTEM, **_USER, vol.Optional(ATTR_ROLE, default=ROLE_VIEWER): vol.In(ROLES)}
)
REVOKE_SCHEMA: Final = vol.Schema({**_SYSTEM, **_USER})
POLL_SCHEMA: Final = vol.Schema(_SYSTEM)
REBUILD_SCHEMA: Final = vol.Schema(
    {**_SYSTEM, vol.Required(ATTR_FROM_DAY): cv.date, vol.Required(ATTR_TO_DAY): cv.date}
)
EXPORT_SCHEMA: Final = vol.Schema(
    {
        **_SYSTEM,
        vol.Required(ATTR_INTERVAL): vol.In(list(INTERVALS)),
        vol.Exclusive(ATTR_START, "range"): cv.datetime,
        vol.Optional(ATTR_END): cv.datetime,
        vol.Exclusive(ATTR_LAST, "range"): cv.string,
        vol.Optional(ATTR_PATH): cv.string,
    }
)


def _translated[E: HomeAssistantError](kind: type[E], key: str, **placeholders: Any) -> E:
    return kind(
        translation_domain=DOMAIN,
        translation_key=key,
        translation_placeholders={k: str(v) for k, v in placeholders.items()} or None,
    )


def _invalid(key: str, **placeholders: Any) -> ServiceValidationError:
    """Return a translated refusal of the request itself."""
    return _translated(ServiceValidationError, key, **placeholders)


def _failed(key: str, **placeholders: Any) -> HomeAssistantError:
    """Return a translated failure of the store or the vendor."""
    return _translated(HomeAssistantError, key, **placeholders)


async def _caller(hass: HomeAssistant, call: ServiceCall) -> Caller:
    user: User | None = None
    if call.context.user_id is not None:
        user = await hass.auth.async_get_user(call.context.user_id)
        if user is None:
            # A token of a deleted user: it may see nothing.
            return Caller(user_id=call.context.user_id, is_admin=False)
    return caller_of(user)


async def _resolve(
    hass: HomeAssistant, store: Store, call: ServiceCall, *, manage: bool
) -> tuple[Caller, SystemGrant, LiveOneConfigEntry]:
    """Return the caller, the system named by the call and its config entry, or raise translated."""
    caller = await _caller(hass, call)
    entry_id = call.data[ATTR_SYSTEM]
    entry: LiveOneConfigEntry | None = hass.config_entries.async_get_entry(entry_id)
    if entry is None or entry.domain != DOMAIN:
        raise _invalid("system_not_found", system=entry_id)
    try:
        system_id = await store.async_find_system(entry.data[CONF_VENDOR], entry.data[CONF_SITE_ID])
        if system_id is None:
            raise _invalid("system_not_found", system=entry_id)
        system = await store.async_lookup(caller, system_id, manage=manage)
    except SystemNotFoundError:
        raise _invalid("system_not_found", system=entry_id) from None
    except NotPermittedError:
        raise _invalid("not_permitted", system=entry.title) from None
    except StoreError as err:
        raise _failed("store_unavailable", error=err) from err
    return caller, system, entry


async def _target_user(hass: HomeAssistant, text: str) -> User:
    """Find a user by id, or by name when exactly one user has it (system users are never matched)."""
    if (user := await hass.auth.async_get_user(text)) is not None and not user.system_generated:
        return user
    wanted = text.strip().casefold()
    named = [
        u
        for u in await hass.auth.async_get_users()
        if not u.system_generated and (u.name or "").casefold() == wanted
    ]
    if len(named) != 1:
        raise _invalid("user_not_found", user=text)
    return named[0]


async def _async_grant_access(call: ServiceCall) -> None:
    hass = call.hass
    async with async_use_store(hass) as store:
        caller, system, entry = await _resolve(hass, store, call, manage=True)
        user = await _target_user(hass, call.data[ATTR_USER])
        # The check and the grant are one store transaction: a right revoked meanwhile refuses it.
        try:
            await store.async_grant(caller, system.system_id, user.id, call.data[ATTR_ROLE])
        except OwnerRequiredError:
            raise _invalid("owner_required", system=entry.title) from None
        except SystemNotFoundError:
            raise _invalid("system_not_found", system=call.data[ATTR_SYSTEM]) from None
        except NotPermittedError:
            raise _invalid("not_permitted", system=entry.title) from None
        except StoreError as err:
            raise _failed("store_unavailable", error=err) from err


async def _async_revoke_access(call: ServiceCall) -> None:
    hass = call.hass
    async with async_use_store(hass) as store:
        caller, system, entry = await _resolve(hass, store, call, manage=True)
        user = await _target_user(hass, call.data[ATTR_USER])
        try:
            await store.async_revoke(caller, system.system_id, user.id)
        except NoAccessError:
            raise _invalid("no_access_to_revoke", user=user.name or user.id, system=entry.title) from None
        except OwnerRequiredError:
            raise _invalid("owner_required", system=entry.title) from None
        except SystemNotFoundError:
            raise _invalid("system_not_found", system=call.data[ATTR_SYSTEM]) from None
        except NotPermittedError:
            raise _invalid("not_permitted", system=entry.title) from None
        except StoreError as err:
            raise _failed("store_unavailable", error=err) from err


async def _async_poll_now(call: ServiceCall) -> None:
    hass = call.hass
    async with async_use_store(hass) as store:
        _, _, entry = await _resolve(hass, store, call, manage=True)
    if entry.state is not ConfigEntryState.LOADED:
        raise _invalid("not_loaded", system=entry.title)
    coordinator = entry.runtime_data.coordinator
    await coordinator.async_poll_now()
    if not coordinator.last_update_success:
        raise _failed("poll_failed", system=entry.title, error=coordinator.last_exception)


async def _async_rebuild(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    first: date = call.data[ATTR_FROM_DAY]
    last: date = call.data[ATTR_TO_DAY]
    if last < first:
        raise _invalid("day_range_reversed", from_day=first, to_day=last)
    if (last - first).days + 1 > MAX_REBUILD_DAYS:
        raise _invalid("day_range_too_long", days=MAX_REBUILD_DAYS)
    async with async_use_store(hass) as store:
        _, system, entry = await _resolve(hass, store, call, manage=True)
        offset = timezone(timedelta(minutes=int(system.system["timezone_offset_min"] or 0)))
        try:
            intervals, days = await store.async_rebuild(
                system.system_id, first, last, now=int(dt_util.utcnow().timestamp())
            )
            # The rebuilt hours' long-term statistics, and every later running sum, follow.
            await async_import_statistics(
                hass, entry, since=datetime.combine(first, datetime.min.time(), offset)
            )
        except StoreError as err:
            raise _failed("store_unavailable", error=err) from err
    return {"intervals": intervals, "days": days}


def _write_csv(path: Path, header: list[str], rows: list[list[Any]], *, make_parents: bool) -> None:
    if make_parents:
        path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with partial.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(["" if value is None else value for value in row] for row in rows)
    partial.replace(path)


def _export_target(hass: HomeAssistant, entry: LiveOneConfigEntry, given: str | None, interval: str) -> Path:
    """Return where an export goes (runs in the executor: it resolves paths on disk)."""
    config_dir = Path(hass.config.config_dir).resolve()
    if given is None:
        stamp = dt_util.utcnow().strftime("%Y%m%dT%H%M%SZ")
        name = f"{entry.data[CONF_VENDOR]}_{entry.data[CONF_SITE_ID]}_{interval}_{stamp}.csv"
        return config_dir / EXPORT_DIR / name
    target = Path(given) if Path(given).is_absolute() else config_dir / given
    target = target.parent.resolve() / target.name
    if (
        target.suffix.lower() != ".csv"
        or not target.is_relative_to(config_dir)
        or not hass.config.is_allowed_path(str(target))
    ):
        raise _invalid("export_path_not_allowed", path=given)
    return target


async def _async_export(call: ServiceCall) -> ServiceResponse:
    hass = call.hass
    interval: str = call.data[ATTR_INTERVAL]
    async with async_use_store(hass) as store:
        caller, system, entry = await _resolve(hass, store, call, manage=False)
    start: datetime | None = call.data.get(ATTR_START)
    end: datetime | None = call.data.get(ATTR_END)
    try:
        answer = await async_history(
            hass,
            caller,
            system_id=system.system_id,
            interval=interval,
            start=None if start is None else start.isoformat(),
            end=None if end is None else end.isoformat(),
            last=call.data.get(ATTR_LAST),
        )
    except SystemNotFoundError:
        raise _invalid("system_not_found", system=call.data[ATTR_SYSTEM]) from None
    except HistoryError as err:
        raise _invalid("invalid_history_request", error=err) from None
    except StoreError as err:
        raise _failed("store_unavailable", error=err) from err
    given = call.data.get(ATTR_PATH)
    target = await hass.async_add_executor_job(_export_target, hass, entry, given, interval)
    header, rows = history_table(answer)
    try:
        await hass.async_add_executor_job(
            lambda: _write_csv(target, header, rows, make_parents=given is None)
        )
    except OSError as err:
        raise _failed("export_failed", path=target, error=err.strerror or err) from err
    return {"path": str(target), "rows": len(rows)}


@callback
def async_register_services(hass: HomeAssistant) -> None:
    """Register LiveOne's service actions (once, from ``async_setup``)."""
    hass.services.async_register(DOMAIN, SERVICE_GRANT_ACCESS, _async_grant_access, schema=GRANT_SCHEMA)
    hass.services.async_register(DOMAIN, SERVICE_REVOKE_ACCESS, _async_revoke_access, schema=REVOKE_SCHEMA)
    hass.services.async_register(DOMAIN, SERVICE_POLL_NOW, _async_poll_now, schema=POLL_SCHEMA)
    hass.services.async_register(
        DOMAIN,
        SERVICE_REBUILD_AGGREGATES,
        _async_rebuild,
        schema=REBUILD_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
    hass.services.async_register(
        DOMAIN,
        SERVICE_EXPORT_HISTORY,
        _async_export,
        schema=EXPORT_SCHEMA,
        supports_response=SupportsResponse.OPTIONAL,
    )
