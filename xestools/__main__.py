"""``python -m xestools``: the command line (the same as the ``xestools`` command)."""
import sys

from xestools.requirements import cli_main

if __name__ == "__main__":
    sys.exit(cli_main())
