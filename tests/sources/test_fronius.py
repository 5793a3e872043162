"""A Fronius system end to end: real HTTP pushes through Home Assistant's webhook component."""

from __future__ import annotations

import base64
from collections.abc import Awaitable, Callable
from datetime import timedelta
import json
import logging
from pathlib import Path
from typing import Any
from unittest.mock import patch

from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.config_entries import SOURCE_USER
from homeassistant.const import STATE_UNAVAILABLE, Platform
from homeassistant.core import HomeAssistant
from homeassistant.core_config import async_process_ha_core_config
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er
from homeassistant.helpers.network import NoURLAvailableError
from homeassistant.helpers.recorder import get_instance
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
import pytest
from pytest_homeassistant_custom_component.common import (
    MockConfigEntry,
    async_fire_time_changed,
    snapshot_platform,
)
from pytest_homeassistant_custom_component.components.recorder.common import async_wait_recording_done
from pytest_homeassistant_custom_component.typing import WebSocketGenerator
from syrupy.assertion import SnapshotAssertion

from custom_components.liveone.const import DOMAIN
from custom_components.liveone.diagnostics import async_get_config_entry_diagnostics
from custom_components.liveone.sources.fronius import FroniusCoordinator
from custom_components.liveone.store import StoreError
from custom_components.liveone.vendors.model import Batch, Reading

from ..conftest import query_db
from ..test_energy import assert_energy_dashboard_valid

FIXTURES = Path(__file__).parent.parent / "fixtures" / "fronius"
WEBHOOK = "0f" * 32
KEY = "fronius-site-7f3a"
USER, PASSWORD = "datamanager", "s3cret"
URL = f"/api/webhook/{WEBHOOK}"
T_STORE = 1758434400  # push-store.json: 2025-09-21T06:00:00Z
T_FAULT = 1758434460  # push-store-fault.json: 06:01:00Z
T_GEN24 = 1638105140  # solarapi-powerflow-gen24-storage.json: 2021-11-28T13:12:20Z
T_SYMO = 1633593643  # solarapi-powerflow-symo.json: 2021-10-07T08:00:43Z
T_PUSHSERVICE = 1638105200  # pushservice-powerflow-gen24-storage.json: 13:13:20Z
NOW = "2025-09-21T06:00:30+00:00"

SOLAR = "sensor.fronius_home_solar_power"
BATTERY = "sensor.fronius_home_battery_power"
FAULT = "sensor.fronius_home_fault_code"
LAST_PUSH = "sensor.fronius_home_last_push"

READING_COLUMNS = (
    "inverter_time, solar_w, solar_inverter_w, shunt_w, load_w, battery_w, grid_w, battery_soc, "
    "fault_code, fault_timestamp, generator_status, "
    "solar_wh_interval, load_wh_interval, battery_in_wh_interval, battery_out_wh_interval, "
    "grid_in_wh_interval, grid_out_wh_interval, "
    "solar_kwh_total, load_kwh_total, battery_in_kwh_total, battery_out_kwh_total, "
    "grid_in_kwh_total, grid_out_kwh_total"
)

type Post = Callable[..., Awaitable[ClientResponse]]


def body(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text())
    return loaded


def basic(user: str = USER, password: str = PASSWORD) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()}


def fronius_entry(**data: Any) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title="Fronius Home",
        unique_id="fronius_fronius_home",
        data={
            "vendor": "fronius",
            "site_id": "fronius_home",
            "timezone_offset_min": 600,
            "webhook_id": WEBHOOK,
            "api_key": KEY,
            "username": USER,
            "password": PASSWORD,
            **data,
        },
    )


@pytest.fixture
async def fronius(hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_liveone: str) -> MockConfigEntry:
    freezer.move_to(NOW)
    entry = fronius_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    return entry


@pytest.fixture
async def post(
    hass: HomeAssistant, hass_client_no_auth: Callable[[], Awaitable[TestClient[Any, Any]]]
) -> Post:
    client = await hass_client_no_auth()

    async def _post(
        payload: Any = None,
        *,
        raw: bytes | None = None,
        url: str = URL,
        headers: dict[str, str] | None = None,
    ) -> ClientResponse:
        data = raw if raw is not None else json.dumps(payload).encode()
        response = await client.post(url, data=data, headers=headers or {})
        await hass.async_block_till_done()
        return response

    return _post


def readings(db_url: str) -> list[tuple[object, ...]]:
    return query_db(db_url, f"SELECT {READING_COLUMNS} FROM readings ORDER BY inverter_time")


def sessions(db_url: str) -> list[tuple[object, ...]]:
    return query_db(db_url, "SELECT cause, successful, rows_written, error FROM sessions ORDER BY id")


