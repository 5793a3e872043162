"""The write path: readings with their aggregates, and the record of each poll.

Every function works inside the caller's transaction (the store wraps one poll in one), so a poll is
stored completely or not at all. Writes are idempotent: a reading already stored for its
``(system_id, inverter_time)`` is skipped, and aggregates are recomputed in full rather than adjusted.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import repeat
import logging
from operator import eq, sub
import time
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa

from custom_components.liveone.vendors.model import READING_FIELDS, check_columns, time_problem

from . import aggregate
from .schema import polling_status, readings as readings_table, sessions

if TYPE_CHECKING:
    from collections.abc import Sequence

    from sqlalchemy.engine import Connection

    from custom_components.liveone.vendors.model import Reading

SESSION_CAUSES: Final = frozenset({"POLL", "PUSH", "USER", "DERIVED"})
MAX_RESPONSE_BYTES: Final = 64 * 1024
"""``polling_status.last_response`` keeps at most this many bytes (UTF-8) of the vendor's answer."""


@dataclass(frozen=True, slots=True)
class WriteResult:
    """What one write stored and recomputed."""

    rows_written: int
    """New ``readings`` rows (readings already stored are not counted)."""
    intervals: tuple[int, ...]
    """The ``interval_end`` of every 5-minute row recomputed, ascending."""
    days: tuple[str, ...]
    """Every daily row recomputed (``YYYY-MM-DD``), ascending."""
    problems: tuple[str, ...] = ()
    """The values dropped and readings refused by :func:`~..vendors.model.check_readings`."""


_NOTHING: Final = WriteResult(0, (), ())
_LOGGER: Final = logging.getLogger(__name__)

_STORED_TIMES_STMT: Final = sa.select(readings_table.c.inverter_time).where(
    readings_table.c.system_id == sa.bindparam("sid"),
    readings_table.c.inverter_time >= sa.bindparam("first"),
    readings_table.c.inverter_time <= sa.bindparam("last"),
)
_INSERT_READINGS_STMT: Final = readings_table.insert()
INSERT_COLUMNS: Final = tuple(column.name for column in readings_table.columns if column.name != "id")
"""The columns of a row :func:`new_rows` returns, in order."""
ROW_TIME: Final = INSERT_COLUMNS.index("inverter_time")
"""Where a row of :func:`new_rows` holds its ``inverter_time``."""
_insert_readings_sql: dict[tuple[str, str], tuple[str, bool]] = {}
_STATUS_STMT: Final = (
    sa.select(
        polling_status.c.id,
        polling_status.c.consecutive_errors,
        polling_status.c.total_polls,
        polling_status.c.successful_polls,
    )
    .where(polling_status.c.system_id == sa.bindparam("sid"))
    .order_by(polling_status.c.id)
    .limit(1)
)
_STATUS_INSERT_STMT: Final = polling_status.insert()
_STATUS_UPDATE_STMT: Final = polling_status.update().where(polling_status.c.id == sa.bindparam("row_id"))
_SESSION_INSERT_STMT: Final = sessions.insert()


