"""scripts/liveone-store: init, add-system, ingest, aggregate, and what bad input does."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
import io
import json
from pathlib import Path
import sqlite3
import subprocess
import sys

import pytest
import sqlalchemy as sa

from custom_components.liveone.store import Store, StoreError, SystemInfo
from custom_components.liveone.store.cli import main, run
from custom_components.liveone.store.copy import TABLES, copy_store
from custom_components.liveone.store.engine import create_engine
from custom_components.liveone.store.migrations import create_at_version
from custom_components.liveone.vendors.demo import DemoSite, DemoSystem
from custom_components.liveone.vendors.model import Batch, PointReading

from ..conftest import query_db

ROOT = Path(__file__).resolve().parents[2]
START = 1_755_352_800  # 2025-08-17 00:00 AEST (UTC+10)


async def _run(*argv: str) -> tuple[int, str]:
    out = io.StringIO()
    code = await run(list(argv), out)
    return code, out.getvalue()


def _write_demo_day(path: Path, system_id: int, days: int = 1) -> int:
    system = DemoSystem(DemoSite(seed="cli", latitude=-37.35, longitude=144.14, tz_offset_min=600))
    lines = 0
    with path.open("w") as stream:
        for reading in system.readings_between(START, START + days * 86400):
            row = {k: v for k, v in reading.as_row().items() if v is not None}
            stream.write(json.dumps({"system_id": system_id, **row}) + "\n")
            lines += 1
    return lines


async def test_init_add_ingest_aggregate(store_url: str, tmp_path: Path) -> None:
    assert (await _run("--db", store_url, "init"))[0] == 0
    code, out = await _run(
        "--db", store_url, "add-system", "--vendor", "demo", "--site", "cli", "--name", "CLI"
    )
    assert (code, out) == (0, "1\n")
    lines = _write_demo_day(tmp_path / "day.jsonl", 1, days=2)
    code, out = await _run("--db", store_url, "ingest", str(tmp_path / "day.jsonl"))
    assert code == 0
    assert f"ingested {lines} new readings of {lines} lines" in out
    assert query_db(store_url, "SELECT count(*) FROM readings") == [(2880,)]
    assert query_db(store_url, "SELECT count(*) FROM readings_agg_5m") == [(576,)]  # 288 a day

    # Ingesting the same file again adds nothing.
    code, out = await _run("--db", store_url, "ingest", str(tmp_path / "day.jsonl"))
    assert "ingested 0 new readings" in out

    before = query_db(store_url, "SELECT * FROM readings_agg_1d ORDER BY day")
    code, out = await _run("--db", store_url, "aggregate", "--system", "1")
    assert code == 0
    assert "from 2025-08-17 to 2025-08-18" in out
    days = query_db(store_url, "SELECT day, interval_count FROM readings_agg_1d ORDER BY day")
    assert days[:2] == [("2025-08-17", 288), ("2025-08-18", 288)]
    code, out = await _run(
        "--db", store_url, "aggregate", "--system", "1", "--from", "2025-08-17", "--to", "2025-08-17"
    )
    assert "from 2025-08-17 to 2025-08-17" in out
    after = query_db(store_url, "SELECT * FROM readings_agg_1d ORDER BY day")
    # A rebuild reproduces the incremental rows (apart from the updated_at stamp).
    assert [row[:-1] for row in after[:2]] == [row[:-1] for row in before[:2]]


def test_aggregate_without_readings_and_bad_range(store_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", store_url, "add-system", "--vendor", "demo", "--site", "empty"]) == 0
    assert main(["--db", store_url, "aggregate", "--system", "1"]) == 0
    assert "system 1 has no readings; nothing to aggregate" in capsys.readouterr().out
    assert (
        main(["--db", store_url, "aggregate", "--system", "1", "--from", "2025-08-02", "--to", "2025-08-01"])
        == 1
    )
    assert "is after --to" in capsys.readouterr().err
    assert main(["--db", store_url, "aggregate", "--system", "7"]) == 1
    assert "no system with id 7" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("line", "message"),
    [
        ("{not json", "line 2: not JSON"),
        ("[1, 2]", "line 2: expected a JSON object"),
        (
            '{"system_id": 1, "inverter_time": 1, "colour": "red"}',
            "line 2: unknown readings column(s) colour",
        ),
        ('{"system_id": 1}', "line 2: inverter_time is missing"),
        ('{"system_id": 1, "inverter_time": 1, "solar_w": "12"}', "line 2: solar_w must be a number"),
        ('{"system_id": 1, "inverter_time": 1.5}', "line 2: inverter_time must be a whole number"),
        ('{"system_id": "1", "inverter_time": 1}', "line 2: system_id must be an integer"),
        ('{"system_id": 9, "inverter_time": 1}', "line 2: no system with id 9"),
        # What the store would not keep stops the run too, so a file that passes is stored whole.
        (
            f'{{"system_id": 1, "inverter_time": {START + 60}, "solar_w": 1e300}}',
            "line 2: solar_w=1e+300: outside -1e+09 .. 1e+09",
        ),
        (
            f'{{"system_id": 1, "inverter_time": {START + 60}, "battery_soc": 140}}',
            "line 2: battery_soc=140: outside 0 .. 100",
        ),
        (
            f'{{"system_id": 1, "inverter_time": {START + 60}, "load_kwh_total": -2}}',
            "line 2: load_kwh_total=-2: outside 0 .. 1e+12",
        ),
        ('{"system_id": 1, "inverter_time": -86400}', "line 2: inverter_time=-86400: before 2000-01-01"),
        (
            f'{{"system_id": 1, "inverter_time": {START * 1000}}}',
            "more than a day after it was received (milliseconds?)",
        ),
        (
            '{"system_id": 1, "inverter_time": 4102444800}',
            "line 2: inverter_time=4102444800: more than a day",
        ),
    ],
)
def test_bad_line_stops_before_anything_is_written(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], line: str, message: str
) -> None:
    assert main(["--db", db_url, "add-system", "--vendor", "demo", "--site", "x"]) == 0
    path = tmp_path / "bad.jsonl"
    good = json.dumps({"system_id": 1, "inverter_time": START, "solar_w": 5})
    path.write_text(f"{good}\n{line}\n\n")
    assert main(["--db", db_url, "ingest", str(path)]) == 1
    assert message in capsys.readouterr().err
    assert query_db(db_url, "SELECT count(*) FROM readings") == [(0,)]


def test_database_failure_after_validation_names_the_lines_and_resumes(
    db_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The database fails on the third batch: the message says where, what was committed, and how to resume."""
    monkeypatch.setattr("custom_components.liveone.store.cli.INGEST_BATCH", 100)
    assert main(["--db", db_url, "add-system", "--vendor", "demo", "--site", "cli"]) == 0
    lines = _write_demo_day(tmp_path / "day.jsonl", 1)
    path = db_url.removeprefix("sqlite:///")
    failing = START + 250 * 60  # in the third batch of 100 (lines 201-300)
    with sqlite3.connect(path) as conn:
        # A real failure inside the database, as a disk error or a lost server would give.
        conn.execute(
            f"CREATE TRIGGER fail BEFORE INSERT ON readings WHEN NEW.inverter_time = {failing}"
            " BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END"
        )
    assert main(["--db", db_url, "ingest", str(tmp_path / "day.jsonl")]) == 1
    err = capsys.readouterr().err
    assert "writing lines 201-300 (system 1) failed: " in err
    assert "disk I/O error" in err
    assert "200 new readings were committed before them; run the same command again to resume" in err
    assert len(err.strip().splitlines()) == 1
    assert query_db(db_url, "SELECT count(*) FROM readings") == [(200,)]
    with sqlite3.connect(path) as conn:
        conn.execute("DROP TRIGGER fail")
    assert main(["--db", db_url, "ingest", str(tmp_path / "day.jsonl")]) == 0
    assert f"ingested {lines - 200} new readings of {lines} lines" in capsys.readouterr().out
    assert query_db(db_url, "SELECT count(*) FROM readings") == [(lines,)]