# ---- the config flow ----------------------------------------------------------------------------------


async def _start(hass: HomeAssistant) -> dict[str, Any]:
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": SOURCE_USER})
    assert "fronius" in result["menu_options"]
    return await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "fronius"})


@pytest.mark.usefixtures("setup_liveone")
async def test_flow_names_the_system_and_shows_the_webhook(hass: HomeAssistant) -> None:
    await async_process_ha_core_config(hass, {"internal_url": "http://homeassistant.local:8123"})
    result = await _start(hass)
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "fronius")

    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"name": " -- "})
    assert result["errors"] == {"name": "invalid_name"}
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"name": "Fronius Home", "username": "dm"}
    )
    assert result["errors"] == {"base": "credentials_incomplete"}

    with (
        patch("custom_components.liveone.sources.fronius.webhook.async_generate_id", return_value=WEBHOOK),
        patch("custom_components.liveone.sources.fronius.new_secret", return_value=KEY),
    ):
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"name": "Fronius Home", "username": USER, "password": PASSWORD}
        )
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "fronius_webhook")
    assert result["description_placeholders"] == {
        "url": f"http://homeassistant.local:8123/api/webhook/{WEBHOOK}",
        "api_key": KEY,
        "username": USER,
    }
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert result["title"] == "Fronius Home"
    assert result["result"].unique_id == "fronius_fronius_home"
    data = dict(result["data"])
    data.pop("timezone_offset_min")
    assert data == {
        "vendor": "fronius",
        "site_id": "fronius_home",
        "webhook_id": WEBHOOK,
        "api_key": KEY,
        "username": USER,
        "password": PASSWORD,
    }
    await hass.async_block_till_done()
    assert hass.data["webhook"][WEBHOOK]["local_only"] is True
    assert hass.data["webhook"][WEBHOOK]["allowed_methods"] == frozenset({"POST"})

    # The same name again is the same system.
    result = await _start(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"name": "Fronius Home"})
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "already_configured")


@pytest.mark.usefixtures("setup_liveone")
async def test_flow_for_a_bridge_only_and_without_a_known_url(hass: HomeAssistant) -> None:
    result = await _start(hass)
    with patch(
        "custom_components.liveone.sources.fronius.webhook.async_generate_url",
        side_effect=NoURLAvailableError,
    ):
        result = await hass.config_entries.flow.async_configure(result["flow_id"], {"name": "Shed"})
    assert result["step_id"] == "fronius_webhook"
    placeholders = result["description_placeholders"]
    assert placeholders["url"].startswith("/api/webhook/")
    assert placeholders["username"] == "-"
    assert len(placeholders["api_key"]) == 32
    webhook_id = placeholders["url"].removeprefix("/api/webhook/")
    assert len(webhook_id) == 64
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert "username" not in result["data"]
    assert result["data"]["webhook_id"] == webhook_id


# ---- what each fixture body stores ----------------------------------------------------------------------


async def test_bridge_pushes_store_their_readings_with_running_totals(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fronius: MockConfigEntry,
    post: Post,
    setup_liveone: str,
) -> None:
    response = await post(body("push-store.json"))
    assert response.status == 200
    assert await response.json() == {
        "status": "ok",
        "action": "store",
        "stored": 1,
        "timestamp": "2025-09-21T06:00:00+00:00",
    }
    freezer.move_to("2025-09-21T06:01:30+00:00")
    response = await post(body("push-store-fault.json"))
    assert response.status == 200

    assert readings(setup_liveone) == [
        # time, solar, solar_inverter (remote), shunt (local), load, battery, grid, soc
        (T_STORE, 2500, 1000, 1500, 1800, -700, 0, 85.5, None, None, None,
         125.0, 90.0, 35.0, 0.0, 0.0, 0.0,  # interval Wh as pushed
         0.125, 0.09, 0.035, 0.0, 0.0, 0.0),  # running totals (kWh)
        (T_FAULT, 2350, None, None, 2050, 150, 0, 85.4, 102, 1758433530, None,
         39.0, 34.0, 0.0, 3.0, 0.0, 0.0,
         0.164, 0.124, 0.035, 0.003, 0.0, 0.0),
    ]  # fmt: skip
    assert sessions(setup_liveone) == [("PUSH", True, 1, None), ("PUSH", True, 1, None)]
    # 5-minute rows: the first interval has no earlier total to rise from; the next one rises 39 Wh.
    assert query_db(
        setup_liveone,
        "SELECT interval_end, solar_interval_wh, load_wh_interval, battery_out_wh_interval "
        "FROM readings_agg_5m ORDER BY 1",
    ) == [(T_STORE, None, None, None), (T_STORE + 300, 39, 34, 3)]
    last = query_db(setup_liveone, "SELECT last_response FROM polling_status")[0][0]
    assert isinstance(last, str)
    assert KEY not in last  # the secret is not kept
    assert json.loads(last)["sequence"] == "a41c/119"

    assert hass.states.get(SOLAR).state == "2350"  # type: ignore[union-attr]
    assert hass.states.get(BATTERY).state == "150"  # type: ignore[union-attr]
    assert hass.states.get(FAULT).state == "E102"  # type: ignore[union-attr]  # its text, stored as 102
    assert hass.states.get(LAST_PUSH).state == "2025-09-21T06:01:30+00:00"  # type: ignore[union-attr]
    assert hass.states.get("sensor.fronius_home_solar_energy").state == "0.164"  # type: ignore[union-attr]