def _insert_readings(conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert ``readings`` rows (tuples in :data:`INSERT_COLUMNS` order) with one ``executemany`` of the driver.

    The statement is compiled once per dialect (in its own parameter style); the rows go to the
    driver as they are (its placeholders follow the columns' order), or as dicts for a named
    parameter style. SQLAlchemy's per-row parameter processing, which the columns'
    types do not need, cost more than the insert itself.
    """
    dialect = conn.dialect
    key = (dialect.name, dialect.paramstyle)
    found = _insert_readings_sql.get(key)
    if found is None:
        compiled = _INSERT_READINGS_STMT.compile(dialect=dialect, column_keys=list(INSERT_COLUMNS))
        # An INSERT's placeholders follow the table's column order, which INSERT_COLUMNS is.
        assert not dialect.positional or tuple(compiled.positiontup or ()) == INSERT_COLUMNS
        found = _insert_readings_sql[key] = (str(compiled), dialect.positional)
    sql, positional = found
    if positional:
        conn.exec_driver_sql(sql, list(rows))
    else:
        conn.exec_driver_sql(sql, [dict(zip(INSERT_COLUMNS, row, strict=True)) for row in rows])


def _stored_times(conn: Connection, system_id: int, times: Sequence[int]) -> set[int]:
    """Return which of ``times`` (ascending) the system already has, a day's range per query."""
    found: set[int] = set()
    start = 0
    for index in range(1, len(times) + 1):
        if index < len(times) and times[index] - times[start] < aggregate.DAY:
            continue
        params = {"sid": system_id, "first": times[start], "last": times[index - 1]}
        found.update(conn.execute(_STORED_TIMES_STMT, params).scalars())
        start = index
    return found


def stored_times(
    conn: Connection, system_id: int, readings: Sequence[Reading], *, now: int
) -> tuple[int, ...]:
    """Return the times (ascending) of ``readings`` the system already has a stored reading at.

    Only readings the store would accept are looked at (:func:`~..vendors.model.time_problem`).
    """
    times = sorted({int(r.inverter_time) for r in readings if time_problem(r.inverter_time, now) is None})
    return tuple(sorted(_stored_times(conn, system_id, times))) if times else ()


def new_rows(
    conn: Connection, system_id: int, readings: Sequence[Reading], received_time: int, stamp: int
) -> tuple[list[tuple[Any, ...]], tuple[str, ...]]:
    """Return the batch's new ``readings`` rows and the problems found, (the per-poll and backfill paths share it).

    The readings go through the same check (:func:`~..vendors.model.check_columns`); the first of
    repeats is kept, and none already stored. The rows are tuples in :data:`INSERT_COLUMNS` order,
    ascending by time, built column by column (no dict or reading per row).
    """
    checked = check_columns(readings, received_time)
    problems = tuple(checked.problems)
    for problem in problems:
        _LOGGER.debug("System %s: %s", system_id, problem)
    if not len(checked):
        return [], problems
    columns = checked.columns
    times = columns[0]
    # Each time's first reading: a later assignment wins, so assign in reverse.
    first = dict(zip(reversed(times), range(len(times) - 1, -1, -1), strict=True))
    ordered = sorted(first)
    already = _stored_times(conn, system_id, ordered)
    if already:
        ordered = [t for t in ordered if t not in already]
        if not ordered:
            return [], problems
    if len(ordered) != len(times) or not all(map(eq, ordered, times)):
        # Repeats, stored times or readings out of order: pick each column's values by time.
        pick = list(map(first.__getitem__, ordered))
        columns = tuple(list(map(column.__getitem__, pick)) for column in columns)
    fields = dict(zip(READING_FIELDS, columns, strict=True))
    constants = {
        "system_id": repeat(system_id),
        "received_time": repeat(received_time),
        "created_at": repeat(stamp),
    }
    fields["delay_seconds"] = list(map(sub, repeat(received_time), fields["inverter_time"]))
    sources = {**fields, **constants}
    rows = list(zip(*(sources[name] for name in INSERT_COLUMNS), strict=False))  # the constants repeat
    return rows, problems


def write_readings(
    conn: Connection,
    system_id: int,
    readings: Sequence[Reading],
    *,
    received_time: int,
    now: int | None = None,
) -> WriteResult:
    """Store new readings and bring every aggregate that depends on them up to date.

    Readings go through :func:`~..vendors.model.check_readings` first: values the store cannot keep
    are dropped (stored as NULL) and readings with an implausible time are refused, each logged at
    debug level and listed in the result's ``problems``; the rest are stored. One already stored (same ``inverter_time``), or
    repeated within the batch, is skipped: a repeat is "no new data", not an error. The new readings
    are inserted with one ``executemany``; then their 5-minute intervals and the rows depending on them
    are recomputed, and the daily row of each touched day that is finished (before the system's local
    date at ``now``) or that already has a row (late data).

    Args:
        conn: a connection inside the caller's transaction.
        system_id: the system the readings belong to.
        readings: the readings, in any order.
        received_time: when they were fetched (Unix s); ``delay_seconds`` is measured from it.
        now: the ``created_at`` stamp and the clock for "finished" days (default: the current time).

    Returns:
        The number of new rows, and the 5-minute intervals and days recomputed.

    Raises:
        LookupError: the system does not exist.

    """
    if not readings:
        return _NOTHING
    stamp = int(time.time()) if now is None else now
    offset = aggregate.system_offset(conn, system_id)
    rows, problems = new_rows(conn, system_id, readings, received_time, stamp)
    nothing = WriteResult(0, (), (), problems)
    if not rows:
        return nothing
    _insert_readings(conn, rows)

    touched = {aggregate.interval_end_of(row[ROW_TIME]) for row in rows}
    intervals = aggregate.recompute_intervals(conn, system_id, touched, now=stamp)
    due = aggregate.days_due(conn, system_id, offset, intervals, stamp)
    days = aggregate.recompute_days(conn, system_id, due, now=stamp) if due else []
    return WriteResult(len(rows), tuple(intervals), tuple(days), problems)


def _truncate(text: str, limit: int = MAX_RESPONSE_BYTES) -> str:
    """Cut ``text`` to at most ``limit`` UTF-8 bytes without splitting a character."""
    encoded = text.encode()
    if len(encoded) <= limit:
        return text
    return encoded[:limit].decode(errors="ignore")


MAX_PROBLEMS_CHARS: Final = 2000
"""The longest list of dropped values a session row keeps."""


def _problem_note(problems: Sequence[str]) -> str:
    """One line for a session row: how many values were dropped or readings refused, and which."""
    note = f"stored with {len(problems)} problem(s): " + "; ".join(problems)
    return note if len(note) <= MAX_PROBLEMS_CHARS else note[: MAX_PROBLEMS_CHARS - 3] + "..."


MAX_DURATION_MS = 2**31 - 1
"""The largest ``sessions.duration_ms`` a 32-bit INTEGER column holds (about 24.8 days)."""


def record_poll(
    conn: Connection,
    system_id: int,
    *,
    vendor_type: str,
    cause: str,
    started: float,
    duration_ms: int,
    error: str | None,
    rows_written: int,
    last_response: str | None,
    now: int,
    problems: Sequence[str] = (),
) -> int:
    """Record one poll or push: update the system's ``polling_status`` and add a ``sessions`` row.

    The system has one status row, created on its first poll. Every call counts a poll and sets
    ``last_poll_time``; a success (``error is None``) sets ``last_success_time``, counts a successful
    poll and ends an error streak; an error sets ``last_error_time`` and ``last_error`` and lengthens
    the streak. ``last_response`` is kept (cut to 64 KiB) when given; ``None`` leaves the previous one.

    Args:
        conn: a connection inside the caller's transaction.
        system_id: the system polled.
        vendor_type: the system's vendor, copied to the session.
        cause: ``POLL``, ``PUSH``, ``USER`` or ``DERIVED`` (a system computed from others).
        started: when the poll started (Unix s).
        duration_ms: how long it took (clamped to ``0 .. MAX_DURATION_MS``).
        error: the error message, or ``None`` for a success.
        rows_written: the readings it stored.
        last_response: the vendor's raw answer, if any.
        now: when the poll finished (Unix s).
        problems: values dropped and readings refused (:attr:`WriteResult.problems`). A successful
            poll has no error, so its session's ``error`` column lists them instead (cut to
            :data:`MAX_PROBLEMS_CHARS`); the session stays successful.

    Returns:
        The new session's id.

    Raises:
        ValueError: ``cause`` is not one of the known causes.

    """
    if cause not in SESSION_CAUSES:
        raise ValueError(f"unknown session cause {cause!r}")
    success = error is None
    current = conn.execute(_STATUS_STMT, {"sid": system_id}).first()
    streak, total, successful = (0, 0, 0) if current is None else (v or 0 for v in current[1:])
    values: dict[str, Any] = {
        "last_poll_time": now,
        "total_polls": total + 1,
        "successful_polls": successful + (1 if success else 0),
        "consecutive_errors": 0 if success else streak + 1,
        "updated_at": now,
    }
    if success:
        values["last_success_time"] = now
    else:
        values["last_error_time"] = now
        values["last_error"] = error
    if last_response is not None:
        values["last_response"] = _truncate(last_response)
    if current is None:
        values["system_id"] = system_id
        conn.execute(_STATUS_INSERT_STMT, values)
    else:
        values["row_id"] = current[0]
        conn.execute(_STATUS_UPDATE_STMT, values)

    result = conn.execute(
        _SESSION_INSERT_STMT,
        {
            "system_id": system_id,
            "vendor_type": vendor_type,
            "cause": cause,
            "started": int(started),
            # A clock that jumps during a poll must not make the poll unstorable: the column is a
            # 32-bit INTEGER on PostgreSQL and MySQL.
            "duration_ms": min(max(duration_ms, 0), MAX_DURATION_MS),
            "successful": success,
            "error": error if error is not None or not problems else _problem_note(problems),
            "rows_written": rows_written,
            "created_at": now,
        },
    )
    session_id = result.inserted_primary_key
    assert session_id is not None
    return int(session_id[0])
