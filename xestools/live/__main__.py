"""``python -m xestools.live PATH``: follow a growing scan (or watch a folder) in the terminal.

A file: one line per update with its progress until the scan is complete. A folder: the scans that
appear (newest first), following the newest one until Ctrl+C. For demos with :mod:`xestools.replay`
and for checking a beamline folder without the GUI.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

from .folder import FolderPoller
from .follower import DEFAULT_INTERVAL_S, DEFAULT_STALE_AFTER_S, Follower


def _follow_file(path: str, args) -> int:
    follower = Follower(path, stale_after=args.stale_after)
    while True:
        update = follower.poll()
        if update.changed or not update.progress.following:
            print(f"{os.path.basename(path)}: {update.progress.text}", flush=True)
        if not update.progress.following:
            return 0 if update.models else 1
        time.sleep(args.interval)


def _watch_folder(folder: str, args) -> int:
    poller = FolderPoller(folder, args.pattern)
    follower = None
    while True:
        for entry in reversed(poller.poll()):
            print(f"new scan: {entry.name}", flush=True)
            follower = entry.follower(stale_after=args.stale_after)
        if follower is not None and follower.following:
            update = follower.poll()
            if update.changed or not update.progress.following:
                print(f"{os.path.basename(follower.path)}: {update.progress.text}", flush=True)
        time.sleep(args.interval)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m xestools.live", description=__doc__.split("\n\n")[0])
    parser.add_argument("path", help="a scan file (.nxs or .dat) or a data folder")
    parser.add_argument("--interval", type=float, default=DEFAULT_INTERVAL_S, help="seconds between polls")
    parser.add_argument("--stale-after", type=float, default=DEFAULT_STALE_AFTER_S,
                        help="stop following a file unchanged for this many seconds")
    parser.add_argument("--pattern", help="folder: only names matching this glob pattern")
    args = parser.parse_args(argv)
    try:
        if os.path.isdir(args.path):
            return _watch_folder(args.path, args)
        return _follow_file(args.path, args)
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
