"""``python -m guidesync.action``: the entry point action.yml and the GitLab job template run.

The run itself lives in :mod:`guidesync.ci` (settings, git, summary, run); this module only keeps
that command line working.
"""

from __future__ import annotations

import sys

from .ci.run import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main(freeze=True))
