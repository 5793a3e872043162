"""Who may see and change which system, on every door: WebSocket, HTTP and service actions.

Five callers: a Home Assistant administrator, the system's owner, a user the owner made admin of the
system, a viewer and an unrelated non-admin user; plus calls without a user (automations). Each test
asserts both what is allowed and what is refused, and that a refused system looks like an unknown one.
"""

from __future__ import annotations

from dataclasses import dataclass
from http import HTTPStatus
from pathlib import Path
from typing import Any
from unittest.mock import patch

from freezegun.api import FrozenDateTimeFactory
from homeassistant.auth.const import GROUP_ID_ADMIN, GROUP_ID_USER
from homeassistant.core import Context, HomeAssistant
from homeassistant.exceptions import ServiceValidationError
from homeassistant.helpers import device_registry as dr
import pytest
from pytest_homeassistant_custom_component.common import CLIENT_ID, MockConfigEntry, MockUser
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator, WebSocketGenerator

from custom_components.liveone import services as liveone_services
from custom_components.liveone.const import CONF_OWNER, DOMAIN

from .conftest import NOON_LOCAL, demo_entry, query_db


@dataclass
class Person:
    """A Home Assistant user and an access token of theirs."""

    user: MockUser
    token: str

    @property
    def context(self) -> Context:
        return Context(user_id=self.user.id)


async def _person(hass: HomeAssistant, name: str, *, admin: bool) -> Person:
    group = await hass.auth.async_get_group(GROUP_ID_ADMIN if admin else GROUP_ID_USER)
    assert group is not None
    user = MockUser(name=name, groups=[group]).add_to_hass(hass)
    assert user.is_admin is admin
    refresh = await hass.auth.async_create_refresh_token(user, CLIENT_ID)
    return Person(user=user, token=hass.auth.async_create_access_token(refresh))


@dataclass
class World:
    """Two systems: "Demo Home" (owned, shared) and "Beach House" (no owner, nobody shared)."""

    home: MockConfigEntry
    beach: MockConfigEntry
    home_id: int
    beach_id: int
    admin: Person
    owner: Person
    manager: Person
    viewer: Person
    stranger: Person


async def _call(
    hass: HomeAssistant, service: str, data: dict[str, Any], who: Person | None, *, response: bool = False
) -> Any:
    return await hass.services.async_call(
        DOMAIN,
        service,
        data,
        blocking=True,
        context=Context() if who is None else who.context,
        return_response=response,
    )


@pytest.fixture
async def world(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_liveone: str, tmp_path: Path
) -> World:
    freezer.move_to(NOON_LOCAL)
    hass.config.config_dir = str(tmp_path)  # where exports go
    admin = await _person(hass, "Ada Admin", admin=True)
    owner = await _person(hass, "Olive Owner", admin=False)
    manager = await _person(hass, "Max Manager", admin=False)
    viewer = await _person(hass, "Vic Viewer", admin=False)
    stranger = await _person(hass, "Sam Stranger", admin=False)
    home = demo_entry(backfill_days=1, **{CONF_OWNER: owner.user.id})
    beach = MockConfigEntry(
        domain=DOMAIN,
        title="Beach House",
        unique_id="demo_beach_house",
        data={**home.data, "site_id": "beach_house", CONF_OWNER: None, "backfill_days": 0},
    )
    for entry in (home, beach):
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    ids = dict(query_db(setup_liveone, "SELECT vendor_site_id, id FROM systems"))
    # The owner shares the home: one system admin, one viewer.
    await _call(
        hass, "grant_access", {"system": home.entry_id, "user": manager.user.id, "role": "admin"}, owner
    )
    await _call(hass, "grant_access", {"system": home.entry_id, "user": "vic viewer"}, owner)
    return World(
        home=home,
        beach=beach,
        home_id=int(ids["demo_home"]),  # type: ignore[call-overload]
        beach_id=int(ids["beach_house"]),  # type: ignore[call-overload]
        admin=admin,
        owner=owner,
        manager=manager,
        viewer=viewer,
        stranger=stranger,
    )


def _rows(db_url: str, system_id: int) -> list[tuple[object, ...]]:
    return query_db(
        db_url, f"SELECT clerk_user_id, role FROM user_systems WHERE system_id = {system_id} ORDER BY role"
    )


# ---- who holds which row ------------------------------------------------------------------------------------