async def test_a_test_push_stores_nothing_and_says_so(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fronius: MockConfigEntry,
    post: Post,
    setup_liveone: str,
) -> None:
    response = await post(body("push-test.json"))
    assert response.status == 200
    assert await response.json() == {
        "status": "ok",
        "action": "test",
        "stored": 0,
        "message": "nothing stored",
    }
    assert readings(setup_liveone) == []
    assert sessions(setup_liveone) == [("PUSH", True, 0, None)]
    assert query_db(setup_liveone, "SELECT last_response FROM polling_status") == [(None,)]
    coordinator = fronius.runtime_data.coordinator
    assert isinstance(coordinator, FroniusCoordinator)
    assert coordinator.last_push is not None

    # Once there is data, a test push moves the last-push sensor (and stores nothing).
    await post(body("push-store.json"))
    assert hass.states.get(LAST_PUSH).state == "2025-09-21T06:00:30+00:00"  # type: ignore[union-attr]
    freezer.tick(timedelta(seconds=20))
    await post(body("push-test.json"))
    assert hass.states.get(LAST_PUSH).state == "2025-09-21T06:00:50+00:00"  # type: ignore[union-attr]
    assert len(readings(setup_liveone)) == 1


async def test_datamanager_power_flow_documents_are_stored_with_their_signs(
    hass: HomeAssistant, fronius: MockConfigEntry, post: Post, setup_liveone: str
) -> None:
    for name in (
        "solarapi-powerflow-gen24-storage.json",
        "solarapi-powerflow-symo.json",
        "pushservice-powerflow-gen24-storage.json",
    ):
        response = await post(body(name), headers=basic())
        assert response.status == 200, name
        assert (await response.json())["stored"] == 1

    assert readings(setup_liveone) == [
        # Symo: P_Load -2814.74 is a load of 2815 W; P_Grid +1703.74 imports; no battery, no SOC.
        (T_SYMO, 1111, None, None, 2815, None, 1704, None, None, None, None,
         None, None, None, None, None, None,
         44188.0, None, None, None, None, None),  # E_Total 44188000 Wh
        # GEN24: P_Akku +0.16 (discharging) rounds to 0; SOC of inverter 1.
        (T_GEN24, 216, None, None, 2459, 0, 2275, 4.6, None, None, None,
         None, None, None, None, None, None,
         7512.664, None, None, None, None, None),
        (T_PUSHSERVICE, 216, None, None, 2459, 0, 2275, 4.6, None, None, None,
         None, None, None, None, None, None,
         7512.664, None, None, None, None, None),
    ]  # fmt: skip
    assert sessions(setup_liveone) == [("PUSH", True, 1, None)] * 3
    assert hass.states.get("sensor.fronius_home_load_power").state == "2459"  # type: ignore[union-attr]
    assert hass.states.get("sensor.fronius_home_grid_power").state == "2275"  # type: ignore[union-attr]


# ---- every bad body: its status, nothing stored, the session row written --------------------------------


def _bridge(**changes: Any) -> bytes:
    payload = body("push-store.json")
    for key, value in changes.items():
        if value is ...:
            del payload[key]
        else:
            payload[key] = value
    return json.dumps(payload).encode()


