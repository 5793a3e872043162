"""Service actions in detail: export files, rebuilds, poll now, and the failures each one reports."""

from __future__ import annotations

import csv
from http import HTTPStatus
from pathlib import Path
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import HomeAssistantError, ServiceValidationError
from homeassistant.setup import async_setup_component
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, WebSocketGenerator
import sqlalchemy as sa
from sqlalchemy.exc import OperationalError

from custom_components.liveone.const import CONF_OWNER, DOMAIN
from custom_components.liveone.store import StoreError, SystemInfo
from custom_components.liveone.store.access import SystemNotFoundError
from custom_components.liveone.vendors.model import ConnectError

from .conftest import NOON_LOCAL, async_next_poll, demo_entry, query_db


def _mkdirs(*paths: str | Path) -> None:
    for path in paths:
        Path(path).mkdir(parents=True)


def _read_csv(path: str | Path) -> list[list[str]]:
    with Path(path).open(encoding="utf-8") as handle:
        return list(csv.reader(handle))


def _files(root: Path, pattern: str) -> list[Path]:
    return list(root.rglob(pattern))


async def _call(hass: HomeAssistant, service: str, data: dict[str, Any], *, response: bool = False) -> Any:
    return await hass.services.async_call(DOMAIN, service, data, blocking=True, return_response=response)


@pytest.fixture
async def home(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_liveone: str, tmp_path: Path
) -> MockConfigEntry:
    freezer.move_to(NOON_LOCAL)
    # The test's own configuration directory, for the files the exports write.
    hass.config.config_dir = str(tmp_path / "config")
    _mkdirs(hass.config.config_dir)
    entry = demo_entry(backfill_days=1)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    return entry


# ---- export_history -----------------------------------------------------------------------------------------


async def test_export_default_path(hass: HomeAssistant, home: MockConfigEntry, setup_liveone: str) -> None:
    result = await _call(
        hass, "export_history", {"system": home.entry_id, "interval": "30m", "last": "6h"}, response=True
    )
    path = Path(result["path"])
    assert path.parent == Path(hass.config.path("liveone", "exports"))
    assert path.name == "demo_demo_home_30m_20250817T020000Z.csv"
    rows = _read_csv(path)
    assert result["rows"] == len(rows) - 1 == 12
    header = rows[0]
    assert header[:4] == ["time", "solar.power.avg (W)", "solar.power.min (W)", "solar.power.max (W)"]
    assert "battery.soc (%)" in header
    assert "grid_in.energy (Wh)" in header
    assert [row[0] for row in rows[1:3]] == ["2025-08-17T06:30:00+10:00", "2025-08-17T07:00:00+10:00"]
    assert rows[-1][0] == "2025-08-17T12:00:00+10:00"
    # The 30-minute solar energy ending at noon is the sum of its six 5-minute interval energies.
    column = header.index("solar.energy (Wh)")
    five_minute = query_db(
        setup_liveone,
        "SELECT solar_interval_wh FROM readings_agg_5m"
        " WHERE interval_end > 1755394200 AND interval_end <= 1755396000",
    )
    assert int(rows[-1][column]) == sum(int(v) for (v,) in five_minute)  # type: ignore[call-overload]
    assert not list(path.parent.glob(".*.partial"))


async def test_export_daily_with_gaps(hass: HomeAssistant, home: MockConfigEntry) -> None:
    result = await _call(
        hass,
        "export_history",
        {
            "system": home.entry_id,
            "interval": "1d",
            "start": "2025-08-14T00:00:00",
            "end": "2025-08-18T00:00:00",
        },
        response=True,
    )
    rows = _read_csv(result["path"])
    assert [row[0] for row in rows[1:]] == ["2025-08-14", "2025-08-15", "2025-08-16", "2025-08-17"]
    energy = rows[0].index("solar.energy (kWh)")
    # Before the backfill, the backfilled 16th, and today, whose daily row comes after midnight.
    assert [row[energy] == "" for row in rows[1:]] == [True, True, False, True]


async def test_export_to_an_allowed_path(hass: HomeAssistant, home: MockConfigEntry) -> None:
    allowed = Path(hass.config.path("exports"))
    _mkdirs(allowed)
    hass.config.allowlist_external_dirs = {str(allowed)}
    result = await _call(
        hass,
        "export_history",
        {"system": home.entry_id, "interval": "5m", "last": "1h", "path": "exports/today.csv"},
        response=True,
    )
    assert result == {"path": hass.config.path("exports", "today.csv"), "rows": 12}
    assert (allowed / "today.csv").read_text(encoding="utf-8").startswith("time,")


