"""``python -m liveone_validate`` (from scripts/), as ``python scripts/validate.py`` runs it."""

import sys

from .cli import main

sys.exit(main())
