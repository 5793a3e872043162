"""The write path: storing readings, and the record of each poll."""

from __future__ import annotations

from dataclasses import replace
import math

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from custom_components.liveone.store import writer
from custom_components.liveone.store.schema import polling_status, readings, sessions
from custom_components.liveone.vendors.model import COLUMNS_FROM, Reading, check_readings

from .conftest import DAY, LATER, MIDNIGHT, write


def test_readings_are_stored_normalised_with_their_delay(engine: Engine, system_id: int) -> None:
    reading = Reading(
        inverter_time=MIDNIGHT + 61,
        solar_w=1288.5,
        battery_w=-273.5,
        battery_soc=26.85,
        solar_kwh_total=924.5995,
        fault_code=0,
        grid_in_wh_interval=1.25,
    )
    with engine.begin() as conn:
        result = writer.write_readings(
            conn, system_id, [reading], received_time=MIDNIGHT + 65, now=MIDNIGHT + 66
        )
    assert result == writer.WriteResult(1, (MIDNIGHT + 300,), ())
    with engine.connect() as conn:
        row = conn.execute(sa.select(readings)).mappings().one()
    assert row["system_id"] == system_id
    assert (row["inverter_time"], row["received_time"], row["delay_seconds"]) == (
        MIDNIGHT + 61,
        MIDNIGHT + 65,
        4,
    )
    assert row["created_at"] == MIDNIGHT + 66
    # Whole watts, SOC to 1 decimal, kWh to 3 (all half away from zero); pushed Wh as sent.
    assert (row["solar_w"], row["battery_w"], row["battery_soc"]) == (1289, -274, 26.9)
    assert row["solar_kwh_total"] == 924.6
    assert (row["fault_code"], row["grid_in_wh_interval"], row["load_w"]) == (0, 1.25, None)


def test_nothing_to_write(engine: Engine, system_id: int) -> None:
    assert write(engine, system_id, []) == writer.WriteResult(0, (), ())


def test_duplicates_across_a_multi_day_batch(engine: Engine, system_id: int) -> None:
    # Times more than a day apart are checked a day's range at a time.
    times = [MIDNIGHT + 60, MIDNIGHT + 120, MIDNIGHT + 3 * DAY, MIDNIGHT + 3 * DAY + 60]
    assert write(engine, system_id, [Reading(inverter_time=t) for t in times[::2]]).rows_written == 2
    result = write(engine, system_id, [Reading(inverter_time=t, solar_w=1) for t in times])
    assert result.rows_written == 2
    with engine.connect() as conn:
        stored = dict(conn.execute(sa.select(readings.c.inverter_time, readings.c.solar_w)).all())
    # The readings already stored are left alone, not overwritten.
    assert stored == {times[0]: None, times[1]: 1, times[2]: None, times[3]: 1}


def test_unknown_system_is_refused(engine: Engine) -> None:
    with pytest.raises(LookupError):
        write(engine, 42, [Reading(inverter_time=MIDNIGHT)])


def _poll(engine: Engine, system_id: int, now: int, error: str | None = None, **kw: object) -> int:
    args: dict[str, object] = {
        "vendor_type": "selectronic",
        "cause": "POLL",
        "started": now - 1.7,
        "duration_ms": 1700,
        "error": error,
        "rows_written": 0 if error else 1,
        "last_response": None,
        "now": now,
    }
    args.update(kw)
    with engine.begin() as conn:
        return writer.record_poll(conn, system_id, **args)  # type: ignore[arg-type]


def _status(engine: Engine) -> dict[str, object]:
    with engine.connect() as conn:
        return dict(conn.execute(sa.select(polling_status)).mappings().one())


