"""A fake `crontab` for the schedule tests: `-l` prints $FAKE_CRONTAB_FILE, `-` replaces it. Put on PATH
in a test's own bin directory; the machine's real crontab is never touched."""

FAKE_CRONTAB = """#!/bin/sh
f="$FAKE_CRONTAB_FILE"
if [ "$1" = "-l" ]; then
  if [ -f "$f" ]; then cat "$f"; exit 0; fi
  echo "no crontab for $(id -un)" >&2; exit 1
fi
if [ "$1" = "-" ]; then cat > "$f"; exit 0; fi
exit 2
"""
