"""Read use cases that combine the access policy with a query, each one transaction on the worker.

:func:`history_for` resolves the system for the caller (:func:`.access.lookup`), the range in the
system's own time zone (:func:`.history.resolve_range`) and answers it (:func:`.history.history`) in the
same transaction, so the answer matches the access that was checked.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.engine import Connection

from .access import Caller, lookup
from .history import history, parse_time, resolve_range


def history_for(
    conn: Connection,
    caller: Caller,
    system_id: int,
    interval: str,
    *,
    start: str | None,
    end: str | None,
    last: str | None,
    now: float,
) -> dict[str, Any]:
    """Return a system's history envelope for a caller.

    ``start`` and ``end`` are ISO 8601 (a time without an offset is the system's local time); ``last``
    is like ``24h`` or ``7d``; ``now`` is the current time (Unix s).

    Raises:
        SystemNotFoundError: as :func:`.access.lookup`.
        HistoryError: a bad, reversed, empty or over-long range, or an unknown interval.

    """
    found = lookup(conn, caller, system_id)
    offset = int(found.system["timezone_offset_min"] or 0)
    lo, hi = resolve_range(
        start=None if start is None else parse_time(start, offset_min=offset),
        end=None if end is None else parse_time(end, offset_min=offset),
        last=last,
        interval=interval,
        now=int(now),
        offset_min=offset,
    )
    return history(conn, found.system, start=lo, end=hi, interval=interval, now=now)
