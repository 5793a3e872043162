"""A damaged SQLite store: a fixable repair issue, and its fix through Home Assistant's repairs API.

The fix moves the file (and its -wal / -shm) aside as liveone.db.corrupt.<UTC time>, never deleting
it, starts a new store and sets the entries up again. Each kind of damage is made to a real store file
that LiveOne wrote, in a real Home Assistant.
"""

from __future__ import annotations

from collections.abc import Callable
import os
from pathlib import Path
import sqlite3

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.helpers import issue_registry as ir
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import CLIENT_ID, MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator
import sqlalchemy as sa

from custom_components.liveone.const import DOMAIN
from custom_components.liveone.repairs import async_create_fix_flow
from custom_components.liveone.shared_store import ISSUE_STORE_DAMAGED
from custom_components.liveone.store import Store, StoreDamaged, SystemInfo
from custom_components.liveone.store.recovery import move_aside
from custom_components.liveone.vendors.model import Reading

from .conftest import NOON_LOCAL, async_next_poll, query_db

NOON = 1755396000  # 2025-08-17T02:00:00Z


def _random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(path.stat().st_size))


def _cut_in_half(path: Path) -> None:
    with path.open("r+b") as stream:
        stream.truncate(path.stat().st_size // 2)


def _zero_header(path: Path) -> None:
    with path.open("r+b") as stream:
        stream.write(bytes(100))  # SQLite's 100-byte file header


def _corrupt_names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if ".corrupt." in p.name)


DAMAGE = [
    pytest.param(_random_bytes, id="random-bytes"),
    pytest.param(_cut_in_half, id="cut-in-half"),
    pytest.param(_zero_header, id="zeroed-header"),
]


async def _fill_store(url: str) -> None:
    """A store with the demo system and two days of readings, so that its file has many pages."""
    store = await Store.async_open(url)
    try:
        system_id = await store.async_ensure_system(
            SystemInfo(vendor_type="demo", vendor_site_id="demo_home")
        )
        readings = [Reading(inverter_time=NOON - 2 * 86400 + 60 * n, solar_w=n % 500) for n in range(2880)]
        await store.async_write_readings(system_id, readings, received_time=NOON)
    finally:
        await store.async_close()


async def _fix(hass: HomeAssistant, hass_client: ClientSessionGenerator) -> dict[str, object]:
    # A token issued now (the fixture's was issued before the clock was moved to the test's noon).
    admin = await hass.auth.async_create_user("Admin", group_ids=["system-admin"])
    refresh = await hass.auth.async_create_refresh_token(admin, CLIENT_ID)
    client = await hass_client(hass.auth.async_create_access_token(refresh))
    response = await client.post(
        "/api/repairs/issues/fix", json={"handler": DOMAIN, "issue_id": ISSUE_STORE_DAMAGED}
    )
    assert response.status == 200
    form = await response.json()
    assert (form["type"], form["step_id"]) == ("form", "confirm")
    assert form["description_placeholders"]["path"].endswith("liveone.db")
    response = await client.post(f"/api/repairs/issues/fix/{form['flow_id']}", json={})
    assert response.status == 200
    result: dict[str, object] = await response.json()
    await hass.async_block_till_done()
    return result


@pytest.mark.parametrize("damage", DAMAGE)
async def test_damaged_store_is_moved_aside_and_a_new_one_started(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    freezer: FrozenDateTimeFactory,
    db_url: str,
    tmp_path: Path,
    enable_custom_integrations: None,
    mock_config_entry: MockConfigEntry,
    damage: Callable[[Path], None],
) -> None:
    freezer.move_to(NOON_LOCAL)
    await _fill_store(db_url)
    path = tmp_path / "liveone.db"
    damage(path)
    damaged = path.read_bytes()

    assert await async_setup_component(hass, "repairs", {})
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"db_url": db_url}})
    mock_config_entry.add_to_hass(hass)
    await hass.config_entries.async_setup(mock_config_entry.entry_id)
    await hass.async_block_till_done()
    # Found at open (the entry is not ready) or by the first write (the entry runs, nothing is stored).
    issue = ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_STORE_DAMAGED)
    assert issue is not None
    assert issue.is_fixable
    assert issue.severity is ir.IssueSeverity.ERROR
    assert issue.translation_placeholders is not None
    assert issue.translation_placeholders["path"] == str(path)
    assert path.read_bytes() == damaged  # nothing was written to the damaged file

    result = await _fix(hass, hass_client)
    assert result["type"] == "create_entry"

    # The damaged file is kept, byte for byte, under its new name; nothing was deleted.
    moved = _corrupt_names(tmp_path)
    assert moved
    assert moved[0].startswith("liveone.db.corrupt.2025")
    assert all(name.startswith(moved[0]) for name in moved)  # its -wal / -shm keep their endings
    assert (tmp_path / moved[0]).read_bytes() == damaged
    # A new store serves the entry, which polls and stores again.
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_STORE_DAMAGED) is None
    assert mock_config_entry.state is ConfigEntryState.LOADED
    await async_next_poll(hass, freezer)
    assert query_db(db_url, "SELECT count(*) FROM systems") == [(1,)]
    ((count,),) = query_db(db_url, "SELECT count(*) FROM readings")
    assert isinstance(count, int)
    assert count >= 1
    with sqlite3.connect(tmp_path / "liveone.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)


async def test_damage_during_a_write_raises_the_issue(
    hass: HomeAssistant,
    init_integration: MockConfigEntry,
    freezer: FrozenDateTimeFactory,
    tmp_path: Path,
) -> None:
    """A store that opened fine and is damaged later: the failing write raises the issue, the readings wait."""
    coordinator = init_integration.runtime_data.coordinator

    def _corrupt() -> None:
        # What a disk fault does: every page but the first is overwritten in the file. The store's
        # connection is closed first (writing the WAL back into the file), so the next write reads
        # the damaged pages rather than its cache.
        with coordinator.store.engine.connect() as conn:
            conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
        coordinator.store.engine.dispose()
        path = tmp_path / "liveone.db"
        size = path.stat().st_size
        with path.open("r+b") as stream:
            stream.seek(4096)
            stream.write(os.urandom(size - 4096))

    await coordinator.store.async_run(_corrupt)
    await async_next_poll(hass, freezer)
    issue = ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_STORE_DAMAGED)
    assert issue is not None
    assert coordinator.last_update_success  # the vendor's data is good: entities stay available
    assert coordinator._pending  # and the poll's readings are kept for after the fix


