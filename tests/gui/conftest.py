"""The main window as the widget tests open it: throw-away settings, shown at a given size, shut down after."""
from __future__ import annotations

import pytest


@pytest.fixture
def make_window(qtbot, tmp_path, monkeypatch):
    """``make_window(width, height)`` -> a shown MainWindow; every one is shut down after the test."""
    from xestools.gui.main_window import MainWindow

    monkeypatch.setenv("XESTOOLS_SETTINGS_FILE", str(tmp_path / "settings.ini"))
    made = []

    def make(width: int = 1366, height: int = 768):
        window = MainWindow()
        qtbot.addWidget(window)
        window.resize(width, height)
        window.show()
        qtbot.waitExposed(window)
        made.append(window)
        return window

    yield make
    for window in made:
        window.shutdown()
