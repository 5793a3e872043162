"""Raw-reading retention: keep a system's 1-minute ``readings`` for a number of days (issue 17).

By default every reading is kept, as the documented system does. With ``keep_days`` = N, the purge
deletes a system's readings older than the N local days before today, and never touches 5-minute or
daily rows: the history, the statistics and the daily energies stay whole, only the readings they
were computed from go. The purge is safe to run at any time, but only deletes readings of days that
already have their daily row (it runs after the 00:05 job), so nothing is lost before it is
aggregated.

Small steps. Each step is its own short job on the store's worker, so a poll queued behind it
waits at most one step: a step deletes a range of rows through ``(system_id, inverter_time)`` and its
size is aimed at :data:`STEP_SECONDS` by the slowest rate seen so far (a row's cost varies several-fold
between ranges). On SQLite the freed pages are then handed back to the
file system in steps of the same kind (``PRAGMA incremental_vacuum``, sized to the same time) when the
file was made with incremental auto-vacuum (every file LiveOne creates is, see migrations.py); in an
older file they stay free inside it and later writes reuse them, so it stops growing either way. After
each delete or vacuum step an SQLite store copies its write-ahead log back into the file as a step of
its own: otherwise SQLite's automatic checkpoint would run inside the commit of every fourth step or
so and double its time. PostgreSQL's autovacuum and InnoDB reuse the space themselves.

What is lost with the readings: a rebuild (``liveone-store aggregate``, :func:`check_rebuild`) of a day
whose readings are gone is refused, since its rows could no longer be recomputed; readings arriving
late for a purged day are stored and aggregated with what is left (the purged readings no longer
take part in the interval's averages and energies).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import date, timedelta
import time
from typing import TYPE_CHECKING, Any, Final

import sqlalchemy as sa

from .aggregate import MAX_SEGMENT, day_bounds, interval_end_of, local_date_at, system_offset
from .errors import StoreError
from .schema import readings, readings_agg_1d, readings_agg_5m

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

STEP_SECONDS: Final = 0.03
"""The time one purge step aims at (its transaction holds the store's worker that long)."""
FIRST_STEP_ROWS: Final = 1000
MIN_STEP_ROWS: Final = 100
MAX_STEP_ROWS: Final = 50_000
VACUUM_STEP_PAGES: Final = 500
"""Pages the first vacuum step hands back to the file system (2 MiB of 4 KiB pages); later steps adapt."""
MIN_VACUUM_PAGES: Final = 50
MAX_VACUUM_PAGES: Final = 20_000


class PurgedRangeError(StoreError):
    """A rebuild reaches days whose raw readings the retention purge deleted."""


@dataclass(frozen=True, slots=True)
class PurgeResult:
    """What one purge of a system did."""

    deleted: int
    """Readings deleted."""
    cutoff: int | None
    """Readings at or before this instant (Unix s) are gone; ``None``: nothing was due."""
    steps: int
    """Delete transactions used."""
    longest_step_s: float
    """The longest job the purge queued on the store's worker (s): a delete, vacuum or checkpoint step."""
    pages_freed: int = 0
    """SQLite pages handed back to the file system."""


def purge_cutoff(conn: Connection, system_id: int, keep_days: int, today: date) -> int | None:
    """Return the instant at or before which the system's readings may go, or ``None`` for none.

    That is the start of the local day ``keep_days`` before ``today``, but never past the end of the
    newest day that has its daily row (readings are purged only once aggregated).

    Raises:
        ValueError: ``keep_days`` is below 1.

    """
    if keep_days < 1:
        raise ValueError(f"keep_days must be at least 1, not {keep_days}")
    offset = system_offset(conn, system_id)
    cutoff = day_bounds(today - timedelta(days=keep_days), offset)[0]
    newest = conn.execute(
        sa.select(sa.func.max(readings_agg_1d.c.day)).where(readings_agg_1d.c.system_id == str(system_id))
    ).scalar_one_or_none()
    if newest is None:
        return None
    return min(cutoff, day_bounds(date.fromisoformat(newest), offset)[1])


def delete_step(conn: Connection, system_id: int, cutoff: int, rows: int) -> int:
    """Delete the system's oldest readings at or before ``cutoff``, at most about ``rows``; return how many.

    The step's range ends at the ``rows``-th oldest reading, so it is one range delete through the
    ``(system_id, inverter_time)`` index on every database.
    """
    found = conn.execute(
        sa.select(readings.c.inverter_time)
        .where(readings.c.system_id == system_id, readings.c.inverter_time <= cutoff)
        .order_by(readings.c.inverter_time)
        .offset(rows - 1)
        .limit(1)
    ).scalar_one_or_none()
    until = cutoff if found is None else min(int(found), cutoff)
    result = conn.execute(
        readings.delete().where(readings.c.system_id == system_id, readings.c.inverter_time <= until)
    )
    return int(result.rowcount or 0)


def vacuum_step(conn: Connection, pages: int = VACUUM_STEP_PAGES) -> int:
    """On an SQLite file with incremental auto-vacuum, hand up to ``pages`` free pages back; return how many.

    SQLite frees one page per step of the ``incremental_vacuum`` statement, so its rows (empty ones)
    are read to the end: without that, a call frees a single page.
    """
    if conn.dialect.name != "sqlite" or conn.exec_driver_sql("PRAGMA auto_vacuum").scalar() != 2:
        return 0
    before = int(conn.exec_driver_sql("PRAGMA freelist_count").scalar() or 0)
    if before:
        cursor = conn.connection.cursor()  # the driver's own: SQLAlchemy would stop after one step
        try:
            cursor.execute(f"PRAGMA incremental_vacuum({int(pages)})")
            cursor.fetchall()
        finally:
            cursor.close()
    return before - int(conn.exec_driver_sql("PRAGMA freelist_count").scalar() or 0)


def checkpoint_step(conn: Connection) -> int:
    """On an SQLite file in WAL mode, copy the log back into the file now; return the frames copied.

    Run as a step of its own after each delete and vacuum step, so the log never reaches SQLite's
    automatic checkpoint, which would otherwise run inside the commit of whichever step crosses it
    (and double that step's time). Elsewhere it does nothing.
    """
    if conn.dialect.name != "sqlite":
        return 0
    row = conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)").first()
    # (busy, frames in the log, frames copied); -1s when the file is not in WAL mode.
    return max(0, int(row[2])) if row is not None else 0


