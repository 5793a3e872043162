"""Who may see and change which system: the ``user_systems`` table (BEHAVIOUR.md section 6).

The user ids are Home Assistant user ids (the documented column is still called ``clerk_user_id``).
A row gives one user one role on one system:

``owner``
    the user who added the system (written when its config entry is created) and anyone an owner or a
    Home Assistant administrator made owner. May read and change the system, and grant or revoke any
    role.
``admin``
    may read and change the system and grant or revoke ``admin`` and ``viewer``, but not ``owner``.
``viewer``
    may only read.

Home Assistant administrators need no row: the integration treats them as able to do everything. These
functions only read and write rows; the Home Assistant layer decides who is asking.
"""

from __future__ import annotations

from dataclasses import dataclass
import time
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .schema import readings, systems, user_systems
from .systems import STATUS_REMOVED, upsert_role

ROLE_OWNER: Final = "owner"
ROLE_ADMIN: Final = "admin"
ROLE_VIEWER: Final = "viewer"
ROLES: Final = (ROLE_OWNER, ROLE_ADMIN, ROLE_VIEWER)
"""The roles a ``user_systems`` row can hold, strongest first."""

MANAGING_ROLES: Final = frozenset({ROLE_OWNER, ROLE_ADMIN})
"""Roles that may change a system (poll now, re-aggregate, grant and revoke access)."""


@dataclass(frozen=True, kw_only=True, slots=True)
class VisibleSystem:
    """A system as the ``liveone/systems`` listing shows it."""

    system_id: int
    vendor_type: str
    vendor_site_id: str
    display_name: str | None
    timezone_offset_min: int
    status: str
    role: str | None
    """The caller's row, if any (an administrator may have none)."""
    first_time: int | None
    """The oldest reading's ``inverter_time`` (Unix seconds), or ``None`` without readings."""
    last_time: int | None
    """The newest reading's ``inverter_time``."""


def role_of(conn: Connection, system_id: int, user_id: str) -> str | None:
    """Return the user's role on the system, or ``None`` when the user holds no row."""
    found = conn.execute(
        sa.select(user_systems.c.role).where(
            user_systems.c.system_id == system_id, user_systems.c.clerk_user_id == user_id
        )
    ).scalar_one_or_none()
    return None if found is None else str(found)


def visible_systems(conn: Connection, user_id: str, *, see_all: bool = False) -> list[VisibleSystem]:
    """Return the systems a user may see, oldest first, with the user's role on each.

    Without ``see_all`` (a Home Assistant administrator) only systems the user holds a row for are
    listed. Removed systems are left out: their config entry is gone, and so are their access rows.
    The first and last data times come from the ``(system_id, inverter_time)`` index, one lookup each.
    """
    first = (
        sa.select(sa.func.min(readings.c.inverter_time))
        .where(readings.c.system_id == systems.c.id)
        .scalar_subquery()
    )
    last = (
        sa.select(sa.func.max(readings.c.inverter_time))
        .where(readings.c.system_id == systems.c.id)
        .scalar_subquery()
    )
    query = (
        sa.select(systems, user_systems.c.role.label("role"), first.label("first"), last.label("last"))
        .join(
            user_systems,
            sa.and_(user_systems.c.system_id == systems.c.id, user_systems.c.clerk_user_id == user_id),
            isouter=see_all,
        )
        .where(systems.c.status != STATUS_REMOVED)
        .order_by(systems.c.id)
    )
    return [
        VisibleSystem(
            system_id=int(row["id"]),
            vendor_type=str(row["vendor_type"]),
            vendor_site_id=str(row["vendor_site_id"]),
            display_name=row["display_name"],
            timezone_offset_min=int(row["timezone_offset_min"] or 0),
            status=str(row["status"]),
            role=row["role"],
            first_time=None if row["first"] is None else int(row["first"]),
            last_time=None if row["last"] is None else int(row["last"]),
        )
        for row in conn.execute(query).mappings()
    ]


def grant(conn: Connection, system_id: int, user_id: str, role: str, *, now: int | None = None) -> bool:
    """Give the user ``role`` on the system, replacing any role they held; return whether a row was new.

    Granting ``owner`` also records the user as the system's ``owner_clerk_user_id`` when it has none.
    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    stamp = int(time.time()) if now is None else now
    new = upsert_role(conn, system_id, user_id, role, stamp)
    if role == ROLE_OWNER:
        conn.execute(
            systems.update()
            .where(systems.c.id == system_id, systems.c.owner_clerk_user_id.is_(None))
            .values(owner_clerk_user_id=user_id, updated_at=stamp)
        )
    return new


def revoke(conn: Connection, system_id: int, user_id: str, *, now: int | None = None) -> str | None:
    """Remove the user's row on the system and return the role it held (``None``: there was none).

    When the user was the recorded owner, ``owner_clerk_user_id`` moves to another owner or is cleared.
    """
    role = role_of(conn, system_id, user_id)
    if role is None:
        return None
    conn.execute(
        user_systems.delete().where(
            user_systems.c.system_id == system_id, user_systems.c.clerk_user_id == user_id
        )
    )
    owner = conn.execute(sa.select(systems.c.owner_clerk_user_id).where(systems.c.id == system_id)).scalar()
    if owner == user_id:
        successor = conn.execute(
            sa.select(user_systems.c.clerk_user_id)
            .where(user_systems.c.system_id == system_id, user_systems.c.role == ROLE_OWNER)
            .order_by(user_systems.c.created_at, user_systems.c.id)
            .limit(1)
        ).scalar_one_or_none()
        stamp = int(time.time()) if now is None else now
        conn.execute(
            systems.update()
            .where(systems.c.id == system_id)
            .values(owner_clerk_user_id=successor, updated_at=stamp)
        )
    return role


def revoke_all(conn: Connection, system_id: int) -> int:
    """Remove every access row of a system (its config entry was removed); return how many there were."""
    result = conn.execute(user_systems.delete().where(user_systems.c.system_id == system_id))
    return int(result.rowcount or 0)
