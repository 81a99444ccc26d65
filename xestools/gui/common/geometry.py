"""The main window's first size and minimum size, and dialog sizes, from the screen they open on.

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


def dialog_size(preferred: tuple[int, int], available_width: int, available_height: int) -> tuple[int, int]:
    """A dialog's size: the size it would like, shrunk to fit the screen with its frame."""
    return (min(preferred[0], available_width - FRAME_MARGIN[0]),
            min(preferred[1], available_height - FRAME_MARGIN[1]))


def fit_dialog(dialog, preferred: tuple[int, int]) -> None:
    """Size ``dialog`` to fit the screen its parent window is on and centre it on that window (a
    dialog taller than a 768-pixel laptop screen hides its buttons below the screen's edge)."""
    parent = dialog.parentWidget()
    window = parent.window() if parent is not None else None
    screen = (window.screen() if window is not None else None) or dialog.screen()
    if screen is None:
        dialog.resize(*preferred)
        return
    area = screen.availableGeometry()
    dialog.resize(*dialog_size(preferred, area.width(), area.height()))
    centre = window.frameGeometry().center() if window is not None else area.center()
    x = min(max(centre.x() - dialog.width() // 2, area.left()), area.right() - dialog.width() - FRAME_MARGIN[0] // 2)
    y = min(max(centre.y() - dialog.height() // 2, area.top()), area.bottom() - dialog.height() - FRAME_MARGIN[1] + 8)
    dialog.move(max(x, area.left()), max(y, area.top()))