@pytest.mark.parametrize(
    "path",
    [
        "exports/today.csv",  # inside the config dir, but not allowlisted
        "{outside}/today.csv",  # allowlisted, but outside the config dir
        "www/../../outside/today.csv",
        "www/today.txt",
    ],
)
async def test_export_refuses_other_paths(
    hass: HomeAssistant, home: MockConfigEntry, tmp_path: Path, path: str
) -> None:
    www = Path(hass.config.path("www"))
    _mkdirs(www, hass.config.path("exports"))
    outside = tmp_path / "outside"
    _mkdirs(outside)
    hass.config.allowlist_external_dirs = {str(www), str(outside)}
    given = path.replace("{outside}", str(outside))
    with pytest.raises(ServiceValidationError) as caught:
        await _call(
            hass,
            "export_history",
            {"system": home.entry_id, "interval": "5m", "last": "1h", "path": given},
            response=True,
        )
    assert caught.value.translation_key == "export_path_not_allowed"
    assert caught.value.translation_placeholders == {"path": given}
    assert not _files(tmp_path, "today.*")


async def test_export_bad_range_and_write_failure(hass: HomeAssistant, home: MockConfigEntry) -> None:
    with pytest.raises(ServiceValidationError) as caught:
        await _call(
            hass, "export_history", {"system": home.entry_id, "interval": "5m", "last": "30d"}, response=True
        )
    assert caught.value.translation_key == "invalid_history_request"
    assert "too long for interval 5m" in caught.value.translation_placeholders["error"]
    www = Path(hass.config.path("www"))
    (www / "locked.csv").mkdir(parents=True)  # a directory where the file should go
    hass.config.allowlist_external_dirs = {str(www)}
    with pytest.raises(HomeAssistantError) as failed:
        await _call(
            hass,
            "export_history",
            {"system": home.entry_id, "interval": "5m", "last": "1h", "path": "www/locked.csv"},
            response=True,
        )
    assert failed.value.translation_key == "export_failed"


# ---- rebuild_aggregates -------------------------------------------------------------------------------------


async def test_rebuild_recomputes_lost_rows(
    hass: HomeAssistant, home: MockConfigEntry, setup_liveone: str
) -> None:
    before = query_db(setup_liveone, "SELECT * FROM readings_agg_5m ORDER BY interval_end")
    daily_before = query_db(
        setup_liveone, "SELECT day, solar_kwh, interval_count FROM readings_agg_1d ORDER BY day"
    )
    engine = sa.create_engine(setup_liveone)
    with engine.begin() as conn:
        conn.execute(sa.text("DELETE FROM readings_agg_5m WHERE interval_end > 1755360000"))
        conn.execute(sa.text("UPDATE readings_agg_1d SET solar_kwh = 0"))
    engine.dispose()
    result = await _call(
        hass,
        "rebuild_aggregates",
        {"system": home.entry_id, "from_day": "2025-08-16", "to_day": "2025-08-17"},
        response=True,
    )
    assert result == {"intervals": 288, "days": 1}
    after = query_db(setup_liveone, "SELECT * FROM readings_agg_5m ORDER BY interval_end")
    assert len(after) == len(before) == 288
    daily_after = query_db(
        setup_liveone, "SELECT day, solar_kwh, interval_count FROM readings_agg_1d ORDER BY day"
    )
    assert daily_after == daily_before


@pytest.mark.parametrize(
    ("days", "key"),
    [
        (("2025-08-17", "2025-08-16"), "day_range_reversed"),
        (("2024-01-01", "2025-08-17"), "day_range_too_long"),
    ],
)
async def test_rebuild_refuses_bad_ranges(
    hass: HomeAssistant, home: MockConfigEntry, days: tuple[str, str], key: str
) -> None:
    with pytest.raises(ServiceValidationError) as caught:
        await _call(
            hass,
            "rebuild_aggregates",
            {"system": home.entry_id, "from_day": days[0], "to_day": days[1]},
            response=True,
        )
    assert caught.value.translation_key == key


# ---- poll_now -----------------------------------------------------------------------------------------------


async def test_poll_now_polls_at_once(
    hass: HomeAssistant, home: MockConfigEntry, setup_liveone: str, freezer: FrozenDateTimeFactory
) -> None:
    count = "SELECT count(*) FROM readings"
    sessions = "SELECT count(*) FROM sessions WHERE successful = 1 AND cause = 'USER'"
    before = query_db(setup_liveone, count)[0][0], query_db(setup_liveone, sessions)[0][0]
    freezer.tick(50)  # the next whole minute, before the scheduled poll is due
    await _call(hass, "poll_now", {"system": home.entry_id})
    after = query_db(setup_liveone, count)[0][0], query_db(setup_liveone, sessions)[0][0]
    assert (after[0] - before[0], after[1] - before[1]) == (0, 1)  # type: ignore[operator]
    freezer.tick(15)  # 12:01:05: the demo has a new minute
    await _call(hass, "poll_now", {"system": home.entry_id})
    assert query_db(setup_liveone, count)[0][0] == after[0] + 1  # type: ignore[operator]


