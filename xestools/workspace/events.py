"""Plain callbacks for the Qt-free workspace: what a Qt signal is for a QObject, without Qt.

An :class:`Event` holds callables; ``emit`` calls each in order. The GUI connects its models and
views; tests connect lists. A view that closes disconnects, so a closed plot is not kept alive.
"""
from __future__ import annotations

from typing import Any, Callable


class Event:
    """A list of callbacks called in connection order with the emitted arguments."""

    __slots__ = ("_callbacks",)

    def __init__(self) -> None:
        self._callbacks: list[Callable[..., Any]] = []

    def connect(self, callback: Callable[..., Any]) -> None:
        self._callbacks.append(callback)

    def disconnect(self, callback: Callable[..., Any]) -> None:
        """Forget ``callback`` (no error when it was not connected: closing twice is harmless)."""
        self._callbacks = [known for known in self._callbacks if known != callback]

    def emit(self, *args: Any) -> None:
        for callback in list(self._callbacks):
            callback(*args)

    def __len__(self) -> int:
        return len(self._callbacks)
