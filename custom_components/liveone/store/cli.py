"""``liveone-store``: a command line over the store, for backfills, repairs and benchmarks.

It drives the same :class:`~custom_components.liveone.store.Store` (worker thread, write path,
aggregation) that the integration uses, so what it writes is what the integration would have written.

Commands::

    liveone-store --db URL init
    liveone-store --db URL add-system --vendor demo --site home --name "Home" --tz-offset 600
    liveone-store --db URL ingest readings.jsonl
    liveone-store --db URL aggregate --system 1 [--from 2025-08-01 --to 2025-08-31]
    liveone-store --db URL purge --keep-days 90 [--system 1]
    liveone-store copy --from URL --to URL [--replace]
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date
import json
import math
from pathlib import Path
import sys
import time
from typing import Any, TextIO

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from ..vendors.model import READING_FIELDS, Reading, time_problem
from . import Store, StoreError, SystemInfo
from .aggregate import interval_end_of, local_date_at, local_day
from .copy import copy_store
from .engine import redact_url
from .schema import readings as readings_table, systems

INGEST_BATCH = 5000
# Columns of ``readings`` that a file may carry but the store sets itself.
_IGNORED_COLUMNS = frozenset({"id", "received_time", "delay_seconds", "created_at"})
_KNOWN_COLUMNS = frozenset(READING_FIELDS) | _IGNORED_COLUMNS | {"system_id"}
_INTEGER_FIELDS = frozenset({"inverter_time", "fault_code", "fault_timestamp", "generator_status"})


class InputError(ValueError):
    """A line of an ingest file is not a valid reading."""


class IngestError(StoreError):
    """The database failed after the file was validated: some batches may already be committed."""


@dataclass(frozen=True, slots=True)
class ParsedLine:
    """One valid line of an ingest file."""

    system_id: int
    reading: Reading
    number: int = 0
    """The line's number in the file (from 1)."""


def parse_line(
    text: str, number: int, known_systems: set[int] | None = None, received_time: float | None = None
) -> ParsedLine | None:
    """Parse one JSON line (``None`` for a blank line); raise :class:`InputError` naming the problem.

    A line passes only if the store would keep all of it: its time must be plausible for a reading
    received at ``received_time`` (default: now) and no value may be one the store drops
    (:meth:`Reading.checked`, the check every write applies), so a file that passes is stored whole.
    """
    if not text.strip():
        return None
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as err:
        raise InputError(f"line {number}: not JSON ({err.msg})") from err
    if not isinstance(obj, dict):
        raise InputError(f"line {number}: expected a JSON object")
    unknown = sorted(set(obj) - _KNOWN_COLUMNS)
    if unknown:
        raise InputError(f"line {number}: unknown readings column(s) {', '.join(unknown)}")
    for required in ("system_id", "inverter_time"):
        if obj.get(required) is None:
            raise InputError(f"line {number}: {required} is missing")
    values: dict[str, Any] = {}
    for name in READING_FIELDS:
        value = obj.get(name)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
            raise InputError(f"line {number}: {name} must be a number, not {value!r}")
        if name in _INTEGER_FIELDS:
            if value != int(value):
                raise InputError(f"line {number}: {name} must be a whole number, not {value!r}")
            value = int(value)
        values[name] = value
    system_id = obj["system_id"]
    if isinstance(system_id, bool) or not isinstance(system_id, int):
        raise InputError(f"line {number}: system_id must be an integer")
    if known_systems is not None and system_id not in known_systems:
        raise InputError(f"line {number}: no system with id {system_id} (add it with add-system)")
    reading = Reading(**values)
    refused = time_problem(reading.inverter_time, time.time() if received_time is None else received_time)
    if refused is not None:
        raise InputError(f"line {number}: {refused}")
    dropped = reading.checked()[1]
    if dropped:
        raise InputError(f"line {number}: {'; '.join(dropped)}")
    return ParsedLine(system_id=system_id, reading=reading, number=number)


