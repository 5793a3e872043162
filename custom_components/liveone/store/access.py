"""Who may see and change which system: the ``user_systems`` table (docs/access.md#who-sees-what).

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

Home Assistant administrators need no row: the integration treats them as able to do everything.

The policy (docs/access.md#who-sees-what) lives here, free of Home Assistant, so that every door (WebSocket,
HTTP view, service actions) asks the store the same question and each check-and-change is one
transaction. A :class:`Caller` is plain data (a user id and whether the user is a Home Assistant
administrator; no user id is Home Assistant itself, as for automations, which administrators write):

- administrators see and may change every system;
- other users see the systems they hold a row for; ``owner`` and ``admin`` rows may change them (poll
  now, re-aggregate, grant and revoke access), ``viewer`` rows only read;
- only owners and administrators may grant, take or revoke the ``owner`` role;
- a system the caller may not see (or a removed one) is reported exactly like one that does not exist.

:func:`grant_as` and :func:`revoke_as` check the caller's right and write in the same transaction, with
the caller's own row read ``FOR UPDATE`` on server databases: a revoke of the granter's row that
commits first makes the grant refused, never half-checked.
"""

from __future__ import annotations

from dataclasses import dataclass
import time
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from .schema import readings, systems, user_systems
from .systems import STATUS_REMOVED, get_system, upsert_role

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


def role_of(conn: Connection, system_id: int, user_id: str, *, lock: bool = False) -> str | None:
    """Return the user's role on the system, or ``None`` when the user holds no row.

    ``lock`` reads the row ``FOR UPDATE`` (server databases; SQLite's single writer needs no lock), so
    that it cannot change before the caller's transaction ends.
    """
    query = sa.select(user_systems.c.role).where(
        user_systems.c.system_id == system_id, user_systems.c.clerk_user_id == user_id
    )
    found = conn.execute(query.with_for_update() if lock else query).scalar_one_or_none()
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


# --------------------------------------------------------------------------------------------------
# The policy: who is asking and what they may do


class SystemNotFoundError(LookupError):
    """The system does not exist or the caller may not see it (the two are not told apart)."""

    def __init__(self, system_id: object) -> None:
        """Name the system the caller asked for."""
        super().__init__(f"unknown system {system_id}")
        self.system_id = system_id


class NotPermittedError(PermissionError):
    """The caller may see the system but not change it (a viewer)."""


class OwnerRequiredError(NotPermittedError):
    """Only an owner or a Home Assistant administrator may grant, take or revoke the ``owner`` role."""


class NoAccessError(LookupError):
    """The user to revoke holds no row on the system."""


@dataclass(frozen=True, slots=True)
class Caller:
    """Who asks: a Home Assistant user id (``None``: Home Assistant itself) and whether they are an administrator."""

    user_id: str | None
    is_admin: bool

    def effective_role(self, row_role: str | None) -> str | None:
        """Return the caller's role given their ``user_systems`` row's (``None``: may not see it)."""
        if row_role == ROLE_OWNER:
            return ROLE_OWNER
        if self.is_admin:
            return ROLE_ADMIN
        return row_role

    def role_on(self, conn: Connection, system_id: int, *, lock: bool = False) -> str | None:
        """Return the caller's effective role on a system (``None``: may not see it)."""
        row_role = None if self.user_id is None else role_of(conn, system_id, self.user_id, lock=lock)
        return self.effective_role(row_role)


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


def lookup(
    conn: Connection, caller: Caller, system_id: int, *, manage: bool = False, lock: bool = False
) -> SystemGrant:
    """Return the system and the caller's role on it, requiring the right to change it when ``manage``.

    Raises:
        SystemNotFoundError: no such system, a removed one, or one the caller may not see.
        NotPermittedError: ``manage`` and the caller is a viewer.

    """
    row = get_system(conn, system_id)
    if row is None or row["status"] == STATUS_REMOVED:
        raise SystemNotFoundError(system_id)
    role = caller.role_on(conn, system_id, lock=lock)
    if role is None:
        raise SystemNotFoundError(system_id)
    found = SystemGrant(system=row, role=role)
    if manage and not found.can_manage:
        raise NotPermittedError(f"viewers may not change system {system_id}")
    return found


def _may_handle_owners(caller: Caller, found: SystemGrant) -> bool:
    return caller.is_admin or found.role == ROLE_OWNER


def grant_as(
    conn: Connection, caller: Caller, system_id: int, user_id: str, role: str, *, now: int | None = None
) -> bool:
    """Check that the caller may give ``user_id`` the role, and give it, in the caller's transaction.

    Giving or taking ``owner`` (granting it, or replacing a user's ``owner`` row) needs an owner or an
    administrator. Returns whether the user's row is new.

    Raises:
        SystemNotFoundError: as :func:`lookup`.
        NotPermittedError: the caller may not change the system.
        OwnerRequiredError: the grant gives or takes ``owner`` and the caller is an ``admin`` row.
        ValueError: an unknown role.

    """
    if role not in ROLES:
        raise ValueError(f"unknown role {role!r}")
    found = lookup(conn, caller, system_id, manage=True, lock=True)
    current = role_of(conn, system_id, user_id, lock=True)
    if ROLE_OWNER in (role, current) and not _may_handle_owners(caller, found):
        raise OwnerRequiredError(f"only an owner may give or take the owner role on system {system_id}")
    return grant(conn, system_id, user_id, role, now=now)


def revoke_as(
    conn: Connection, caller: Caller, system_id: int, user_id: str, *, now: int | None = None
) -> str:
    """Check that the caller may remove ``user_id``'s row, and remove it; return the role it held.

    Raises:
        SystemNotFoundError: as :func:`lookup`.
        NotPermittedError: the caller may not change the system.
        NoAccessError: the user holds no row on the system.
        OwnerRequiredError: the row is ``owner`` and the caller is an ``admin`` row.

    """
    found = lookup(conn, caller, system_id, manage=True, lock=True)
    current = role_of(conn, system_id, user_id, lock=True)
    if current is None:
        raise NoAccessError(f"user {user_id} has no access to system {system_id}")
    if current == ROLE_OWNER and not _may_handle_owners(caller, found):
        raise OwnerRequiredError(f"only an owner may revoke an owner of system {system_id}")
    removed = revoke(conn, system_id, user_id, now=now)
    assert removed == current
    return current


def systems_visible_to(conn: Connection, caller: Caller) -> list[VisibleSystem]:
    """Return the systems the caller may see (:func:`visible_systems`; administrators see all).

    Each row's ``role`` is the caller's row; :meth:`Caller.effective_role` turns it into their role.
    """
    return visible_systems(conn, caller.user_id or "", see_all=caller.is_admin)
