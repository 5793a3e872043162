"""Tests of the Select.Live client and the ``hfdata`` parser, against the fake Select.Live on 127.0.0.1."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
import json
import socket
from typing import Any

import aiohttp
from aiohttp import web
import pytest

from custom_components.liveone.vendors.model import (
    AuthError,
    ConnectError,
    InvalidResponse,
    RateLimited,
    Reading,
)
from custom_components.liveone.vendors.selectronic import (
    DEFAULT_BASE_URL,
    HfData,
    SelectLiveAccount,
    SelectLiveSystem,
    SystemDetails,
    parse_hfdata,
    parse_system_details,
    parse_system_list,
)
from tests.helpers.fakes.selectlive import (
    EMAIL,
    HFDATA_NAMES,
    PASSWORD,
    SYSTEM,
    FakeSelectLive,
    load_hfdata,
    load_html,
    make_selectlive_app,
    serve_selectlive,
)

# The five real bodies, as the ``readings`` rows they must become, worked out by hand from the JSON:
# W whole (half away from zero), SOC 1 dp, kWh 3 dp, solar = inverter + shunt summed before rounding.
EXPECTED: dict[str, Reading] = {
    "hfdata-1755437287": Reading(
        inverter_time=1755437287,
        solar_w=12,  # 0 + 11.535...
        solar_inverter_w=0,
        shunt_w=12,
        load_w=338,
        battery_w=400,
        grid_w=0,
        battery_soc=24.4,
        fault_code=0,
        fault_timestamp=None,
        generator_status=0,
        solar_kwh_total=927.486,
        load_kwh_total=828.555,
        battery_in_kwh_total=570.138,
        battery_out_kwh_total=576.967,
        grid_in_kwh_total=0.0,
        grid_out_kwh_total=0.0,
    ),
    "hfdata-1755506270": Reading(
        inverter_time=1755506270,
        solar_w=4,
        solar_inverter_w=0,
        shunt_w=4,
        load_w=346,
        battery_w=415,
        grid_w=0,
        battery_soc=40.8,
        fault_code=0,
        fault_timestamp=None,
        generator_status=0,
        solar_kwh_total=949.971,
        load_kwh_total=838.119,
        battery_in_kwh_total=586.011,
        battery_out_kwh_total=581.027,
        grid_in_kwh_total=0.0,
        grid_out_kwh_total=0.0,
    ),
    "hfdata-1755686310": Reading(
        inverter_time=1755686310,
        solar_w=19,
        solar_inverter_w=0,
        shunt_w=19,
        load_w=217,
        battery_w=269,
        grid_w=0,
        battery_soc=97.9,
        fault_code=0,
        fault_timestamp=None,
        generator_status=0,
        solar_kwh_total=1022.344,
        load_kwh_total=867.156,
        battery_in_kwh_total=638.706,
        battery_out_kwh_total=593.855,
        grid_in_kwh_total=0.0,
        grid_out_kwh_total=0.0,
    ),
    "hfdata-1755695427": Reading(
        inverter_time=1755695427,
        solar_w=15,
        solar_inverter_w=0,
        shunt_w=15,
        load_w=325,
        battery_w=385,
        grid_w=0,
        battery_soc=96.4,
        fault_code=0,
        fault_timestamp=None,
        generator_status=0,
        solar_kwh_total=1022.437,
        load_kwh_total=868.01,
        battery_in_kwh_total=638.706,
        battery_out_kwh_total=594.87,
        grid_in_kwh_total=0.0,
        grid_out_kwh_total=0.0,
    ),
    "hfdata-1755728304": Reading(
        inverter_time=1755728304,
        solar_w=1904,  # 1565.673828125 + 338.37890625 = 1904.052734375
        solar_inverter_w=1566,
        shunt_w=338,
        load_w=1084,
        battery_w=-777,  # charging
        grid_w=0,
        battery_soc=91.7,
        fault_code=0,
        fault_timestamp=None,
        generator_status=0,
        solar_kwh_total=1023.482,
        load_kwh_total=871.511,
        battery_in_kwh_total=639.075,
        battery_out_kwh_total=598.285,
        grid_in_kwh_total=0.0,
        grid_out_kwh_total=0.0,
    ),
}


# --------------------------------------------------------------------------------------------------
# parse_hfdata


@pytest.mark.parametrize("name", HFDATA_NAMES)
def test_real_bodies_parse_to_the_expected_rows(name: str) -> None:
    reading = parse_hfdata(load_hfdata(name))
    assert reading == EXPECTED[name]
    assert reading.normalized() == reading
    assert isinstance(reading.inverter_time, int)
    assert isinstance(reading.load_w, int)


def with_items(**changes: Any) -> dict[str, Any]:
    """A real body with items changed; a value of ``...`` removes the item."""
    body = load_hfdata()
    for key, value in changes.items():
        if value is ...:
            del body["items"][key]
        else:
            body["items"][key] = value
    return body


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([1, 2], "expected a JSON object, got list"),
        ({"device": {}, "now": 1}, "'items' is missing"),
        ({"items": [1]}, "'items' is a list, not an object"),
        (with_items(timestamp=...), r"'items.timestamp' is missing"),
        (with_items(timestamp=None), r"'items.timestamp' is missing"),
        (with_items(timestamp="1755437287"), r"'items.timestamp' is not a number"),
        (with_items(timestamp=1755437287.5), r"'items.timestamp' is not a whole number"),
        (with_items(load_w="337.6"), r"'items.load_w' is not a number: '337.6'"),
        (with_items(battery_soc=True), r"'items.battery_soc' is not a number: True"),
        (with_items(grid_w={"value": 1}), r"'items.grid_w' is not a number"),
        (with_items(solar_wh_total=float("nan")), r"'items.solar_wh_total' is not a number: nan"),
        (with_items(fault_code=2.5), r"'items.fault_code' is not a whole number"),
    ],
)
def test_malformed_bodies_name_what_is_wrong(body: Any, message: str) -> None:
    with pytest.raises(InvalidResponse, match=message):
        parse_hfdata(body)


def test_unknown_fields_are_ignored() -> None:
    body = with_items(pv2_w=123.4, new_firmware_flag="yes")
    body["extra_top_level"] = {"x": 1}
    assert parse_hfdata(body) == EXPECTED["hfdata-1755437287"]


def test_missing_fields_are_none_never_zero() -> None:
    reading = parse_hfdata({"items": {"timestamp": 1755437287.0, "shunt_w": 5.5, "grid_w": None}})
    assert reading == Reading(inverter_time=1755437287, shunt_w=6)
    assert reading.solar_w is None  # the inverter part is unknown: no fabricated solar total
    only_inverter = parse_hfdata(with_items(shunt_w=...))
    assert only_inverter.solar_w is None
    assert only_inverter.solar_inverter_w == 0
    assert only_inverter.shunt_w is None


def test_fault_time_and_codes_are_kept() -> None:
    reading = parse_hfdata(with_items(fault_code=17, fault_ts=1755437000, gen_status=2.0))
    assert (reading.fault_code, reading.fault_timestamp, reading.generator_status) == (17, 1755437000, 2)


# --------------------------------------------------------------------------------------------------
# HTML pages


def test_system_list_from_the_dashboard() -> None:
    assert parse_system_list(load_html("dashboard")) == [
        SelectLiveSystem(number="1586", name="Daylesford Home"),
        SelectLiveSystem(number="2047", name=None),
    ]
    assert parse_system_list("<html><body><a href='/logout'>Log out</a><a>x</a></body></html>") == []


def test_system_list_takes_a_name_from_a_later_link() -> None:
    html = "<a href='/dashboard/7'>7</a> <a href='/dashboard/7'>Shed</a> <a href='/dashboard/7'>Other</a>"
    assert parse_system_list(html) == [SelectLiveSystem(number="7", name="Shed")]


def test_system_details_edge_cases() -> None:
    html = """
        <table><tr><td>Solar Size: 6.6 kW<td>SP-PRO model</td><td>SP PRO Serial:</td>
        <tr><th>battery size :</th><td></td></tr>
        <tr><td>SP PRO Ratings:</td></tr></table><p>SP PRO Ratings:</p>
    """
    assert parse_system_details(html) == SystemDetails(solar_size="6.6 kW", model=None, serial=None)
    assert parse_system_details("<td>SP PRO Ratings:") == SystemDetails()
    assert parse_system_details("") == SystemDetails()


# --------------------------------------------------------------------------------------------------
# The client against the fake service (Home Assistant's test plugin blocks sockets: ``socket_enabled``
# lifts that, and every server here listens on 127.0.0.1 only)


@pytest.fixture
async def selectlive(socket_enabled: None) -> AsyncIterator[tuple[FakeSelectLive, str]]:
    """The fake Select.Live, served on 127.0.0.1, and its base URL."""
    state = FakeSelectLive()
    async with serve_selectlive(state) as base_url:
        yield state, base_url


@pytest.fixture
async def session(socket_enabled: None) -> AsyncIterator[aiohttp.ClientSession]:
    """Stands in for Home Assistant's shared session; its jar would keep 127.0.0.1 cookies (unsafe)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as client:
        yield client


