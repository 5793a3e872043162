"""Constants of the LiveOne integration."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Final

DOMAIN: Final = "liveone"
LOGGER = logging.getLogger(__package__)

CONF_VENDOR: Final = "vendor"
CONF_SITE_ID: Final = "site_id"
CONF_TIMEZONE_OFFSET: Final = "timezone_offset_min"
CONF_DB_URL: Final = "db_url"
CONF_OWNER: Final = "owner_user_id"

DEFAULT_SCAN_INTERVAL: Final = timedelta(minutes=1)

# The daily aggregation runs at this local time (system offset) for the day that just ended.
DAILY_JOB_MINUTE_OF_DAY: Final = 5
