"""The set-based write path for backfills and history imports (issue 17).

:func:`write_backfill` stores a batch of readings as :func:`.writer.write_readings` does, and leaves
exactly the rows the per-poll path would leave for the same readings (``tests/store/test_backfill.py``
compares the two on random data), but does the work in bulk instead of interval by interval:

1. the new readings go to the database with one ``executemany`` of the driver;
2. one walk over the batch's span computes its 5-minute rows: one read of the span's readings and one
   of its stored 5-minute rows, the intervals in time order with the baselines carried in memory, and
   one ``executemany`` each for the rows updated and inserted;
3. the same walk sums each day's unrounded interval energies and power figures, so a daily row whose
   every 5-minute row the walk holds is computed without reading anything again, one upsert per day.

The walk starts at the local midnight before the batch's first interval, so it holds the whole of that
day (the intervals before the batch are computed for the day's sums, not rewritten). The rules are
:mod:`.aggregate`'s own: its interval function (power, SOC and totals of a row) and energy function
(lifetime-total rise with its reset and glitch rule, pushed Wh, trapezoids) are called as the per-poll
path calls them. Rows after the batch that depend on it (the next interval's first segment, the next
lifetime total of each flow) are recomputed by :mod:`.aggregate` as after any write, and so is a daily
row the walk does not hold whole (a day reaching past the batch, or holding rows a vendor wrote
directly).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import reduce
from itertools import compress, repeat
import logging
from operator import add, is_not, itemgetter
import time
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa

from custom_components.liveone.vendors.model import ENERGY_FLOWS, round_int, round_opt

from . import aggregate
from .aggregate import (
    _ENERGY_5M,
    _NFLOWS,
    _SAMPLES_STMT,
    _SOC as _SAMPLE_SOC,
    _TOTAL0 as _SAMPLE_TOTAL0,
    _TOTAL_5M,
    _TOTAL_5M_COLUMNS,
    INTERVAL,
    MAX_SEGMENT,
    _Baselines,
    _energies,
    _group,
    day_bounds,
    interval_end_of,
    local_day,
)
from .dialect import upsert
from .schema import DAILY_ENERGY_COLUMNS, POWER_STATS, readings_agg_1d, readings_agg_5m
from .writer import ROW_TIME, WriteResult, _insert_readings, new_rows

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

    from custom_components.liveone.vendors.model import Reading

_LOGGER: Final = logging.getLogger(__name__)
_AGG = readings_agg_5m
_POWER_COLUMNS: Final = tuple(f"{name}_w_{stat}" for name in POWER_STATS for stat in ("min", "avg", "max"))
_STORED_STMT: Final = (
    sa.select(
        _AGG.c.interval_end,
        _AGG.c.id,
        _AGG.c.sample_count,
        _AGG.c.battery_soc_last,
        *_TOTAL_5M_COLUMNS,
        *(_AGG.c[column] for column in _ENERGY_5M),
        *(_AGG.c[column] for column in _POWER_COLUMNS),
    )
    .where(
        _AGG.c.system_id == sa.bindparam("sid"),
        _AGG.c.interval_end > sa.bindparam("after"),
        _AGG.c.interval_end <= sa.bindparam("until"),
    )
    .order_by(_AGG.c.interval_end)
)
_S_END, _S_ID, _S_COUNT, _S_SOC, _S_TOTAL0 = 0, 1, 2, 3, 4
_S_STORED0: Final = _S_TOTAL0 + _NFLOWS
_S_POWER0: Final = _S_STORED0 + _NFLOWS
_AFTER_STMT: Final = (
    sa.select(_AGG.c.interval_end)
    .where(_AGG.c.system_id == sa.bindparam("sid"), _AGG.c.interval_end > sa.bindparam("after"))
    .order_by(_AGG.c.interval_end)
    .limit(1)
)
_UPDATE_STMT: Final = _AGG.update().where(_AGG.c.id == sa.bindparam("row_id"))
_DAILY_KEY: Final = ("system_id", "day")
_POWER_SAMPLE_COLUMNS: Final = tuple(aggregate._POWER_INDEX[name] for name in POWER_STATS)


_E0: Final = 0
_T0: Final = _NFLOWS
_P0: Final = 2 * _NFLOWS
_R_SOC: Final = _P0 + 3 * len(POWER_STATS)
_R_COUNT: Final = _R_SOC + 1
"""A day's record of one 5-minute row: energies (unrounded), totals, power min/avg/max, SOC, count."""


def _present(values: Sequence[Any]) -> list[Any]:
    """Return the values that are not ``None``, in order."""
    return list(compress(values, map(is_not, values, repeat(None))))


