"""Kinds added the way a new kind is: one module (tests/sources/throwaway.py) and ``register``.

Each sets up through the real integration, updates, and stores what it produced through the one batch
path: a polling kind with a flow step and a sensor of its own, a push kind, and a derived kind.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
import logging

from freezegun.api import FrozenDateTimeFactory
from homeassistant.config_entries import ConfigEntryState
from homeassistant.const import STATE_UNAVAILABLE
from homeassistant.core import HomeAssistant
from homeassistant.data_entry_flow import FlowResultType
from homeassistant.helpers import device_registry as dr, entity_registry as er
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry, async_fire_time_changed

from custom_components.liveone.const import DOMAIN
from custom_components.liveone.coordinator import PushCoordinator
from custom_components.liveone.registry import get_source, register, registered
from custom_components.liveone.store import StoreError
from custom_components.liveone.vendors.model import Batch, RateLimited, Reading

from ..conftest import NOON_LOCAL, async_next_poll, demo_entry, query_db
from .throwaway import METER, MIRROR, PUSHED, MeterCoordinator

T0 = 1_755_396_000  # 2025-08-17 02:00 UTC, NOON_LOCAL


@pytest.fixture
def kinds() -> Iterator[None]:
    """Register the throw-away kinds for one test."""
    removers = [register(kind) for kind in (METER, PUSHED, MIRROR)]
    MeterCoordinator.clients.clear()
    yield
    for remove in reversed(removers):
        remove()


def _entry(vendor: str, site: str, **data: object) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"{vendor} {site}",
        unique_id=f"{vendor}_{site}",
        data={"vendor": vendor, "site_id": site, "timezone_offset_min": 600, **data},
    )


def test_registering_and_removing_a_kind_changes_the_registry_only(kinds: None) -> None:
    assert [kind.vendor for kind in registered()][-3:] == ["meter", "pushed", "mirror"]
    assert get_source("meter") is METER


@pytest.mark.usefixtures("kinds")
async def test_a_new_polling_kind_adds_sets_up_polls_and_stores(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_liveone: str
) -> None:
    freezer.move_to(NOON_LOCAL)
    result = await hass.config_entries.flow.async_init(DOMAIN, context={"source": "user"})
    assert result["type"] is FlowResultType.MENU
    assert result["menu_options"] == [
        "selectronic",
        "enphase",
        "demo",
        "meter",
    ]  # not "pushed" (no flow), not "mirror"
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"next_step_id": "meter"})
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "meter")
    result = await hass.config_entries.flow.async_configure(result["flow_id"], {"name": "Shed"})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    entry = result["result"]
    await hass.async_block_till_done()
    assert entry.state is ConfigEntryState.LOADED
    assert entry.unique_id == "meter_shed"

    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, "meter_shed")})
    assert device is not None
    assert device.manufacturer == "Test Meters"
    entities = er.async_entries_for_config_entry(er.async_get(hass), entry.entry_id)
    by_key = {e.unique_id.removeprefix("meter_shed_"): e.entity_id for e in entities}
    assert {"solar_power", "load_power", "grid_power", "net_export"} <= set(by_key)
    assert "battery_soc" not in by_key  # the meter has no battery
    assert hass.states.get(by_key["net_export"]).state == "501"

    await async_next_poll(hass, freezer)
    assert hass.states.get(by_key["net_export"]).state == "502"
    assert hass.states.get(by_key["solar_power"]).state == "1202"
    assert query_db(setup_liveone, "SELECT COUNT(*), MAX(solar_w) FROM readings") == [(2, 1202)]
    assert query_db(setup_liveone, "SELECT cause, rows_written, error FROM sessions ORDER BY id") == [
        ("POLL", 1, None),
        ("POLL", 1, None),
    ]
    [(last_response,)] = query_db(setup_liveone, "SELECT last_response FROM polling_status")
    assert '"pv": 1202' in str(last_response)


@pytest.mark.usefixtures("kinds")
async def test_polling_honours_retry_after_and_a_budgeted_interval(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_liveone: str
) -> None:
    freezer.move_to(NOON_LOCAL)
    entry = _entry("meter", "shed")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    coordinator = entry.runtime_data.coordinator
    assert isinstance(coordinator, MeterCoordinator)
    client = coordinator.client
    assert coordinator.update_interval == timedelta(minutes=1)

    client.fail_with = RateLimited("quota", retry_after=600)
    await async_next_poll(hass, freezer)
    assert client.requests == 2
    assert coordinator.update_interval == timedelta(minutes=10)
    client.fail_with = None
    await async_next_poll(hass, freezer, 5)
    assert client.requests == 2  # still waiting as the vendor asked
    await async_next_poll(hass, freezer, 5)
    assert client.requests == 3
    assert coordinator.update_interval == timedelta(minutes=1)

    # A kind may change the interval poll by poll (a budget).
    coordinator.next_interval = lambda: timedelta(minutes=15)  # type: ignore[method-assign]
    await async_next_poll(hass, freezer)
    assert client.requests == 4
    await async_next_poll(hass, freezer, 14)
    assert client.requests == 4
    await async_next_poll(hass, freezer)
    assert client.requests == 5


@pytest.mark.usefixtures("kinds")
async def test_a_push_kind_shows_nothing_until_pushed_then_goes_silent_and_comes_back(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_liveone: str, caplog: pytest.LogCaptureFixture
) -> None:
    freezer.move_to(NOON_LOCAL)
    entry = _entry("pushed", "roof")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    assert entry.state is ConfigEntryState.LOADED  # no data yet is not "not ready" for a push system
    coordinator = entry.runtime_data.coordinator
    assert isinstance(coordinator, PushCoordinator)
    registry = er.async_get(hass)
    assert er.async_entries_for_config_entry(registry, entry.entry_id) == []

    await coordinator.async_receive(
        Batch(readings=(Reading(inverter_time=T0, solar_w=900.4, battery_soc=55.0),))
    )
    await hass.async_block_till_done()
    solar = registry.async_get_entity_id("sensor", DOMAIN, "pushed_roof_solar_power")
    soc = registry.async_get_entity_id("sensor", DOMAIN, "pushed_roof_battery_soc")
    assert solar is not None
    assert soc is not None
    assert hass.states.get(solar).state == "900"
    assert query_db(setup_liveone, "SELECT cause, rows_written FROM sessions") == [("PUSH", 1)]

    # An older push is stored but does not replace what is shown.
    await coordinator.async_receive(Batch(readings=(Reading(inverter_time=T0 - 60, solar_w=100),)))
    assert hass.states.get(solar).state == "900"
    assert query_db(setup_liveone, "SELECT COUNT(*) FROM readings") == [(2,)]

    caplog.set_level(logging.INFO)
    freezer.tick(timedelta(minutes=5, seconds=1))
    async_fire_time_changed(hass)
    await hass.async_block_till_done()
    assert hass.states.get(solar).state == STATE_UNAVAILABLE
    assert caplog.text.count("has sent no data for") == 1

    await coordinator.async_receive(Batch(readings=(Reading(inverter_time=T0 + 360, solar_w=1000),)))
    await hass.async_block_till_done()
    assert hass.states.get(solar).state == "1000"
    assert caplog.text.count("is sending data again") == 1


@pytest.mark.usefixtures("kinds")
async def test_a_push_kind_keeps_what_the_store_could_not_write(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_liveone: str
) -> None:
    freezer.move_to(NOON_LOCAL)
    entry = _entry("pushed", "roof")
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    coordinator = entry.runtime_data.coordinator
    assert isinstance(coordinator, PushCoordinator)
    store = coordinator.store
    real = store.async_record_batch

    async def _locked(*args: object, **kwargs: object) -> object:
        raise StoreError("database is locked")

    store.async_record_batch = _locked  # type: ignore[method-assign,assignment]
    await coordinator.async_receive(Batch(readings=(Reading(inverter_time=T0, solar_w=1),)))
    assert query_db(setup_liveone, "SELECT COUNT(*) FROM readings") == [(0,)]
    store.async_record_batch = real  # type: ignore[method-assign]
    await coordinator.async_receive(Batch(readings=(Reading(inverter_time=T0 + 60, solar_w=2),)))
    assert query_db(setup_liveone, "SELECT inverter_time, solar_w FROM readings ORDER BY 1") == [
        (T0, 1),
        (T0 + 60, 2),
    ]


@pytest.mark.usefixtures("kinds")
async def test_a_derived_kind_follows_its_source_and_stores_its_own_rows(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_liveone: str
) -> None:
    freezer.move_to(NOON_LOCAL)
    source = demo_entry()
    source.add_to_hass(hass)
    assert await hass.config_entries.async_setup(source.entry_id)
    mirror = _entry("mirror", "demo_home", source=source.entry_id)
    mirror.add_to_hass(hass)
    assert await hass.config_entries.async_setup(mirror.entry_id)
    await hass.async_block_till_done()
    assert mirror.state is ConfigEntryState.LOADED

    await async_next_poll(hass, freezer)
    await hass.async_block_till_done()
    solar = er.async_get(hass).async_get_entity_id("sensor", DOMAIN, "mirror_demo_home_solar_power")
    assert solar is not None
    rows = query_db(
        setup_liveone,
        "SELECT s.vendor_type, r.inverter_time, r.solar_w FROM readings r JOIN systems s ON s.id = r.system_id "
        "WHERE r.inverter_time = (SELECT MAX(inverter_time) FROM readings) ORDER BY 1",
    )
    (_, t_demo, demo_solar), (_, t_mirror, mirror_solar) = rows
    assert t_demo == t_mirror
    assert mirror_solar == round(demo_solar / 2)
    assert hass.states.get(solar).state == str(mirror_solar)
    assert query_db(
        setup_liveone,
        "SELECT DISTINCT cause FROM sessions s JOIN systems y ON y.id = s.system_id "
        "WHERE y.vendor_type = 'mirror'",
    ) == [("DERIVED",)]


@pytest.mark.usefixtures("kinds")
async def test_options_reauth_and_reconfigure_go_to_the_entrys_kind(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_liveone: str
) -> None:
    freezer.move_to(NOON_LOCAL)
    meter, demo = _entry("meter", "shed"), demo_entry()
    for entry in (meter, demo):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    assert meter.supports_options
    assert not demo.supports_options
    result = await hass.config_entries.options.async_init(meter.entry_id)
    assert (result["type"], result["step_id"]) == (FlowResultType.FORM, "init")
    result = await hass.config_entries.options.async_configure(result["flow_id"], {"scale": 3})
    assert result["type"] is FlowResultType.CREATE_ENTRY
    assert meter.options == {"scale": 3}

    # Neither kind asks for credentials again, nor has anything to reconfigure.
    for entry in (meter, demo):
        result = await entry.start_reauth_flow(hass)
        assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "reauth_not_supported")
        result = await entry.start_reconfigure_flow(hass)
        assert (result["type"], result["reason"]) == (FlowResultType.ABORT, "reconfigure_not_supported")