async def test_rows_after_setup_and_grants(world: World, setup_liveone: str) -> None:
    assert sorted(_rows(setup_liveone, world.home_id)) == sorted(
        [(world.owner.user.id, "owner"), (world.manager.user.id, "admin"), (world.viewer.user.id, "viewer")]
    )
    assert _rows(setup_liveone, world.beach_id) == []
    assert query_db(setup_liveone, f"SELECT owner_clerk_user_id FROM systems WHERE id = {world.home_id}") == [
        (world.owner.user.id,)
    ]


async def test_owner_row_is_not_rewritten_on_restart(
    hass: HomeAssistant, world: World, setup_liveone: str
) -> None:
    """An owner revoked by an administrator stays revoked when Home Assistant restarts."""
    await _call(
        hass, "revoke_access", {"system": world.home.entry_id, "user": world.owner.user.id}, world.admin
    )
    assert await hass.config_entries.async_reload(world.home.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert (world.owner.user.id, "owner") not in _rows(setup_liveone, world.home_id)
    # The recorded owner column was cleared with it (no other owner remains).
    assert query_db(setup_liveone, f"SELECT owner_clerk_user_id FROM systems WHERE id = {world.home_id}") == [
        (None,)
    ]


async def test_removing_the_entry_removes_its_rows(
    hass: HomeAssistant, world: World, setup_liveone: str
) -> None:
    assert await hass.config_entries.async_remove(world.home.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    assert _rows(setup_liveone, world.home_id) == []
    assert query_db(setup_liveone, f"SELECT status FROM systems WHERE id = {world.home_id}") == [("removed",)]


# ---- WebSocket ----------------------------------------------------------------------------------------------


async def _ws(
    hass: HomeAssistant, ws: WebSocketGenerator, who: Person, message: dict[str, Any]
) -> dict[str, Any]:
    client = await ws(hass, who.token)
    await client.send_json_auto_id(message)
    answer: dict[str, Any] = await client.receive_json()
    await client.close()
    return answer


async def test_ws_systems_per_caller(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, world: World
) -> None:
    seen = {}
    for who in (world.admin, world.owner, world.manager, world.viewer, world.stranger):
        answer = await _ws(hass, hass_ws_client, who, {"type": "liveone/systems"})
        assert answer["success"], answer
        seen[who.user.name] = [(s["name"], s["role"]) for s in answer["result"]["systems"]]
    assert seen == {
        "Ada Admin": [("Demo Home", "admin"), ("Beach House", "admin")],
        "Olive Owner": [("Demo Home", "owner")],
        "Max Manager": [("Demo Home", "admin")],
        "Vic Viewer": [("Demo Home", "viewer")],
        "Sam Stranger": [],
    }
    answer = await _ws(hass, hass_ws_client, world.viewer, {"type": "liveone/systems"})
    (home,) = answer["result"]["systems"]
    device = dr.async_get(hass).async_get_device(identifiers={(DOMAIN, "demo_demo_home")})
    assert device is not None
    # One day of backfill, up to the first poll at local noon.
    assert home == {
        "system": world.home_id,
        "vendor": "demo",
        "site_id": "demo_home",
        "name": "Demo Home",
        "entry_id": world.home.entry_id,
        "device_id": device.id,
        "role": "viewer",
        "status": "active",
        "timezone_offset_min": 600,
        "first_data": "2025-08-16T12:01:00+10:00",
        "last_data": "2025-08-17T12:00:00+10:00",
    }


async def test_ws_history_per_caller(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, world: World
) -> None:
    request = {"type": "liveone/history", "system": world.home_id, "interval": "30m", "last": "24h"}
    for who in (world.admin, world.owner, world.manager, world.viewer):
        answer = await _ws(hass, hass_ws_client, who, request)
        assert answer["success"], (who.user.name, answer)
        series = {s["id"]: s for s in answer["result"]["data"]}
        solar = series["liveone.demo.demo_home.solar.power.avg"]["history"]
        assert len(solar["data"]) == 48
        assert solar["last"] == "2025-08-17T12:00:00+10:00"
    refused = await _ws(hass, hass_ws_client, world.stranger, request)
    unknown = await _ws(hass, hass_ws_client, world.stranger, {**request, "system": 999})
    assert refused["error"] == {"code": "not_found", "message": f"Unknown system {world.home_id}"}
    assert unknown["error"] == {"code": "not_found", "message": "Unknown system 999"}
    # The Beach House is nobody's: only the administrator sees it.
    beach = {**request, "system": world.beach_id}
    assert (await _ws(hass, hass_ws_client, world.admin, beach))["success"]
    assert (await _ws(hass, hass_ws_client, world.owner, beach))["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("extra", "code", "message"),
    [
        ({"interval": "1h", "last": "1d"}, "invalid_format", "value must be one of"),
        ({"interval": "5m", "last": "8d"}, "invalid_format", "too long for interval 5m: at most 7.5 days"),
        ({"interval": "30m", "last": "soon"}, "invalid_format", "cannot read last='soon'"),
        (
            {"interval": "1d", "start": "2025-08-10", "end": "2025-08-01"},
            "invalid_format",
            "the range is reversed",
        ),
        ({"interval": "1d", "start": "yesterday"}, "invalid_format", "cannot read the time 'yesterday'"),
        ({"interval": "1d", "start": "2025-08-01", "last": "2d"}, "invalid_format", "exclusion"),
        ({"interval": "1d"}, "invalid_format", "give start (and optionally end) or last"),
        ({"interval": "1d", "last": "2d", "end": "2025-08-01"}, "invalid_format", "not both"),
    ],
)
async def test_ws_history_errors(
    hass: HomeAssistant,
    hass_ws_client: WebSocketGenerator,
    world: World,
    extra: dict[str, Any],
    code: str,
    message: str,
) -> None:
    answer = await _ws(
        hass, hass_ws_client, world.viewer, {"type": "liveone/history", "system": world.home_id, **extra}
    )
    assert not answer["success"]
    assert answer["error"]["code"] == code
    assert message in answer["error"]["message"]


async def test_ws_history_values_from_raw_readings(
    hass: HomeAssistant, hass_ws_client: WebSocketGenerator, world: World, setup_liveone: str
) -> None:
    """The 5-minute slot ending 11:30 local averages the raw readings of 11:25:xx < t <= 11:30."""
    answer = await _ws(
        hass,
        hass_ws_client,
        world.viewer,
        {
            "type": "liveone/history",
            "system": world.home_id,
            "interval": "5m",
            "start": "2025-08-17T11:00:00",
            "end": "2025-08-17T12:00:00",
        },
    )
    series = {s["id"].removeprefix("liveone.demo.demo_home."): s["history"] for s in answer["result"]["data"]}
    assert series["solar.power.avg"]["start"] == "2025-08-17T11:05:00+10:00"
    assert len(series["solar.power.avg"]["data"]) == 12
    end = 1755394200  # 2025-08-17T11:30:00+10:00
    raw = [
        value
        for (value,) in query_db(
            setup_liveone,
            f"SELECT solar_w FROM readings WHERE system_id = {world.home_id}"
            f" AND inverter_time > {end - 300} AND inverter_time <= {end}",
        )
    ]
    assert len(raw) == 5
    expected = sum(raw) / 5  # type: ignore[arg-type]
    assert series["solar.power.avg"]["data"][5] == int(expected + 0.5)
    assert series["battery.soc"]["data"][5] is not None


# ---- HTTP ---------------------------------------------------------------------------------------------------


async def test_http_history_per_caller(
    hass: HomeAssistant, hass_client: ClientSessionGenerator, world: World
) -> None:
    params = {"system": str(world.home_id), "interval": "1d", "last": "7d"}
    for who in (world.admin, world.owner, world.manager, world.viewer):
        client = await hass_client(who.token)
        response = await client.get("/api/liveone/history", params=params)
        assert response.status == HTTPStatus.OK, who.user.name
        body = await response.json()
        daily = next(s for s in body["data"] if s["id"] == "liveone.demo.demo_home.solar.energy")["history"]
        assert (daily["start"], daily["last"], len(daily["data"])) == ("2025-08-11", "2025-08-17", 7)
        assert daily["data"][:5] == [None] * 5  # before the backfill
        assert daily["data"][5] is not None  # the backfilled 16th, computed at setup
    client = await hass_client(world.stranger.token)
    refused = await client.get("/api/liveone/history", params=params)
    unknown = await client.get("/api/liveone/history", params={**params, "system": "999"})
    assert refused.status == unknown.status == HTTPStatus.BAD_REQUEST
    assert await refused.json() == {"message": f"unknown system {world.home_id}"}
    assert await unknown.json() == {"message": "unknown system 999"}


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({"interval": "5m", "last": "1d"}, "give the system parameter"),
        ({"system": "home", "interval": "5m", "last": "1d"}, "unknown system home"),
        ({"system": "{id}", "interval": "2h", "last": "1d"}, "unknown interval '2h'"),
        ({"system": "{id}", "interval": "5m", "last": "9d"}, "too long"),
        (
            {"system": "{id}", "interval": "5m", "start": "2025-08-17T12:00", "end": "2025-08-17T11:00"},
            "reversed",
        ),
        ({"system": "{id}", "interval": "5m", "last": "1d", "colour": "red"}, "unknown parameter(s): colour"),
    ],
)
async def test_http_history_errors(
    hass: HomeAssistant,
    hass_client: ClientSessionGenerator,
    world: World,
    params: dict[str, str],
    message: str,
) -> None:
    client = await hass_client(world.viewer.token)
    query = {key: value.replace("{id}", str(world.home_id)) for key, value in params.items()}
    response = await client.get("/api/liveone/history", params=query)
    assert response.status == HTTPStatus.BAD_REQUEST
    assert message in (await response.json())["message"]


