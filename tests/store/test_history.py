"""The history query layer: ranges, slots, roll-ups, daily slots, errors and query plans.

Data goes in through the real write path; every expected value is computed here from the raw readings
the test wrote, never read back from the store's aggregate rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from dataclasses import replace
from datetime import date, timedelta
from fractions import Fraction
import math
from pathlib import Path
import re
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from custom_components.liveone.store import history as hist
from custom_components.liveone.store.history import (
    INTERVALS,
    MAX_SPAN,
    HistoryError,
    history,
    parse_last,
    parse_time,
    resolve_range,
)
from custom_components.liveone.vendors.model import Reading

from .conftest import DAY, MIDNIGHT, NOON, add_system, write

FLOWS = ("solar", "load", "battery_in", "battery_out", "grid_in", "grid_out")
POWERS = ("solar", "load", "battery", "grid")
# Lifetime counters in whole Wh per reading index k (kWh stored = Wh / 1000, exact to 3 dp).
WH_BASE = {"solar": 100_000, "load": 200_000, "battery_in": 10_000, "battery_out": 20_000}
WH_BASE |= {"grid_in": 30_000, "grid_out": 40_000}
WH_STEP = {"solar": 11, "load": 7, "battery_in": 3, "battery_out": 2, "grid_in": 5, "grid_out": 1}


def make_reading(t: int) -> Reading:
    """A deterministic reading at ``t`` (powers, SOC and lifetime totals)."""
    k = t // 60
    totals = {f"{f}_kwh_total": (WH_BASE[f] + WH_STEP[f] * k) / 1000 for f in FLOWS}
    return Reading(
        inverter_time=t,
        solar_w=(k * 37) % 1000,
        load_w=300 + (k * 13) % 201,
        battery_w=(k * 53) % 401 - 200,
        grid_w=(k * 29) % 301 - 150,
        battery_soc=50 + (k % 41) * 0.5,
        **totals,
    )


def readings_between(
    first: int, last: int, step: int = 60, skip: tuple[int, int] | None = None
) -> list[Reading]:
    """Readings every ``step`` s in ``[first, last]``, leaving out ``skip = (from, to)`` inclusive."""
    return [
        make_reading(t) for t in range(first, last + 1, step) if skip is None or not skip[0] <= t <= skip[1]
    ]


def half_away(value: Fraction) -> int:
    """Round half away from zero, exactly."""
    whole = math.floor(abs(value) + Fraction(1, 2))
    return -whole if value < 0 else whole


def ceil_to(t: int, step: int) -> int:
    return -(-t // step) * step


# --------------------------------------------------------------------------------------------------
# Expected values, computed from raw readings


def expected_5m(raw: list[Reading]) -> dict[int, dict[str, Any]]:
    """Per 5-minute interval end: powers avg/min/max, last SOC, last totals (Wh) and energy (Wh)."""
    groups: dict[int, list[Reading]] = defaultdict(list)
    for r in sorted(raw, key=lambda r: r.inverter_time):
        groups[ceil_to(r.inverter_time, 300)].append(r)
    result: dict[int, dict[str, Any]] = {}
    previous: dict[str, int] | None = None
    for end in sorted(groups):
        group = groups[end]
        values: dict[str, Any] = {}
        for p in POWERS:
            ws = [getattr(r, f"{p}_w") for r in group]
            values[f"{p}.power.avg"] = half_away(Fraction(sum(ws), len(ws)))
            values[f"{p}.power.min"] = min(ws)
            values[f"{p}.power.max"] = max(ws)
        values["battery.soc"] = group[-1].battery_soc
        k = group[-1].inverter_time // 60
        totals = {f: WH_BASE[f] + WH_STEP[f] * k for f in FLOWS}
        for f in FLOWS:
            values[f"{f}.energy"] = None if previous is None else totals[f] - previous[f]
        previous = totals
        result[end] = values
    return result


def expected_30m(raw: list[Reading]) -> dict[int, dict[str, Any]]:
    """Per 30-minute slot end: the roll-up of the 5-minute values computed from the raw readings."""
    fives = expected_5m(raw)
    buckets: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for end in sorted(fives):
        buckets[ceil_to(end, 1800)].append(fives[end])
    result: dict[int, dict[str, Any]] = {}
    for end, rows in buckets.items():
        values: dict[str, Any] = {}
        for p in POWERS:
            avgs = [r[f"{p}.power.avg"] for r in rows]
            values[f"{p}.power.avg"] = half_away(Fraction(sum(avgs), len(avgs)))
            values[f"{p}.power.min"] = min(r[f"{p}.power.min"] for r in rows)
            values[f"{p}.power.max"] = max(r[f"{p}.power.max"] for r in rows)
        values["battery.soc"] = rows[-1]["battery.soc"]
        for f in FLOWS:
            present = [r[f"{f}.energy"] for r in rows if r[f"{f}.energy"] is not None]
            values[f"{f}.energy"] = sum(present) if present else None
        result[end] = values
    return result


def expected_1d(raw: list[Reading], offset_min: int) -> dict[str, dict[str, Any]]:
    """Per local date: daily energies (kWh), power min/avg/max and SOC min/max/end."""
    fives = expected_5m(raw)
    days: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for end in sorted(fives):
        day = date(1970, 1, 1) + timedelta(days=(end + offset_min * 60 - 1) // DAY)
        days[day.isoformat()].append(fives[end])
    result: dict[str, dict[str, Any]] = {}
    for day, rows in days.items():
        values: dict[str, Any] = {}
        for f in FLOWS:
            present = [r[f"{f}.energy"] for r in rows if r[f"{f}.energy"] is not None]
            values[f"{f}.energy"] = sum(present) / 1000 if present else None
        for p in POWERS:
            avgs = [r[f"{p}.power.avg"] for r in rows]
            values[f"{p}.power.min"] = min(r[f"{p}.power.min"] for r in rows)
            values[f"{p}.power.avg"] = half_away(Fraction(sum(avgs), len(avgs)))
            values[f"{p}.power.max"] = max(r[f"{p}.power.max"] for r in rows)
        socs = [r["battery.soc"] for r in rows]
        values["battery.soc.min"] = min(socs)
        values["battery.soc.max"] = max(socs)
        values["battery.soc.end"] = socs[-1]
        result[day] = values
    return result


# --------------------------------------------------------------------------------------------------
# Helpers


def system_row(engine: Engine, system_id: int) -> dict[str, Any]:
    with engine.connect() as conn:
        row = conn.execute(sa.text("SELECT * FROM systems WHERE id = :i"), {"i": system_id}).mappings().one()
    return dict(row)


def series(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The answer's series by metric (the id without its ``liveone.<vendor>.<site>.`` prefix)."""
    return {s["id"].split(".", 3)[3]: s for s in answer["data"]}


