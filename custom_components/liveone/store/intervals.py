"""Vendor 5-minute intervals (Enphase) written directly as ``readings_agg_5m`` rows.

Some vendors deliver their own 5-minute data instead of raw readings. :func:`write_intervals` stores
each :class:`~custom_components.liveone.vendors.model.Interval` as the system's row for its
``interval_end`` (an upsert on ``(system_id, interval_end)``), at the store's precision: power avg/min/max
and the interval energies rounded to whole W and Wh (half away from zero), SOC to one decimal,
``sample_count`` as the vendor gave it.

Running totals. The vendor sends the interval's energy, not a lifetime counter, so the store keeps one:
each flow's ``<flow>_kwh_total_last`` is the total of the newest earlier row of the system that has one
(0 when there is none) plus this interval's stored Wh / 1000, to 3 decimals. A flow the interval has no
energy for gets no total (NULL), and the next interval goes on from the last row that had one. An
interval that arrives late (before rows already stored) shifts the totals of every later vendor row of
the system, so those are chained again in the same transaction. The aggregation's totals rule then
measures each vendor row's energy as exactly its own Wh, so daily and all-time energy work as for any
other vendor.

Which rows are vendor rows, and why a recompute never rewrites them (decision). The schema has no column
that marks a row's origin, so the origin is the data itself: a 5-minute row whose interval holds no raw
``readings`` is a vendor row. :func:`.aggregate.recompute_intervals` and :func:`.aggregate.rebuild` only
recompute intervals that hold raw readings (a row without readings is read as a baseline and counted in
its day, never rewritten). To keep the two kinds apart, this writer refuses (:class:`.StoreError`, nothing
stored) an interval whose slot holds raw readings of the system: a system's 5-minute rows come either
from raw readings or from its vendor, never from both in one interval. (Raw readings written later into
a vendor row's slot would make it a readings row; no source produces both for one system.)

Stamps. ``created_at`` is set to ``now`` on every row this writer inserts or changes, including later
rows whose running totals moved; the long-term statistics import finds changed hours by it
(:mod:`.statistics`). A row rewritten with the values it already holds is not written again (an
idempotent re-fetch of a day changes nothing, keeps its stamp and triggers no re-import).

Values are checked before anything is written: an interval end that is not a positive multiple of
300 s, a value that is not a finite number, a negative energy or a value outside the 32-bit INTEGER
columns (on PostgreSQL and MySQL) is a :class:`.StoreError` naming the interval and the field.
Daily rows of the days touched are recomputed as for raw readings (:func:`.aggregate.days_due`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
import math
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..vendors.model import FLOWS, POWER_NAMES, Interval, round_half_away, round_int, round_opt
from . import aggregate
from .dialect import upsert
from .errors import StoreError
from .schema import readings, readings_agg_5m
from .writer import WriteResult

INT32_MAX: Final = 2**31 - 1
"""The largest value of the INTEGER columns on PostgreSQL and MySQL/MariaDB."""

_AGG = readings_agg_5m
_SID: Final[sa.BindParameter[Any]] = sa.bindparam("sid")
_POWER_FIELDS: Final = tuple(f"{name}_w_{stat}" for name in POWER_NAMES for stat in ("avg", "min", "max"))
_ENERGY_FIELDS: Final = tuple(f"{flow.key}_wh" for flow in FLOWS)
"""The :class:`Interval` energy fields, in :data:`FLOWS` order."""
_ENERGY_COLUMNS: Final = tuple(flow.interval_column for flow in FLOWS)
_TOTAL_COLUMNS: Final = tuple(f"{flow.total_column}_last" for flow in FLOWS)
_ROW_COLUMNS: Final = (*_POWER_FIELDS, "battery_soc_last", *_ENERGY_COLUMNS, *_TOTAL_COLUMNS, "sample_count")
"""Every value column a vendor row sets (keys and the stamp aside)."""
_KEY: Final = ("system_id", "interval_end")

_PREVIOUS_TOTAL_STMTS: Final = tuple(
    sa.select(_AGG.c[column])
    .where(
        _AGG.c.system_id == _SID, _AGG.c.interval_end < sa.bindparam("before"), _AGG.c[column].is_not(None)
    )
    .order_by(_AGG.c.interval_end.desc())
    .limit(1)
    for column in _TOTAL_COLUMNS
)
_LATER_ROWS_STMT: Final = (
    sa.select(_AGG.c.id, _AGG.c.interval_end, *(_AGG.c[column] for column in _ROW_COLUMNS))
    .where(_AGG.c.system_id == _SID, _AGG.c.interval_end >= sa.bindparam("first"))
    .order_by(_AGG.c.interval_end)
)
_READING_TIMES_STMT: Final = sa.select(readings.c.inverter_time).where(
    readings.c.system_id == _SID, readings.c.inverter_time > sa.bindparam("after")
)
_UPDATE_TOTALS_STMT: Final = _AGG.update().where(_AGG.c.id == sa.bindparam("row_id"))

_NOTHING: Final = WriteResult(0, (), ())


def _when(end: int) -> str:
    return datetime.fromtimestamp(end, UTC).isoformat() if 0 < end < 2**40 else str(end)


def _checked(end: int, field: str, value: float | None, *, energy: bool = False) -> float | None:
    """Return ``value`` if it fits its column, else raise :class:`StoreError`."""
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise StoreError(f"interval ending {_when(end)}: {field} {value!r} is not a finite number")
    if energy and value < 0:
        raise StoreError(f"interval ending {_when(end)}: {field} {value!r} is negative")
    if abs(value) > INT32_MAX:
        raise StoreError(f"interval ending {_when(end)}: {field} {value!r} is outside the column's range")
    return value


def _vendor_row(interval: Interval) -> dict[str, Any]:
    """Return an interval's row values at the store's precision (totals not yet chained)."""
    end = interval.interval_end
    if type(end) is not int or end <= 0 or end % aggregate.INTERVAL or end > 2**62:
        raise StoreError(f"interval end {end!r} is not a positive multiple of {aggregate.INTERVAL} s")
    row: dict[str, Any] = {}
    for field in _POWER_FIELDS:
        checked = _checked(end, field, getattr(interval, field))
        row[field] = round_int(checked)
    soc = _checked(end, "battery_soc_last", interval.battery_soc_last)
    row["battery_soc_last"] = round_opt(soc, 1)
    for field, column in zip(_ENERGY_FIELDS, _ENERGY_COLUMNS, strict=True):
        row[column] = round_int(_checked(end, field, getattr(interval, field), energy=True))
    count = interval.sample_count
    if type(count) is not int or not 0 <= count <= INT32_MAX:
        raise StoreError(
            f"interval ending {_when(end)}: sample_count {count!r} is outside the column's range"
        )
    row["sample_count"] = count
    return row


def _slots_with_readings(conn: Connection, system_id: int, first_end: int) -> set[int]:
    """Return the interval ends from ``first_end`` on whose interval holds raw readings of the system."""
    times = conn.execute(_READING_TIMES_STMT, {"sid": system_id, "after": first_end - aggregate.INTERVAL})
    return {aggregate.interval_end_of(t) for t in times.scalars()}


def write_intervals(
    conn: Connection, system_id: int, intervals: Sequence[Interval], *, now: int
) -> WriteResult:
    """Store vendor 5-minute intervals, chain the running totals and recompute the touched days.

    Args:
        conn: a connection inside the caller's transaction.
        system_id: the system the intervals belong to.
        intervals: the intervals, in any order; of two with the same end the later in the sequence wins.
        now: the ``created_at`` stamp and the clock for "finished" days.

    Returns:
        ``rows_written``: the vendor rows inserted or changed (an interval equal to its stored row is
        not counted); ``intervals``: every 5-minute row written, later rows whose totals moved included,
        ascending; ``days``: the daily rows recomputed.

    Raises:
        StoreError: a value does not fit its column, or an interval's slot holds raw readings.
        LookupError: the system does not exist.

    """
    if not intervals:
        return _NOTHING
    offset = aggregate.system_offset(conn, system_id)
    incoming: dict[int, dict[str, Any]] = {}
    for interval in intervals:
        incoming[interval.interval_end] = _vendor_row(interval)
    first = min(incoming)

    with_readings = _slots_with_readings(conn, system_id, first)
    clash = sorted(with_readings & incoming.keys())
    if clash:
        raise StoreError(
            f"system {system_id}: the interval ending {_when(clash[0])} holds raw readings; "
            "a vendor interval may not replace it"
        )

    # The running totals before the first interval written, per flow.
    params = {"sid": system_id, "before": first}
    totals: list[float | None] = [
        conn.execute(stmt, params).scalar_one_or_none() for stmt in _PREVIOUS_TOTAL_STMTS
    ]

    stored = {
        int(row.interval_end): row
        for row in conn.execute(_LATER_ROWS_STMT, {"sid": system_id, "first": first})
    }
    upserts: list[dict[str, Any]] = []
    updates: list[dict[str, Any]] = []
    written: list[int] = []
    for end in sorted(stored.keys() | incoming.keys()):
        old = stored.get(end)
        if end in with_readings:
            # A row of raw readings keeps its own totals; later vendor rows go on from them.
            assert old is not None
            for flow, column in enumerate(_TOTAL_COLUMNS):
                if (value := getattr(old, column)) is not None:
                    totals[flow] = value
            continue
        new = incoming.get(end)
        values = dict(new) if new is not None else {column: getattr(old, column) for column in _ROW_COLUMNS}
        for flow, (energy_column, total_column) in enumerate(
            zip(_ENERGY_COLUMNS, _TOTAL_COLUMNS, strict=True)
        ):
            energy = values[energy_column]
            if energy is None:
                values[total_column] = None
                continue
            total = round_half_away((totals[flow] or 0.0) + energy / 1000, 3)
            values[total_column] = totals[flow] = total
        if old is not None and all(values[column] == getattr(old, column) for column in _ROW_COLUMNS):
            continue
        values["created_at"] = now
        if new is not None:
            upserts.append({"system_id": system_id, "interval_end": end, **values})
        else:
            assert old is not None  # a row not in the batch is a stored one
            updates.append(
                {"row_id": old.id, **{column: values[column] for column in _TOTAL_COLUMNS}, "created_at": now}
            )
        written.append(end)

    upsert(conn, _AGG, upserts, keys=_KEY)
    if updates:
        conn.execute(_UPDATE_TOTALS_STMT, updates)
    if not written:
        return _NOTHING
    due = aggregate.days_due(conn, system_id, offset, written, now)
    days = aggregate.recompute_days(conn, system_id, due, now=now) if due else []
    return WriteResult(len(upserts), tuple(written), tuple(days))
