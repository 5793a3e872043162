"""The LiveOne store: the documented schema in any SQLAlchemy database, and one worker thread.

Every call that touches the database runs on the store's own single worker thread, so an asyncio
caller (Home Assistant's event loop, the command line, a benchmark) awaits it and is never blocked,
and writes are serialised without locks. The functions in the submodules take a SQLAlchemy
``Connection`` and plain values; :class:`Store` wraps each unit of work in one transaction.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date
import functools
import logging
from pathlib import Path
import time
from typing import Any, Final

from sqlalchemy.engine import URL, Connection, Engine
from sqlalchemy.exc import SQLAlchemyError

from ..vendors.model import Batch, Interval, PointReading, Reading
from . import (
    access,
    aggregate,
    backfill,
    batch as batch_mod,
    intervals as intervals_mod,
    points,
    queries,
    retention,
    statistics as statistics_mod,
    systems as systems_mod,
)
from .access import (
    Caller,
    NoAccessError,
    NotPermittedError,
    OwnerRequiredError,
    SystemGrant,
    SystemNotFoundError,
    VisibleSystem,
)
from .batch import BatchResult
from .engine import connect, default_url, describe_error, error_details, redact_url
from .errors import StoreDamaged, StoreError
from .migrations import SchemaTooNewError, migrate
from .points import PointInfo, PointWriteResult
from .recovery import is_damage, sqlite_file
from .retention import PurgeResult
from .statistics import EnergyHours
from .systems import StoredReading, SystemInfo
from .writer import WriteResult

__all__ = [
    "BatchResult",
    "Caller",
    "NoAccessError",
    "NotPermittedError",
    "OwnerRequiredError",
    "PointInfo",
    "PointWriteResult",
    "Store",
    "StoreDamaged",
    "StoreError",
    "StoredReading",
    "SystemGrant",
    "SystemInfo",
    "SystemNotFoundError",
    "VisibleSystem",
    "WriteResult",
    "default_url",
    "redact_url",
]

_LOGGER = logging.getLogger(__name__)


_PACKAGE_DIR: Final = str(Path(__file__).resolve().parent.parent)


def _refused_by_store(err: Exception) -> bool:
    """Whether ``err`` is a ``ValueError`` / ``LookupError`` / ``PermissionError`` raised by LiveOne's own code.

    The store's functions refuse bad requests that way (an unknown system, a bad history range, a
    viewer asking to change a system) and
    their callers answer the user with it. The same types raised inside SQLAlchemy or a driver (NaN
    into an INTEGER, an int too large) are store failures.
    """
    if not isinstance(err, ValueError | LookupError | PermissionError):
        return False
    tb = err.__traceback__
    while tb is not None and tb.tb_next is not None:
        tb = tb.tb_next
    return tb is not None and str(Path(tb.tb_frame.f_code.co_filename).resolve()).startswith(_PACKAGE_DIR)


def _file_name(url: str | URL) -> str | None:
    path = sqlite_file(url)
    return None if path is None else str(path)


class Store:
    """One database and the worker thread that does all of its work."""

    def __init__(self, engine: Engine, executor: ThreadPoolExecutor) -> None:
        """Use :meth:`async_open`; this only wires an already-open engine and worker."""
        self._engine = engine
        self._executor = executor
        self._closed = False
        self._damage_listeners: list[Callable[[StoreDamaged], None]] = []

    @property
    def url(self) -> str:
        """The database URL with the password hidden."""
        return redact_url(self._engine.url)

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine (use it only from the worker, through :meth:`async_run`)."""
        return self._engine

    @classmethod
    async def async_open(cls, url: str) -> Store:
        """Open (creating or migrating) the database at ``url`` on a new worker thread.

        Raises:
            StoreError: the URL is invalid, its driver is missing, the database cannot be reached or
                is newer than this code; the message names the redacted URL, never the password.

        """
        executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="liveone_store")
        loop = asyncio.get_running_loop()

        def _open() -> Engine:
            engine = connect(url)
            try:
                migrate(engine)
            except BaseException:
                engine.dispose()
                raise
            return engine

        try:
            engine = await loop.run_in_executor(executor, _open)
        except BaseException as err:
            await loop.run_in_executor(None, functools.partial(executor.shutdown, wait=True))
            if isinstance(err, SQLAlchemyError | SchemaTooNewError):
                reason = describe_error(err, url)
                message = f"cannot open the store at {redact_url(url)}: {reason}"
                if is_damage(err):
                    raise StoreDamaged(message, _file_name(url)) from err
                raise StoreError(message) from err
            if isinstance(err, StoreError) and err.__cause__ is not None and is_damage(err.__cause__):
                raise StoreDamaged(str(err), _file_name(url)) from err.__cause__
            raise
        _LOGGER.debug("LiveOne store open at %s", redact_url(url))
        return cls(engine, executor)

    async def async_close(self) -> None:
        """Finish queued work, close every connection and join the worker thread."""
        if self._closed:
            return
        self._closed = True
        loop = asyncio.get_running_loop()
        await loop.run_in_executor(self._executor, self._engine.dispose)
        await loop.run_in_executor(None, functools.partial(self._executor.shutdown, wait=True))
        _LOGGER.debug("LiveOne store closed")

    @property
    def closed(self) -> bool:
        """Whether :meth:`async_close` was called."""
        return self._closed

    async def async_run[T](self, func: Callable[..., T], *args: Any) -> T:
        """Run ``func(*args)`` on the worker thread and return its result."""
        if self._closed:
            raise StoreError("the store is closed")
        return await asyncio.get_running_loop().run_in_executor(
            self._executor, functools.partial(func, *args)
        )

    async def async_transaction[T](self, func: Callable[..., T], *args: Any) -> T:
        """Run ``func(connection, *args)`` in one transaction on the worker thread.

        Any failure rolls the whole transaction back and is raised as :class:`StoreError` (except a
        ``ValueError``, ``LookupError`` or ``PermissionError`` the store's own code raises to refuse a
        request), whose
        message is one line: the redacted URL and the database's reason. The statement and its
        parameters are logged at debug level only.
        """

        def _work() -> T:
            with self._engine.begin() as conn:
                return func(conn, *args)

        try:
            return await self.async_run(_work)
        except StoreError:
            raise
        except Exception as err:
            if _refused_by_store(err):
                raise  # a request the store's own code refuses: the caller's error, not the store's
            # Not only the database's errors: a driver refusing a value (ValueError, OverflowError) or
            # a failure below must not escape as anything the callers do not handle.
            url = self._engine.url
            _LOGGER.debug("Store operation failed on %s: %s", redact_url(url), error_details(err, url))
            message = f"store operation failed on {redact_url(url)}: {describe_error(err, url)}"
            if is_damage(err):
                damaged = StoreDamaged(message, _file_name(url))
                for listener in list(self._damage_listeners):
                    listener(damaged)
                raise damaged from err
            raise StoreError(message) from err

    def add_damage_listener(self, listener: Callable[[StoreDamaged], None]) -> Callable[[], None]:
        """Call ``listener`` (in the caller's event loop) whenever a transaction finds the file damaged.

        Returns a function that removes the listener.
        """
        self._damage_listeners.append(listener)
        return lambda: self._damage_listeners.remove(listener)

    # The units of work the integration uses. Each is one transaction.

    async def async_ensure_system(self, info: SystemInfo) -> int:
        """Register (or refresh) a system and return its id."""
        return await self.async_transaction(systems_mod.ensure_system, info)

    async def async_find_system(self, vendor_type: str, vendor_site_id: str) -> int | None:
        """Return the id of a registered system, or ``None``."""
        return await self.async_transaction(systems_mod.find_system, vendor_type, vendor_site_id)

    async def async_set_status(self, system_id: int, status: str) -> None:
        """Mark a system active, disabled or removed; its data is kept."""
        await self.async_transaction(systems_mod.set_status, system_id, status)

    async def async_get_system(self, system_id: int) -> dict[str, Any] | None:
        """Return the system's row."""
        return await self.async_transaction(systems_mod.get_system, system_id)

    async def async_latest_reading(self, system_id: int) -> StoredReading | None:
        """Return the system's newest stored reading."""
        return await self.async_transaction(systems_mod.latest_reading, system_id)

    async def async_polling_status(self, system_id: int) -> dict[str, Any] | None:
        """Return the system's polling status row."""
        return await self.async_transaction(systems_mod.get_polling_status, system_id)

    async def async_last_response(self, system_id: int) -> str | None:
        """Return the raw answer (or pushed body) the system's polling status keeps."""
        return await self.async_transaction(systems_mod.get_last_response, system_id)

    async def async_record_batch(
        self,
        system_id: int,
        vendor_type: str,
        batch: Batch,
        *,
        cause: str = "POLL",
        started: float,
        error: str | None = None,
        now: float | None = None,
        refuse_stored: bool = False,
    ) -> BatchResult:
        """Store one poll, push or derivation: everything its batch holds, polling status and a session.

        Its raw readings, vendor 5-minute intervals and monitoring-point values, their aggregates, the
        ``polling_status`` update (``batch.raw`` becomes ``last_response``; ``None`` keeps the previous
        one) and the ``sessions`` row are one transaction: if any part fails, nothing of it is stored.
        ``now`` (default: the current time) is when the poll finished. ``refuse_stored`` refuses the
        whole batch when a reading's time is already stored (see :func:`.batch.record_batch`).
        """
        finished = time.time() if now is None else now
        return await self.async_transaction(
            functools.partial(
                batch_mod.record_batch,
                cause=cause,
                started=started,
                error=error,
                now=finished,
                refuse_stored=refuse_stored,
            ),
            system_id,
            vendor_type,
            batch,
        )

    async def async_energy_hours(
        self, system_id: int, *, first: int | None, changed_after: int | None, scan_changes: bool
    ) -> EnergyHours:
        """Return the complete hours a statistics import must (re)write (see :func:`.statistics.hours_to_import`)."""
        return await self.async_transaction(
            functools.partial(
                statistics_mod.hours_to_import,
                first=first,
                changed_after=changed_after,
                scan_changes=scan_changes,
            ),
            system_id,
        )

    async def async_write_intervals(
        self, system_id: int, intervals: Sequence[Interval], *, now: int | None = None
    ) -> WriteResult:
        """Store vendor 5-minute intervals without a poll record (backfills, imports)."""
        stamp = int(time.time()) if now is None else now
        return await self.async_transaction(
            functools.partial(intervals_mod.write_intervals, now=stamp), system_id, intervals
        )

    async def async_write_readings(
        self, system_id: int, readings: Sequence[Reading], *, received_time: int | None = None
    ) -> WriteResult:
        """Store readings and their aggregates without a poll record (backfills, imports).

        The set-based path (:mod:`.backfill`): the same rows as a poll's write, computed in bulk.
        """
        stamp = int(time.time()) if received_time is None else received_time
        return await self.async_transaction(
            functools.partial(backfill.write_backfill, received_time=stamp, now=int(time.time())),
            system_id,
            readings,
        )

    async def async_write_points(
        self, system_id: int, values: Sequence[PointReading], *, received_time_ms: int | None = None
    ) -> PointWriteResult:
        """Store monitoring-point values (creating points on first sight) and their 5-minute rows."""
        stamp = int(time.time() * 1000) if received_time_ms is None else received_time_ms
        return await self.async_transaction(
            functools.partial(points.write_points, received_time_ms=stamp), system_id, values
        )

    async def async_list_points(self, system_id: int) -> list[points.PointInfo]:
        """Return a system's monitoring points with the time each was last seen."""
        return await self.async_transaction(points.list_points, system_id)

    async def async_rename_point(
        self,
        system_id: int,
        point_id: str,
        point_sub_id: str | None,
        display_name: str | None,
        *,
        now: int | None = None,
    ) -> str:
        """Set a point's display name (``None``: the vendor's name again); return the name in force.

        Raises:
            LookupError: the system has no such point.

        """
        stamp = int(time.time()) if now is None else now
        return await self.async_transaction(
            functools.partial(points.rename_point, now=stamp), system_id, point_id, point_sub_id, display_name
        )

    async def async_catch_up_days(self, system_id: int, today: date) -> list[str]:
        """Compute the daily rows of finished days that lack one (the 00:05 job)."""
        return await self.async_transaction(aggregate.catch_up_days, system_id, today)

    async def async_rebuild(
        self, system_id: int, first_day: date, last_day: date, *, now: int | None = None
    ) -> tuple[int, int]:
        """Recompute 5-minute and daily rows of a local-day range from the raw readings.

        ``now`` (default: the current time) decides which days are finished and stamps the rows.

        Raises:
            PurgedRangeError: the range reaches days whose raw readings were purged (retention).

        """

        def _work(conn: Connection) -> tuple[int, int]:
            retention.check_rebuild(conn, system_id, first_day)  # refuses days whose readings were purged
            return aggregate.rebuild(conn, system_id, first_day, last_day, now=now)

        return await self.async_transaction(_work)

    async def async_purge_raw(self, system_id: int, keep_days: int, today: date) -> PurgeResult:
        """Delete the system's raw readings older than ``keep_days`` before ``today``, in short steps.

        5-minute and daily rows are never touched; see :mod:`.retention`.
        """
        return await retention.async_purge(self.async_transaction, system_id, keep_days, today)

    # Access: each check, and each check with its change, is one transaction (see :mod:`.access`).

    async def async_lookup(self, caller: Caller, system_id: int, *, manage: bool = False) -> SystemGrant:
        """Return the system and the caller's role on it, requiring the right to change it with ``manage``.

        Raises:
            SystemNotFoundError: no such system, a removed one, or one the caller may not see.
            NotPermittedError: ``manage`` and the caller is a viewer.

        """
        return await self.async_transaction(
            functools.partial(access.lookup, manage=manage), caller, system_id
        )

    async def async_grant(
        self, caller: Caller, system_id: int, user_id: str, role: str, *, now: int | None = None
    ) -> bool:
        """Give a user a role on a system if the caller may, in one transaction; return whether it is new.

        Raises:
            SystemNotFoundError: as :meth:`async_lookup`.
            NotPermittedError: the caller may not change the system.
            OwnerRequiredError: the grant gives or takes ``owner`` and the caller is not an owner or an
                administrator.

        """
        return await self.async_transaction(
            functools.partial(access.grant_as, now=now), caller, system_id, user_id, role
        )

    async def async_revoke(
        self, caller: Caller, system_id: int, user_id: str, *, now: int | None = None
    ) -> str:
        """Remove a user's role on a system if the caller may, in one transaction; return the role removed.

        Raises:
            SystemNotFoundError: as :meth:`async_lookup`.
            NotPermittedError: the caller may not change the system.
            NoAccessError: the user holds no role on the system.
            OwnerRequiredError: the role is ``owner`` and the caller is not an owner or an administrator.

        """
        return await self.async_transaction(
            functools.partial(access.revoke_as, now=now), caller, system_id, user_id
        )

    async def async_revoke_all(self, system_id: int) -> int:
        """Remove every access row of a system (its config entry was removed); return how many there were."""
        return await self.async_transaction(access.revoke_all, system_id)

    async def async_visible_systems(self, caller: Caller) -> list[VisibleSystem]:
        """Return the systems the caller may see, oldest first (``role``: the caller's row, if any)."""
        return await self.async_transaction(access.systems_visible_to, caller)

    async def async_history(
        self,
        caller: Caller,
        system_id: int,
        interval: str,
        *,
        start: str | None = None,
        end: str | None = None,
        last: str | None = None,
        now: float | None = None,
    ) -> dict[str, Any]:
        """Return a system's history envelope, checking access and the range in the same transaction.

        Raises:
            SystemNotFoundError: as :meth:`async_lookup`.
            HistoryError: a bad, reversed, empty or over-long range, or an unknown interval.

        """
        return await self.async_transaction(
            functools.partial(
                queries.history_for,
                start=start,
                end=end,
                last=last,
                now=time.time() if now is None else now,
            ),
            caller,
            system_id,
            interval,
        )