def ask(engine: Engine, system: dict[str, Any], start: int, end: int, interval: str) -> dict[str, Any]:
    with engine.connect() as conn:
        return history(conn, system, start=start, end=end, interval=interval, now=NOON)


@pytest.fixture
def sys600(engine: Engine) -> dict[str, Any]:
    with engine.begin() as conn:
        sid = add_system(conn, 600, site="A1")
    return system_row(engine, sid)


@pytest.fixture
def sys_minus300(engine: Engine) -> dict[str, Any]:
    with engine.begin() as conn:
        sid = add_system(conn, -300, site="B2", vendor="fronius")
    return system_row(engine, sid)


# --------------------------------------------------------------------------------------------------
# parse_last / parse_time


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("13m", 780), ("24h", 86400), ("7d", 604800), (" 90m ", 5400), ("1d", 86400), ("390d", 390 * DAY)],
)
def test_parse_last(text: str, seconds: int) -> None:
    assert parse_last(text) == seconds


@pytest.mark.parametrize(
    "text", ["", "24", "h", "1.5h", "24H", "-1d", "0h", "1w", "90s", "7 days", "1d2h", None]
)
def test_parse_last_refuses(text: Any) -> None:
    with pytest.raises(HistoryError, match="last"):
        parse_last(text)


def test_parse_time() -> None:
    assert parse_time("2025-08-17T00:00:00+10:00") == MIDNIGHT
    assert parse_time("2025-08-16T14:00:00Z") == MIDNIGHT
    assert parse_time("2025-08-17T00:00:00", offset_min=600) == MIDNIGHT
    assert parse_time("2025-08-17", offset_min=600) == MIDNIGHT
    with pytest.raises(HistoryError, match="ISO 8601"):
        parse_time("yesterday")
    with pytest.raises(HistoryError, match="ISO 8601"):
        parse_time(None)  # type: ignore[arg-type]