class _Day:
    """One local day's 5-minute rows, in time order, to compute its daily row from (as ``_day_values``)."""

    __slots__ = ("records", "whole")

    def __init__(self) -> None:
        self.records: list[tuple[Any, ...]] = []
        self.whole = True
        """Every row of the day had readings (a vendor's row sends the day to aggregate.py)."""

    def add(
        self,
        energies: Sequence[float | None],
        totals: Sequence[Any],
        powers: Sequence[Any],
        soc: Any,
        count: Any,
    ) -> None:
        self.records.append((*energies, *totals, *powers, soc, count))

    def values(self) -> dict[str, Any]:
        columns = list(zip(*self.records, strict=True))
        values: dict[str, Any] = {}
        for flow, name in enumerate(ENERGY_FLOWS):
            day_column, alltime_column = DAILY_ENERGY_COLUMNS[name]
            energies = _present(columns[_E0 + flow])
            # Added one by one in time order, as _day_values does (sum() would compensate).
            values[day_column] = round_opt(reduce(add, energies, 0.0) / 1000, 3) if energies else None
            values[alltime_column] = round_opt(aggregate._last(columns[_T0 + flow]), 3)
        for index, name in enumerate(POWER_STATS):
            mins, avgs, maxes = (_present(columns[_P0 + 3 * index + stat]) for stat in range(3))
            values[f"{name}_w_min"] = min(mins) if mins else None
            values[f"{name}_w_avg"] = round_int(sum(avgs) / len(avgs)) if avgs else None
            values[f"{name}_w_max"] = max(maxes) if maxes else None
        socs = _present(columns[_R_SOC])
        values["battery_soc_min"] = round_opt(min(socs), 1) if socs else None
        values["battery_soc_avg"] = round_opt(sum(socs) / len(socs), 1) if socs else None
        values["battery_soc_max"] = round_opt(max(socs), 1) if socs else None
        values["battery_soc_end"] = round_opt(socs[-1], 1) if socs else None
        values["interval_count"] = len(self.records)
        values["sample_count"] = sum(count or 0 for count in columns[_R_COUNT])
        values["version"] = 1
        return values


def _last_of(column: Sequence[Any], first: int, stop: int) -> Any:
    """Return the last non-``None`` value of ``column[first:stop]`` (``stop > first``), or ``None``."""
    value = column[stop - 1]
    return value if value is not None else aggregate._last(column[first:stop])


def _interval_values(
    columns: Sequence[Sequence[Any]], first: int, stop: int
) -> tuple[list[Any], Any, list[Any]]:
    """Return one interval's power min/avg/max, last SOC and last totals, as ``aggregate._interval_row``.

    ``columns`` are the span's readings column by column (``_SAMPLE_COLUMNS``); the interval holds
    ``first:stop``. The same figures over the same values in the same order, without a dict per row.
    """
    powers: list[Any] = []
    for index in _POWER_SAMPLE_COLUMNS:
        values = columns[index][first:stop]
        if None in values:
            values = _present(values)
        if values:
            powers += (min(values), round_int(sum(values) / len(values)), max(values))
        else:
            powers += (None, None, None)
    totals = [_last_of(columns[_SAMPLE_TOTAL0 + flow], first, stop) for flow in range(_NFLOWS)]
    return powers, _last_of(columns[_SAMPLE_SOC], first, stop), totals


_ROW_KEYS: Final = (
    *_POWER_COLUMNS,
    "battery_soc_last",
    *_TOTAL_5M,
    "sample_count",
    *_ENERGY_5M,
    "created_at",
)
"""The values of a 5-minute row the walk writes, in order; inserts add system_id and interval_end."""
_INSERT_KEYS: Final = (*_ROW_KEYS, "system_id", "interval_end")
_UPDATE_KEYS: Final = (*_ROW_KEYS, "row_id")
_driver_sql: dict[tuple[str, str, str], tuple[str, tuple[int, ...] | None]] = {}


def _executemany(
    conn: Connection, statement: Any, keys: tuple[str, ...], rows: list[tuple[Any, ...]]
) -> None:
    """Run ``statement`` for ``rows`` (tuples of ``keys``) with one ``executemany`` of the driver.

    Compiled once per dialect, as ``writer._insert_readings`` does: SQLAlchemy's per-row parameter
    processing cost more than the statement (the SQLite REAL columns' float conversion it skips is the
    column affinity's own).
    """
    dialect = conn.dialect
    cache_key = (keys[-1], dialect.name, dialect.paramstyle)
    found = _driver_sql.get(cache_key)
    if found is None:
        columns = [key for key in keys if key != "row_id"]
        compiled = statement.compile(dialect=dialect, column_keys=columns, for_executemany=True)
        order = tuple(map(keys.index, compiled.positiontup)) if dialect.positional else None
        found = _driver_sql[cache_key] = (str(compiled), order)
    sql, order = found
    if order is None:
        conn.exec_driver_sql(sql, [dict(zip(keys, row, strict=True)) for row in rows])
    else:  # the placeholders' order (the table's, for an INSERT's values)
        conn.exec_driver_sql(sql, list(map(itemgetter(*order), rows)))


