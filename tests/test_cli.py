"""scripts/liveone-store: init, add-system, ingest, aggregate, and what bad input does."""

from __future__ import annotations

import io
import json
from pathlib import Path
import subprocess
import sys

import pytest

from custom_components.liveone.store.cli import main, run
from custom_components.liveone.vendors.demo import DemoSite, DemoSystem

from .conftest import query_db

ROOT = Path(__file__).resolve().parent.parent
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


async def test_init_add_ingest_aggregate(db_url: str, tmp_path: Path) -> None:
    assert (await _run("--db", db_url, "init"))[0] == 0
    code, out = await _run("--db", db_url, "add-system", "--vendor", "demo", "--site", "cli", "--name", "CLI")
    assert (code, out) == (0, "1\n")
    lines = _write_demo_day(tmp_path / "day.jsonl", 1, days=2)
    code, out = await _run("--db", db_url, "ingest", str(tmp_path / "day.jsonl"))
    assert code == 0
    assert f"ingested {lines} new readings of {lines} lines" in out
    assert query_db(db_url, "SELECT count(*) FROM readings") == [(2880,)]
    assert query_db(db_url, "SELECT count(*) FROM readings_agg_5m") == [(576,)]  # 288 a day

    # Ingesting the same file again adds nothing.
    code, out = await _run("--db", db_url, "ingest", str(tmp_path / "day.jsonl"))
    assert "ingested 0 new readings" in out

    before = query_db(db_url, "SELECT * FROM readings_agg_1d ORDER BY day")
    code, out = await _run("--db", db_url, "aggregate", "--system", "1")
    assert code == 0
    assert "from 2025-08-17 to 2025-08-18" in out
    days = query_db(db_url, "SELECT day, interval_count FROM readings_agg_1d ORDER BY day")
    assert days[:2] == [("2025-08-17", 288), ("2025-08-18", 288)]
    code, out = await _run(
        "--db", db_url, "aggregate", "--system", "1", "--from", "2025-08-17", "--to", "2025-08-17"
    )
    assert "from 2025-08-17 to 2025-08-17" in out
    after = query_db(db_url, "SELECT * FROM readings_agg_1d ORDER BY day")
    # A rebuild reproduces the incremental rows (apart from the updated_at stamp).
    assert [row[:-1] for row in after[:2]] == [row[:-1] for row in before[:2]]


def test_aggregate_without_readings_and_bad_range(db_url: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--db", db_url, "add-system", "--vendor", "demo", "--site", "empty"]) == 0
    assert main(["--db", db_url, "aggregate", "--system", "1"]) == 0
    assert "system 1 has no readings; nothing to aggregate" in capsys.readouterr().out
    assert (
        main(["--db", db_url, "aggregate", "--system", "1", "--from", "2025-08-02", "--to", "2025-08-01"])
        == 1
    )
    assert "is after --to" in capsys.readouterr().err
    assert main(["--db", db_url, "aggregate", "--system", "7"]) == 1
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