def account_for(
    session: aiohttp.ClientSession,
    base_url: str,
    email: str = EMAIL,
    password: str = PASSWORD,
    timeout: float = 5,
) -> SelectLiveAccount:
    return SelectLiveAccount(session, email, password, base_url=base_url, timeout=timeout)


async def test_twenty_polls_make_one_login(
    selectlive: tuple[FakeSelectLive, str], session: aiohttp.ClientSession
) -> None:
    state, base_url = selectlive
    account = account_for(session, base_url)
    assert account.email == EMAIL
    assert account.login_count == 0  # lazy: nothing happens until the first request
    for _ in range(20):
        data = await account.async_get_hfdata(SYSTEM)
    assert isinstance(data, HfData)
    assert data.reading == EXPECTED["hfdata-1755437287"]
    assert json.loads(data.body) == load_hfdata()
    assert (state.logins, account.login_count, state.hfdata_requests) == (1, 1, 20)
    assert len(session.cookie_jar) == 0  # the shared session's jar never holds the session cookie


async def test_concurrent_first_requests_share_one_login(
    selectlive: tuple[FakeSelectLive, str], session: aiohttp.ClientSession
) -> None:
    state, base_url = selectlive
    account = account_for(session, base_url)
    await asyncio.gather(*(account.async_get_hfdata(SYSTEM) for _ in range(3)))
    assert state.logins == 1
    state.expire_sessions()
    await asyncio.gather(*(account.async_get_hfdata(SYSTEM) for _ in range(3)))
    assert state.logins == 2