async def test_http_history_needs_auth(
    hass: HomeAssistant, hass_client_no_auth: ClientSessionGenerator, world: World
) -> None:
    client = await hass_client_no_auth()
    response = await client.get(
        "/api/liveone/history", params={"system": str(world.home_id), "interval": "1d", "last": "7d"}
    )
    assert response.status == HTTPStatus.UNAUTHORIZED


# ---- service actions ----------------------------------------------------------------------------------------


async def test_services_refused_to_a_stranger(hass: HomeAssistant, world: World) -> None:
    """A stranger is told the system does not exist, on every action, exactly as for a made-up one."""
    for target in (world.home.entry_id, "no_such_entry"):
        for service, extra in (
            ("grant_access", {"user": world.stranger.user.id}),
            ("revoke_access", {"user": world.viewer.user.id}),
            ("poll_now", {}),
            ("rebuild_aggregates", {"from_day": "2025-08-16", "to_day": "2025-08-16"}),
            ("export_history", {"interval": "1d", "last": "2d"}),
        ):
            with pytest.raises(ServiceValidationError) as caught:
                await _call(
                    hass,
                    service,
                    {"system": target, **extra},
                    world.stranger,
                    response=service.startswith(("rebuild", "export")),
                )
            assert caught.value.translation_key == "system_not_found", service
            assert caught.value.translation_placeholders == {"system": target}