async def test_poll_now_failures(hass: HomeAssistant, home: MockConfigEntry) -> None:
    coordinator = home.runtime_data.coordinator
    with (
        patch.object(type(coordinator), "_async_fetch", side_effect=ConnectError("vendor timed out")),
        pytest.raises(HomeAssistantError) as failed,
    ):
        await _call(hass, "poll_now", {"system": home.entry_id})
    assert failed.value.translation_key == "poll_failed"
    assert failed.value.translation_placeholders is not None
    assert failed.value.translation_placeholders["system"] == "Demo Home"
    assert await hass.config_entries.async_unload(home.entry_id)
    await hass.async_block_till_done()
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass, "poll_now", {"system": home.entry_id})
    assert caught.value.translation_key == "not_loaded"


async def test_system_field_must_be_a_liveone_entry(hass: HomeAssistant, home: MockConfigEntry) -> None:
    other = MockConfigEntry(domain="sun", title="Sun")
    other.add_to_hass(hass)
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass, "poll_now", {"system": other.entry_id})
    assert caught.value.translation_key == "system_not_found"


async def test_deleted_user_sees_nothing(hass: HomeAssistant, home: MockConfigEntry) -> None:
    """A call carrying the id of a user who no longer exists is refused like a stranger's."""
    with pytest.raises(ServiceValidationError) as caught:
        await hass.services.async_call(
            DOMAIN, "poll_now", {"system": home.entry_id}, blocking=True, context=Context(user_id="gone")
        )
    assert caught.value.translation_key == "system_not_found"


async def test_grant_by_name_needs_one_match(
    hass: HomeAssistant, home: MockConfigEntry, setup_liveone: str
) -> None:
    MockUser(name="Kim").add_to_hass(hass)
    MockUser(name="kim").add_to_hass(hass)
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass, "grant_access", {"system": home.entry_id, "user": "KIM"})
    assert caught.value.translation_key == "user_not_found"
    system_user = MockUser(name="Supervisor", system_generated=True).add_to_hass(hass)
    with pytest.raises(ServiceValidationError):
        await _call(hass, "grant_access", {"system": home.entry_id, "user": system_user.id})
    assert query_db(setup_liveone, "SELECT count(*) FROM user_systems") == [(0,)]


# ---- the store failing --------------------------------------------------------------------------------------


