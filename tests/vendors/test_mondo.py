"""The Mondo Power client: parsers on the captured bodies, and the login and API against the fake."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import replace
import json
import math
from typing import Any

import aiohttp
from freezegun.api import FrozenDateTimeFactory
import pytest

from custom_components.liveone.vendors import mondo
from custom_components.liveone.vendors.model import (
    AuthError,
    ConnectError,
    InvalidResponse,
    RateLimited,
    Reading,
    check_readings,
)
from custom_components.liveone.vendors.mondo import (
    MondoAccount,
    MondoPoint,
    SiteForbidden,
    balances,
    imbalance_w,
    parse_subcircuit,
    parse_time,
    parse_verification_token,
    point_readings,
    s256,
    solar_counter_kwh,
    widget_reading,
    with_totals,
)

from ..helpers.fakes.mondo import (
    EMAIL,
    FORBIDDEN_GROUP,
    GROUP,
    OTHER_GROUP,
    PASSWORD,
    FakeMondo,
    serve_mondo,
    subcircuit,
    widget,
)

T_WIDGET = 1789098600  # 2026-09-11T03:50:00Z


# ---- parsers


def test_real_widget_body_gives_soc_load_and_the_vendor_time() -> None:
    reading, from_vendor, signs, problems = widget_reading(widget(), now=0)
    assert from_vendor
    assert not problems
    assert reading.inverter_time == T_WIDGET
    assert reading.battery_soc == 74
    normal = reading.normalized()
    assert (normal.solar_w, normal.load_w, normal.battery_w, normal.grid_w) == (9580, 4350, -7520, 2300)
    assert signs == (-1, 1)  # the vendor's battery + is charging, grid + is import
    assert balances(normal)
    assert imbalance_w(normal) == 10  # 9580 - 7520 + 2300 - 4350


@pytest.mark.parametrize(
    ("solar", "battery", "grid", "demand", "expected"),
    [
        (9.58, 7.52, 2.3, 4.35, (-7520, 2300)),  # the real sample: charging while importing
        (0.0, -3.0, 0.5, 3.5, (3000, 500)),  # night: discharging (vendor negative), a little import
        (6.0, 1.0, -4.0, 1.0, (-1000, -4000)),  # noon: charging and exporting
        (0.0, 0.0, 2.0, 2.0, (0, 2000)),  # battery idle
        # A vendor that reported grid positive = export would be recognised by the balance.
        (6.0, 1.0, 4.0, 1.0, (-1000, -4000)),
    ],
)
def test_each_derived_reading_balances(
    solar: float, battery: float, grid: float, demand: float, expected: tuple[int, int]
) -> None:
    body = widget()
    usage = body["liveUsageData"]
    usage["solar"]["value"], usage["battery"]["value"], usage["grid"]["value"] = solar, battery, grid
    body["demand"] = demand
    reading = widget_reading(body, now=0)[0].normalized()
    assert (reading.battery_w, reading.grid_w) == expected
    assert balances(reading)
    assert reading.solar_w + reading.battery_w + reading.grid_w == pytest.approx(reading.load_w, abs=50)


def test_a_reading_that_balances_no_way_keeps_the_documented_signs() -> None:
    body = widget()
    body["demand"] = 40.0
    reading, _, signs, _ = widget_reading(body, now=0)
    assert signs == (-1, 1)
    assert not balances(reading.normalized())


def test_missing_or_bad_time_uses_the_wall_clock_and_says_so() -> None:
    for value in (None, "yesterday", "2026-09-11T03:50:00", 17):
        body = widget()
        body["lastRecordedUtc"] = value
        reading, from_vendor, _, problems = widget_reading(body, now=1_800_000_000.7)
        assert (reading.inverter_time, from_vendor) == (1_800_000_000, False)
        assert "wall clock" in problems[0]
    assert parse_time("2026-09-11T13:50:00+10:00") == T_WIDGET


@pytest.mark.parametrize(
    ("soc", "kept", "problem"),
    [
        (0, 0.0, None),
        ("74", None, "not a number"),
        (math.nan, None, "not a finite number"),
        (None, None, None),
    ],
)
def test_soc_zero_is_kept_and_strings_or_non_finite_are_refused(
    soc: Any, kept: float | None, problem: str | None
) -> None:
    body = widget()
    body["liveUsageData"]["battery"]["stateOfCharge"] = soc
    reading = widget_reading(body, now=0)[0]
    checked = check_readings([reading], received_time=T_WIDGET)
    assert checked.readings[0].battery_soc == kept
    if problem is None:
        assert not checked.problems
    else:
        assert problem in checked.problems[0]
        assert "battery_soc" in checked.problems[0]


def test_widget_values_that_are_not_numbers_are_dropped_with_a_problem() -> None:
    body = widget()
    body["liveUsageData"]["grid"]["value"] = "2.3"
    del body["liveUsageData"]["solar"]
    reading, _, _, problems = widget_reading(body, now=0)
    assert (reading.grid_w, reading.solar_w) == (None, None)
    assert problems == ("grid='2.3': not a number",)
    assert imbalance_w(reading) is None
    assert balances(reading)
    body["liveUsageData"] = []
    assert widget_reading(body, now=0)[0].battery_w is None
    with pytest.raises(InvalidResponse, match="liveusage"):
        widget_reading([], now=0)


def test_subcircuit_rows_become_points_with_subsystems() -> None:
    points = parse_subcircuit(subcircuit())
    assert [(p.name, p.subsystem, p.power_w, p.energy_wh) for p in points] == [
        ("Solar 1", "solar", 2450.0, 18234567.0),
        ("Battery Storage", "battery", -1200.0, 5123456.0),
        ("Meter (Mains Power)", "grid", -300.0, 9876543.0),
        ("Pool", "load", 850.0, 1234567.0),
        ("Hot water", "load", None, 2200011.0),
    ]
    body = {
        "rows": [{"monitoringPointName": "no id"}, "junk", {"monitoringPointId": "x", "loadType": "Weird"}]
    }
    (point,) = parse_subcircuit(body)
    assert (point.name, point.subsystem, point.load_type) == ("x", None, "Weird")
    assert MondoPoint(point_id="y", name="y", load_type=None, power_w=None, energy_wh=None).subsystem is None
    for bad in ([], {"rows": {}}):
        with pytest.raises(InvalidResponse, match="rows"):
            parse_subcircuit(bad)


def test_points_become_power_and_energy_values() -> None:
    points = parse_subcircuit(subcircuit())
    values = point_readings(points, T_WIDGET * 1000)
    assert len(values) == 10
    assert {(v.point_sub_id, v.metric_unit) for v in values} == {("power", "W"), ("energy", "Wh")}
    hot_water = [v for v in values if v.name == "Hot water"]
    assert [(v.value, v.error, v.data_quality) for v in hot_water] == [
        (None, "no value", "error"),
        (2200011.0, None, "good"),
    ]
    assert all(v.measurement_time_ms == T_WIDGET * 1000 for v in values)
    broken = replace(points[0], energy_wh=math.inf)
    assert point_readings((broken,), 0)[1].value is None
    assert solar_counter_kwh(points) == pytest.approx(18234.567)
    assert solar_counter_kwh((broken,)) is None
    assert solar_counter_kwh(points[1:]) is None


def test_verification_token_and_s256() -> None:
    assert (
        parse_verification_token(
            '<input type="text" name="x"><input name="__RequestVerificationToken" value="abc">'
        )
        == "abc"
    )
    with pytest.raises(InvalidResponse, match="__RequestVerificationToken"):
        parse_verification_token("<html></html>")
    # RFC 7636 appendix B.
    assert (
        s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk") == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )
    first, second = mondo.pkce_pair(), mondo.pkce_pair()
    assert first != second
    assert s256(first[0]) == first[1]


def test_totals_integrate_power_by_flow() -> None:
    start = with_totals(
        None, Reading(inverter_time=0, solar_w=1000, load_w=500, battery_w=-600, grid_w=100), None
    )
    assert start.load_kwh_total == 0
    assert start.grid_in_kwh_total == 0
    # 120 s later the battery crosses from charging to discharging and the grid from import to export.
    later = with_totals(
        start, Reading(inverter_time=120, solar_w=1000, load_w=700, battery_w=600, grid_w=-100), 12.5
    )
    assert later.solar_kwh_total == 12.5  # from the counters
    assert later.load_kwh_total == pytest.approx(600 * 120 / 3600 / 1000)
    assert later.battery_in_kwh_total == pytest.approx(300 * 60 / 3600 / 1000)
    assert later.battery_out_kwh_total == pytest.approx(300 * 60 / 3600 / 1000)
    assert later.grid_in_kwh_total == pytest.approx(50 * 60 / 3600 / 1000)
    assert later.grid_out_kwh_total == pytest.approx(50 * 60 / 3600 / 1000)
    # Solar without counters is integrated from the previous total.
    more = with_totals(later, replace(later, inverter_time=240, solar_kwh_total=None), None)
    assert more.solar_kwh_total == pytest.approx(12.5 + 1000 * 120 / 3600 / 1000)
    # Negative-only segments and missing powers.
    neg = with_totals(more, replace(more, inverter_time=360, battery_w=None, grid_w=-300), None)
    assert neg.battery_in_kwh_total == more.battery_in_kwh_total
    assert neg.grid_out_kwh_total == pytest.approx(more.grid_out_kwh_total + 200 * 120 / 3600 / 1000)
    # A gap, or a repeated time, adds nothing.
    for t in (360 + 601, 360):
        same = with_totals(neg, replace(neg, inverter_time=t), None)
        assert same.load_kwh_total == neg.load_kwh_total


# ---- the client against the fake


@pytest.fixture
async def fake(socket_enabled: None) -> AsyncIterator[tuple[FakeMondo, str, str]]:
    state = FakeMondo()
    async with serve_mondo(state) as (identity, api):
        yield state, identity, api


@pytest.fixture
async def session() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as client:
        yield client


def _account(
    session: aiohttp.ClientSession, fake: tuple[FakeMondo, str, str], password: str = PASSWORD, **kw: Any
) -> MondoAccount:
    _, identity, api = fake
    return MondoAccount(session, EMAIL, password, identity_url=identity, api_url=api, **kw)


async def test_login_lists_groups_and_reads_a_site(
    session: aiohttp.ClientSession, fake: tuple[FakeMondo, str, str]
) -> None:
    state = fake[0]
    state.organizations.append({"id": "org-2", "name": "No access"})
    state.organizations.append({"name": "no id"})
    account = _account(session, fake)
    assert account.email == EMAIL
    groups = await account.async_list_groups()
    assert [(g.id, g.name, g.organization) for g in groups] == [
        (GROUP, "Hillcrest", "Hillcrest household"),
        (OTHER_GROUP, "Hillcrest shed", "Hillcrest household"),
        (FORBIDDEN_GROUP, "Neighbour", "Hillcrest household"),
    ]
    live = await account.async_get_live(GROUP)
    assert live.reading.inverter_time == T_WIDGET
    assert live.time_from_vendor
    assert len(live.points) == 5
    assert len(live.point_readings()) == 10
    assert json.loads(live.body)["liveusage"]["demand"] == 4.35
    await account.async_get_live(OTHER_GROUP)
    assert (state.logins, account.logins, state.login_posts) == (1, 1, 1)
    with pytest.raises(SiteForbidden, match=FORBIDDEN_GROUP):
        await account.async_get_live(FORBIDDEN_GROUP)
    with pytest.raises(InvalidResponse, match="404"):
        await account.async_get_live("nope")


async def test_wrong_password_is_an_auth_error(
    session: aiohttp.ClientSession, fake: tuple[FakeMondo, str, str]
) -> None:
    account = _account(session, fake, "wrong")
    with pytest.raises(AuthError, match="email or password"):
        await account.async_login()
    assert fake[0].login_posts == 1
    assert fake[0].logins == 0


async def test_token_is_kept_then_refreshed_then_a_refused_refresh_logs_in_once(
    session: aiohttp.ClientSession, fake: tuple[FakeMondo, str, str], freezer: FrozenDateTimeFactory
) -> None:
    state = fake[0]
    freezer.move_to("2026-09-11T03:51:00Z")
    account = _account(session, fake)
    for _ in range(5):
        await account.async_get_live(GROUP)
        freezer.tick(120)
    assert (state.logins, state.refreshes) == (1, 0)
    freezer.tick(3600)  # past the expiry: renewed with the refresh token, no login
    await account.async_get_live(GROUP)
    assert (state.logins, state.refreshes, account.refreshes) == (1, 1, 1)
    freezer.tick(3600)
    state.refuse_refresh = True
    await account.async_get_live(GROUP)
    assert (state.logins, state.refreshes) == (2, 1)
    # A token the server dropped early (401) is renewed once and the request repeated.
    state.refuse_refresh = False
    state.access_tokens.clear()
    await account.async_get_live(GROUP)
    assert (state.logins, state.refreshes) == (2, 2)


async def test_a_token_refused_twice_is_an_auth_error(
    session: aiohttp.ClientSession, fake: tuple[FakeMondo, str, str]
) -> None:
    state = fake[0]
    account = _account(session, fake)
    await account.async_login()
    state.reject_tokens = True
    with pytest.raises(AuthError, match="token"):
        await account.async_get_live(GROUP)


async def test_reused_code_and_bad_verifier_are_refused(
    fake: tuple[FakeMondo, str, str], session: aiohttp.ClientSession
) -> None:
    state, identity, _ = fake
    account = _account(session, fake)
    await account.async_login()
    (code,) = state.codes
    for verifier in ("x" * 43, "whatever"):
        async with session.post(
            f"{identity}/connect/token",
            data={
                "grant_type": "authorization_code",
                "client_id": "platform.frontend",
                "code": code,
                "redirect_uri": mondo.REDIRECT_URI,
                "code_verifier": verifier,
            },
        ) as response:
            assert response.status == 400
            assert (await response.json()) == {"error": "invalid_grant"}
    # A fresh code with a wrong verifier is refused too (S256 checked).
    state.codes.clear()
    original = mondo.pkce_pair
    try:
        mondo.pkce_pair = lambda: ("a" * 50, original()[1])  # type: ignore[assignment]
        with pytest.raises(AuthError, match="code"):
            await account.async_login()
    finally:
        mondo.pkce_pair = original  # type: ignore[assignment]


@pytest.mark.parametrize(
    ("knob", "error", "match"),
    [("wrong_state", InvalidResponse, "state"), ("no_code", InvalidResponse, "no code")],
)
async def test_authorize_answers_that_are_not_ours(
    session: aiohttp.ClientSession,
    fake: tuple[FakeMondo, str, str],
    knob: str,
    error: type[Exception],
    match: str,
) -> None:
    setattr(fake[0], knob, True)
    with pytest.raises(error, match=match):
        await _account(session, fake).async_login()


async def test_a_login_that_does_not_hold_is_an_auth_error(
    session: aiohttp.ClientSession, fake: tuple[FakeMondo, str, str]
) -> None:
    fake[0].identity_sessions = _Forgetful()
    with pytest.raises(AuthError, match="authorize"):
        await _account(session, fake).async_login()


class _Forgetful(dict[str, str]):
    def __setitem__(self, key: str, value: str) -> None:  # the session is forgotten at once
        pass


@pytest.mark.parametrize(
    ("failure", "token_status", "error", "match"),
    [
        (503, None, ConnectError, "503"),
        (429, None, RateLimited, "429"),
        (404, None, InvalidResponse, "login page answered 404"),
        ("hang", None, ConnectError, "could not be reached"),
        (None, 500, ConnectError, "500"),
        (None, 418, InvalidResponse, "token endpoint answered 418"),
    ],
)
async def test_login_failures(
    session: aiohttp.ClientSession,
    fake: tuple[FakeMondo, str, str],
    failure: int | str | None,
    token_status: int | None,
    error: type[Exception],
    match: str,
) -> None:
    state = fake[0]
    if failure is not None:
        state.fail_next.append(failure)
    state.token_status = token_status
    with pytest.raises(error, match=match):
        await _account(session, fake, timeout=0.5).async_login()
    state.release()


async def test_rate_limit_carries_retry_after(
    session: aiohttp.ClientSession, fake: tuple[FakeMondo, str, str]
) -> None:
    account = _account(session, fake)
    await account.async_login()
    fake[0].fail_next.append(429)
    with pytest.raises(RateLimited) as caught:
        await account.async_get_live(GROUP)
    assert caught.value.retry_after == 300


@pytest.mark.parametrize(
    ("body", "match"),
    [("not json", "not JSON"), ("{}", "access_token"), ('{"access_token": "a"}', "expires_in")],
)
async def test_bad_token_answers(
    session: aiohttp.ClientSession, fake: tuple[FakeMondo, str, str], body: str, match: str
) -> None:
    account = _account(session, fake)

    async def answer(method: str, url: str, **kwargs: Any) -> tuple[int, dict[str, str], str]:
        return 200, {}, body

    account._request = answer  # type: ignore[method-assign]
    with pytest.raises(InvalidResponse, match=match):
        await account._async_grant({}, login=False)


async def test_bad_api_bodies(session: aiohttp.ClientSession, fake: tuple[FakeMondo, str, str]) -> None:
    state = fake[0]
    account = _account(session, fake)
    state.organizations = {"not": "a list"}  # type: ignore[assignment]
    with pytest.raises(InvalidResponse, match="organizations"):
        await account.async_list_groups()
    state.organizations = [{"id": "org-1", "name": "x"}]
    state.groups["org-1"] = {"no": "list"}  # type: ignore[assignment]
    with pytest.raises(InvalidResponse, match="monitoringpointgroups"):
        await account.async_list_groups()
    state.subcircuits[GROUP] = {"rows": "nope"}
    with pytest.raises(InvalidResponse, match="rows"):
        await account.async_get_live(GROUP)
    state.fail_next.append(418)
    with pytest.raises(InvalidResponse, match="418"):
        await account.async_get_live(GROUP)


async def test_a_token_renewed_meanwhile_is_not_dropped(
    session: aiohttp.ClientSession, fake: tuple[FakeMondo, str, str]
) -> None:
    account = _account(session, fake)
    token = await account.async_access_token()
    account._drop_token("an older token")
    assert await account.async_access_token() == token
    assert fake[0].logins == 1


async def test_two_groups_asking_at_once_share_one_login(
    session: aiohttp.ClientSession, fake: tuple[FakeMondo, str, str]
) -> None:
    account = _account(session, fake)
    first, second = await asyncio.gather(account.async_get_live(GROUP), account.async_get_live(OTHER_GROUP))
    assert first.reading.inverter_time == second.reading.inverter_time == T_WIDGET
    assert (fake[0].logins, fake[0].login_posts) == (1, 1)
