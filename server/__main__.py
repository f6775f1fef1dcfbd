"""``python -m server``: the same as the ``gatepass-server`` command."""

from __future__ import annotations

import sys

from server.cli.main import main

if __name__ == "__main__":
    sys.exit(main())