BAD_BODIES: list[Any] = [
    pytest.param(_bridge(action=...), {}, 400, "action", id="missing-action"),
    pytest.param(_bridge(action="save"), {}, 400, "action", id="unknown-action"),
    pytest.param(_bridge(timestamp=1758434400), {}, 400, "timestamp", id="timestamp-a-number"),
    pytest.param(_bridge(sequence=...), {}, 400, "sequence", id="missing-sequence"),
    pytest.param(_bridge(batterySOC=[85]), {}, 400, "batterySOC", id="wrong-type"),
    pytest.param(_bridge(solarW="2500"), {}, 400, "solarW", id="string-for-a-number"),
    pytest.param(_bridge().replace(b'"gridW": 0', b'"gridW": NaN'), {}, 400, "gridW", id="non-finite-nan"),
    pytest.param(
        _bridge().replace(b'"loadWhInterval": 90', b'"loadWhInterval": Infinity'),
        {},
        400,
        "loadWhInterval",
        id="non-finite-infinity",
    ),
    pytest.param(_bridge(timestamp="2030-01-01T00:00:00Z"), {}, 400, "timestamp", id="timestamp-ahead"),
    pytest.param(b"[1, 2]", basic(), 400, "body", id="not-an-object"),
    pytest.param(_bridge(apiKey="fronius-site-7f3b"), {}, 401, None, id="wrong-key"),
    pytest.param(_bridge(apiKey=...), {}, 401, None, id="missing-key"),
    pytest.param(
        json.dumps(body("solarapi-powerflow-symo.json")).encode(),
        basic(password="wrong"),
        401,
        None,
        id="wrong-basic-credentials",
    ),
    pytest.param(
        json.dumps(body("solarapi-powerflow-symo.json")).encode(), {}, 401, None, id="missing-basic"
    ),
    pytest.param(b"[1, 2]", {}, 401, None, id="not-an-object-unauthenticated"),
    pytest.param(b"x" * (64 * 1024 + 1), {}, 413, None, id="64KiB-plus-one"),
    pytest.param(b"apiKey=fronius-site-7f3a&action=store", {}, 415, None, id="not-json"),
    pytest.param(b"", {}, 415, None, id="empty"),
    pytest.param(b"[" * 100_000, {}, 413, None, id="deep-and-too-large"),
    pytest.param(b"[" * 60_000, {}, 415, None, id="too-deep"),
]


@pytest.mark.parametrize(("raw", "headers", "status", "field"), BAD_BODIES)
async def test_bad_pushes_are_refused_store_nothing_and_leave_a_session(
    fronius: MockConfigEntry,
    post: Post,
    setup_liveone: str,
    raw: bytes,
    headers: dict[str, str],
    status: int,
    field: str | None,
) -> None:
    response = await post(raw=raw, headers=headers)
    assert response.status == status
    answer = await response.json()
    if status == 400:
        assert answer["field"] == field
        assert answer["error"].startswith(f"{field}: ")
    if status == 401:
        assert answer == {"error": "unauthorized"}
        assert response.headers["WWW-Authenticate"] == 'Basic realm="LiveOne"'
    assert readings(setup_liveone) == []
    [(cause, successful, rows, error)] = sessions(setup_liveone)
    assert (cause, successful, rows) == ("PUSH", False, 0)
    assert isinstance(error, str)
    assert error.startswith(f"PushRefused: {status} ")
    status_row = query_db(
        setup_liveone, "SELECT consecutive_errors, last_error, last_response FROM polling_status"
    )
    assert status_row == [(1, error, None)]


async def test_a_streamed_body_is_read_no_further_than_the_limit(
    hass: HomeAssistant,
    fronius: MockConfigEntry,
    hass_client_no_auth: Callable[[], Awaitable[TestClient[Any, Any]]],
    setup_liveone: str,
) -> None:
    """Without a Content-Length (chunked), the limit is counted while reading."""
    sent = 0

    async def _chunks() -> Any:
        nonlocal sent
        for _ in range(100):  # 1.6 MB offered
            sent += 1
            yield b" " * 16384

    client = await hass_client_no_auth()
    response = await client.post(URL, data=_chunks())
    assert response.status == 413
    assert sessions(setup_liveone)[0][3] == "PushRefused: 413 body larger than 65536 bytes"

    async def _small() -> Any:
        yield json.dumps(body("push-store.json")).encode()

    response = await client.post(URL, data=_small())
    assert response.status == 200
    assert len(readings(setup_liveone)) == 1