# --------------------------------------------------------------------------------------------------
# resolve_range: alignment and slot counts


@pytest.mark.parametrize(
    ("last", "interval", "slots"),
    [("24h", "5m", 288), ("7d", "30m", 336), ("30d", "1d", 30), ("13m", "5m", 3), ("180h", "5m", 2160)],
)
@pytest.mark.parametrize("now", [NOON, NOON + 123, NOON + 299, NOON + 301])
def test_last_slot_counts(last: str, interval: str, slots: int, now: int) -> None:
    start, end = resolve_range(start=None, end=None, last=last, interval=interval, now=now, offset_min=600)
    step = INTERVALS[interval]
    assert (end - start) // step == slots
    assert (end - start) % step == 0
    # The slot holding `now` is the last one.
    assert end - step < now <= end


def test_alignment_5m_30m_is_utc_grid() -> None:
    now = NOON + 123  # 12:02:03 at UTC+10
    assert resolve_range(start=None, end=None, last="24h", interval="5m", now=now) == (
        NOON + 300 - DAY,
        NOON + 300,
    )
    assert resolve_range(start=None, end=None, last="7d", interval="30m", now=now) == (
        NOON + 1800 - 7 * DAY,
        NOON + 1800,
    )
    # Explicit range: start down, end up; an end on the grid stays.
    assert resolve_range(start=NOON + 1, end=NOON + 600, last=None, interval="5m", now=0) == (
        NOON,
        NOON + 600,
    )
    assert resolve_range(start=NOON - 1, end=NOON + 601, last=None, interval="30m", now=0) == (
        NOON - 1800,
        NOON + 1800,
    )
    # end defaults to now.
    assert resolve_range(start=NOON - 3600, end=None, last=None, interval="5m", now=now) == (
        NOON - 3600,
        NOON + 300,
    )


def test_alignment_1d_is_local_midnight() -> None:
    # 30 local days Aug 1 .. Aug 30 at UTC+10: an end exactly at midnight does not reach into Aug 31.
    aug1 = MIDNIGHT - 16 * DAY
    aug31 = aug1 + 30 * DAY
    assert resolve_range(start=aug1, end=aug31, last=None, interval="1d", now=0, offset_min=600) == (
        aug1,
        aug31,
    )
    # One second into Aug 31 takes the whole of Aug 31.
    assert resolve_range(start=aug1, end=aug31 + 1, last=None, interval="1d", now=0, offset_min=600) == (
        aug1,
        aug31 + DAY,
    )
    # At UTC-5 the same instants lie on other local days: midnights are 15 h later (UTC) than at +10.
    start, end = resolve_range(start=None, end=None, last="1d", interval="1d", now=NOON, offset_min=-300)
    assert (start + (-300) * 60) % DAY == 0
    assert end - start == DAY
    assert start < NOON <= end


# --------------------------------------------------------------------------------------------------
# Errors


