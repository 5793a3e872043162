"""Hourly energy for long-term statistics, straight from the store (no Home Assistant)."""

from __future__ import annotations

from itertools import pairwise

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from custom_components.liveone.store import aggregate
from custom_components.liveone.store.schema import readings_agg_5m
from custom_components.liveone.store.statistics import (
    EnergyHour,
    hour_of,
    hourly_energy,
    hours_to_import,
)
from custom_components.liveone.vendors.model import Reading

from .conftest import LATER, MIDNIGHT, write

H0 = MIDNIGHT + 10 * 3600  # an hour boundary (10:00 local)


def _power(t: int, solar: float = 1200, load: float = 600, battery: float = -300) -> Reading:
    return Reading(inverter_time=t, solar_w=solar, load_w=load, battery_w=battery, grid_w=0)


def _expected_wh(times: list[int], watts: float, hour: int) -> float:
    """Trapezoid of constant power: each gap of at most 10 minutes counts in the hour of its later reading."""
    return sum(
        watts * (t - before) / 3600
        for before, t in pairwise(times)
        if hour < t <= hour + 3600 and t - before <= 600
    )


def test_hour_of_puts_the_interval_ending_on_the_hour_in_the_hour_before() -> None:
    assert hour_of(H0 + 300) == H0  # 10:00-10:05 is the first interval of 10:00
    assert hour_of(H0 + 3600) == H0  # 10:55-11:00 is its last
    assert hour_of(H0 + 3900) == H0 + 3600


def test_hours_follow_the_interval_energies(engine: Engine, system_id: int) -> None:
    # One reading a minute from 10:00 to 12:30, with a 20-minute outage (no energy) from 11:10 to 11:30.
    times = [t for t in range(H0, H0 + 2 * 3600 + 1801, 60) if not H0 + 4200 < t < H0 + 5400]
    write(engine, system_id, [_power(t) for t in times])

    with engine.connect() as conn:
        found = hours_to_import(conn, system_id, first=None)
        # The hour of the newest interval (12:00-13:00) is still filling: not returned.
        assert found.complete_until == H0 + 2 * 3600
        assert [hour.start for hour in found.hours] == [H0 - 3600, H0, H0 + 3600]
        # 09:00 holds only the first reading's interval (no segment to integrate).
        assert found.hours[0] == EnergyHour(H0 - 3600, (None,) * 6)
        solar, load, battery_in, battery_out, grid_in, grid_out = zip(
            *(hour.kwh for hour in found.hours[1:]), strict=True
        )
        assert solar == tuple(_expected_wh(times, 1200, h) / 1000 for h in (H0, H0 + 3600))
        assert load == tuple(_expected_wh(times, 600, h) / 1000 for h in (H0, H0 + 3600))
        assert battery_in == tuple(_expected_wh(times, 300, h) / 1000 for h in (H0, H0 + 3600))
        assert battery_out == grid_in == grid_out == (0.0, 0.0)
        assert solar == (1.2, 0.8)  # a whole hour, then an hour with 20 minutes missing
        # The store's 5-minute rows say the same, interval by interval.
        rows = conn.execute(
            sa.select(readings_agg_5m.c.interval_end, readings_agg_5m.c.solar_interval_wh).where(
                readings_agg_5m.c.system_id == system_id
            )
        ).all()
        assert sum(wh for end, wh in rows if H0 < end <= H0 + 3600 and wh is not None) == 1200
        stamp = found.stamp
        assert stamp == LATER


def test_asking_from_an_hour_and_watermarks(engine: Engine, system_id: int) -> None:
    write(engine, system_id, [_power(t) for t in range(H0, H0 + 3 * 3600 + 1, 60)], now=LATER)
    with engine.connect() as conn:
        assert [h.start for h in hours_to_import(conn, system_id, first=H0 + 3600).hours] == [H0 + 3600]
        # Before the first data: starts at the system's first hour, not earlier.
        assert hours_to_import(conn, system_id, first=H0 - 10 * 3600).hours[0].start == H0 - 3600
        # Rows written at or after the watermark count as changed (the same second included).
        assert (
            hours_to_import(conn, system_id, first=H0 + 3600, changed_after=LATER + 1).hours[0].start
            == H0 + 3600
        )
        assert (
            hours_to_import(conn, system_id, first=H0 + 3600, changed_after=LATER).hours[0].start == H0 - 3600
        )

    # A late rewrite of 10:20 (a reading that was missing) is found from the previous watermark.
    with engine.begin() as conn:
        conn.execute(sa.delete(aggregate.readings).where(aggregate.readings.c.inverter_time == H0 + 1200))
        aggregate.recompute_intervals(conn, system_id, [H0 + 1200], now=LATER + 100)
    with engine.connect() as conn:
        found = hours_to_import(conn, system_id, first=H0 + 2 * 3600, changed_after=LATER + 1)
        assert [h.start for h in found.hours] == [H0, H0 + 3600]
        assert found.stamp == LATER + 100
        # Nothing complete past the asked hour: no hours, the watermark still comes back.
        found = hours_to_import(conn, system_id, first=H0 + 2 * 3600, changed_after=LATER + 101)
        assert found.hours == ()
        assert found.stamp == LATER + 100


def test_no_rows_and_empty_hours(engine: Engine, system_id: int) -> None:
    with engine.connect() as conn:
        found = hours_to_import(conn, system_id, first=None, changed_after=0)
        assert (found.hours, found.complete_until, found.stamp) == ((), None, None)
        assert hourly_energy(conn, system_id, H0, H0 + 7200) == [
            EnergyHour(H0, (None,) * 6),
            EnergyHour(H0 + 3600, (None,) * 6),
        ]
