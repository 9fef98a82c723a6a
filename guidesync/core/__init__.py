"""The pure core: guide text in, plans, edits and the next base out. No network, no disk, no clock:
modules here import only each other, the standard library's pure modules, markdown-it-py and
:mod:`guidesync.errors` (a test holds it to that)."""
