"""A composite's 5-minute rows computed from its sources' rows (store/combine.py), on every backend.

Two sources: "roof" gives solar, "shed" battery, grid and load (readings every minute with lifetime
totals). The composite's rows are written through the interval writer as a composite's coordinator does.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy.engine import Engine

from custom_components.liveone.store import combine
from custom_components.liveone.store.combine import Roles, combine as combine_rows
from custom_components.liveone.store.intervals import write_intervals
from custom_components.liveone.vendors.model import Interval, Reading

from .conftest import LATER, MIDNIGHT, add_system, day_row, rows_1d, rows_5m, write

NOON = MIDNIGHT + 12 * 3600
DAY_TEXT = "2025-08-17"
SOLAR = ("solar_w_avg", "solar_w_min", "solar_w_max", "solar_interval_wh")
BATTERY = (
    "battery_w_avg",
    "battery_w_min",
    "battery_w_max",
    "battery_soc_last",
    "battery_in_wh_interval",
    "battery_out_wh_interval",
)
GRID = ("grid_w_avg", "grid_w_min", "grid_w_max", "grid_in_wh_interval", "grid_out_wh_interval")
LOAD = ("load_w_avg", "load_w_min", "load_w_max", "load_wh_interval")


def _roof(t: int, i: int) -> Reading:
    return Reading(inverter_time=t, solar_w=2000 + 10 * i, solar_kwh_total=100 + i * 0.034)


def _shed(t: int, i: int) -> Reading:
    return Reading(
        inverter_time=t,
        load_w=900 + i,
        battery_w=-800 + 5 * i,
        grid_w=-300 - i,
        battery_soc=50 + i / 10,
        load_kwh_total=50 + i * 0.015,
        battery_in_kwh_total=20 + i * 0.013,
        battery_out_kwh_total=10.0,
        grid_in_kwh_total=5.0,
        grid_out_kwh_total=7 + i * 0.005,
    )


MINUTES = [NOON + 60 * i for i in range(1, 61)]  # an hour of minutes after noon


@pytest.fixture
def systems(engine: Engine) -> tuple[int, int, int]:
    """The two sources with an hour of readings, and the empty composite."""
    with engine.begin() as conn:
        roof, shed = (
            add_system(conn, site="roof", vendor="demo"),
            add_system(conn, site="shed", vendor="demo"),
        )
        home = add_system(conn, site="home", vendor="composite")
    write(engine, roof, [_roof(t, i) for i, t in enumerate(MINUTES)])
    write(engine, shed, [_shed(t, i) for i, t in enumerate(MINUTES)])
    return roof, shed, home


def _build(engine: Engine, roles: Roles, home: int, first: int, last: int) -> list[Interval]:
    with engine.begin() as conn:
        intervals = combine.combined_range(conn, roles, first, last)
        write_intervals(conn, home, intervals, now=LATER)
    return intervals


def _by_end(engine: Engine, system_id: int) -> dict[int, dict[str, Any]]:
    with engine.connect() as conn:
        return {row["interval_end"]: row for row in rows_5m(conn, system_id)}


def test_rows_are_the_chosen_columns_and_the_day_their_sum(
    engine: Engine, systems: tuple[int, int, int]
) -> None:
    roof, shed, home = systems
    roles = Roles(solar=(roof,), battery=shed, grid=shed, load=shed)
    _build(engine, roles, home, MIDNIGHT, LATER)
    roof_rows, shed_rows, home_rows = (_by_end(engine, s) for s in systems)
    assert home_rows.keys() == roof_rows.keys() == shed_rows.keys()
    assert len(home_rows) == 12  # 12:01 .. 13:00 lies in the 12 intervals ending 12:05 .. 13:00
    for end, row in home_rows.items():
        assert {c: row[c] for c in SOLAR} == {c: roof_rows[end][c] for c in SOLAR}
        for columns in (BATTERY, GRID, LOAD):
            assert {c: row[c] for c in columns} == {c: shed_rows[end][c] for c in columns}
        assert row["sample_count"] == roof_rows[end]["sample_count"] + shed_rows[end]["sample_count"]
    # The first interval of each source has no energy (no baseline); the composite's neither.
    first = min(home_rows)
    assert home_rows[first]["solar_interval_wh"] is None
    day = day_row(engine, home, DAY_TEXT)
    assert day is not None
    solar_wh = sum(r["solar_interval_wh"] or 0 for r in home_rows.values())
    load_wh = sum(r["load_wh_interval"] or 0 for r in home_rows.values())
    assert day["solar_kwh"] == pytest.approx(solar_wh / 1000, abs=0.0005)
    assert day["load_kwh"] == pytest.approx(load_wh / 1000, abs=0.0005)
    assert day["interval_count"] == 12
    # The composite keeps a running total of its own (the interval writer chains it).
    with engine.connect() as conn:
        totals = combine.latest_totals(conn, home)
    assert totals["solar"] == pytest.approx(solar_wh / 1000, abs=0.0005)
    assert totals["battery_out"] == 0.0  # the battery never discharged: a total of 0, not None


def test_a_late_reading_recomputes_the_interval_and_the_day(
    engine: Engine, systems: tuple[int, int, int]
) -> None:
    roof, shed, home = systems
    roles = Roles(solar=(roof,), battery=shed, grid=shed, load=shed)
    _build(engine, roles, home, MIDNIGHT, LATER)
    before_day = day_row(engine, home, DAY_TEXT)
    assert before_day is not None
    # A late roof reading, between two stored ones, with a large power.
    late = Reading(inverter_time=MINUTES[20] + 30, solar_w=9000, solar_kwh_total=100 + 20 * 0.034)
    result = write(engine, roof, [late])
    assert result.intervals
    with engine.begin() as conn:
        intervals = combine.combined_intervals(conn, roles, result.intervals)
        write_intervals(conn, home, intervals, now=LATER + 60)
    roof_rows, home_rows = _by_end(engine, roof), _by_end(engine, home)
    changed = intervals[0].interval_end
    assert home_rows[changed]["solar_w_max"] == 9000 == roof_rows[changed]["solar_w_max"]
    assert home_rows[changed]["solar_w_avg"] == roof_rows[changed]["solar_w_avg"]
    after_day = day_row(engine, home, DAY_TEXT)
    assert after_day is not None
    assert after_day["solar_w_max"] == 9000 != before_day["solar_w_max"]
    assert after_day["solar_kwh"] == pytest.approx(
        sum(r["solar_interval_wh"] or 0 for r in home_rows.values()) / 1000, abs=0.0005
    )


def test_the_balance_when_no_load_source(engine: Engine, systems: tuple[int, int, int]) -> None:
    roof, shed, home = systems
    roles = Roles(solar=(roof,), battery=shed, grid=shed)
    _build(engine, roles, home, MIDNIGHT, LATER)
    roof_rows, shed_rows, home_rows = _by_end(engine, roof), _by_end(engine, shed), _by_end(engine, home)
    checked = 0
    for end, row in home_rows.items():
        solar, shed_row = roof_rows[end], shed_rows[end]
        assert row["load_w_avg"] == solar["solar_w_avg"] + shed_row["battery_w_avg"] + shed_row["grid_w_avg"]
        assert row["load_w_min"] is None
        assert row["load_w_max"] is None
        energies = (
            solar["solar_interval_wh"],
            shed_row["battery_out_wh_interval"],
            shed_row["battery_in_wh_interval"],
            shed_row["grid_in_wh_interval"],
            shed_row["grid_out_wh_interval"],
        )
        if None in energies:
            assert row["load_wh_interval"] is None
            continue
        s, b_out, b_in, g_in, g_out = energies
        assert row["load_wh_interval"] == max(0, s + b_out - b_in + g_in - g_out)
        checked += 1
    assert checked == 11


def _row(**values: Any) -> dict[str, Any]:
    columns = combine._SOURCE_COLUMNS
    return {column: values.get(column) for column in columns} | {
        "sample_count": values.get("sample_count", 1)
    }


def test_two_solar_arrays_are_summed_without_extremes() -> None:
    rows = {
        1: _row(solar_w_avg=1000, solar_w_min=900, solar_w_max=1100, solar_interval_wh=80),
        2: _row(solar_w_avg=500, solar_w_min=400, solar_w_max=600, solar_interval_wh=None, sample_count=5),
    }
    interval = combine_rows(rows, Roles(solar=(1, 2)), 300)
    assert interval == Interval(
        interval_end=300,
        solar_w_avg=1500,
        solar_w_min=None,
        solar_w_max=None,
        solar_wh=80,
        load_w_avg=1500,  # the balance: solar only, no battery or grid source
        load_wh=None,  # array 2's energy is unknown, so the balance's is too
        sample_count=6,
    )


def test_the_balance_rule_for_missing_and_unknown_roles() -> None:
    solar = _row(solar_w_avg=200, solar_interval_wh=10)
    battery_grid = _row(
        battery_w_avg=-500,
        battery_in_wh_interval=40,
        battery_out_wh_interval=0,
        grid_w_avg=100,
        grid_in_wh_interval=5,
        grid_out_wh_interval=0,
    )
    # Battery charging faster than solar and grid supply: the energy balance is clamped at 0, the
    # power kept as measured.
    interval = combine_rows({1: solar, 2: battery_grid}, Roles(solar=(1,), battery=2, grid=2), 300)
    assert interval is not None
    assert (interval.load_w_avg, interval.load_wh) == (-200, 0)
    # A role whose source has no row makes the balance unknown; a role without a source counts 0.
    interval = combine_rows({1: solar}, Roles(solar=(1,), battery=2), 300)
    assert interval is not None
    assert (interval.load_w_avg, interval.load_wh, interval.battery_w_avg) == (None, None, None)
    interval = combine_rows({2: battery_grid}, Roles(battery=2, grid=2), 300)
    assert interval is not None
    assert (interval.load_w_avg, interval.load_wh, interval.solar_w_avg) == (-400, 0, None)
    # A removed source has no system: its role is unknown.
    assert combine_rows({1: solar}, Roles(solar=(1,), battery=combine.NO_SYSTEM), 300) == Interval(
        interval_end=300, solar_w_avg=200, solar_wh=10, load_w_avg=None, load_wh=None, sample_count=1
    )
    # No source has a row: no interval.
    assert combine_rows({}, Roles(solar=(1,), battery=2), 300) is None


def test_queries_of_an_empty_mapping_and_the_rebuild_helpers(
    engine: Engine, systems: tuple[int, int, int]
) -> None:
    roof, shed, home = systems
    with engine.begin() as conn:
        assert combine.combined_range(conn, Roles(), MIDNIGHT, LATER) == []
        assert combine.combined_intervals(conn, Roles(), [NOON + 300]) == []
        assert combine.combined_intervals(conn, Roles(solar=(roof,)), []) == []
        assert combine.source_span(conn, Roles()) is None
        assert combine.source_span(conn, Roles(solar=(home,))) is None
        assert combine.source_span(conn, Roles(solar=(roof,), grid=shed)) == (NOON + 300, NOON + 3600)
        assert not combine.has_rows(conn, home)
        assert combine.latest_totals(conn, home) == dict.fromkeys(
            ("solar", "load", "battery_in", "battery_out", "grid_in", "grid_out")
        )
    _build(engine, Roles(solar=(roof,), load=shed), home, MIDNIGHT, LATER)
    with engine.begin() as conn:
        assert combine.has_rows(conn, home)
        assert rows_1d(conn, home)
        assert combine.clear_rows(conn, home) == 12
        assert not combine.has_rows(conn, home)
        assert rows_1d(conn, home) == []
        # The sources keep every row.
        assert len(rows_5m(conn, roof)) == len(rows_5m(conn, shed)) == 12
