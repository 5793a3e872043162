"""Monitoring points of multi-point systems: ``point_info``, ``point_readings`` and their 5-minute rows.

A point's ``point_info`` row is created the first time a value for it arrives; its ``display_name``
starts as the vendor's name and is never overwritten by later polls (the user may have changed it),
while ``point_name`` follows the vendor. Values are idempotent on ``(point, measurement_time)``: a
value already stored is skipped. After each write the touched 5-minute intervals of each point are
recomputed in full: avg, min, max and last over non-NULL values, ``sample_count`` = values in the
interval, ``error_count`` = values that are NULL. Point times are milliseconds; interval ends are
seconds, like ``readings_agg_5m``, with the same rule (``start < t <= end``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
import math
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..vendors.model import POINT_QUALITIES, PointReading
from .aggregate import INTERVAL
from .dialect import upsert
from .schema import point_info, point_readings, point_readings_agg_5m

_AGG_KEY = ("point_id", "interval_end")


@dataclass(frozen=True, slots=True)
class PointWriteResult:
    """What one write of point values stored."""

    values_written: int
    points_created: int
    intervals: int


def point_interval_end(measurement_time_ms: int) -> int:
    """Return the end (Unix seconds) of the 5-minute interval holding a time in milliseconds."""
    return math.ceil(measurement_time_ms / (INTERVAL * 1000)) * INTERVAL


def _point_ids(
    conn: Connection, system_id: int, values: Sequence[PointReading], stamp: int
) -> tuple[dict[tuple[str, str], int], int]:
    """Map each ``(point_id, point_sub_id)`` to its ``point_info`` id, creating the missing ones."""
    rows = conn.execute(
        sa.select(
            point_info.c.id, point_info.c.point_id, point_info.c.point_sub_id, point_info.c.point_name
        ).where(point_info.c.system_id == system_id)
    ).all()
    ids = {(row.point_id, row.point_sub_id): int(row.id) for row in rows}
    names = {(row.point_id, row.point_sub_id): row.point_name for row in rows}
    created = 0
    for value in values:
        key = (value.point_id, value.point_sub_id)
        if key not in ids:
            ids[key] = int(
                conn.execute(
                    point_info.insert().values(
                        system_id=system_id,
                        point_id=value.point_id,
                        point_sub_id=value.point_sub_id,
                        point_name=value.name,
                        display_name=value.name,
                        subsystem=value.subsystem,
                        metric_type=value.metric_type,
                        metric_unit=value.metric_unit,
                        created_at=stamp,
                        updated_at=stamp,
                    )
                ).inserted_primary_key[0]
            )
            names[key] = value.name
            created += 1
        elif names[key] != value.name:
            conn.execute(
                point_info.update()
                .where(point_info.c.id == ids[key])
                .values(point_name=value.name, updated_at=stamp)
            )
            names[key] = value.name
    return ids, created


def write_points(
    conn: Connection,
    system_id: int,
    values: Sequence[PointReading],
    *,
    received_time_ms: int,
    session_id: int | None = None,
) -> PointWriteResult:
    """Store point values (creating points on first sight) and recompute their 5-minute rows."""
    for value in values:
        if value.data_quality not in POINT_QUALITIES:
            raise ValueError(f"point {value.point_id}: unknown data quality {value.data_quality!r}")
    if not values:
        return PointWriteResult(0, 0, 0)
    stamp = received_time_ms // 1000
    ids, created = _point_ids(conn, system_id, values, stamp)

    by_point: dict[int, dict[int, PointReading]] = defaultdict(dict)
    for value in values:  # the first value of a repeated (point, time) in one batch wins
        by_point[ids[(value.point_id, value.point_sub_id)]].setdefault(value.measurement_time_ms, value)

    rows: list[dict[str, Any]] = []
    touched: dict[int, set[int]] = defaultdict(set)
    for pid, by_time in by_point.items():
        times = sorted(by_time)
        stored = set(
            conn.execute(
                sa.select(point_readings.c.measurement_time).where(
                    point_readings.c.point_id == pid,
                    point_readings.c.measurement_time.between(times[0], times[-1]),
                )
            ).scalars()
        )
        for ms in times:
            if ms in stored:
                continue
            value = by_time[ms]
            rows.append(
                {
                    "point_id": pid,
                    "measurement_time": ms,
                    "received_time": received_time_ms,
                    "value": value.value,
                    "error": value.error,
                    "data_quality": value.data_quality,
                    "session_id": session_id,
                }
            )
            touched[pid].add(point_interval_end(ms))
    if rows:
        conn.execute(point_readings.insert(), rows)
    intervals = sum(_recompute_point(conn, pid, ends, stamp) for pid, ends in touched.items())
    return PointWriteResult(len(rows), created, intervals)


def _recompute_point(conn: Connection, pid: int, ends: set[int], stamp: int) -> int:
    """Recompute the given 5-minute rows of one point from its values (one query for the span)."""
    first, last = min(ends), max(ends)
    samples = conn.execute(
        sa.select(point_readings.c.measurement_time, point_readings.c.value)
        .where(
            point_readings.c.point_id == pid,
            point_readings.c.measurement_time > (first - INTERVAL) * 1000,
            point_readings.c.measurement_time <= last * 1000,
        )
        .order_by(point_readings.c.measurement_time)
    ).all()
    grouped: dict[int, list[float | None]] = defaultdict(list)
    for ms, value in samples:
        end = point_interval_end(ms)
        if end in ends:
            grouped[end].append(value)
    rows: list[dict[str, Any]] = []
    for end, found in sorted(grouped.items()):
        good = [v for v in found if v is not None]
        rows.append(
            {
                "point_id": pid,
                "interval_end": end,
                "avg": sum(good) / len(good) if good else None,
                "min": min(good) if good else None,
                "max": max(good) if good else None,
                "last": good[-1] if good else None,
                "sample_count": len(found),
                "error_count": len(found) - len(good),
                "created_at": stamp,
                "updated_at": stamp,
            }
        )
    upsert(conn, point_readings_agg_5m, rows, keys=_AGG_KEY, insert_only=("created_at",))
    return len(grouped)


@dataclass(frozen=True, slots=True)
class PointInfo:
    """A monitoring point as ``point_info`` holds it, and when it last had a value."""

    point_id: str
    point_sub_id: str | None
    point_name: str
    display_name: str
    subsystem: str | None
    metric_type: str
    metric_unit: str
    last_seen_ms: int | None
    """The newest ``measurement_time`` of its values (``None``: none stored)."""


def list_points(conn: Connection, system_id: int) -> list[PointInfo]:
    """Return a system's points (in creation order) with the time each was last seen."""
    last = (
        sa.select(point_readings.c.point_id, sa.func.max(point_readings.c.measurement_time).label("last"))
        .group_by(point_readings.c.point_id)
        .subquery()
    )
    rows = conn.execute(
        sa.select(point_info, last.c.last)
        .select_from(point_info.outerjoin(last, last.c.point_id == point_info.c.id))
        .where(point_info.c.system_id == system_id)
        .order_by(point_info.c.id)
    ).all()
    return [
        PointInfo(
            point_id=row.point_id,
            point_sub_id=row.point_sub_id,
            point_name=row.point_name,
            display_name=row.display_name,
            subsystem=row.subsystem,
            metric_type=row.metric_type,
            metric_unit=row.metric_unit,
            last_seen_ms=None if row.last is None else int(row.last),
        )
        for row in rows
    ]


def rename_point(
    conn: Connection,
    system_id: int,
    point_id: str,
    point_sub_id: str | None,
    display_name: str | None,
    *,
    now: int,
) -> str:
    """Set a point's ``display_name`` (``None`` or blank: back to the vendor's ``point_name``).

    Later writes never overwrite it. Returns the name now in force.

    Raises:
        LookupError: the system has no such point.

    """
    where = sa.and_(
        point_info.c.system_id == system_id,
        point_info.c.point_id == point_id,
        point_info.c.point_sub_id.is_(None)
        if point_sub_id is None
        else point_info.c.point_sub_id == point_sub_id,
    )
    vendor_name = conn.execute(sa.select(point_info.c.point_name).where(where)).scalar()
    if vendor_name is None:
        raise LookupError(f"system {system_id} has no point {point_id}/{point_sub_id}")
    name = display_name.strip() if display_name is not None and display_name.strip() else vendor_name
    conn.execute(point_info.update().where(where).values(display_name=name, updated_at=now))
    return str(name)
