"""5-minute and daily aggregation of ``readings`` (docs/aggregation.md).

Intervals. A reading at ``t`` belongs to the interval ending ``ceil(t / 300) * 300`` (``start < t <=
end``). A 5-minute row carries avg/min/max of each power column over its non-NULL values, the last
non-NULL SOC and lifetime totals (by ``inverter_time``), the number of readings and one energy per flow.

Interval energy of a flow, decided per interval:

1. The interval has a lifetime total for the flow: its rise over the flow's *baseline*, in Wh. The
   baseline is the total of the system's previous interval that has one (however far back), except
   across a glitch (:func:`glitch_step`): a fall to below :data:`RESET_RATIO` of the baseline is a
   counter reset (0 for the interval, the new total becomes the baseline); a smaller fall is a glitch
   (0 for the interval, the baseline stays, so the recovery is not counted again). No earlier total:
   NULL. The row's ``*_kwh_total_last`` keeps the real last total either way.

   Decision: the baseline before an interval is found by replaying the rule over the system's
   :data:`BASELINE_ROWS` 5-minute rows before it (a day of intervals), starting from the latest total
   before them. The rule needs no stored state that way, and every walk, wherever it starts, finds
   the same baselines as long as a glitch lasts fewer rows than that; a fall that lasts longer is
   taken as the new level.
2. Otherwise, readings that carry the pushed ``<flow>_wh_interval``: their sum (never below 0).
3. Otherwise the trapezoidal integral of the power column: solar and load over their positive part,
   battery and grid split by sign (battery negative = charging = ``battery_in``, grid positive =
   ``grid_in``), a segment whose ends have opposite signs being split at its zero crossing.

   Decision: every segment between two consecutive readings is counted in the interval of its later
   reading, so the segment from the previous interval's last reading to this interval's first reading
   belongs here. Counting only segments inside an interval would lose a fifth of the energy of
   1-minute data. A segment longer than :data:`MAX_SEGMENT` seconds is a gap, not data, and is not
   integrated; an interval with no segment to integrate has NULL energy.

Intervals whose 5-minute row has no raw readings (Enphase writes its 5-minute rows directly, through
:mod:`.intervals`, which refuses a slot that holds raw readings) are never rewritten here; they count
in the daily rows and serve as baselines for the totals rule. For such a row
the stored Wh is its energy, except that a rise of its lifetime total is used where there is an earlier
total (the two agree for a correctly chained total).

Dependents. Recomputing an interval changes what later rows computed from it: the next row's first
segment starts at this interval's last reading, and the next row with a total for a flow measures its
rise from this one's baseline. Both are recomputed too, and rows after them for as long as a flow's
baseline differs from the one the stored rows were computed with (a glitch that became a reset moves
the baseline of every row up to the next rise; see docs/aggregation.md#recomputing).

Days. A day holds the intervals whose end lies in ``(local 00:00, next local 00:00]`` by the system's
fixed ``timezone_offset_min``. A day's energy is the sum of its intervals' energies before they are
rounded to Wh (:func:`_energies` is the one function both levels use), so a day is exactly the sum of
its intervals and a counter reset never makes it negative. ``battery_soc_end`` and the ``*_alltime_kwh``
columns take the last non-NULL value of the day.

Every query goes through the ``(system_id, interval_end)`` and ``(system_id, inverter_time)`` indexes,
over one system's window; large ranges are processed a day at a time. Upserts are a select of the
existing ids followed by batched ``UPDATE`` / ``INSERT`` for 5-minute rows, and one upsert per daily
row (:mod:`.dialect` spells it for each database), in the caller's transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, timedelta
import time
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa

from custom_components.liveone.vendors.model import ENERGY_FLOWS, round_int, round_opt

from .dialect import upsert
from .schema import (
    DAILY_ENERGY_COLUMNS,
    ENERGY_FLOWS_5M,
    POWER_STATS,
    readings,
    readings_agg_1d,
    readings_agg_5m,
    systems,
)

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

INTERVAL: Final = 300
"""Length of an aggregation interval (s)."""
DAY: Final = 86_400
MAX_SEGMENT: Final = 600
"""Longest gap between two readings that is still integrated (s)."""
RESET_RATIO: Final = 0.9
"""A lifetime total below this fraction of its baseline is a counter reset; a smaller fall a glitch."""
BASELINE_ROWS: Final = DAY // INTERVAL
"""How many 5-minute rows back the glitch rule is replayed to find a flow's baseline."""

_EPOCH: Final = date(1970, 1, 1)
_NFLOWS: Final = len(ENERGY_FLOWS)