async def test_viewer_may_only_export(hass: HomeAssistant, world: World, setup_liveone: str) -> None:
    for service, extra in (
        ("grant_access", {"user": world.stranger.user.id}),
        ("revoke_access", {"user": world.manager.user.id}),
        ("poll_now", {}),
        ("rebuild_aggregates", {"from_day": "2025-08-16", "to_day": "2025-08-16"}),
    ):
        with pytest.raises(ServiceValidationError) as caught:
            await _call(
                hass,
                service,
                {"system": world.home.entry_id, **extra},
                world.viewer,
                response=service.startswith("rebuild"),
            )
        assert caught.value.translation_key == "not_permitted", service
    result = await _call(
        hass,
        "export_history",
        {"system": world.home.entry_id, "interval": "1d", "last": "2d"},
        world.viewer,
        response=True,
    )
    assert result["rows"] == 2
    # Nothing changed: the rows are those the fixture made.
    assert len(_rows(setup_liveone, world.home_id)) == 3


async def test_system_admin_manages_but_not_owners(
    hass: HomeAssistant, world: World, setup_liveone: str
) -> None:
    home = world.home.entry_id
    await _call(hass, "grant_access", {"system": home, "user": world.stranger.user.id}, world.manager)
    await _call(hass, "revoke_access", {"system": home, "user": world.stranger.user.id}, world.manager)
    for service, extra, key in (
        ("grant_access", {"user": world.stranger.user.id, "role": "owner"}, "owner_required"),
        ("grant_access", {"user": world.owner.user.id, "role": "viewer"}, "owner_required"),
        ("revoke_access", {"user": world.owner.user.id}, "owner_required"),
        ("revoke_access", {"user": world.stranger.user.id}, "no_access_to_revoke"),
        ("grant_access", {"user": "nobody at all"}, "user_not_found"),
    ):
        with pytest.raises(ServiceValidationError) as caught:
            await _call(hass, service, {"system": home, **extra}, world.manager)
        assert caught.value.translation_key == key, (service, extra)
    assert sorted(_rows(setup_liveone, world.home_id)) == sorted(
        [(world.owner.user.id, "owner"), (world.manager.user.id, "admin"), (world.viewer.user.id, "viewer")]
    )


