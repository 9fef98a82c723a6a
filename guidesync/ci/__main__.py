"""``python -m guidesync.ci``: the CI run, the same as ``python -m guidesync.action``."""

import sys

from .run import main

sys.exit(main(prog="python -m guidesync.ci", freeze=True))