# Raw readings are loaded as plain tuples in this column order.
_SAMPLE_COLUMNS: Final = (
    readings.c.inverter_time,
    *(readings.c[f"{name}_w"] for name in POWER_STATS),
    readings.c.battery_soc,
    *(readings.c[f"{flow}_kwh_total"] for flow in ENERGY_FLOWS),
    *(readings.c[f"{flow}_wh_interval"] for flow in ENERGY_FLOWS),
)
_T: Final = 0
_POWER_INDEX: Final = {name: 1 + index for index, name in enumerate(POWER_STATS)}
_SOC: Final = 1 + len(POWER_STATS)
_TOTAL0: Final = 6
_PUSHED0: Final = _TOTAL0 + _NFLOWS
# For each flow (ENERGY_FLOWS order): the power column it integrates and whether it takes the
# negative part of that column instead of the positive part.
_FLOW_POWER: Final = (
    (_POWER_INDEX["solar"], False),
    (_POWER_INDEX["load"], False),
    (_POWER_INDEX["battery"], True),
    (_POWER_INDEX["battery"], False),
    (_POWER_INDEX["grid"], False),
    (_POWER_INDEX["grid"], True),
)

_ENERGY_5M: Final = tuple(column for _, column in ENERGY_FLOWS_5M)
_TOTAL_5M: Final = tuple(f"{flow}_kwh_total_last" for flow in ENERGY_FLOWS)
_TOTAL_5M_COLUMNS: Final = tuple(readings_agg_5m.c[name] for name in _TOTAL_5M)

type _Sample = Sequence[Any]

# Statements are built once: SQLAlchemy then reuses their cache keys and compiled forms, which keeps
# the per-poll path to a few tens of microseconds per query.
_SID: Final[sa.BindParameter[Any]] = sa.bindparam("sid")
_AGG = readings_agg_5m
_OFFSET_STMT: Final = sa.select(systems.c.timezone_offset_min).where(systems.c.id == _SID)
_PREVIOUS_TOTALS_STMT: Final = (
    sa.select(*_TOTAL_5M_COLUMNS)
    .where(_AGG.c.system_id == _SID, _AGG.c.interval_end < sa.bindparam("before"))
    .order_by(_AGG.c.interval_end.desc())
    .limit(1)
)
_WINDOW_TOTALS_STMT: Final = (
    sa.select(_AGG.c.interval_end, *_TOTAL_5M_COLUMNS)
    .where(_AGG.c.system_id == _SID, _AGG.c.interval_end < sa.bindparam("before"))
    .order_by(_AGG.c.interval_end.desc())
    .limit(BASELINE_ROWS)
)
_WINDOW: Final = _WINDOW_TOTALS_STMT.subquery()
_WINDOW_SUMMARY_STMT: Final = sa.select(
    sa.func.count(),
    sa.func.min(_WINDOW.c.interval_end),
    *(sa.func.max(_WINDOW.c[column.name]) for column in _TOTAL_5M_COLUMNS),
)
"""The window's size, its first row, and each flow's highest total in it (computed by the database)."""
_DAY_SUMMARY_STMT: Final = sa.select(
    sa.func.count(),
    sa.func.min(_AGG.c.interval_end),
    *(sa.func.max(column) for column in _TOTAL_5M_COLUMNS),
).where(
    _AGG.c.system_id == _SID,
    _AGG.c.interval_end < sa.bindparam("before"),
    _AGG.c.interval_end >= sa.bindparam("since"),
)
"""The same over the day before ``before``: the window itself when that day has all its rows.

One range of the index instead of a sub-select: the usual case (no gap in the last day) is cheaper."""
_PREVIOUS_TOTAL_STMTS: Final = tuple(
    sa.select(column)
    .where(_AGG.c.system_id == _SID, _AGG.c.interval_end < sa.bindparam("before"), column.is_not(None))
    .order_by(_AGG.c.interval_end.desc())
    .limit(1)
    for column in _TOTAL_5M_COLUMNS
)
_NEXT_TOTAL_STMTS: Final = tuple(
    sa.select(_AGG.c.interval_end)
    .where(_AGG.c.system_id == _SID, _AGG.c.interval_end > sa.bindparam("after"), column.is_not(None))
    .order_by(_AGG.c.interval_end)
    .limit(1)
    for column in _TOTAL_5M_COLUMNS
)
_SAMPLES_STMT: Final = (
    sa.select(*_SAMPLE_COLUMNS)
    .where(
        readings.c.system_id == _SID,
        readings.c.inverter_time > sa.bindparam("after"),
        readings.c.inverter_time <= sa.bindparam("until"),
    )
    .order_by(readings.c.inverter_time)
)
_READING_TIMES_STMT: Final = sa.select(readings.c.inverter_time).where(
    readings.c.system_id == _SID,
    readings.c.inverter_time > sa.bindparam("after"),
    readings.c.inverter_time <= sa.bindparam("until"),
)
_CHUNK_ROWS_STMT: Final = (
    sa.select(_AGG.c.interval_end, _AGG.c.id, *_TOTAL_5M_COLUMNS)
    .where(_AGG.c.system_id == _SID, _AGG.c.interval_end >= sa.bindparam("lo"))
    .order_by(_AGG.c.interval_end)
    .limit(sa.bindparam("limit"))
)
_UPDATE_5M_STMT: Final = _AGG.update().where(_AGG.c.id == sa.bindparam("row_id"))
_INSERT_5M_STMT: Final = _AGG.insert()


# --------------------------------------------------------------------------------------------------
# Time helpers


