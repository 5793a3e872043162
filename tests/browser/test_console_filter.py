"""The browser tests fail on console errors; only HA's own refused commands are set aside (no browser)."""

from __future__ import annotations

import json
from typing import Any

from .conftest import Pages, _Socket


def _pages(*frames: tuple[str, Any]) -> Pages:
    pages = Pages(ha=None, browser=None)  # type: ignore[arg-type]
    socket = _Socket()
    pages._sockets.append(socket)
    for way, message in frames:
        (socket.on_sent if way == "sent" else socket.on_received)(json.dumps(message))
    return pages


def test_a_refused_home_assistant_command_is_recorded_not_failed() -> None:
    unauthorized = {"code": "unauthorized", "message": "Unauthorized"}
    pages = _pages(
        ("sent", {"id": 7, "type": "config_entries/subscribe"}),
        ("received", [{"id": 7, "type": "result", "success": False, "error": unauthorized}]),
    )
    pages.errors += [
        "page error at http://x/liveone?system=2: Object ",
        f"console: unhandled rejection: {json.dumps(unauthorized)}",
    ]
    assert pages.problems() == []
    assert pages.frontend_noise == [
        f"console: unhandled rejection: {json.dumps(unauthorized)} (answer to config_entries/subscribe)"
    ]


def test_a_refused_liveone_command_and_other_errors_still_fail() -> None:
    refused = {"code": "not_found", "message": "No such system"}
    pages = _pages(
        ("sent", {"id": 3, "type": "liveone/history"}),
        ("received", {"id": 3, "type": "result", "success": False, "error": refused}),
    )
    pages.errors += [
        f"console: unhandled rejection: {json.dumps(refused)}",
        "page error at http://x/liveone: Object ",
        "console: TypeError: x is undefined",
        "console: unhandled rejection: {}",
    ]
    assert pages.problems() == pages.errors
    assert pages.frontend_noise == []
