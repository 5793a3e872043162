"""The LiveOne panel and card in a real browser against a real Home Assistant (issue 15).

What a person sees is checked against what the API answers: each chart holds exactly the API's slots
and values for the same range, the CSV download equals the API's answer, and each user sees exactly the
systems the access rules give them. Every page's console must stay free of errors (the ``pages``
fixture fails the test otherwise).
"""

from __future__ import annotations

import csv
from datetime import UTC, date, datetime, timedelta
import io
from pathlib import Path
import time
from typing import Any
from urllib.parse import urlencode

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
import pytest

from .conftest import Pages
from .harness import HomeAssistantProcess

STEP = {"5m": 300, "30m": 1800, "1d": 86400}
FLOWS_IN = ("solar", "battery_out", "grid_in")
FLOWS_OUT = ("load", "battery_in", "grid_out")
PANEL = "liveone-panel"

# JavaScript run in the page: the panel's parts through their (open) shadow roots.
_HISTORY = "(p) => p.shadowRoot.querySelector('liveone-history')"
_CHART_READY = """([panel, kind, after]) => {
  const history = panel.shadowRoot.querySelector('liveone-history');
  const chart = history && history.shadowRoot.querySelector('liveone-chart.' + kind);
  return !!(chart && chart.plot && chart.dataset.drawn && Number(chart.dataset.drawn) > after);
}"""
_CHART_DATA = """([panel, kind]) => {
  const chart = panel.shadowRoot.querySelector('liveone-history').shadowRoot.querySelector('liveone-chart.' + kind);
  return {metrics: chart.metrics, data: chart.plot.data.map((column) => Array.from(column)),
          drawn: Number(chart.dataset.drawn), width: chart.plot.width};
}"""
_STATE_TEXT = """(panel) => {
  const history = panel.shadowRoot.querySelector('liveone-history');
  const root = history ? history.shadowRoot : panel.shadowRoot;
  const state = root.querySelector('.state');
  return state ? state.textContent.trim() : '';
}"""


def _panel(page: Any) -> Any:
    handle = page.locator(PANEL).element_handle(timeout=60_000)
    assert handle is not None
    return handle


def _wait_chart(page: Any, kind: str = "power", after: float = 0) -> dict[str, Any]:
    panel = _panel(page)
    page.wait_for_function(_CHART_READY, arg=[panel, kind, after], timeout=60_000)
    return dict(page.evaluate(_CHART_DATA, [panel, kind]))


def _requests(page: Any) -> int:
    return int(page.evaluate(f"(p) => ({_HISTORY})(p).requests", _panel(page)))


def _system_buttons(page: Any) -> list[str]:
    page.locator(f"{PANEL} .system, {PANEL} .state").first.wait_for(timeout=60_000)
    return [text.strip() for text in page.locator(f"{PANEL} .system .name").all_inner_texts()]


def _api(ha: HomeAssistantProcess, system: int, interval: str, **query: str) -> dict[str, Any]:
    params = urlencode({"system": system, "interval": interval, **query})
    answer: dict[str, Any] = ha.get(f"/api/liveone/history?{params}")
    return answer


def _series(answer: dict[str, Any]) -> dict[str, list[Any]]:
    return {item["id"].split(".", 3)[3]: item["history"]["data"] for item in answer["data"]}


def _offset(ha: HomeAssistantProcess, name: str) -> int:
    (listed,) = ha.call(lambda client: client.websocket([{"type": "liveone/systems"}]))
    return next(int(s["timezone_offset_min"]) for s in listed["systems"] if s["name"] == name)


def _same_range(
    ha: HomeAssistantProcess, system: int, interval: str, x: list[float], offset: int
) -> dict[str, Any]:
    """The API's answer for exactly the slots the chart shows (its first to its last)."""
    if interval == "1d":
        first = datetime.fromtimestamp(x[0] + offset * 60, UTC).date()
        last = datetime.fromtimestamp(x[-1] + offset * 60, UTC).date()
        return _api(ha, system, "1d", start=f"{first}T00:00:00", end=f"{last + timedelta(days=1)}T00:00:00")
    start = datetime.fromtimestamp(x[0] - STEP[interval], UTC).isoformat()
    end = datetime.fromtimestamp(x[-1], UTC).isoformat()
    return _api(ha, system, interval, start=start, end=end)