@pytest.mark.parametrize("mode", ["401", "redirect"])
async def test_expired_session_makes_exactly_one_new_login(
    selectlive: tuple[FakeSelectLive, str], session: aiohttp.ClientSession, mode: Any
) -> None:
    state, base_url = selectlive
    account = account_for(session, base_url)
    await account.async_get_hfdata(SYSTEM)
    state.expire_sessions(mode)
    state.systems[SYSTEM] = load_hfdata(HFDATA_NAMES[4])
    data = await account.async_get_hfdata(SYSTEM)
    assert data.reading == EXPECTED["hfdata-1755728304"]
    assert state.logins == account.login_count == 2
    await account.async_get_hfdata(SYSTEM)
    assert state.logins == 2


@pytest.mark.parametrize("mode", ["page", "redirect"])
async def test_wrong_password_is_an_auth_error_without_retries(
    selectlive: tuple[FakeSelectLive, str], session: aiohttp.ClientSession, mode: Any
) -> None:
    state, base_url = selectlive
    state.bad_login_mode = mode
    account = account_for(session, base_url, password="wrong")
    with pytest.raises(AuthError, match="rejected the email or password"):
        await account.async_get_hfdata(SYSTEM)
    assert state.logins == 1
    assert state.hfdata_requests == 0
    with pytest.raises(AuthError):
        await account.async_login()
    assert state.logins == 2


async def test_a_login_that_does_not_help_is_an_auth_error(
    selectlive: tuple[FakeSelectLive, str], session: aiohttp.ClientSession
) -> None:
    state, base_url = selectlive
    account = account_for(session, base_url)
    state.refuse_sessions = True
    with pytest.raises(AuthError, match="refused the session just after a new login"):
        await account.async_get_hfdata(SYSTEM)
    assert state.logins == 2  # the lazy login, then one retry: never a loop


@pytest.mark.parametrize("status", [500, 502, 503, 504])
async def test_server_errors_are_transient_connect_errors(
    selectlive: tuple[FakeSelectLive, str], session: aiohttp.ClientSession, status: int
) -> None:
    state, base_url = selectlive
    account = account_for(session, base_url)
    await account.async_get_hfdata(SYSTEM)
    state.fail_next.append(status)
    with pytest.raises(ConnectError, match=f"HTTP {status}"):
        await account.async_get_hfdata(SYSTEM)
    assert (await account.async_get_hfdata(SYSTEM)).reading == EXPECTED["hfdata-1755437287"]
    assert state.logins == 1  # a server error never costs a login


