"""Engine creation from a SQLAlchemy URL, with the connection settings each database wants."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import URL, Engine, make_url
from sqlalchemy.pool import StaticPool

DEFAULT_DB_FILE = ("liveone", "liveone.db")


def default_url(config_dir: str | Path) -> str:
    """Return the default store URL: an SQLite file under the Home Assistant config directory."""
    return f"sqlite:///{Path(config_dir).joinpath(*DEFAULT_DB_FILE)}"


def redact_url(url: str | URL) -> str:
    """Return the URL with any password hidden, fit for logs and diagnostics."""
    return make_url(url).render_as_string(hide_password=True)


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    # WAL makes NORMAL durable across application crashes; only a power cut may lose the last commit.
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=5000")
    cursor.close()


def create_engine(url: str | URL) -> Engine:
    """Create the engine for a store URL.

    SQLite files get WAL, foreign keys and a busy timeout on every connection, and their directory is
    created. All store work runs on one worker thread, so SQLite keeps one connection open
    (``pool_size=1``) instead of opening a file per transaction.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:" and not database.startswith("file:"):
            Path(database).parent.mkdir(parents=True, exist_ok=True)
        if not database or database == ":memory:":
            # One shared connection, or every checkout would see a new, empty database.
            engine = sa.create_engine(parsed, poolclass=StaticPool, connect_args={"check_same_thread": False})
        else:
            engine = sa.create_engine(
                parsed,
                pool_size=1,
                max_overflow=4,
                connect_args={"check_same_thread": False},
            )
        sa.event.listen(engine, "connect", _sqlite_on_connect)
        return engine
    return sa.create_engine(parsed, pool_pre_ping=True, pool_recycle=3600)
