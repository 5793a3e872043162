"""Vendor 5-minute intervals written directly: a real Enphase day, running totals, late data and bad values."""

from __future__ import annotations

from datetime import date
import json
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from custom_components.liveone.store.aggregate import rebuild
from custom_components.liveone.store.errors import StoreError
from custom_components.liveone.store.intervals import INT32_MAX, write_intervals
from custom_components.liveone.store.schema import readings_agg_1d, readings_agg_5m
from custom_components.liveone.store.writer import WriteResult
from custom_components.liveone.vendors.model import Interval, Reading

from .conftest import DAY, add_system, day_row, rows_5m, write

FIXTURE = Path(__file__).parent.parent / "fixtures" / "enphase" / "production_micro-364880-2025-09-04.json"
BODY: dict[str, Any] = json.loads(FIXTURE.read_text())
DAY_START = int(BODY["start_at"])  # 2025-09-04 00:00 at UTC+10
ENDS = [int(item["end_at"]) for item in BODY["intervals"]]
WH = [int(item["enwh"]) for item in BODY["intervals"]]
AFTER_THE_DAY = DAY_START + 2 * DAY  # the day is finished
SEP4 = date(2025, 9, 4)


def enphase(item: dict[str, Any]) -> Interval:
    """An interval as the Enphase source maps it: ``powr`` is the mean W, ``enwh`` the Wh."""
    power = float(item["powr"])
    return Interval(
        interval_end=int(item["end_at"]),
        solar_w_avg=power,
        solar_w_min=power,
        solar_w_max=power,
        solar_wh=float(item["enwh"]),
        sample_count=1,
    )


DAY_INTERVALS = [enphase(item) for item in BODY["intervals"]]


def store(engine: Engine, system_id: int, intervals: list[Interval], now: int = AFTER_THE_DAY) -> WriteResult:
    with engine.begin() as conn:
        return write_intervals(conn, system_id, intervals, now=now)


def all_rows(conn: Connection, system_id: int) -> list[dict[str, Any]]:
    """Every column of the system's 5-minute rows, ids and stamps included."""
    agg = readings_agg_5m
    query = sa.select(agg).where(agg.c.system_id == system_id).order_by(agg.c.interval_end)
    return [dict(row) for row in conn.execute(query).mappings()]


def first_row(engine: Engine, system_id: int) -> dict[str, Any]:
    """The system's oldest 5-minute row, without id and stamps."""
    with engine.connect() as conn:
        return rows_5m(conn, system_id)[0]


def running(wh: list[int]) -> list[float]:
    """The running lifetime totals (kWh, 3 decimals) of a sequence of interval energies."""
    totals, total = [], 0
    for energy in wh:
        total += energy
        totals.append(total / 1000)
    return totals


def test_fixture_is_a_whole_day() -> None:
    assert len(ENDS) == 288
    assert [DAY_START + 300 * (k + 1) for k in range(288)] == ENDS
    assert sum(WH) > 0


def test_a_real_enphase_day(engine: Engine, system_id: int) -> None:
    result = store(engine, system_id, DAY_INTERVALS)
    assert result == WriteResult(288, tuple(ENDS), ("2025-09-04",))
    with engine.connect() as conn:
        rows = rows_5m(conn, system_id)
    assert [row["interval_end"] for row in rows] == ENDS
    assert [row["solar_interval_wh"] for row in rows] == WH
    assert [row["solar_w_avg"] for row in rows] == [item["powr"] for item in BODY["intervals"]]
    assert [row["solar_kwh_total_last"] for row in rows] == pytest.approx(running(WH), abs=1e-9)
    assert all(row["sample_count"] == 1 for row in rows)
    # Solar only: the other flows have neither energy nor a total.
    assert all(row["load_wh_interval"] is None and row["load_kwh_total_last"] is None for row in rows)
    daily = day_row(engine, system_id, "2025-09-04")
    assert daily is not None
    assert daily["solar_kwh"] == pytest.approx(sum(WH) / 1000, abs=1e-9)
    assert daily["solar_kwh"] == 11.588  # as the fixture's README says
    assert daily["solar_alltime_kwh"] == pytest.approx(sum(WH) / 1000, abs=1e-9)
    assert daily["interval_count"] == 288
    assert daily["load_kwh"] is None
    assert daily["solar_w_max"] == max(item["powr"] for item in BODY["intervals"])


def test_the_next_day_goes_on_from_the_running_total(engine: Engine, system_id: int) -> None:
    store(engine, system_id, DAY_INTERVALS)
    next_day = [Interval(interval_end=end + DAY, solar_wh=wh) for end, wh in zip(ENDS, WH, strict=True)]
    store(engine, system_id, next_day, now=AFTER_THE_DAY + DAY)
    second = day_row(engine, system_id, "2025-09-05")
    assert second is not None
    assert second["solar_kwh"] == 11.588
    assert second["solar_alltime_kwh"] == pytest.approx(2 * sum(WH) / 1000, abs=1e-9)


