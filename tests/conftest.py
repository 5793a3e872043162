"""Shared test fixtures.

``custom_components.liveone`` is imported first so that our package, not the test plugin's own
``testing_config/custom_components``, is the one Home Assistant's loader finds.
"""

from __future__ import annotations

from collections.abc import Callable, Generator, Iterator
from datetime import timedelta
import logging
import os
from pathlib import Path
import tempfile
from typing import NoReturn
from unittest.mock import PropertyMock, patch
import uuid

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed
from pytest_homeassistant_custom_component.syrupy import HomeAssistantSnapshotExtension
import sqlalchemy as sa
from sqlalchemy.pool import NullPool
from syrupy.assertion import SnapshotAssertion

import custom_components.liveone  # noqa: F401  (must come before Home Assistant's loader runs)
from custom_components.liveone.const import DOMAIN

from .helpers import mariadbserver, pgserver

# The test plugin turns the sqlalchemy.engine logger up to INFO: every statement of the recorder's thread
# then reaches the terminal between tests, hiding the progress and the failures. Its warnings and errors
# still show (and are captured with each test's log).
logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)

FIXTURES = Path(__file__).parent / "fixtures"


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    """A fresh SQLite store file for the test."""
    return f"sqlite:///{tmp_path / 'liveone.db'}"


# ---- server databases ----------------------------------------------------------------------------------
# scripts/test starts one PostgreSQL server for the whole run and exports its admin URL as
# LIVEONE_TEST_PG_URL. Without it, the first test that needs PostgreSQL starts a server for this pytest
# process. A server that cannot be started fails the tests in CI (CI set) or with LIVEONE_REQUIRE_PG=1,
# and skips them otherwise, saying why.


def _server_unavailable(reason: str, require: str = "LIVEONE_REQUIRE_PG") -> NoReturn:
    if os.environ.get("CI") or os.environ.get(require) == "1":
        pytest.fail(reason, pytrace=False)
    pytest.skip(f"{reason} (set {require}=1 to make this a failure)")


@pytest.fixture(scope="session")
def pg_admin_url() -> Iterator[str]:
    """The URL of a PostgreSQL server's maintenance database (the user may create databases)."""
    if url := os.environ.get("LIVEONE_TEST_PG_URL"):
        yield url
        return
    base = Path(tempfile.mkdtemp(prefix="liveone-pg-"))
    try:
        url = pgserver.start(base)
    except (pgserver.ServerError, OSError, KeyError) as err:
        pgserver.stop(base)
        _server_unavailable(f"cannot start a PostgreSQL server for the tests: {err}")
    except BaseException:
        pgserver.stop(base)
        raise
    try:
        yield url
    finally:
        pgserver.stop(base)


@pytest.fixture(scope="session")
def mariadb_admin_url() -> Iterator[str]:
    """The URL of a MariaDB server (the user may create databases), when MariaDB is installed here.

    MariaDB is optional: where its server or the mysqlclient driver is not installed, the MariaDB tests
    skip (they fail with LIVEONE_REQUIRE_MARIADB=1). Where both are installed, a server that cannot
    start fails them in CI (CI set) or with LIVEONE_REQUIRE_MARIADB=1.
    """
    if url := os.environ.get("LIVEONE_TEST_MARIADB_URL"):
        yield url
        return
    require = "LIVEONE_REQUIRE_MARIADB"
    if not mariadbserver.available():
        reason = "MariaDB (its server and the mysqlclient driver) is not installed here"
        if os.environ.get(require) == "1":
            pytest.fail(reason, pytrace=False)
        pytest.skip(reason)
    base = Path(tempfile.mkdtemp(prefix="liveone-mariadb-"))
    try:
        url = mariadbserver.start(base)
    except (mariadbserver.ServerError, OSError, KeyError) as err:
        mariadbserver.stop(base)
        _server_unavailable(f"cannot start a MariaDB server for the tests: {err}", require)
    except BaseException:
        mariadbserver.stop(base)
        raise
    try:
        yield url
    finally:
        mariadbserver.stop(base)