def test_record_poll_counts_successes_and_errors(engine: Engine, system_id: int) -> None:
    first = _poll(engine, system_id, 1000, last_response='{"ok": 1}')
    status = _status(engine)
    assert (status["total_polls"], status["successful_polls"], status["consecutive_errors"]) == (1, 1, 0)
    assert (status["last_poll_time"], status["last_success_time"], status["last_error_time"]) == (
        1000,
        1000,
        None,
    )
    assert status["last_response"] == '{"ok": 1}'
    assert status["is_active"] is True

    _poll(engine, system_id, 1060, error="HTTP 503")
    second_error = _poll(engine, system_id, 1120, error="HTTP 504", cause="USER")
    status = _status(engine)
    assert (status["total_polls"], status["successful_polls"], status["consecutive_errors"]) == (3, 1, 2)
    assert (status["last_poll_time"], status["last_success_time"]) == (1120, 1000)
    assert (status["last_error_time"], status["last_error"]) == (1120, "HTTP 504")
    assert status["last_response"] == '{"ok": 1}'  # an answer-less poll keeps the last answer

    last = _poll(engine, system_id, 1180, last_response="{}")
    status = _status(engine)
    assert (status["total_polls"], status["successful_polls"], status["consecutive_errors"]) == (4, 2, 0)
    assert (status["last_success_time"], status["last_error_time"], status["last_error"]) == (
        1180,
        1120,
        "HTTP 504",
    )
    assert status["updated_at"] == 1180
    assert first < second_error < last

    with engine.connect() as conn:
        rows = conn.execute(sa.select(sessions).order_by(sessions.c.id)).mappings().all()
    assert len(rows) == 4
    assert [row["id"] for row in rows][::3] == [first, last]
    assert [(row["cause"], row["successful"], row["error"], row["rows_written"]) for row in rows] == [
        ("POLL", True, None, 1),
        ("POLL", False, "HTTP 503", 0),
        ("USER", False, "HTTP 504", 0),
        ("POLL", True, None, 1),
    ]
    assert (rows[0]["system_id"], rows[0]["vendor_type"], rows[0]["started"]) == (
        system_id,
        "selectronic",
        998,
    )
    assert (rows[0]["duration_ms"], rows[0]["created_at"]) == (1700, 1000)


def test_last_response_is_cut_to_64_kib(engine: Engine, system_id: int) -> None:
    _poll(engine, system_id, 1000, last_response="é" * 40000)  # 80,000 bytes of UTF-8
    kept = _status(engine)["last_response"]
    assert isinstance(kept, str)
    assert kept == "é" * 32768
    assert len(kept.encode()) == 65536
    _poll(engine, system_id, 1001, last_response="x" + "é" * 40000)  # the cut falls inside a character
    kept = _status(engine)["last_response"]
    assert isinstance(kept, str)
    assert kept == "x" + "é" * 32767
    assert len(kept.encode()) == 65535


def test_record_poll_rejects_an_unknown_cause(engine: Engine, system_id: int) -> None:
    with pytest.raises(ValueError, match="cause"):
        _poll(engine, system_id, 1000, cause="CRON")


def test_record_poll_survives_a_clock_jump(engine: Engine, system_id: int) -> None:
    """A poll "lasting" 40 days (the clock jumped) is still stored, on every backend, its duration clamped."""
    _poll(engine, system_id, 1000, duration_ms=40 * 86_400_000)
    _poll(engine, system_id, 2000, duration_ms=-5)
    with engine.connect() as conn:
        durations = conn.execute(sa.select(sessions.c.duration_ms).order_by(sessions.c.id)).scalars().all()
    assert durations == [writer.MAX_DURATION_MS, 0]


def test_a_batch_is_checked_and_stored_column_by_column(engine: Engine, system_id: int) -> None:
    """A backfill-sized batch: repeats (first kept), disorder, stored times, refusals and drops."""
    base = MIDNIGHT + 60
    write(engine, system_id, [Reading(inverter_time=base + 120, solar_w=5)])  # already stored
    batch = [
        Reading(inverter_time=base + 60 * n, solar_w=100 + n, battery_soc=50.0, load_kwh_total=1.5 + n / 1000)
        for n in range(COLUMNS_FROM + 2)
    ]
    batch[3] = replace(batch[3], solar_w=math.nan)  # dropped, the rest of the reading kept
    batch.reverse()  # newest first
    batch.insert(2, replace(batch[5], solar_w=999))  # a repeat: the first of them is kept
    batch.append(Reading(inverter_time=base * 1000, solar_w=1))  # milliseconds: refused
    expected = check_readings(batch, LATER)
    result = write(engine, system_id, batch)
    assert result.problems == tuple(expected.problems)
    assert len(result.problems) == 2
    with engine.connect() as conn:
        stored = conn.execute(
            sa.select(readings.c.inverter_time, readings.c.solar_w, readings.c.delay_seconds).order_by(
                readings.c.inverter_time
            )
        ).all()
    first: dict[int, Reading] = {}
    for reading in expected.readings:
        first.setdefault(reading.inverter_time, reading)
    first[base + 120] = Reading(inverter_time=base + 120, solar_w=5)  # left as it was
    assert [tuple(row) for row in stored] == [(t, first[t].solar_w, LATER - t) for t in sorted(first)]
    assert result.rows_written == len(first) - 1

    refused = write(engine, system_id, [Reading(inverter_time=base * 1000 + n) for n in range(COLUMNS_FROM)])
    assert (refused.rows_written, len(refused.problems)) == (0, COLUMNS_FROM)
