"""Monitoring points listed with their last-seen time, and renamed (kept across later writes)."""

from __future__ import annotations

import pytest

from custom_components.liveone.store import Store, SystemInfo
from custom_components.liveone.vendors.model import PointReading

T0 = 1_755_404_100_000


def _value(point: str, sub: str | None, name: str, ms: int, value: float) -> PointReading:
    return PointReading(
        point_id=point,
        point_sub_id=sub,  # type: ignore[arg-type]
        name=name,
        metric_type="power",
        metric_unit="W",
        measurement_time_ms=ms,
        value=value,
        subsystem="load",
    )


async def test_list_and_rename_points(store_url: str) -> None:
    store = await Store.async_open(store_url)
    try:
        system_id = await store.async_ensure_system(SystemInfo(vendor_type="multi", vendor_site_id="g1"))
        other = await store.async_ensure_system(SystemInfo(vendor_type="multi", vendor_site_id="g2"))
        await store.async_write_points(
            system_id,
            [_value("pool", "power", "Pool", T0, 800), _value("pool", "power", "Pool", T0 + 60_000, 850)],
        )
        await store.async_write_points(other, [_value("pool", "power", "Pool", T0 + 120_000, 1)])
        await store.async_write_points(system_id, [_value("spa", None, "Spa", T0, 1)])
        (pool, spa) = await store.async_list_points(system_id)
        assert (pool.point_id, pool.display_name, pool.last_seen_ms, pool.subsystem) == (
            "pool",
            "Pool",
            T0 + 60_000,
            "load",
        )
        assert (spa.point_sub_id, spa.last_seen_ms) == (None, T0)

        assert (
            await store.async_rename_point(system_id, "pool", "power", "  Pool pump ", now=5) == "Pool pump"
        )
        assert await store.async_rename_point(system_id, "spa", None, "Hot tub") == "Hot tub"
        # A later write with a new vendor name changes point_name only.
        await store.async_write_points(system_id, [_value("pool", "power", "Pool (new)", T0 + 180_000, 900)])
        pool, spa = await store.async_list_points(system_id)
        assert (pool.point_name, pool.display_name, pool.last_seen_ms) == (
            "Pool (new)",
            "Pool pump",
            T0 + 180_000,
        )
        assert spa.display_name == "Hot tub"
        assert [p.display_name for p in await store.async_list_points(other)] == ["Pool"]
        # Clearing the name goes back to the vendor's.
        assert await store.async_rename_point(system_id, "pool", "power", "") == "Pool (new)"
        assert await store.async_rename_point(system_id, "pool", "power", None) == "Pool (new)"
        with pytest.raises(LookupError, match="no point nope/power"):
            await store.async_rename_point(system_id, "nope", "power", "x")
        assert await store.async_list_points(12345) == []
    finally:
        await store.async_close()
