"""History answers for one system at 5-minute, 30-minute and daily resolution (docs/access.md#history).

This is the query layer behind the ``liveone/history`` WebSocket command and the HTTP view; it imports
nothing from Home Assistant. The doors parse the request, call :func:`resolve_range` and then
:func:`history` on the store's worker, and turn :class:`HistoryError` into a WebSocket error / HTTP 400.

Slots. A slot is named by its END, like the store's 5-minute intervals: a reading at 12:05:00 lies in
the 5-minute slot ending 12:05 and in the 30-minute slot ending 12:30. 5-minute and 30-minute slots lie
on a grid of multiples of the interval in UTC (Unix seconds). For a system whose UTC offset is a whole
or half hour this is also the local half-hour grid; for a quarter-hour offset (Nepal, Chatham) the
30-minute slots end at :15 and :45 local time. A daily slot is the system's local date (by its fixed
``timezone_offset_min``) and holds the 5-minute intervals ending in ``(local 00:00, next local 00:00]``.

Ranges. A range is the half-open span ``(start, end]`` of instants; it is widened to the grid (start
down, end up) and its slots are those whose end lies in it. So the slot holding ``end`` is the last one
(with ``end`` = now, the current, still filling slot is included), and an ``end`` exactly on a slot
boundary does not reach into the next slot: ``start`` = Aug 1 00:00, ``end`` = Aug 31 00:00 local at
``1d`` gives the 30 days Aug 1 .. Aug 30. ``last`` counts back from the end of the slot holding ``end``
(default now) and is rounded up to whole slots: ``24h`` at 5m is 288 slots, ``7d`` at 30m is 336 and
``30d`` at 1d is 30 (today and the 29 days before it).

Limits. The requested span (``end - start``, or ``last``) may be at most :data:`MAX_SPAN` of the
interval; widening to the grid adds at most one slot.

Units. Power in W (whole watts; a 30-minute average is the mean of the 5-minute averages present,
rounded half away from zero), SOC in %, 5-minute and 30-minute energies in Wh, daily energies in kWh.
A slot without data is ``null``; a 30-minute energy is the sum of the 5-minute energies present and
``null`` only when none is.

Queries. One statement per answer, through ``readings_agg_5m_history_idx`` (5m, 30m: a covering
index, so the table itself is not read and one system's rows are side by side in the index's pages
however many systems share the store) or ``readings_agg_1d_history_idx`` (1d, covering in the same
way); the raw ``readings`` table is never read. The roll-up to
30 minutes is done by the database (``GROUP BY`` the slot, :func:`.dialect.bucket_end`), which returns
one row per slot instead of six: fetching values is most of a query's cost. Averages come back as sum
and count and are divided and rounded here, so each matches the mean of the 5-minute averages exactly;
the slot's newest SOC comes back encoded in one integer (see ``_SOC_KEY``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta, timezone
import re
import time
from typing import Any, Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..vendors.model import ENERGY_FLOWS, round_int
from .dialect import bucket_end
from .schema import DAILY_ENERGY_COLUMNS, ENERGY_FLOWS_5M, POWER_STATS, readings_agg_1d, readings_agg_5m

DAY: Final = 86_400

INTERVAL_5M: Final = 300
INTERVALS: Final[Mapping[str, int]] = {"5m": INTERVAL_5M, "30m": 1800, "1d": DAY}
"""The intervals a history answer can have, and their length (s)."""

MAX_SPAN: Final[Mapping[str, int]] = {"5m": 7 * DAY + DAY // 2, "30m": 30 * DAY, "1d": 390 * DAY}
"""The longest span (s) that may be asked for at each interval."""

_LAST_UNITS: Final = {"m": 60, "h": 3600, "d": DAY}
_LAST_RE: Final = re.compile(r"\s*([0-9]{1,6})\s*([mhd])\s*")
_EPOCH: Final = date(1970, 1, 1)


class HistoryError(ValueError):
    """A request the store refuses (bad range, unknown interval, too long); the message is user-facing."""


# --------------------------------------------------------------------------------------------------
# Requests


def parse_last(text: str) -> int:
    """Return the span of a ``last`` parameter in seconds.

    The form is a whole number followed by one unit: ``m`` minutes, ``h`` hours, ``d`` days (``13m``,
    ``24h``, ``7d``); surrounding spaces are allowed, nothing else is.

    Raises:
        HistoryError: the text is not of that form, or is zero.

    """
    match = _LAST_RE.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise HistoryError(
            f"cannot read last={text!r}: use a whole number and a unit m (minutes), h (hours) or d (days),"
            " like 24h or 7d"
        )
    seconds = int(match.group(1)) * _LAST_UNITS[match.group(2)]
    if seconds <= 0:
        raise HistoryError(f"last={text!r} is an empty range")
    return seconds


def parse_time(text: str, *, offset_min: int = 0) -> int:
    """Return an ISO 8601 date-time (or date) as Unix seconds.

    A time without a UTC offset, and a bare date (its 00:00), are taken in the fixed offset
    ``offset_min`` (the system's ``timezone_offset_min``).

    Raises:
        HistoryError: the text is not ISO 8601.

    """
    try:
        parsed = datetime.fromisoformat(text.strip())
    except (AttributeError, TypeError, ValueError):
        raise HistoryError(
            f"cannot read the time {text!r}: use ISO 8601, like 2025-08-17T12:00:00+10:00"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone(timedelta(minutes=offset_min)))
    return int(parsed.timestamp())


def _interval(interval: str) -> int:
    seconds = INTERVALS.get(interval) if isinstance(interval, str) else None
    if seconds is None:
        raise HistoryError(f"unknown interval {interval!r}: use one of {', '.join(INTERVALS)}")
    return seconds


def _floor(t: int, step: int, shift: int) -> int:
    """Round ``t`` down to the grid ``k * step - shift``."""
    return (t + shift) // step * step - shift


def _ceil(t: int, step: int, shift: int) -> int:
    """Round ``t`` up to the grid ``k * step - shift``."""
    return -(-(t + shift) // step) * step - shift


def _grid_shift(interval: str, offset_min: int) -> int:
    """Return the grid shift of an interval: 0 (UTC multiples) for 5m/30m, local midnights for 1d."""
    return offset_min * 60 if interval == "1d" else 0


def _describe(seconds: int) -> str:
    return f"{seconds / DAY:g} days"


def resolve_range(
    *,
    start: int | None,
    end: int | None,
    last: str | None,
    interval: str,
    now: int,
    offset_min: int = 0,
) -> tuple[int, int]:
    """Turn a request's range into the grid-aligned ``(start, end)`` that :func:`history` answers.

    Give either ``start`` (with ``end``, which defaults to ``now``) or ``last``, not both. The result
    is the half-open span ``(start, end]`` on the interval's grid (see the module docs); ``offset_min``
    is the system's ``timezone_offset_min``, used by the daily grid only.

    Raises:
        HistoryError: unknown interval, both or neither of ``start`` and ``last``, ``end`` without
            ``start``, a malformed ``last``, a reversed or empty range, or one longer than
            :data:`MAX_SPAN` allows.

    """
    step = _interval(interval)
    shift = _grid_shift(interval, offset_min)
    if last is not None:
        if start is not None or end is not None:
            raise HistoryError("give either start (and optionally end) or last, not both")
        span = parse_last(last)
        if span > MAX_SPAN[interval]:
            raise HistoryError(
                f"last={last} is too long for interval {interval}: at most {_describe(MAX_SPAN[interval])}"
            )
        hi = _ceil(int(now), step, shift)
        return _floor(hi - span, step, shift), hi
    if start is None:
        raise HistoryError("give start (and optionally end) or last")
    lo_raw = int(start)
    hi_raw = int(now) if end is None else int(end)
    if hi_raw < lo_raw:
        raise HistoryError("the range is reversed: start is after end")
    if hi_raw == lo_raw:
        raise HistoryError("the range is empty: start equals end")
    if hi_raw - lo_raw > MAX_SPAN[interval]:
        raise HistoryError(
            f"the range is too long for interval {interval}: at most {_describe(MAX_SPAN[interval])}"
        )
    return _floor(lo_raw, step, shift), _ceil(hi_raw, step, shift)


# --------------------------------------------------------------------------------------------------
# Answers

_AGG = readings_agg_5m
_DAILY = readings_agg_1d
_ENERGY_5M: Final = tuple(column for _, column in ENERGY_FLOWS_5M)
_POWER_5M: Final = tuple(f"{name}_w_{stat}" for name in POWER_STATS for stat in ("avg", "min", "max"))

_ROWS_5M_STMT: Final = (
    sa.select(
        _AGG.c.interval_end,
        *(_AGG.c[name] for name in _POWER_5M),
        _AGG.c.battery_soc_last,
        *(_AGG.c[name] for name in _ENERGY_5M),
    )
    .where(
        _AGG.c.system_id == sa.bindparam("sid"),
        _AGG.c.interval_end > sa.bindparam("after"),
        _AGG.c.interval_end <= sa.bindparam("until"),
    )
    .order_by(_AGG.c.interval_end)
)

_STATS: Final = (
    *((f"{name}.power.{stat}", "power", "W", stat) for name in POWER_STATS for stat in ("avg", "min", "max")),
    ("battery.soc", "soc", "%", "last"),
    *((f"{flow}.energy", "energy", "Wh", "sum") for flow in ENERGY_FLOWS),
)
"""Each intraday series, in ``_ROWS_5M_STMT`` column order: metric, type, units, statistic."""

_IN_RANGE: Final = (
    _AGG.c.system_id == sa.bindparam("sid"),
    _AGG.c.interval_end > sa.bindparam("after"),
    _AGG.c.interval_end <= sa.bindparam("until"),
)
_SLOT_30M: Final = bucket_end(_AGG.c.interval_end, INTERVALS["30m"]).label("slot_end")


def _combined(name: str, stat: str) -> list[sa.ColumnElement[Any]]:
    column = _AGG.c[f"{name}_w_{stat}"]
    if stat == "avg":  # the mean of the 5-minute averages present: sum and count, divided in Python
        return [sa.func.sum(column), sa.func.count(column)]
    return [sa.func.min(column) if stat == "min" else sa.func.max(column)]


# The newest SOC of a slot, in the same grouped read: each 5-minute row with a SOC becomes one integer,
# its interval end shifted left above its SOC in tenths (the store keeps one decimal), so that the
# largest is the newest row and carries its value. Exact for SOC within +-52,428.7 %.
_SOC_SHIFT: Final = 1 << 20
_SOC_KEY: Final = sa.func.max(
    sa.case(
        (
            _AGG.c.battery_soc_last.is_not(None),
            sa.cast(_AGG.c.interval_end, sa.BigInteger) * _SOC_SHIFT
            + sa.cast(sa.func.round(_AGG.c.battery_soc_last * 10), sa.BigInteger)
            + _SOC_SHIFT // 2,
        )
    )
)


def _mean_of(total: Any, count: Any) -> int | None:
    """Return ``total / count`` rounded half away from zero, exactly (``None`` when ``count`` is 0)."""
    if not count:
        return None
    whole, n = int(total), int(count)
    if whole >= 0:
        return (2 * whole + n) // (2 * n)
    return -((n - 2 * whole) // (2 * n))


def _soc_of_key(key: Any) -> float | None:
    """Decode :data:`_SOC_KEY`: the slot's newest SOC, or ``None`` when no row of it had one."""
    if key is None:
        return None
    return (int(key) % _SOC_SHIFT - _SOC_SHIFT // 2) / 10


_ROWS_30M_STMT: Final = (
    sa.select(
        _SLOT_30M,
        *(part for name in POWER_STATS for stat in ("avg", "min", "max") for part in _combined(name, stat)),
        _SOC_KEY,
        *(sa.func.sum(_AGG.c[name]) for name in _ENERGY_5M),
    )
    .where(*_IN_RANGE)
    .group_by(_SLOT_30M)  # in no particular order: each row names its slot
)
"""Each 30-minute slot's roll-up, in ``_STATS`` order (an average as its sum and count)."""

_DAILY_VALUES: Final = (
    *((f"{flow}.energy", "energy", "kWh", DAILY_ENERGY_COLUMNS[flow][0]) for flow in ENERGY_FLOWS),
    *(
        (f"{name}.power.{stat}", "power", "W", f"{name}_w_{stat}")
        for name in POWER_STATS
        for stat in ("min", "avg", "max")
    ),
    ("battery.soc.min", "soc", "%", "battery_soc_min"),
    ("battery.soc.max", "soc", "%", "battery_soc_max"),
    ("battery.soc.end", "soc", "%", "battery_soc_end"),
)
"""Each daily series: metric, type, units and its ``readings_agg_1d`` column."""

_ROWS_1D_STMT: Final = (
    sa.select(_DAILY.c.day, *(_DAILY.c[column] for *_, column in _DAILY_VALUES))
    .where(
        _DAILY.c.system_id == sa.bindparam("sid"),
        _DAILY.c.day >= sa.bindparam("first"),
        _DAILY.c.day <= sa.bindparam("last"),
    )
    .order_by(_DAILY.c.day)
)


def _zone(offset_min: int) -> timezone:
    return timezone(timedelta(minutes=offset_min))


def _iso(t: int, offset_min: int) -> str:
    return datetime.fromtimestamp(t, _zone(offset_min)).isoformat()


def _series(
    prefix: str, metric: str, kind: str, units: str, *, span: tuple[str, str, str], data: list[Any]
) -> dict[str, Any]:
    start, last, interval = span
    return {
        "id": f"{prefix}.{metric}",
        "type": kind,
        "units": units,
        "history": {"start": start, "last": last, "interval": interval, "data": data},
    }


def _whole(values: Sequence[Any]) -> list[Any]:
    """Return stored whole-watt values as ``int`` (they are already; a driver may hand back floats)."""
    return [v if v is None or type(v) is int else round_int(v) for v in values]


def _intraday(
    conn: Connection, system_id: int, prefix: str, *, start: int, end: int, interval: str, offset: int
) -> list[dict[str, Any]]:
    """Return the 5-minute or 30-minute series over the slots ending in ``(start, end]``."""
    step = INTERVALS[interval]
    slots = (end - start) // step
    span = (_iso(start + step, offset), _iso(end, offset), interval)
    params = {"sid": system_id, "after": start, "until": end}
    columns: list[list[Any]] = [[None] * slots for _ in _STATS]
    if step == INTERVAL_5M:
        rows = conn.execute(_ROWS_5M_STMT, params).all()
        if len(rows) == slots:
            # Every slot has its row, in order (interval ends are unique and on the grid).
            columns = [list(values) for values in zip(*rows, strict=True)][1:]
        else:
            for row in rows:
                slot = (int(row[0]) - start - 1) // step
                for column, value in zip(columns, row[1:], strict=True):
                    column[slot] = value
        for index, (*_, stat) in enumerate(_STATS):
            if stat == "avg":
                columns[index] = _whole(columns[index])
    else:
        # The database combines each slot's six 5-minute rows (a 30-day answer fetches 1,440 grouped
        # rows instead of 8,640 single ones).
        rows = sorted(conn.execute(_ROWS_30M_STMT, params).tuples())
        if rows:
            grouped = list(zip(*rows, strict=True))
            slot_ends, raw = grouped[0], iter(grouped[1:])
            combined: list[list[Any]] = []
            for *_, stat in _STATS:
                if stat == "avg":
                    combined.append(list(map(_mean_of, next(raw), next(raw))))
                elif stat == "last":
                    combined.append([_soc_of_key(key) for key in next(raw)])
                else:
                    combined.append([None if v is None else int(v) for v in next(raw)])
            if len(rows) == slots:  # every slot has data: the columns are the series
                columns = combined
            else:
                positions = [(int(slot_end) - start) // step - 1 for slot_end in slot_ends]
                for column, values in zip(columns, combined, strict=True):
                    for position, value in zip(positions, values, strict=True):
                        column[position] = value
    return [
        _series(prefix, metric, kind, units, span=span, data=data)
        for (metric, kind, units, _), data in zip(_STATS, columns, strict=True)
    ]


def _daily(
    conn: Connection, system_id: int, prefix: str, *, start: int, end: int, offset: int
) -> list[dict[str, Any]]:
    """Return the daily series over the local dates whose day ends in ``(start, end]``."""
    first_day = _EPOCH + timedelta(days=(start + offset * 60) // DAY)
    days = [first_day + timedelta(days=n) for n in range((end - start) // DAY)]
    index = {day.isoformat(): n for n, day in enumerate(days)}
    params = {"sid": str(system_id), "first": days[0].isoformat(), "last": days[-1].isoformat()}
    # One fetch of every row, each put at its day (the query only returns days of the range), then
    # one transpose into the series: placing values one by one was most of a year's answer.
    slots: list[Sequence[Any]] = [(None,) * (len(_DAILY_VALUES) + 1)] * len(days)
    for row in conn.execute(_ROWS_1D_STMT, params).all():
        slots[index[row[0]]] = row
    values = [list(column) for column in list(zip(*slots, strict=True))[1:]]
    span = (days[0].isoformat(), days[-1].isoformat(), "1d")
    return [
        _series(prefix, metric, kind, units, span=span, data=values[column])
        for column, (metric, kind, units, _) in enumerate(_DAILY_VALUES)
    ]


def history(
    conn: Connection,
    system: Mapping[str, Any],
    *,
    start: int,
    end: int,
    interval: str,
    now: float | None = None,
) -> dict[str, Any]:
    """Return one system's history over ``(start, end]`` as an OpenNEM-style envelope.

    Args:
        conn: a connection (reads only).
        system: the system's ``systems`` row (``id``, ``vendor_type``, ``vendor_site_id``,
            ``timezone_offset_min``).
        start: the exclusive start, normally from :func:`resolve_range` (widened to the grid if not).
        end: the inclusive end (widened to the grid if not on it).
        interval: ``5m``, ``30m`` or ``1d``.
        now: the ``created_at`` time (default: the current time).

    Raises:
        HistoryError: unknown interval, a reversed or empty range, or one longer than the limit.

    """
    step = _interval(interval)
    offset = int(system.get("timezone_offset_min") or 0)
    shift = _grid_shift(interval, offset)
    lo, hi = _floor(int(start), step, shift), _ceil(int(end), step, shift)
    if int(end) <= int(start):
        raise HistoryError("the range is empty or reversed: start must be before end")
    if hi - lo > MAX_SPAN[interval] + step:
        raise HistoryError(
            f"the range is too long for interval {interval}: at most {_describe(MAX_SPAN[interval])}"
        )
    system_id = int(system["id"])
    prefix = f"liveone.{system['vendor_type']}.{system['vendor_site_id']}"
    if interval == "1d":
        data = _daily(conn, system_id, prefix, start=lo, end=hi, offset=offset)
    else:
        data = _intraday(conn, system_id, prefix, start=lo, end=hi, interval=interval, offset=offset)
    created = time.time() if now is None else now
    return {
        "type": "energy",
        "version": "v4",
        "network": "liveone",
        "created_at": datetime.fromtimestamp(int(created), UTC).astimezone(_zone(offset)).isoformat(),
        "data": data,
    }