def iter_file(
    stream: TextIO, known_systems: set[int] | None = None, received_time: float | None = None
) -> Iterator[ParsedLine]:
    """Yield the valid lines of a JSON-lines file, raising at the first invalid one."""
    for number, text in enumerate(stream, start=1):
        parsed = parse_line(text, number, known_systems, received_time)
        if parsed is not None:
            yield parsed


def _known_systems(conn: Connection) -> set[int]:
    return {int(system_id) for system_id in conn.execute(sa.select(systems.c.id)).scalars()}


def _reading_span(conn: Connection, system_id: int) -> tuple[int, int] | None:
    row = conn.execute(
        sa.select(
            sa.func.min(readings_table.c.inverter_time), sa.func.max(readings_table.c.inverter_time)
        ).where(readings_table.c.system_id == system_id)
    ).first()
    if row is None or row[0] is None:
        return None
    return int(row[0]), int(row[1])


async def _ingest(store: Store, path: Path, out: TextIO) -> int:
    known = await store.async_transaction(_known_systems)
    # Every reading counts as received now: the validation and the store's own check then agree.
    received = int(time.time())
    # First pass: validate everything, so a bad line stops the run before anything is written.
    with path.open(encoding="utf-8") as stream:
        count = sum(1 for _ in iter_file(stream, known, received))
    written = 0
    started = time.monotonic()
    batches: dict[int, list[ParsedLine]] = {}

    async def _write(system_id: int, batch: list[ParsedLine]) -> int:
        try:
            result = await store.async_write_readings(
                system_id, [parsed.reading for parsed in batch], received_time=received
            )
        except StoreError as err:
            first, last = batch[0].number, batch[-1].number
            raise IngestError(
                f"writing lines {first}-{last} (system {system_id}) failed: {err}. {written} new readings"
                " were committed before them; run the same command again to resume (stored readings"
                " are skipped)"
            ) from err
        return result.rows_written

    with path.open(encoding="utf-8") as stream:
        for parsed in iter_file(stream, known, received):
            batch = batches.setdefault(parsed.system_id, [])
            batch.append(parsed)
            if len(batch) >= INGEST_BATCH:
                written += await _write(parsed.system_id, batch)
                batches[parsed.system_id] = []
    for system_id, batch in batches.items():
        if batch:
            written += await _write(system_id, batch)
    elapsed = time.monotonic() - started
    out.write(f"ingested {written} new readings of {count} lines in {elapsed:.1f} s\n")
    return 0


async def _aggregate(store: Store, system_id: int, first: date | None, last: date | None, out: TextIO) -> int:
    system = await store.async_get_system(system_id)
    if system is None:
        raise InputError(f"no system with id {system_id}")
    if first is None or last is None:
        span = await store.async_transaction(_reading_span, system_id)
        if span is None:
            out.write(f"system {system_id} has no readings; nothing to aggregate\n")
            return 0
        offset = int(system["timezone_offset_min"])
        first = first or local_day(interval_end_of(span[0]), offset)
        last = last or local_day(interval_end_of(span[1]), offset)
    if first > last:
        raise InputError(f"--from {first} is after --to {last}")
    intervals, days = await store.async_rebuild(system_id, first, last)
    out.write(f"aggregated system {system_id} from {first} to {last}: {intervals} intervals, {days} days\n")
    return 0


