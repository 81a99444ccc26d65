"""The main window's first size and its minimum size, from the screen it opens on.

A window taller than the screen hides its status bar and cursor readout; one smaller than the
minimum overprints its controls. The arithmetic is plain integers, so it is tested without a screen.
"""
from __future__ import annotations

#: the smallest window whose tabs, docks and plots do not overprint (width, height in pixels)
MINIMUM_SIZE = (700, 500)
#: the size the window would like on a large screen
PREFERRED_SIZE = (1600, 1000)
#: room left for the window frame and title bar, which ``availableGeometry`` does not include
FRAME_MARGIN = (16, 40)


def first_size(available_width: int, available_height: int) -> tuple[int, int]:
    """The first window size on a screen whose available area (without task bars) is given:
    the preferred size, shrunk to fit with its frame, never below the minimum."""
    width = min(PREFERRED_SIZE[0], available_width - FRAME_MARGIN[0])
    height = min(PREFERRED_SIZE[1], available_height - FRAME_MARGIN[1])
    return max(width, MINIMUM_SIZE[0]), max(height, MINIMUM_SIZE[1])


def fit_to_screen(window) -> None:
    """Give ``window`` its minimum size and a first size that fits the screen it is on."""
    window.setMinimumSize(*MINIMUM_SIZE)
    screen = window.screen()
    if screen is None:
        window.resize(*MINIMUM_SIZE)
        return
    area = screen.availableGeometry()
    window.resize(*first_size(area.width(), area.height()))
    window.move(area.x() + max((area.width() - window.width()) // 2, 0), area.y())
