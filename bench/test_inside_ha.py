"""The inside-Home-Assistant figures of the benchmark: many demo systems polled in a real test instance.

Run by ``scripts/bench`` (not collected by ``scripts/test``: pytest's ``testpaths`` is ``tests``). It
writes its figures as JSON to ``$LIVEONE_BENCH_OUT``; ``LIVEONE_BENCH_QUICK=1`` makes it tiny.

* Event-loop lag: a 10 ms timer records how late the loop runs it, by the real clock, not the test's
  frozen one (see :class:`LagProbe`).
* Polls: the frozen clock is moved one minute at a time and every coordinator's refresh is started
  at its staggered offset, as Home Assistant does (see :func:`_poll_minutes`), and awaited, so a
  simulated hour takes tens of seconds of real time. The minute's remaining ~59 idle seconds are left
  out, so the lag percentiles are, if anything, worse than in a live instance.
* Idle: the same probe on the idle instance first, in the same run: the lag the machine itself causes
  (a shared, busy machine deschedules the loop's thread now and then).
* CPU: ``time.process_time`` (every thread of the process, the store's worker included) over the hour,
  per simulated minute; a simulated minute is 60 s of a live instance, so the share of a core is
  ``cpu_s_per_minute / 60``.
* Backfill: the same hour again while one system-year of demo readings is written through the store's
  worker, a day per transaction (as the demo backfill does), concurrently with the polls.

Asyncio debug mode and SQL statement logging, which the test plugin turns on, are turned off: a live
instance runs neither.
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
import gc
import json
import logging
import math
import os
from pathlib import Path
import statistics
import threading
import time
from typing import Any

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
from homeassistant.setup import async_setup_component
from homeassistant.util import dt as dt_util
from pytest_homeassistant_custom_component.common import MockConfigEntry  # type: ignore[import-untyped]
import sqlalchemy as sa

import custom_components.liveone  # noqa: F401  (before Home Assistant's loader looks for it)
from custom_components.liveone.const import DOMAIN
from custom_components.liveone.store import Store

from .data import DAY, demo_batches, system_info

# 2025-08-17 12:00 local (AEST), as the integration tests use.
NOON_LOCAL = "2025-08-17T02:00:00+00:00"
PERIOD = 0.010


def _now() -> float:
    """Real monotonic seconds (freezegun patches ``time.monotonic`` and ``time.perf_counter``)."""
    return time.clock_gettime(time.CLOCK_MONOTONIC)


class LagProbe:
    """A 10 ms timer that records how late the event loop runs it.

    The test's loop clock is frozen (``asyncio.sleep`` would wake only when the frozen clock is moved),
    so the timer keeps real time on a helper thread: at each due time (``start + k * 10 ms``) it hands
    the loop a callback stamped with that due time, and the callback, when the loop gets to it, records
    ``now - due``. That is the lateness of a loop timer due at that instant, including waiting for the
    GIL. A due time the thread itself missed by more than a period is skipped, not queued.
    """

    def __init__(self) -> None:
        """Start with no samples."""
        self.samples: list[float] = []
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def start(self) -> None:
        """Start sampling the running loop."""
        self.samples = []
        self._loop = asyncio.get_running_loop()
        self._stop.clear()
        self._thread = threading.Thread(target=self._tick, name="bench_lag_probe", daemon=True)
        self._thread.start()

    def _record(self, due: float) -> None:
        self.samples.append(max(0.0, _now() - due))

    def _tick(self) -> None:
        assert self._loop is not None
        due = _now() + PERIOD
        while not self._stop.is_set():
            wait = due - _now()
            if wait > 0:
                time.sleep(wait)
            self._loop.call_soon_threadsafe(self._record, due)
            due += PERIOD
            if _now() - due > PERIOD:
                due = _now() + PERIOD

    async def stop(self) -> dict[str, Any]:
        """Stop sampling and return the lag statistics (ms)."""
        assert self._thread is not None
        self._stop.set()
        await asyncio.get_running_loop().run_in_executor(None, self._thread.join)
        await asyncio.sleep(0)  # run the last callbacks handed over
        lags = sorted(self.samples)
        return {
            "samples": len(lags),
            "lag_median_ms": round(statistics.median(lags) * 1000, 3),
            "lag_p99_ms": round(lags[math.ceil(0.99 * len(lags)) - 1] * 1000, 3),  # nearest rank
            "lag_max_ms": round(lags[-1] * 1000, 3),
        }


def _report_slow_handles() -> None:  # pragma: no cover - a diagnostic
    """Print every loop callback that runs longer than 20 ms by the real clock.

    (asyncio's debug mode measures with the loop's clock, which the test freezes.)
    """
    original = asyncio.events.Handle._run

    def timed(handle: asyncio.events.Handle) -> None:
        started = _now()
        original(handle)
        took = _now() - started
        if took > 0.02:
            owner = getattr(getattr(handle, "_callback", None), "__self__", None)
            what = owner.get_coro() if isinstance(owner, asyncio.Task) else handle
            print(f"slow callback {took * 1000:.0f} ms: {what!r}"[:300])

    asyncio.events.Handle._run = timed  # type: ignore[method-assign,assignment]

    started: list[float] = []

    def collection(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[:] = [_now()]
        elif started and (took := _now() - started[0]) > 0.02:
            print(
                f"slow gc generation {info['generation']}: {took * 1000:.0f} ms, {info['collected']} collected"
            )

    gc.callbacks.append(collection)


def _entry(index: int, backfill_days: int) -> MockConfigEntry:
    return MockConfigEntry(
        domain=DOMAIN,
        title=f"Bench {index}",
        unique_id=f"demo_bench_{index}",
        data={
            "vendor": "demo",
            "site_id": f"bench_{index}",
            "backfill_days": backfill_days,
            "timezone_offset_min": 600,
            "latitude": -37.35,
            "longitude": 144.14,
        },
    )


async def _poll_minutes(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, entries: list[MockConfigEntry], minutes: int
) -> None:
    """Move the frozen clock a minute at a time and run every coordinator's scheduled refresh.

    Home Assistant staggers coordinators: each refreshes at its own random offset of 0.05-0.5 s into
    the second (``DataUpdateCoordinator._microsecond``), "to avoid a thundering herd". So each minute
    the refreshes are started in that order, the same real time apart (the wait is a sleep in an
    executor thread: the loop stays free, as it is between timers), each from its own loop callback as
    a background task, as the coordinator's timer does. ``async_fire_time_changed`` would start them
    too, but all at once and inline, under ``mock.patch``, in one synchronous step of the test that
    alone holds the loop for about half a second with 100 systems: a cost of the harness, not LiveOne.
    """
    loop = asyncio.get_running_loop()
    ordered = sorted(entries, key=lambda entry: float(entry.runtime_data.coordinator._microsecond))
    for _ in range(minutes):
        freezer.tick(timedelta(minutes=1))
        previous = 0.0
        for entry in ordered:
            offset = float(entry.runtime_data.coordinator._microsecond)
            if offset > previous:
                await hass.async_add_executor_job(time.sleep, offset - previous)
            previous = offset
            loop.call_soon(_start_refresh, hass, entry)
        await hass.async_block_till_done(wait_background_tasks=True)


def _start_refresh(hass: HomeAssistant, entry: MockConfigEntry) -> None:
    entry.async_create_background_task(
        hass, entry.runtime_data.coordinator.async_refresh(), "liveone bench poll"
    )


async def _sessions(store: Store) -> int:
    def count() -> int:
        with store.engine.connect() as conn:
            return int(conn.execute(sa.text("SELECT count(*) FROM sessions")).scalar_one())

    return await store.async_run(count)


async def _measured_hour(
    hass: HomeAssistant,
    freezer: FrozenDateTimeFactory,
    store: Store,
    entries: list[MockConfigEntry],
    minutes: int,
) -> dict[str, Any]:
    probe = LagProbe()
    sessions_before = await _sessions(store)
    wall, cpu = _now(), time.process_time()
    probe.start()
    await _poll_minutes(hass, freezer, entries, minutes)
    lag = await probe.stop()
    cpu_s = time.process_time() - cpu
    polls = await _sessions(store) - sessions_before
    systems = len(entries)
    assert polls >= systems * minutes, f"expected {systems * minutes} polls, the store recorded {polls}"
    per_minute = cpu_s / minutes
    return {
        "systems": systems,
        "simulated_minutes": minutes,
        "polls": polls,
        "wall_s": round(_now() - wall, 2),
        "cpu_s": round(cpu_s, 3),
        "cpu_s_per_minute": round(per_minute, 4),
        "cpu_percent_of_core": round(per_minute / 60 * 100, 3),
        **lag,
    }


async def test_inside_home_assistant(
    hass: HomeAssistant, enable_custom_integrations: None, freezer: FrozenDateTimeFactory, tmp_path: Path
) -> None:
    """Poll many demo systems for a simulated hour, then again during a year's backfill."""
    asyncio.get_running_loop().set_debug(False)
    if os.environ.get("LIVEONE_BENCH_DEBUG") == "1":
        _report_slow_handles()
    # The test plugin logs every SQL statement (INFO); a live instance logs warnings only.
    logging.getLogger().setLevel(logging.WARNING)
    logging.getLogger("sqlalchemy.engine").setLevel(logging.WARNING)
    quick = os.environ.get("LIVEONE_BENCH_QUICK") == "1"
    systems, minutes, backfill_year_days = (5, 10, 7) if quick else (100, 60, 365)
    systems = int(os.environ.get("LIVEONE_BENCH_SYSTEMS", systems))
    minutes = int(os.environ.get("LIVEONE_BENCH_MINUTES", minutes))
    freezer.move_to(NOON_LOCAL)
    assert await async_setup_component(hass, DOMAIN, {DOMAIN: {"db_url": f"sqlite:///{tmp_path / 'l.db'}"}})

    setup_started = _now()
    entries = [_entry(index, backfill_days=1) for index in range(systems)]
    for entry in entries:
        entry.add_to_hass(hass)
        assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done()
    setup_s = _now() - setup_started
    store: Store = entries[0].runtime_data.coordinator.store
    await _poll_minutes(hass, freezer, entries, 2)  # settle: every system past its first poll

    # The machine's own noise: the same probe on the idle instance (the loop's clock is frozen, so the
    # wait is a sleep in an executor thread).
    probe = LagProbe()
    probe.start()
    await hass.async_add_executor_job(time.sleep, 2 if quick else 15)
    idle = await probe.stop()

    polls = await _measured_hour(hass, freezer, store, entries, minutes)

    # The same again while a year of one more system is ingested through the store's worker.
    system_id = await store.async_ensure_system(system_info(10_000))
    first = int(dt_util.utcnow().timestamp()) // DAY * DAY - backfill_year_days * DAY

    # A day at a time, simulated in an executor and written on the store's worker, as the demo
    # backfill does (a year of readings held in memory at once would make the garbage collector's
    # full passes, on the loop's thread too, the longest stalls).
    days = demo_batches(backfill_year_days, 1440, start=first, index=10_000)
    count = 0
    ingest_s = 0.0

    async def ingest() -> None:
        nonlocal count, ingest_s
        started = _now()
        while batch := await hass.async_add_executor_job(next, days, None):
            await store.async_write_readings(system_id, batch)
            count += len(batch)
        ingest_s = _now() - started

    probe = LagProbe()
    wall, cpu = _now(), time.process_time()
    probe.start()
    task = asyncio.get_running_loop().create_task(ingest())
    await _poll_minutes(hass, freezer, entries, minutes)
    polls_done_s = _now() - wall
    await task
    lag = await probe.stop()
    backfill = {
        "readings": count,
        "ingest_s": round(ingest_s, 2),
        "ingest_per_s": round(count / ingest_s),
        "simulated_minutes": minutes,
        "polls_wall_s": round(polls_done_s, 2),
        "wall_s": round(_now() - wall, 2),
        "cpu_s": round(time.process_time() - cpu, 3),
        **lag,
    }

    out = os.environ.get("LIVEONE_BENCH_OUT")
    result = {
        "setup_s": round(setup_s, 2),
        "backfill_days_per_system": 1,
        "idle": idle,
        "polls": polls,
        "backfill": backfill,
    }
    if out:
        Path(out).write_text(json.dumps(result, indent=2) + "\n")  # noqa: ASYNC240 - after measuring
    print(json.dumps(result, indent=2))
    for entry in entries:
        assert await hass.config_entries.async_unload(entry.entry_id)
    await hass.async_block_till_done()
