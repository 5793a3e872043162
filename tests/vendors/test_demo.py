"""Tests of the simulated ``demo`` household (no Home Assistant, no network)."""

from __future__ import annotations

import calendar
import hashlib
import itertools
from pathlib import Path
import subprocess
import sys

import pytest

from custom_components.liveone.vendors import demo
from custom_components.liveone.vendors.demo import (
    BATTERY_EFFICIENCY,
    MAX_CATCH_UP,
    SOC_FLOOR,
    DemoClient,
    DemoSite,
    DemoSystem,
    clear_sky_w,
    day_clearness,
    local_day,
    site_details,
    solar_elevation,
)
from custom_components.liveone.vendors.model import ENERGY_FLOWS, Reading

SYDNEY = DemoSite(seed="sydney-1", latitude=-33.87, longitude=151.21, tz_offset_min=600)
LONDON = DemoSite(seed="london-1", latitude=51.5, longitude=-0.12, tz_offset_min=0)
KWH_PER_WATT_MINUTE = 60 / 3.6e6
REPO = Path(__file__).resolve().parents[2]


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> int:
    return calendar.timegm((year, month, day, hour, minute, 0))


def local_midnight(site: DemoSite, year: int, month: int, day: int) -> int:
    return utc(year, month, day) - site.tz_offset_min * 60


def simulate(site: DemoSite, start: int, days: float) -> list[Reading]:
    """Readings of a fresh system for the minutes in (start, start + days]."""
    return list(DemoSystem(site).readings_between(start, start + int(days * 86400)))


def flows(reading: Reading) -> dict[str, float]:
    """Each energy flow's power (W, >= 0) in a reading."""
    battery = reading.battery_w or 0
    grid = reading.grid_w or 0
    return {
        "solar": reading.solar_w or 0,
        "load": reading.load_w or 0,
        "battery_in": max(-battery, 0),
        "battery_out": max(battery, 0),
        "grid_in": max(grid, 0),
        "grid_out": max(-grid, 0),
    }


# --- Determinism ---------------------------------------------------------------------------------------


def test_same_site_gives_identical_readings() -> None:
    start = local_midnight(SYDNEY, 2025, 3, 1)
    assert simulate(SYDNEY, start, 2) == simulate(SYDNEY, start, 2)


def test_different_seed_gives_a_different_household() -> None:
    start = local_midnight(SYDNEY, 2025, 3, 1)
    other = DemoSite(seed="sydney-2", latitude=-33.87, longitude=151.21, tz_offset_min=600)
    mine, theirs = simulate(SYDNEY, start, 1), simulate(other, start, 1)
    assert [r.load_w for r in mine] != [r.load_w for r in theirs]
    assert [r.solar_w for r in mine] != [r.solar_w for r in theirs]


def test_minute_values_do_not_depend_on_when_they_are_asked() -> None:
    start = local_midnight(SYDNEY, 2025, 5, 10)
    long_run = simulate(SYDNEY, start - 3 * 86400, 4)[-1440:]
    demo._day.cache_clear()
    # A fresh system asked for single minutes, newest day first, sees the same solar and load.
    for reading in reversed(long_run[::97]):
        late = DemoSystem(SYDNEY).advance_to(reading.inverter_time)
        assert (late.solar_w, late.load_w) == (reading.solar_w, reading.load_w)


