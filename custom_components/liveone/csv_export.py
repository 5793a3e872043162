"""A history answer as CSV: one row per slot, one column per series.

The shape is that of the ``export_history`` action's files: a ``time`` column (the slot's end in the
system's local time, ISO 8601 with its offset; the local date for ``1d``) and then each series as
``<metric> (<units>)`` in the answer's order; an empty cell is a slot without data. The HTTP view's
``format=csv`` answers with it (the panel's download), so a download and an export of the same range
hold the same rows.
"""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
import io
from typing import Any, Final

from aiohttp import web

from .store.history import INTERVALS

FORMATS: Final = ("json", "csv")
"""The answers the HTTP view can give (``format`` parameter; ``json`` when absent)."""


def history_table(answer: dict[str, Any]) -> tuple[list[str], list[list[Any]]]:
    """Return the header and one row per slot of a history envelope (``None`` for a slot without data)."""
    series = answer["data"]
    # Series ids are liveone.<vendor>.<site>.<metric>: the metric (which may hold dots) names the column.
    header = ["time", *(f"{item['id'].split('.', 3)[3]} ({item['units']})" for item in series)]
    if not series:
        return header, []
    span = series[0]["history"]  # all series of one answer share their slots
    count = len(span["data"])
    if span["interval"] == "1d":
        first_day = date.fromisoformat(span["start"])
        times = [(first_day + timedelta(days=n)).isoformat() for n in range(count)]
    else:
        first_end = datetime.fromisoformat(span["start"])
        step = timedelta(seconds=INTERVALS[span["interval"]])
        times = [(first_end + step * n).isoformat() for n in range(count)]
    columns = [item["history"]["data"] for item in series]
    return header, [[when, *(column[n] for column in columns)] for n, when in enumerate(times)]


def history_csv(answer: dict[str, Any]) -> str:
    """Return a history envelope as CSV text (CRLF line ends, as the csv module writes)."""
    header, rows = history_table(answer)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(header)
    writer.writerows(["" if value is None else value for value in row] for row in rows)
    return buffer.getvalue()


def csv_response(answer: dict[str, Any], *, system_id: int, interval: str) -> web.Response:
    """Return the HTTP answer of a CSV download (a file name the browser offers to save)."""
    return web.Response(
        text=history_csv(answer),
        content_type="text/csv",
        charset="utf-8",
        headers={"Content-Disposition": f'attachment; filename="liveone_{system_id}_{interval}.csv"'},
    )
