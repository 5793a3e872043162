"""The LiveOne store benchmark (issue 5): every figure side by side in one run.

Run it with ``scripts/bench`` (``--quick`` for the seconds-long smoke test CI runs). It writes
``bench/results.json`` and prints a markdown table. A missed target is reported, not an error: the
exit code is non-zero only when the benchmark itself fails.

Shared machines are noisy, so every figure is a median, and the figures that compare two things (the
ingest ratio, empty vs full store) interleave their two sides in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Callable, Sequence
from datetime import date, timedelta
import json
import os
from pathlib import Path
import platform
import random
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from typing import Any

from sqlalchemy.engine import Engine

from custom_components.liveone.store import Store, aggregate, history, systems as systems_mod, writer
from custom_components.liveone.store.cli import INGEST_BATCH
from custom_components.liveone.store.engine import create_engine
from custom_components.liveone.vendors.model import Reading

from . import data

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results.json"


# --------------------------------------------------------------------------------------------------
# Sizes


SIZES: dict[str, dict[str, int]] = {
    # Seconds: every figure at a tiny size (CI's smoke test).
    "quick": {
        "days": 7,
        "systems": 4,
        "ingest_reps": 3,
        "polls": 60,
        "daily_samples": 30,
        "warm_reps": 10,
        "cold_reps": 3,
    },
    # 100 system-years.
    "full": {
        "days": 365,
        "systems": 100,
        "ingest_reps": 3,
        "polls": 300,
        "daily_samples": 200,
        "warm_reps": 30,
        "cold_reps": 5,
    },
}


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


def _median(values: Sequence[float]) -> float:
    return float(statistics.median(values))


def _log(text: str) -> None:
    sys.stderr.write(f"[bench {time.strftime('%H:%M:%S')}] {text}\n")
    sys.stderr.flush()


# --------------------------------------------------------------------------------------------------
# Figures


def _store_ingest(path: Path, batches: Sequence[Sequence[Reading]], received: int) -> float:
    """Ingest through the store (worker thread, write path, aggregation) and return the seconds."""

    async def run() -> float:
        store = await Store.async_open(f"sqlite:///{path}")
        try:
            system_id = await store.async_ensure_system(data.system_info(0))
            started = time.perf_counter()
            for batch in batches:
                await store.async_write_readings(system_id, batch, received_time=received)
            return time.perf_counter() - started
        finally:
            await store.async_close()

    return asyncio.run(run())


def _plain_ingest(path: Path, batches: Sequence[Sequence[Reading]], received: int) -> float:
    """Insert the same rows with ``sqlite3.executemany``, a transaction per batch; return the seconds."""
    data.create_store_file(path, 1)
    names = data.READING_COLUMNS
    sql = f"INSERT INTO readings ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})"
    conn = sqlite3.connect(path, isolation_level=None)
    try:
        # The store's connection settings (engine._sqlite_on_connect).
        conn.execute("PRAGMA foreign_keys=ON")
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        elapsed = 0.0
        for batch in batches:
            rows = data.reading_rows(1, batch, received, received)  # built outside the timing
            started = time.perf_counter()
            conn.execute("BEGIN")
            conn.executemany(sql, rows)
            conn.execute("COMMIT")
            elapsed += time.perf_counter() - started
        return elapsed
    finally:
        conn.close()


def figure_ingest(work: Path, size: dict[str, int]) -> tuple[dict[str, Any], Path]:
    """Backfill ingest, store vs plain executemany, interleaved; keeps the first store file as template."""
    started = time.perf_counter()
    batches = list(data.demo_batches(size["days"], INGEST_BATCH))
    count = sum(len(batch) for batch in batches)
    generate_s = time.perf_counter() - started
    _log(f"generated {count} demo readings in {generate_s:.1f} s")
    received = data.YEAR_START + size["days"] * data.DAY
    store_s: list[float] = []
    plain_s: list[float] = []
    template = work / "template.db"
    for rep in range(size["ingest_reps"]):
        plain_path = work / f"plain{rep}.db"
        plain_s.append(_plain_ingest(plain_path, batches, received))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{plain_path}{suffix}").unlink(missing_ok=True)
        store_path = template if rep == 0 else work / f"store{rep}.db"
        store_s.append(_store_ingest(store_path, batches, received))
        if rep:
            for suffix in ("", "-wal", "-shm"):
                Path(f"{store_path}{suffix}").unlink(missing_ok=True)
        _log(f"ingest rep {rep}: plain {count / plain_s[-1]:,.0f}/s, store {count / store_s[-1]:,.0f}/s")
    store_rate = count / _median(store_s)
    plain_rate = count / _median(plain_s)
    return {
        "readings": count,
        "batch": INGEST_BATCH,
        "generate_s": round(generate_s, 2),
        "store_per_s": round(store_rate),
        "plain_per_s": round(plain_rate),
        "store_runs_s": [round(s, 3) for s in store_s],
        "plain_runs_s": [round(s, 3) for s in plain_s],
        "ratio": round(store_rate / plain_rate, 3),
    }, template


def _poll(engine: Engine, system_id: int, reading: Reading) -> float:
    """One poll as the store records it (write, 5-minute recompute, status, session); its seconds."""
    now = reading.inverter_time + 5
    started = time.perf_counter()
    with engine.begin() as conn:
        result = writer.write_readings(conn, system_id, [reading], received_time=now, now=now)
        writer.record_poll(
            conn,
            system_id,
            vendor_type="demo",
            cause="POLL",
            started=now - 1,
            duration_ms=1000,
            error=None,
            rows_written=result.rows_written,
            last_response=None,
            now=now,
        )
    return time.perf_counter() - started


def figure_poll(work: Path, template: Path, big: Path, size: dict[str, int]) -> dict[str, Any]:
    """Per-poll cost on an empty store and on the big one, the two interleaved poll by poll."""
    empty = work / "empty.db"
    data.create_store_file(empty, 1)
    engine = create_engine(f"sqlite:///{template}")
    try:
        with engine.connect() as conn:
            last = systems_mod.latest_reading(conn, 1)
    finally:
        engine.dispose()
    assert last is not None
    readings = data.continue_readings(last.reading, size["polls"])
    empty_engine = create_engine(f"sqlite:///{empty}")
    full_engine = create_engine(f"sqlite:///{big}")
    full_system = max(1, size["systems"] // 2)
    empty_s: list[float] = []
    full_s: list[float] = []
    try:
        for index, reading in enumerate(readings):
            if index % 2:
                full_s.append(_poll(full_engine, full_system, reading))
                empty_s.append(_poll(empty_engine, 1, reading))
            else:
                empty_s.append(_poll(empty_engine, 1, reading))
                full_s.append(_poll(full_engine, full_system, reading))
    finally:
        empty_engine.dispose()
        full_engine.dispose()
    empty_ms, full_ms = _ms(_median(empty_s)), _ms(_median(full_s))
    return {
        "polls": len(readings),
        "empty_ms": empty_ms,
        "full_ms": full_ms,
        "full_p90_ms": _ms(statistics.quantiles(full_s, n=10)[-1]),
        "ratio": round(full_ms / empty_ms, 3),
    }


def _recompute_day(conn: Any, system_id: int, day: date) -> tuple[float, float]:
    """Recompute a system-day twice (each rolled back); return the seconds of the first and the second."""
    times: list[float] = []
    for _ in range(2):
        transaction = conn.begin()
        started = time.perf_counter()
        done = aggregate.recompute_days(conn, system_id, [day], now=data.YEAR_START)
        times.append(time.perf_counter() - started)
        transaction.rollback()
        assert done == [day.isoformat()], (system_id, day, done)
    return times[0], times[1]


def figure_daily(big: Path, template: Path, size: dict[str, int]) -> dict[str, Any]:
    """Time to recompute one system-day from its 5-minute rows, first and again (rolled back each time).

    The day is a random system-day of the big store. Its first recompute reads the day's pages, which
    may not be in memory (the store holds far more than the RAM caches); the second is the figure, as
    the daily job recomputes the day that just ended, whose rows were written minutes before. The same
    day of the one-system template (identical rows) is recomputed right after it: the ratio of the two
    is the target.
    """
    rng = random.Random(5)  # noqa: S311 - sampling, not a secret
    first = date(2025, 1, 2)
    engine = create_engine(f"sqlite:///{big}")
    small = create_engine(f"sqlite:///{template}")
    first_s: list[float] = []
    again_s: list[float] = []
    small_s: list[float] = []
    try:
        with engine.connect() as conn, small.connect() as small_conn:
            for _ in range(size["daily_samples"]):
                system_id = rng.randint(1, size["systems"])
                day = first + timedelta(days=rng.randint(0, size["days"] - 2))
                cold, warm = _recompute_day(conn, system_id, day)
                first_s.append(cold)
                again_s.append(warm)
                small_s.append(_recompute_day(small_conn, 1, day)[1])
    finally:
        engine.dispose()
        small.dispose()
    median, one_system = _ms(_median(again_s)), _ms(_median(small_s))
    return {
        "samples": len(again_s),
        "median_ms": median,
        "one_system_median_ms": one_system,
        "ratio": round(median / one_system, 3),
        "first_median_ms": _ms(_median(first_s)),
        "max_ms": _ms(max(again_s)),
    }


def size_breakdown(path: Path) -> dict[str, float]:
    """Bytes per table and index of a store file (SQLite's dbstat), as shares of the file."""
    conn = sqlite3.connect(path)
    try:
        rows = conn.execute("SELECT name, SUM(pgsize) FROM dbstat GROUP BY name ORDER BY 2 DESC").fetchall()
    except sqlite3.OperationalError:  # SQLite built without dbstat
        return {}
    finally:
        conn.close()
    total = sum(int(size) for _, size in rows)
    return {str(name): round(int(size) / total * 100, 1) for name, size in rows if int(size) / total >= 0.001}


QUERIES = (("5m", 7), ("30m", 30), ("1d", 390))


def _drop_cache(path: Path) -> bool:
    """Ask the kernel to drop the file's pages from its cache; return whether it could be asked."""
    if not hasattr(os, "posix_fadvise"):
        return False
    for suffix in ("", "-wal", "-shm"):
        name = Path(f"{path}{suffix}")
        if name.exists():
            fd = os.open(name, os.O_RDONLY)
            try:
                os.fsync(fd)
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)
    return True