async def test_a_login_refused_with_a_server_error_is_not_an_auth_error(
    selectlive: tuple[FakeSelectLive, str], session: aiohttp.ClientSession
) -> None:
    state, base_url = selectlive
    account = account_for(session, base_url)
    state.fail_next.append(503)
    with pytest.raises(ConnectError, match=r"/login: Select\.Live answered HTTP 503"):
        await account.async_get_hfdata(SYSTEM)
    await account.async_get_hfdata(SYSTEM)
    assert state.logins == 1  # the refused attempt never reached the login handler
    assert account.login_count == 2


async def test_a_hang_past_the_timeout_is_a_connect_error(
    selectlive: tuple[FakeSelectLive, str], session: aiohttp.ClientSession
) -> None:
    state, base_url = selectlive
    account = account_for(session, base_url, timeout=0.1)
    await account.async_get_hfdata(SYSTEM)
    state.fail_next.append("hang")
    with pytest.raises(ConnectError, match="did not answer in time"):
        await account.async_get_hfdata(SYSTEM)
    await account.async_get_hfdata(SYSTEM)
    assert state.logins == 1


async def test_an_unreachable_service_is_a_connect_error(session: aiohttp.ClientSession) -> None:
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    account = account_for(session, f"http://127.0.0.1:{port}")
    with pytest.raises(ConnectError, match=r"could not reach Select\.Live"):
        await account.async_list_systems()


async def test_too_many_requests_is_rate_limited(
    selectlive: tuple[FakeSelectLive, str], session: aiohttp.ClientSession
) -> None:
    state, base_url = selectlive
    account = account_for(session, base_url)
    await account.async_get_hfdata(SYSTEM)
    state.fail_next.append(429)
    with pytest.raises(RateLimited) as caught:
        await account.async_get_hfdata(SYSTEM)
    assert caught.value.retry_after == 120


async def test_html_or_truncated_json_is_an_invalid_response(
    selectlive: tuple[FakeSelectLive, str], session: aiohttp.ClientSession
) -> None:
    state, base_url = selectlive
    account = account_for(session, base_url)
    state.html_instead_of_json = True
    with pytest.raises(InvalidResponse, match=r"/dashboard/hfdata/1586: expected JSON, got an HTML page"):
        await account.async_get_hfdata(SYSTEM)
    state.html_instead_of_json = False
    state.truncate_json = True
    with pytest.raises(InvalidResponse, match=r"expected JSON, got unparsable text"):
        await account.async_get_hfdata(SYSTEM)
    state.truncate_json = False
    state.systems[SYSTEM] = {"items": {"load_w": 1}}
    with pytest.raises(InvalidResponse, match=r"'items.timestamp' is missing"):
        await account.async_get_hfdata(SYSTEM)
    assert state.logins == 1


async def test_unknown_system_is_an_invalid_response(
    selectlive: tuple[FakeSelectLive, str], session: aiohttp.ClientSession
) -> None:
    _, base_url = selectlive
    account = account_for(session, base_url)
    with pytest.raises(InvalidResponse, match=r"/dashboard/hfdata/9999: unexpected HTTP 404"):
        await account.async_get_hfdata("9999")
    with pytest.raises(InvalidResponse, match=r"/dashboard/9999: unexpected HTTP 404"):
        await account.async_system_details("9999")


async def test_systems_and_details(
    selectlive: tuple[FakeSelectLive, str], session: aiohttp.ClientSession
) -> None:
    state, base_url = selectlive
    account = account_for(session, base_url)
    assert await account.async_list_systems() == [
        SelectLiveSystem(number="1586", name="Daylesford Home"),
        SelectLiveSystem(number="2047"),
    ]
    assert await account.async_system_details(SYSTEM) == SystemDetails(
        model="SPMC482-AU",
        serial="221452",
        ratings="7.5kW, 48V",
        solar_size="9 kW",
        battery_size="14.3 kWh",
    )
    await account.async_get_hfdata(SYSTEM)
    assert state.logins == 1
    # The login comes first (lazily), then one request per call: no redirect round trips.
    assert [path for path, _ in state.requests] == [
        "/login",
        "/dashboard",
        "/dashboard/1586",
        "/dashboard/hfdata/1586",
    ]


