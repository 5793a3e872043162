"""``refuse_stored``: a batch with a reading time already stored is refused whole, in its one transaction;
and the raw answer a polling status keeps."""

from __future__ import annotations

import sqlalchemy as sa

from custom_components.liveone.store import Store, SystemInfo
from custom_components.liveone.vendors.model import Batch, Reading

T0 = 1_755_404_100  # 2025-08-17 04:15:00 UTC


def _rows(store: Store, sql: str) -> list[tuple[object, ...]]:
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(sql))]


async def test_a_repeated_time_refuses_the_whole_batch_and_records_why(store_url: str) -> None:
    store = await Store.async_open(store_url)
    try:
        system_id = await store.async_ensure_system(SystemInfo(vendor_type="demo", vendor_site_id="a"))
        first = await store.async_record_batch(
            system_id,
            "demo",
            Batch(readings=(Reading(inverter_time=T0, solar_w=100),)),
            cause="PUSH",
            started=T0 + 1,
            now=T0 + 2,
            refuse_stored=True,
        )
        assert (first.rows_written, first.already_stored) == (1, ())

        # One new reading and one already stored: nothing of the batch is written.
        batch = Batch(
            readings=(Reading(inverter_time=T0 + 60, solar_w=300), Reading(inverter_time=T0, solar_w=999)),
            raw='{"x": 1}',
        )
        refused = await store.async_record_batch(
            system_id, "demo", batch, cause="PUSH", started=T0 + 61, now=T0 + 62, refuse_stored=True
        )
        assert (refused.rows_written, refused.already_stored, refused.intervals) == (0, (T0,), ())
        assert _rows(store, "SELECT inverter_time, solar_w FROM readings") == [(T0, 100)]
        assert _rows(store, "SELECT cause, successful, rows_written, error FROM sessions ORDER BY id") == [
            ("PUSH", True, 1, None),
            ("PUSH", False, 0, f"already stored: a reading at {T0}"),
        ]
        status = await store.async_polling_status(system_id)
        assert status is not None
        assert (status["consecutive_errors"], status["last_error"]) == (
            1,
            f"already stored: a reading at {T0}",
        )
        assert _rows(store, "SELECT last_response FROM polling_status") == [(None,)]  # not the refused body
        assert await store.async_last_response(system_id) is None

        # Without the flag, the same batch stores its new reading and skips the stored one.
        kept = await store.async_record_batch(system_id, "demo", batch, started=T0 + 61, now=T0 + 62)
        assert (kept.rows_written, kept.already_stored) == (1, ())
    finally:
        await store.async_close()


async def test_readings_the_store_refuses_anyway_are_not_looked_up(store_url: str) -> None:
    store = await Store.async_open(store_url)
    try:
        system_id = await store.async_ensure_system(SystemInfo(vendor_type="demo", vendor_site_id="b"))
        result = await store.async_record_batch(
            system_id,
            "demo",
            Batch(readings=(Reading(inverter_time=5, solar_w=1),)),  # 1970: refused by the check
            started=T0,
            now=T0,
            refuse_stored=True,
        )
        assert (result.rows_written, result.already_stored) == (0, ())
        assert result.problems == ("reading refused: inverter_time=5: before 2000-01-01",)
    finally:
        await store.async_close()


async def test_the_last_response_kept_in_the_polling_status(store_url: str) -> None:
    store = await Store.async_open(store_url)
    try:
        system_id = await store.async_ensure_system(SystemInfo(vendor_type="demo", vendor_site_id="c"))
        assert await store.async_last_response(system_id) is None  # no status row yet
        await store.async_record_batch(system_id, "demo", Batch(raw='{"a": 1}'), started=T0, now=T0)
        await store.async_record_batch(system_id, "demo", Batch(), started=T0, now=T0 + 60)
        assert await store.async_last_response(system_id) == '{"a": 1}'  # kept until another answer
    finally:
        await store.async_close()
