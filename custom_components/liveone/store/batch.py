"""One poll, push or derivation stored whole: :func:`record_batch`.

A source hands the store a :class:`~custom_components.liveone.vendors.model.Batch`; in the caller's one
transaction this writes, in order, its raw readings (:func:`.writer.write_readings`), its vendor 5-minute
intervals (:func:`.intervals.write_intervals`), its monitoring-point values (:func:`.points.write_points`),
then the system's ``polling_status`` (with the batch's raw body as ``last_response``) and a ``sessions``
row (:func:`.writer.record_poll`) whose ``rows_written`` counts every row stored: new readings, vendor
5-minute rows inserted or changed, and new point values. Any failure rolls all of it back.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.engine import Connection

from ..vendors.model import Batch
from . import intervals as intervals_mod, points, writer
from .points import PointWriteResult


@dataclass(frozen=True, slots=True)
class BatchResult:
    """What one batch stored and recomputed, over its readings and its vendor intervals together."""

    rows_written: int
    """New ``readings`` rows plus vendor 5-minute rows inserted or changed."""
    intervals: tuple[int, ...]
    """The ``interval_end`` of every 5-minute row written or recomputed, ascending."""
    days: tuple[str, ...]
    """Every daily row recomputed (``YYYY-MM-DD``), ascending."""
    points: PointWriteResult | None
    """What the monitoring-point values stored; ``None`` when the batch had none."""
    session_id: int
    """The ``sessions`` row of this poll."""
    problems: tuple[str, ...] = ()
    """Values dropped and readings refused by the store's check (also in the session's ``error``)."""
    already_stored: tuple[int, ...] = ()
    """With ``refuse_stored``: the batch's reading times the system already had (the batch was refused)."""

    @property
    def write_result(self) -> writer.WriteResult:
        """The readings-and-intervals part, as :class:`.writer.WriteResult` (what older callers take)."""
        return writer.WriteResult(self.rows_written, self.intervals, self.days, self.problems)


def record_batch(
    conn: Connection,
    system_id: int,
    vendor_type: str,
    batch: Batch,
    *,
    cause: str,
    started: float,
    error: str | None,
    now: float,
    refuse_stored: bool = False,
) -> BatchResult:
    """Store a batch and record the poll, inside the caller's transaction (see the module docstring).

    Args:
        conn: a connection inside the caller's transaction.
        system_id: the system.
        vendor_type: the system's vendor, copied to the session.
        batch: what the poll produced (an empty batch records the poll alone, as after an error).
        cause: ``POLL``, ``PUSH`` or ``USER``.
        started: when the poll started (Unix s).
        error: the error message, or ``None`` for a success.
        now: when the poll finished (Unix s): the received time, the stamps, the "finished days" clock.
        refuse_stored: refuse the whole batch when the system already has a reading at one of its
            readings' times (a sender told "already stored", such as a push's 409): nothing of it is
            written, the session is recorded as failed with that reason, and the result's
            ``already_stored`` lists the times. Without it, such readings are skipped as no new data.

    Raises:
        StoreError: a vendor interval does not fit its columns or clashes with raw readings.
        ValueError: an unknown cause or point data quality.
        LookupError: the system does not exist (and the batch holds readings or intervals).

    """
    stamp = int(now)
    if refuse_stored and (already := writer.stored_times(conn, system_id, batch.readings, now=stamp)):
        listed = ", ".join(str(t) for t in already[:10])
        session_id = writer.record_poll(
            conn,
            system_id,
            vendor_type=vendor_type,
            cause=cause,
            started=started,
            duration_ms=max(0, round((now - started) * 1000)),
            error=error or f"already stored: a reading at {listed}",
            rows_written=0,
            last_response=None,
            now=stamp,
        )
        return BatchResult(0, (), (), None, session_id, already_stored=already)
    readings = writer.write_readings(conn, system_id, batch.readings, received_time=stamp, now=stamp)
    vendor = intervals_mod.write_intervals(conn, system_id, batch.intervals, now=stamp)
    point_result = (
        points.write_points(conn, system_id, batch.points, received_time_ms=int(now * 1000))
        if batch.points
        else None
    )
    rows_written = readings.rows_written + vendor.rows_written
    values_written = 0 if point_result is None else point_result.values_written
    session_id = writer.record_poll(
        conn,
        system_id,
        vendor_type=vendor_type,
        cause=cause,
        started=started,
        duration_ms=max(0, round((now - started) * 1000)),
        error=error,
        rows_written=rows_written + values_written,
        last_response=batch.raw,
        now=stamp,
        problems=readings.problems,
    )
    return BatchResult(
        rows_written=rows_written,
        intervals=tuple(sorted({*readings.intervals, *vendor.intervals})),
        days=tuple(sorted({*readings.days, *vendor.days})),
        points=point_result,
        session_id=session_id,
        problems=readings.problems,
    )