def write_backfill(
    conn: Connection,
    system_id: int,
    readings: Sequence[Reading],
    *,
    received_time: int,
    now: int | None = None,
) -> WriteResult:
    """Store a batch of readings and every aggregate that depends on them, set-based.

    Same arguments, result and rows as :func:`.writer.write_readings`; meant for batches of hours to a
    few weeks (the batch's span is read into memory once).

    Raises:
        LookupError: the system does not exist.

    """
    if not readings:
        return WriteResult(0, (), ())
    stamp = int(time.time()) if now is None else now
    offset = aggregate.system_offset(conn, system_id)
    rows, problems = new_rows(conn, system_id, readings, received_time, stamp)
    if not rows:
        return WriteResult(0, (), (), problems)
    _insert_readings(conn, rows)

    targets = sorted({interval_end_of(row[ROW_TIME]) for row in rows})
    lo, hi = targets[0], targets[-1]
    walk_start = day_bounds(local_day(lo, offset), offset)[0]  # exclusive: the day's first end is +300
    params = {"sid": system_id, "after": walk_start - INTERVAL - MAX_SEGMENT, "until": hi}
    samples = list(conn.execute(_SAMPLES_STMT, params).all())
    groups = _group(samples, walk_start + 1)
    stored = {int(row[_S_END]): row for row in conn.execute(_STORED_STMT, {**params, "after": walk_start})}
    order = sorted(stored.keys() | groups.keys())

    columns = list(zip(*samples, strict=True)) if samples else []
    baselines = _Baselines(conn, system_id, walk_start + 1)  # after the new totals
    previous = baselines.twin()  # after the stored totals: what the rows after the batch were computed with
    days: dict[date, _Day] = {}
    day_end = walk_start  # the current day's last interval end
    day = _Day()
    updates: list[tuple[Any, ...]] = []
    inserts: list[tuple[Any, ...]] = []
    written: list[int] = []
    for end in order:
        if end > day_end:
            local = local_day(end, offset)
            day_end = day_bounds(local, offset)[1]
            day = days[local] = _Day()
        span = groups.get(end)
        existing = stored.get(end)
        if span is None:
            # A row without readings (a vendor's): never rewritten; its totals are baselines.
            assert existing is not None
            totals = existing[_S_TOTAL0 : _S_TOTAL0 + _NFLOWS]
            kept = existing[_S_STORED0 : _S_STORED0 + _NFLOWS]
            energies = _energies(totals, baselines, None, None, kept)
            previous.advance(totals)
            day.add(energies, totals, existing[_S_POWER0:], existing[_S_SOC], existing[_S_COUNT])
            day.whole = False
            continue
        first, stop = span
        powers, soc, totals = _interval_values(columns, first, stop)
        energies = _energies(
            totals, baselines, samples[first:stop], samples[first - 1] if first else None, None
        )
        if existing is not None:
            previous.advance(existing[_S_TOTAL0 : _S_TOTAL0 + _NFLOWS])
        day.add(energies, totals, powers, soc, stop - first)
        if end < lo:
            continue  # before the batch: held for the day's sums only, unchanged
        row = (*powers, soc, *totals, stop - first, *map(round_int, energies), stamp)
        if existing is None:
            inserts.append((*row, system_id, end))
        else:
            updates.append((*row, existing[_S_ID]))
        written.append(end)
    if updates:
        _executemany(conn, _UPDATE_STMT, _UPDATE_KEYS, updates)
    if inserts:
        _executemany(conn, _AGG.insert(), _INSERT_KEYS, inserts)

    # Rows after the batch whose first segment or lifetime-total rise starts in it.
    following = conn.execute(_AFTER_STMT, {"sid": system_id, "after": hi}).scalar_one_or_none()
    if following is not None:
        # The first of them has a new first segment; later ones follow while a baseline differs.
        carry = baselines.differences(previous)
        extra = sorted(
            aggregate.recompute_from(conn, system_id, [[int(following)]], stamp, changed=False, carry=carry)
        )
        written = sorted(set(written) | set(extra))
        # The last day may hold rows beyond the walk: aggregate.py computes it from the store.
        days[local_day(hi, offset)].whole = False
    else:
        extra = []

    # The days the per-poll path would recompute: of the new readings' intervals, of the interval
    # after each (its first segment) and of the dependents after the batch.
    touched = {*targets, *(end + INTERVAL for end in targets), *extra}
    due = aggregate.days_due(conn, system_id, offset, touched, stamp)
    in_memory: list[dict[str, Any]] = []
    elsewhere: list[date] = []
    for due_day in due:
        held = days.get(due_day)
        if held is not None and held.whole:
            values = held.values()
            values.update(
                system_id=str(system_id), day=due_day.isoformat(), created_at=stamp, updated_at=stamp
            )
            in_memory.append(values)
        else:
            elsewhere.append(due_day)
    if in_memory:
        upsert(conn, readings_agg_1d, in_memory, keys=_DAILY_KEY, insert_only=("created_at",))
    done = sorted(
        [values["day"] for values in in_memory]
        + aggregate.recompute_days(conn, system_id, elsewhere, now=stamp)
    )
    return WriteResult(len(rows), tuple(written), tuple(done), problems)
