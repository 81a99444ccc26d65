"""Fixtures for following growing scans: a replayer in a child process, the follow loop, comparisons."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np

PROJECT_ROOT = Path(__file__).resolve().parents[2]
#: generous: the machine is shared; nothing here asserts a duration
WAIT_S = 240.0


def follow_to_end(follower, process=None, on_update=None, interval=0.05):
    """Poll until the follower stops (or WAIT_S passes); ``on_update(update)`` sees every changed update."""
    deadline = time.monotonic() + WAIT_S
    updates = 0
    while follower.following and time.monotonic() < deadline:
        update = follower.poll()
        if update.changed:
            updates += 1
            if on_update is not None:
                on_update(update)
        time.sleep(interval)
    if process is not None:
        out, err = process.communicate(timeout=WAIT_S)
        assert process.returncode == 0, err
    assert not follower.following, f"still following after {WAIT_S} s: {follower.progress}"
    return updates


def assert_same_models(got, expected):
    """Same arrays (NaN where NaN), axes, mask, label, metadata and scan info."""
    assert len(got) == len(expected)
    for a, b in zip(got, expected):
        assert type(a) is type(b)
        for name in ("energy", "intensity", "uncertainty", "monitor", "incident", "emission",
                     "incident_axis", "emission_axis", "mask"):
            left, right = getattr(a, name, None), getattr(b, name, None)
            if left is None or right is None:
                assert left is None and right is None, name
                continue
            assert np.array_equal(left, right, equal_nan=True), name
        assert a.label == b.label and a.channel == b.channel
        # load() adds the file's SHA-256; a follower reads a file still growing, which has no fingerprint yet
        assert {k: v for k, v in a.metadata.items() if k != "sha256"} == \
            {k: v for k, v in b.metadata.items() if k != "sha256"}
        assert a.info == b.info
