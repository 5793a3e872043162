"""Constants of the LiveOne integration."""

from __future__ import annotations

from datetime import timedelta
import logging
from typing import Final

DOMAIN: Final = "liveone"
LOGGER = logging.getLogger(__package__)

CONF_VENDOR: Final = "vendor"
CONF_SITE_ID: Final = "site_id"
CONF_BACKFILL_DAYS: Final = "backfill_days"
CONF_TIMEZONE_OFFSET: Final = "timezone_offset_min"
CONF_DB_URL: Final = "db_url"
CONF_OWNER: Final = "owner_user_id"

VENDOR_DEMO: Final = "demo"
VENDOR_SELECTRONIC: Final = "selectronic"

CONF_SYSTEM_NUMBER: Final = "system_number"
CONF_DETAILS: Final = "details"

# Transient vendor errors (Select.Live's 500/503 bursts around minutes 48-52 and 504s around midnight)
# keep the last reading shown for this many consecutive failed polls before entities go unavailable.
TRANSIENT_GRACE_POLLS: Final = 5

DEFAULT_SCAN_INTERVAL: Final = timedelta(minutes=1)
DEFAULT_BACKFILL_DAYS: Final = 2
MAX_BACKFILL_DAYS: Final = 30

# The daily aggregation runs at this local time (system offset) for the day that just ended.
DAILY_JOB_MINUTE_OF_DAY: Final = 5