def _range(**kw: Any) -> tuple[int, int]:
    args: dict[str, Any] = {"start": None, "end": None, "last": None, "interval": "5m", "now": NOON}
    args.update(kw)
    return resolve_range(**args)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"start": NOON, "end": NOON - 300}, "reversed"),
        ({"start": NOON, "end": NOON}, "empty"),
        ({"start": NOON + 10}, "reversed"),  # start after now, end defaults to now
        ({"last": "24h", "interval": "15m"}, "unknown interval"),
        ({"last": "24h", "interval": None}, "unknown interval"),
        ({"start": NOON - 3600, "last": "1h"}, "not both"),
        ({"end": NOON, "last": "1h"}, "not both"),
        ({}, "give start"),
        ({"end": NOON}, "give start"),
        ({"last": "24x"}, "cannot read last"),
        ({"last": ""}, "cannot read last"),
        ({"last": "0d"}, "empty"),
        ({"last": "181h", "interval": "5m"}, "too long for interval 5m"),
        ({"last": "31d", "interval": "30m"}, "too long for interval 30m"),
        ({"last": "391d", "interval": "1d"}, "too long for interval 1d"),
        ({"start": NOON - MAX_SPAN["5m"] - 1, "end": NOON, "interval": "5m"}, "at most 7.5 days"),
        ({"start": NOON - MAX_SPAN["30m"] - 1, "end": NOON, "interval": "30m"}, "too long"),
        ({"start": NOON - MAX_SPAN["1d"] - 1, "end": NOON, "interval": "1d"}, "at most 390 days"),
    ],
)
def test_resolve_range_errors(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(HistoryError, match=message):
        _range(**kwargs)


def test_limits_are_inclusive() -> None:
    for interval, span in MAX_SPAN.items():
        start, end = _range(start=NOON - span, end=NOON, interval=interval)
        assert end - start <= span + INTERVALS[interval]
    assert MAX_SPAN == {"5m": 7.5 * DAY, "30m": 30 * DAY, "1d": 390 * DAY}


def test_history_refuses(engine: Engine, sys600: dict[str, Any]) -> None:
    with engine.connect() as conn:
        with pytest.raises(HistoryError, match="unknown interval"):
            history(conn, sys600, start=NOON - 3600, end=NOON, interval="1h")
        with pytest.raises(HistoryError, match="empty or reversed"):
            history(conn, sys600, start=NOON, end=NOON - 3600, interval="5m")
        with pytest.raises(HistoryError, match="empty or reversed"):
            history(conn, sys600, start=NOON, end=NOON, interval="30m")
        for interval, span in MAX_SPAN.items():
            too_long = span + 2 * INTERVALS[interval]
            with pytest.raises(HistoryError, match="too long"):
                history(conn, sys600, start=NOON - too_long, end=NOON, interval=interval)
    assert issubclass(HistoryError, ValueError)


# --------------------------------------------------------------------------------------------------
# Answers


def test_envelope_and_5m_values_with_gaps(engine: Engine, sys600: dict[str, Any]) -> None:
    # 10:00 .. 14:00 local every minute, with no readings 11:21 .. 12:09 (a gap of whole intervals).
    first, last = NOON - 2 * 3600, NOON + 2 * 3600
    raw = readings_between(first, last, skip=(NOON - 39 * 60, NOON + 9 * 60))
    write(engine, sys600["id"], raw)
    expected = expected_5m(raw)

    start, end = resolve_range(start=None, end=None, last="24h", interval="5m", now=NOON + 2 * 3600 + 100)
    answer = ask(engine, sys600, start, end, "5m")
    assert answer["type"] == "energy"
    assert answer["version"] == "v4"
    assert answer["network"] == "liveone"
    assert answer["created_at"] == "2025-08-17T12:00:00+10:00"
    by_metric = series(answer)
    assert set(by_metric) == {
        *(f"{p}.power.{s}" for p in POWERS for s in ("avg", "min", "max")),
        "battery.soc",
        *(f"{f}.energy" for f in FLOWS),
    }
    for metric, s in by_metric.items():
        assert s["id"] == f"liveone.selectronic.A1.{metric}"
        kind = "power" if ".power." in metric else "energy" if metric.endswith(".energy") else "soc"
        assert s["type"] == kind
        assert s["units"] == {"power": "W", "energy": "Wh", "soc": "%"}[s["type"]]
        h = s["history"]
        assert h["interval"] == "5m"
        assert h["start"] == "2025-08-16T14:10:00+10:00"
        assert h["last"] == "2025-08-17T14:05:00+10:00"
        assert len(h["data"]) == 288
        for index, value in enumerate(h["data"]):
            slot_end = start + 300 * (index + 1)
            want = expected.get(slot_end, {}).get(metric)
            assert value == want, (metric, slot_end)
    # The gap's slots are null; the slot ending 12:10 holds the first readings after it.
    soc = by_metric["battery.soc"]["history"]["data"]
    gap = [(NOON - 39 * 60 - start) // 300, (NOON + 5 * 60 - start) // 300]
    assert all(value is None for value in soc[gap[0] : gap[1]])
    assert soc[(NOON + 600 - start) // 300 - 1] is not None
    # A reading at exactly 12:05:00 would be in the slot ending 12:05; 14:00:00 is the last reading.
    assert soc[(last - start) // 300 - 1] == make_reading(last).battery_soc
    assert soc[(last - start) // 300] is None
    # The first interval of the system has no earlier total: its energy is null, its power is not.
    first_index = (ceil_to(first, 300) - start) // 300 - 1
    assert by_metric["solar.energy"]["history"]["data"][first_index] is None
    assert by_metric["solar.power.avg"]["history"]["data"][first_index] is not None


def test_30m_rollup_from_raw_readings(engine: Engine, sys600: dict[str, Any]) -> None:
    # Readings every 2 minutes at odd offsets, with a gap that leaves a bucket partly filled.
    first, last = NOON - 3 * 3600 + 37, NOON + 3 * 3600
    raw = readings_between(first, last, step=120, skip=(NOON - 50 * 60, NOON - 33 * 60))
    write(engine, sys600["id"], raw)
    expected = expected_30m(raw)

    start, end = resolve_range(start=None, end=None, last="7d", interval="30m", now=NOON + 3 * 3600)
    answer = ask(engine, sys600, start, end, "30m")
    by_metric = series(answer)
    assert len(by_metric) == 19
    for metric, s in by_metric.items():
        h = s["history"]
        assert (h["interval"], len(h["data"])) == ("30m", 336)
        assert h["start"] == "2025-08-10T15:30:00+10:00"
        assert h["last"] == "2025-08-17T15:00:00+10:00"
        got = {start + 1800 * (i + 1): v for i, v in enumerate(h["data"]) if v is not None}
        want = {end_: v[metric] for end_, v in expected.items() if v[metric] is not None}
        assert got == want, metric

    # Spot-check one bucket by hand: (11:00, 11:30] holds the six intervals ending 11:05 .. 11:30.
    bucket = NOON - 1800
    inside = [r for r in raw if bucket - 1800 < r.inverter_time <= bucket]
    before = [r for r in raw if r.inverter_time <= bucket - 1800][-1]
    index = (bucket - start) // 1800 - 1
    assert by_metric["solar.power.max"]["history"]["data"][index] == max(r.solar_w for r in inside)  # type: ignore[type-var]
    assert by_metric["grid.power.min"]["history"]["data"][index] == min(r.grid_w for r in inside)  # type: ignore[type-var]
    assert by_metric["battery.soc"]["history"]["data"][index] == inside[-1].battery_soc
    solar_wh = (inside[-1].inverter_time // 60 - before.inverter_time // 60) * WH_STEP["solar"]
    assert by_metric["solar.energy"]["history"]["data"][index] == solar_wh
    # The partly filled bucket (11:00 .. 11:30 has readings only up to 11:10): the mean of present avgs.
    partial = NOON - 3600
    assert expected[partial]["load.power.avg"] is not None
    assert (
        by_metric["load.power.avg"]["history"]["data"][(partial - start) // 1800 - 1]
        == (expected[partial]["load.power.avg"])
    )


@pytest.mark.parametrize("socs", [(55.5, None), (0.0, None), (100.0, 99.9), (12.3, 7.0)])
def test_30m_soc_is_the_newest_present(
    engine: Engine, sys600: dict[str, Any], socs: tuple[float, float | None]
) -> None:
    """A slot's SOC is its newest 5-minute SOC; a newer interval without one does not blank it."""
    earlier, later = socs
    slot_end = NOON  # (11:30, 12:00]
    rows = [
        replace(make_reading(slot_end - 1500), battery_soc=earlier),  # in the interval ending 11:35
        replace(make_reading(slot_end - 60), battery_soc=later),  # in the interval ending 12:00
    ]
    write(engine, sys600["id"], rows)
    answer = ask(engine, sys600, slot_end - 3600, slot_end, "30m")
    soc = series(answer)["battery.soc"]["history"]["data"]
    assert soc == [None, later if later is not None else earlier]


def test_30m_energy_null_only_when_no_interval_has_one(engine: Engine, sys600: dict[str, Any]) -> None:
    # The very first readings of the system: its first interval has no energy, the others do.
    raw = readings_between(NOON - 1800 + 60, NOON, step=60)
    write(engine, sys600["id"], raw)
    answer = ask(engine, sys600, NOON - 3600, NOON, "30m")
    data = series(answer)["solar.energy"]["history"]["data"]
    assert data[0] is None  # no readings at all
    # Five of six intervals have a rise; the first has none: sum of the present five.
    assert data[1] == (NOON // 60 - (NOON - 1800 + 300) // 60) * WH_STEP["solar"]
    # Only the system's first interval: its energy is null, so is the 30-minute sum.
    with engine.begin() as conn:
        other = add_system(conn, 600, site="lonely")
    write(engine, other, readings_between(NOON - 240, NOON, step=60))
    answer = ask(engine, system_row(engine, other), NOON - 1800, NOON, "30m")
    assert series(answer)["solar.energy"]["history"]["data"] == [None]
    assert series(answer)["solar.power.avg"]["history"]["data"] != [None]


def test_daily_slots_in_two_time_zones(
    engine: Engine, sys600: dict[str, Any], sys_minus300: dict[str, Any]
) -> None:
    # The same readings (every 5 minutes over three days) for a system at UTC+10 and one at UTC-5.
    raw = readings_between(MIDNIGHT - DAY + 7 * 3600, MIDNIGHT + 2 * DAY, step=300)
    for system in (sys600, sys_minus300):
        write(engine, system["id"], raw)

    now = MIDNIGHT + 9 * DAY
    # now is local midnight at UTC+10 (20 whole days back) but 09:00 at UTC-5 (widened to 21 days).
    for system, first_day, last_day, count in (
        (sys600, "2025-08-06", "2025-08-25", 20),
        (sys_minus300, "2025-08-05", "2025-08-25", 21),
    ):
        offset = system["timezone_offset_min"]
        start, end = resolve_range(
            start=now - 20 * DAY, end=None, last=None, interval="1d", now=now, offset_min=offset
        )
        answer = ask(engine, system, start, end, "1d")
        expected = expected_1d(raw, offset)
        by_metric = series(answer)
        assert len(by_metric) == 6 + 12 + 3
        days = [
            (date.fromisoformat(first_day) + timedelta(days=n)).isoformat()
            for n in range((date.fromisoformat(last_day) - date.fromisoformat(first_day)).days + 1)
        ]
        for metric, s in by_metric.items():
            h = s["history"]
            assert (h["interval"], h["start"], h["last"]) == ("1d", first_day, last_day)
            assert len(h["data"]) == len(days) == count
            assert s["units"] == {"energy": "kWh", "power": "W", "soc": "%"}[s["type"]]
            got = {day: v for day, v in zip(days, h["data"], strict=True) if v is not None}
            want = {day: v[metric] for day, v in expected.items() if v[metric] is not None}
            assert got.keys() == want.keys(), (metric, offset)
            for day, value in want.items():
                assert got[day] == pytest.approx(value, abs=1e-9), (metric, offset, day)
        # Different local dates for the same instants: UTC+10 sees Aug 16..19, UTC-5 sees Aug 15..18.
        solar = dict(zip(days, by_metric["solar.energy"]["history"]["data"], strict=True))
        present = sorted(day for day, v in solar.items() if v is not None)
        assert present == sorted(day for day, v in expected.items() if v["solar.energy"] is not None)
        assert present[0] == ("2025-08-16" if offset == 600 else "2025-08-15")


def test_daily_last_30d_and_gaps(engine: Engine, sys600: dict[str, Any]) -> None:
    raw = readings_between(MIDNIGHT + 3600, MIDNIGHT + 3 * 3600, step=300)
    raw += readings_between(MIDNIGHT + 2 * DAY + 3600, MIDNIGHT + 2 * DAY + 3 * 3600, step=300)
    write(engine, sys600["id"], raw)
    now = MIDNIGHT + 5 * DAY + 3600  # 2025-08-22 01:00 local
    start, end = resolve_range(start=None, end=None, last="30d", interval="1d", now=now, offset_min=600)
    answer = ask(engine, sys600, start, end, "1d")
    load = series(answer)["load.energy"]["history"]
    assert (load["start"], load["last"], len(load["data"])) == ("2025-07-24", "2025-08-22", 30)
    days = {(date(2025, 7, 24) + timedelta(days=n)).isoformat(): v for n, v in enumerate(load["data"])}
    assert [day for day, v in days.items() if v is not None] == ["2025-08-17", "2025-08-19"]
    # Aug 19's load: the rise of the load counter since the last reading of Aug 17.
    rise = (MIDNIGHT + 2 * DAY + 3 * 3600) // 60 - (MIDNIGHT + 3 * 3600) // 60
    assert days["2025-08-19"] == pytest.approx(rise * WH_STEP["load"] / 1000)
    assert series(answer)["battery.soc.end"]["history"]["data"][-1] is None


def test_empty_store_is_all_null(engine: Engine, sys600: dict[str, Any]) -> None:
    for interval, last in (("5m", "1h"), ("30m", "1d"), ("1d", "7d")):
        start, end = resolve_range(
            start=None, end=None, last=last, interval=interval, now=NOON, offset_min=600
        )
        answer = ask(engine, sys600, start, end, interval)
        for s in answer["data"]:
            assert s["history"]["data"] == [None] * ((end - start) // INTERVALS[interval])


def test_unaligned_history_call_is_widened(engine: Engine, sys600: dict[str, Any]) -> None:
    write(engine, sys600["id"], readings_between(NOON - 600, NOON + 600, step=60))
    answer = ask(engine, sys600, NOON - 599, NOON + 1, "5m")
    h = series(answer)["load.power.max"]["history"]
    assert (h["start"], h["last"], len(h["data"])) == (
        "2025-08-17T11:55:00+10:00",
        "2025-08-17T12:05:00+10:00",
        3,
    )


def test_missing_columns_are_null(engine: Engine, sys600: dict[str, Any]) -> None:
    # Readings with solar power only: no SOC, no battery power, no totals (energy by integration).
    raw = [Reading(inverter_time=t, solar_w=600) for t in range(NOON - 1800 + 60, NOON + 1, 60)]
    write(engine, sys600["id"], raw)
    for interval in ("5m", "30m"):
        by_metric = series(ask(engine, sys600, NOON - 1800, NOON, interval))
        assert set(by_metric["battery.soc"]["history"]["data"]) == {None}
        assert set(by_metric["battery.power.avg"]["history"]["data"]) == {None}
        assert by_metric["solar.power.avg"]["history"]["data"][-1] == 600
    # 30 minutes of a steady 600 W, integrated from the first reading on: 29 minutes = 290 Wh.
    assert series(ask(engine, sys600, NOON - 1800, NOON, "30m"))["solar.energy"]["history"]["data"] == [290]


def test_other_system_data_is_not_mixed_in(engine: Engine, sys600: dict[str, Any]) -> None:
    with engine.begin() as conn:
        other = add_system(conn, 600, site="other")
    write(engine, other, readings_between(NOON - 3600, NOON, step=60))
    answer = ask(engine, sys600, NOON - 3600, NOON, "5m")
    assert all(v is None for s in answer["data"] for v in s["history"]["data"])


# --------------------------------------------------------------------------------------------------
# Query plans


@pytest.fixture
def statements(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """Every statement the engine runs while the fixture is active."""
    captured: list[tuple[str, Any]] = []

    def capture(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool
    ) -> None:
        captured.append((statement, parameters))

    sa.event.listen(engine, "before_cursor_execute", capture)
    yield captured
    sa.event.remove(engine, "before_cursor_execute", capture)


def _plan(conn: Connection, statement: str, parameters: Any) -> list[str]:
    if conn.dialect.name == "postgresql":
        # The test tables are tiny, where a sequential scan is cheapest; forbidding it asks PostgreSQL
        # whether an index can answer the query at all.
        conn.exec_driver_sql("SET enable_seqscan = off")
        return [str(row[0]) for row in conn.exec_driver_sql("EXPLAIN " + statement, parameters)]
    if conn.dialect.name == "mysql":
        # One row per table read. MariaDB scans a table this small whole whatever its indexes, and
        # cannot be told otherwise; "possible_keys" says which indexes can answer the query.
        result = conn.exec_driver_sql("EXPLAIN " + statement, parameters).mappings()
        return [f"on {row['table']} possible keys {row['possible_keys']}" for row in result]
    return [str(row[-1]) for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)]


def _searches_index(line: str, dialect: str) -> bool:
    """Whether a plan line is a search through an index (never a full scan)."""
    if dialect == "postgresql":
        return "Seq Scan" not in line
    if dialect == "mysql":
        return not line.endswith("possible keys None")
    if line.startswith("USE TEMP B-TREE FOR GROUP BY"):
        return True  # the 30-minute roll-up's grouping of the rows the index search found
    return not line.startswith("SCAN") and ("USING INDEX" in line or "USING COVERING INDEX" in line)


def test_history_queries_use_the_indexes(
    engine: Engine, sys600: dict[str, Any], sys_minus300: dict[str, Any], statements: list[tuple[str, Any]]
) -> None:
    raw = readings_between(MIDNIGHT - 2 * DAY, MIDNIGHT + 2 * DAY, step=300)
    for system in (sys600, sys_minus300):
        write(engine, system["id"], raw)
    with engine.begin() as conn:  # committed: PostgreSQL keeps statistics transactionally
        if engine.dialect.name == "mysql":
            conn.exec_driver_sql("ANALYZE TABLE readings_agg_5m, readings_agg_1d")
        else:
            conn.exec_driver_sql("ANALYZE")
    now = MIDNIGHT + 2 * DAY
    plans: list[str] = []
    for system in (sys600, sys_minus300):
        for interval, last in (("5m", "180h"), ("30m", "30d"), ("1d", "390d")):
            statements.clear()
            start, end = resolve_range(
                start=None,
                end=None,
                last=last,
                interval=interval,
                now=now,
                offset_min=system["timezone_offset_min"],
            )
            answer = ask(engine, system, start, end, interval)
            assert any(v is not None for s in answer["data"] for v in s["history"]["data"])
            issued = list(statements)  # everything history() ran: one read, nothing else
            assert len(issued) == 1, issued
            assert all(statement.lstrip().upper().startswith("SELECT") for statement, _ in issued)
            with engine.connect() as conn:
                for statement, parameters in issued:
                    assert "readings_agg" in statement
                    plan = _plan(conn, statement, parameters)
                    plans.append(statement)
                    index = (
                        "readings_agg_1d_history_idx"
                        if interval == "1d"
                        else "readings_agg_5m_history_idx"  # the covering indexes, tables untouched
                    )
                    if engine.dialect.name == "postgresql":
                        # PostgreSQL's planner picks among the table's indexes by its statistics (on
                        # these small tables, sometimes the one-column system index): any of them.
                        table = "readings_agg_1d" if interval == "1d" else "readings_agg_5m"
                        assert any("Index" in line and f" on {table} " in line for line in plan), plan
                    else:
                        assert any(index in line for line in plan), plan
                    for line in plan:
                        # A search through an index: never a full scan, never the raw readings table.
                        assert _searches_index(line, engine.dialect.name), plan
                        assert not re.search(r"\breadings\b", line), plan
    assert len(plans) == 6


def test_module_is_home_assistant_free() -> None:
    assert "homeassistant" not in Path(hist.__file__).read_text(encoding="utf-8")
