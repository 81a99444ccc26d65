"""Safe slots: every Qt slot and matplotlib callback in the GUI runs through :func:`safe_slot`.

An exception inside is logged with its traceback, handed to the registered reporter (which writes
a crash report of kind ``exception``) and to the registered presenter (a non-modal message in the
GUI); it never propagates into Qt's C++ frames, where PySide would only print it or abort.
"""
from __future__ import annotations

import functools
import logging
from typing import Callable

log = logging.getLogger("xestools.runtime.safe")

_reporters: list[Callable[[BaseException, str], None]] = []
_presenters: list[Callable[[BaseException, str], None]] = []


def add_exception_reporter(reporter: Callable[[BaseException, str], None]) -> None:
    """Register ``reporter(exc, context)``, e.g. the crash-report writer."""
    _reporters.append(reporter)


def add_exception_presenter(presenter: Callable[[BaseException, str], None]) -> None:
    """Register ``presenter(exc, context)``, e.g. the GUI's non-modal error message."""
    _presenters.append(presenter)


def clear_exception_handlers() -> None:
    _reporters.clear()
    _presenters.clear()


def handle_exception(exc: BaseException, context: str) -> None:
    """Log, report and present an exception caught at a GUI boundary."""
    log.error("Unhandled exception in %s", context, exc_info=(type(exc), exc, exc.__traceback__))
    for callback in list(_reporters) + list(_presenters):
        try:
            callback(exc, context)
        except Exception:  # a broken reporter must not hide the original error
            log.exception("exception handler %r failed", callback)


#: what ``safe_slot`` copies from the slot: not ``__doc__``, which for a Qt method (``label.setText``)
#: makes PySide build its signature help text on first use (~0.2 s on the start-up path)
_WRAPPER_ASSIGNMENTS = ("__module__", "__name__", "__qualname__")


def safe_slot(func: Callable) -> Callable:
    """Decorate a Qt slot or matplotlib callback so that an exception is reported, not raised."""

    @functools.wraps(func, assigned=_WRAPPER_ASSIGNMENTS)
    def wrapper(*args, **kwargs):
        try:
            return func(*args, **kwargs)
        except Exception as exc:
            handle_exception(exc, getattr(func, "__qualname__", repr(func)))
            return None

    wrapper.__wrapped_safe__ = True
    return wrapper