@pytest.mark.parametrize("who", ["owner", "admin", None])
async def test_owners_admins_and_automations_manage_everything(
    hass: HomeAssistant, world: World, setup_liveone: str, who: str | None
) -> None:
    caller = None if who is None else getattr(world, who)
    home = world.home.entry_id
    await _call(
        hass, "grant_access", {"system": home, "user": world.stranger.user.id, "role": "owner"}, caller
    )
    assert (world.stranger.user.id, "owner") in _rows(setup_liveone, world.home_id)
    await _call(hass, "revoke_access", {"system": home, "user": world.stranger.user.id}, caller)
    assert world.stranger.user.id not in {user for user, _ in _rows(setup_liveone, world.home_id)}
    before = query_db(setup_liveone, f"SELECT count(*) FROM readings WHERE system_id = {world.home_id}")[0][0]
    await _call(hass, "poll_now", {"system": home}, caller)
    # The demo has no new minute yet at a frozen clock: the poll succeeds and stores nothing new.
    after = query_db(setup_liveone, f"SELECT count(*) FROM readings WHERE system_id = {world.home_id}")[0][0]
    assert after == before
    result = await _call(
        hass,
        "rebuild_aggregates",
        {"system": home, "from_day": "2025-08-16", "to_day": "2025-08-17"},
        caller,
        response=True,
    )
    # 12:05 on the 16th to noon on the 17th; the 17th is not over, so only the 16th has a daily row.
    assert result == {"intervals": 144 + 144, "days": 1}
    # Only administrators (and automations) reach a system nobody shared.
    if who == "owner":
        with pytest.raises(ServiceValidationError):
            await _call(hass, "poll_now", {"system": world.beach.entry_id}, caller)
    else:
        await _call(hass, "poll_now", {"system": world.beach.entry_id}, caller)


@pytest.mark.parametrize(("demoted_to", "refusal"), [(None, "system_not_found"), ("viewer", "not_permitted")])
async def test_a_manager_demoted_during_the_action_is_refused(
    hass: HomeAssistant, world: World, setup_liveone: str, demoted_to: str | None, refusal: str
) -> None:
    """The owner changes the manager's row while the manager's grant or revoke is under way.

    The action's first check has passed; the store's check-and-change, one transaction, refuses it.
    """
    find_user = liveone_services._target_user

    armed: list[bool] = []

    async def demote_then_find(hass_: HomeAssistant, text: str) -> Any:
        data = {"system": world.home.entry_id, "user": world.manager.user.id}
        if not armed:  # the owner's own call below finds its user plainly
            return await find_user(hass_, text)
        armed.clear()
        if demoted_to is None:
            await _call(hass, "revoke_access", data, world.owner)
        else:
            await _call(hass, "grant_access", {**data, "role": demoted_to}, world.owner)
        return await find_user(hass_, text)

    stranger = {"system": world.home.entry_id, "user": world.stranger.user.id}
    viewer = {"system": world.home.entry_id, "user": world.viewer.user.id}
    for service, data in (("grant_access", stranger), ("revoke_access", viewer)):
        # The manager is an admin of the home when the action starts.
        await _call(
            hass,
            "grant_access",
            {"system": world.home.entry_id, "user": world.manager.user.id, "role": "admin"},
            world.owner,
        )
        armed.append(True)
        with (
            patch.object(liveone_services, "_target_user", demote_then_find),
            pytest.raises(ServiceValidationError) as refused,
        ):
            await _call(hass, service, data, world.manager)
        assert not armed  # the demotion happened between the action's check and its change
        assert refused.value.translation_key == refusal
    rows = _rows(setup_liveone, world.home_id)
    assert (world.stranger.user.id, "viewer") not in rows
    assert (world.viewer.user.id, "viewer") in rows
