"""Monitoring points: created on first sight, names kept, values idempotent, 5-minute rows by hand."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from custom_components.liveone.store import Store, SystemInfo
from custom_components.liveone.store.points import point_interval_end
from custom_components.liveone.vendors.model import PointReading

T0 = 1_755_404_100_000  # 2025-08-17 04:15:00 UTC in milliseconds, on a 5-minute mark


def _power(point: str, name: str, ms: int, value: float | None, subsystem: str = "solar") -> PointReading:
    return PointReading(
        point_id=point,
        point_sub_id="power",
        name=name,
        metric_type="power",
        metric_unit="W",
        measurement_time_ms=ms,
        value=value,
        subsystem=subsystem,
        error=None if value is not None else "no data",
        data_quality="good" if value is not None else "error",
    )


def _rows(store: Store, sql: str) -> list[tuple[object, ...]]:
    with store.engine.connect() as conn:
        return [tuple(row) for row in conn.execute(sa.text(sql))]


def test_interval_rule_in_milliseconds() -> None:
    assert point_interval_end(T0) == T0 // 1000  # exactly on the mark: the interval ending there
    assert point_interval_end(T0 + 1) == T0 // 1000 + 300
    assert point_interval_end(T0 + 300_000) == T0 // 1000 + 300


async def test_points_values_and_aggregates(store_url: str) -> None:
    store = await Store.async_open(store_url)
    try:
        system_id = await store.async_ensure_system(SystemInfo(vendor_type="mondo", vendor_site_id="g1"))
        # Interval ending T0+300 s: solar 1000, 1200, None (an error), 1100 -> avg 1100, min 1000, max 1200,
        # last 1100, 4 samples, 1 error. The value at T0 itself belongs to the interval ending T0.
        batch = [
            _power("pv1", "Solar 1", T0, 900),
            _power("pv1", "Solar 1", T0 + 60_000, 1000),
            _power("pv1", "Solar 1", T0 + 120_000, 1200),
            _power("pv1", "Solar 1", T0 + 180_000, None),
            _power("pv1", "Solar 1", T0 + 240_000, 1100),
            _power("bat", "Battery", T0 + 60_000, -500, subsystem="battery"),
        ]
        result = await store.async_write_points(system_id, batch, received_time_ms=T0 + 250_000)
        assert (result.values_written, result.points_created, result.intervals) == (6, 2, 3)
        assert _rows(
            store,
            "SELECT pi.point_id, a.interval_end, a.avg, a.min, a.max, a.last, a.sample_count, a.error_count "
            "FROM point_readings_agg_5m a JOIN point_info pi ON pi.id = a.point_id ORDER BY pi.point_id, a.interval_end",
        ) == [
            ("bat", T0 // 1000 + 300, -500.0, -500.0, -500.0, -500.0, 1, 0),
            ("pv1", T0 // 1000, 900.0, 900.0, 900.0, 900.0, 1, 0),
            ("pv1", T0 // 1000 + 300, 1100.0, 1000.0, 1200.0, 1100.0, 4, 1),
        ]
        assert _rows(store, "SELECT error, data_quality FROM point_readings WHERE value IS NULL") == [
            ("no data", "error")
        ]

        # The user renames a point; a later poll with the vendor's (new) name keeps the user's name.
        with store.engine.begin() as conn:
            conn.execute(sa.text("UPDATE point_info SET display_name = 'Roof' WHERE point_id = 'pv1'"))
        again = [*batch, _power("pv1", "Solar North", T0 + 300_000, 1300)]
        result = await store.async_write_points(system_id, again, received_time_ms=T0 + 310_000)
        assert (result.values_written, result.points_created) == (1, 0)  # only the new value
        assert _rows(store, "SELECT point_name, display_name FROM point_info WHERE point_id = 'pv1'") == [
            ("Solar North", "Roof")
        ]
        assert _rows(
            store,
            "SELECT avg, sample_count, error_count FROM point_readings_agg_5m a JOIN point_info p ON p.id = a.point_id "
            f"WHERE p.point_id = 'pv1' AND a.interval_end = {T0 // 1000 + 300}",
        ) == [(1150.0, 5, 1)]  # 1000, 1200, 1100, 1300 -> 1150; one error
        assert _rows(store, "SELECT count(*) FROM point_readings") == [(7,)]
    finally:
        await store.async_close()


async def test_bad_quality_is_refused_and_empty_batch_is_nothing(store_url: str) -> None:
    store = await Store.async_open(store_url)
    try:
        system_id = await store.async_ensure_system(SystemInfo(vendor_type="mondo", vendor_site_id="g1"))
        assert (await store.async_write_points(system_id, [])).values_written == 0
        bad = PointReading(
            point_id="x",
            point_sub_id="power",
            name="X",
            metric_type="power",
            metric_unit="W",
            measurement_time_ms=T0,
            value=1.0,
            data_quality="guessed",
        )
        with pytest.raises(ValueError, match="unknown data quality 'guessed'"):
            await store.async_write_points(system_id, [bad])
        assert _rows(store, "SELECT count(*) FROM point_info") == [(0,)]
    finally:
        await store.async_close()