async def test_a_timestamp_already_stored_is_409_and_stores_nothing_more(
    hass: HomeAssistant, fronius: MockConfigEntry, post: Post, setup_liveone: str
) -> None:
    assert (await post(body("push-store.json"))).status == 200
    again = body("push-store.json")
    again["solarW"] = 9999
    response = await post(again)
    assert response.status == 409
    assert await response.json() == {
        "error": "a reading at this timestamp is already stored",
        "timestamp": "2025-09-21T06:00:00+00:00",
    }
    assert query_db(setup_liveone, "SELECT solar_w, solar_kwh_total FROM readings") == [(2500, 0.125)]
    assert sessions(setup_liveone) == [
        ("PUSH", True, 1, None),
        ("PUSH", False, 0, f"already stored: a reading at {T_STORE}"),
    ]
    # A repeated fault push does not change the text shown for the stored reading.
    assert (await post(body("push-store-fault.json"))).status == 200
    assert hass.states.get(FAULT).state == "E102"  # type: ignore[union-attr]
    repeated = {**body("push-store-fault.json"), "faultCode": "E999"}
    assert (await post(repeated)).status == 409
    assert (await post(body("push-test.json"))).status == 200  # the entities update again
    assert hass.states.get(FAULT).state == "E102"  # type: ignore[union-attr]
    assert query_db(setup_liveone, "SELECT fault_code FROM readings WHERE fault_code IS NOT NULL") == [(102,)]
    # The refused pushes did not move the running totals.
    assert query_db(setup_liveone, "SELECT solar_kwh_total FROM readings ORDER BY 1") == [(0.125,), (0.164,)]


async def test_an_unknown_webhook_id_gets_home_assistants_own_answer(
    fronius: MockConfigEntry, post: Post, setup_liveone: str
) -> None:
    response = await post(body("push-store.json"), url=f"/api/webhook/{'ab' * 32}")
    assert response.status == 200
    assert await response.read() == b""
    assert readings(setup_liveone) == []
    assert sessions(setup_liveone) == []


async def test_a_burst_above_the_rate_is_429_until_the_minute_has_passed(
    freezer: FrozenDateTimeFactory, fronius: MockConfigEntry, post: Post, setup_liveone: str
) -> None:
    for _ in range(12):
        assert (await post(body("push-test.json"))).status == 200
    freezer.tick(timedelta(seconds=20))
    response = await post(body("push-store.json"))
    assert response.status == 429
    assert response.headers["Retry-After"] == "40"
    assert await response.json() == {"error": "more than 12 pushes a minute"}
    assert readings(setup_liveone) == []
    assert sessions(setup_liveone)[-1] == ("PUSH", False, 0, "PushRefused: 429 more than 12 pushes in 60 s")
    assert len(sessions(setup_liveone)) == 13

    freezer.tick(timedelta(seconds=41))
    assert (await post(body("push-store.json"))).status == 200
    assert len(readings(setup_liveone)) == 1


# ---- silence, secrets, options, unload ------------------------------------------------------------------


