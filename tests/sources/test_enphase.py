"""Enphase end to end in Home Assistant: application credentials, the flow, the budgeted coordinator.

A fake Enphase on 127.0.0.1 (``tests/helpers/fakes/enphase.py``) serves OAuth and the API; the clock is
the freezer's. The system is in Brisbane (UTC+10, no DST), as the real day's.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
import time
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.components.application_credentials import ClientCredential, async_import_client_credential
from homeassistant.components.recorder import Recorder
from homeassistant.components.recorder.statistics import statistics_during_period
from homeassistant.config_entries import SOURCE_REAUTH, ConfigEntryState
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import entity_registry as er, issue_registry as ir
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
from syrupy.assertion import SnapshotAssertion
from yarl import URL

from custom_components.liveone import application_credentials as platform
from custom_components.liveone.const import DOMAIN
from custom_components.liveone.diagnostics import async_get_config_entry_diagnostics
from custom_components.liveone.sources import enphase as source
from custom_components.liveone.vendors import enphase as api

from ..conftest import query_db
from ..helpers.fakes.enphase import (
    API_KEY,
    CLIENT_ID,
    CLIENT_SECRET,
    GOOD_CODE,
    SYSTEM_ID,
    FakeEnphase,
    serve_enphase,
    system_body,
)
from ..test_energy import async_validate_energy

NOON = "2025-09-05T02:00:00+00:00"  # 12:00 in Brisbane, the day after the real day
REAL_DAY = "2025-09-04"
SECOND = "364881"
PREFIX = "sensor.home_solar"


@pytest.fixture
async def enphase(
    hass: HomeAssistant, socket_enabled: None, setup_liveone: str, freezer: FrozenDateTimeFactory
) -> AsyncIterator[FakeEnphase]:
    """A fake Enphase with LiveOne pointed at it, credentials imported, Home Assistant in Brisbane."""
    freezer.move_to(NOON)
    await hass.config.async_set_time_zone("Australia/Brisbane")
    hass.config.latitude, hass.config.longitude = -27.47, 153.03
    state = FakeEnphase()
    async with serve_enphase(state) as base:
        with patch.object(source, "ENPHASE_BASE_URL", base):
            assert await async_setup_component(hass, "application_credentials", {})
            await async_import_client_credential(hass, DOMAIN, ClientCredential(CLIENT_ID, CLIENT_SECRET))
            yield state


def enphase_entry(
    state: FakeEnphase,
    site: str = SYSTEM_ID,
    account: str = "acc-1",
    token: dict[str, Any] | None = None,
    **options: Any,
) -> MockConfigEntry:
    token = token or {**state.issue_token(), "expires_at": time.time() + 86_400}
    return MockConfigEntry(
        domain=DOMAIN,
        title="Home solar" if site == SYSTEM_ID else f"Solar {site}",
        unique_id=f"enphase_{site}",
        data={
            "vendor": "enphase",
            "site_id": site,
            "timezone_offset_min": 600,
            "auth_implementation": DOMAIN,
            "token": token,
            "api_key": API_KEY,
            "account": account,
            "details": {"solar_size": "12.5 kW"},
        },
        options={"backfill_days": 1, **options},
    )


async def _run(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, seconds: float, step: float = 300
) -> None:
    """Let the clock run, firing timers along the way."""
    left = seconds
    while left > 0:
        tick = min(step, left)
        freezer.tick(timedelta(seconds=tick))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
        left -= tick


async def _setup(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()


# ---- the flow ------------------------------------------------------------------------------------------


async def _oauth(hass: HomeAssistant, result: Any, client: Any, code: str = GOOD_CODE) -> Any:
    assert result["type"] is FlowResultType.EXTERNAL_STEP
    url = URL(result["url"])
    assert str(url.with_query(None)).endswith("/oauth/authorize")
    assert url.query["client_id"] == CLIENT_ID
    assert "scope" not in url.query
    response = await client.get(f"/auth/external/callback?code={code}&state={url.query['state']}")
    assert response.status == 200
    return await hass.config_entries.flow.async_configure(result["flow_id"])


@pytest.mark.usefixtures("current_request_with_host")
async def test_the_flow_key_oauth_system_and_a_second_system_without_a_second_login(
    hass: HomeAssistant, enphase: FakeEnphase, hass_client_no_auth: Any, setup_liveone: str
) -> None:
    enphase.systems.append(system_body(SECOND, "Shed"))
    client = await hass_client_no_auth()
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    assert "enphase" in result["menu_options"]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "enphase"})
    assert result["step_id"] == "enphase_key"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"api_key": " wrong "})
    result = await _oauth(hass, result, client)
    # Authorised, but the key is refused: asked again, no second login.
    assert (result["step_id"], result["errors"]) == ("enphase_key", {"base": "invalid_api_key"})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"api_key": API_KEY})
    assert result["step_id"] == "enphase_system"
    assert result["description_placeholders"] == {"count": "2"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"system": SYSTEM_ID})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    first = result["result"]
    basic = enphase.token_requests[0]
    assert basic["grant_type"] == "authorization_code"
    assert "client_secret" not in basic
    assert first.data["api_key"] == API_KEY
    assert first.data["timezone_offset_min"] == 600
    assert first.title == "Home solar"
    await hass.async_block_till_done()
    assert first.state is ConfigEntryState.LOADED
    # No options yet: the default backfill of 7 days, the first of them fetched at setup.
    assert len(first.runtime_data.coordinator.keys.systems[SYSTEM_ID]["backfill"]) == 6
    assert enphase.api_calls[-1][2]["granularity"] == "day"

    # The second system: the authorised account is offered, no OAuth again.
    logins = len(enphase.token_requests)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "enphase"})
    assert result["step_id"] == "enphase"
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"account": first.data["account"]}
    )
    assert result["step_id"] == "enphase_system"
    options = result["data_schema"].schema["system"].config["options"]
    assert [o["value"] for o in options] == [SECOND]
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"system": SECOND})
    second = result["result"]
    assert second.data["account"] == first.data["account"]
    assert len(enphase.token_requests) == logins
    await hass.async_block_till_done()

    # Every system added: the account has nothing left.
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "enphase"})
    result = await hass.config_entries.flow.async_configure(
        result["flow_id"], {"account": first.data["account"]}
    )
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "already_configured")

    # A new account from the same menu goes to the key step.
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "enphase"})
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"account": "new"})
    assert result["step_id"] == "enphase_key"


@pytest.mark.usefixtures("current_request_with_host")
async def test_the_flow_aborts_on_a_duplicate_and_when_enphase_fails(
    hass: HomeAssistant, enphase: FakeEnphase, hass_client_no_auth: Any
) -> None:
    client = await hass_client_no_auth()

    async def start() -> Any:
        result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
        result = await hass.config_entries.flow.async_configure(
            result["flow_id"], {"next_step_id": "enphase"}
        )
        if result["step_id"] == "enphase":
            result = await hass.config_entries.flow.async_configure(result["flow_id"], {"account": "new"})
        return await hass.config_entries.flow.async_configure(result["flow_id"], {"api_key": API_KEY})

    enphase.api_failures = 1
    result = await _oauth(hass, await start(), client)
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "cannot_connect")

    result = await _oauth(hass, await start(), client, code="bad-code")
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "oauth_failed")

    # Two flows at the system form at once: the second to finish is a duplicate.
    first = await _oauth(hass, await start(), client)
    second = await _oauth(hass, await start(), client)
    assert first["step_id"] == second["step_id"] == "enphase_system"
    first = await hass.config_entries.flow.async_configure(first["flow_id"], {"system": SYSTEM_ID})
    assert first["type"] is FlowResultType.CREATE_ENTRY
    second = await hass.config_entries.flow.async_configure(second["flow_id"], {"system": SYSTEM_ID})
    assert (second["type"], second["reason"]) == (FlowResultType.ABORT, "already_configured")
    await hass.async_block_till_done()
    await hass.config_entries.async_remove(first["result"].entry_id)

    enphase.month_used = {time.strftime("%Y-%m", time.gmtime()): 10_000}
    result = await _oauth(hass, await start(), client)
    assert result["reason"] == "rate_limited"
    result = await _oauth(hass, await start(), client)  # the budget now knows: no call is sent
    assert result["reason"] == "rate_limited"
    assert ir.async_get(hass).async_get_issue(DOMAIN, f"enphase_quota_{source._key_id(API_KEY)}") is not None


async def test_the_platform_delegates_to_the_kind(hass: HomeAssistant, enphase: FakeEnphase) -> None:
    server = await platform.async_get_authorization_server(hass)
    assert server.token_url.endswith("/oauth/token")
    assert server.authorize_url.endswith("/oauth/authorize")
    implementation = await platform.async_get_auth_implementation(
        hass, DOMAIN, ClientCredential(CLIENT_ID, CLIENT_SECRET)
    )
    assert isinstance(implementation, source.EnphaseAuth)


# ---- data ----------------------------------------------------------------------------------------------


@pytest.mark.usefixtures("entity_registry_enabled_by_default")
async def test_the_real_day_gives_288_rows_and_11_588_kwh_and_today_s_sensors(
    hass: HomeAssistant,
    enphase: FakeEnphase,
    freezer: FrozenDateTimeFactory,
    setup_liveone: str,
    entity_registry: er.EntityRegistry,
    snapshot: SnapshotAssertion,
) -> None:
    entry = enphase_entry(enphase)
    await _setup(hass, entry)
    assert entry.state is ConfigEntryState.LOADED
    # The first call was the backfill of the finished day (the real day), then today so far.
    assert enphase.api_calls[0][2]["granularity"] == "day"
    await _run(hass, freezer, 600, step=60)
    assert [len(c[2]) for c in enphase.api_calls] == [3, 0]  # then today's at 12:05
    day_start, day_end = api.day_bounds(datetime.fromisoformat(REAL_DAY).date(), 600)
    rows = query_db(
        setup_liveone,
        f"SELECT count(*), sum(solar_interval_wh), min(sample_count), max(sample_count) FROM readings_agg_5m "
        f"WHERE interval_end > {day_start} AND interval_end <= {day_end}",
    )
    assert rows == [(288, 11_588, 1, 1)]
    daily = query_db(setup_liveone, f"SELECT solar_kwh FROM readings_agg_1d WHERE day = '{REAL_DAY}'")
    assert daily == [(11.588,)]
    # Today by noon (uploads 10 minutes behind): the real day's intervals to 11:50.
    called = int(enphase.api_calls[-1][0])
    assert ((called + 36_000) % 86_400) == 12 * 3600 + 300  # 12:05 local: after the 12:00 upload
    today = sum(enphase.interval_for(e)["enwh"] for e in range(day_end + 300, called - 600 + 1, 300))
    assert hass.states.get(f"{PREFIX}_solar_energy_today").state == str(round(today / 1000, 3))
    assert float(hass.states.get(f"{PREFIX}_solar_energy").state) == round((11_588 + today) / 1000, 3)
    assert hass.states.get(f"{PREFIX}_solar_power").state == str(
        enphase.interval_for(called // 300 * 300 - 600)["powr"]
    )
    assert hass.states.get(f"{PREFIX}_microinverters_reporting").state == "49"
    assert hass.states.get(f"{PREFIX}_requests_left_this_month").state == str(1000 - 2)
    assert hass.states.get(f"{PREFIX}_next_scheduled_call") is not None
    await snapshot_platform(hass, entity_registry, snapshot, entry.entry_id)


async def test_a_late_interval_rewrites_its_row_and_the_midnight_refetch_fills_the_day(
    hass: HomeAssistant, enphase: FakeEnphase, freezer: FrozenDateTimeFactory, setup_liveone: str
) -> None:
    freezer.move_to("2025-09-05T12:00:00+00:00")  # 22:00 in Brisbane: no daylight calls until sunrise
    today_start = api.day_bounds(datetime(2025, 9, 5).date(), 600)[0]
    late = {today_start + 300 * n for n in range(200, 210)}  # 16:40-17:30 local are late
    enphase.withheld |= late
    entry = enphase_entry(enphase, backfill_days=0)
    await _setup(hass, entry)
    count = f"SELECT count(*) FROM readings_agg_5m WHERE interval_end > {today_start} AND interval_end <= {today_start + 86_400}"
    assert query_db(setup_liveone, count) == [(262 - 10,)]  # uploaded up to 21:50, ten of them late
    calls = len(enphase.api_calls)
    await _run(hass, freezer, 3600)  # 23:00: nothing is called at night
    assert len(enphase.api_calls) == calls
    enphase.withheld.clear()
    await _run(hass, freezer, 2.5 * 3600)  # past 00:20: the finished day is fetched again
    refetch = [c for c in enphase.api_calls[calls:] if c[2].get("granularity") == "day"]
    assert len(refetch) == 1
    assert refetch[0][2]["start_at"] == str(today_start)
    assert query_db(setup_liveone, count) == [(288,)]
    total = query_db(setup_liveone, "SELECT solar_kwh FROM readings_agg_1d WHERE day = '2025-09-05'")
    assert total == [(11.588,)]
    await _run(hass, freezer, 6 * 3600)  # the day is complete: no more refetches
    assert len([c for c in enphase.api_calls[calls:] if c[2].get("granularity") == "day"]) == 1


# ---- tokens --------------------------------------------------------------------------------------------


async def test_an_expired_token_is_refreshed_once_for_the_account_and_written_to_every_entry(
    hass: HomeAssistant, enphase: FakeEnphase, freezer: FrozenDateTimeFactory
) -> None:
    first, second = enphase_entry(enphase, backfill_days=0), enphase_entry(enphase, SECOND, backfill_days=0)
    enphase.systems.append(system_body(SECOND))
    for entry in (first, second):
        entry.add_to_hass(hass)
    token = {**second.data["token"], "expires_at": time.time() - 10}  # the live refresh token
    hass.config_entries.async_update_entry(first, data={**first.data, "token": token})
    hass.config_entries.async_update_entry(second, data={**second.data, "token": token})
    assert await hass.config_entries.async_setup(first.entry_id)
    assert await hass.config_entries.async_setup(second.entry_id)
    await hass.async_block_till_done()
    refreshes = [r for r in enphase.token_requests if r["grant_type"] == "refresh_token"]
    assert len(refreshes) == 1
    assert (
        first.data["token"]["refresh_token"] == second.data["token"]["refresh_token"] == enphase.refresh_token
    )
    assert first.data["token"]["access_token"] in enphase.access_tokens


async def test_a_503_from_the_token_endpoint_is_no_reauth_but_invalid_grant_is(
    hass: HomeAssistant, enphase: FakeEnphase, freezer: FrozenDateTimeFactory
) -> None:
    entry = enphase_entry(enphase, backfill_days=0)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, "token": {**entry.data["token"], "expires_at": 0}}
    )
    enphase.token_failures = 1
    # Loaded without data (a setup retry would spend a request each time), no reauthentication.
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert entry.runtime_data.coordinator.data is None
    assert not list(hass.config_entries.flow.async_progress_by_handler(DOMAIN))
    enphase.refresh_token = "rotated-elsewhere"  # the stored refresh token is dead
    await _run(hass, freezer, 36 * 60, step=60)  # the next try: the next daylight slot, 12:35
    assert [r["grant_type"] for r in enphase.token_requests] == ["refresh_token", "refresh_token"]
    flows = list(hass.config_entries.flow.async_progress_by_handler(DOMAIN))
    assert [f["context"]["source"] for f in flows] == [SOURCE_REAUTH]


@pytest.mark.parametrize("body", ["[1, 2]", "<html>proxy error</html>", "", "DROP"])
async def test_a_token_endpoint_answering_garbage_is_no_reauth(
    hass: HomeAssistant, enphase: FakeEnphase, body: str
) -> None:
    entry = enphase_entry(enphase, backfill_days=0)
    entry.add_to_hass(hass)
    hass.config_entries.async_update_entry(
        entry, data={**entry.data, "token": {**entry.data["token"], "expires_at": 0}}
    )
    enphase.token_body = body
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert entry.runtime_data.coordinator.data is None  # nothing to show yet; tried again later
    assert not list(hass.config_entries.flow.async_progress_by_handler(DOMAIN))
    assert len(enphase.token_requests) == 1


@pytest.mark.usefixtures("current_request_with_host")
async def test_reauth_renews_the_account_s_token(
    hass: HomeAssistant, enphase: FakeEnphase, hass_client_no_auth: Any
) -> None:
    token = {**enphase.issue_token(), "expires_at": time.time() + 86_400}
    entry = enphase_entry(enphase, token=token, backfill_days=0)
    other = enphase_entry(enphase, SECOND, token=token, backfill_days=0)
    enphase.systems.append(system_body(SECOND))
    await _setup(hass, entry)
    await _setup(hass, other)
    client = await hass_client_no_auth()
    result = await entry.start_reauth_flow(hass)
    assert result["step_id"] == "enphase_reauth"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    result = await _oauth(hass, result, client)
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "reauth_successful")
    assert entry.data["token"]["refresh_token"] == enphase.refresh_token
    await hass.async_block_till_done()
    assert other.data["token"] == entry.data["token"]  # every system of the account, reloaded
    assert other.state is ConfigEntryState.LOADED

    enphase.api_failures = 1
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    result = await _oauth(hass, result, client)
    assert result["reason"] == "cannot_connect"

    enphase.systems = [system_body("999")]
    result = await entry.start_reauth_flow(hass)
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {})
    result = await _oauth(hass, result, client)
    assert result["reason"] == "wrong_account"
    await hass.async_block_till_done()


async def test_reconfigure_changes_the_api_key_after_testing_it(
    hass: HomeAssistant, enphase: FakeEnphase
) -> None:
    entry = enphase_entry(enphase, backfill_days=0)
    await _setup(hass, entry)
    result = await entry.start_reconfigure_flow(hass)
    assert result["step_id"] == "enphase_reconfigure"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"api_key": "other"})
    assert result["errors"] == {"base": "invalid_api_key"}
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"api_key": API_KEY})
    assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "reconfigure_successful")
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED


async def test_options_set_the_plan_for_every_system_on_the_key(
    hass: HomeAssistant, enphase: FakeEnphase
) -> None:
    first, second = enphase_entry(enphase, backfill_days=0), enphase_entry(enphase, SECOND, backfill_days=0)
    enphase.systems.append(system_body(SECOND))
    second.add_to_hass(hass)
    await _setup(hass, first)
    await hass.async_block_till_done()
    result = await hass.config_entries.options.async_init(first.entry_id)
    assert result["step_id"] == "enphase_options"
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "requests_per_month": 5000,
            "requests_per_minute": 10,
            "latitude": -27.5,
            "longitude": 153.0,
            "backfill_days": 3,
        },
    )
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert first.options["requests_per_month"] == second.options["requests_per_month"] == 5000
    assert first.runtime_data.coordinator.keys.budget.per_month == 5000  # at once, no restart
    await hass.config_entries.async_unload(first.entry_id)
    result = await hass.config_entries.options.async_init(first.entry_id)  # not loaded: only the options
    result = await hass.config_entries.options.async_configure(
        result["flow_id"],
        {
            "requests_per_month": 900,
            "requests_per_minute": 10,
            "latitude": 1,
            "longitude": 2,
            "backfill_days": 3,
        },
    )
    assert first.options["requests_per_month"] == 900


# ---- the budget through the real coordinator -----------------------------------------------------------


async def _run_wakes(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entries: list[MockConfigEntry], until: float
) -> None:
    """Jump the clock from one scheduled wake-up to the next (any coordinator's) until ``until``."""
    while True:
        wakes = [
            e.runtime_data.coordinator.data.next_call for e in entries if e.runtime_data.coordinator.data
        ]
        target = min(w.timestamp() for w in wakes if w is not None)
        if target > until:
            break
        freezer.move_to(datetime.fromtimestamp(max(target, time.time()) + 1, UTC))
        async_fire_time_changed(hass)
        await hass.async_block_till_done(wait_background_tasks=True)
    freezer.move_to(datetime.fromtimestamp(until, UTC))


@pytest.mark.parametrize("systems", [1, 3])
async def test_the_month_s_last_nine_days_through_the_coordinators_keep_to_the_plan_across_a_restart(
    hass: HomeAssistant,
    enphase: FakeEnphase,
    freezer: FrozenDateTimeFactory,
    systems: int,
    setup_liveone: str,
    hass_storage: dict[str, Any],
) -> None:
    """The last nine days of September 2025 (the quota month is UTC's) on the free plan, one or three
    systems on one key that has already spent 700 of its 1,000 requests: the 300 left are spent, in
    daylight, and never exceeded. (The whole month's arithmetic: tests/vendors/test_enphase.py.)"""
    start = datetime.fromisoformat("2025-09-22T00:00:00+00:00").timestamp()
    end = api.month_end(start)
    freezer.move_to(datetime.fromtimestamp(start, UTC))
    spent = 700
    hass_storage[f"{DOMAIN}.enphase_budget_{source._key_id(API_KEY)}"] = {
        "version": 1,
        "key": f"{DOMAIN}.enphase_budget_{source._key_id(API_KEY)}",
        "data": {"budget": {"month": "2025-09", "used": spent}, "systems": {}},
    }
    enphase.month_used = {"2025-09": spent}
    sites = [SYSTEM_ID, SECOND, "364882"][:systems]
    enphase.systems = [system_body(site) for site in sites]
    enphase.expires_in = 40 * 86_400  # the token lasts the span (refreshes are tested elsewhere)
    token = {**enphase.issue_token(), "expires_at": time.time() + 40 * 86_400}  # one account, one token
    entries = [enphase_entry(enphase, site, token=token, backfill_days=0) for site in sites]
    for entry in entries:
        entry.add_to_hass(hass)
    for entry in entries:
        if entry.state is not ConfigEntryState.LOADED:
            assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    # Late uploads on the 24th: the refetches after its midnight fill them in.
    late_day = api.day_bounds(datetime(2025, 9, 24).date(), 600)[0]
    enphase.withheld |= {late_day + 300 * n for n in range(100, 120)}
    await _run_wakes(hass, freezer, entries, late_day + 86_400 + 3600)  # 01:00 on the 25th: one refetch tried
    enphase.withheld.clear()  # the late uploads land; the next refetch (02:20) gets them
    await _run_wakes(hass, freezer, entries, start + 4 * 86_400)
    used = len(enphase.api_calls)
    # A restart: the count is kept (Home Assistant's Store).
    for entry in entries:
        await hass.config_entries.async_reload(entry.entry_id)
    await hass.async_block_till_done()
    assert entries[0].runtime_data.coordinator.keys.budget.used == spent + used
    await _run_wakes(hass, freezer, entries, end - 1)

    assert len(enphase.api_calls) > used  # it went on after the restart
    assert 0.85 * (1000 - spent) <= len(enphase.api_calls) <= 1000 - spent
    assert enphase.refused.count(429) == 0
    count = f"SELECT count(*) FROM readings_agg_5m WHERE interval_end > {late_day} AND interval_end <= {late_day + 86_400}"
    assert query_db(setup_liveone, count) == [(288 * systems,)]
    # Every call but the first ones and the midnight refetches is in daylight (sunrise .. sunset + 30 min).
    for when, _path, query in enphase.api_calls[systems:]:
        hour = ((when + 36_000) % 86_400) / 3600
        assert query.get("granularity") == "day" or 5.0 <= hour <= 18.5, (hour, query)


async def test_a_monthly_429_stops_calls_until_the_month_rolls_over_with_a_repair(
    hass: HomeAssistant, enphase: FakeEnphase, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to("2025-09-30T02:00:00+00:00")
    entry = enphase_entry(enphase, backfill_days=0)
    await _setup(hass, entry)
    enphase.month_used = {"2025-09": 10_000}  # spent elsewhere on the same key
    await _run(hass, freezer, 3 * 3600)
    issue_id = f"enphase_quota_{source._key_id(API_KEY)}"
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is not None
    assert enphase.refused.count(429) == 1
    assert hass.states.get(f"{PREFIX}_requests_left_this_month").state == "0"
    assert hass.states.get(f"{PREFIX}_solar_power").state != "unavailable"
    await _run(hass, freezer, 24 * 3600)  # October in UTC, then Brisbane's daylight
    assert enphase.refused.count(429) == 1
    assert ir.async_get(hass).async_get_issue(DOMAIN, issue_id) is None


async def test_a_422_for_a_day_not_yet_available_is_not_an_error(
    hass: HomeAssistant, enphase: FakeEnphase, freezer: FrozenDateTimeFactory
) -> None:
    entry = enphase_entry(enphase, backfill_days=1)
    with patch.object(
        api, "day_bounds", lambda day, offset: (int(time.time()) + 86_400, int(time.time()) + 2 * 86_400)
    ):
        await _setup(hass, entry)
        await _run(hass, freezer, 30, step=10)
    assert 422 in enphase.refused
    assert entry.state is ConfigEntryState.LOADED
    assert not entry.runtime_data.coordinator.keys.systems[SYSTEM_ID]["backfill"]


async def test_a_5xx_keeps_the_last_data_within_the_grace(
    hass: HomeAssistant, enphase: FakeEnphase, freezer: FrozenDateTimeFactory
) -> None:
    entry = enphase_entry(enphase, backfill_days=2)
    enphase.api_failures = 100
    await _setup(hass, entry)  # the first call fails: loaded anyway, no entities yet, no setup retries
    assert hass.states.get(f"{PREFIX}_solar_power") is None
    assert len(enphase.api_calls) == 1
    enphase.api_failures = 0
    await _run(hass, freezer, 14 * 60, step=60)
    assert len(enphase.api_calls) == 1  # 15 minutes after a failure
    await _run(hass, freezer, 2 * 60, step=60)
    assert hass.states.get(f"{PREFIX}_solar_power") is not None
    enphase.api_failures = 100
    calls = len(enphase.api_calls)
    await _run(hass, freezer, 3 * 3600, step=60)
    # An outage: a backfill day is pending, yet calls wait at least 15 minutes after each failure.
    assert len(enphase.api_calls) - calls <= 3 * 4 + 1
    assert hass.states.get(f"{PREFIX}_solar_power").state == "unavailable"
    enphase.api_failures = 0
    await _run(hass, freezer, 3600)
    assert hass.states.get(f"{PREFIX}_solar_power").state != "unavailable"


async def test_a_minute_429_waits_for_the_next_window_without_a_repair(
    hass: HomeAssistant, enphase: FakeEnphase, freezer: FrozenDateTimeFactory
) -> None:
    entry = enphase_entry(enphase, backfill_days=0)
    await _setup(hass, entry)
    coordinator = entry.runtime_data.coordinator
    enphase.minute_used = {int(time.time() // 60): 10}
    await coordinator.async_poll_now()  # a user's poll: made at once, refused for the minute
    assert enphase.refused == [429]
    assert coordinator.keys.budget.wait(time.time()) > 0
    assert not ir.async_get(hass).async_get_issue(DOMAIN, f"enphase_quota_{source._key_id(API_KEY)}")
    await coordinator.async_poll_now()  # the budget knows: nothing is sent in this minute
    assert enphase.refused == [429]
    freezer.tick(timedelta(minutes=1))
    await coordinator.async_poll_now()
    assert enphase.refused == [429]
    assert enphase.api_calls[-1][2] == {}


async def test_polar_daylight_falls_back_to_the_hours_around_local_noon(
    hass: HomeAssistant, enphase: FakeEnphase, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to("2025-12-21T00:00:00+00:00")
    entry = enphase_entry(enphase, backfill_days=0, latitude=89.9, longitude=0.0)
    await _setup(hass, entry)
    windows = entry.runtime_data.coordinator.daylight_windows(time.time())
    noon = datetime(2025, 12, 21, 2, tzinfo=UTC).timestamp()  # 12:00 at the system's UTC+10
    assert windows[0] == (noon - 6 * 3600, noon + 6 * 3600)


async def test_the_energy_dashboard_accepts_the_solar_sensor_and_the_liveone_statistic(
    recorder_mock: Recorder, hass: HomeAssistant, enphase: FakeEnphase, freezer: FrozenDateTimeFactory
) -> None:
    entry = enphase_entry(enphase)
    await _setup(hass, entry)
    await _run(hass, freezer, 3600)
    await hass.async_block_till_done(wait_background_tasks=True)
    result = await async_validate_energy(
        hass,
        {
            "energy_sources": [
                {
                    "type": "solar",
                    "stat_energy_from": f"{PREFIX}_solar_energy",
                    "config_entry_solar_forecast": None,
                },
                {
                    "type": "solar",
                    "stat_energy_from": f"{DOMAIN}:enphase_{SYSTEM_ID}_solar",
                    "config_entry_solar_forecast": None,
                },
            ],
            "device_consumption": [],
        },
    )
    assert result == {"energy_sources": [[], []], "device_consumption": []}


async def test_late_intervals_re_import_their_statistics_hours(
    recorder_mock: Recorder, hass: HomeAssistant, enphase: FakeEnphase, freezer: FrozenDateTimeFactory
) -> None:
    freezer.move_to("2025-09-05T12:00:00+00:00")  # 22:00 in Brisbane
    today_start = api.day_bounds(datetime(2025, 9, 5).date(), 600)[0]
    late = {today_start + 300 * n for n in range(200, 210)}  # intervals ending 16:40-17:25 local
    enphase.withheld |= late
    entry = enphase_entry(enphase, backfill_days=0)
    await _setup(hass, entry)
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)
    hour_20 = today_start + 20 * 3600  # the 20:00 local hour: its running sum includes the afternoon

    async def sum_at(start: int) -> float:
        found = await get_instance(hass).async_add_executor_job(
            statistics_during_period,
            hass,
            dt_util.utc_from_timestamp(start),
            dt_util.utc_from_timestamp(start + 3600),
            {f"{DOMAIN}:enphase_{SYSTEM_ID}_solar"},
            "hour",
            None,
            {"sum"},
        )
        return float(found[f"{DOMAIN}:enphase_{SYSTEM_ID}_solar"][0]["sum"])

    before = await sum_at(hour_20)
    enphase.withheld.clear()
    await _run(hass, freezer, 2.5 * 3600)  # the refetch after midnight
    await hass.async_block_till_done(wait_background_tasks=True)
    await async_wait_recording_done(hass)
    after = await sum_at(hour_20)
    assert round(after - before, 3) == round(sum(enphase.interval_for(e)["enwh"] for e in late) / 1000, 3)


async def test_diagnostics_hide_the_key_and_the_tokens(hass: HomeAssistant, enphase: FakeEnphase) -> None:
    entry = enphase_entry(enphase, backfill_days=0)
    await _setup(hass, entry)
    diagnostics = await async_get_config_entry_diagnostics(hass, entry)
    assert diagnostics["entry"]["data"]["api_key"] == "**REDACTED**"
    text = str(diagnostics)
    assert API_KEY not in text
    assert entry.data["token"]["access_token"] not in text
    assert entry.data["token"]["refresh_token"] not in text
