"""The user guide's screenshots: the script makes every image the guide shows, none is blank."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from xestools import docshots

PROJECT_ROOT = Path(__file__).resolve().parents[2]
GUIDE = PROJECT_ROOT / "docs" / "guide.md"
IMAGES = PROJECT_ROOT / "docs" / "images"


def guide_images() -> list[str]:
    names = re.findall(r"!\[[^\]]*\]\(images/([^)\s]+\.png)\)", GUIDE.read_text(encoding="utf-8"))
    assert names, "the guide shows no screenshots"
    return names


def grey_spread(path: Path) -> float:
    return float(np.asarray(Image.open(path).convert("L"), dtype=float).std())


@pytest.fixture(scope="module")
def produced(tmp_path_factory) -> Path:
    """Run the script as a user would, into a fresh folder (real files when present, else the samples)."""
    out = tmp_path_factory.mktemp("docshots")
    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               QT_QPA_PLATFORM="offscreen")
    done = subprocess.run([sys.executable, "-m", "xestools.docshots", str(out)],
                          cwd=str(out), env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-3000:]
    return out


def test_every_image_the_guide_shows_is_made_committed_and_not_blank(produced):
    names = guide_images()
    made = {path.name for path in produced.glob("*.png")}
    assert set(names) <= made, f"the script does not make {sorted(set(names) - made)}"
    for name in names:
        assert (IMAGES / name).is_file(), f"docs/images/{name} is not committed"
        for path in (produced / name, IMAGES / name):
            with Image.open(path) as image:
                assert image.size == docshots.SIZE, f"{path}: {image.size}, the window left a laptop screen"
            assert grey_spread(path) > 15.0, f"{path} is blank"


def test_the_guide_and_the_script_agree_and_the_images_stay_small():
    names = set(guide_images())
    assert names == {name for name, _ in docshots.SHOTS}, "every screenshot is shown, every one shown is made"
    committed = list(IMAGES.glob("*.png"))
    assert {path.name for path in committed} == names, "no stale image in docs/images"
    assert sum(path.stat().st_size for path in committed) < 3_000_000


def test_a_uniform_image_counts_as_blank(tmp_path):
    path = tmp_path / "blank.png"
    Image.new("RGB", docshots.SIZE, (240, 240, 240)).save(path)
    assert grey_spread(path) < 1.0


def test_the_script_drives_the_window_through_public_names_only():
    source = Path(docshots.__file__).read_text(encoding="utf-8")
    assert not re.findall(r"\w\._[a-z]\w*", source), "no private attributes in the screenshot script"
