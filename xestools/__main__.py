"""``python -m xestools``: the command line (the same as the ``xestools`` command)."""
import sys

from xestools.cli import main

if __name__ == "__main__":
    sys.exit(main())