def _stacked(series: dict[str, list[Any]], flows: tuple[str, ...], sign: int) -> list[list[Any]]:
    """The cumulative sums an energy chart stacks (null where none of the flows so far has a value)."""
    out, running = [], [None] * len(series[f"{flows[0]}.energy"])
    for flow in flows:
        running = [
            total if value is None else (total or 0) + sign * value
            for total, value in zip(running, series[f"{flow}.energy"], strict=True)
        ]
        out.append(running)
    return out


@pytest.mark.parametrize(
    ("range_key", "interval", "slots"),
    [("7d", "5m", 7 * 288), ("30d", "30m", 30 * 48), ("13mo", "1d", 390), ("yesterday", "5m", 288)],
    ids=["7d@5m", "30d@30m", "13mo@1d", "yesterday@5m"],
)
def test_charts_hold_the_api_slots(
    ha: HomeAssistantProcess,
    pages: Pages,
    results: dict[str, Any],
    shoot: Any,
    range_key: str,
    interval: str,
    slots: int,
) -> None:
    system = ha.systems["Demo Home"]
    offset = _offset(ha, "Demo Home")
    opened = time.perf_counter()
    page = pages.open(f"/liveone?{urlencode({'system': system, 'range': range_key, 'interval': interval})}")
    power = _wait_chart(page, "power")
    page_ms = (time.perf_counter() - opened) * 1000
    energy = _wait_chart(page, "energy")
    x = power["data"][0]
    assert len(x) == slots
    if range_key == "7d":  # "last 7 days" ends with the current, still filling slot
        assert x[-1] >= time.time() - STEP[interval]
    answer = _same_range(ha, system, interval, x, offset)
    api = _series(answer)
    assert len(next(iter(api.values()))) == slots
    # Power: each line and band is the API's series, slot for slot, nulls (gaps) where it has none.
    assert power["metrics"], "the power chart shows no series"
    for metric, column in zip(power["metrics"], power["data"][1:], strict=True):
        assert column == api[metric], metric
    shown = {m: sum(v is not None for v in api[m]) for m in power["metrics"]}
    assert shown["solar.power.avg"] > 0, "the demo system has data in this range"
    if range_key == "13mo":  # a long range is mostly before the demo's backfill: gaps stay gaps
        assert shown["solar.power.avg"] < slots
    # Energy: sources stacked above zero, sinks below, from the API's per-slot energies.
    assert energy["data"][0] == x
    expected = {}
    for flows, sign in ((FLOWS_IN, 1), (FLOWS_OUT, -1)):
        for flow, column in zip(flows, _stacked(api, flows, sign), strict=True):
            expected[f"{flow}.energy"] = column
    for metric, column in zip(energy["metrics"], energy["data"][1:], strict=True):
        assert column == pytest.approx(expected[metric]), metric
    assert sorted(energy["metrics"]) == sorted(expected)
    # The day table: one row per local day of the range, and a totals row.
    rows = page.locator(f"{PANEL} table.days tbody tr").count()
    assert rows == (slots if interval == "1d" else len({_local_day(t, offset) for t in x}))
    panel_ms = float(_panel(page).get_attribute("data-time-to-chart") or "nan")
    if range_key in ("7d", "13mo"):
        results.setdefault("time_to_chart", {})[f"{range_key}@{interval}"] = {
            "panel_ms": round(panel_ms, 1),
            "page_ms": round(page_ms, 1),
            "slots": slots,
        }
    shoot(page, f"panel-{range_key}-{interval}")


def _local_day(slot_end: float, offset: int) -> date:
    return datetime.fromtimestamp(slot_end - 1 + offset * 60, UTC).date()


