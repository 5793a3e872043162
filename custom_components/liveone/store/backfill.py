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
import logging
import time
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa

from custom_components.liveone.vendors.model import ENERGY_FLOWS, round_int, round_opt

from . import aggregate
from .aggregate import (
    _ENERGY_5M,
    _NFLOWS,
    _SAMPLES_STMT,
    _TOTAL_5M_COLUMNS,
    INTERVAL,
    MAX_SEGMENT,
    _Baselines,
    _energies,
    _group,
    _interval_row,
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


class _Day:
    """One local day's running sums over its 5-minute rows, in time order (as ``_day_values``)."""

    __slots__ = ("avgs", "found", "maxes", "mins", "rows", "samples", "socs", "sums", "totals", "whole")

    def __init__(self) -> None:
        self.sums = [0.0] * _NFLOWS
        self.found = [False] * _NFLOWS
        self.totals: list[list[Any]] = [[] for _ in range(_NFLOWS)]
        self.mins: list[list[Any]] = [[] for _ in POWER_STATS]
        self.avgs: list[list[Any]] = [[] for _ in POWER_STATS]
        self.maxes: list[list[Any]] = [[] for _ in POWER_STATS]
        self.socs: list[Any] = []
        self.rows = 0
        self.samples = 0
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
        for flow, energy in enumerate(energies):
            if energy is not None:
                self.sums[flow] += energy
                self.found[flow] = True
            self.totals[flow].append(totals[flow])
        for index in range(len(POWER_STATS)):
            low, mean, high = powers[3 * index : 3 * index + 3]
            if low is not None:
                self.mins[index].append(low)
            if mean is not None:
                self.avgs[index].append(mean)
            if high is not None:
                self.maxes[index].append(high)
        if soc is not None:
            self.socs.append(soc)
        self.rows += 1
        self.samples += count or 0

    def values(self) -> dict[str, Any]:
        values: dict[str, Any] = {}
        for flow, name in enumerate(ENERGY_FLOWS):
            day_column, alltime_column = DAILY_ENERGY_COLUMNS[name]
            values[day_column] = round_opt(self.sums[flow] / 1000, 3) if self.found[flow] else None
            values[alltime_column] = round_opt(aggregate._last(self.totals[flow]), 3)
        for index, name in enumerate(POWER_STATS):
            mins, avgs, maxes = self.mins[index], self.avgs[index], self.maxes[index]
            values[f"{name}_w_min"] = min(mins) if mins else None
            values[f"{name}_w_avg"] = round_int(sum(avgs) / len(avgs)) if avgs else None
            values[f"{name}_w_max"] = max(maxes) if maxes else None
        socs = self.socs
        values["battery_soc_min"] = round_opt(min(socs), 1) if socs else None
        values["battery_soc_avg"] = round_opt(sum(socs) / len(socs), 1) if socs else None
        values["battery_soc_max"] = round_opt(max(socs), 1) if socs else None
        values["battery_soc_end"] = round_opt(socs[-1], 1) if socs else None
        values["interval_count"] = self.rows
        values["sample_count"] = self.samples
        values["version"] = 1
        return values


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

    baselines = _Baselines(conn, system_id, walk_start + 1)  # after the new totals
    previous = baselines.twin()  # after the stored totals: what the rows after the batch were computed with
    days: dict[date, _Day] = {}
    updates: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    written: list[int] = []
    for end in order:
        day = days.get(local_day(end, offset))
        if day is None:
            day = days[local_day(end, offset)] = _Day()
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
        group = samples[first:stop]
        row, totals = _interval_row(group)
        energies = _energies(totals, baselines, group, samples[first - 1] if first else None, None)
        if existing is not None:
            previous.advance(existing[_S_TOTAL0 : _S_TOTAL0 + _NFLOWS])
        day.add(
            energies, totals, [row[column] for column in _POWER_COLUMNS], row["battery_soc_last"], len(group)
        )
        if end < lo:
            continue  # before the batch: held for the day's sums only, unchanged
        for key, energy in zip(_ENERGY_5M, energies, strict=True):
            row[key] = round_int(energy)
        row["created_at"] = stamp
        if existing is None:
            row["system_id"] = system_id
            row["interval_end"] = end
            inserts.append(row)
        else:
            row["row_id"] = existing[_S_ID]
            updates.append(row)
        written.append(end)
    if updates:
        conn.execute(_UPDATE_STMT, updates)
    if inserts:
        conn.execute(_AGG.insert(), inserts)

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
