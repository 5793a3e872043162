"""The HTTP view's CSV answer (``format=csv``): the panel's download.

It has the rows and columns of the ``export_history`` action's files, the same access rules as the JSON
answer, and a clear 400 for an unknown format.
"""

from __future__ import annotations

import csv
from http import HTTPStatus
import io
from pathlib import Path

from freezegun.api import FrozenDateTimeFactory
from homeassistant.core import HomeAssistant
import pytest
from pytest_homeassistant_custom_component.common import MockConfigEntry
from pytest_homeassistant_custom_component.typing import ClientSessionGenerator

from custom_components.liveone.const import DOMAIN
from custom_components.liveone.csv_export import history_csv, history_table

from .conftest import NOON_LOCAL, demo_entry, query_db


@pytest.fixture
async def home(
    hass: HomeAssistant, freezer: FrozenDateTimeFactory, setup_liveone: str, tmp_path: Path
) -> tuple[MockConfigEntry, int]:
    freezer.move_to(NOON_LOCAL)
    hass.config.config_dir = str(tmp_path)
    entry = demo_entry(backfill_days=1)
    entry.add_to_hass(hass)
    assert await hass.config_entries.async_setup(entry.entry_id)
    await hass.async_block_till_done(wait_background_tasks=True)
    ((system_id,),) = query_db(setup_liveone, "SELECT id FROM systems")
    return entry, int(system_id)  # type: ignore[call-overload]


def _parse(text: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text)))


def _read(path: str) -> str:
    return Path(path).read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("interval", "last"), [("5m", "2h"), ("30m", "6h"), ("1d", "3d")], ids=["5m", "30m", "1d"]
)
async def test_csv_equals_json_and_export(
    hass: HomeAssistant,
    home: tuple[MockConfigEntry, int],  # first: its clock freeze comes before the client's token
    hass_client: ClientSessionGenerator,
    interval: str,
    last: str,
) -> None:
    entry, system_id = home
    client = await hass_client()
    params = {"system": str(system_id), "interval": interval, "last": last}
    as_json = await (await client.get("/api/liveone/history", params=params)).json()
    response = await client.get("/api/liveone/history", params={**params, "format": "csv"})
    assert response.status == HTTPStatus.OK
    assert response.content_type == "text/csv"
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="liveone_{system_id}_{interval}.csv"'
    )
    rows = _parse(await response.text())
    # Each column is one series of the JSON answer, each row one slot, empty cells for nulls.
    series = as_json["data"]
    assert rows[0][1:] == [
        f"{s['id'].removeprefix('liveone.demo.demo_home.')} ({s['units']})" for s in series
    ]
    assert len(rows) - 1 == len(series[0]["history"]["data"])
    for column, item in enumerate(series, start=1):
        assert [row[column] for row in rows[1:]] == [
            "" if value is None else str(value) for value in item["history"]["data"]
        ]
    assert rows[1][0].startswith(series[0]["history"]["start"])
    # The export_history action writes the same table for the same range.
    exported = await hass.services.async_call(
        DOMAIN,
        "export_history",
        {"system": entry.entry_id, "interval": interval, "last": last},
        blocking=True,
        return_response=True,
    )
    assert exported is not None
    assert _parse(_read(str(exported["path"]))) == rows


async def test_csv_access_and_errors(
    hass: HomeAssistant,
    home: tuple[MockConfigEntry, int],
    hass_client: ClientSessionGenerator,
    hass_client_no_auth: ClientSessionGenerator,
) -> None:
    _, system_id = home
    params = {"system": str(system_id), "interval": "1d", "last": "3d", "format": "csv"}
    anonymous = await hass_client_no_auth()
    assert (await anonymous.get("/api/liveone/history", params=params)).status == HTTPStatus.UNAUTHORIZED
    client = await hass_client()
    unknown = await client.get("/api/liveone/history", params={**params, "system": "999"})
    assert unknown.status == HTTPStatus.BAD_REQUEST
    assert await unknown.json() == {"message": "unknown system 999"}
    bad = await client.get("/api/liveone/history", params={**params, "format": "xml"})
    assert bad.status == HTTPStatus.BAD_REQUEST
    assert await bad.json() == {"message": "unknown format 'xml': use json or csv"}
    explicit_json = await client.get("/api/liveone/history", params={**params, "format": "json"})
    assert explicit_json.status == HTTPStatus.OK
    assert (await explicit_json.json())["version"] == "v4"


def test_table_of_an_answer_without_series() -> None:
    assert history_table({"data": []}) == (["time"], [])
    assert history_csv({"data": []}) == "time\r\n"
