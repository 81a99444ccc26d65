"""Make the fuzz generator and runner (and the I20 writer of tests/io) importable."""
from __future__ import annotations

import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
for folder in (HERE, HERE.parent / "io"):
    if str(folder) not in sys.path:
        sys.path.insert(0, str(folder))
