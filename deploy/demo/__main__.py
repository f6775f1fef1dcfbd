"""``python -m deploy.demo``: see deploy.demo.cli."""

import sys

from deploy.demo.cli import main

sys.exit(main())