async def test_fix_flow_reports_a_move_that_fails(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert await async_setup_component(hass, "repairs", {})
    # Raise the issue as a write would, then let the rename fail (a read-only folder).
    from custom_components.liveone.shared_store import async_report_damaged

    async_report_damaged(hass, StoreDamaged("damaged", str(tmp_path / "liveone.db")))

    def _refuse(path: Path, now: object = None) -> list[Path]:
        raise PermissionError(13, "Permission denied", str(path))

    monkeypatch.setattr("custom_components.liveone.shared_store.move_aside", _refuse)
    result = await _fix(hass, hass_client)
    assert (result["type"], result["reason"]) == ("abort", "move_failed")
    assert "Permission denied" in str(result["description_placeholders"])
    # Nothing moved, nothing lost: the entry runs on the same file again, and the issue stays.
    assert (tmp_path / "liveone.db").exists()
    assert init_integration.state is ConfigEntryState.LOADED
    assert not init_integration.runtime_data.coordinator.store.closed
    assert ir.async_get(hass).async_get_issue(DOMAIN, ISSUE_STORE_DAMAGED) is not None


async def test_unknown_issue_has_no_fix(hass: HomeAssistant) -> None:
    with pytest.raises(ValueError, match="no fix for issue 'other'"):
        await async_create_fix_flow(hass, "other", None)


def test_move_aside_renames_the_file_and_its_companions_and_never_overwrites(tmp_path: Path) -> None:
    from datetime import UTC, datetime

    path = tmp_path / "liveone.db"
    when = datetime(2026, 12, 3, 8, 15, 0, tzinfo=UTC)
    for ending, text in (("", "db"), ("-wal", "wal"), ("-shm", "shm")):
        Path(f"{path}{ending}").write_text(text)
    moved = move_aside(path, when)
    assert [p.name for p in moved] == [
        "liveone.db.corrupt.20261203T081500Z",
        "liveone.db.corrupt.20261203T081500Z-wal",
        "liveone.db.corrupt.20261203T081500Z-shm",
    ]
    assert [p.read_text() for p in moved] == ["db", "wal", "shm"]
    assert not path.exists()
    # A second move in the same second keeps the first one's files.
    path.write_text("again")
    (second,) = move_aside(path, when)
    assert second.name == "liveone.db.corrupt.20261203T081500Z-2"
    assert second.read_text() == "again"
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*(p.name for p in moved), second.name])


def test_server_database_is_never_judged_damaged() -> None:
    from custom_components.liveone.store.recovery import is_damage, sqlite_file

    assert sqlite_file("postgresql://u:p@h/db") is None
    assert sqlite_file("sqlite://") is None
    assert sqlite_file("not a url") is None
    assert (
        is_damage(sa.exc.OperationalError("SELECT 1", {}, sqlite3.OperationalError("database is locked")))
        is False
    )
    assert is_damage(ValueError("file is not a database")) is False
    assert is_damage(sqlite3.DatabaseError("file is not a database")) is True


async def test_fix_flow_reports_a_new_store_that_cannot_open(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    init_integration: MockConfigEntry,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from custom_components.liveone.shared_store import async_report_damaged
    from custom_components.liveone.store import StoreError

    assert await async_setup_component(hass, "repairs", {})
    async_report_damaged(hass, StoreDamaged("damaged", str(tmp_path / "liveone.db")))

    async def _refuse(url: str) -> Store:
        raise StoreError(f"cannot open the store at {url}: disk full")

    monkeypatch.setattr(Store, "async_open", _refuse)
    result = await _fix(hass, hass_client)
    assert (result["type"], result["reason"]) == ("abort", "open_failed")
    assert "disk full" in str(result["description_placeholders"])
    # The damaged file was moved aside all the same (and kept).
    assert _corrupt_names(tmp_path)
    assert init_integration.state is ConfigEntryState.NOT_LOADED


async def test_only_an_sqlite_store_is_moved_aside(hass: HomeAssistant) -> None:
    from custom_components.liveone.shared_store import async_move_damaged_store_aside, async_set_store_url

    async_set_store_url(hass, "postgresql://liveone:secret@db/liveone")
    with pytest.raises(ValueError, match="not an SQLite file"):
        await async_move_damaged_store_aside(hass)
