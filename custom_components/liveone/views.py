"""The HTTP door to history: ``GET /api/liveone/history`` behind Home Assistant's normal auth.

Query parameters are those of the ``liveone/history`` WebSocket command: ``system`` (the id that
``liveone/systems`` lists), ``interval`` (``5m``, ``30m``, ``1d``) and either ``last`` (``24h``, ``7d``)
or ``start`` with an optional ``end`` (ISO 8601). Any request the store refuses, an unknown system and
one the user may not see answer 400 with ``{"message": ...}``; an unreachable store answers 503.
``format=csv`` answers CSV (:mod:`.csv_export`) instead of JSON.
"""

from __future__ import annotations

from http import HTTPStatus

from aiohttp import web
from homeassistant.components.http import KEY_HASS, KEY_HASS_USER, HomeAssistantView

from .access import async_history, caller_of
from .const import LOGGER
from .csv_export import FORMATS, csv_response
from .store import StoreError
from .store.access import SystemNotFoundError
from .store.history import INTERVALS, HistoryError

_KNOWN_PARAMETERS = frozenset({"system", "interval", "start", "end", "last", "format"})


class HistoryView(HomeAssistantView):
    """One system's history as JSON, in the OpenNEM-style envelope."""

    url = "/api/liveone/history"
    name = "api:liveone:history"
    requires_auth = True

    async def get(self, request: web.Request) -> web.Response:
        """Answer a history request."""
        query = request.query
        unknown = sorted(set(query) - _KNOWN_PARAMETERS)
        if unknown:
            return self.json_message(f"unknown parameter(s): {', '.join(unknown)}", HTTPStatus.BAD_REQUEST)
        raw_system = query.get("system")
        if raw_system is None:
            return self.json_message("give the system parameter", HTTPStatus.BAD_REQUEST)
        if not raw_system.strip().isdigit():
            return self.json_message(f"unknown system {raw_system}", HTTPStatus.BAD_REQUEST)
        interval = query.get("interval", "")
        if interval not in INTERVALS:
            return self.json_message(
                f"unknown interval {interval!r}: use one of {', '.join(INTERVALS)}", HTTPStatus.BAD_REQUEST
            )
        if (answer_format := query.get("format", "json")) not in FORMATS:
            return self.json_message(
                f"unknown format {answer_format!r}: use json or csv", HTTPStatus.BAD_REQUEST
            )
        try:
            answer = await async_history(
                request.app[KEY_HASS],
                caller_of(request[KEY_HASS_USER]),
                system_id=int(raw_system),
                interval=interval,
                start=query.get("start"),
                end=query.get("end"),
                last=query.get("last"),
            )
        except SystemNotFoundError as err:
            return self.json_message(f"unknown system {err.system_id}", HTTPStatus.BAD_REQUEST)
        except HistoryError as err:
            return self.json_message(str(err), HTTPStatus.BAD_REQUEST)
        except StoreError as err:
            LOGGER.warning("GET %s failed: %s", self.url, err)
            return self.json_message("the LiveOne store is unavailable", HTTPStatus.SERVICE_UNAVAILABLE)
        if answer_format == "csv":
            return csv_response(answer, system_id=int(raw_system), interval=interval)
        return self.json(answer)