async def test_silence_makes_entities_unavailable_and_a_push_brings_them_back(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    fronius: MockConfigEntry,
    post: Post,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    await post(body("push-store.json"))
    assert hass.states.get(SOLAR).state == "2500"  # type: ignore[union-attr]
    freezer.tick(timedelta(minutes=4, seconds=59))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(SOLAR).state == "2500"  # type: ignore[union-attr]
    freezer.tick(timedelta(seconds=2))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(SOLAR).state == STATE_UNAVAILABLE  # type: ignore[union-attr]
    assert caplog.text.count("Fronius Home has sent no data for 0:05:00") == 1

    await post(body("push-store-fault.json"))
    assert hass.states.get(SOLAR).state == "2350"  # type: ignore[union-attr]
    assert caplog.text.count("Fronius Home is sending data again") == 1


async def test_a_system_that_never_pushes_after_setup_goes_silent(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_liveone: str, post: Post
) -> None:
    freezer.move_to(NOW)
    first = fronius_entry()
    first.add_to_hass(hass)
    assert await hass.config_entries.async_setup(first.entry_id)
    await post(body("push-store.json"))
    assert await hass.config_entries.async_unload(first.entry_id)

    # After a restart it shows the stored reading, then goes unavailable if no push comes.
    assert await hass.config_entries.async_setup(first.entry_id)
    await hass.async_block_till_done()
    assert hass.states.get(SOLAR).state == "2500"  # type: ignore[union-attr]
    freezer.tick(timedelta(minutes=5, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(SOLAR).state == STATE_UNAVAILABLE  # type: ignore[union-attr]

    # The running totals resume from the stored reading.
    await post(body("push-store-fault.json"))
    assert query_db(setup_liveone, "SELECT solar_kwh_total FROM readings ORDER BY 1") == [(0.125,), (0.164,)]


async def test_an_older_bridge_push_is_stored_without_totals(
    fronius: MockConfigEntry, post: Post, setup_liveone: str
) -> None:
    assert (await post(body("push-store-fault.json"))).status == 200
    assert (await post(body("push-store.json"))).status == 200  # a minute older, arriving late
    assert query_db(
        setup_liveone, "SELECT inverter_time, solar_wh_interval, solar_kwh_total FROM readings ORDER BY 1"
    ) == [
        (T_STORE, 125.0, None),
        (T_FAULT, 39.0, 0.039),
    ]


async def test_regenerating_the_secret_refuses_the_old_one_at_once(
    hass: HomeAssistant, fronius: MockConfigEntry, post: Post, setup_liveone: str
) -> None:
    result = await hass.config_entries.options.async_init(fronius.entry_id)
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "fronius_options")
    with patch("custom_components.liveone.sources.fronius.new_secret", return_value="the-new-secret"):
        result = await hass.config_entries.options.async_configure(
            result["flow_id"],
            {"allow_external": False, "regenerate_secret": True, "username": USER, "password": PASSWORD},
        )
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "fronius_secret")
    assert result["description_placeholders"]["api_key"] == "the-new-secret"
    assert (await post(body("push-store.json"))).status == 200  # not saved yet: the old key still works
    result = await hass.config_entries.options.async_configure(result["flow_id"], {})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert fronius.data["api_key"] == "the-new-secret"

    old = body("push-store-fault.json")
    response = await post(old)
    assert response.status == 401
    new = {**old, "apiKey": "the-new-secret"}
    assert (await post(new)).status == 200
    assert [row[0] for row in readings(setup_liveone)] == [T_STORE, T_FAULT]


async def test_options_accept_pushes_from_outside_and_change_the_credentials(
    hass: HomeAssistant, fronius: MockConfigEntry, post: Post, setup_liveone: str
) -> None:
    # Local only by default: Home Assistant drops a remote push itself (200, empty, nothing stored).
    with patch("homeassistant.components.webhook.network_util.is_local", return_value=False):
        response = await post(body("push-store.json"))
    assert (response.status, await response.read()) == (200, b"")
    assert sessions(setup_liveone) == []

    result = await hass.config_entries.options.async_init(fronius.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"allow_external": True, "regenerate_secret": False, "username": "new"}
    )
    assert result["errors"] == {"base": "credentials_incomplete"}
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {"allow_external": True, "regenerate_secret": False, "username": "new", "password": "pass"},
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert fronius.options == {"allow_external": True}
    assert (fronius.data["username"], fronius.data["password"], fronius.data["api_key"]) == (
        "new",
        "pass",
        KEY,
    )
    assert hass.data["webhook"][WEBHOOK]["local_only"] is False

    with patch("homeassistant.components.webhook.network_util.is_local", return_value=False):
        assert (await post(body("push-store.json"))).status == 200
        symo = body("solarapi-powerflow-symo.json")
        assert (await post(symo, headers=basic())).status == 401  # the old credentials
        assert (await post(symo, headers=basic("new", "pass"))).status == 200
    assert len(readings(setup_liveone)) == 2

    # The form never shows the password: left empty under the same user name, it is kept.
    result = await hass.config_entries.options.async_init(fronius.entry_id)
    assert result["data_schema"]({"allow_external": True, "regenerate_secret": False}) is not None
    suggested = {
        str(key): key.description.get("suggested_value") if key.description else None
        for key in result["data_schema"].schema
    }
    assert (suggested["username"], suggested["password"]) == ("new", None)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"allow_external": True, "regenerate_secret": False, "username": "new"}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert (fronius.data["username"], fronius.data["password"]) == ("new", "pass")

    # Removing the credentials: no Datamanager push is accepted any more.
    result = await hass.config_entries.options.async_init(fronius.entry_id)
    result = await hass.config_entries.options.async_configure(
        result["flow_id"], {"allow_external": False, "regenerate_secret": False}
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    await hass.async_block_till_done()
    assert "username" not in fronius.data
    assert hass.data["webhook"][WEBHOOK]["local_only"] is True
    gen24 = body("solarapi-powerflow-gen24-storage.json")
    assert (await post(gen24, headers=basic("", ""))).status == 401


async def test_unloading_and_removing_the_entry_unregisters_the_webhook(
    hass: HomeAssistant, fronius: MockConfigEntry, post: Post, setup_liveone: str
) -> None:
    assert WEBHOOK in hass.data["webhook"]
    assert await hass.config_entries.async_unload(fronius.entry_id)
    assert WEBHOOK not in hass.data["webhook"]
    response = await post(body("push-store.json"))
    assert (response.status, await response.read()) == (200, b"")
    assert await hass.config_entries.async_setup(fronius.entry_id)
    assert WEBHOOK in hass.data["webhook"]
    await hass.config_entries.async_remove(fronius.entry_id)
    assert WEBHOOK not in hass.data["webhook"]
    assert readings(setup_liveone) == []


async def test_a_store_failure_is_503_and_the_reading_is_kept(
    fronius: MockConfigEntry, post: Post, setup_liveone: str
) -> None:
    store = fronius.runtime_data.coordinator.store
    with patch.object(store, "async_record_batch", side_effect=StoreError("database is locked")):
        response = await post(body("push-store.json"))
    assert response.status == 503
    assert (await response.json())["timestamp"] == "2025-09-21T06:00:00+00:00"
    assert readings(setup_liveone) == []
    assert (await post(body("push-store-fault.json"))).status == 200
    assert query_db(setup_liveone, "SELECT inverter_time, solar_kwh_total FROM readings ORDER BY 1") == [
        (T_STORE, 0.125),
        (T_FAULT, 0.164),
    ]


async def test_diagnostics_hide_the_secrets(hass: HomeAssistant, fronius: MockConfigEntry) -> None:
    diagnostics = await async_get_config_entry_diagnostics(hass, fronius)
    text = json.dumps(diagnostics, default=str)
    for secret in (WEBHOOK, KEY, PASSWORD, USER):
        assert secret not in text


async def test_energy_dashboard_validation_passes_for_fronius(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    enable_custom_integrations: None,
    freezer: FrozenDateTimeFactory,
    db_url: str,
    hass_client_no_auth: Callable[[], Awaitable[TestClient[Any, Any]]],
) -> None:
    freezer.move_to(NOW)
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"db_url": db_url}})
    entry = fronius_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    assert await async_setup_component(hass, "energy", {})  # its views first: the client freezes the router
    client = await hass_client_no_auth()
    payload = body("push-store.json")
    for minute in range(3):
        freezer.move_to(f"2025-09-21T06:0{minute}:30+00:00")
        payload["timestamp"] = f"2025-09-21T06:0{minute}:00Z"
        payload["gridInWhInterval"] = 5
        payload["gridOutWhInterval"] = 2
        payload["batteryOutWhInterval"] = 1
        response = await client.post(URL, json=payload)
        assert response.status == 200
        await hass.async_block_till_done()
    await assert_energy_dashboard_valid(hass, "fronius_home")
    assert await hass.config_entries.async_unload(entry.entry_id)