def test_missing_file_is_an_error(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", db_url, "ingest", "/nonexistent/readings.jsonl"]) == 1
    assert "No such file" in capsys.readouterr().err


def test_script_runs_without_home_assistant(db_url: str) -> None:
    """The launcher imports the store without the integration (and so without Home Assistant)."""
    launcher = str(ROOT / "scripts" / "liveone_store.py")
    code = (
        f"import runpy, sys; sys.argv = ['liveone-store', '--db', {db_url!r}, 'init'];"
        "sys.modules['homeassistant'] = None;"  # importing Home Assistant would now fail
        f"runpy.run_path({launcher!r}, run_name='__main__')"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert "store ready at sqlite:///" in done.stdout


# ---- copy ---------------------------------------------------------------------------------------------------


async def _fill_every_table(url: str) -> None:
    """A store with rows in every table: two systems, a day of readings, polls, points."""
    store = await Store.async_open(url)
    try:
        home = await store.async_ensure_system(
            SystemInfo(vendor_type="demo", vendor_site_id="home", display_name="Home", owner_user_id="u1")
        )
        mondo = await store.async_ensure_system(SystemInfo(vendor_type="mondo", vendor_site_id="m1"))
        system = DemoSystem(DemoSite(seed="copy", latitude=-37.35, longitude=144.14, tz_offset_min=600))
        readings = list(system.readings_between(START, START + 86400))
        await store.async_write_readings(home, readings[:-10])
        await store.async_record_batch(
            home, "demo", Batch(readings=tuple(readings[-10:])), started=START + 86400, now=START + 86400
        )
        await store.async_record_batch(
            home, "demo", Batch(), started=START + 86460, error="timeout", now=START + 86461
        )
        await store.async_write_points(
            mondo,
            [
                PointReading(
                    point_id="p1",
                    point_sub_id="power",
                    name="Pool pump",
                    metric_type="power",
                    metric_unit="W",
                    measurement_time_ms=(START + 60 * k) * 1000,
                    value=None if k == 3 else 100.5 + k,
                    data_quality="error" if k == 3 else "good",
                )
                for k in range(12)
            ],
        )
    finally:
        await store.async_close()


def _dump(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of every copied table, in id order (floats as stored)."""
    return {
        table.name: query_db(url, f"SELECT * FROM {table.name} ORDER BY {table.primary_key.columns[0].name}")
        for table in TABLES
    }


async def test_copy_to_another_backend_and_back(
    tmp_path: Path, new_store_url: Callable[[], str], backend: str
) -> None:
    source = f"sqlite:///{tmp_path / 'source.db'}"
    back = f"sqlite:///{tmp_path / 'back.db'}"
    middle = new_store_url()
    await _fill_every_table(source)
    original = _dump(source)
    assert all(original.values()), {name: len(rows) for name, rows in original.items()}

    code, out = await _run("copy", "--from", source, "--to", middle)
    assert code == 0, out
    assert "every table's row count matches" in out
    assert f"{'readings':<24}{len(original['readings']):>12}{len(original['readings']):>14}" in out
    code, out = await _run("copy", "--from", middle, "--to", back)
    assert code == 0, out
    # The round trip keeps every row and every value, ids included.
    assert _dump(back) == original
    if backend == "postgresql":
        assert _dump(middle) == original
        assert "pg-test-secret" not in out  # the URL is printed redacted
        assert "postgresql://liveone:***@127.0.0.1" in out

    # New rows in the copy get new ids (PostgreSQL's sequences were moved past the copied ones).
    code, out = await _run("--db", middle, "add-system", "--vendor", "demo", "--site", "new")
    assert (code, out) == (0, f"{len(original['systems']) + 1}\n")


def test_copy_refuses_a_destination_with_rows_unless_replace(
    tmp_path: Path, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    source = f"sqlite:///{tmp_path / 'source.db'}"
    asyncio.run(_fill_every_table(source))
    assert main(["--db", store_url, "add-system", "--vendor", "demo", "--site", "already"]) == 0
    assert main(["copy", "--from", source, "--to", store_url]) == 1
    err = capsys.readouterr().err
    assert "already holds rows: systems (1); use --replace to delete them first" in err
    assert query_db(store_url, "SELECT vendor_site_id FROM systems") == [("already",)]

    assert main(["copy", "--from", source, "--to", store_url, "--replace"]) == 0
    assert _dump(store_url) == _dump(source)


async def test_copy_reports_rows_that_differ(tmp_path: Path) -> None:
    """Rows written to the source while it is copied (Home Assistant still running) are caught."""
    source = f"sqlite:///{tmp_path / 'source.db'}"
    target = f"sqlite:///{tmp_path / 'target.db'}"
    await _fill_every_table(source)

    def write_meanwhile(table: str, _rows: int) -> None:
        if table == "readings":
            engine = sa.create_engine(source)
            with engine.begin() as conn:
                conn.execute(sa.text("INSERT INTO readings (system_id, inverter_time) VALUES (1, 1)"))
            engine.dispose()

    copied = len(_dump(source)["readings"])
    with pytest.raises(
        StoreError, match=f"row counts differ after the copy: readings {copied + 1} -> {copied}$"
    ):
        await asyncio.to_thread(copy_store, source, target, progress=write_meanwhile)


def test_failed_copy_leaves_the_destination_empty(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    source = tmp_path / "source.db"
    target = f"sqlite:///{tmp_path / 'target.db'}"
    asyncio.run(_fill_every_table(f"sqlite:///{source}"))
    # A reading of a system that does not exist, slipped past the source's foreign keys.
    with sqlite3.connect(source) as raw:
        raw.execute("PRAGMA foreign_keys=OFF")
        raw.execute("INSERT INTO readings (system_id, inverter_time) VALUES (99, 1)")
    assert main(["copy", "--from", f"sqlite:///{source}", "--to", target]) == 1
    assert "the copy failed: FOREIGN KEY constraint failed" in capsys.readouterr().err
    assert query_db(target, "SELECT count(*) FROM systems") == [(0,)]  # one transaction: all or nothing


@pytest.mark.parametrize(
    ("source_kind", "message"),
    [
        ("empty", "holds no LiveOne store"),
        ("old", "is at schema version 1, this LiveOne at 2; upgrade it first"),
        ("same", "--from and --to name the same database"),
    ],
)
def test_copy_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], source_kind: str, message: str
) -> None:
    source = f"sqlite:///{tmp_path / 'source.db'}"
    target = source if source_kind == "same" else f"sqlite:///{tmp_path / 'target.db'}"
    if source_kind == "old":
        engine = create_engine(source)
        create_at_version(engine, 1)
        engine.dispose()
    elif source_kind == "same":
        asyncio.run(_fill_every_table(source))
    else:
        sa.create_engine(source).connect().close()
    assert main(["copy", "--from", source, "--to", target]) == 1
    assert message in capsys.readouterr().err


def test_commands_other_than_copy_need_db(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        main(["init"])
    assert "init needs --db URL" in capsys.readouterr().err


async def test_purge_keeps_aggregates_and_refuses_rebuilding_purged_days(db_url: str, tmp_path: Path) -> None:
    """``purge --keep-days`` deletes old raw readings only; ``aggregate`` over them is then refused."""
    assert (await _run("--db", db_url, "add-system", "--vendor", "demo", "--site", "cli"))[0] == 0
    _write_demo_day(tmp_path / "days.jsonl", 1, days=3)
    assert (await _run("--db", db_url, "ingest", str(tmp_path / "days.jsonl")))[0] == 0
    aggregates = query_db(db_url, "SELECT count(*) FROM readings_agg_5m")
    code, out = await _run("--db", db_url, "purge", "--keep-days", "1")
    assert code == 0
    # Today (the real date) is long after the data: every aggregated day goes.
    assert "system 1: deleted 4320 raw readings" in out
    assert query_db(db_url, "SELECT count(*) FROM readings") == [(0,)]
    assert query_db(db_url, "SELECT count(*) FROM readings_agg_5m") == aggregates
    assert query_db(db_url, "SELECT count(*) FROM readings_agg_1d") == [(3,)]
    code, out = await _run("--db", db_url, "purge", "--keep-days", "1", "--system", "1")
    assert "deleted 0 raw readings" in out
    with pytest.raises(StoreError, match="were purged"):
        await _run("--db", db_url, "aggregate", "--system", "1", "--from", "2025-08-17", "--to", "2025-08-18")


def test_purge_bad_arguments(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", db_url, "purge", "--keep-days", "0"]) == 1
    assert "--keep-days must be at least 1" in capsys.readouterr().err
    assert main(["--db", db_url, "purge", "--keep-days", "5", "--system", "4"]) == 1
    assert "no system with id 4" in capsys.readouterr().err
