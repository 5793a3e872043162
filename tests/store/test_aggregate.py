"""5-minute and daily aggregation: boundaries, energy rules, late data, catch-up and rebuild."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from custom_components.liveone.store.aggregate import (
    catch_up_days,
    day_bounds,
    interval_end_of,
    local_date_at,
    local_day,
    rebuild,
    recompute_days,
    recompute_intervals,
)
from custom_components.liveone.store.intervals import write_intervals
from custom_components.liveone.vendors.model import Interval, Reading

from .conftest import (
    DAY,
    LATER,
    MIDNIGHT,
    add_system,
    day_row,
    energies,
    new_engine,
    row_5m,
    rows_1d,
    rows_5m,
    write,
)

AUG16, AUG17, AUG18, AUG19 = (date(2025, 8, d) for d in (16, 17, 18, 19))


def at(hour: int, minute: int, second: int = 0, day: int = 0) -> int:
    """Unix time of a local (UTC+10) time on 2025-08-17 (+ ``day`` days)."""
    return MIDNIGHT + day * DAY + hour * 3600 + minute * 60 + second


def totals(t: int, solar: float | None, **extra: float | None) -> Reading:
    """A reading carrying a solar lifetime total (kWh) and whatever else is given."""
    return Reading(inverter_time=t, solar_kwh_total=solar, **extra)  # type: ignore[arg-type]


# ------------------------------------------------------------------------------------------------
# Time helpers


def test_interval_end_boundaries() -> None:
    assert interval_end_of(at(12, 5)) == at(12, 5)  # exactly on the mark: the interval it ends
    assert interval_end_of(at(12, 5, 1)) == at(12, 10)
    assert interval_end_of(at(12, 0, 1)) == at(12, 5)
    assert interval_end_of(at(12, 4, 59)) == at(12, 5)


def test_local_days_and_bounds() -> None:
    assert day_bounds(AUG17, 600) == (MIDNIGHT, MIDNIGHT + DAY)
    # The interval ending at local midnight closes the previous day.
    assert local_day(MIDNIGHT, 600) == AUG16
    assert local_day(MIDNIGHT + 300, 600) == AUG17
    assert local_day(MIDNIGHT + DAY, 600) == AUG17
    # UTC-5: 2025-01-01 00:00 local is 05:00 UTC.
    new_year = 1735689600 + 5 * 3600
    assert day_bounds(date(2025, 1, 1), -300) == (new_year, new_year + DAY)
    assert local_day(new_year + 300, -300) == date(2025, 1, 1)
    assert local_day(new_year, -300) == date(2024, 12, 31)
    # The calendar date at an instant: at local midnight the new day has begun.
    assert local_date_at(MIDNIGHT, 600) == AUG17
    assert local_date_at(MIDNIGHT - 1, 600) == AUG16


# ------------------------------------------------------------------------------------------------
# 5-minute statistics


def test_reading_on_the_mark_belongs_to_the_interval_it_ends(engine: Engine, system_id: int) -> None:
    write(
        engine,
        system_id,
        [
            Reading(inverter_time=at(12, 4), solar_w=100),
            Reading(inverter_time=at(12, 5), solar_w=200),  # 12:05:00 ends the 12:05 interval
            Reading(inverter_time=at(12, 5, 1), solar_w=400),
        ],
    )
    first = row_5m(engine, system_id, at(12, 5))
    assert (first["sample_count"], first["solar_w_avg"], first["solar_w_min"], first["solar_w_max"]) == (
        2,
        150,
        100,
        200,
    )
    second = row_5m(engine, system_id, at(12, 10))
    assert (second["sample_count"], second["solar_w_avg"]) == (1, 400)


def test_statistics_skip_missing_values(engine: Engine, system_id: int) -> None:
    write(
        engine,
        system_id,
        [
            Reading(
                inverter_time=at(12, 1), solar_w=100, battery_w=-100, battery_soc=50.0, solar_kwh_total=1.0
            ),
            Reading(inverter_time=at(12, 2), battery_w=-201, battery_soc=51.0, solar_kwh_total=2.0),
            Reading(inverter_time=at(12, 3), solar_w=201),
        ],
    )
    row = row_5m(engine, system_id, at(12, 5))
    assert row["sample_count"] == 3
    assert row["solar_w_avg"] == 151  # (100 + 201) / 2 = 150.5, half away from zero
    assert row["battery_w_avg"] == -151  # (-100 - 201) / 2 = -150.5
    assert (row["battery_w_min"], row["battery_w_max"]) == (-201, -100)
    assert row["load_w_avg"] is None
    assert row["load_w_min"] is None
    assert row["grid_w_max"] is None
    # The last reading has no SOC or total: the last value that exists counts.
    assert row["battery_soc_last"] == 51.0
    assert row["solar_kwh_total_last"] == 2.0
    assert row["load_kwh_total_last"] is None


# ------------------------------------------------------------------------------------------------
# Interval energy


def test_energy_from_totals(engine: Engine, system_id: int) -> None:
    flows = {"load_kwh_total": 5.0, "battery_in_kwh_total": 7.0, "battery_out_kwh_total": 3.0}
    write(
        engine,
        system_id,
        [
            Reading(inverter_time=at(12, 1), solar_kwh_total=10.0, grid_in_kwh_total=1.0, **flows),
            Reading(inverter_time=at(12, 4), solar_kwh_total=10.1, grid_in_kwh_total=1.0, **flows),
            Reading(
                inverter_time=at(12, 9),
                solar_kwh_total=10.25,  # rise since 12:05's 10.1: 150 Wh
                load_kwh_total=5.0125,  # stored as 5.013 (3 decimals): 13 Wh
                battery_in_kwh_total=7.0,
                battery_out_kwh_total=3.2,
                grid_in_kwh_total=1.0,
                grid_out_kwh_total=4.0,  # first total of the flow: nothing to rise from
            ),
        ],
    )
    # The system's first interval has no earlier totals.
    assert energies(row_5m(engine, system_id, at(12, 5))) == (None,) * 6
    assert energies(row_5m(engine, system_id, at(12, 10))) == (150, 13, 0, 200, 0, None)


def test_counter_reset_counts_zero_never_negative(engine: Engine, system_id: int) -> None:
    write(
        engine,
        system_id,
        [
            totals(at(12, 1), 100.0),
            totals(at(12, 6), 100.5),  # +500 Wh
            totals(at(12, 11), 0.2),  # the counter restarted: 0, not -100300
            totals(at(12, 16), 0.3),  # +100 Wh from the new counter
        ],
    )
    solar = [row_5m(engine, system_id, at(12, m))["solar_interval_wh"] for m in (5, 10, 15, 20)]
    assert solar == [None, 500, 0, 100]
    assert day_row(engine, system_id, "2025-08-17")["solar_kwh"] == 0.6  # type: ignore[index]


def test_energy_from_pushed_interval_energy(engine: Engine, system_id: int) -> None:
    write(
        engine,
        system_id,
        [
            Reading(inverter_time=at(12, 1), solar_wh_interval=10.4, load_w=600),
            Reading(inverter_time=at(12, 2), solar_wh_interval=20.3, load_w=600),
            Reading(inverter_time=at(12, 6), solar_wh_interval=5.5, load_w=600),
            Reading(inverter_time=at(12, 7), load_w=600),
        ],
    )
    first = row_5m(engine, system_id, at(12, 5))
    assert first["solar_interval_wh"] == 31  # 10.4 + 20.3 = 30.7
    # Load has no total and no pushed energy: its power is integrated (600 W for 60 s = 10 Wh).
    assert first["load_wh_interval"] == 10
    second = row_5m(engine, system_id, at(12, 10))
    assert second["solar_interval_wh"] == 6  # 5.5, half away from zero
    # 12:02 -> 12:06 (240 s) and 12:06 -> 12:07 (60 s) at 600 W: 50 Wh.
    assert second["load_wh_interval"] == 50
    assert second["battery_in_wh_interval"] is None  # no battery data at all


def test_energy_from_power_splits_sign_changes(engine: Engine, system_id: int) -> None:
    write(
        engine,
        system_id,
        [
            Reading(inverter_time=at(12, 1), solar_w=1800, load_w=1000, battery_w=600, grid_w=-1200),
            Reading(inverter_time=at(12, 3), solar_w=1800, load_w=1000, battery_w=-600, grid_w=2400),
        ],
    )
    row = row_5m(engine, system_id, at(12, 5))
    # One 120 s segment.
    # solar: 1800 W * 120 s = 60 Wh; load: 1000 W * 120 s = 33.3 Wh.
    # battery 600 -> -600 crosses zero at 60 s: discharging 600 * 60 / 2 J = 5 Wh, then charging 5 Wh.
    # grid -1200 -> 2400 crosses zero at 40 s: export 1200 * 40 / 2 J = 6.67 Wh,
    # then import 2400 * 80 / 2 J = 26.67 Wh.
    assert energies(row) == (60, 33, 5, 5, 27, 7)


def test_segment_counts_in_the_interval_of_its_later_reading(engine: Engine, system_id: int) -> None:
    write(
        engine,
        system_id,
        [
            Reading(inverter_time=at(12, 4), solar_w=1200),
            Reading(inverter_time=at(12, 6), solar_w=1200),
            Reading(inverter_time=at(12, 11), solar_w=1200),
        ],
    )
    assert row_5m(engine, system_id, at(12, 5))["solar_interval_wh"] is None  # nothing before 12:04
    assert row_5m(engine, system_id, at(12, 10))["solar_interval_wh"] == 40  # 12:04 -> 12:06, 120 s
    assert row_5m(engine, system_id, at(12, 15))["solar_interval_wh"] == 100  # 12:06 -> 12:11, 300 s


def test_gap_longer_than_ten_minutes_is_not_integrated(engine: Engine, system_id: int) -> None:
    write(
        engine,
        system_id,
        [
            Reading(inverter_time=at(12, 0), solar_w=3600),
            Reading(inverter_time=at(12, 10, 1), solar_w=3600),  # 601 s later: a gap
            Reading(inverter_time=at(12, 20, 1), solar_w=3600),  # 600 s later: still data
        ],
    )
    assert row_5m(engine, system_id, at(12, 15))["solar_interval_wh"] is None
    assert row_5m(engine, system_id, at(12, 25))["solar_interval_wh"] == 600


def test_day_energy_sums_unrounded_interval_energies(engine: Engine, system_id: int) -> None:
    # 4.8 W every minute from 00:01 to 01:00: 12 intervals of a fraction of a Wh each.
    write(engine, system_id, [Reading(inverter_time=at(0, m), solar_w=4.8) for m in range(1, 61)])
    with engine.connect() as conn:
        rows = rows_5m(conn, system_id)
    assert len(rows) == 12
    # The readings are stored as whole watts: 5 W. First interval: 4 segments of 60 s = 0.333 Wh;
    # the other 11: 5 segments = 0.417 Wh. Each rounds to 0 Wh.
    assert [row["solar_interval_wh"] for row in rows] == [0] * 12
    # The day sums before rounding: (4 + 11 * 5) * 60 s * 5 W = 4.917 Wh.
    assert day_row(engine, system_id, "2025-08-17")["solar_kwh"] == 0.005  # type: ignore[index]


# ------------------------------------------------------------------------------------------------
# Days


def test_missing_midnight_interval_uses_the_previous_days_last_total(engine: Engine, system_id: int) -> None:
    write(
        engine,
        system_id,
        [
            totals(at(23, 45, day=-1), 9.0),
            totals(at(23, 50, day=-1), 10.0),  # the last reading of 2025-08-16
            # No reading until 00:07: the 00:00 and 00:05 intervals are missing.
            totals(at(0, 7), 10.4),
            totals(at(0, 12), 10.5),
        ],
    )
    assert row_5m(engine, system_id, at(0, 10))["solar_interval_wh"] == 400  # 10.4 - 10.0
    aug16 = day_row(engine, system_id, "2025-08-16")
    aug17 = day_row(engine, system_id, "2025-08-17")
    assert aug16 is not None
    assert aug17 is not None
    assert (aug16["solar_kwh"], aug16["interval_count"], aug16["solar_alltime_kwh"]) == (1.0, 2, 10.0)
    # 400 + 100 Wh: nothing is lost across midnight.
    assert (aug17["solar_kwh"], aug17["interval_count"], aug17["solar_alltime_kwh"]) == (0.5, 2, 10.5)


def test_first_day_holds_what_was_measured(engine: Engine, system_id: int) -> None:
    write(engine, system_id, [totals(at(18, m), 50.0 + m / 100) for m in range(0, 30, 5)])
    with engine.connect() as conn:
        rows = rows_5m(conn, system_id)
    assert [row["solar_interval_wh"] for row in rows] == [None, 50, 50, 50, 50, 50]
    aug17 = day_row(engine, system_id, "2025-08-17")
    assert aug17 is not None
    assert (aug17["solar_kwh"], aug17["interval_count"], aug17["sample_count"]) == (0.25, 6, 6)
    assert aug17["load_kwh"] is None  # never measured


def test_daily_statistics(engine: Engine, system_id: int) -> None:
    write(
        engine,
        system_id,
        [
            Reading(inverter_time=at(9, 1), solar_w=100, load_w=300, battery_w=-50, battery_soc=40.0),
            Reading(inverter_time=at(9, 2), solar_w=300, load_w=100, battery_w=50, battery_soc=41.0),
            Reading(inverter_time=at(9, 6), solar_w=1000, load_w=200, battery_w=-500, battery_soc=45.5),
            Reading(inverter_time=at(9, 11), solar_w=2001, battery_soc=None, grid_in_kwh_total=2.0),
        ],
    )
    row = day_row(engine, system_id, "2025-08-17")
    assert row is not None
    # 5-minute solar: 09:05 avg 200 (100..300), 09:10 1000, 09:15 2001.
    assert (row["solar_w_min"], row["solar_w_avg"], row["solar_w_max"]) == (100, 1067, 2001)  # 3201 / 3
    # Load: 09:05 avg 200 (100..300), 09:10 200; 09:15 has none.
    assert (row["load_w_min"], row["load_w_avg"], row["load_w_max"]) == (100, 200, 300)
    # Battery: 09:05 avg 0 (-50..50), 09:10 -500: mean -250.
    assert (row["battery_w_min"], row["battery_w_avg"], row["battery_w_max"]) == (-500, -250, 50)
    assert row["grid_w_avg"] is None
    # SOC over battery_soc_last: 41.0 (09:05), 45.5 (09:10); 09:15 has none.
    assert (row["battery_soc_min"], row["battery_soc_avg"], row["battery_soc_max"]) == (41.0, 43.3, 45.5)
    assert row["battery_soc_end"] == 45.5
    assert row["grid_import_alltime_kwh"] == 2.0
    assert row["solar_alltime_kwh"] is None
    assert (row["interval_count"], row["sample_count"], row["version"]) == (3, 4, 1)


def test_unfinished_day_gets_no_row_until_it_ends(engine: Engine, system_id: int) -> None:
    result = write(engine, system_id, [totals(at(12, 1), 1.0)], now=at(12, 2))
    assert result.days == ()
    assert day_row(engine, system_id, "2025-08-17") is None
    # Once a row exists (a rebuild, say), every write to its day refreshes it.
    with engine.begin() as conn:
        assert recompute_days(conn, system_id, [AUG17], now=at(12, 3)) == ["2025-08-17"]
    result = write(engine, system_id, [totals(at(12, 6), 1.5)], now=at(12, 7))
    assert result.days == ("2025-08-17",)
    assert day_row(engine, system_id, "2025-08-17")["solar_kwh"] == 0.5  # type: ignore[index]


def test_late_reading_recomputes_a_finished_day(engine: Engine, system_id: int) -> None:
    now = at(1, 0, day=1)  # 2025-08-18 01:00: the 17th is finished
    first = write(engine, system_id, [totals(at(12, 1), 1.0), totals(at(12, 11), 2.0)], now=now)
    assert first.days == ("2025-08-17",)
    with engine.connect() as conn:
        created = conn.execute(sa.text("SELECT created_at FROM readings_agg_1d")).scalar_one()
    assert day_row(engine, system_id, "2025-08-17")["interval_count"] == 2  # type: ignore[index]
    late = write(engine, system_id, [totals(at(12, 6), 1.2)], now=now + 3600)
    # Its own interval and the next one (whose baseline it now is), and the day.
    assert late.intervals == (at(12, 10), at(12, 15))
    assert late.days == ("2025-08-17",)
    assert [row_5m(engine, system_id, at(12, m))["solar_interval_wh"] for m in (5, 10, 15)] == [
        None,
        200,
        800,
    ]
    row = day_row(engine, system_id, "2025-08-17")
    assert row is not None
    assert (row["interval_count"], row["solar_kwh"]) == (3, 1.0)
    with engine.connect() as conn:
        stamps = conn.execute(sa.text("SELECT created_at, updated_at FROM readings_agg_1d")).one()
    assert stamps == (created, now + 3600)  # created_at kept, updated_at refreshed


def test_late_reading_before_midnight_refreshes_the_next_day_too(engine: Engine, system_id: int) -> None:
    now = at(12, 0, day=2)
    write(engine, system_id, [totals(at(23, 40), 1.0), totals(at(0, 3, day=1), 2.0)], now=now)
    late = write(engine, system_id, [totals(at(23, 58), 1.5)], now=now)
    assert late.intervals == (at(0, 0, day=1), at(0, 5, day=1))
    assert late.days == ("2025-08-17", "2025-08-18")
    assert day_row(engine, system_id, "2025-08-18")["solar_kwh"] == 0.5  # type: ignore[index]


# ------------------------------------------------------------------------------------------------
# Order, duplicates, dependents


def _mixed_readings() -> list[Reading]:
    """Readings across midnight, irregularly spaced, with every energy rule in play."""
    return [
        Reading(
            inverter_time=at(23, 30, day=-1) + 97 * k + 11 * (k % 3),
            solar_w=100 * k,
            load_w=400 + k,
            battery_w=300 - 40 * k,
            grid_w=-200 + 25 * k,
            battery_soc=50 + k / 10,
            solar_kwh_total=20 + k / 100 if k % 4 else None,  # some intervals lack the total
            load_wh_interval=3.5 if k % 2 else None,  # pushed energy, sometimes
        )
        for k in range(30)
    ]


def test_out_of_order_writes_match_one_batch(new_store_url: Callable[[], str]) -> None:
    readings = _mixed_readings()
    batch = new_engine(new_store_url())
    single = new_engine(new_store_url())
    for eng in (batch, single):
        with eng.begin() as conn:
            add_system(conn)
    write(batch, 1, readings)
    for reading in reversed(readings):
        write(single, 1, [reading])
    with batch.connect() as a, single.connect() as b:
        assert rows_5m(a, 1) == rows_5m(b, 1)
        assert rows_1d(a, 1) == rows_1d(b, 1)
        assert len(rows_5m(a, 1)) > 5


def test_duplicates_are_ignored(engine: Engine, system_id: int) -> None:
    readings = [totals(at(12, m), 1 + m / 10, solar_w=m) for m in range(1, 12)]
    first = write(engine, system_id, [*readings, readings[0]])  # a repeat inside the batch too
    assert first.rows_written == 11
    with engine.connect() as conn:
        before = (rows_5m(conn, system_id), rows_1d(conn, system_id))
    again = write(engine, system_id, readings)
    assert (again.rows_written, again.intervals, again.days) == (0, (), ())
    with engine.connect() as conn:
        assert (rows_5m(conn, system_id), rows_1d(conn, system_id)) == before
        assert conn.execute(sa.text("SELECT count(*) FROM readings")).scalar_one() == 11


def test_total_rise_reaches_past_intervals_without_that_total(engine: Engine, system_id: int) -> None:
    write(engine, system_id, [totals(at(12, 11), 1.5)])
    write(engine, system_id, [Reading(inverter_time=at(12, 6), solar_w=100)])  # no total
    assert row_5m(engine, system_id, at(12, 15))["solar_interval_wh"] is None
    result = write(engine, system_id, [totals(at(12, 1), 1.0)])
    # 12:10 follows 12:05 (its first segment); 12:15 measures its rise from 12:05's total.
    assert result.intervals == (at(12, 5), at(12, 10), at(12, 15))
    assert row_5m(engine, system_id, at(12, 15))["solar_interval_wh"] == 500


def test_total_rise_reaches_rows_beyond_the_next_one(engine: Engine, system_id: int) -> None:
    write(engine, system_id, [totals(at(12, 31), 1.5)])
    write(engine, system_id, [Reading(inverter_time=at(12, 6 + 5 * k), solar_w=1) for k in range(5)])
    result = write(engine, system_id, [totals(at(12, 1), 1.0)])
    assert at(12, 35) in result.intervals
    assert row_5m(engine, system_id, at(12, 35))["solar_interval_wh"] == 500


def test_total_rise_reaches_rows_the_walk_did_not_reach(engine: Engine, system_id: int) -> None:
    write(engine, system_id, [totals(at(12, 31), 1.5)])
    write(engine, system_id, [Reading(inverter_time=at(12, 11), solar_w=5)])
    # 12:05 and 12:10 are new; the walk ends at 12:15 (the next row), short of 12:35.
    result = write(engine, system_id, [totals(at(12, 1), 1.0), Reading(inverter_time=at(12, 6), solar_w=5)])
    assert result.intervals == (at(12, 5), at(12, 10), at(12, 15), at(12, 35))
    assert row_5m(engine, system_id, at(12, 35))["solar_interval_wh"] == 500


def test_negative_pushed_energy_counts_zero(engine: Engine, system_id: int) -> None:
    write(
        engine,
        system_id,
        [
            Reading(inverter_time=at(12, 1), grid_out_wh_interval=-5.0),
            Reading(inverter_time=at(12, 2), grid_out_wh_interval=2.0),
        ],
    )
    assert row_5m(engine, system_id, at(12, 5))["grid_out_wh_interval"] == 0


def test_batch_spanning_days_is_processed_a_day_at_a_time(engine: Engine, system_id: int) -> None:
    write(engine, system_id, [totals(at(12, 1), 1.0), totals(at(12, 6, day=1), 2.0)])
    # Two chunks: the first one's next row is the second one's target, recomputed there.
    result = write(engine, system_id, [totals(at(12, 2), 1.1), totals(at(12, 7, day=1), 2.5)])
    assert result.intervals == (at(12, 5), at(12, 10, day=1))
    assert result.days == ("2025-08-17", "2025-08-18")
    assert row_5m(engine, system_id, at(12, 10, day=1))["solar_interval_wh"] == 1400  # 2.5 - 1.1


def test_recompute_of_intervals_without_readings_writes_nothing(engine: Engine, system_id: int) -> None:
    with engine.begin() as conn:
        assert recompute_intervals(conn, system_id, [at(12, 5)]) == []
        assert recompute_intervals(conn, system_id, []) == []
        assert recompute_days(conn, system_id, [AUG17]) == []
        assert recompute_days(conn, system_id, []) == []


def test_unknown_system_is_refused(engine: Engine) -> None:
    with engine.begin() as conn, pytest.raises(LookupError):
        recompute_days(conn, 99, [AUG17])


# ------------------------------------------------------------------------------------------------
# Rows written without readings (Enphase)


def _vendor_rows(engine: Engine, system_id: int, start: int, wh: list[int]) -> float:
    """Write vendor intervals (Enphase: solar only) through the interval writer; return the last total."""
    intervals = [
        Interval(
            interval_end=start + 300 * k,
            solar_w_avg=energy * 12,
            solar_w_min=energy * 12,
            solar_w_max=energy * 12,
            solar_wh=energy,
        )
        for k, energy in enumerate(wh)
    ]
    with engine.begin() as conn:
        write_intervals(conn, system_id, intervals, now=1)
    return row_5m(engine, system_id, start + 300 * (len(wh) - 1))["solar_kwh_total_last"]  # type: ignore[no-any-return]


def test_rows_without_readings_survive_and_count(engine: Engine, system_id: int) -> None:
    total = _vendor_rows(engine, system_id, at(10, 5), [30, 40, 50])
    with engine.connect() as conn:
        before = rows_5m(conn, system_id)
    with engine.begin() as conn:
        assert recompute_intervals(conn, system_id, [at(10, 5), at(10, 10)]) == []
        assert rebuild(conn, system_id, AUG17, AUG17, now=LATER) == (0, 1)
    with engine.connect() as conn:
        assert rows_5m(conn, system_id) == before
    # The first row's energy has no earlier total, but the vendor's own Wh is known: all count.
    assert day_row(engine, system_id, "2025-08-17")["solar_kwh"] == 0.12  # type: ignore[index]
    # A reading after them measures its rise from their running total.
    write(engine, system_id, [totals(at(10, 19), total + 0.07)])
    assert row_5m(engine, system_id, at(10, 20))["solar_interval_wh"] == 70
    assert day_row(engine, system_id, "2025-08-17")["solar_kwh"] == 0.19  # type: ignore[index]
    with engine.connect() as conn:
        assert rows_5m(conn, system_id)[:3] == before


def test_reading_between_rows_without_readings(engine: Engine, system_id: int) -> None:
    _vendor_rows(engine, system_id, at(10, 5), [30])
    write(engine, system_id, [totals(at(10, 9), 0.05)])
    _vendor_rows(engine, system_id, at(10, 20), [20])
    assert row_5m(engine, system_id, at(10, 10))["solar_interval_wh"] == 20  # from 0.03
    # The vendor row after it goes on from the reading's total.
    assert row_5m(engine, system_id, at(10, 20))["solar_kwh_total_last"] == 0.07
    write(engine, system_id, [totals(at(10, 8), 0.04)])  # late data in the readings row
    assert row_5m(engine, system_id, at(10, 20))["solar_interval_wh"] == 20  # untouched


# ------------------------------------------------------------------------------------------------
# Catch-up and rebuild


def test_catch_up_days(engine: Engine, system_id: int) -> None:
    with engine.begin() as conn:
        assert catch_up_days(conn, system_id, AUG19) == []  # no data at all
    # Three days of data written while each day was still running: no daily rows yet.
    for day in range(3):
        write(
            engine,
            system_id,
            [totals(at(h, 1, day=day), day + h / 10) for h in range(8, 12)],
            now=at(13, 0, day=day),
        )
    with engine.connect() as conn:
        assert rows_1d(conn, system_id) == []
    with engine.begin() as conn:
        assert catch_up_days(conn, system_id, AUG19, now=LATER) == ["2025-08-17", "2025-08-18"]
        assert catch_up_days(conn, system_id, AUG19, now=LATER) == []  # nothing left to do
        assert catch_up_days(conn, system_id, date(2025, 8, 20), now=LATER) == ["2025-08-19"]
    with engine.connect() as conn:
        assert [(row["day"], row["interval_count"]) for row in rows_1d(conn, system_id)] == [
            ("2025-08-17", 4),
            ("2025-08-18", 4),
            ("2025-08-19", 4),
        ]


def test_catch_up_starts_after_the_newest_daily_row(engine: Engine, system_id: int) -> None:
    for day in range(3):
        write(engine, system_id, [totals(at(9, 1, day=day), float(day))], now=at(10, 0, day=day))
    with engine.begin() as conn:
        recompute_days(conn, system_id, [AUG18])
        # The 17th lies before the newest daily row: catch-up leaves it to a rebuild.
        assert catch_up_days(conn, system_id, date(2025, 8, 20)) == ["2025-08-19"]


def test_rebuild_matches_incremental_writes(new_store_url: Callable[[], str]) -> None:
    readings = _mixed_readings() + [
        totals(at(h, 2 * k, 3), 30 + h + k / 50, solar_w=50 * k) for h in (6, 7) for k in range(10)
    ]
    incremental = new_engine(new_store_url())
    rebuilt = new_engine(new_store_url())
    for eng in (incremental, rebuilt):
        with eng.begin() as conn:
            add_system(conn)
    for reading in readings:
        write(incremental, 1, [reading])
    # The same readings stored raw, without any aggregate, then rebuilt.
    with rebuilt.begin() as conn:
        conn.execute(
            sa.text(
                "INSERT INTO readings (system_id, inverter_time, solar_w, load_w, battery_w, grid_w, "
                "battery_soc, solar_kwh_total, load_wh_interval) VALUES (1, :t, :s, :l, :b, :g, :soc, :tot, :lw)"
            ),
            [
                {
                    "t": r.inverter_time,
                    "s": r.solar_w,
                    "l": r.load_w,
                    "b": r.battery_w,
                    "g": r.grid_w,
                    "soc": r.battery_soc,
                    "tot": r.solar_kwh_total,
                    "lw": r.load_wh_interval,
                }
                for r in (reading.normalized() for reading in readings)
            ],
        )
        intervals, days = rebuild(conn, 1, AUG16, AUG18, now=LATER)
    with incremental.connect() as a, rebuilt.connect() as b:
        expected_5m, expected_1d = rows_5m(a, 1), rows_1d(a, 1)
        assert rows_5m(b, 1) == expected_5m
        assert rows_1d(b, 1) == expected_1d
    assert [row["day"] for row in expected_1d] == ["2025-08-16", "2025-08-17"]
    assert (intervals, days) == (len(expected_5m), 2)


def test_rebuild_leaves_unfinished_days_without_a_row(engine: Engine, system_id: int) -> None:
    write(engine, system_id, [totals(at(9, 1), 1.0), totals(at(9, 6), 2.0)], now=at(10, 0))
    with engine.begin() as conn:
        assert rebuild(conn, system_id, AUG16, AUG18, now=at(10, 0)) == (2, 0)
        assert rebuild(conn, system_id, AUG17, AUG17, now=at(0, 1, day=1)) == (2, 1)


def test_fast_rounding_matches_the_model() -> None:
    from custom_components.liveone.vendors.model import round_half_away, round_int

    for value in (0.5, 1.5, 2.5, -0.5, -2.5, 0.49999999999999994, 2.4999999999999996, 1e15 + 0.5, -0.0, 3.0):
        assert round_int(value) == int(round_half_away(value)), value
    assert round_int(None) is None


# ------------------------------------------------------------------------------------------------
# Glitches and resets of lifetime totals


def test_dip_of_a_total_counts_zero_and_its_recovery_adds_no_energy(engine: Engine, system_id: int) -> None:
    write(
        engine,
        system_id,
        [
            totals(at(12, 1), 100.0),
            totals(at(12, 6), 100.3),  # +300 Wh
            totals(at(12, 11), 95.3),  # 5 kWh low for one reading (95% of 100.3): a glitch
            totals(at(12, 16), 100.4),  # back: +100 Wh over the baseline 100.3, not +5100
        ],
    )
    rows = [row_5m(engine, system_id, at(12, m)) for m in (5, 10, 15, 20)]
    assert [row["solar_interval_wh"] for row in rows] == [None, 300, 0, 100]
    # The row keeps the total the inverter reported.
    assert [row["solar_kwh_total_last"] for row in rows] == [100.0, 100.3, 95.3, 100.4]
    assert day_row(engine, system_id, "2025-08-17")["solar_kwh"] == 0.4  # type: ignore[index]


def test_glitch_baseline_holds_across_polls_and_a_long_dip(engine: Engine, system_id: int) -> None:
    # One reading per poll: each write starts a new walk, so the baseline comes from the stored rows.
    write(engine, system_id, [totals(at(12, 1), 100.0)])
    write(engine, system_id, [totals(at(12, 6), 100.3)])
    for minute in range(11, 60, 5):  # ten intervals in a row at 99.0
        write(engine, system_id, [totals(at(12, minute), 99.0)])
    write(engine, system_id, [totals(at(13, 1), 100.5)])
    solar = [row["solar_interval_wh"] for row in rows_5m_of(engine, system_id)]
    assert solar == [None, 300, *([0] * 10), 200]
    assert day_row(engine, system_id, "2025-08-17")["solar_kwh"] == 0.5  # type: ignore[index]


def test_fall_below_ninety_percent_is_a_reset_and_the_new_total_the_baseline(
    engine: Engine, system_id: int
) -> None:
    write(
        engine,
        system_id,
        [
            totals(at(12, 1), 10.0),
            totals(at(12, 6), 8.9),  # below 9.0: the counter was reset (to 8.9)
            totals(at(12, 11), 9.5),  # +600 Wh from the new baseline 8.9
            totals(at(12, 16), 9.0),  # 94.7% of 9.5: a glitch
            totals(at(12, 21), 9.6),  # +100 Wh over 9.5
        ],
    )
    solar = [row["solar_interval_wh"] for row in rows_5m_of(engine, system_id)]
    assert solar == [None, 0, 600, 0, 100]


def test_late_reading_that_raises_a_baseline_recomputes_the_glitches_after_it(
    engine: Engine, system_id: int
) -> None:
    write(
        engine,
        system_id,
        [
            totals(at(12, 1), 100.0),
            totals(at(12, 6), 100.3),
            totals(at(12, 11), 95.3),  # a glitch under the baseline 100.3
            totals(at(12, 16), 100.4),
        ],
    )
    # A late reading at the end of the second interval: the baseline is now 101.0, and both later rows
    # fall short of it (the second only because the glitch kept the baseline).
    write(engine, system_id, [totals(at(12, 9), 101.0)])
    solar = [row["solar_interval_wh"] for row in rows_5m_of(engine, system_id)]
    assert solar == [None, 1000, 0, 0]
    assert day_row(engine, system_id, "2025-08-17")["solar_kwh"] == 1.0  # type: ignore[index]


def test_late_reading_that_turns_a_glitch_into_a_reset_recomputes_the_row_after_it(
    engine: Engine, system_id: int
) -> None:
    # Without the late reading 10.0 -> 9.5 is a glitch: the baseline stays 10.0 and 10.3 adds 300 Wh.
    write(engine, system_id, [totals(at(12, 1), 10.0), totals(at(12, 11), 9.5), totals(at(12, 16), 10.3)])
    assert [row["solar_interval_wh"] for row in rows_5m_of(engine, system_id)] == [None, 0, 300]
    # A late 20.0 before them: 9.5 is now a reset (below 90% of 20.0), so 9.5 is the baseline of the
    # row after it, which becomes +800 Wh although neither its readings nor the reset row's energy changed.
    write(engine, system_id, [totals(at(12, 6), 20.0)])
    assert [row["solar_interval_wh"] for row in rows_5m_of(engine, system_id)] == [None, 10000, 0, 800]
    assert day_row(engine, system_id, "2025-08-17")["solar_kwh"] == 10.8  # type: ignore[index]
    # The same readings in one batch give the same rows.
    fresh = new_engine("sqlite://")
    with fresh.begin() as conn:
        fresh_id = add_system(conn)
    write(fresh, fresh_id, [totals(at(12, m), v) for m, v in ((1, 10.0), (6, 20.0), (11, 9.5), (16, 10.3))])
    assert rows_5m_of(fresh, fresh_id) == rows_5m_of(engine, system_id)


def test_baseline_is_found_beyond_a_day_of_rows_without_that_total(engine: Engine, system_id: int) -> None:
    # A day and a half of intervals with power only, between two totals.
    power = [Reading(inverter_time=at(12, 3) + n * 300, solar_w=100) for n in range(450)]
    write(engine, system_id, [totals(at(12, 1), 100.0), *power])
    later = at(12, 3) + 450 * 300
    write(engine, system_id, [totals(later, 99.5)])  # a glitch against 100.0, far back
    write(engine, system_id, [totals(later + 300, 100.2)])
    assert row_5m(engine, system_id, interval_end_of(later))["solar_interval_wh"] == 0
    assert row_5m(engine, system_id, interval_end_of(later + 300))["solar_interval_wh"] == 200


def rows_5m_of(engine: Engine, system_id: int) -> list[dict[str, object]]:
    with engine.connect() as conn:
        return rows_5m(conn, system_id)
