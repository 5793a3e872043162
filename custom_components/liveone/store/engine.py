"""Engine creation from a SQLAlchemy URL, with the connection settings each database wants.

Three databases are supported: the bundled SQLite file, PostgreSQL (``postgresql://``, through
psycopg2) and MySQL/MariaDB (``mysql://`` or ``mariadb://``, through mysqlclient). Home Assistant's
container ships both server drivers for its recorder, so the integration needs no extra requirement.

Every message this module produces names the database by its redacted URL: the password never
appears in a log, an exception or diagnostics.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.exc import ArgumentError, SQLAlchemyError
from sqlalchemy.pool import StaticPool

from .errors import StoreError

DEFAULT_DB_FILE = ("liveone", "liveone.db")

DEFAULT_DRIVERS: Final = {
    "sqlite": "pysqlite",
    "postgresql": "psycopg2",
    "mysql": "mysqldb",
    "mariadb": "mysqldb",
}
"""The supported backends and the driver each uses when the URL names none."""

DRIVER_PACKAGES: Final = {"pysqlite": "sqlite3", "psycopg2": "psycopg2", "mysqldb": "mysqlclient"}
"""The Python package that provides each driver, for the "not installed" message."""

CONNECT_TIMEOUT: Final = 10
"""Seconds to wait for a server database to answer before the store gives up (its worker waits)."""

_EXAMPLE_URLS: Final = "sqlite:////config/liveone/liveone.db or postgresql://user:password@host/database"


def default_url(config_dir: str | Path) -> str:
    """Return the default store URL: an SQLite file under the Home Assistant config directory."""
    return f"sqlite:///{Path(config_dir).joinpath(*DEFAULT_DB_FILE)}"


def redact_url(url: str | URL) -> str:
    """Return the URL with any password hidden, fit for logs and diagnostics."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except (ArgumentError, ValueError, TypeError):
        return "<not a database URL>"


def scrub(text: str, url: str | URL) -> str:
    """Return ``text`` (a driver's error message) on one line, with the URL's password masked."""
    message = " ".join(str(text).split())
    try:
        password = make_url(url).password
    except (ArgumentError, ValueError, TypeError):
        return message
    if password:
        message = message.replace(str(password), "***")
    return message


MAX_REASON_CHARS: Final = 160
"""The longest reason :func:`describe_error` returns; with the URL a message stays near 200 characters."""


def describe_error(err: BaseException, url: str | URL) -> str:
    """Return the database's own reason for an error, on one short line, scrubbed.

    SQLAlchemy appends the statement and its parameters (``[SQL: ...]``, ``[parameters: ...]``) and a
    link to its documentation; none of that is kept: the caller logs it at debug level
    (:func:`error_details`). An error without a message is named by its type.
    """
    cause = getattr(err, "orig", None) or err
    text = str(cause)
    for marker in ("[SQL:", "[parameters:", "(Background on this error"):
        text = text.split(marker, 1)[0]
    # PostgreSQL's later lines quote the statement (``LINE 1: SELECT ...``) with its values.
    text = next((line for line in text.splitlines() if line.strip()), "")
    reason = scrub(text, url).strip() or type(cause).__name__
    if len(reason) > MAX_REASON_CHARS:
        reason = reason[: MAX_REASON_CHARS - 3] + "..."
    return reason


def error_details(err: BaseException, url: str | URL) -> str:
    """Return everything an error says (statement and parameters included), scrubbed, for debug logs."""
    return scrub(f"{type(err).__name__}: {err}", url)


def parse_url(url: str | URL) -> URL:
    """Parse a store URL and check that it names a supported database; no I/O.

    A URL without a driver gets the default one (``postgresql`` -> psycopg2, ``mysql`` -> mysqldb).

    Raises:
        StoreError: the text is not a URL, or names a database the store does not support.

    """
    try:
        parsed = make_url(url)
    except (ArgumentError, ValueError, TypeError):
        # The text itself may hold a password, so it is not repeated.
        raise StoreError(f"the store URL is not a database URL; expected e.g. {_EXAMPLE_URLS}") from None
    backend = parsed.get_backend_name()
    if backend not in DEFAULT_DRIVERS:
        raise StoreError(
            f"unsupported database {backend!r} in {redact_url(parsed)}: "
            "use sqlite, postgresql or mysql (MariaDB)"
        )
    if backend != "sqlite" and parsed.drivername == backend:
        parsed = parsed.set(drivername=f"{backend}+{DEFAULT_DRIVERS[backend]}")
    if backend != "sqlite" and not parsed.database:
        raise StoreError(f"the store URL {redact_url(parsed)} names no database; add /<database> to it")
    return parsed


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # WAL makes NORMAL durable across application crashes; only a power cut may lose the last commit.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def _create_sqlite(parsed: URL) -> Engine:
    database = parsed.database
    if database and database != ":memory:" and not database.startswith("file:"):
        Path(database).parent.mkdir(parents=True, exist_ok=True)
    if not database or database == ":memory:":
        # One shared connection, or every checkout would see a new, empty database.
        engine = sa.create_engine(parsed, poolclass=StaticPool, connect_args={"check_same_thread": False})
    else:
        engine = sa.create_engine(
            parsed, pool_size=1, max_overflow=4, connect_args={"check_same_thread": False}
        )
    sa.event.listen(engine, "connect", _sqlite_on_connect)
    return engine


def _create_server(parsed: URL) -> Engine:
    connect_args: dict[str, Any] = {}
    if "connect_timeout" not in parsed.query:
        connect_args["connect_timeout"] = CONNECT_TIMEOUT
    if parsed.get_backend_name() in ("mysql", "mariadb") and "charset" not in parsed.query:
        parsed = parsed.update_query_dict({"charset": "utf8mb4"})
    # One worker thread does all the store's work, so a small pool suffices; pre-ping replaces
    # connections the server closed (restarts, idle timeouts) instead of failing the next poll.
    return sa.create_engine(
        parsed,
        pool_size=2,
        max_overflow=2,
        pool_pre_ping=True,
        pool_recycle=3600,
        connect_args=connect_args,
    )


def create_engine(url: str | URL) -> Engine:
    """Create the engine for a store URL (it does not connect yet).

    SQLite files get WAL, foreign keys and a busy timeout on every connection, and their directory is
    created. All store work runs on one worker thread, so SQLite keeps one connection open
    (``pool_size=1``) instead of opening a file per transaction. Server databases get a small pool
    that checks connections before use, and a connect timeout.

    Raises:
        StoreError: the URL is invalid or unsupported, or its driver is not installed.

    """
    parsed = parse_url(url)
    try:
        if parsed.get_backend_name() == "sqlite":
            return _create_sqlite(parsed)
        return _create_server(parsed)
    except (ImportError, ArgumentError) as err:
        driver = parsed.get_driver_name()
        package = DRIVER_PACKAGES.get(driver, driver)
        raise StoreError(
            f"the {parsed.get_backend_name()} driver {driver!r} for {redact_url(parsed)} is not installed"
            f" (Python package {package}): {scrub(str(err), parsed)}"
        ) from err


def connect(url: str | URL) -> Engine:
    """Create the engine for a store URL and check that the database answers.

    Raises:
        StoreError: the URL is invalid, its driver missing, or the database cannot be reached (the
            message names the redacted URL and the driver's reason).

    """
    engine = create_engine(url)
    try:
        with engine.connect():
            pass
    except SQLAlchemyError as err:
        engine.dispose()
        raise StoreError(
            f"cannot open the store at {redact_url(engine.url)}: {describe_error(err, engine.url)}"
        ) from err
    return engine
