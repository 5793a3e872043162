"""The ``user_systems`` rows: roles, grants, revokes, the recorded owner, and what each user sees."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from custom_components.liveone.store import access
from custom_components.liveone.store.schema import systems, user_systems
from custom_components.liveone.store.systems import SystemInfo, ensure_system, set_status
from custom_components.liveone.vendors.model import Reading

from .conftest import NOON, add_system, write


def _rows(engine: Engine, system_id: int) -> list[tuple[str, str]]:
    with engine.connect() as conn:
        return [
            (str(user), str(role))
            for user, role in conn.execute(
                sa.select(user_systems.c.clerk_user_id, user_systems.c.role)
                .where(user_systems.c.system_id == system_id)
                .order_by(user_systems.c.clerk_user_id)
            ).tuples()
        ]


def _owner(engine: Engine, system_id: int) -> str | None:
    with engine.connect() as conn:
        return conn.execute(
            sa.select(systems.c.owner_clerk_user_id).where(systems.c.id == system_id)
        ).scalar()


def test_grant_replaces_a_role_and_records_the_first_owner(engine: Engine, system_id: int) -> None:
    with engine.begin() as conn:
        assert access.grant(conn, system_id, "ann", "viewer", now=1) is True
        assert access.grant(conn, system_id, "ann", "admin", now=2) is False
        assert access.role_of(conn, system_id, "ann") == "admin"
        assert access.role_of(conn, system_id, "bob") is None
        access.grant(conn, system_id, "bob", "owner", now=3)
        access.grant(conn, system_id, "cat", "owner", now=4)
    assert _rows(engine, system_id) == [("ann", "admin"), ("bob", "owner"), ("cat", "owner")]
    assert _owner(engine, system_id) == "bob"  # the first owner stays the recorded one
    with engine.begin() as conn, pytest.raises(ValueError, match="unknown role 'king'"):
        access.grant(conn, system_id, "ann", "king")


def test_revoke_moves_the_recorded_owner(engine: Engine, system_id: int) -> None:
    with engine.begin() as conn:
        access.grant(conn, system_id, "bob", "owner", now=1)
        access.grant(conn, system_id, "cat", "owner", now=2)
        access.grant(conn, system_id, "dan", "viewer", now=3)
        assert access.revoke(conn, system_id, "nobody") is None
        assert access.revoke(conn, system_id, "dan") == "viewer"
        assert _owner_in(conn, system_id) == "bob"
        assert access.revoke(conn, system_id, "bob", now=5) == "owner"
        assert _owner_in(conn, system_id) == "cat"
        assert access.revoke(conn, system_id, "cat", now=6) == "owner"
        assert _owner_in(conn, system_id) is None
    assert _rows(engine, system_id) == []


def _owner_in(conn: sa.Connection, system_id: int) -> str | None:
    return conn.execute(sa.select(systems.c.owner_clerk_user_id).where(systems.c.id == system_id)).scalar()


def test_revoke_all(engine: Engine, system_id: int) -> None:
    with engine.begin() as conn:
        other = add_system(conn, site="2")
        for user in ("a", "b"):
            access.grant(conn, system_id, user, "viewer")
        access.grant(conn, other, "a", "viewer")
        assert access.revoke_all(conn, system_id) == 2
        assert access.revoke_all(conn, system_id) == 0
    assert _rows(engine, other) == [("a", "viewer")]


def test_visible_systems(engine: Engine) -> None:
    with engine.begin() as conn:
        home = add_system(conn, site="home")
        beach = add_system(conn, site="beach", offset=570)
        gone = add_system(conn, site="gone")
        access.grant(conn, home, "ann", "viewer")
        access.grant(conn, gone, "ann", "owner")
        set_status(conn, gone, "removed")
    write(engine, home, [Reading(inverter_time=NOON + 60 * n, solar_w=n) for n in (1, 2, 3)])
    with engine.connect() as conn:
        mine = access.visible_systems(conn, "ann")
        everything = access.visible_systems(conn, "ann", see_all=True)
        nobody = access.visible_systems(conn, "zed")
    assert [(s.system_id, s.role, s.first_time, s.last_time) for s in mine] == [
        (home, "viewer", NOON + 60, NOON + 180)
    ]
    assert [(s.system_id, s.role, s.timezone_offset_min) for s in everything] == [
        (home, "viewer", 600),
        (beach, None, 570),
    ]
    assert nobody == []


def test_owner_is_recorded_only_on_registration(engine: Engine) -> None:
    """A restart refreshes the system but does not bring back an owner who was revoked."""
    info = SystemInfo(vendor_type="demo", vendor_site_id="home", owner_user_id="ann")
    with engine.begin() as conn:
        system_id = ensure_system(conn, info)
        access.revoke(conn, system_id, "ann")
        ensure_system(conn, info)  # Home Assistant starts again
    assert _rows(engine, system_id) == []
    with engine.begin() as conn:
        set_status(conn, system_id, "removed")  # the entry was removed, then the system added again
        ensure_system(conn, SystemInfo(vendor_type="demo", vendor_site_id="home", owner_user_id="bob"))
    assert _rows(engine, system_id) == [("bob", "owner")]
    assert _owner(engine, system_id) == "bob"