@pytest.mark.usefixtures("entity_registry_enabled_by_default", "setup_liveone")
async def test_entity_states_snapshot(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    post: Post,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    """Both bridge bodies pushed (the second with its E102 fault), as sensors."""
    freezer.move_to(NOW)
    entry = fronius_entry()
    entry.add_to_hass(hass)
    with patch("custom_components.liveone.PLATFORMS", [Platform.SENSOR]):
        assert await hass.config_entries.async_setup(entry.entry_id)
        await hass.async_block_till_done()
        await post(body("push-store.json"))
        freezer.move_to("2025-09-21T06:01:30+00:00")
        await post(body("push-store-fault.json"))
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


async def _fault_then_late_store(post: Post, entry: MockConfigEntry) -> None:
    await post(body("push-store-fault.json"))
    await post(body("push-store.json"))  # older: the kept body is now one without a fault


async def _store_then_older_fault(post: Post, entry: MockConfigEntry) -> None:
    await post(body("push-store.json"))
    older = {**body("push-store-fault.json"), "timestamp": "2025-09-21T05:59:00Z"}
    await post(older)  # its text belongs to another reading than the newest


async def _fault_then_solar_api(post: Post, entry: MockConfigEntry) -> None:
    await post(body("push-store-fault.json"))
    await post(body("solarapi-powerflow-symo.json"), headers=basic())  # 2021: older


async def _fault_then_unreadable_body(post: Post, entry: MockConfigEntry) -> None:
    await post(body("push-store-fault.json"))
    coordinator = entry.runtime_data.coordinator
    await coordinator.store.async_record_batch(
        coordinator.system_id, "fronius", Batch(raw="not json"), started=T_FAULT, now=T_FAULT + 60
    )


async def _reading_without_a_body(post: Post, entry: MockConfigEntry) -> None:
    coordinator = entry.runtime_data.coordinator
    await coordinator.store.async_write_readings(
        coordinator.system_id, [Reading(inverter_time=T_FAULT, solar_w=1, fault_code=7)]
    )


@pytest.mark.parametrize(
    ("pushes", "shown"),
    [
        (lambda post, entry: post(body("push-store-fault.json")), "E102"),
        (_fault_then_late_store, "102"),
        (_store_then_older_fault, None),
        (_fault_then_solar_api, "102"),
        (_fault_then_unreadable_body, "102"),
        (_reading_without_a_body, "7"),
    ],
    ids=["restored", "last-body-without-fault", "text-of-another-time", "solar-api", "not-json", "no-body"],
)
async def test_the_fault_text_survives_a_restart(
    hass: HomeAssistant,
    fronius: MockConfigEntry,
    post: Post,
    pushes: Callable[[Post, MockConfigEntry], Awaitable[object]],
    shown: str | None,
) -> None:
    await pushes(post, fronius)
    assert await hass.config_entries.async_unload(fronius.entry_id)
    assert await hass.config_entries.async_setup(fronius.entry_id)
    await hass.async_block_till_done()
    state = hass.states.get(FAULT)
    assert (None if state is None or state.state == STATE_UNAVAILABLE else state.state) == shown


async def test_a_push_relayed_through_the_websocket_api(
    hass: HomeAssistant,
    fronius: MockConfigEntry,
    hass_ws_client: WebSocketGenerator,
    setup_liveone: str,
) -> None:
    """Home Assistant's cloud relays webhooks as requests without a length (webhook/handle)."""
    client = await hass_ws_client(hass)
    await client.send_json_auto_id(
        {
            "type": "webhook/handle",
            "webhook_id": WEBHOOK,
            "method": "POST",
            "body": json.dumps(body("solarapi-powerflow-gen24-storage.json")),
            "headers": basic(),
        }
    )
    result = (await client.receive_json())["result"]
    assert result["status"] == 200
    assert json.loads(result["body"])["stored"] == 1
    assert [row[0] for row in readings(setup_liveone)] == [T_GEN24]


async def test_power_only_documents_integrate_power_and_take_solar_from_e_total(
    freezer: FrozenDateTimeFactory, fronius: MockConfigEntry, post: Post, setup_liveone: str
) -> None:
    """Rule 3 (the power integral) for load and grid, rule 1 (the rise of E_Total) for solar."""
    freezer.move_to("2021-11-28T13:13:00+00:00")
    for minute, e_total in (("09", 7512664.0), ("11", 7512668.0), ("12", 7512672.0)):
        document = body("solarapi-powerflow-gen24-storage.json")
        document["Head"]["Timestamp"] = f"2021-11-28T13:{minute}:00+00:00"
        document["Body"]["Data"]["Site"]["E_Total"] = e_total
        assert (await post(document, headers=basic())).status == 200
    rows = query_db(
        setup_liveone,
        "SELECT interval_end, solar_interval_wh, load_wh_interval, grid_in_wh_interval, grid_out_wh_interval "
        "FROM readings_agg_5m ORDER BY 1",
    )
    end = 1638105300  # 13:15:00
    assert rows == [
        (end - 300, None, None, None, None),  # 13:09 alone: nothing to rise from or integrate
        # Solar: E_Total rose 8 Wh. Load 2459 W and grid 2275 W (import) over the 3 minutes from 13:09.
        (end, 8, 123, 114, 0),
    ]


async def test_pushed_energy_reaches_the_long_term_statistics(
    recorder_mock: Recorder,
    hass: HomeAssistant,
    enable_custom_integrations: None,
    freezer: FrozenDateTimeFactory,
    db_url: str,
    hass_client_no_auth: Callable[[], Awaitable[TestClient[Any, Any]]],
) -> None:
    """A bridge pushing 10 Wh of solar a minute: the 06:00 hour's statistic has the pushed energy."""
    freezer.move_to("2025-09-21T06:49:30+00:00")
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"db_url": db_url}})
    entry = fronius_entry()
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    client = await hass_client_no_auth()
    payload = body("push-store.json")
    for minute in range(50, 63):  # 06:50 .. 07:02
        hour, mm = divmod(minute, 60)
        freezer.move_to(f"2025-09-21T{6 + hour:02d}:{mm:02d}:30+00:00")
        payload.update(
            timestamp=f"2025-09-21T{6 + hour:02d}:{mm:02d}:00Z", solarWhInterval=10, loadWhInterval=4
        )
        assert (await client.post(URL, json=payload)).status == 200
        await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)
    ids = {"solar": "liveone:fronius_fronius_home_solar", "load": "liveone:fronius_fronius_home_load"}
    found = await get_instance(hass).async_add_executor_job(
        statistics_during_period,
        hass,
        dt_util.parse_datetime("2025-09-21T05:00:00+00:00"),
        None,
        set(ids.values()),
        "hour",
        None,
        {"sum"},
    )
    # 06:50 is the first reading (nothing to rise from); 06:51 .. 07:00 rise 10 Wh (solar), 4 Wh (load).
    assert [(row["start"], row["sum"]) for row in found[ids["solar"]]] == [
        (dt_util.parse_datetime("2025-09-21T06:00:00+00:00").timestamp(), pytest.approx(0.1))  # type: ignore[union-attr]
    ]
    assert [row["sum"] for row in found[ids["load"]]] == [pytest.approx(0.04)]
    assert await hass.config_entries.async_unload(entry.entry_id)
