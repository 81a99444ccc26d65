"""Launch xestools: ``python main_enhanced.py [FILES...]``."""
import sys

from xestools.app import main

if __name__ == "__main__":
    sys.exit(main())
