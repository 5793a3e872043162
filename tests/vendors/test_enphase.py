"""The Enphase client against a fake Enphase on 127.0.0.1, its parsers on the real day, and the budget."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
import time
from typing import Any

import aiohttp
from freezegun import freeze_time
import pytest

from custom_components.liveone.vendors import enphase as api
from custom_components.liveone.vendors.model import AuthError, ConnectError, Interval, InvalidResponse

from ..helpers.fakes.enphase import API_KEY, SYSTEM_ID, FakeEnphase, load_day, serve_enphase, system_body

DAY_START = 1756908000  # 2025-09-04 00:00 at UTC+10


def test_the_real_day_parses_to_288_intervals_of_11_588_kwh() -> None:
    production = api.parse_production(load_day())
    assert len(production.intervals) == 288
    assert production.total_devices == 50
    assert sum(i.enwh for i in production.intervals) == 11_588
    assert production.intervals[0].end_at == DAY_START + 300
    assert production.newest is not None
    assert production.newest.end_at == DAY_START + 86_400
    noonish = next(i for i in production.intervals if i.end_at == 1756938300)
    assert noonish.as_interval() == Interval(
        interval_end=1756938300,
        solar_w_avg=480,
        solar_w_min=480,
        solar_w_max=480,
        solar_wh=40,
        sample_count=1,
    )
    assert noonish.devices_reporting == 49


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ([], "no intervals list"),
        ({"intervals": None}, "no intervals list"),
        ({"intervals": [1]}, "not an object"),
        ({"intervals": [{"end_at": 301, "powr": 1, "enwh": 1}]}, "5-minute boundary"),
        ({"intervals": [{"end_at": 600, "powr": "x", "enwh": 1}]}, "powr at 600 is not a number"),
        ({"intervals": [{"end_at": 600, "powr": 1, "enwh": float("nan")}]}, "enwh at 600"),
    ],
)
def test_a_malformed_production_body_is_refused(body: Any, message: str) -> None:
    with pytest.raises(InvalidResponse, match=message):
        api.parse_production(body)


def test_an_empty_day_and_a_repeated_interval() -> None:
    body = {"intervals": [{"end_at": 600, "powr": 1, "enwh": 1}, {"end_at": 600, "powr": 2, "enwh": 3}]}
    production = api.parse_production(body)
    assert [(i.powr, i.enwh, i.devices_reporting) for i in production.intervals] == [(2, 3, None)]
    assert production.total_devices is None
    assert api.parse_production({"intervals": []}).newest is None


def test_systems_are_parsed_with_their_time_zone_and_address() -> None:
    body = {
        "systems": [
            system_body(),
            {"system_id": "7", "address": "nowhere", "system_size": True},
            {**system_body("8"), "system_size": -1},
        ]
    }
    first, second, third = api.parse_systems(body)
    assert third.system_size is None  # Enphase sends -1 for "not given"
    assert first == api.EnphaseSystem(
        system_id=SYSTEM_ID,
        name="Home solar",
        timezone="Australia/Brisbane",
        status="normal",
        system_size=12_500.0,
        address="Brisbane, QLD, AU",
    )
    assert second == api.EnphaseSystem("7", "Enphase 7", None, None, None, None)
    with pytest.raises(InvalidResponse):
        api.parse_systems({"systems": [{"name": "no id"}]})
    with pytest.raises(InvalidResponse):
        api.parse_systems({})


def test_a_system_s_standard_offset_is_its_own_zone_s() -> None:
    winter = datetime(2026, 1, 15, tzinfo=UTC)
    assert api.standard_offset_minutes("Australia/Brisbane", winter, 0) == 600
    assert api.standard_offset_minutes("Australia/Adelaide", winter, 0) == 570  # DST in January: still 570
    assert api.standard_offset_minutes("America/New_York", datetime(2026, 7, 1, tzinfo=UTC), 0) == -300
    assert api.standard_offset_minutes("Not/AZone", winter, 42) == 42
    assert api.standard_offset_minutes(None, winter, 42) == 42
    assert api.day_bounds(date(2025, 9, 4), 600) == (DAY_START, DAY_START + 86_400)


@pytest.fixture
async def fake(socket_enabled: None) -> AsyncIterator[tuple[FakeEnphase, str]]:
    state = FakeEnphase()
    state.issue_token()
    async with serve_enphase(state) as base:
        yield state, base


def _client(
    session: aiohttp.ClientSession, state: FakeEnphase, base: str, key: str = API_KEY
) -> api.EnphaseClient:
    token = next(iter(state.access_tokens))

    async def access() -> str:
        return token

    return api.EnphaseClient(session, key, access, base_url=base)


async def test_the_client_sends_the_token_and_key_and_reads_a_whole_day(
    fake: tuple[FakeEnphase, str],
) -> None:
    state, base = fake
    sent: list[int] = []
    async with aiohttp.ClientSession() as session:
        client = _client(session, state, base)
        client._on_request = lambda: sent.append(1)
        systems = await client.async_list_systems()
        assert [s.system_id for s in systems] == [SYSTEM_ID]
        day = await client.async_get_production(SYSTEM_ID, (DAY_START, DAY_START + 86_400))
    assert len(day.intervals) == 288
    assert sum(i.enwh for i in day.intervals) == 11_588
    assert '"total_devices": 50' in day.raw
    assert state.api_calls[-1][2] == {
        "start_at": str(DAY_START),
        "end_at": str(DAY_START + 86_400),
        "granularity": "day",
    }
    assert sent == [1, 1]


async def test_the_client_s_errors(fake: tuple[FakeEnphase, str]) -> None:
    state, base = fake
    async with aiohttp.ClientSession() as session:
        with pytest.raises(AuthError):
            await _client(session, state, base, key="wrong").async_list_systems()
        with pytest.raises(api.DayNotAvailable):
            await _client(session, state, base).async_get_production(SYSTEM_ID, (int(time.time()) + 3600, 0))
        state.api_failures = 1
        with pytest.raises(ConnectError, match="503"):
            await _client(session, state, base).async_list_systems()
        state.per_minute = len(state.api_calls) - 1  # the 401 and 422 and 503 did not all count: spend it
        state.minute_used = {int(time.time() // 60): 10_000}
        with pytest.raises(api.QuotaExceeded) as minute:
            await _client(session, state, base).async_list_systems()
        assert not minute.value.monthly
        assert minute.value.retry_after is not None
        assert 0 < minute.value.retry_after <= 60
        state.minute_used = {}
        state.month_used = {time.strftime("%Y-%m", time.gmtime()): 10_000}
        with pytest.raises(api.QuotaExceeded) as month:
            await _client(session, state, base).async_list_systems()
        assert month.value.monthly
        assert month.value.retry_after is None
        with pytest.raises(ConnectError, match="could not be reached"):
            await _client(session, state, "http://127.0.0.1:1").async_list_systems()


async def test_a_body_that_is_not_json_is_invalid(socket_enabled: None) -> None:
    from aiohttp import web

    async def handler(request: web.Request) -> web.Response:
        return web.Response(text="<html>maintenance</html>")

    async def quota(request: web.Request) -> web.Response:
        return web.Response(status=429)

    app = web.Application()
    app.router.add_get("/api/v4/systems", handler)
    app.router.add_get("/api/v4/systems/1/telemetry/production_micro", quota)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]

    async def access() -> str:
        return "t"

    try:
        async with aiohttp.ClientSession() as session:
            client = api.EnphaseClient(session, API_KEY, access, base_url=f"http://{host}:{port}")
            with pytest.raises(InvalidResponse):
                await client.async_list_systems()
            with pytest.raises(api.QuotaExceeded) as err:  # no body: the minute window, a minute's wait
                await client.async_get_production("1")
            assert not err.value.monthly
            assert err.value.retry_after == 60.0
    finally:
        await runner.cleanup()


# ---- the budget ----------------------------------------------------------------------------------------


def _at(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def test_the_budget_counts_per_minute_and_per_month_and_rolls_over() -> None:
    budget = api.Budget(per_minute=2, per_month=3)
    now = _at("2026-01-31T23:58:00+00:00")
    assert budget.wait(now) == 0
    budget.spend(now)
    budget.spend(now + 1)
    assert budget.wait(now + 2) == 58  # the minute's two are spent
    budget.spend(now + 60)
    assert budget.remaining(now + 61) == 0
    assert budget.wait(now + 61) == _at("2026-02-01T00:00:00+00:00") - (now + 61)
    assert budget.remaining(_at("2026-02-01T00:00:00+00:00")) == 3


def test_a_429_blocks_until_the_minute_or_the_month_ends_and_the_count_survives_a_reload() -> None:
    budget = api.Budget()
    now = _at("2026-12-31T10:00:10+00:00")
    budget.refused(now, api.QuotaExceeded("x", monthly=False, retry_after=50))
    assert budget.wait(now) == 50
    budget.refused(now, api.QuotaExceeded("x", monthly=True, retry_after=None))
    assert budget.remaining(now) == 0
    assert budget.wait(now) == _at("2027-01-01T00:00:00+00:00") - now
    again = api.Budget()
    again.load({**budget.as_dict(), "used": "many", "blocked_until": 5})
    assert again.monthly_blocked
    assert again.blocked_until == 5
    assert again.used == 0
    assert again.remaining(_at("2027-01-01T00:00:01+00:00")) == api.FREE_PLAN_PER_MONTH


def test_the_schedule_s_pure_parts() -> None:
    assert api.poll_spacing(0, 1000) is None
    assert api.poll_spacing(10_000, 3600) == 900  # never faster than the uploads
    assert api.poll_spacing(10, 36_000) == 3600
    assert api.aligned(_at("2026-01-01T10:00:00+00:00")) == _at("2026-01-01T10:05:00+00:00")
    assert api.aligned(_at("2026-01-01T10:05:00+00:00")) == _at("2026-01-01T10:05:00+00:00")
    windows = [(_at("2026-01-01T06:00:00+00:00"), _at("2026-01-01T18:30:00+00:00"))]
    assert api.next_daylight_call(_at("2026-01-01T01:00:00+00:00"), windows, 1800, None) == _at(
        "2026-01-01T06:05:00+00:00"
    )
    assert api.next_daylight_call(windows[0][1] - 60, windows, 1800, windows[0][1] - 1800) is None
    assert api.next_daylight_call(0, windows, None, None) is None
    assert api.refetch_due(1000, 0) == 1000 + api.REFETCH_AFTER_MIDNIGHT_S
    assert api.refetch_due(1000, api.REFETCH_ATTEMPTS) is None
    assert api.days_left_in_month(_at("2026-01-31T20:00:00+00:00"), 600) == 1
    assert api.month_end(_at("2026-12-15T00:00:00+00:00")) == _at("2027-01-01T00:00:00+00:00")


@pytest.mark.parametrize("systems", [1, 3])
def test_a_simulated_month_never_exceeds_the_plan_and_calls_in_daylight(systems: int) -> None:
    """A month of the schedule's arithmetic (the functions the coordinators call) for ``systems`` systems
    on one free key: 12.5 h of daylight a day at UTC+10, a refetch after each local midnight."""
    budget = api.Budget()
    start = _at("2026-03-01T00:00:00+00:00")  # the quota month is the UTC calendar month
    end = api.month_end(start)
    offset = 600
    length = 12.5 * 3600
    last: list[float | None] = [None] * systems
    calls = daylight_calls = refetches = 0
    now = start
    while now < end:
        local_midnight = (now + offset * 60) // 86_400 * 86_400 - offset * 60
        windows = [
            (local_midnight + 6 * 3600 + d * 86_400, local_midnight + 18.5 * 3600 + d * 86_400)
            for d in (0, 1)
        ]
        for n in range(systems):
            spacing = api.month_spacing(
                now,
                offset,
                remaining=budget.remaining(now),
                today_left_s=max(0.0, windows[0][1] - max(now, windows[0][0])),
                own_length_s=length,
                other_lengths_s=[length] * (systems - 1),
            )
            due = api.next_daylight_call(now, windows, spacing, last[n])
            if due is not None and due <= now and budget.wait(now) == 0:
                budget.spend(now)
                last[n] = now
                calls += 1
                daylight_calls += windows[0][0] <= now <= windows[0][1]
        if api.refetch_due(local_midnight, 0) == now:
            for _ in range(systems):
                if budget.wait(now) == 0:
                    budget.spend(now)
                    calls += 1
                    refetches += 1
        now += 300
    assert calls <= api.FREE_PLAN_PER_MONTH
    assert calls >= 0.9 * api.FREE_PLAN_PER_MONTH  # the budget is spent, not hoarded
    assert refetches == systems * 31
    assert daylight_calls == calls - refetches  # every call but the refetches is in daylight


@freeze_time("2026-01-01T00:00:30+00:00")
def test_a_minute_429_waits_for_the_window_s_end() -> None:
    err = api._quota_error({"period": "minute", "period_end": int(time.time()) + 30})
    assert err.retry_after == 30
    assert not err.monthly