class ServerDatabases:
    """Creates empty databases on a test server, each named uniquely (xdist workers share a server)."""

    def __init__(self, admin_url: str) -> None:
        self._admin_url = admin_url
        self._admin = sa.create_engine(admin_url, isolation_level="AUTOCOMMIT", poolclass=NullPool)
        self._mysql = self._admin.dialect.name in ("mysql", "mariadb")
        self._names: list[str] = []

    def create(self) -> str:
        """Create a new, empty database and return its URL (with the password)."""
        name = f"t_{os.environ.get('PYTEST_XDIST_WORKER', 'main')}_{uuid.uuid4().hex[:12]}"
        try:
            with self._admin.connect() as conn:
                conn.exec_driver_sql(f"CREATE DATABASE {name}")
        except sa.exc.OperationalError as err:
            where = self._admin_url.rsplit("@", 1)[-1]
            _server_unavailable(f"the database server at {where} does not answer: {err}")
        self._names.append(name)
        return sa.make_url(self._admin_url).set(database=name).render_as_string(hide_password=False)

    def drop_all(self) -> None:
        """Drop every database this object created (closing their sessions first)."""
        with self._admin.connect() as conn:
            for name in self._names:
                if self._mysql:
                    sessions = conn.exec_driver_sql(
                        f"SELECT id FROM information_schema.processlist WHERE db = '{name}'"
                    ).scalars()
                    for session in list(sessions):
                        try:
                            conn.exec_driver_sql(f"KILL {int(session)}")
                        except sa.exc.OperationalError as err:
                            # 1094 "Unknown thread id": the session ended after it was listed.
                            if err.orig is None or err.orig.args[0] != 1094:
                                raise
                    conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name}")
                else:
                    conn.exec_driver_sql(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        self._admin.dispose()


@pytest.fixture
def pg_databases(pg_admin_url: str, socket_enabled: None) -> Iterator[ServerDatabases]:
    """Empty PostgreSQL databases for the test, dropped afterwards.

    Sockets are enabled for the test, still only to 127.0.0.1 (Home Assistant's test plugin keeps
    that limit), so the tests reach the local server and nothing else.
    """
    databases = ServerDatabases(pg_admin_url)
    yield databases
    databases.drop_all()


@pytest.fixture
def mariadb_databases(mariadb_admin_url: str, socket_enabled: None) -> Iterator[ServerDatabases]:
    """Empty MariaDB databases for the test, dropped afterwards."""
    databases = ServerDatabases(mariadb_admin_url)
    yield databases
    databases.drop_all()


@pytest.fixture
def pg_url(pg_databases: ServerDatabases) -> str:
    """A new, empty PostgreSQL database of the test's own."""
    return pg_databases.create()


BACKENDS = [
    "sqlite",
    pytest.param("postgresql", marks=pytest.mark.postgresql),
    pytest.param("mariadb", marks=pytest.mark.mariadb),
]


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    """The database a store test runs on: SQLite, PostgreSQL, MariaDB (each test runs on each)."""
    name: str = request.param
    return name


@pytest.fixture
def new_store_url(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> Callable[[], str]:
    """Make fresh, empty store databases of the test's backend (for tests that need two)."""
    made = 0

    def make() -> str:
        nonlocal made
        made += 1
        if backend == "sqlite":
            return f"sqlite:///{tmp_path / f'liveone-{made}.db'}"
        databases: ServerDatabases = request.getfixturevalue(
            f"{'pg' if backend == 'postgresql' else backend}_databases"
        )
        return databases.create()

    return make


@pytest.fixture
def store_url(new_store_url: Callable[[], str]) -> str:
    """A fresh, empty store database of the test's backend."""
    return new_store_url()


# The demo entry the HA tests use: a simulated system at Daylesford (UTC+10 standard time).
DEMO_ENTRY_DATA = {
    "vendor": "demo",
    "site_id": "demo_home",
    "backfill_days": 0,
    "timezone_offset_min": 600,
    "latitude": -37.35,
    "longitude": 144.14,
}
# 2025-08-17 12:00 local (AEST): a sunny-enough winter noon for the simulation.
NOON_LOCAL = "2025-08-17T02:00:00+00:00"


def demo_entry(**data: object) -> MockConfigEntry:
    """A demo system's config entry, with ``data`` overriding the defaults (e.g. ``backfill_days=1``)."""
    return MockConfigEntry(
        domain=DOMAIN,
        title="Demo Home",
        unique_id="demo_demo_home",
        data={**DEMO_ENTRY_DATA, **data},
    )


def query_db(db_url: str, sql: str) -> list[tuple[object, ...]]:
    """Read a store file directly with its own engine (for tests that check what was written)."""
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            return [tuple(row) for row in conn.execute(sa.text(sql))]
    finally:
        engine.dispose()


@pytest.fixture
def mock_config_entry() -> MockConfigEntry:
    """A demo system's config entry (not yet added to hass)."""
    return demo_entry()


@pytest.fixture
async def setup_liveone(hass: HomeAssistant, enable_custom_integrations: None, db_url: str) -> str:
    """Set up the liveone domain with the test's own store file; return its URL."""
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"db_url": db_url}})
    return db_url


@pytest.fixture
async def init_integration(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    setup_liveone: str,
    mock_config_entry: MockConfigEntry,
) -> MockConfigEntry:
    """The demo system, set up at local noon."""
    freezer.move_to(NOON_LOCAL)
    mock_config_entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    return mock_config_entry


@pytest.fixture
def entity_registry_enabled_by_default() -> Generator[None]:
    """Create every entity enabled, including the disabled-by-default diagnostics."""
    with patch(
        "homeassistant.helpers.entity.Entity.entity_registry_enabled_default",
        return_value=True,
        new_callable=PropertyMock,
    ):
        yield


async def async_next_poll(hass: HomeAssistant, freezer: FrozenDateTimeFactory, minutes: int = 1) -> None:
    """Let the clock run ``minutes`` one at a time, letting each minute's poll happen.

    Coordinators refresh in background tasks, which the wait must include.
    """
    for _ in range(minutes):
        freezer.tick(timedelta(minutes=1))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)


@pytest.fixture
def snapshot(snapshot: SnapshotAssertion) -> SnapshotAssertion:
    """Snapshots with Home Assistant's serializer (stable ids, readable states)."""
    return snapshot.use_extension(HomeAssistantSnapshotExtension)