def interval_end_of(t: int) -> int:
    """Return the end of the 5-minute interval holding time ``t`` (``ceil(t / 300) * 300``)."""
    return -(-int(t) // INTERVAL) * INTERVAL


def local_day(interval_end: int, tz_offset_min: int) -> date:
    """Return the local day an interval belongs to: its end lies in ``(local 00:00, next 00:00]``."""
    return _EPOCH + timedelta(days=(int(interval_end) + tz_offset_min * 60 - 1) // DAY)


def day_bounds(day: date, tz_offset_min: int) -> tuple[int, int]:
    """Return a local day's bounds in Unix seconds: (exclusive start, inclusive end)."""
    start = (day - _EPOCH).days * DAY - tz_offset_min * 60
    return start, start + DAY


def local_date_at(t: float, tz_offset_min: int) -> date:
    """Return the local calendar date at instant ``t`` (at local 00:00 the new date has begun)."""
    return _EPOCH + timedelta(days=(int(t) + tz_offset_min * 60) // DAY)


def system_offset(conn: Connection, system_id: int) -> int:
    """Return the system's ``timezone_offset_min``.

    Raises:
        LookupError: the system does not exist.

    """
    offset = conn.execute(_OFFSET_STMT, {"sid": system_id}).scalar_one_or_none()
    if offset is None:
        raise LookupError(f"no system with id {system_id}")
    return int(offset)


# --------------------------------------------------------------------------------------------------
# Interval energy (shared by the 5-minute and the daily level)


def glitch_step(baseline: float | None, total: float) -> tuple[float | None, float]:
    """Apply the glitch rule to one lifetime total (kWh): return (energy in Wh, the next baseline).

    A rise over the baseline counts and becomes the baseline. A fall to below :data:`RESET_RATIO` of
    it is a reset: 0, and the new total is the baseline. A smaller fall is a glitch: 0, the baseline
    stays. Without a baseline (the system's first total) the energy is ``None``.
    """
    if baseline is None:
        return None, total
    if total >= baseline:
        return (total - baseline) * 1000.0, total
    if total < baseline * RESET_RATIO:
        return 0.0, total
    return 0.0, baseline


class _Initial:
    """The glitch-rule baseline of each flow before an interval end, found in the store on demand.

    The rule is replayed over the :data:`BASELINE_ROWS` rows before ``before``; a flow with no total
    in them takes the latest total before them (however far back). Shared by the twins of a
    :class:`_Baselines`, so each value is looked up once.
    """

    __slots__ = (
        "_before",
        "_conn",
        "_looked_back",
        "_oldest",
        "_resolved",
        "_summarized",
        "_system_id",
        "_values",
    )

    def __init__(self, conn: Connection, system_id: int, before: int) -> None:
        self._conn = conn
        self._system_id = system_id
        self._before = before
        self._values: list[float | None] = [None] * _NFLOWS
        self._resolved = [False] * _NFLOWS
        self._looked_back = False
        self._summarized = False
        self._oldest: int | None = None  # the first row replayed, when rows before it may exist

    def value(self, flow: int) -> float | None:
        """Return the flow's baseline before ``before``, or ``None`` when the system never had one."""
        if not self._resolved[flow]:
            self._look_back(flow)
        return self._values[flow]

    def _look_back(self, flow: int) -> None:
        if not self._summarized:
            self._summarized = True
            self._rising()
            if self._resolved[flow]:
                return
        if not self._looked_back:
            # One query through the index: the window's rows, replayed in time order.
            self._looked_back = True
            rows = self._conn.execute(
                _WINDOW_TOTALS_STMT, {"sid": self._system_id, "before": self._before}
            ).all()
            window: list[float | None] = [None] * _NFLOWS
            seen = [False] * _NFLOWS
            if len(rows) == BASELINE_ROWS:
                # Rows before the window may hold the baseline a glitch in the window kept.
                self._oldest = int(rows[-1][0])
                seeds = self._conn.execute(
                    _PREVIOUS_TOTALS_STMT, {"sid": self._system_id, "before": self._oldest}
                ).first()
                for index in range(_NFLOWS):
                    if any(row[1 + index] is not None for row in rows):
                        seed = seeds[index] if seeds is not None else None
                        if seed is None and seeds is not None:
                            seed = self._lookup(index, self._oldest)
                        window[index], seen[index] = seed, seed is not None
            for row in reversed(rows):
                for index, value in enumerate(row[1:]):
                    if value is not None:
                        window[index] = glitch_step(window[index], value)[1] if seen[index] else value
                        seen[index] = True
            for index in range(_NFLOWS):
                if not self._resolved[index] and (seen[index] or self._oldest is None):
                    self._values[index] = window[index]
                    self._resolved[index] = True
            if self._resolved[flow]:
                return
        assert self._oldest is not None
        self._values[flow] = self._lookup(flow, self._oldest)
        self._resolved[flow] = True

    def _rising(self) -> None:
        """Resolve each flow whose newest total is its highest (the others are left to the replay).

        The replay's baseline is always a total it has seen (one in the window, or the one before it),
        and a total at or above the baseline becomes the baseline. So when the row just before
        ``before`` holds the highest total of the window, and one at or above the total before the
        window, the replay ends at that total whatever happened in between. A counter that only
        rises (nearly every flow of every system, nearly always) is resolved this way by two short
        queries that the database answers from the index, instead of a day of rows replayed here,
        so a write costs the same however long the system's history. Flows that dipped are replayed
        by :meth:`_look_back`.
        """
        params = {"sid": self._system_id, "before": self._before}
        summary = self._conn.execute(
            _DAY_SUMMARY_STMT, {**params, "since": self._before - BASELINE_ROWS * INTERVAL}
        ).one()
        if summary[0] != BASELINE_ROWS:  # a gap, or a shorter history: the window reaches further back
            summary = self._conn.execute(_WINDOW_SUMMARY_STMT, params).one()
        count = int(summary[0])
        if not count:
            return  # no row at all: the replay decides (quickly)
        newest = self._conn.execute(_PREVIOUS_TOTALS_STMT, params).one()  # the row just before
        seeds: Any = None
        if count == BASELINE_ROWS:
            seeds = self._conn.execute(
                _PREVIOUS_TOTALS_STMT, {"sid": self._system_id, "before": int(summary[1])}
            ).first()
        for index in range(_NFLOWS):
            last, top = newest[index], summary[2 + index]
            if last is None or top is None or last < top:
                continue
            if seeds is not None:
                seed = seeds[index]
                if seed is None:
                    seed = self._lookup(index, int(summary[1]))
                if seed is not None and last < seed:
                    continue
            self._values[index] = last
            self._resolved[index] = True

    def _lookup(self, flow: int, before: int) -> float | None:
        """Return the flow's latest total in the rows before ``before`` (however far back)."""
        params = {"sid": self._system_id, "before": before}
        value: float | None = self._conn.execute(_PREVIOUS_TOTAL_STMTS[flow], params).scalar_one_or_none()
        return value


class _Baselines:
    """The glitch-rule baseline of each flow, following the rows a walk passes through.

    It starts as the baselines before ``before`` (:class:`_Initial`) and follows the rows the caller
    walks, in ascending order, through :meth:`step` and :meth:`advance`. A :meth:`twin` starts from
    the same baselines and follows rows of its own: a recompute walks the stored totals with one and
    the new totals with the other, to see which flows' baselines the new readings changed.
    """

    __slots__ = ("_initial", "_resolved", "_values")

    def __init__(self, conn: Connection, system_id: int, before: int) -> None:
        self._initial = _Initial(conn, system_id, before)
        self._values: list[float | None] = [None] * _NFLOWS
        self._resolved = [False] * _NFLOWS

    def twin(self) -> _Baselines:
        """Return baselines that start where this one started (before any row it has followed)."""
        twin = _Baselines.__new__(_Baselines)
        twin._initial = self._initial
        twin._values = [None] * _NFLOWS
        twin._resolved = [False] * _NFLOWS
        return twin

    def get(self, flow: int) -> float | None:
        """Return the baseline total of a flow, or ``None`` when the system never had one."""
        if not self._resolved[flow]:
            self._values[flow] = self._initial.value(flow)
            self._resolved[flow] = True
        return self._values[flow]

    def set(self, flow: int, value: float | None) -> None:
        """Make ``value`` the flow's baseline (one carried over from an earlier walk)."""
        self._values[flow] = value
        self._resolved[flow] = True

    def step(self, flow: int, total: float) -> float | None:
        """Apply the glitch rule to a flow's next total; return its energy (Wh) or ``None``."""
        energy, self._values[flow] = glitch_step(self.get(flow), total)
        return energy

    def advance(self, totals: Sequence[float | None]) -> None:
        """Pass an interval's non-NULL totals through the rule, for the intervals after it."""
        for flow, total in enumerate(totals):
            if total is not None:
                self.step(flow, total)

    def differences(self, other: _Baselines, flows: Iterable[int] | None = None) -> dict[int, float | None]:
        """Return ``other``'s baseline of each flow (of ``flows``, or of any followed) where it differs."""
        if flows is None:
            flows = [f for f in range(_NFLOWS) if self._resolved[f] or other._resolved[f]]
        return {f: other.get(f) for f in flows if self.get(f) != other.get(f)}


def _positive_mean(a: float, b: float) -> float:
    """Mean of the positive part of a linear segment from ``a`` to ``b`` (split at its zero)."""
    if a >= 0 and b >= 0:
        return (a + b) / 2
    if a <= 0 and b <= 0:
        return 0.0
    high = max(a, b)
    return high * high / (2 * abs(a - b))


def _integrate(samples: Sequence[_Sample], previous: _Sample | None) -> list[float | None]:
    """Trapezoidal energy (Wh) of every flow over the segments ending at ``samples``."""
    sums = [0.0] * _NFLOWS
    seen = [False] * _NFLOWS
    before = previous
    for sample in samples:
        if before is not None and sample[_T] - before[_T] <= MAX_SEGMENT:
            seconds = sample[_T] - before[_T]
            for flow, (column, negative) in enumerate(_FLOW_POWER):
                a, b = before[column], sample[column]
                if a is None or b is None:
                    continue
                if negative:
                    a, b = -a, -b
                sums[flow] += _positive_mean(a, b) * seconds
                seen[flow] = True
        before = sample
    return [sums[flow] / 3600 if seen[flow] else None for flow in range(_NFLOWS)]


def _energies(
    totals: Sequence[float | None],
    baselines: _Baselines,
    samples: Sequence[_Sample] | None,
    previous: _Sample | None,
    stored: Sequence[float | None] | None,
) -> list[float | None]:
    """Return one interval's unrounded energy per flow (Wh) and advance the baselines past it.

    Args:
        totals: the interval's last lifetime total per flow (kWh).
        baselines: the totals of the intervals before this one.
        samples: the interval's raw readings in time order, or ``None`` for a row without readings.
        previous: the reading just before ``samples[0]`` (the start of the first segment).
        stored: the row's stored Wh per flow, used for rows without readings.

    """
    result: list[float | None] = []
    integral: list[float | None] | None = None
    for flow in range(_NFLOWS):
        total = totals[flow]
        value: float | None
        if total is not None and (baselines.get(flow) is not None or samples is not None):
            # A rise over the baseline, 0 for a reset or glitch; None for the system's first total.
            value = baselines.step(flow, total)
        elif samples is None:
            kept = None if stored is None else stored[flow]
            value = None if kept is None else float(kept)
            if total is not None:
                baselines.step(flow, total)
        else:
            pushed = [s[_PUSHED0 + flow] for s in samples if s[_PUSHED0 + flow] is not None]
            if pushed:
                value = max(0.0, float(sum(pushed)))
            else:
                if integral is None:
                    integral = _integrate(samples, previous)
                value = integral[flow]
        result.append(value)
    return result


def _last(values: Sequence[Any]) -> Any:
    """Return the last non-``None`` value, or ``None``."""
    for value in reversed(values):
        if value is not None:
            return value
    return None


def _group(samples: Sequence[_Sample], first_end: int) -> dict[int, tuple[int, int]]:
    """Map each interval end (>= ``first_end``) to the slice of ``samples`` it holds."""
    groups: dict[int, tuple[int, int]] = {}
    start = 0
    current: int | None = None
    for index, sample in enumerate(samples):
        end = interval_end_of(sample[_T])
        if end != current:
            if current is not None and current >= first_end:
                groups[current] = (start, index)
            current, start = end, index
    if current is not None and current >= first_end:
        groups[current] = (start, len(samples))
    return groups


def _load_samples(conn: Connection, system_id: int, after: int, until: int) -> list[_Sample]:
    """Return the system's readings with ``after < inverter_time <= until``, in time order."""
    return list(conn.execute(_SAMPLES_STMT, {"sid": system_id, "after": after, "until": until}).all())


# --------------------------------------------------------------------------------------------------
# 5-minute rows


_POWER_KEYS: Final = tuple(
    (_POWER_INDEX[name], f"{name}_w_avg", f"{name}_w_min", f"{name}_w_max") for name in POWER_STATS
)


def _interval_row(samples: Sequence[_Sample]) -> tuple[dict[str, Any], list[float | None]]:
    """Return the power, SOC and total columns of an interval's row and its totals per flow."""
    columns = list(zip(*samples, strict=True))
    row: dict[str, Any] = {}
    for index, avg_key, min_key, max_key in _POWER_KEYS:
        values = [value for value in columns[index] if value is not None]
        if values:
            row[avg_key] = round_int(sum(values) / len(values))
            row[min_key] = min(values)
            row[max_key] = max(values)
        else:
            row[avg_key] = row[min_key] = row[max_key] = None
    row["battery_soc_last"] = _last(columns[_SOC])
    totals: list[float | None] = [_last(columns[_TOTAL0 + flow]) for flow in range(_NFLOWS)]
    row.update(zip(_TOTAL_5M, totals, strict=True))
    row["sample_count"] = len(samples)
    return row, totals


def _write_5m(conn: Connection, updates: list[dict[str, Any]], inserts: list[dict[str, Any]]) -> None:
    if updates:
        conn.execute(_UPDATE_5M_STMT, updates)
    if inserts:
        conn.execute(_INSERT_5M_STMT, inserts)


Carry = dict[int, float | None]
"""Flows whose baseline a recompute changed, with the baseline the stored rows were computed with."""


def _recompute_chunk(
    conn: Connection,
    system_id: int,
    targets: Sequence[int],
    all_targets: set[int] | frozenset[int],
    now: int,
    *,
    changed: bool,
    carry: Carry | None = None,
) -> tuple[list[int], tuple[int, Carry] | None]:
    """Recompute the 5-minute rows of ``targets`` (ascending, within about a day) and their dependents.

    ``changed`` says the targets' readings changed: the row after each then has a new first segment.
    Later rows are recomputed while the baseline of one of their flows differs from the one they were
    computed with: the walk follows the stored totals (the rows as they were computed) beside the new
    ones, so a glitch that became a reset, or a reset a glitch, reaches every row after it. ``carry``
    holds such differences from the walk before this one (valid at ``targets[0]``). Rows in
    ``all_targets`` after this chunk are left to their own chunk.

    Returns:
        The interval ends written, and where the dependents go on beyond the rows walked (the next
        row with a total of a flow still differing, and the differences), or ``None``.

    """
    lo, hi = targets[0], targets[-1]
    target_set = set(targets)

    # The chunk's existing rows and the first row after it, in one query through the index.
    stored: dict[int, tuple[int, tuple[float | None, ...]]] = {}
    next_end: int | None = None
    limit = (hi - lo) // INTERVAL + 2
    found_rows = conn.execute(_CHUNK_ROWS_STMT, {"sid": system_id, "lo": lo, "limit": limit}).all()
    for found in found_rows:
        end = int(found[0])
        if end > hi:
            if end not in all_targets:
                next_end = end
                stored[end] = (found[1], tuple(found[2:]))
            break
        stored[end] = (found[1], tuple(found[2:]))

    walk_end = hi if next_end is None else next_end
    samples = _load_samples(conn, system_id, lo - INTERVAL - MAX_SEGMENT, walk_end)
    groups = _group(samples, lo)
    order = sorted(set(stored) | (target_set & groups.keys()))

    baselines = _Baselines(conn, system_id, lo)  # after the new totals
    previous = baselines.twin()  # after the stored totals: what the stored rows were computed with
    for flow, value in (carry or {}).items():
        previous.set(flow, value)
    diverged = set(carry or ())  # flows whose two baselines differ
    follow = False  # the previous interval's readings changed: the next row's first segment did too
    updates: list[dict[str, Any]] = []
    inserts: list[dict[str, Any]] = []
    written: list[int] = []
    for end in order:
        span = groups.get(end)
        existing = stored.get(end)
        old_totals = existing[1] if existing is not None else ()
        if span is None:
            # A row without readings: never rewritten, but its totals are baselines.
            assert existing is not None
            baselines.advance(old_totals)
            previous.advance(old_totals)
            touched = {f for f, v in enumerate(old_totals) if v is not None}
            diverged = (diverged - touched) | set(baselines.differences(previous, diverged | touched))
            continue
        is_target = end in target_set
        if not (is_target or follow or any(old_totals[f] is not None for f in diverged)):
            # Unchanged, and no flow it has a total for differs: both walks pass it alike.
            baselines.advance(old_totals)
            previous.advance(old_totals)
            continue
        first, stop = span
        group = samples[first:stop]
        row, totals = _interval_row(group)
        energies = _energies(totals, baselines, group, samples[first - 1] if first else None, None)
        previous.advance(old_totals)
        for key, energy in zip(_ENERGY_5M, energies, strict=True):
            row[key] = round_int(energy)
        row["created_at"] = now
        if existing is None:
            row["system_id"] = system_id
            row["interval_end"] = end
            inserts.append(row)
        else:
            row["row_id"] = existing[0]
            updates.append(row)
        written.append(end)
        touched = {f for f, v in enumerate(totals) if v is not None} | {
            f for f, v in enumerate(old_totals) if v is not None
        }
        diverged = (diverged - touched) | set(baselines.differences(previous, diverged | touched))
        follow = is_target and changed
    _write_5m(conn, updates, inserts)

    after = order[-1] if order else hi
    # Rows may follow the walk if the query hit its limit or returned rows the walk did not reach.
    more_after = len(found_rows) == limit or (bool(found_rows) and found_rows[-1][0] > after)
    if not (diverged and more_after):
        return written, None
    # A differing flow's next total lies beyond the rows walked: the dependents go on from there.
    params = {"sid": system_id, "after": after}
    far = [conn.execute(_NEXT_TOTAL_STMTS[flow], params).scalar_one_or_none() for flow in sorted(diverged)]
    found_ends = [int(end) for end in far if end is not None]
    if not found_ends:
        return written, None
    return written, (min(found_ends), {flow: previous.get(flow) for flow in diverged})


def recompute_from(
    conn: Connection,
    system_id: int,
    chunks: Sequence[Sequence[int]],
    now: int,
    *,
    changed: bool,
    carry: Carry | None = None,
) -> set[int]:
    """Recompute chunks of interval ends (ascending) and every row depending on them; return the ends written.

    Dependents that lie beyond a chunk's rows are recomputed in time order with the chunks, so each
    walk starts from rows already right. ``carry``: baseline differences valid at the first chunk.
    """
    all_targets = frozenset(end for chunk in chunks for end in chunk)
    written: set[int] = set()
    queue = [list(chunk) for chunk in chunks]
    onward: tuple[int, Carry] | None = None if carry is None else (queue[0][0], carry)
    while queue or onward is not None:
        if onward is not None and (not queue or onward[0] < queue[0][0]):
            # Dependents beyond the last walk, before the next chunk: one more walk from there.
            done, onward = _recompute_chunk(
                conn, system_id, [onward[0]], all_targets, now, changed=False, carry=onward[1]
            )
        else:
            chunk = queue.pop(0)
            handed = onward[1] if onward is not None else None
            done, onward = _recompute_chunk(
                conn, system_id, chunk, all_targets, now, changed=changed, carry=handed
            )
        written.update(done)
    return written


def _day_chunks(ends: Sequence[int]) -> Iterable[list[int]]:
    """Split ascending interval ends into runs spanning less than a day each."""
    chunk: list[int] = []
    for end in ends:
        if chunk and end - chunk[0] >= DAY:
            yield chunk
            chunk = []
        chunk.append(end)
    if chunk:
        yield chunk


def recompute_intervals(
    conn: Connection, system_id: int, interval_ends: Iterable[int], *, now: int | None = None
) -> list[int]:
    """Recompute the 5-minute rows of the given intervals from their raw readings, and their dependents.

    An interval without readings is left as it is (rows a vendor wrote directly survive). The rows
    after each recomputed interval whose energy depends on it are recomputed as well.

    Args:
        conn: a connection inside the caller's transaction.
        system_id: the system.
        interval_ends: the intervals to recompute (any time inside an interval names it).
        now: the ``created_at`` stamp (default: the current time).

    Returns:
        Every interval end written, ascending, dependents included.

    """
    stamp = int(time.time()) if now is None else now
    ends = sorted({interval_end_of(t) for t in interval_ends})
    if not ends:
        return []
    return sorted(recompute_from(conn, system_id, list(_day_chunks(ends)), stamp, changed=True))


# --------------------------------------------------------------------------------------------------
# Daily rows

_DAILY_5M_COLUMNS: Final = (
    readings_agg_5m.c.interval_end,
    readings_agg_5m.c.sample_count,
    readings_agg_5m.c.battery_soc_last,
    *_TOTAL_5M_COLUMNS,
    *(readings_agg_5m.c[column] for column in _ENERGY_5M),
    *(readings_agg_5m.c[f"{name}_w_{stat}"] for name in POWER_STATS for stat in ("min", "avg", "max")),
)
_D_END, _D_COUNT, _D_SOC, _D_TOTAL0 = 0, 1, 2, 3
_D_STORED0: Final = _D_TOTAL0 + _NFLOWS
_D_POWER0: Final = _D_STORED0 + _NFLOWS

_DAILY = readings_agg_1d
_DAY_ROWS_STMT: Final = (
    sa.select(*_DAILY_5M_COLUMNS)
    .where(
        _AGG.c.system_id == _SID,
        _AGG.c.interval_end > sa.bindparam("after"),
        _AGG.c.interval_end <= sa.bindparam("until"),
    )
    .order_by(_AGG.c.interval_end)
)
_DAILY_KEY: Final = ("system_id", "day")
_DAILY_DAYS_STMT: Final = sa.select(_DAILY.c.day).where(
    _DAILY.c.system_id == _SID, _DAILY.c.day.in_(sa.bindparam("days", expanding=True))
)


def _day_values(
    conn: Connection, system_id: int, rows: Sequence[Sequence[Any]], start: int, end: int
) -> dict[str, Any]:
    """Compute a daily row's values from the day's 5-minute rows (ascending)."""
    groups: dict[int, tuple[int, int]] = {}
    samples: list[_Sample] = []
    if any(row[_D_TOTAL0 + flow] is None for row in rows for flow in range(_NFLOWS)):
        # Some energy comes from pushed Wh or power: recompute it unrounded from the readings.
        samples = _load_samples(conn, system_id, start - MAX_SEGMENT, end)
        groups = _group(samples, start + 1)
    baselines = _Baselines(conn, system_id, start + 1)
    sums = [0.0] * _NFLOWS
    found = [False] * _NFLOWS
    for row in rows:
        totals = row[_D_TOTAL0 : _D_TOTAL0 + _NFLOWS]
        span = groups.get(row[_D_END])
        if span is None:
            energies = _energies(totals, baselines, None, None, row[_D_STORED0 : _D_STORED0 + _NFLOWS])
        else:
            first, stop = span
            previous = samples[first - 1] if first else None
            energies = _energies(totals, baselines, samples[first:stop], previous, None)
        for flow, energy in enumerate(energies):
            if energy is not None:
                sums[flow] += energy
                found[flow] = True

    values: dict[str, Any] = {}
    for flow, name in enumerate(ENERGY_FLOWS):
        day_column, alltime_column = DAILY_ENERGY_COLUMNS[name]
        values[day_column] = round_opt(sums[flow] / 1000, 3) if found[flow] else None
        values[alltime_column] = round_opt(_last([row[_D_TOTAL0 + flow] for row in rows]), 3)
    for index, name in enumerate(POWER_STATS):
        base = _D_POWER0 + 3 * index
        mins = [row[base] for row in rows if row[base] is not None]
        avgs = [row[base + 1] for row in rows if row[base + 1] is not None]
        maxes = [row[base + 2] for row in rows if row[base + 2] is not None]
        values[f"{name}_w_min"] = min(mins) if mins else None
        values[f"{name}_w_avg"] = round_int(sum(avgs) / len(avgs)) if avgs else None
        values[f"{name}_w_max"] = max(maxes) if maxes else None
    socs = [row[_D_SOC] for row in rows if row[_D_SOC] is not None]
    values["battery_soc_min"] = round_opt(min(socs), 1) if socs else None
    values["battery_soc_avg"] = round_opt(sum(socs) / len(socs), 1) if socs else None
    values["battery_soc_max"] = round_opt(max(socs), 1) if socs else None
    values["battery_soc_end"] = round_opt(socs[-1], 1) if socs else None
    values["interval_count"] = len(rows)
    values["sample_count"] = sum(row[_D_COUNT] or 0 for row in rows)
    values["version"] = 1
    return values


def _recompute_day(conn: Connection, system_id: int, offset: int, day: date, now: int) -> bool:
    """Recompute one daily row; return whether the day had 5-minute rows (and so a daily row)."""
    start, end = day_bounds(day, offset)
    rows = conn.execute(_DAY_ROWS_STMT, {"sid": system_id, "after": start, "until": end}).all()
    if not rows:
        return False
    values = _day_values(conn, system_id, rows, start, end)
    values.update(system_id=str(system_id), day=day.isoformat(), created_at=now, updated_at=now)
    upsert(conn, _DAILY, [values], keys=_DAILY_KEY, insert_only=("created_at",))
    return True


def recompute_days(
    conn: Connection, system_id: int, days: Iterable[date], *, now: int | None = None
) -> list[str]:
    """Recompute the daily rows of the given local days from their 5-minute rows.

    A day without 5-minute rows gets no row.

    Args:
        conn: a connection inside the caller's transaction.
        system_id: the system.
        days: the local days.
        now: the ``created_at`` / ``updated_at`` stamp (default: the current time).

    Returns:
        The days written (``YYYY-MM-DD``), ascending.

    """
    stamp = int(time.time()) if now is None else now
    wanted = sorted(set(days))
    if not wanted:
        return []
    offset = system_offset(conn, system_id)
    return [day.isoformat() for day in wanted if _recompute_day(conn, system_id, offset, day, stamp)]


def days_due(
    conn: Connection, system_id: int, offset: int, interval_ends: Iterable[int], now: int
) -> list[date]:
    """Return the days of ``interval_ends`` whose daily row must follow them.

    These are the finished days (before the local date at ``now``) and the days that already have a
    daily row (late data for a day whose row exists).
    """
    today = local_date_at(now, offset)
    days = {local_day(end, offset) for end in interval_ends}
    due = {day for day in days if day < today}
    open_days = [day.isoformat() for day in days - due]
    if open_days:
        existing = conn.execute(_DAILY_DAYS_STMT, {"sid": str(system_id), "days": open_days}).scalars()
        due.update(date.fromisoformat(day) for day in existing)
    return sorted(due)


def rebuild(
    conn: Connection, system_id: int, first_day: date, last_day: date, *, now: int | None = None
) -> tuple[int, int]:
    """Recompute every 5-minute row holding readings in a local-day range, then the daily rows.

    Daily rows are written for the finished days of the range that have 5-minute rows, and for any
    day that already has one. Dependents after the range are recomputed as usual.

    Args:
        conn: a connection inside the caller's transaction.
        system_id: the system.
        first_day: the first local day (inclusive).
        last_day: the last local day (inclusive).
        now: the ``created_at`` / ``updated_at`` stamp (default: the current time).

    Returns:
        ``(intervals, days)``: the number of 5-minute rows and daily rows written.

    """
    stamp = int(time.time()) if now is None else now
    offset = system_offset(conn, system_id)
    written: set[int] = set()
    day = first_day
    while day <= last_day:
        start, end = day_bounds(day, offset)
        times = conn.execute(_READING_TIMES_STMT, {"sid": system_id, "after": start, "until": end}).scalars()
        ends = {interval_end_of(t) for t in times}
        if ends:
            written.update(recompute_intervals(conn, system_id, ends, now=stamp))
        day += timedelta(days=1)
    range_days = [first_day + timedelta(days=n) for n in range((last_day - first_day).days + 1)]
    range_ends = [day_bounds(day, offset)[1] for day in range_days]
    due = days_due(conn, system_id, offset, [*range_ends, *written], stamp)
    done = recompute_days(conn, system_id, due, now=stamp)
    return len(written), len(done)


def catch_up_days(conn: Connection, system_id: int, today: date, *, now: int | None = None) -> list[str]:
    """Write the daily rows of finished days that have 5-minute rows but no daily row yet.

    The days run from the day after the newest daily row (or from the day of the first 5-minute row)
    up to the day before ``today``. This is the 00:05 job, also run at startup.

    Args:
        conn: a connection inside the caller's transaction.
        system_id: the system.
        today: the system's local date now.
        now: the ``created_at`` / ``updated_at`` stamp (default: the current time).

    Returns:
        The days written (``YYYY-MM-DD``), ascending.

    """
    offset = system_offset(conn, system_id)
    newest = conn.execute(
        sa.select(sa.func.max(readings_agg_1d.c.day)).where(readings_agg_1d.c.system_id == str(system_id))
    ).scalar_one_or_none()
    if newest is not None:
        first = date.fromisoformat(newest) + timedelta(days=1)
    else:
        agg = readings_agg_5m
        first_end = conn.execute(
            sa.select(sa.func.min(agg.c.interval_end)).where(agg.c.system_id == system_id)
        ).scalar_one_or_none()
        if first_end is None:
            return []
        first = local_day(first_end, offset)
    days = [first + timedelta(days=n) for n in range((today - first).days)]
    return recompute_days(conn, system_id, days, now=now)