def _read_bytes() -> int | None:
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("read_bytes:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def _plain_statement(
    conn: Any, interval: str, system_id: int, start: int, end: int
) -> tuple[str, tuple[Any, ...]]:
    """Return the SQL the history answer runs over ``(start, end]`` (on its grid), with its parameters."""
    values: dict[str, Any]
    if interval == "1d":
        statement = history._ROWS_1D_STMT
        first = data.local_date(start)
        last = first + timedelta(days=(end - start) // data.DAY - 1)
        values = {"sid": str(system_id), "first": first.isoformat(), "last": last.isoformat()}
    else:
        statement = history._ROWS_5M_STMT if interval == "5m" else history._ROWS_30M_STMT
        values = {"sid": system_id, "after": start, "until": end}
    compiled = statement.compile(dialect=conn.dialect)
    params = compiled.construct_params(values)
    return str(compiled), tuple(params[name] for name in compiled.positiontup or ())


def _warm_history(
    big: Path, template: Path, span: tuple[int, int], interval: str, reps: int
) -> tuple[list[float], list[float], list[float]]:
    """Warm history answers, interleaved in turn: on the big store, on the one-system template, plain sqlite3.

    The three ask for the same system's same rows (the template's system 1 holds exactly the big
    store's system 1). The plain figure runs the answer's own SQL with ``sqlite3`` and ``fetchall``
    into tuples: the database's share of the answer, through the same index.
    """
    start, end = span
    engines = [create_engine(f"sqlite:///{path}") for path in (big, template)]
    times: tuple[list[float], list[float], list[float]] = ([], [], [])
    try:
        with engines[0].connect() as conn, engines[1].connect() as small:
            system = systems_mod.get_system(conn, 1)
            assert system is not None
            sql, params = _plain_statement(conn, interval, 1, start, end)  # both on the grid
            raw = sqlite3.connect(big)
            try:
                runs: tuple[Callable[[], Any], ...] = (
                    lambda: history.history(conn, system, start=start, end=end, interval=interval),
                    lambda: history.history(small, system, start=start, end=end, interval=interval),
                    lambda: raw.execute(sql, params).fetchall(),
                )
                for rep in range(reps + 1):
                    # Each rep starts with another of the three, so none always runs first (or last).
                    for which in (rep % 3, (rep + 1) % 3, (rep + 2) % 3):
                        started = time.perf_counter()
                        answer = runs[which]()
                        elapsed = time.perf_counter() - started
                        assert answer
                        if rep:  # the first of each warms the caches
                            times[which].append(elapsed)
            finally:
                raw.close()
    finally:
        for engine in engines:
            engine.dispose()
    return times


def figure_history(big: Path, template: Path, size: dict[str, int]) -> dict[str, Any]:
    """History queries on the big store: cold (new engine, file dropped from the page cache), warm."""
    end = data.YEAR_START + size["days"] * data.DAY
    url = f"sqlite:///{big}"
    results: dict[str, Any] = {}
    for interval, days in QUERIES:
        start = end - days * data.DAY
        cold: list[float] = []
        cold_read: list[int] = []
        dropped = False
        for rep in range(size["cold_reps"]):
            system_id = 1 + (rep * 37) % size["systems"]
            dropped = _drop_cache(big)
            engine = create_engine(url)
            try:
                with engine.connect() as conn:
                    system = systems_mod.get_system(conn, system_id)
                    assert system is not None
                    before = _read_bytes()
                    started = time.perf_counter()
                    answer = history.history(conn, system, start=start, end=end, interval=interval)
                    cold.append(time.perf_counter() - started)
                    after = _read_bytes()
                    if before is not None and after is not None:
                        cold_read.append(after - before)
            finally:
                engine.dispose()
            assert answer["data"]
        warm, one_system, plain = _warm_history(big, template, (start, end), interval, size["warm_reps"])
        warm_ms = _ms(_median(warm))
        results[f"{days}d@{interval}"] = {
            "cold_ms": _ms(_median(cold)),
            "warm_ms": warm_ms,
            "one_system_ms": _ms(_median(one_system)),
            "plain_ms": _ms(_median(plain)),
            "vs_one_system": round(_median(warm) / _median(one_system), 3),
            "vs_plain": round(_median(warm) / _median(plain), 3),
            "cold_read_kib": round(_median(cold_read) / 1024) if cold_read else None,
            "page_cache_dropped": dropped,
        }
    return results


def figure_retention(work: Path, template: Path, size: dict[str, int]) -> dict[str, Any]:
    """Raw-reading retention on a copy of the one-system year: its size with N days of raw readings kept.

    The copy is purged as the 00:05 job would purge it on the day after the data (90 days kept; 2 at the
    quick size), through the store's own purge (short steps, SQLite pages handed back).
    """
    keep_days = 90 if size["days"] > 90 else 2
    copy = work / "retention.db"
    source = sqlite3.connect(template)
    target = sqlite3.connect(copy)
    try:
        source.backup(target)
    finally:
        source.close()
        target.close()
    before = copy.stat().st_size
    today = data.local_date(data.YEAR_START + size["days"] * data.DAY)

    async def run() -> Any:
        store = await Store.async_open(f"sqlite:///{copy}")
        try:
            started = time.perf_counter()
            result = await store.async_purge_raw(1, keep_days, today)
            return result, time.perf_counter() - started
        finally:
            await store.async_close()

    result, elapsed = asyncio.run(run())
    after = copy.stat().st_size
    years = size["days"] / 365
    return {
        "keep_days": keep_days,
        "deleted": result.deleted,
        "steps": result.steps,
        "longest_step_ms": _ms(result.longest_step_s),
        "purge_s": round(elapsed, 2),
        "pages_freed": result.pages_freed,
        "file_bytes_before": before,
        "file_bytes_after": after,
        "mb_per_system_year_all_kept": round(before / years / 1e6, 2),
        "mb_per_system_with_raw_kept": round(after / 1e6, 2),
        "share_percent_by_table_and_index": size_breakdown(copy),
    }


def figure_inside_ha(work: Path, quick: bool) -> dict[str, Any]:
    """Run bench/test_inside_ha.py in a real Home Assistant test instance and return its figures."""
    out = work / "inside_ha.json"
    env = {**os.environ, "LIVEONE_BENCH_OUT": str(out), "LIVEONE_BENCH_QUICK": "1" if quick else "0"}
    command = [sys.executable, "-m", "pytest", "bench/test_inside_ha.py", "-p", "no:cacheprovider", "-q"]
    command += ["-p", "no:sugar", "--timeout=3000"]
    completed = subprocess.run(command, cwd=ROOT, env=env, check=False)
    if completed.returncode != 0:
        raise RuntimeError(f"bench/test_inside_ha.py failed with exit code {completed.returncode}")
    result: dict[str, Any] = json.loads(out.read_text())
    return result


# --------------------------------------------------------------------------------------------------
# Report


def machine() -> dict[str, Any]:
    """Describe the machine the run used."""
    cpu = "unknown"
    ram_gib = None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                ram_gib = round(int(line.split()[1]) / 1024 / 1024, 1)
    except OSError:
        pass
    return {
        "nproc": len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count(),
        "cpu": cpu,
        "ram_gib": ram_gib,
        "python": platform.python_version(),
        "sqlite": sqlite3.sqlite_version,
        "loadavg_start": [round(x, 2) for x in os.getloadavg()],
    }


type Row = tuple[str, str, str, bool | None]


def table_rows(figures: dict[str, Any]) -> list[Row]:
    """Turn the figures into ``(figure, measured, target, met)`` rows."""
    rows: list[Row] = []
    ingest = figures["ingest"]
    rows.append(
        (
            "backfill ingest (store / plain executemany)",
            f"{ingest['store_per_s']:,}/s vs {ingest['plain_per_s']:,}/s = {ingest['ratio']:.2f}x",
            ">= 0.8x",
            ingest["ratio"] >= 0.8,
        )
    )
    poll = figures["poll"]
    rows.append(
        (
            "per-poll cost, full / empty store",
            f"{poll['full_ms']:.3f} / {poll['empty_ms']:.3f} ms = {poll['ratio']:.2f}x",
            "<= 1.2x",
            poll["ratio"] <= 1.2,
        )
    )
    daily = figures["daily"]
    rows.append(
        (
            "daily recompute, one system-day, full / one-system store",
            f"{daily['median_ms']:.2f} / {daily['one_system_median_ms']:.2f} ms = {daily['ratio']:.2f}x"
            f" (first, from disk: {daily['first_median_ms']:.1f} ms)",
            "<= 1.2x",
            daily["ratio"] <= 1.2,
        )
    )
    for interval, days in QUERIES:
        found = figures["history"][f"{days}d@{interval}"]
        rows.append(
            (
                f"history {days} days at {interval}: full / one-system store",
                f"{found['warm_ms']:.2f} / {found['one_system_ms']:.2f} ms = {found['vs_one_system']:.2f}x"
                f" (cold {found['cold_ms']:.0f} ms)",
                "<= 1.2x",
                found["vs_one_system"] <= 1.2,
            )
        )
        rows.append(
            (
                f"history {days} days at {interval}: answer / plain sqlite3 of its SQL",
                f"{found['warm_ms']:.2f} / {found['plain_ms']:.2f} ms = {found['vs_plain']:.2f}x",
                "<= 2x",
                found["vs_plain"] <= 2,
            )
        )
    size = figures["size"]
    rows.append(
        (
            "size per system-year, everything kept",
            f"{size['mb_per_system_year']:.1f} MB (one-system file {size['template_mb_per_system_year']:.1f} MB)",
            "(information)",
            None,
        )
    )
    retention = figures.get("retention")
    if retention is not None:
        rows.append(
            (
                f"size per system, a year with {retention['keep_days']} days of raw readings kept",
                f"{retention['mb_per_system_with_raw_kept']:.1f} MB"
                f" (purge: {retention['steps']} steps, longest {retention['longest_step_ms']:.0f} ms)",
                "purge steps <= 100 ms",
                retention["longest_step_ms"] <= 100,
            )
        )
    ha = figures.get("inside_ha")
    if ha is not None:
        polls, idle, backfill = ha["polls"], ha["idle"], ha["backfill"]
        rows.append(
            (
                "inside HA, idle instance (machine noise): loop lag p99 / max",
                f"{idle['lag_p99_ms']:.2f} / {idle['lag_max_ms']:.1f} ms",
                "(reference)",
                None,
            )
        )
        above = polls["lag_p99_ms"] - idle["lag_p99_ms"]
        rows.append(
            (
                f"inside HA, {polls['systems']} systems polling: loop lag p99 above idle (max)",
                f"{polls['lag_p99_ms']:.2f} - {idle['lag_p99_ms']:.2f} = {above:.2f} ms"
                f" (max {polls['lag_max_ms']:.1f} ms)",
                "<= 5 ms",
                above <= 5,
            )
        )
        rows.append(
            (
                "inside HA: CPU per simulated minute",
                f"{polls['cpu_s_per_minute']:.3f} s = {polls['cpu_percent_of_core']:.2f}% of a core",
                "< 2% of a core",
                polls["cpu_percent_of_core"] < 2,
            )
        )
        above = backfill["lag_p99_ms"] - idle["lag_p99_ms"]
        rows.append(
            (
                f"inside HA + backfill of {backfill['readings']:,} readings: lag p99 above idle (max)",
                f"{backfill['lag_p99_ms']:.2f} - {idle['lag_p99_ms']:.2f} = {above:.2f} ms"
                f" (max {backfill['lag_max_ms']:.1f} ms)",
                "<= 20 ms",
                above <= 20,
            )
        )
    return rows


def markdown(rows: Sequence[Row]) -> str:
    """Render the rows as a markdown table."""
    lines = ["| figure | measured | target | result |", "|---|---|---|---|"]
    for name, value, target, met in rows:
        verdict = "n/a" if met is None else ("pass" if met else "**MISS**")
        lines.append(f"| {name} | {value} | {target} | {verdict} |")
    return "\n".join(lines)


# --------------------------------------------------------------------------------------------------
# Driver


def _step[T](timings: dict[str, float], name: str, func: Callable[[], T]) -> T:
    _log(f"{name} ...")
    started = time.perf_counter()
    result = func()
    timings[name] = round(time.perf_counter() - started, 1)
    _log(f"{name} done in {timings[name]} s")
    return result


def run(quick: bool, out: Path, skip_ha: bool = False) -> dict[str, Any]:
    """Run every figure and return the results (also written to ``out``)."""
    mode = "quick" if quick else "full"
    size = SIZES[mode]
    started = time.perf_counter()
    info = machine()
    timings: dict[str, float] = {}
    figures: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="liveone-bench-") as tmp:
        work = Path(tmp)
        figures["ingest"], template = _step(timings, "ingest", lambda: figure_ingest(work, size))
        big = work / "big.db"
        _step(timings, "build", lambda: data.replicate(template, big, size["systems"]))
        system_years = size["systems"] * size["days"] / 365
        file_bytes = big.stat().st_size
        figures["size"] = {
            "systems": size["systems"],
            "days": size["days"],
            "system_years": round(system_years, 3),
            "file_bytes": file_bytes,
            "mb_per_system_year": round(file_bytes / system_years / 1e6, 2),
            "template_mb_per_system_year": round(template.stat().st_size / (size["days"] / 365) / 1e6, 2),
            "share_percent_by_table_and_index": size_breakdown(template),
        }
        figures["history"] = _step(timings, "history", lambda: figure_history(big, template, size))
        figures["daily"] = _step(timings, "daily", lambda: figure_daily(big, template, size))
        figures["retention"] = _step(timings, "retention", lambda: figure_retention(work, template, size))
        figures["poll"] = _step(timings, "poll", lambda: figure_poll(work, template, big, size))
        if not skip_ha:
            figures["inside_ha"] = _step(timings, "inside_ha", lambda: figure_inside_ha(work, quick))
    info["loadavg_end"] = [round(x, 2) for x in os.getloadavg()]
    rows = table_rows(figures)
    results = {
        "mode": mode,
        "size": size,
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": info,
        "duration_s": round(time.perf_counter() - started, 1),
        "step_s": timings,
        "figures": figures,
        "table": [{"figure": r[0], "measured": r[1], "target": r[2], "met": r[3]} for r in rows],
    }
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"## LiveOne benchmark ({mode}: {system_years:g} system-years, {results['duration_s']} s)\n")
    print(
        f"Machine: {info['nproc']} CPUs, {info['cpu']}, {info['ram_gib']} GiB RAM, SQLite {info['sqlite']}\n"
    )
    print(markdown(rows))
    misses = [r[0] for r in rows if r[3] is False]
    print(f"\n{len(misses)} target(s) missed" + (f": {'; '.join(misses)}" if misses else ""))
    print(f"Results written to {out}")
    return results


def main(argv: Sequence[str] | None = None) -> int:
    """Parse the arguments and run the benchmark."""
    parser = argparse.ArgumentParser(prog="scripts/bench", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="tiny sizes, seconds (CI's smoke test)")
    parser.add_argument("--out", type=Path, help=f"results file (default {RESULTS.relative_to(ROOT)})")
    parser.add_argument("--skip-ha", action="store_true", help="leave out the inside-Home-Assistant figures")
    args = parser.parse_args(argv)
    out = args.out or (RESULTS if not args.quick else ROOT / "bench" / "results-quick.json")
    run(args.quick, out, skip_ha=args.skip_ha)
    return 0


if __name__ == "__main__":
    sys.exit(main())
