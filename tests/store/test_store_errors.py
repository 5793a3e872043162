"""Every failure on the store's worker reaches the caller as a short StoreError (issue 16, items 2 and 5).

The message is one line of about 200 characters at most: the redacted URL and the database's own
reason. The statement and its parameters are logged at debug level only.
"""

from __future__ import annotations

import logging
from pathlib import Path
import sqlite3

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from custom_components.liveone.store import Store, StoreError, SystemInfo
from custom_components.liveone.store.engine import MAX_REASON_CHARS, describe_error
from custom_components.liveone.vendors.model import Batch, Reading

from .conftest import NOON


def _missing_table(conn: Connection) -> None:
    # A long statement with many parameters: none of it belongs in the message.
    values = ", ".join(f":p{n}" for n in range(300))
    conn.execute(
        sa.text(f"SELECT * FROM no_such_table WHERE x IN ({values})"), {f"p{n}": n for n in range(300)}
    )


async def test_database_error_is_one_short_line_with_the_details_at_debug(
    store_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    store = await Store.async_open(store_url)
    try:
        with (
            caplog.at_level(logging.DEBUG, logger="custom_components.liveone.store"),
            pytest.raises(StoreError) as raised,
        ):
            await store.async_transaction(_missing_table)
        message = str(raised.value)
        assert "\n" not in message
        assert len(message) <= len(store.url) + 30 + MAX_REASON_CHARS
        assert message.startswith(f"store operation failed on {store.url}: ")
        assert "no_such_table" in message  # the database's own reason
        assert "SELECT" not in message
        assert "299" not in message
        assert "[SQL:" not in message
        # The whole statement and its parameters are at debug level, for whoever needs them.
        debug = [r.getMessage() for r in caplog.records if r.levelno == logging.DEBUG]
        assert any("SELECT * FROM no_such_table" in line and "299" in line for line in debug)
    finally:
        await store.async_close()


async def test_value_the_driver_refuses_is_a_store_error(store_url: str, backend: str) -> None:
    store = await Store.async_open(store_url)
    # SQLite cannot bind an integer beyond 64 bits (OverflowError); psycopg2 refuses a NUL character
    # in a string (ValueError); mysqlclient cannot encode a lone surrogate (UnicodeEncodeError, a
    # ValueError; MariaDB itself takes a NUL). None is an SQLAlchemy error, and none may escape as itself.
    value: object = {"sqlite": 2**70, "postgresql": "a\x00b", "mariadb": "a\ud800b"}[backend]
    try:
        with pytest.raises(StoreError) as raised:
            await store.async_transaction(lambda conn: conn.execute(sa.text("SELECT :x"), {"x": value}).all())
        assert isinstance(raised.value.__cause__, OverflowError | ValueError)
        assert "\n" not in str(raised.value)
        # The store still works.
        assert await store.async_transaction(lambda conn: conn.execute(sa.text("SELECT 1")).scalar()) == 1
    finally:
        await store.async_close()


async def test_requests_the_store_refuses_keep_their_type(store_url: str) -> None:
    """An unknown system or a bad argument is the caller's error: it is not turned into StoreError."""
    store = await Store.async_open(store_url)
    try:
        system_id = await store.async_ensure_system(SystemInfo(vendor_type="demo", vendor_site_id="home"))
        with pytest.raises(ValueError, match="unknown system status"):
            await store.async_set_status(system_id, "gone")
        with pytest.raises(LookupError):
            await store.async_write_readings(system_id + 1, [Reading(inverter_time=NOON)])
    finally:
        await store.async_close()


async def test_locked_sqlite_database_gives_a_short_message(tmp_path: Path) -> None:
    path = tmp_path / "liveone.db"
    url = f"sqlite:///{path}"
    store = await Store.async_open(url)
    other = sqlite3.connect(path, isolation_level=None)
    try:
        system_id = await store.async_ensure_system(SystemInfo(vendor_type="demo", vendor_site_id="home"))

        def _short_wait(conn: Connection) -> None:
            conn.exec_driver_sql("PRAGMA busy_timeout=50")  # the store's one connection: no 5 s wait

        await store.async_transaction(_short_wait)
        other.execute("BEGIN EXCLUSIVE")
        batch = [Reading(inverter_time=NOON + 60 * n, solar_w=n) for n in range(200)]
        with pytest.raises(StoreError) as raised:
            await store.async_record_batch(
                system_id, "demo", Batch(readings=tuple(batch)), started=NOON, now=NOON + 86400
            )
        message = str(raised.value)
        assert message == f"store operation failed on {url}: database is locked"
        other.execute("ROLLBACK")
        # Nothing partial was stored, and the next write succeeds.
        result = await store.async_record_batch(
            system_id, "demo", Batch(readings=tuple(batch)), started=NOON, now=NOON + 86400
        )
        assert result.rows_written == 200
    finally:
        other.close()
        await store.async_close()


def test_describe_error_cuts_a_long_reason() -> None:
    err = sa.exc.OperationalError("SELECT 1", {"a": 1}, Exception("x" * 1000 + "\nsecond line"))
    reason = describe_error(err, "postgresql://u:secret@host/db")
    assert len(reason) == MAX_REASON_CHARS
    assert reason.endswith("...")
    assert describe_error(sa.exc.OperationalError("SELECT 1", {}, Exception("")), "sqlite://") == "Exception"
    secret = sa.exc.OperationalError("SELECT 1", {}, Exception('password "secret" failed\n'))
    assert describe_error(secret, "postgresql://u:secret@host/db") == 'password "***" failed'
