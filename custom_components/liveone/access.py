"""The Home Assistant side of access: who is asking, which entry is whose, and the systems listing.

The policy itself (roles, who may see and change what, the history use case) lives in the store
(:mod:`.store.access`, :mod:`.store.queries`), HA-free, and every check-and-change is one store call.
What remains here needs Home Assistant: turning a Home Assistant user into a store
:class:`~.store.access.Caller`, finding a system's config entry, enriching the listing with config
entries and devices, and the store shared by the integration. The WebSocket commands
(:mod:`.websocket`), the HTTP view (:mod:`.views`) and the service actions (:mod:`.services`) all go
through these functions.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

from homeassistant.auth.models import User
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util

from .const import CONF_SITE_ID, CONF_VENDOR, DOMAIN
from .entity import device_identifier
from .runtime import LiveOneConfigEntry
from .shared_store import async_use_store
from .store.access import Caller


def caller_of(user: User | None) -> Caller:
    """Describe a Home Assistant user to the store (``None``: a call without a user, Home Assistant itself)."""
    if user is None:
        return Caller(user_id=None, is_admin=True)
    return Caller(user_id=user.id, is_admin=user.is_admin)


def entry_for(hass: HomeAssistant, vendor: str, site_id: str) -> LiveOneConfigEntry | None:
    """Return the config entry of a system, if it has one."""
    for entry in hass.config_entries.async_entries(DOMAIN):
        if entry.data.get(CONF_VENDOR) == vendor and entry.data.get(CONF_SITE_ID) == site_id:
            return entry
    return None


def _iso(stamp: int | None, offset_min: int) -> str | None:
    if stamp is None:
        return None
    return datetime.fromtimestamp(stamp, timezone(timedelta(minutes=offset_min))).isoformat()


async def async_list_systems(hass: HomeAssistant, caller: Caller) -> list[dict[str, Any]]:
    """Return the systems the caller may see, with vendor, name, device, role and data span."""
    async with async_use_store(hass) as store:
        rows = await store.async_visible_systems(caller)
    devices = dr.async_get(hass)
    answer = []
    for row in rows:
        entry = entry_for(hass, row.vendor_type, row.vendor_site_id)
        device = devices.async_get_device(
            identifiers={device_identifier(row.vendor_type, row.vendor_site_id)}
        )
        answer.append(
            {
                "system": row.system_id,
                "vendor": row.vendor_type,
                "site_id": row.vendor_site_id,
                "name": entry.title if entry is not None else row.display_name,
                "entry_id": None if entry is None else entry.entry_id,
                "device_id": None if device is None else device.id,
                "role": caller.effective_role(row.role),
                "status": row.status,
                "timezone_offset_min": row.timezone_offset_min,
                "first_data": _iso(row.first_time, row.timezone_offset_min),
                "last_data": _iso(row.last_time, row.timezone_offset_min),
            }
        )
    return answer


async def async_history(
    hass: HomeAssistant,
    caller: Caller,
    *,
    system_id: int,
    interval: str,
    start: str | None = None,
    end: str | None = None,
    last: str | None = None,
) -> dict[str, Any]:
    """Return a system's history envelope (:meth:`.store.Store.async_history`, one transaction), now.

    Raises:
        SystemNotFoundError: no such system, a removed one, or one the caller may not see.
        HistoryError: a bad, reversed, empty or over-long range, or an unknown interval.

    """
    now = dt_util.utcnow().timestamp()
    async with async_use_store(hass) as store:
        return await store.async_history(
            caller, system_id, interval, start=start, end=end, last=last, now=now
        )
