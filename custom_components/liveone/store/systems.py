"""The ``systems`` registry and the small reads the integration needs about one system."""

from __future__ import annotations

from dataclasses import dataclass
import json
import time
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..vendors.model import Reading
from .schema import polling_status, readings, systems, user_systems

STATUS_ACTIVE = "active"
STATUS_DISABLED = "disabled"
STATUS_REMOVED = "removed"


@dataclass(frozen=True, kw_only=True, slots=True)
class SystemInfo:
    """What the integration knows about a system when it registers it."""

    vendor_type: str
    vendor_site_id: str
    display_name: str | None = None
    timezone_offset_min: int = 600
    owner_user_id: str | None = None
    model: str | None = None
    serial: str | None = None
    ratings: str | None = None
    solar_size: str | None = None
    battery_size: str | None = None
    location: dict[str, Any] | None = None


@dataclass(frozen=True, kw_only=True, slots=True)
class StoredReading:
    """A reading as stored, with the times the store added."""

    reading: Reading
    received_time: int | None
    delay_seconds: int | None


def ensure_system(conn: Connection, info: SystemInfo, *, now: int | None = None) -> int:
    """Register a system (or refresh its details and make it active again) and return its id.

    A system is identified by ``(vendor_type, vendor_site_id)``; adding it again after it was removed
    brings back its history. The owner, when given, is recorded (``owner_clerk_user_id`` and an
    ``owner`` row in ``user_systems``) only when the system is registered: new, or back after removal.
    Refreshing an active system (every Home Assistant start) leaves its access rows as they are, so an
    owner who was revoked stays revoked.
    """
    stamp = int(time.time()) if now is None else now
    values: dict[str, Any] = {
        "display_name": info.display_name,
        "timezone_offset_min": info.timezone_offset_min,
        "model": info.model,
        "serial": info.serial,
        "ratings": info.ratings,
        "solar_size": info.solar_size,
        "battery_size": info.battery_size,
        "location": None if info.location is None else json.dumps(info.location, sort_keys=True),
        "status": STATUS_ACTIVE,
        "updated_at": stamp,
    }
    existing = conn.execute(
        sa.select(systems.c.id, systems.c.status).where(
            systems.c.vendor_type == info.vendor_type, systems.c.vendor_site_id == info.vendor_site_id
        )
    ).first()
    registering = existing is None or existing.status == STATUS_REMOVED
    if registering and info.owner_user_id is not None:
        values["owner_clerk_user_id"] = info.owner_user_id
    if existing is None:
        system_id = int(
            conn.execute(
                systems.insert().values(
                    vendor_type=info.vendor_type,
                    vendor_site_id=info.vendor_site_id,
                    created_at=stamp,
                    **values,
                )
            ).inserted_primary_key[0]
        )
    else:
        system_id = int(existing.id)
        conn.execute(systems.update().where(systems.c.id == system_id).values(**values))
    if registering and info.owner_user_id is not None:
        upsert_role(conn, system_id, info.owner_user_id, "owner", stamp)
    return system_id


def upsert_role(conn: Connection, system_id: int, user_id: str, role: str, stamp: int) -> bool:
    """Give a user ``role`` on a system in ``user_systems``, replacing any role; return whether the row is new."""
    found = conn.execute(
        sa.select(user_systems.c.id).where(
            user_systems.c.system_id == system_id, user_systems.c.clerk_user_id == user_id
        )
    ).scalar_one_or_none()
    if found is None:
        conn.execute(
            user_systems.insert().values(
                clerk_user_id=user_id, system_id=system_id, role=role, created_at=stamp, updated_at=stamp
            )
        )
        return True
    conn.execute(user_systems.update().where(user_systems.c.id == found).values(role=role, updated_at=stamp))
    return False


def set_status(conn: Connection, system_id: int, status: str, *, now: int | None = None) -> None:
    """Mark a system active, disabled or removed (its data is always kept)."""
    if status not in (STATUS_ACTIVE, STATUS_DISABLED, STATUS_REMOVED):
        raise ValueError(f"unknown system status {status!r}")
    stamp = int(time.time()) if now is None else now
    conn.execute(systems.update().where(systems.c.id == system_id).values(status=status, updated_at=stamp))


def get_system(conn: Connection, system_id: int) -> dict[str, Any] | None:
    """Return the system's row as a dict, or ``None``."""
    row = conn.execute(sa.select(systems).where(systems.c.id == system_id)).mappings().first()
    return None if row is None else dict(row)


def latest_reading(conn: Connection, system_id: int) -> StoredReading | None:
    """Return the system's newest reading by inverter time, through the (system, time) index."""
    row = (
        conn.execute(
            sa.select(readings)
            .where(readings.c.system_id == system_id)
            .order_by(readings.c.inverter_time.desc())
            .limit(1)
        )
        .mappings()
        .first()
    )
    if row is None:
        return None
    return StoredReading(
        reading=Reading.from_row(row),
        received_time=row["received_time"],
        delay_seconds=row["delay_seconds"],
    )


def get_polling_status(conn: Connection, system_id: int) -> dict[str, Any] | None:
    """Return the system's ``polling_status`` row as a dict (without the raw response), or ``None``."""
    row = (
        conn.execute(sa.select(polling_status).where(polling_status.c.system_id == system_id))
        .mappings()
        .first()
    )
    if row is None:
        return None
    result = dict(row)
    result.pop("last_response", None)
    return result


def get_last_response(conn: Connection, system_id: int) -> str | None:
    """Return the raw answer kept in the system's ``polling_status`` (``None``: no poll kept one)."""
    found = conn.execute(
        sa.select(polling_status.c.last_response).where(polling_status.c.system_id == system_id).limit(1)
    ).scalar_one_or_none()
    return None if found is None else str(found)


def find_system(conn: Connection, vendor_type: str, vendor_site_id: str) -> int | None:
    """Return the id of the system with this vendor and site, or ``None``."""
    found = conn.execute(
        sa.select(systems.c.id).where(
            systems.c.vendor_type == vendor_type, systems.c.vendor_site_id == vendor_site_id
        )
    ).scalar_one_or_none()
    return None if found is None else int(found)
