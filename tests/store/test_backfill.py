"""The set-based backfill path leaves exactly the rows the per-poll path leaves for the same readings."""

from __future__ import annotations

from datetime import date
import random
from typing import Any

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from custom_components.liveone.store import backfill, writer
from custom_components.liveone.store.aggregate import day_bounds, interval_end_of
from custom_components.liveone.store.schema import readings as readings_table, readings_agg_5m
from custom_components.liveone.vendors.model import ENERGY_FLOWS, Reading

from .conftest import LATER, MIDNIGHT, add_system, rows_1d, rows_5m

GLITCH = 0.95
"""A fall of a lifetime total to this share of the running total: a glitch (not below 90%)."""


def random_readings(seed: int, start: int, count: int) -> list[Reading]:
    """Readings a minute or so apart with everything the write paths must get right.

    Gaps (a few minutes, longer than a segment, hours), readings exactly on 5-minute marks, lifetime
    totals that rise, reset (fall to near zero), glitch (fall a little below the running total and come
    back) or are missing, flows measured by pushed Wh or power only, NULL power values.
    """
    rng = random.Random(seed)
    modes = dict(zip(ENERGY_FLOWS, ["total", "total", "total", "pushed", "power", "total"], strict=True))
    counters = {flow: rng.uniform(0, 5000) for flow in ENERGY_FLOWS}  # kWh
    out: list[Reading] = []
    t = start
    for _ in range(count):
        roll = rng.random()
        if roll < 0.03:
            t += rng.randint(700, 4 * 3600)  # a gap: not integrated
        elif roll < 0.10:
            t = interval_end_of(t + 1)  # exactly on a 5-minute mark
        else:
            t += rng.choice([60, 60, 60, 30, 90, 120, 300, 420])
        values: dict[str, Any] = {
            "solar_w": None if rng.random() < 0.05 else rng.randint(-20, 6000),
            "load_w": rng.randint(0, 6000),
            "battery_w": None if rng.random() < 0.05 else rng.randint(-5000, 5000),
            "grid_w": rng.randint(-5000, 5000),
            "battery_soc": None if rng.random() < 0.1 else round(rng.uniform(0, 100), 1),
        }
        for flow, mode in modes.items():
            if mode == "total":
                event = rng.random()
                if event < 0.01:
                    counters[flow] = rng.uniform(0, 1)  # a reset: far below 90% of the total
                    value: float | None = counters[flow]
                elif event < 0.03:
                    value = counters[flow] * GLITCH  # a glitch: this reading only
                elif event < 0.06:
                    value = None
                else:
                    counters[flow] += rng.uniform(0, 0.08)
                    value = counters[flow]
                values[f"{flow}_kwh_total"] = value
            elif mode == "pushed":
                values[f"{flow}_wh_interval"] = None if rng.random() < 0.2 else rng.uniform(0, 80)
        out.append(Reading(inverter_time=t, **values))
    return out


def arrival_order(readings: list[Reading], seed: int) -> list[Reading]:
    """The readings as they might arrive: some twice, some late (out of order)."""
    rng = random.Random(seed)
    arrived = readings + rng.sample(readings, k=len(readings) // 10)
    for _ in range(len(arrived) // 5):
        i, j = rng.randrange(len(arrived)), rng.randrange(len(arrived))
        arrived[i], arrived[j] = arrived[j], arrived[i]
    return arrived


def _dump(engine: Engine, system_id: int) -> tuple[list[dict[str, Any]], list[dict[str, Any]], int]:
    with engine.connect() as conn:
        count = conn.execute(sa.select(sa.func.count()).select_from(readings_table)).scalar_one()
        return rows_5m(conn, system_id), rows_1d(conn, system_id), int(count)


@pytest.mark.parametrize(("seed", "offset"), [(1, 600), (2, -300), (3, 345)])
def test_backfill_rows_equal_the_per_poll_rows(engine: Engine, seed: int, offset: int) -> None:
    with engine.begin() as conn:
        per_poll = add_system(conn, offset=offset, site="per-poll")
        set_based = add_system(conn, offset=offset, site="backfill")
    start = day_bounds(date(2025, 8, 17), offset)[0] - 3 * 3600
    readings = random_readings(seed, start, 900)
    arrived = arrival_order(readings, seed)
    rng = random.Random(seed)
    now = rng.choice([LATER, readings[len(readings) // 2].inverter_time])
    # Received no earlier than the newest reading (one ahead of its receipt would be refused).
    received = max(now, readings[-1].inverter_time)

    # A vendor's 5-minute row (no readings) inside the data: both paths keep it and count it.
    vendor_end = interval_end_of(readings[300].inverter_time) + 7 * 300
    with engine.begin() as conn:
        taken = {interval_end_of(r.inverter_time) for r in readings}
        while vendor_end in taken:
            vendor_end += 300
        for system_id in (per_poll, set_based):
            conn.execute(
                readings_agg_5m.insert(),
                {
                    "system_id": system_id,
                    "interval_end": vendor_end,
                    "solar_w_avg": 900,
                    "solar_interval_wh": 75,
                    "load_wh_interval": 40,
                    "sample_count": 0,
                    "created_at": now,
                },
            )

    for reading in arrived:  # poll by poll: one reading per transaction
        with engine.begin() as conn:
            writer.write_readings(conn, per_poll, [reading], received_time=received, now=now)
    # Set-based: random batches in arrival order, the later ones landing before and among stored rows.
    position = 0
    while position < len(arrived):
        size = rng.choice([1, 7, 50, 200, 400])
        with engine.begin() as conn:
            backfill.write_backfill(
                conn, set_based, arrived[position : position + size], received_time=received, now=now
            )
        position += size

    expected_5m, expected_1d, _ = _dump(engine, per_poll)
    got_5m, got_1d, _ = _dump(engine, set_based)
    assert len(expected_5m) > 200
    assert expected_1d  # the data spans finished days
    for row in (*expected_5m, *got_5m):
        row.pop("system_id")
    for row in (*expected_1d, *got_1d):
        row.pop("system_id")
    assert got_5m == expected_5m
    assert got_1d == expected_1d


def test_backfill_result_and_repeats(engine: Engine) -> None:
    with engine.begin() as conn:
        system_id = add_system(conn)
    readings = random_readings(7, MIDNIGHT, 600)
    with engine.begin() as conn:
        result = backfill.write_backfill(conn, system_id, readings, received_time=LATER, now=LATER)
        assert backfill.write_backfill(conn, system_id, [], received_time=LATER) == writer.WriteResult(
            0, (), ()
        )
        again = backfill.write_backfill(conn, system_id, readings[:50], received_time=LATER, now=LATER)
    assert result.rows_written == len({r.inverter_time for r in readings})
    assert list(result.intervals) == sorted({interval_end_of(r.inverter_time) for r in readings})
    assert result.days  # every day is finished at LATER
    assert again == writer.WriteResult(0, (), ())
    with engine.connect() as conn:
        assert len(rows_5m(conn, system_id)) == len(result.intervals)
        assert [row["day"] for row in rows_1d(conn, system_id)] == list(result.days)


def test_backfill_of_an_unknown_system_is_refused(engine: Engine) -> None:
    with engine.begin() as conn, pytest.raises(LookupError, match="no system"):
        backfill.write_backfill(conn, 999, random_readings(1, MIDNIGHT, 3), received_time=LATER)