def test_admin_sees_every_system_and_switching_range_queries_again(
    ha: HomeAssistantProcess, pages: Pages, shoot: Any
) -> None:
    page = pages.open("/liveone")
    assert sorted(_system_buttons(page)) == ["Beach House", "Demo Home"]
    meta = page.locator(f"{PANEL} .system .meta").all_inner_texts()
    assert any("demo · owner" in text for text in meta)  # the administrator added them: their owner
    assert any("polling" in text and "newest data" in text for text in meta)
    first = _wait_chart(page)  # 7 days at 5m by default
    assert len(first["data"][0]) == 7 * 288
    asked = _requests(page)
    page.locator(f"{PANEL} button[data-range='30d']").click()
    second = _wait_chart(page, after=first["drawn"])
    assert _requests(page) == asked + 1
    assert len(second["data"][0]) == 30 * 48  # 30 days pick 30m
    assert page.locator(f"{PANEL} select.interval").input_value() == "30m"
    # Within the limits the interval can change: 30 days at 1d (5m is not offered beyond 7.5 days).
    options = page.locator(f"{PANEL} select.interval option").all_inner_texts()
    assert options == ["30m", "1d"]
    page.locator(f"{PANEL} select.interval").select_option("1d")
    third = _wait_chart(page, after=second["drawn"])
    assert _requests(page) == asked + 2
    assert len(third["data"][0]) == 30
    # Another system: its own history.
    page.locator(f"{PANEL} .system[data-system='{ha.systems['Beach House']}']").click()
    _wait_chart(page, after=third["drawn"])
    assert _requests(page) == asked + 3
    shoot(page, "panel-admin-light")


def test_dark_mode_and_phone_width(ha: HomeAssistantProcess, pages: Pages, shoot: Any) -> None:
    dark = pages.open("/liveone?range=24h", dark=True)
    _wait_chart(dark)
    background = dark.evaluate("(p) => getComputedStyle(p).backgroundColor", _panel(dark))
    channels = [int(v) for v in background[background.index("(") + 1 : -1].split(",")[:3]]
    assert sum(channels) < 3 * 80, f"dark theme background expected, got {background}"
    shoot(dark, "panel-dark")
    phone = pages.open("/liveone?range=24h", width=390, height=844)
    chart = _wait_chart(phone)
    assert chart["width"] <= 390
    overflow = phone.evaluate("() => document.documentElement.scrollWidth")
    assert overflow <= 390, f"the page scrolls sideways at phone width ({overflow} px)"
    shoot(phone, "panel-phone-390")


def test_csv_download_equals_the_api(ha: HomeAssistantProcess, pages: Pages, tmp_path: Path) -> None:
    system = ha.systems["Demo Home"]
    page = pages.open(f"/liveone?{urlencode({'system': system, 'range': 'yesterday', 'interval': '30m'})}")
    _wait_chart(page)
    with page.expect_download() as caught:
        page.locator(f"{PANEL} button.csv").click()
    target = tmp_path / caught.value.suggested_filename
    caught.value.save_as(target)
    assert target.name == "liveone_demo_demo_home_yesterday_30m.csv"
    rows = list(csv.reader(io.StringIO(target.read_text(encoding="utf-8"))))
    offset = _offset(ha, "Demo Home")
    yesterday = (datetime.now(UTC) + timedelta(minutes=offset) - timedelta(days=1)).date()
    answer = _api(
        ha, system, "30m", start=f"{yesterday}T00:00:00", end=f"{yesterday + timedelta(days=1)}T00:00:00"
    )
    series = answer["data"]
    assert rows[0] == ["time", *(f"{s['id'].split('.', 3)[3]} ({s['units']})" for s in series)]
    assert len(rows) - 1 == len(series[0]["history"]["data"]) == 48
    first_end = datetime.fromisoformat(series[0]["history"]["start"])
    for n, row in enumerate(rows[1:]):
        assert datetime.fromisoformat(row[0]) == first_end + timedelta(minutes=30 * n)
        assert row[1:] == [
            "" if s["history"]["data"][n] is None else str(s["history"]["data"][n]) for s in series
        ]


def test_viewer_sees_the_granted_system_only(ha: HomeAssistantProcess, pages: Pages, shoot: Any) -> None:
    page = pages.open("/liveone", ha.viewer)
    assert _system_buttons(page) == ["Demo Home"]
    assert "viewer" in page.locator(f"{PANEL} .system .meta").first.inner_text()
    chart = _wait_chart(page)
    assert len(chart["data"][0]) == 7 * 288
    # The other system is not there for the viewer, even asked for by id: the panel falls back to the granted one.
    other = pages.open(f"/liveone?system={ha.systems['Beach House']}", ha.viewer)
    assert _system_buttons(other) == ["Demo Home"]
    shoot(page, "panel-viewer")


