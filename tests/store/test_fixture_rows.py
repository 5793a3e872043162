"""Ten real Selectronic rows (2025-08-17, about one a minute) aggregated and checked by hand."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy.engine import Engine

from custom_components.liveone.vendors.model import Reading

from .conftest import day_row, row_5m, write

FIXTURE = Path(__file__).parent.parent / "fixtures" / "readings-rows-2025-08-17.txt"

# Local (UTC+10) 14:15 and 14:20 on 2025-08-17.
END_1415 = 1755404100
END_1420 = 1755404400


def parse_rows(path: Path) -> list[dict[str, str]]:
    """Parse the column-aligned dump: each column starts where its header name starts."""
    lines = [line for line in path.read_text().splitlines() if line.strip()]
    header_index = next(i for i, line in enumerate(lines) if line.startswith("ID "))
    header = lines[header_index]
    names = [name.strip() for name in header.split("  ") if name.strip()]
    starts = []
    position = 0
    for name in names:
        position = header.index(name, position)
        starts.append(position)
        position += len(name)
    bounds = [*starts[1:], None]
    return [
        {name: line[start:stop].strip() for name, start, stop in zip(names, starts, bounds, strict=True)}
        for line in lines[header_index + 1 :]
    ]


def _float(text: str) -> float | None:
    return None if text == "NULL" else float(text)


def fixture_readings() -> list[Reading]:
    """The rows as the Selectronic client would hand them over."""
    return [
        Reading(
            inverter_time=int(row["INVERTER TIME"]),
            solar_w=_float(row["SOLAR POWER"]),
            solar_inverter_w=_float(row["SOLAR INVERTER POWER"]),
            shunt_w=_float(row["SHUNT POWER"]),
            load_w=_float(row["LOAD POWER"]),
            battery_w=_float(row["BATTERY POWER"]),
            grid_w=_float(row["GRID POWER"]),
            battery_soc=_float(row["BATTERY SOC"]),
            fault_code=int(row["FAULT CODE"]),
            generator_status=int(row["GENERATOR STATUS"]),
            solar_kwh_total=_float(row["SOLAR KWH TOTAL"]),
            load_kwh_total=_float(row["LOAD KWH TOTAL"]),
            battery_in_kwh_total=_float(row["BATTERY IN KWH TOTAL"]),
            battery_out_kwh_total=_float(row["BATTERY OUT KWH TOTAL"]),
            grid_in_kwh_total=_float(row["GRID IN KWH TOTAL"]),
            grid_out_kwh_total=_float(row["GRID OUT KWH TOTAL"]),
        )
        for row in parse_rows(FIXTURE)
    ]


def test_the_dump_parses() -> None:
    rows = parse_rows(FIXTURE)
    assert len(rows) == 10
    assert rows[0]["ID"] == "4785"
    assert rows[0]["SOLAR POWER"] == "1358.36181640625"
    assert rows[0]["CREATED AT"] == "2025-08-17 04:19:42"
    assert rows[-1]["BATTERY IN KWH TOTAL"] == "568.661"
    assert rows[-1]["SOLAR W"] == "NULL"


def test_fixture_rows_aggregate_as_computed_by_hand(engine: Engine, system_id: int) -> None:
    result = write(engine, system_id, fixture_readings())
    assert result.rows_written == 10
    assert result.intervals == (END_1415, END_1420)

    # Interval ending 14:15:00 local holds readings 4776..4780 (14:10:39, 14:11:37, 14:12:39,
    # 14:13:37, 14:14:40). Power rounded to whole watts on the way in:
    #   solar   1288, 1545, 1512, 1479, 1431  sum 7255  avg 1451.0      min 1288  max 1545
    #   load     962,  259,  276,  296,  268  sum 2061  avg  412.2 ->  412  min  259  max  962
    #   battery -273,-1242,-1188,-1184,-1130  sum -5017 avg -1003.4 -> -1003  min -1242  max -273
    #   grid    0 throughout
    # Last reading (4780): SOC 26.9, solar 924.777, load 824.968, battery in 568.753,
    # battery out 574.106, grid 0 / 0 kWh. It is the system's first interval: no energy yet.
    first = row_5m(engine, system_id, END_1415)
    assert first == {
        "system_id": system_id,
        "interval_end": END_1415,
        "solar_w_avg": 1451,
        "solar_w_min": 1288,
        "solar_w_max": 1545,
        "solar_interval_wh": None,
        "load_w_avg": 412,
        "load_w_min": 259,
        "load_w_max": 962,
        "battery_w_avg": -1003,
        "battery_w_min": -1242,
        "battery_w_max": -273,
        "grid_w_avg": 0,
        "grid_w_min": 0,
        "grid_w_max": 0,
        "load_wh_interval": None,
        "battery_in_wh_interval": None,
        "battery_out_wh_interval": None,
        "grid_in_wh_interval": None,
        "grid_out_wh_interval": None,
        "battery_soc_last": 26.9,
        "solar_kwh_total_last": 924.777,
        "load_kwh_total_last": 824.968,
        "battery_in_kwh_total_last": 568.753,
        "battery_out_kwh_total_last": 574.106,
        "grid_in_kwh_total_last": 0.0,
        "grid_out_kwh_total_last": 0.0,
        "sample_count": 5,
    }

    # Interval ending 14:20:00 holds readings 4781..4785 (14:15:37 .. 14:19:38):
    #   solar   1373, 1195, 1174, 1192, 1358  sum 6292  avg 1258.4 -> 1258  min 1174  max 1373
    #   load     289,  221,  269,  311,  243  sum 1333  avg  266.6 ->  267  min  221  max  311
    #   battery -1046, -965, -861, -873,-1081 sum -4826 avg -965.2 -> -965  min -1081  max -861
    # Energy from the totals, against 14:15's:
    #   solar       924.862 - 924.777 = 0.085 kWh -> 85 Wh
    #   load        824.968 - 824.968 -> 0
    #   battery in  568.846 - 568.753 = 0.093 kWh -> 93 Wh (it is charging at ~1 kW)
    #   battery out 574.106 - 574.106 -> 0;  grid in / out 0 - 0 -> 0
    second = row_5m(engine, system_id, END_1420)
    assert second == {
        "system_id": system_id,
        "interval_end": END_1420,
        "solar_w_avg": 1258,
        "solar_w_min": 1174,
        "solar_w_max": 1373,
        "solar_interval_wh": 85,
        "load_w_avg": 267,
        "load_w_min": 221,
        "load_w_max": 311,
        "battery_w_avg": -965,
        "battery_w_min": -1081,
        "battery_w_max": -861,
        "grid_w_avg": 0,
        "grid_w_min": 0,
        "grid_w_max": 0,
        "load_wh_interval": 0,
        "battery_in_wh_interval": 93,
        "battery_out_wh_interval": 0,
        "grid_in_wh_interval": 0,
        "grid_out_wh_interval": 0,
        "battery_soc_last": 27.0,
        "solar_kwh_total_last": 924.862,
        "load_kwh_total_last": 824.968,
        "battery_in_kwh_total_last": 568.846,
        "battery_out_kwh_total_last": 574.106,
        "grid_in_kwh_total_last": 0.0,
        "grid_out_kwh_total_last": 0.0,
        "sample_count": 5,
    }

    # The (finished) day 2025-08-17 holds both intervals:
    #   energy  85 Wh solar, 93 Wh charge, 0 elsewhere
    #   solar   min(1288, 1174) = 1174, max(1545, 1373) = 1545, avg (1451 + 1258) / 2 = 1354.5 -> 1355
    #   load    min 221, max 962, avg (412 + 267) / 2 = 339.5 -> 340
    #   battery min -1242, max -273, avg (-1003 - 965) / 2 = -984
    #   SOC     26.9 and 27.0: min 26.9, max 27.0, avg 26.95 -> 27.0, end 27.0
    day = day_row(engine, system_id, "2025-08-17")
    assert day == {
        "system_id": str(system_id),
        "day": "2025-08-17",
        "solar_kwh": 0.085,
        "load_kwh": 0.0,
        "battery_charge_kwh": 0.093,
        "battery_discharge_kwh": 0.0,
        "grid_import_kwh": 0.0,
        "grid_export_kwh": 0.0,
        "solar_w_min": 1174,
        "solar_w_avg": 1355,
        "solar_w_max": 1545,
        "load_w_min": 221,
        "load_w_avg": 340,
        "load_w_max": 962,
        "battery_w_min": -1242,
        "battery_w_avg": -984,
        "battery_w_max": -273,
        "grid_w_min": 0,
        "grid_w_avg": 0,
        "grid_w_max": 0,
        "battery_soc_min": 26.9,
        "battery_soc_avg": 27.0,
        "battery_soc_max": 27.0,
        "battery_soc_end": 27.0,
        "solar_alltime_kwh": 924.862,
        "load_alltime_kwh": 824.968,
        "battery_charge_alltime_kwh": 568.846,
        "battery_discharge_alltime_kwh": 574.106,
        "grid_import_alltime_kwh": 0.0,
        "grid_export_alltime_kwh": 0.0,
        "interval_count": 2,
        "sample_count": 10,
        "version": 1,
    }
