"""``python -m wirewatch``: the same as the ``wirewatch`` command."""

import sys

from wirewatch.cli import main

sys.exit(main())