async def test_store_failures_on_every_door(
    hass: HomeAssistant,
    home: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_client: ClientSessionGenerator,
    hass_admin_user: MockUser,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """An unreachable store is a clear error on each door, never a stack trace or a leaked URL."""
    store = home.runtime_data.coordinator.store

    async def _broken(*_args: Any, **_kwargs: Any) -> Any:
        raise StoreError("cannot reach the database at postgresql://liveone:***@db/liveone")

    with patch.object(store, "async_transaction", _broken), patch.object(store, "async_find_system", _broken):
        ws = await hass_ws_client(hass)
        await ws.send_json_auto_id({"type": "liveone/systems"})
        assert (await ws.receive_json())["error"] == {
            "code": "home_assistant_error",
            "message": "The LiveOne store is unavailable",
        }
        await ws.send_json_auto_id({"type": "liveone/history", "system": 1, "interval": "5m", "last": "1h"})
        assert (await ws.receive_json())["error"]["code"] == "home_assistant_error"
        client = await hass_client()
        response = await client.get(
            "/api/liveone/history", params={"system": "1", "interval": "5m", "last": "1h"}
        )
        assert response.status == HTTPStatus.SERVICE_UNAVAILABLE
        assert await response.json() == {"message": "the LiveOne store is unavailable"}
        for service, extra in (
            ("poll_now", {}),
            ("export_history", {"interval": "5m", "last": "1h"}),
            ("rebuild_aggregates", {"from_day": "2025-08-16", "to_day": "2025-08-16"}),
        ):
            with pytest.raises(HomeAssistantError) as failed:
                await _call(hass, service, {"system": home.entry_id, **extra}, response=service != "poll_now")
            assert failed.value.translation_key == "store_unavailable", service
    assert "Traceback" not in caplog.text


# ---- the owner is the user who added the system -------------------------------------------------------------


@pytest.fixture
def noon(freezer: FrozenDateTimeFactory) -> FrozenDateTimeFactory:
    """Local noon, frozen before any access token is made (a token from the future is refused)."""
    freezer.move_to(NOON_LOCAL)
    return freezer


async def test_config_flow_records_the_adding_user(
    hass: HomeAssistant,
    noon: FrozenDateTimeFactory,
    setup_liveone: str,
    hass_client: ClientSessionGenerator,
    hass_admin_user: MockUser,
) -> None:
    """Through the frontend's REST flow, the user who submits the last step becomes the owner."""
    assert await async_setup_component(hass, "config", {})
    client = await hass_client()
    response = await client.post("/api/config/config_entries/flow", json={"handler": DOMAIN})
    flow = await response.json()
    assert flow["type"] == "menu"
    response = await client.post(
        f"/api/config/config_entries/flow/{flow['flow_id']}", json={"next_step_id": "demo"}
    )
    assert (await response.json())["step_id"] == "demo"
    response = await client.post(
        f"/api/config/config_entries/flow/{flow['flow_id']}", json={"name": "Flow Home", "backfill_days": 0}
    )
    created = await response.json()
    assert created["type"] == "create_entry", created
    await hass.async_block_till_done(wait_background_tasks=True)
    entry = hass.config_entries.async_get_entry(created["result"]["entry_id"])
    assert entry is not None
    assert entry.data[CONF_OWNER] == hass_admin_user.id
    assert query_db(setup_liveone, "SELECT clerk_user_id, role FROM user_systems") == [
        (hass_admin_user.id, "owner")
    ]
    assert query_db(setup_liveone, "SELECT owner_clerk_user_id FROM systems") == [(hass_admin_user.id,)]
    await async_next_poll(hass, noon)


async def test_store_failing_after_the_access_check(hass: HomeAssistant, home: MockConfigEntry) -> None:
    """The store failing in the middle of an action is a HomeAssistantError, and nothing half-done stays."""
    broken = OperationalError("UPDATE user_systems", {}, Exception("database is locked"))
    for target, service, extra in (
        ("grant", "grant_access", {"user": "{user}"}),
        ("revoke", "revoke_access", {"user": "{user}"}),
    ):
        user = MockUser(name=f"User for {service}").add_to_hass(hass)
        if service == "revoke_access":
            await _call(hass, "grant_access", {"system": home.entry_id, "user": user.id})
        data = {key: value.replace("{user}", user.id) for key, value in extra.items()}
        with (
            patch(f"custom_components.liveone.store.access.{target}", side_effect=broken),
            pytest.raises(HomeAssistantError) as failed,
        ):
            await _call(hass, service, {"system": home.entry_id, **data})
        assert failed.value.translation_key == "store_unavailable"
        assert "database is locked" in str(failed.value.translation_placeholders)
    store = home.runtime_data.coordinator.store
    with (
        patch.object(store, "async_rebuild", side_effect=StoreError("disk I/O error")),
        pytest.raises(HomeAssistantError) as failed,
    ):
        await _call(
            hass,
            "rebuild_aggregates",
            {"system": home.entry_id, "from_day": "2025-08-16", "to_day": "2025-08-16"},
            response=True,
        )
    assert failed.value.translation_key == "store_unavailable"
    for error, key in (
        (StoreError("disk I/O error"), "store_unavailable"),
        (SystemNotFoundError(1), "system_not_found"),
    ):
        with (
            patch("custom_components.liveone.services.async_history", side_effect=error),
            pytest.raises(HomeAssistantError) as failed,
        ):
            await _call(
                hass,
                "export_history",
                {"system": home.entry_id, "interval": "1d", "last": "2d"},
                response=True,
            )
        assert failed.value.translation_key == key


async def test_entry_never_set_up_and_system_without_entry(
    hass: HomeAssistant,
    home: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    hass_admin_user: MockUser,
) -> None:
    """An entry the store has never seen is not found; a store system without an entry is still listed."""
    pending = demo_entry(site_id="not_yet")
    pending.add_to_hass(hass)
    with pytest.raises(ServiceValidationError) as caught:
        await _call(hass, "poll_now", {"system": pending.entry_id})
    assert caught.value.translation_key == "system_not_found"
    store = home.runtime_data.coordinator.store
    orphan = await store.async_ensure_system(SystemInfo(vendor_type="selectronic", vendor_site_id="4242"))
    ws = await hass_ws_client(hass)
    await ws.send_json_auto_id({"type": "liveone/systems"})
    systems = (await ws.receive_json())["result"]["systems"]
    assert [s["system"] for s in systems] == [1, orphan]
    assert systems[1] == {
        "system": orphan,
        "vendor": "selectronic",
        "site_id": "4242",
        "name": None,
        "entry_id": None,
        "device_id": None,
        "role": "admin",
        "status": "active",
        "timezone_offset_min": 600,
        "first_data": None,
        "last_data": None,
    }
