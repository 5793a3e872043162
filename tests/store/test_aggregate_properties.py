"""Aggregation invariants over generated readings (Hypothesis).

Each example gets fresh in-memory stores. The interval energies are checked against a reference
written here from docs/aggregation.md's rules alone, in the simplest (slow) way, so that the store's
incremental, chunked implementation is compared with something independent of it.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import date
import math
import random
from typing import Any, Final

from hypothesis import HealthCheck, example, given, settings, strategies as st
import pytest
import sqlalchemy as sa

from custom_components.liveone.store import aggregate, backfill, writer
from custom_components.liveone.store.aggregate import day_bounds, interval_end_of, local_day, rebuild
from custom_components.liveone.vendors.model import ENERGY_FLOWS, Reading, round_half_away, round_int

from .conftest import ENERGY_COLUMNS, add_system, new_engine, rows_1d, rows_5m

DAILY_ENERGY = (
    "solar_kwh",
    "load_kwh",
    "battery_charge_kwh",
    "battery_discharge_kwh",
    "grid_import_kwh",
    "grid_export_kwh",
)
# Each flow's power attribute and whether it takes the negative part of it.
FLOW_POWER = {
    "solar": ("solar_w", False),
    "load": ("load_w", False),
    "battery_in": ("battery_w", True),
    "battery_out": ("battery_w", False),
    "grid_in": ("grid_w", False),
    "grid_out": ("grid_w", True),
}
EPS = 1e-6
PROPERTY_SETTINGS = settings(max_examples=75, deadline=None, suppress_health_check=[HealthCheck.too_slow])


# ------------------------------------------------------------------------------------------------
# Reference


def _positive_area(a: float, b: float, seconds: float) -> float:
    """Integral of the positive part of a straight line from a to b (W·s), split at its zero."""
    if a >= 0 and b >= 0:
        return (a + b) / 2 * seconds
    if a <= 0 and b <= 0:
        return 0.0
    crossing = seconds * a / (a - b)  # seconds from the start until the line crosses zero
    return a * crossing / 2 if a > 0 else b * (seconds - crossing) / 2


def reference_energies(readings: list[Reading]) -> dict[int, list[float | None]]:
    """Each interval's unrounded energy per flow, straight from docs/aggregation.md#interval-energy."""
    ordered = sorted(readings, key=lambda r: r.inverter_time)
    intervals: dict[int, list[int]] = defaultdict(list)  # interval end -> indexes into ordered
    for index, reading in enumerate(ordered):
        intervals[math.ceil(reading.inverter_time / 300) * 300].append(index)
    baseline: dict[str, float] = {}
    result = {}
    for end in sorted(intervals):
        members = [ordered[i] for i in intervals[end]]
        energies: list[float | None] = []
        for flow in ENERGY_FLOWS:
            present = [getattr(r, f"{flow}_kwh_total") for r in members]
            present = [v for v in present if v is not None]
            pushed = [getattr(r, f"{flow}_wh_interval") for r in members]
            pushed = [v for v in pushed if v is not None]
            if present:
                before, now = baseline.get(flow), present[-1]
                if before is None:
                    energies.append(None)  # the first total: nothing to rise from
                    baseline[flow] = now
                elif now >= before:
                    energies.append((now - before) * 1000)
                    baseline[flow] = now
                elif now < 0.9 * before:
                    energies.append(0.0)  # a reset: the counter starts again from here
                    baseline[flow] = now
                else:
                    energies.append(0.0)  # a glitch: the baseline stays for the recovery
            elif pushed:
                energies.append(max(0.0, sum(pushed)))
            else:
                column, negative = FLOW_POWER[flow]
                sign = -1 if negative else 1
                area, any_segment = 0.0, False
                for i in intervals[end]:
                    if i == 0:
                        continue
                    a, b = getattr(ordered[i - 1], column), getattr(ordered[i], column)
                    seconds = ordered[i].inverter_time - ordered[i - 1].inverter_time
                    if a is None or b is None or seconds > 600:
                        continue
                    area += _positive_area(sign * a, sign * b, seconds)
                    any_segment = True
                energies.append(area / 3600 if any_segment else None)
        result[end] = energies
    return result