def test_a_late_interval_heals_every_later_total(engine: Engine) -> None:
    with engine.begin() as conn:
        straight, late = add_system(conn, site="straight"), add_system(conn, site="late")
    store(engine, straight, DAY_INTERVALS)
    missing = max(range(288), key=lambda k: WH[k])  # the day's largest interval
    store(engine, late, [i for k, i in enumerate(DAY_INTERVALS) if k != missing], now=AFTER_THE_DAY)
    before = day_row(engine, late, "2025-09-04")
    assert before is not None
    assert before["solar_kwh"] == pytest.approx((sum(WH) - WH[missing]) / 1000, abs=1e-9)

    result = store(engine, late, [DAY_INTERVALS[missing]], now=AFTER_THE_DAY + 60)
    # The late row and every later one (their totals moved) were written; the day followed.
    assert result == WriteResult(1, tuple(ENDS[missing:]), ("2025-09-04",))
    with engine.connect() as conn:
        assert rows_5m(conn, late) == [{**row, "system_id": late} for row in rows_5m(conn, straight)]
        stamps = [row["created_at"] for row in all_rows(conn, late)]
    assert stamps == [AFTER_THE_DAY] * missing + [AFTER_THE_DAY + 60] * (288 - missing)
    healed = day_row(engine, late, "2025-09-04")
    assert healed is not None
    assert healed["solar_kwh"] == 11.588
    assert healed["solar_alltime_kwh"] == pytest.approx(sum(WH) / 1000, abs=1e-9)


def test_rewriting_the_same_day_changes_nothing(engine: Engine, system_id: int) -> None:
    store(engine, system_id, DAY_INTERVALS)
    with engine.connect() as conn:
        first = all_rows(conn, system_id)
        daily = conn.execute(sa.select(readings_agg_1d)).mappings().all()
    assert store(engine, system_id, DAY_INTERVALS, now=AFTER_THE_DAY + 300) == WriteResult(0, (), ())
    with engine.connect() as conn:
        assert all_rows(conn, system_id) == first  # stamps included: nothing was written
        assert conn.execute(sa.select(readings_agg_1d)).mappings().all() == daily


def test_a_changed_interval_is_stamped_and_replaced_whole(engine: Engine, system_id: int) -> None:
    store(engine, system_id, DAY_INTERVALS)
    last = ENDS[-1]
    # The vendor corrects its last interval: a value it no longer sends becomes NULL.
    result = store(
        engine,
        system_id,
        [Interval(interval_end=last, solar_wh=5, battery_soc_last=55.55)],
        now=AFTER_THE_DAY + 9,
    )
    assert result == WriteResult(1, (last,), ("2025-09-04",))
    with engine.connect() as conn:
        rows = all_rows(conn, system_id)
    assert rows[-1]["created_at"] == AFTER_THE_DAY + 9
    assert rows[-2]["created_at"] == AFTER_THE_DAY
    assert (rows[-1]["solar_w_avg"], rows[-1]["solar_interval_wh"], rows[-1]["battery_soc_last"]) == (
        None,
        5,
        55.6,
    )
    assert rows[-1]["solar_kwh_total_last"] == pytest.approx((sum(WH[:-1]) + 5) / 1000, abs=1e-9)


def test_values_are_rounded_half_away_from_zero(engine: Engine, system_id: int) -> None:
    store(
        engine,
        system_id,
        [
            Interval(
                interval_end=ENDS[0],
                battery_w_avg=-2.5,
                battery_w_min=-3.5,
                battery_w_max=2.5,
                grid_in_wh=0.5,
            )
        ],
    )
    row = first_row(engine, system_id)
    assert (row["battery_w_avg"], row["battery_w_min"], row["battery_w_max"]) == (-3, -4, 3)
    assert (row["grid_in_wh_interval"], row["grid_in_kwh_total_last"]) == (1, 0.001)


def test_a_rebuild_leaves_vendor_rows_byte_identical(engine: Engine, system_id: int) -> None:
    store(engine, system_id, DAY_INTERVALS)
    with engine.connect() as conn:
        before = all_rows(conn, system_id)
    day_before = day_row(engine, system_id, "2025-09-04")
    with engine.begin() as conn:
        # The day has no raw readings: no 5-minute row is rewritten, the daily row is recomputed alike.
        assert rebuild(conn, system_id, SEP4, SEP4, now=AFTER_THE_DAY + DAY) == (0, 1)
    with engine.connect() as conn:
        assert all_rows(conn, system_id) == before
    assert day_row(engine, system_id, "2025-09-04") == day_before


