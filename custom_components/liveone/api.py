"""Who is asking, what they may do, and the history answer: the one implementation behind every door.

The WebSocket commands (:mod:`.websocket`), the HTTP view (:mod:`.views`) and the service actions
(:mod:`.services`) all resolve the caller with :class:`Caller` and a system with :func:`async_check`
or inside :func:`async_history`, so the rules of BEHAVIOUR.md section 6 live in one place:

- Home Assistant administrators see and may change every system.
- Other users see the systems they hold a ``user_systems`` row for; ``owner`` and ``admin`` rows may
  change them (poll now, re-aggregate, grant and revoke access), ``viewer`` rows only read.
- A system the caller may not see is reported exactly like one that does not exist.
- A service action called without a user (an automation or script) acts as Home Assistant itself;
  automations are written by administrators.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
import functools
from typing import Any

from homeassistant.auth.models import User
from homeassistant.core import HomeAssistant
from homeassistant.helpers import device_registry as dr
from homeassistant.util import dt as dt_util
from sqlalchemy.engine import Connection

from .const import CONF_SITE_ID, CONF_VENDOR, DOMAIN
from .entity import device_identifier
from .runtime import LiveOneConfigEntry
from .shared_store import async_use_store
from .store import Store
from .store.access import MANAGING_ROLES, ROLE_ADMIN, ROLE_OWNER, role_of, visible_systems
from .store.history import history, parse_time, resolve_range
from .store.systems import STATUS_REMOVED, get_system


class SystemNotFoundError(LookupError):
    """The system does not exist or the caller may not see it (the two are not told apart)."""

    def __init__(self, system_id: object) -> None:
        """Name the system the caller asked for."""
        super().__init__(f"unknown system {system_id}")
        self.system_id = system_id


class NotPermittedError(PermissionError):
    """The caller may see the system but not change it (a viewer)."""


@dataclass(frozen=True, slots=True)
class Caller:
    """The user behind a request; ``user_id`` ``None`` is Home Assistant itself (automations)."""

    user_id: str | None
    is_admin: bool

    @classmethod
    def of(cls, user: User | None) -> Caller:
        """Describe a Home Assistant user (``None``: a call without a user)."""
        if user is None:
            return cls(user_id=None, is_admin=True)
        return cls(user_id=user.id, is_admin=user.is_admin)

    def effective_role(self, row_role: str | None) -> str | None:
        """Return the caller's role given their ``user_systems`` row's (``None``: may not see it)."""
        if row_role == ROLE_OWNER:
            return ROLE_OWNER
        if self.is_admin:
            return ROLE_ADMIN
        return row_role

    def role_on(self, conn: Connection, system_id: int) -> str | None:
        """Return the caller's effective role on a system (``None``: may not see it)."""
        return self.effective_role(None if self.user_id is None else role_of(conn, system_id, self.user_id))


@dataclass(frozen=True, slots=True)
class SystemGrant:
    """A system the caller may see, and the caller's effective role on it."""

    system: dict[str, Any]
    role: str

    @property
    def system_id(self) -> int:
        """The store's id of the system."""
        return int(self.system["id"])

    @property
    def can_manage(self) -> bool:
        """Whether the caller may change the system."""
        return self.role in MANAGING_ROLES


def lookup(conn: Connection, caller: Caller, system_id: int) -> SystemGrant:
    """Return the system and the caller's role on it (runs on the store's worker).

    Raises:
        SystemNotFoundError: no such system, a removed one, or one the caller may not see.

    """
    row = get_system(conn, system_id)
    if row is None or row["status"] == STATUS_REMOVED:
        raise SystemNotFoundError(system_id)
    role = caller.role_on(conn, system_id)
    if role is None:
        raise SystemNotFoundError(system_id)
    return SystemGrant(system=row, role=role)


async def async_check(store: Store, caller: Caller, system_id: int, *, manage: bool = False) -> SystemGrant:
    """Resolve a system for a caller, requiring the right to change it when ``manage`` is set.

    Raises:
        SystemNotFoundError: as :func:`lookup`.
        NotPermittedError: ``manage`` and the caller is a viewer.

    """
    grant = await store.async_transaction(lookup, caller, system_id)
    if manage and not grant.can_manage:
        raise NotPermittedError(f"viewers may not change system {system_id}")
    return grant


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
        rows = await store.async_transaction(
            functools.partial(visible_systems, see_all=caller.is_admin), caller.user_id or ""
        )
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
    """Return a system's history envelope, checking access and the range in the same transaction.

    ``start`` and ``end`` are ISO 8601 (a time without an offset is the system's local time); ``last``
    is like ``24h`` or ``7d``. All of it runs as one read on the store's worker.

    Raises:
        SystemNotFoundError: as :func:`lookup`.
        HistoryError: a bad, reversed, empty or over-long range, or an unknown interval.

    """
    now = dt_util.utcnow().timestamp()

    def _work(conn: Connection) -> dict[str, Any]:
        grant = lookup(conn, caller, system_id)
        offset = int(grant.system["timezone_offset_min"] or 0)
        lo, hi = resolve_range(
            start=None if start is None else parse_time(start, offset_min=offset),
            end=None if end is None else parse_time(end, offset_min=offset),
            last=last,
            interval=interval,
            now=int(now),
            offset_min=offset,
        )
        return history(conn, grant.system, start=lo, end=hi, interval=interval, now=now)

    async with async_use_store(hass) as store:
        return await store.async_transaction(_work)
