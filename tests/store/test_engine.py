"""Store URLs: which databases are accepted, the errors for the rest, and that no password leaks."""

from __future__ import annotations

import sys

import pytest
import sqlalchemy as sa
from sqlalchemy.dialects import mysql, postgresql, sqlite

from custom_components.liveone.store import Store, StoreError, SystemInfo
from custom_components.liveone.store.dialect import reset_sequence, upsert, upsert_statement
from custom_components.liveone.store.engine import (
    CONNECT_TIMEOUT,
    connect,
    create_engine,
    parse_url,
    redact_url,
    scrub,
)
from custom_components.liveone.store.schema import readings_agg_1d, systems

SECRET = "Hunter2-secret"


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        (f"postgresql://liveone:{SECRET}@db.lan/liveone", "postgresql+psycopg2"),
        (f"postgresql+psycopg2://liveone:{SECRET}@db.lan/liveone", "postgresql+psycopg2"),
        (f"mysql://liveone:{SECRET}@db.lan/liveone", "mysql+mysqldb"),
        (f"mariadb://liveone:{SECRET}@db.lan/liveone", "mariadb+mysqldb"),
        ("sqlite:////config/liveone/liveone.db", "sqlite"),
    ],
)
def test_supported_urls_get_their_driver(url: str, driver: str) -> None:
    assert parse_url(url).drivername == driver


@pytest.mark.parametrize(
    ("url", "message"),
    [
        (f"liveone:{SECRET}", "is not a database URL; expected e.g."),
        (
            f"oracle://liveone:{SECRET}@db.lan/liveone",
            "unsupported database 'oracle' in oracle://liveone:***@",
        ),
        (f"postgresql://liveone:{SECRET}@db.lan", "names no database; add /<database>"),
        (f"postgresql://liveone:{SECRET}@db.lan:notaport/x", "is not a database URL"),
    ],
)
def test_bad_urls_are_clear_errors_without_the_password(url: str, message: str) -> None:
    with pytest.raises(StoreError) as caught:
        parse_url(url)
    assert message in str(caught.value)
    assert SECRET not in str(caught.value)


def test_redact_and_scrub() -> None:
    url = f"postgresql://liveone:{SECRET}@db.lan/liveone"
    assert redact_url(url) == "postgresql://liveone:***@db.lan/liveone"
    assert redact_url("not a url") == "<not a database URL>"
    assert scrub(f"login with\n  {SECRET} failed", url) == "login with *** failed"
    assert scrub("no password here", "sqlite:///x.db") == "no password here"
    assert scrub("text", "garbage") == "text"


def test_server_engine_settings_without_connecting() -> None:
    engine = create_engine(f"postgresql://liveone:{SECRET}@127.0.0.1:1/liveone")
    try:
        assert engine.dialect.name == "postgresql"
        assert engine.dialect.driver == "psycopg2"
        assert engine.pool._pre_ping  # a connection the server dropped is replaced, not failed
        args = engine.dialect.create_connect_args(engine.url)[1]
        assert args["host"] == "127.0.0.1"
    finally:
        engine.dispose()


def test_missing_driver_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "MySQLdb", None)  # as on a system without mysqlclient
    with pytest.raises(StoreError) as caught:
        create_engine(f"mysql://liveone:{SECRET}@db.lan/liveone")
    text = str(caught.value)
    assert "the mysql driver 'mysqldb' for mysql+mysqldb://liveone:***@db.lan/liveone" in text
    assert "(Python package mysqlclient)" in text
    assert SECRET not in text
    with pytest.raises(StoreError, match="driver 'nosuch'"):
        create_engine(f"postgresql+nosuch://liveone:{SECRET}@db.lan/liveone")


@pytest.mark.usefixtures("socket_enabled")
def test_unreachable_server_is_a_clear_error() -> None:
    # Port 1 on the loopback interface: nothing listens there, so the refusal is immediate.
    with pytest.raises(StoreError) as caught:
        connect(f"postgresql://liveone:{SECRET}@127.0.0.1:1/liveone")
    text = str(caught.value)
    assert text.startswith("cannot open the store at postgresql+psycopg2://liveone:***@127.0.0.1:1/liveone: ")
    assert "refused" in text
    assert SECRET not in text
    assert "\n" not in text
    assert CONNECT_TIMEOUT == 10


@pytest.mark.postgresql
async def test_wrong_password_is_refused_without_showing_it(pg_url: str) -> None:
    wrong = sa.make_url(pg_url).set(password=SECRET).render_as_string(hide_password=False)
    with pytest.raises(StoreError) as caught:
        await Store.async_open(wrong)
    assert "password authentication failed" in str(caught.value)
    assert SECRET not in str(caught.value)
    assert "***" in str(caught.value)


@pytest.mark.parametrize(
    ("dialect", "spelling"),
    [
        (sqlite.dialect(), "ON CONFLICT (system_id, day) DO UPDATE SET"),
        (postgresql.dialect(), "ON CONFLICT (system_id, day) DO UPDATE SET"),
        (mysql.dialect(), "ON DUPLICATE KEY UPDATE"),
    ],
)
def test_upsert_spelling_per_database(dialect: sa.Dialect, spelling: str) -> None:
    stmt = upsert_statement(
        dialect.name,
        readings_agg_1d,
        ["system_id", "day", "solar_kwh", "created_at"],
        ["system_id", "day"],
        insert_only=["created_at"],
    )
    sql = str(stmt.compile(dialect=dialect))
    assert spelling in sql
    updates = sql.split(spelling)[1]
    assert "solar_kwh" in updates
    assert "created_at" not in updates  # kept from the first insert
    with pytest.raises(ValueError, match="no upsert"):
        upsert_statement("oracle", readings_agg_1d, ["day"], ["day"])


def test_sequence_reset_is_only_for_postgresql(store_url: str) -> None:
    engine = connect(store_url)
    try:
        with engine.begin() as conn:
            systems.create(conn)
            conn.execute(systems.insert(), [{"id": 7, "vendor_type": "demo", "vendor_site_id": "x"}])
            reset_sequence(conn, systems)
            upsert(conn, systems, [], keys=["id"])  # nothing to write is no statement at all
            new_id = conn.execute(
                systems.insert().values(vendor_type="demo", vendor_site_id="y")
            ).inserted_primary_key
        assert new_id is not None
        assert new_id[0] == 8  # after the explicit id, on every database
    finally:
        engine.dispose()


@pytest.mark.postgresql
async def test_connections_the_server_closed_are_replaced(pg_url: str, pg_admin_url: str) -> None:
    """A database restart (here: its sessions killed) costs no failed write: pre-ping reconnects."""
    store = await Store.async_open(pg_url)
    try:
        system_id = await store.async_ensure_system(SystemInfo(vendor_type="demo", vendor_site_id="x"))
        admin = sa.create_engine(pg_admin_url, isolation_level="AUTOCOMMIT", poolclass=sa.pool.NullPool)
        with admin.connect() as conn:
            killed = conn.execute(
                sa.text("SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity WHERE datname = :db"),
                {"db": sa.make_url(pg_url).database},
            ).scalar_one()
        admin.dispose()
        assert killed >= 1
        assert await store.async_find_system("demo", "x") == system_id
    finally:
        await store.async_close()
