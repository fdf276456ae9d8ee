from __future__ import annotations

import sys

from lakefeed.cli import main

sys.exit(main())