def test_a_raw_reading_row_keeps_its_totals_and_vendor_rows_go_on_from_them(
    engine: Engine, system_id: int
) -> None:
    store(engine, system_id, [Interval(interval_end=ENDS[100], solar_wh=30)])
    write(engine, system_id, [Reading(inverter_time=ENDS[101] - 1, solar_kwh_total=0.05)], now=AFTER_THE_DAY)
    store(engine, system_id, [Interval(interval_end=ENDS[103], solar_wh=20)])
    with engine.connect() as conn:
        rows = {row["interval_end"]: row for row in rows_5m(conn, system_id)}
    assert rows[ENDS[101]]["solar_interval_wh"] == 20  # the readings row: its rise from 0.03
    assert rows[ENDS[101]]["solar_kwh_total_last"] == 0.05
    assert rows[ENDS[103]]["solar_kwh_total_last"] == 0.07
    assert day_row(engine, system_id, "2025-09-04")["solar_kwh"] == 0.07  # type: ignore[index]
    # A late vendor interval before them all: the vendor row after the readings row still goes on from it.
    result = store(engine, system_id, [Interval(interval_end=ENDS[99], solar_wh=10)], now=AFTER_THE_DAY + 5)
    assert result.intervals == (ENDS[99], ENDS[100])
    with engine.connect() as conn:
        totals = {row["interval_end"]: row["solar_kwh_total_last"] for row in rows_5m(conn, system_id)}
    assert totals == {ENDS[99]: 0.01, ENDS[100]: 0.04, ENDS[101]: 0.05, ENDS[103]: 0.07}


def test_an_interval_may_not_replace_a_row_of_raw_readings(engine: Engine, system_id: int) -> None:
    write(engine, system_id, [Reading(inverter_time=ENDS[10] - 30, solar_w=100)], now=AFTER_THE_DAY)
    with engine.connect() as conn:
        before = all_rows(conn, system_id)
    with pytest.raises(StoreError, match="holds raw readings"):
        store(
            engine,
            system_id,
            [Interval(interval_end=ENDS[9], solar_wh=1), Interval(interval_end=ENDS[10], solar_wh=1)],
        )
    with engine.connect() as conn:
        assert all_rows(conn, system_id) == before


@pytest.mark.parametrize(
    ("interval", "message"),
    [
        (
            Interval(interval_end=ENDS[0], solar_w_avg=INT32_MAX + 1.0),
            "solar_w_avg .* outside the column's range",
        ),
        (Interval(interval_end=ENDS[0], grid_w_min=-(INT32_MAX + 1.0)), "grid_w_min .* outside"),
        (Interval(interval_end=ENDS[0], solar_wh=float(INT32_MAX) * 2), "solar_wh .* outside"),
        (Interval(interval_end=ENDS[0], load_wh=-1.0), "load_wh -1.0 is negative"),
        (Interval(interval_end=ENDS[0], solar_w_max=float("nan")), "solar_w_max nan is not a finite number"),
        (
            Interval(interval_end=ENDS[0], battery_soc_last=float("inf")),
            "battery_soc_last inf is not a finite",
        ),
        (Interval(interval_end=ENDS[0], sample_count=-1), "sample_count -1 is outside"),
        (Interval(interval_end=ENDS[0] + 1, solar_wh=1), "not a positive multiple of 300 s"),
        (Interval(interval_end=0, solar_wh=1), "not a positive multiple of 300 s"),
    ],
)
def test_values_outside_the_columns_are_refused_and_nothing_is_stored(
    engine: Engine, system_id: int, interval: Interval, message: str
) -> None:
    good = Interval(interval_end=ENDS[5], solar_wh=10)
    with pytest.raises(StoreError, match=message):
        store(engine, system_id, [good, interval])
    with engine.connect() as conn:
        assert all_rows(conn, system_id) == []


def test_the_largest_values_the_columns_hold_are_stored(engine: Engine, system_id: int) -> None:
    store(
        engine,
        system_id,
        [Interval(interval_end=ENDS[0], solar_w_max=float(INT32_MAX), grid_w_min=-float(INT32_MAX))],
    )
    row = first_row(engine, system_id)
    assert (row["solar_w_max"], row["grid_w_min"]) == (INT32_MAX, -INT32_MAX)


def test_nothing_to_write_and_an_unknown_system(engine: Engine, system_id: int) -> None:
    assert store(engine, system_id, []) == WriteResult(0, (), ())
    with pytest.raises(LookupError):
        store(engine, system_id + 99, DAY_INTERVALS[:1])


def test_the_later_of_two_intervals_with_one_end_wins(engine: Engine, system_id: int) -> None:
    result = store(
        engine,
        system_id,
        [Interval(interval_end=ENDS[0], solar_wh=1), Interval(interval_end=ENDS[0], solar_wh=2)],
    )
    assert result.rows_written == 1
    assert first_row(engine, system_id)["solar_interval_wh"] == 2