type Transaction = Callable[..., Awaitable[Any]]


async def async_purge(
    transaction: Transaction,
    system_id: int,
    keep_days: int,
    today: date,
    *,
    step_seconds: float = STEP_SECONDS,
) -> PurgeResult:
    """Purge a system's readings older than ``keep_days`` in short steps, each its own transaction.

    ``transaction(func, *args)`` runs ``func(conn, *args)`` in one transaction on the store's worker
    (:meth:`~custom_components.liveone.store.Store.async_transaction`); other work queued on the
    worker (polls) runs between the steps.
    """
    longest = 0.0

    async def step[T](func: Callable[..., T], *args: Any) -> T:
        nonlocal longest
        started = time.perf_counter()
        result: T = await transaction(func, *args)
        elapsed = time.perf_counter() - started
        longest = max(longest, elapsed)
        return result

    cutoff: int | None = await step(purge_cutoff, system_id, keep_days, today)
    if cutoff is None:
        return PurgeResult(0, None, 0, 0.0)
    rows, deleted, steps = FIRST_STEP_ROWS, 0, 0
    sizer = _Sizer(step_seconds, MIN_STEP_ROWS, MAX_STEP_ROWS)
    while True:
        started = time.perf_counter()
        count: int = await step(delete_step, system_id, cutoff, rows)
        sizer.seen(rows, time.perf_counter() - started)
        await step(checkpoint_step)
        steps += 1
        deleted += count
        if count < rows:
            break
        rows = sizer.next(rows)
    freed = 0
    if deleted:
        pages = VACUUM_STEP_PAGES
        sizer = _Sizer(step_seconds, MIN_VACUUM_PAGES, MAX_VACUUM_PAGES)
        while True:
            started = time.perf_counter()
            handed: int = await step(vacuum_step, pages)
            sizer.seen(pages, time.perf_counter() - started)
            await step(checkpoint_step)
            freed += handed
            if handed < pages:
                break
            pages = sizer.next(pages)
    return PurgeResult(deleted, cutoff, steps, round(longest, 4), freed)


class _Sizer:
    """Size each step of one kind by the slowest rate seen so far, aiming at ``target`` seconds.

    The cost of a row (or page) varies several-fold from one range to the next (which pages a delete
    or a vacuum touches, a busy disk), so steps are sized for the worst seen, not the last: one slow
    range shrinks every later step, a fast one grows the next by at most half.
    """

    __slots__ = ("_high", "_low", "_target", "_worst")

    def __init__(self, target: float, low: int, high: int) -> None:
        self._target = target
        self._low = low
        self._high = high
        self._worst = 0.0  # seconds per row (or page)

    def seen(self, size: int, elapsed: float) -> None:
        """Take in one step's size and time."""
        self._worst = max(self._worst, elapsed / max(size, 1))

    def next(self, size: int) -> int:
        """Return the next step's size."""
        aimed = self._target / self._worst if self._worst > 0 else self._high
        return min(self._high, max(self._low, min(round(aimed), int(size * 1.5))))


def raw_floor(conn: Connection, system_id: int) -> int | None:
    """Return the instant before which the system's readings were purged, or ``None`` if none were.

    Readings were purged before the oldest one kept when a 5-minute row that was computed from
    readings (``sample_count`` > 0) ends before that reading's interval. With no reading left at all
    and such a row, the floor is just after the newest such row.
    """
    oldest = conn.execute(
        sa.select(sa.func.min(readings.c.inverter_time)).where(readings.c.system_id == system_id)
    ).scalar_one_or_none()
    agg = readings_agg_5m
    computed = sa.select(agg.c.interval_end).where(agg.c.system_id == system_id, agg.c.sample_count > 0)
    if oldest is None:
        newest = conn.execute(computed.order_by(agg.c.interval_end.desc()).limit(1)).scalar_one_or_none()
        return None if newest is None else int(newest) + 1
    earlier = conn.execute(
        computed.where(agg.c.interval_end < interval_end_of(int(oldest))).limit(1)
    ).scalar_one_or_none()
    return None if earlier is None else int(oldest)


def check_rebuild(conn: Connection, system_id: int, first_day: date) -> None:
    """Refuse a rebuild from ``first_day`` if its readings (or those its first segment starts at) are gone.

    Only the range's first day matters: a later end cannot reach further back.

    Raises:
        PurgedRangeError: the range starts before the first day that can still be recomputed.

    """
    floor = raw_floor(conn, system_id)
    if floor is None:
        return
    offset = system_offset(conn, system_id)
    start = day_bounds(first_day, offset)[0]
    if start - MAX_SEGMENT >= floor:
        return
    # The first day whose own readings and the segment reaching into it from the day before are kept.
    earliest = local_date_at(floor + MAX_SEGMENT, offset) + timedelta(days=1)
    raise PurgedRangeError(
        f"cannot rebuild system {system_id} from {first_day.isoformat()}: its 1-minute readings before "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(floor))} were purged (raw-reading retention), "
        f"so those days' 5-minute and daily rows are kept as they are and cannot be recomputed; "
        f"rebuild from {earliest.isoformat()} or later"
    )