def test_ungranted_user_sees_none(ha: HomeAssistantProcess, pages: Pages, shoot: Any) -> None:
    page = pages.open("/liveone", ha.stranger)
    assert _system_buttons(page) == []
    assert "No LiveOne system to show" in page.evaluate(_STATE_TEXT, _panel(page))
    shoot(page, "panel-stranger")


def test_card_renders_in_a_dashboard(
    ha: HomeAssistantProcess, pages: Pages, shoot: Any, results: dict[str, Any]
) -> None:
    system = ha.systems["Demo Home"]
    cards = [
        {"type": "custom:liveone-history-card", "system": system, "view": "power", "range": "24h"},
        {"type": "custom:liveone-history-card", "view": "energy", "range": "7d", "title": "A week of energy"},
    ]

    async def _dashboard(client: Any) -> None:
        await client.websocket(
            [
                {
                    "type": "lovelace/dashboards/create",
                    "url_path": "liveone-cards",
                    "title": "LiveOne cards",
                    "mode": "storage",
                    "require_admin": False,
                    "show_in_sidebar": False,
                },
                {
                    "type": "lovelace/config/save",
                    "url_path": "liveone-cards",
                    "config": {"views": [{"title": "LiveOne", "cards": cards}]},
                },
            ]
        )

    ha.call(_dashboard)
    page = pages.open("/liveone-cards/0")
    card = page.locator("liveone-history-card")
    defined = "() => customElements.whenDefined('liveone-history-card').then(() => true)"
    try:
        page.wait_for_function(defined, timeout=30_000)
    except PlaywrightTimeoutError:
        # Seen in about one full browser run in three, cause not found yet: the page never defines the
        # card (the module loaded on every page did not run). Recorded, then one reload must fix it.
        results["card_needed_reload"] = {"network": list(pages.network), "errors": list(pages.errors)}
        shoot(page, "card-not-defined-before-reload")
        page.reload()
        page.wait_for_function(defined, timeout=30_000)
    page.locator("liveone-history-card liveone-chart.power canvas").first.wait_for(timeout=60_000)
    page.locator("liveone-history-card liveone-chart.energy canvas").first.wait_for(timeout=60_000)
    assert card.count() == 2
    titles = page.locator("liveone-history-card .title").all_inner_texts()
    assert titles == ["Demo Home: power (24 hours)", "A week of energy"]
    slots = page.evaluate(
        "(card) => card.shadowRoot.querySelector('liveone-history').shadowRoot"
        ".querySelector('liveone-chart').plot.data[0].length",
        page.locator("liveone-history-card").first.element_handle(),
    )
    assert slots == 288
    shoot(page, "card-dashboard")


def test_empty_and_removed_states(ha: HomeAssistantProcess, pages: Pages, shoot: Any) -> None:
    """No data is said in words; so is a system removed while its history is on screen (runs last)."""
    beach = ha.systems["Beach House"]
    empty = pages.open(
        f"/liveone?{urlencode({'system': beach, 'range': 'custom', 'from': '2025-01-01', 'to': '2025-01-02'})}"
    )
    empty.wait_for_function(
        f"(p) => ({_STATE_TEXT})(p).startsWith('No data yet')", arg=_panel(empty), timeout=60_000
    )
    shoot(empty, "panel-no-data")
    page = pages.open(f"/liveone?{urlencode({'system': beach, 'range': '24h'})}")
    _wait_chart(page)

    async def _remove(client: Any) -> None:
        await client.request("DELETE", f"/api/config/config_entries/entry/{ha.entries['Beach House']}")

    ha.call(_remove)
    page.locator(f"{PANEL} button[data-range='today']").click()
    page.wait_for_function(
        f"(p) => ({_STATE_TEXT})(p).startsWith('This system is not there any more')",
        arg=_panel(page),
        timeout=60_000,
    )
    shoot(page, "panel-system-removed")