# ------------------------------------------------------------------------------------------------
# Generated data


@st.composite
def scenarios(draw: st.DrawFn) -> dict[str, Any]:
    offset = draw(st.sampled_from([600, 0, -300, 345]))
    start = day_bounds(date(2025, 8, 17), offset)[0] + draw(st.integers(-3 * 3600, 3600))
    # Each flow is measured by a lifetime total, by pushed interval energies, or by power only.
    modes = {flow: draw(st.sampled_from(["total", "pushed", "power"])) for flow in ENERGY_FLOWS}
    counters = {flow: draw(st.integers(0, 10**6)) for flow in ENERGY_FLOWS}  # Wh
    gaps = draw(
        st.lists(
            st.one_of(st.integers(1, 120), st.integers(120, 700), st.integers(700, 5000)),
            min_size=1,
            max_size=24,
        )
    )
    readings = []
    t = start
    for gap in gaps:
        t += gap
        values: dict[str, Any] = {
            "solar_w": draw(st.none() | st.integers(-20, 6000)),
            "load_w": draw(st.none() | st.integers(0, 6000)),
            "battery_w": draw(st.none() | st.integers(-5000, 5000)),
            "grid_w": draw(st.none() | st.integers(-5000, 5000)),
            "battery_soc": draw(st.none() | st.floats(0, 100)),
        }
        for flow, mode in modes.items():
            if mode == "total":
                step = draw(st.integers(0, 400))
                if draw(st.integers(0, 11)) == 0:  # the counter restarts now and then
                    counters[flow] = step
                else:
                    counters[flow] += step
                missing = draw(st.integers(0, 5)) == 0
                reported = counters[flow]
                if draw(st.integers(0, 7)) == 0:  # a glitch: this reading alone is a little low
                    reported = int(reported * draw(st.floats(0.5, 1.0)))
                values[f"{flow}_kwh_total"] = None if missing else reported / 1000
            elif mode == "pushed":
                values[f"{flow}_wh_interval"] = draw(st.none() | st.floats(0, 80))
        readings.append(Reading(inverter_time=t, **values))
    end = t
    now = draw(st.sampled_from([end + 2 * 86400, start + (end - start) // 2, start]))
    seed = draw(st.integers(0, 2**32))
    return {"offset": offset, "readings": readings, "now": now, "seed": seed}


def _store(offset: int) -> tuple[sa.Engine, int]:
    engine = new_engine("sqlite://")
    with engine.begin() as conn:
        system_id = add_system(conn, offset=offset)
    return engine, system_id


def _dump(engine: sa.Engine, system_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    with engine.connect() as conn:
        return rows_5m(conn, system_id), rows_1d(conn, system_id)


# The per-poll write path and the set-based backfill path: every property holds for both.
WRITERS = pytest.mark.parametrize("path", ["per-poll", "backfill"])
_WRITE = {"per-poll": writer.write_readings, "backfill": backfill.write_backfill}


def _write(
    engine: sa.Engine, system_id: int, readings: list[Reading], now: int, path: str = "per-poll"
) -> writer.WriteResult:
    with engine.begin() as conn:
        # Received no earlier than the newest reading: a reading ahead of its receipt would be refused.
        received = max([now, *(int(r.inverter_time) for r in readings)])
        return _WRITE[path](conn, system_id, readings, received_time=received, now=now)


# ------------------------------------------------------------------------------------------------
# Properties


@WRITERS
@PROPERTY_SETTINGS
@given(scenario=scenarios())
def test_energies_follow_the_rules_and_days_sum_their_intervals(path: str, scenario: dict[str, Any]) -> None:
    offset, readings, now = scenario["offset"], scenario["readings"], scenario["now"]
    engine, system_id = _store(offset)
    _write(engine, system_id, readings, now, path)
    intervals, days = _dump(engine, system_id)
    expected = reference_energies([r.normalized() for r in readings])
    assert [row["interval_end"] for row in intervals] == sorted(expected)

    for row in intervals:
        for column, energy in zip(ENERGY_COLUMNS, expected[row["interval_end"]], strict=True):
            if energy is None:
                assert row[column] is None, (row["interval_end"], column)
            else:
                assert row[column] >= 0
                assert abs(row[column] - energy) <= 0.5 + EPS, (row["interval_end"], column, energy)

    today = aggregate.local_date_at(now, offset)
    by_day: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in intervals:
        by_day[local_day(row["interval_end"], offset).isoformat()].append(row)
    # Exactly the finished days with data have a daily row.
    assert [row["day"] for row in days] == sorted(day for day in by_day if day < today.isoformat())
    for day_row in days:
        members = by_day[day_row["day"]]
        assert day_row["interval_count"] == len(members)
        assert day_row["sample_count"] == sum(row["sample_count"] for row in members)
        for flow, (column, day_column) in enumerate(zip(ENERGY_COLUMNS, DAILY_ENERGY, strict=True)):
            unrounded = [expected[row["interval_end"]][flow] for row in members]
            known = [energy for energy in unrounded if energy is not None]
            if not known:
                assert day_row[day_column] is None
                continue
            kwh = day_row[day_column]
            assert kwh >= 0
            # The day is the sum of its intervals before rounding, to the 3 decimals of kWh.
            assert abs(kwh * 1000 - sum(known)) <= 0.5 + EPS, (day_row["day"], day_column)
            stored = sum(row[column] for row in members if row[column] is not None)
            assert abs(kwh * 1000 - stored) <= 0.5 * len(known) + 0.5 + EPS


_NOON: Final = day_bounds(date(2025, 8, 17), 600)[0] + 12 * 3600
# A late reading that turns a glitch (10.0 -> 9.5) into a reset (20.0 -> 9.5): the row after the reset
# rises from 9.5, not from 10.0, although neither its readings nor the reset row's energy changed. Seed
# 14 sends the 20.0 in a batch of its own after the others.
_GLITCH_BECOMES_RESET: Final = {
    "offset": 600,
    "readings": [
        Reading(inverter_time=_NOON + 60 + 300 * n, solar_kwh_total=total)
        for n, total in enumerate((10.0, 20.0, 9.5, 10.3))
    ],
    "now": _NOON + 3 * 86400,
    "seed": 14,
}


@WRITERS
@PROPERTY_SETTINGS
@given(scenario=scenarios())
@example(scenario=_GLITCH_BECOMES_RESET)
def test_order_batches_and_repeats_do_not_change_the_aggregates(path: str, scenario: dict[str, Any]) -> None:
    offset, readings, now = scenario["offset"], scenario["readings"], scenario["now"]
    rng = random.Random(scenario["seed"])
    one_batch, one_id = _store(offset)
    _write(one_batch, one_id, readings, now, path)
    expected = _dump(one_batch, one_id)

    # The same readings again: nothing new, nothing changes.
    again = _write(one_batch, one_id, readings, now, path)
    assert (again.rows_written, again.intervals, again.days) == (0, (), ())
    assert _dump(one_batch, one_id) == expected

    # Shuffled, in random batches, with some readings sent twice.
    shuffled = readings + rng.sample(readings, k=len(readings) // 3)
    rng.shuffle(shuffled)
    pieces, store_id = _store(offset)
    while shuffled:
        size = rng.randint(1, 5)
        _write(pieces, store_id, shuffled[:size], now, path)
        shuffled = shuffled[size:]
    assert _dump(pieces, store_id) == expected

    # A rebuild over the whole range recomputes the same rows.
    first = local_day(readings[0].inverter_time, offset)
    last = local_day(readings[-1].inverter_time, offset)
    with one_batch.begin() as conn:
        rebuild(conn, one_id, first, last, now=now)
    assert _dump(one_batch, one_id) == expected


@settings(max_examples=200, deadline=None)
@given(
    t=st.integers(0, 4 * 10**9),
    offset=st.integers(-720, 840).map(lambda m: m - m % 15),
)
def test_days_hold_their_intervals(t: int, offset: int) -> None:
    end = interval_end_of(t)
    assert end - 300 < t <= end
    assert end % 300 == 0
    start, stop = day_bounds(local_day(end, offset), offset)
    assert start < end <= stop
    assert stop - start == 86400


@settings(max_examples=300, deadline=None)
@given(st.floats(-1e12, 1e12, allow_nan=False) | st.integers(-(10**6), 10**6).map(lambda n: n / 2))
def test_fast_rounding_equals_round_int(value: float) -> None:
    """round_int's exact integer arithmetic agrees with decimal half-away-from-zero rounding."""
    assert round_int(value) == int(round_half_away(value))


@st.composite
def dipping_totals(draw: st.DrawFn) -> dict[str, Any]:
    """A rising solar total over one local morning, and the same readings with some of them dipped."""
    start = day_bounds(date(2025, 8, 17), 600)[0] + 8 * 3600
    counter = draw(st.integers(0, 10**7))  # Wh
    clean, dipped = [], []
    t = start
    steps = draw(st.lists(st.tuples(st.integers(30, 900), st.integers(0, 500)), min_size=3, max_size=40))
    for index, (gap, rise) in enumerate(steps):
        t += gap
        counter += rise
        low = counter
        later = interval_end_of(t) != interval_end_of(start + steps[0][0])  # the first total is the baseline
        if later and index < len(steps) - 1 and draw(st.booleans()):
            # Less than 10% low, by up to 5 kWh; the last reading is always true, so the dip recovers.
            low = min(counter, max(int(counter * 0.9) + 1, counter - draw(st.integers(1, 5000))))
        clean.append(Reading(inverter_time=t, solar_kwh_total=counter / 1000))
        dipped.append(Reading(inverter_time=t, solar_kwh_total=low / 1000))
    return {"clean": clean, "dipped": dipped, "now": t + 2 * 86400}


@PROPERTY_SETTINGS
@given(dipping_totals())
def test_a_dip_that_recovers_adds_no_energy_to_the_day(scenario: dict[str, Any]) -> None:
    results = []
    for name in ("clean", "dipped"):
        engine, system_id = _store(600)
        _write(engine, system_id, scenario[name], scenario["now"])
        intervals, days = _dump(engine, system_id)
        assert all(row["solar_interval_wh"] is None or row["solar_interval_wh"] >= 0 for row in intervals)
        # The rows keep the totals the readings reported, dips included.
        last = {}
        for reading in scenario[name]:
            last[interval_end_of(reading.inverter_time)] = reading.solar_kwh_total
        assert {row["interval_end"]: row["solar_kwh_total_last"] for row in intervals} == last
        assert len(days) == 1
        results.append(days[0]["solar_kwh"])
    clean, dipped = results
    first, final = scenario["clean"][0], scenario["clean"][-1]
    assert final.solar_kwh_total is not None
    assert first.solar_kwh_total is not None
    # The day holds the true rise of the counter, dips or not (the first interval has no baseline).
    first_end = interval_end_of(first.inverter_time)
    in_first = [r.solar_kwh_total for r in scenario["clean"] if interval_end_of(r.inverter_time) == first_end]
    assert in_first[-1] is not None
    rise = final.solar_kwh_total - in_first[-1]
    if clean is None:
        assert dipped is None
        assert rise == 0
        assert len(in_first) == len(scenario["clean"])
    else:
        assert abs(clean - rise) <= 0.0005 + EPS
        assert dipped == clean
