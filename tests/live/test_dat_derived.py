"""A followed ``.dat`` computes FF ÷ I1 and its σ for its new rows only: its maps stay those of the file read whole."""
from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parents[1]
if str(HERE / "io") not in sys.path:
    sys.path.insert(0, str(HERE / "io"))
import i20_synth  # noqa: E402  (the I20-format writer of tests/io)


def test_growing_dat_maps_equal_the_partial_file_read_whole(tmp_path):
    from xestools.io import ascii_i20
    from xestools.io.reader import _select
    from xestools.live import Follower
    from xestools.replay import _split_dat

    scan = i20_synth.make_rxes(12, 30, seed=3, channels=("upper", "lower"))
    source = tmp_path / "source_1.dat"
    i20_synth.write_ascii(source, scan)
    header, rows, footer = _split_dat(source.read_bytes())
    path = tmp_path / "growing_1.dat"
    path.write_bytes(header + b"".join(rows[:70]))
    follower = Follower(path, stale_after=3600)
    written = 70
    while True:
        update = follower.poll()
        text = path.read_text()
        whole = ascii_i20.parse(text, str(path))
        layout = ascii_i20.classify(whole, str(path))
        expected = ascii_i20.load(whole, str(path), layout, _select(str(path), layout.channels, None),
                                  in_progress=follower.following)
        assert len(update.models) == len(expected) == 2
        for got, want in zip(update.models, expected):
            for name in ("intensity", "uncertainty", "monitor", "incident", "emission", "mask",
                         "incident_axis", "emission_axis"):
                assert np.array_equal(getattr(got, name), getattr(want, name), equal_nan=True), name
        if not follower.following:
            break
        with open(path, "ab") as handle:
            handle.write(b"".join(rows[written:written + 37]))
            written += 37
            if written >= len(rows):
                handle.write(footer)