async def _purge(store: Store, keep_days: int, system_id: int | None, out: TextIO) -> int:
    if keep_days < 1:
        raise InputError(f"--keep-days must be at least 1, not {keep_days}")
    ids = sorted(await store.async_transaction(_known_systems)) if system_id is None else [system_id]
    for found in ids:
        system = await store.async_get_system(found)
        if system is None:
            raise InputError(f"no system with id {found}")
        today = local_date_at(time.time(), int(system["timezone_offset_min"]))
        result = await store.async_purge_raw(found, keep_days, today)
        out.write(
            f"system {found}: deleted {result.deleted} raw readings in {result.steps} steps"
            f" (longest {result.longest_step_s * 1000:.0f} ms), {result.pages_freed} pages handed back\n"
        )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """Build the command line's argument parser."""
    parser = argparse.ArgumentParser(prog="liveone-store", description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--db",
        help="the store's SQLAlchemy URL, e.g. sqlite:///path/liveone.db or postgresql://user:pw@host/db"
        " (every command but copy)",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("init", help="create or upgrade the schema")
    add = commands.add_parser("add-system", help="register a system and print its id")
    add.add_argument("--vendor", required=True, help="vendor type, e.g. demo or selectronic")
    add.add_argument("--site", required=True, help="the vendor's site id")
    add.add_argument("--name", help="display name")
    add.add_argument(
        "--tz-offset", type=int, default=600, help="standard UTC offset in minutes (default 600)"
    )
    ingest = commands.add_parser("ingest", help="store a JSON-lines file of readings and aggregate them")
    ingest.add_argument("file", type=Path)
    agg = commands.add_parser("aggregate", help="recompute 5-minute and daily rows of a system")
    agg.add_argument("--system", type=int, required=True)
    agg.add_argument("--from", dest="first", type=date.fromisoformat, help="first local day (YYYY-MM-DD)")
    agg.add_argument("--to", dest="last", type=date.fromisoformat, help="last local day (YYYY-MM-DD)")
    purge = commands.add_parser(
        "purge", help="delete raw readings older than N days (5-minute and daily rows are kept)"
    )
    purge.add_argument("--keep-days", type=int, required=True, help="local days of raw readings to keep")
    purge.add_argument("--system", type=int, help="only this system (default: every system)")
    copy = commands.add_parser(
        "copy", help="copy a whole store to another database and check the row counts of every table"
    )
    copy.add_argument("--from", dest="source", required=True, help="URL of the store to copy (only read)")
    copy.add_argument("--to", dest="target", required=True, help="URL of the destination store")
    copy.add_argument(
        "--replace", action="store_true", help="delete the destination's rows first (default: refuse)"
    )
    return parser


def _copy(source: str, target: str, replace: bool, out: TextIO) -> int:
    out.write(f"copying {redact_url(source)} to {redact_url(target)}\n")

    def progress(table: str, rows: int) -> None:
        out.write(f"  {table}: {rows} rows\n")

    counts = copy_store(source, target, replace=replace, progress=progress)
    out.write(f"{'table':<24}{'source':>12}{'destination':>14}\n")
    for count in counts:
        out.write(f"{count.table:<24}{count.source:>12}{count.destination:>14}\n")
    out.write(f"copied {sum(c.source for c in counts)} rows; every table's row count matches\n")
    return 0


async def run(argv: Sequence[str], out: TextIO | None = None) -> int:
    """Run one command, writing its report to ``out`` (standard output); return the exit code."""
    out = out or sys.stdout
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "copy":
        # Two databases and no Store: the copy runs on a thread of its own, off the event loop.
        return await asyncio.to_thread(_copy, args.source, args.target, args.replace, out)
    if args.db is None:
        parser.error(f"{args.command} needs --db URL")
    store = await Store.async_open(args.db)
    try:
        if args.command == "init":
            out.write(f"store ready at {store.url}\n")
            return 0
        if args.command == "add-system":
            system_id = await store.async_ensure_system(
                SystemInfo(
                    vendor_type=args.vendor,
                    vendor_site_id=args.site,
                    display_name=args.name,
                    timezone_offset_min=args.tz_offset,
                )
            )
            out.write(f"{system_id}\n")
            return 0
        if args.command == "ingest":
            return await _ingest(store, args.file, out)
        if args.command == "purge":
            return await _purge(store, args.keep_days, args.system, out)
        return await _aggregate(store, args.system, args.first, args.last, out)
    finally:
        await store.async_close()


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: run the command, turning expected failures into a message and exit code 1."""
    try:
        return asyncio.run(run(sys.argv[1:] if argv is None else argv))
    except (InputError, StoreError, OSError) as err:
        sys.stderr.write(f"liveone-store: error: {err}\n")
        return 1
