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


# ------------------------------------------------------------------------------------------------
# The policy: lookups, and each check with its change in one transaction

ADMIN = access.Caller(user_id="root", is_admin=True)
AUTOMATION = access.Caller(user_id=None, is_admin=True)


def _caller(user: str) -> access.Caller:
    return access.Caller(user_id=user, is_admin=False)


def _roles(engine: Engine, system_id: int) -> None:
    with engine.begin() as conn:
        access.grant(conn, system_id, "olga", "owner")
        access.grant(conn, system_id, "adam", "admin")
        access.grant(conn, system_id, "vera", "viewer")


def test_lookup_and_effective_roles(engine: Engine, system_id: int) -> None:
    _roles(engine, system_id)
    with engine.connect() as conn:
        found = {
            name: access.lookup(conn, caller, system_id)
            for name, caller in (
                ("olga", _caller("olga")),
                ("adam", _caller("adam")),
                ("vera", _caller("vera")),
                ("root", ADMIN),
                ("automation", AUTOMATION),
            )
        }
        assert {name: grant.role for name, grant in found.items()} == {
            "olga": "owner",
            "adam": "admin",
            "vera": "viewer",
            "root": "admin",
            "automation": "admin",
        }
        assert found["vera"].system_id == system_id
        assert not found["vera"].can_manage
        assert found["adam"].can_manage
        with pytest.raises(access.NotPermittedError, match="viewers may not change"):
            access.lookup(conn, _caller("vera"), system_id, manage=True)
        # A stranger's refusal reads exactly like an unknown system's.
        with pytest.raises(access.SystemNotFoundError, match=f"unknown system {system_id}$"):
            access.lookup(conn, _caller("zed"), system_id)
        with pytest.raises(access.SystemNotFoundError) as unknown:
            access.lookup(conn, ADMIN, system_id + 1)
        assert unknown.value.system_id == system_id + 1
    # An administrator's own owner row stays owner.
    assert access.Caller(user_id="olga", is_admin=True).effective_role("owner") == "owner"
    with engine.begin() as conn:
        set_status(conn, system_id, "removed")
        with pytest.raises(access.SystemNotFoundError):
            access.lookup(conn, ADMIN, system_id)


def test_grant_as_checks_the_caller_and_the_owner_rule(engine: Engine, system_id: int) -> None:
    _roles(engine, system_id)
    with engine.begin() as conn:
        assert access.grant_as(conn, _caller("adam"), system_id, "ann", "viewer") is True
        assert access.grant_as(conn, _caller("adam"), system_id, "ann", "admin") is False
        with pytest.raises(access.OwnerRequiredError):
            access.grant_as(conn, _caller("adam"), system_id, "ann", "owner")  # giving owner
        with pytest.raises(access.OwnerRequiredError):
            access.grant_as(conn, _caller("adam"), system_id, "olga", "viewer")  # taking it
        with pytest.raises(access.NotPermittedError):
            access.grant_as(conn, _caller("vera"), system_id, "ann", "viewer")
        with pytest.raises(access.SystemNotFoundError):
            access.grant_as(conn, _caller("zed"), system_id, "ann", "viewer")
        with pytest.raises(ValueError, match="unknown role"):
            access.grant_as(conn, ADMIN, system_id, "ann", "king")
        assert access.grant_as(conn, _caller("olga"), system_id, "bob", "owner") is True
        assert access.grant_as(conn, AUTOMATION, system_id, "bob", "viewer") is False
    assert _rows(engine, system_id) == [
        ("adam", "admin"),
        ("ann", "admin"),
        ("bob", "viewer"),
        ("olga", "owner"),
        ("vera", "viewer"),
    ]


def test_revoke_as_checks_the_caller_and_the_owner_rule(engine: Engine, system_id: int) -> None:
    _roles(engine, system_id)
    with engine.begin() as conn:
        with pytest.raises(access.NoAccessError):
            access.revoke_as(conn, _caller("adam"), system_id, "nobody")
        with pytest.raises(access.OwnerRequiredError):
            access.revoke_as(conn, _caller("adam"), system_id, "olga")
        with pytest.raises(access.NotPermittedError):
            access.revoke_as(conn, _caller("vera"), system_id, "adam")
        assert access.revoke_as(conn, _caller("adam"), system_id, "vera") == "viewer"
        assert access.revoke_as(conn, ADMIN, system_id, "olga") == "owner"
    assert _rows(engine, system_id) == [("adam", "admin")]


def test_a_granter_whose_row_was_revoked_is_refused(engine: Engine, system_id: int) -> None:
    """The right to grant is checked in the transaction that writes: no window between check and grant."""
    _roles(engine, system_id)
    adam = _caller("adam")
    with engine.connect() as conn:
        assert access.lookup(conn, adam, system_id, manage=True).can_manage  # adam may grant ...
    with engine.begin() as conn:
        access.revoke(conn, system_id, "adam")  # ... until his row goes
    with engine.begin() as conn, pytest.raises(access.SystemNotFoundError):
        access.grant_as(conn, adam, system_id, "ann", "admin")
    with engine.begin() as conn:
        access.grant(conn, system_id, "adam", "viewer")  # demoted instead of removed
    with engine.begin() as conn, pytest.raises(access.NotPermittedError):
        access.grant_as(conn, adam, system_id, "ann", "admin")
    assert ("ann", "admin") not in _rows(engine, system_id)


def test_systems_visible_to(engine: Engine, system_id: int) -> None:
    _roles(engine, system_id)
    with engine.begin() as conn:
        other = add_system(conn, site="other")
    with engine.connect() as conn:
        assert [(s.system_id, s.role) for s in access.systems_visible_to(conn, _caller("vera"))] == [
            (system_id, "viewer")
        ]
        assert [(s.system_id, s.role) for s in access.systems_visible_to(conn, ADMIN)] == [
            (system_id, None),
            (other, None),
        ]
        assert access.systems_visible_to(conn, AUTOMATION)[0].system_id == system_id