async def test_two_accounts_keep_separate_sessions(
    selectlive: tuple[FakeSelectLive, str], session: aiohttp.ClientSession
) -> None:
    state, base_url = selectlive
    state.accounts["second@example.com"] = "other"
    first = account_for(session, base_url)
    second = account_for(session, base_url, email="second@example.com", password="other")
    for _ in range(3):
        await first.async_get_hfdata(SYSTEM)
        await second.async_get_hfdata(SYSTEM)
    hfdata_senders = [email for path, email in state.requests if path.startswith("/dashboard/hfdata")]
    assert hfdata_senders == [EMAIL, "second@example.com"] * 3
    assert (first.login_count, second.login_count, state.logins) == (1, 1, 2)
    assert len(session.cookie_jar) == 0
    state.expire_sessions()
    await first.async_get_hfdata(SYSTEM)
    await second.async_get_hfdata(SYSTEM)
    assert (first.login_count, second.login_count) == (2, 2)


async def test_default_base_url_and_aiohttp_server_fixture(socket_enabled: None, aiohttp_server: Any) -> None:
    assert DEFAULT_BASE_URL == "https://select.live"
    state = FakeSelectLive()
    server = await aiohttp_server(make_selectlive_app(state))
    async with aiohttp.ClientSession() as client:  # a default (safe) jar, like Home Assistant's
        account = SelectLiveAccount(client, EMAIL, PASSWORD, base_url=str(server.make_url("/")))
        data = await account.async_get_hfdata(SYSTEM)
        assert data.reading.inverter_time == 1755437287
        assert len(client.cookie_jar) == 0


# --------------------------------------------------------------------------------------------------
# Answers the fake does not give: a scripted login endpoint


@pytest.fixture
async def scripted(socket_enabled: None, aiohttp_server: Any) -> tuple[list[web.Response], str]:
    """A server that answers every request with the next scripted response (any path)."""
    answers: list[web.Response] = []

    async def answer(request: web.Request) -> web.Response:
        return answers.pop(0)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", answer)
    server = await aiohttp_server(app)
    return answers, str(server.make_url("/"))


def logged_in() -> web.Response:
    response = web.Response(status=302, headers={"Location": "/systems/overview"})
    response.set_cookie("sid", "abc")
    return response


@pytest.mark.parametrize(
    ("answer", "error", "message"),
    [
        (web.Response(status=302, headers={"Location": "/welcome"}), InvalidResponse, "unexpected redirect"),
        (web.Response(status=200, text="<html>hello</html>"), InvalidResponse, "without setting a session"),
        (web.Response(status=401), AuthError, r"refused the login \(HTTP 401\)"),
        (web.Response(status=403), AuthError, r"refused the login \(HTTP 403\)"),
        (web.Response(status=404), InvalidResponse, "login: unexpected HTTP 404"),
        (web.Response(status=429, headers={"Retry-After": "soon"}), RateLimited, "HTTP 429"),
    ],
)
async def test_unusual_login_answers(
    scripted: tuple[list[web.Response], str],
    session: aiohttp.ClientSession,
    answer: web.Response,
    error: type[Exception],
    message: str,
) -> None:
    answers, base_url = scripted
    answers.append(answer)
    with pytest.raises(error, match=message) as caught:
        await account_for(session, base_url).async_login()
    if isinstance(caught.value, RateLimited):
        assert caught.value.retry_after is None


async def test_a_200_login_with_a_cookie_succeeds(
    scripted: tuple[list[web.Response], str], session: aiohttp.ClientSession
) -> None:
    answers, base_url = scripted
    welcome = web.Response(status=200, text="<html>Welcome</html>")
    welcome.set_cookie("sid", "abc")
    answers += [welcome, web.Response(status=302, headers={"Location": "/elsewhere"})]
    account = account_for(session, base_url)
    with pytest.raises(InvalidResponse, match=r"/dashboard: unexpected HTTP 302"):
        await account.async_list_systems()
    assert account.login_count == 1


async def test_a_redirect_to_systems_is_a_successful_login(
    scripted: tuple[list[web.Response], str], session: aiohttp.ClientSession
) -> None:
    answers, base_url = scripted
    answers += [logged_in(), web.Response(status=200, text="<a href='/dashboard/5'>Five</a>")]
    account = account_for(session, base_url)
    assert await account.async_list_systems() == [SelectLiveSystem(number="5", name="Five")]
