"""Hourly energy per flow, for Home Assistant's long-term statistics (docs/access.md#long-term-statistics).

This is the query layer behind ``custom_components/liveone/statistics.py``; it imports nothing from Home
Assistant and reads only ``readings_agg_5m``: the hours through its ``(system_id, interval_end)`` index,
the changes in one pass over the system's rows (``created_at`` has no index; about 60 ms for two years of
rows on SQLite, on the store's worker). That pass is only made when the caller asks (at setup, after the
daily job and after a rebuild); the hourly imports after the integration's own writes skip it.

Hours. A statistics hour starting at ``H`` holds the 5-minute intervals ending in ``(H, H + 1 h]``: the
interval ending ``H + 5 min`` is its first, the one ending ``H + 60 min`` its last. Its energy of a flow
is the sum of those intervals' stored Wh, in kWh; ``None`` when none of them has a value for the flow
(no data, or a flow the system does not measure).

Complete hours. An hour is complete once the store holds an interval that ends after it. The hour that
holds the newest interval is still filling (its last interval may gain readings, even when that interval
is the hour's last one) and is never returned; it is returned once data beyond it arrives.

Changes. Every write of a 5-minute row (a new reading, late data, a rebuild, a vendor's own 5-minute
rows) stamps the row's ``created_at`` with the time of the write, so the rows whose ``created_at`` is at
or after a watermark are the rows that changed since then. The caller keeps the watermark: the newest
``created_at`` it has seen (:attr:`EnergyHours.stamp`). Comparing with "at or after" (not "after") means
a row rewritten in the same second as the watermark is not missed; at worst an hour is read twice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

import sqlalchemy as sa

from ..vendors.model import ENERGY_FLOWS, FLOWS
from .schema import readings_agg_5m

if TYPE_CHECKING:
    from sqlalchemy.engine import Connection

HOUR: Final = 3600

STATISTIC_FLOWS: Final = ENERGY_FLOWS
"""The flows of :attr:`EnergyHour.kwh`, in order (``solar``, ``load``, ``battery_in``, ...)."""

_AGG = readings_agg_5m
_SID: Final[sa.BindParameter[int]] = sa.bindparam("sid")
_BOUNDS_STMT: Final = sa.select(sa.func.min(_AGG.c.interval_end), sa.func.max(_AGG.c.interval_end)).where(
    _AGG.c.system_id == _SID
)
# The newest stamp and the earliest interval written at or after the watermark, in one pass over the
# system's rows (no index has created_at: this is the one query that reads all of them).
_STAMPS_STMT: Final = sa.select(
    sa.func.max(_AGG.c.created_at),
    sa.func.min(sa.case((_AGG.c.created_at >= sa.bindparam("since"), _AGG.c.interval_end))),
).where(_AGG.c.system_id == _SID)
_ENERGY_STMT: Final = (
    sa.select(_AGG.c.interval_end, *(_AGG.c[flow.interval_column] for flow in FLOWS))
    .where(
        _AGG.c.system_id == _SID,
        _AGG.c.interval_end > sa.bindparam("after"),
        _AGG.c.interval_end <= sa.bindparam("until"),
    )
    .order_by(_AGG.c.interval_end)
)


def hour_of(interval_end: int) -> int:
    """Return the start of the statistics hour an interval belongs to (its end lies in ``(H, H + 1 h]``)."""
    return (int(interval_end) - 1) // HOUR * HOUR


@dataclass(frozen=True, slots=True)
class EnergyHour:
    """One statistics hour of a system."""

    start: int
    """The hour's start (Unix s, a multiple of 3600)."""
    kwh: tuple[float | None, ...]
    """Energy per flow (:data:`STATISTIC_FLOWS` order), ``None`` where no interval of the hour has one."""


@dataclass(frozen=True, slots=True)
class EnergyHours:
    """Complete hours to import, and what the caller keeps for next time."""

    hours: tuple[EnergyHour, ...]
    """Every complete hour from the first one asked for, consecutive (hours without data included)."""
    complete_until: int | None
    """The end of the last complete hour (``None``: the system has no 5-minute rows)."""
    stamp: int | None
    """The newest ``created_at`` of the system's 5-minute rows: the watermark for the next call."""


def hourly_energy(conn: Connection, system_id: int, first: int, until: int) -> list[EnergyHour]:
    """Return the hours starting at ``first`` (an hour start) and ending at or before ``until``.

    Every hour of the range is returned, in order; an hour without 5-minute rows has ``None`` for every
    flow.
    """
    sums: dict[int, list[float | None]] = {}
    params = {"sid": system_id, "after": first, "until": until}
    for row in conn.execute(_ENERGY_STMT, params):
        hour = sums.setdefault(hour_of(row[0]), [None] * len(STATISTIC_FLOWS))
        for flow, wh in enumerate(row[1:]):
            if wh is not None:
                hour[flow] = (hour[flow] or 0.0) + wh
    empty = (None,) * len(STATISTIC_FLOWS)
    result: list[EnergyHour] = []
    for start in range(first, until - HOUR + 1, HOUR):
        wh = sums.get(start)
        kwh = empty if wh is None else tuple(None if v is None else v / 1000 for v in wh)
        result.append(EnergyHour(start, kwh))
    return result


def hours_to_import(
    conn: Connection,
    system_id: int,
    *,
    first: int | None,
    changed_after: int | None = None,
    scan_changes: bool = True,
) -> EnergyHours:
    """Return the complete hours a statistics import must (re)write, read in one transaction.

    Args:
        conn: a connection (one transaction: the hours and the stamp are one consistent snapshot).
        system_id: the system.
        first: the first hour the caller wants (an hour start); ``None`` for the whole stored history.
            Hours before the system's first 5-minute row are never returned.
        changed_after: a watermark (a stamp this function returned before): the hours holding rows
            written at or after it are returned too, so the import starts at the earliest of them.
        scan_changes: read the watermark query at all. It is the one query that reads every 5-minute
            row of the system; without it the result's ``stamp`` is ``None`` and only ``first`` says
            where to start (the caller knows from its own writes what changed).

    Returns:
        The complete hours from the earliest hour asked for (none if nothing is complete), the end of
        the last complete hour and the new watermark.

    """
    oldest, newest = conn.execute(_BOUNDS_STMT, {"sid": system_id}).one()
    if newest is None:
        return EnergyHours((), None, None)
    stamp = changed = None
    if scan_changes:
        # With no watermark, ``created_at >= NULL`` holds for no row: nothing counts as changed.
        stamp, changed = conn.execute(_STAMPS_STMT, {"sid": system_id, "since": changed_after}).one()
    complete_until = hour_of(newest)
    start = hour_of(oldest) if first is None else max(first, hour_of(oldest))
    if changed is not None:
        start = min(start, hour_of(changed))
    hours = hourly_energy(conn, system_id, start, complete_until) if start < complete_until else []
    return EnergyHours(tuple(hours), complete_until, None if stamp is None else int(stamp))