def test_results_do_not_depend_on_python_hash_seed() -> None:
    code = (
        "import sys, types, hashlib\n"
        f"sys.path.insert(0, {str(REPO)!r})\n"
        "import custom_components\n"
        # Import the vendor module alone: the simulation must not need Home Assistant.
        "pkg = types.ModuleType('custom_components.liveone')\n"
        f"pkg.__path__ = [{str(REPO / 'custom_components' / 'liveone')!r}]\n"
        "sys.modules['custom_components.liveone'] = pkg\n"
        "from custom_components.liveone.vendors.demo import DemoSite, DemoSystem\n"
        "site = DemoSite(seed='hash-seed', latitude=-27.5, longitude=153.0, tz_offset_min=600)\n"
        "text = repr(list(DemoSystem(site).readings_between(1750000000, 1750000000 + 86400)))\n"
        "print(hashlib.sha256(text.encode()).hexdigest())\n"
    )
    digests = {
        subprocess.run(
            [sys.executable, "-c", code],
            env={"PYTHONHASHSEED": seed},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in ("1", "2")
    }
    site = DemoSite(seed="hash-seed", latitude=-27.5, longitude=153.0, tz_offset_min=600)
    here = repr(list(DemoSystem(site).readings_between(1750000000, 1750000000 + 86400)))
    assert digests == {hashlib.sha256(here.encode()).hexdigest() + "\n"}


# --- Physics and bookkeeping ---------------------------------------------------------------------------


def test_every_minute_balances_and_is_normalized() -> None:
    readings = simulate(SYDNEY, local_midnight(SYDNEY, 2025, 1, 10), 3)
    for r in readings:
        assert r.solar_w is not None
        assert r.load_w is not None
        assert r.battery_w is not None
        assert r.grid_w is not None
        assert r.solar_w + r.battery_w + r.grid_w == r.load_w
        assert r.solar_inverter_w is not None
        assert r.shunt_w is not None
        assert r.solar_inverter_w + r.shunt_w == r.solar_w
        assert r.solar_inverter_w >= 0
        assert r.shunt_w >= 0
        assert r.load_w > 0
        assert (r.fault_code, r.fault_timestamp, r.generator_status) == (0, None, 0)
        assert all(getattr(r, f"{flow}_wh_interval") is None for flow in ENERGY_FLOWS)
        assert r.normalized() == r
    # Self-consumption: never charge from or discharge into the grid.
    assert not any((r.battery_w or 0) < 0 < (r.grid_w or 0) for r in readings)
    assert not any((r.grid_w or 0) < 0 < (r.battery_w or 0) for r in readings)


def test_soc_stays_within_limits_over_a_week() -> None:
    readings = simulate(SYDNEY, local_midnight(SYDNEY, 2025, 12, 1), 7)
    socs = [r.battery_soc for r in readings]
    assert all(s is not None and SOC_FLOOR <= s <= 100.0 for s in socs)
    # The battery really cycles: full some afternoon, down near the floor some night.
    assert max(s for s in socs if s is not None) == 100.0
    assert min(s for s in socs if s is not None) <= SOC_FLOOR + 1
    # Each minute's SOC change is the battery's energy, after the charge or discharge loss.
    capacity_wh = SYDNEY.battery_kwh * 1000
    for before, after in itertools.pairwise(readings):
        assert before.battery_soc is not None
        assert after.battery_soc is not None
        assert after.battery_w is not None
        stored_wh = -after.battery_w / 60
        stored_wh *= BATTERY_EFFICIENCY if stored_wh > 0 else 1 / BATTERY_EFFICIENCY
        expected = before.battery_soc + stored_wh / capacity_wh * 100
        assert after.battery_soc == pytest.approx(expected, abs=0.1)
    # Over the week no energy appears or vanishes: only the SOC rounding at both ends is left.
    first, last = readings[0].battery_soc, readings[-1].battery_soc
    assert first is not None
    assert last is not None
    net_wh = sum(
        -(r.battery_w or 0) / 60 * (BATTERY_EFFICIENCY if (r.battery_w or 0) < 0 else 1 / BATTERY_EFFICIENCY)
        for r in readings[1:]
    )
    assert (last - first) / 100 * capacity_wh == pytest.approx(net_wh, abs=capacity_wh * 0.001)


def test_totals_are_monotonic_and_match_the_integrated_powers() -> None:
    readings = simulate(SYDNEY, local_midnight(SYDNEY, 2025, 5, 1), 3)
    for flow in ENERGY_FLOWS:
        totals = [getattr(r, f"{flow}_kwh_total") for r in readings]
        assert all(b >= a for a, b in itertools.pairwise(totals)), flow
        integrated = sum(flows(r)[flow] for r in readings[1:]) * KWH_PER_WATT_MINUTE
        assert totals[-1] - totals[0] == pytest.approx(integrated, abs=0.0011), flow
        assert integrated > 0.1, flow  # every flow happens in three autumn days in Sydney


def test_fresh_system_starts_at_half_charge_and_zero_totals() -> None:
    first = DemoSystem(SYDNEY).advance_to(local_midnight(SYDNEY, 2025, 2, 1) + 59)
    assert first.inverter_time == local_midnight(SYDNEY, 2025, 2, 1)
    assert first.battery_soc == 50.0
    assert all(getattr(first, f"{flow}_kwh_total") == 0.0 for flow in ENERGY_FLOWS)


# --- Sun and weather -----------------------------------------------------------------------------------


def test_no_solar_at_night_and_solar_at_noon_on_a_clear_day() -> None:
    start = local_midnight(SYDNEY, 2025, 1, 1)
    clear = next(d for d in range(60) if day_clearness(SYDNEY, local_day(SYDNEY, start) + d) > 0.9)
    readings = simulate(SYDNEY, start + clear * 86400, 1)
    assert local_day(SYDNEY, readings[0].inverter_time) == local_day(SYDNEY, start) + clear
    for r in readings:
        if solar_elevation(r.inverter_time, SYDNEY.latitude, SYDNEY.longitude) < -0.5:
            assert r.solar_w == 0
    assert readings[0].solar_w == 0  # local midnight
    noon = max(readings, key=lambda r: solar_elevation(r.inverter_time, SYDNEY.latitude, SYDNEY.longitude))
    assert noon.solar_w is not None
    assert noon.solar_w >= 0.85 * clear_sky_w(SYDNEY, noon.inverter_time) > 0.6 * SYDNEY.solar_kw * 1000


def test_overcast_days_produce_less() -> None:
    start = local_midnight(SYDNEY, 2025, 1, 1)
    first = local_day(SYDNEY, start)
    cloudy = next(d for d in range(60) if day_clearness(SYDNEY, first + d) < 0.4)
    clear = next(d for d in range(60) if day_clearness(SYDNEY, first + d) > 0.9)
    dull = simulate(SYDNEY, start + cloudy * 86400, 1)
    bright = simulate(SYDNEY, start + clear * 86400, 1)
    assert sum(r.solar_w or 0 for r in dull) < 0.6 * sum(r.solar_w or 0 for r in bright)


@pytest.mark.parametrize(
    ("site", "date", "expected"),
    [
        (SYDNEY, (2025, 12, 21), 90 - 33.87 + 23.44),
        (SYDNEY, (2025, 6, 21), 90 - 33.87 - 23.44),
        (LONDON, (2025, 6, 21), 90 - 51.5 + 23.44),
        (LONDON, (2025, 12, 21), 90 - 51.5 - 23.44),
        (DemoSite(seed="q", latitude=0.0, longitude=0.0, tz_offset_min=0), (2025, 3, 20), 90.0),
    ],
)
def test_noon_elevation(site: DemoSite, date: tuple[int, int, int], expected: float) -> None:
    day = utc(*date)
    highest = max(solar_elevation(t, site.latitude, site.longitude) for t in range(day, day + 86400, 60))
    assert highest == pytest.approx(expected, abs=0.6)


@pytest.mark.parametrize("site", [SYDNEY, LONDON])
def test_solar_noon_follows_longitude(site: DemoSite) -> None:
    day = utc(2025, 12, 21)
    noon = max(range(day, day + 86400, 60), key=lambda t: solar_elevation(t, site.latitude, site.longitude))
    expected = (day + 43200 - site.longitude * 240) % 86400 + day  # 4 minutes of time per degree
    assert abs(noon - expected) < 20 * 60  # the equation of time is within about 17 minutes


@pytest.mark.parametrize(("site", "summer", "winter"), [(SYDNEY, 1, 7), (LONDON, 7, 1)])
def test_summer_beats_winter_in_both_hemispheres(site: DemoSite, summer: int, winter: int) -> None:
    def energy(month: int) -> float:
        start = local_midnight(site, 2025, month, 1)
        return sum(r.solar_w or 0 for r in simulate(site, start, 10)) * KWH_PER_WATT_MINUTE

    def daylight(month: int) -> int:
        day = utc(2025, month, 15)
        return sum(clear_sky_w(site, t) > 0 for t in range(day, day + 86400, 60))

    assert energy(summer) > 1.4 * energy(winter)
    assert daylight(summer) > daylight(winter) + 120


@pytest.mark.parametrize(("site", "winter", "summer"), [(SYDNEY, 7, 1), (LONDON, 1, 7)])
def test_winter_mornings_need_heating_in_both_hemispheres(site: DemoSite, winter: int, summer: int) -> None:
    def morning_load(month: int) -> float:
        readings = simulate(site, local_midnight(site, 2025, month, 1), 14)
        local_minutes = [(r.inverter_time // 60 + site.tz_offset_min) % 1440 for r in readings]
        watts = [r.load_w or 0 for r, m in zip(readings, local_minutes, strict=True) if 330 <= m < 510]
        return sum(watts) / len(watts)

    assert morning_load(winter) > 1.2 * morning_load(summer)


# --- Resuming, catching up, ranges ---------------------------------------------------------------------


def test_resume_from_continues_seamlessly() -> None:
    start = local_midnight(SYDNEY, 2025, 4, 1)
    whole = simulate(SYDNEY, start, 2)
    cut = whole[1439]
    resumed = DemoSystem(SYDNEY, resume_from=cut)
    assert resumed.last is cut
    assert resumed.advance_to(cut.inverter_time) is cut
    assert resumed.site is SYDNEY
    tail = list(resumed.readings_between(start, whole[-1].inverter_time))
    assert [r.inverter_time for r in tail] == [r.inverter_time for r in whole[1440:]]
    for mine, theirs in zip(tail, whole[1440:], strict=True):
        assert (mine.solar_w, mine.load_w) == (theirs.solar_w, theirs.load_w)
        assert mine.battery_soc == pytest.approx(theirs.battery_soc, abs=0.11)
        for flow in ENERGY_FLOWS:
            field = f"{flow}_kwh_total"
            assert getattr(mine, field) == pytest.approx(getattr(theirs, field), abs=0.0011)
    first = tail[0]
    for flow in ENERGY_FLOWS:
        rise = getattr(first, f"{flow}_kwh_total") - getattr(cut, f"{flow}_kwh_total")
        assert rise == pytest.approx(flows(first)[flow] * KWH_PER_WATT_MINUTE, abs=0.0011)


def test_resume_from_a_sparse_reading() -> None:
    t = local_midnight(SYDNEY, 2025, 4, 1) + 17  # not a whole minute, no SOC, no totals
    system = DemoSystem(SYDNEY, resume_from=Reading(inverter_time=t))
    assert system.advance_to(t - 10).inverter_time == t
    nxt = system.advance_to(t + 60)
    assert nxt.inverter_time == t - 17 + 60
    assert nxt.battery_soc == pytest.approx(50.0, abs=0.2)
    assert nxt.load_kwh_total == pytest.approx((nxt.load_w or 0) * KWH_PER_WATT_MINUTE, abs=0.0006)


@pytest.mark.parametrize(("soc", "low"), [(3.0, True), (130.0, False)])
def test_resume_outside_the_soc_limits(soc: float, low: bool) -> None:
    start = local_midnight(SYDNEY, 2025, 7, 1)  # midnight: no solar, so the battery would discharge
    system = DemoSystem(SYDNEY, resume_from=Reading(inverter_time=start, battery_soc=soc))
    readings = list(system.readings_between(start, start + 3600))
    if low:
        assert all(r.battery_w == 0 and r.grid_w == r.load_w for r in readings)
        assert all(r.battery_soc == soc for r in readings)
    else:
        assert readings[0].battery_soc is not None
        assert readings[0].battery_soc <= 100.0
        assert all(r.battery_w == r.load_w for r in readings)


def test_readings_between_count_and_spacing() -> None:
    system = DemoSystem(LONDON)
    start = utc(2025, 2, 3, 4, 5) + 30
    readings = list(system.readings_between(start, start + 3600))
    assert len(readings) == 60
    assert readings[0].inverter_time == utc(2025, 2, 3, 4, 6)
    assert readings[-1].inverter_time == utc(2025, 2, 3, 5, 5)
    assert {b.inverter_time - a.inverter_time for a, b in itertools.pairwise(readings)} == {60}
    assert system.last is readings[-1]
    # Overlapping and empty ranges: only minutes after the newest reading come out.
    more = list(system.readings_between(start, start + 7200 - 30))
    assert [r.inverter_time for r in more] == list(
        range(utc(2025, 2, 3, 5, 6), utc(2025, 2, 3, 6, 5) + 1, 60)
    )
    assert list(system.readings_between(start, start + 600)) == []
    # A range that starts later than the newest reading simulates the gap without yielding it.
    later = list(system.readings_between(utc(2025, 2, 3, 8), utc(2025, 2, 3, 8, 2)))
    assert [r.inverter_time for r in later] == [utc(2025, 2, 3, 8, 1), utc(2025, 2, 3, 8, 2)]
    continuous = simulate(LONDON, start, 4 / 24)
    assert later[-1] == next(r for r in continuous if r.inverter_time == utc(2025, 2, 3, 8, 2))


def test_advance_to_an_old_time_returns_the_last_reading() -> None:
    system = DemoSystem(LONDON)
    assert system.last is None
    t = utc(2025, 9, 9, 9, 9)
    now = system.advance_to(t + 42)
    assert now.inverter_time == t
    assert system.advance_to(t) is now
    assert system.advance_to(t + 59) is now
    assert system.advance_to(t - 3600) is now
    assert system.advance_to(t + 60) is not now


def test_catch_up_simulates_every_minute_of_a_short_gap() -> None:
    start = utc(2025, 3, 3)
    system = DemoSystem(SYDNEY)
    system.advance_to(start)
    jumped = system.advance_to(start + 3 * 86400)
    stepped = simulate(SYDNEY, start - 60, 3 + 60 / 86400)
    assert stepped[0].inverter_time == start
    assert jumped == stepped[-1]


def test_a_gap_longer_than_max_catch_up_jumps() -> None:
    start = utc(2025, 3, 3)
    system = DemoSystem(SYDNEY)
    before = system.advance_to(start + 86400)
    target = start + 86400 + MAX_CATCH_UP + 7200
    after = system.advance_to(target)
    assert after.inverter_time == target
    for flow in ENERGY_FLOWS:
        rise = getattr(after, f"{flow}_kwh_total") - getattr(before, f"{flow}_kwh_total")
        assert rise == pytest.approx(flows(after)[flow] * KWH_PER_WATT_MINUTE, abs=0.0011)
    assert after.battery_soc == pytest.approx(before.battery_soc, abs=0.2)
    assert system.advance_to(target + 60).inverter_time == target + 60


def test_export_limit_curtails_solar() -> None:
    big = DemoSite(
        seed="big", latitude=-33.87, longitude=151.21, tz_offset_min=600, solar_kw=20, inverter_kw=3
    )
    readings = simulate(big, local_midnight(big, 2025, 1, 1), 4)
    assert min(r.grid_w or 0 for r in readings) == -3000
    assert max(-(r.battery_w or 0) for r in readings) <= 3000
    assert any(
        (r.solar_w or 0)
        < 0.9 * clear_sky_w(big, r.inverter_time) * day_clearness(big, local_day(big, r.inverter_time))
        and r.grid_w == -3000
        for r in readings
    )
    for r in readings:
        assert (r.solar_w or 0) + (r.battery_w or 0) + (r.grid_w or 0) == r.load_w


def test_a_simulated_month_completes() -> None:
    readings = simulate(LONDON, utc(2025, 1, 1), 30)
    assert len(readings) == 30 * 1440
    assert readings[-1].inverter_time == utc(2025, 1, 31)


# --- The client and the site ---------------------------------------------------------------------------


async def test_async_client() -> None:
    client = DemoClient(SYDNEY)
    t = utc(2025, 8, 1, 2, 30)
    (first,) = await client.async_get_readings(t + 12.7)
    assert first.inverter_time == t
    backfill = list(client.system.readings_between(t, t + 600))
    assert [r.inverter_time for r in backfill] == list(range(t + 60, t + 601, 60))
    assert client.system.last is backfill[-1]
    resumed = DemoClient(SYDNEY, resume_from=backfill[-1])
    assert await resumed.async_get_readings(t + 300) == []  # nothing newer than what it resumed from


def test_site_details() -> None:
    details = site_details(SYDNEY)
    assert details == {
        "model": "LiveOne Demo SP",
        "serial": details["serial"],
        "ratings": "7.5kW, 48V",
        "solar_size": "6.6 kW",
        "battery_size": "13.5 kWh",
    }
    assert details["serial"].startswith("DEMO")
    assert len(details["serial"]) == 13
    assert site_details(SYDNEY)["serial"] == details["serial"]
    assert site_details(LONDON)["serial"] != details["serial"]


@pytest.mark.parametrize(
    "changes",
    [
        {"latitude": 91.0},
        {"longitude": -181.0},
        {"tz_offset_min": 900},
        {"solar_kw": -1.0},
        {"battery_kwh": 0.0},
        {"inverter_kw": 0.0},
    ],
)
def test_invalid_sites_are_refused(changes: dict[str, float]) -> None:
    values: dict[str, object] = {"seed": "x", "latitude": 0.0, "longitude": 0.0, "tz_offset_min": 0}
    values.update(changes)
    with pytest.raises(ValueError):
        DemoSite(**values)  # type: ignore[arg-type]


async def test_client_returns_every_minute_since_the_last_poll() -> None:
    client = DemoClient(SYDNEY)
    start = utc(2025, 2, 3, 2, 0)
    first = await client.async_get_readings(start + 30)
    assert [r.inverter_time for r in first] == [start]
    assert await client.async_get_readings(start + 59.9) == []  # same minute: nothing new
    later = await client.async_get_readings(start + 3 * 60 + 0.2)
    assert [r.inverter_time for r in later] == [start + 60, start + 120, start + 180]
    # After a long pause only the last hour is returned, continuing the same simulation.
    resumed = await client.async_get_readings(start + 5 * 3600)
    assert len(resumed) == 60
    assert resumed[0].inverter_time == start + 4 * 3600 + 60
    assert resumed[0].solar_kwh_total >= later[-1].solar_kwh_total
