"""Process-wide hooks of the GUI process: every uncaught error reaches one funnel.

``sys.excepthook``, ``threading.excepthook``, ``sys.unraisablehook``, warnings, faulthandler (fatal
errors and SIGUSR1), the Qt message handler and matplotlib's callback exception handler. The funnel
is :func:`xestools.runtime.safe.handle_exception` plus the crash reporter.
"""
from __future__ import annotations

import faulthandler
import logging
import signal
import sys
import threading
from pathlib import Path
from typing import IO, Callable

from xestools.runtime import safe

log = logging.getLogger("xestools.runtime.hooks")

_fault_stream: IO | None = None
_stacks_stream: IO | None = None


def enable_faulthandler(fault_file: Path, stacks_file: Path) -> None:
    """Fatal errors (segfault, abort, ...) of every thread go to ``fault_file``, kept open for the
    whole life of the process; SIGUSR1 dumps every thread's stack to ``stacks_file`` on demand.
    Both are 0600 files."""
    global _fault_stream, _stacks_stream
    from xestools.runtime.files import open_private_append

    _fault_stream = open_private_append(fault_file, truncate=True)  # stays open for the process's life
    faulthandler.enable(file=_fault_stream, all_threads=True)
    if hasattr(signal, "SIGUSR1"):
        _stacks_stream = open_private_append(stacks_file)
        faulthandler.register(signal.SIGUSR1, file=_stacks_stream, all_threads=True, chain=False)


def fault_stream() -> IO | None:
    return _fault_stream


def close_faulthandler() -> None:
    """At clean exit: stop writing dumps and close the files."""
    global _fault_stream, _stacks_stream
    if hasattr(signal, "SIGUSR1"):
        faulthandler.unregister(signal.SIGUSR1)
    faulthandler.disable()
    for stream in (_fault_stream, _stacks_stream):
        if stream is not None:
            stream.close()
    _fault_stream = _stacks_stream = None


def install_python_hooks(report: Callable[..., object], *, on_thread_exception: Callable[[BaseException, str], None] | None = None) -> None:
    """Install excepthook, threading.excepthook and unraisablehook.

    ``report(kind, summary, exception=..., thread=...)`` writes a crash report;
    ``on_thread_exception(exc, context)`` tells the user (it must be safe to call from any thread,
    e.g. emit a queued signal).
    """

    def excepthook(exc_type, exc, tb):
        if issubclass(exc_type, KeyboardInterrupt):
            log.info("KeyboardInterrupt")
            return
        if exc.__traceback__ is None:
            exc = exc.with_traceback(tb)
        # An exception escaping a Qt slot that is not wrapped in safe_slot lands here.
        safe.handle_exception(exc, "code outside a safe slot")

    def thread_hook(args: threading.ExceptHookArgs):
        if args.exc_type is SystemExit:
            return
        name = args.thread.name if args.thread is not None else "?"
        exc = args.exc_value if args.exc_value is not None else args.exc_type()
        log.error("Unhandled exception in thread %s", name, exc_info=(args.exc_type, exc, args.exc_traceback))
        report("thread_exception", f"Unhandled {args.exc_type.__name__} in thread {name!r}: {exc}",
               exception=exc, thread=args.thread)
        if on_thread_exception is not None:
            on_thread_exception(exc, f"thread {name!r}")

    def unraisable_hook(unraisable):
        log.error("Unraisable exception (%s) in %r", unraisable.err_msg or "ignored", unraisable.object,
                  exc_info=(unraisable.exc_type, unraisable.exc_value, unraisable.exc_traceback))

    sys.excepthook = excepthook
    threading.excepthook = thread_hook
    sys.unraisablehook = unraisable_hook
    logging.captureWarnings(True)


def install_matplotlib_fallback() -> None:
    """Route exceptions of every matplotlib callback (canvas events, artist callbacks) to the funnel.

    ``cbook.CallbackRegistry`` calls its ``exception_handler`` with the exception; by default it
    prints it (interactive) or raises. Every registry created from now on reports it instead; the
    canvas wraps its own callbacks in ``safe_slot`` as well, this is the safety net.
    """
    from matplotlib import cbook

    def report_callback_exception(exc: BaseException) -> None:
        safe.handle_exception(exc, "matplotlib callback")

    init = cbook.CallbackRegistry.__init__
    defaults = list(init.__defaults__ or ())
    if defaults:
        defaults[0] = report_callback_exception
        init.__defaults__ = tuple(defaults)
    else:
        log.warning("matplotlib CallbackRegistry has no default exception handler to replace")


def install_qt_message_handler(fatal_sink: Callable[[str], None] | None = None) -> None:
    """Map Qt messages to logging (category, file:line); must run before the QApplication."""
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    levels = {QtMsgType.QtDebugMsg: logging.DEBUG, QtMsgType.QtInfoMsg: logging.INFO,
              QtMsgType.QtWarningMsg: logging.WARNING, QtMsgType.QtCriticalMsg: logging.ERROR,
              QtMsgType.QtFatalMsg: logging.CRITICAL}
    qt_log = logging.getLogger("xestools.qt")

    def handler(msg_type, context, message):
        level = levels.get(msg_type, logging.WARNING)
        category = getattr(context, "category", None) or "default"
        where = f"{context.file}:{context.line}" if getattr(context, "file", None) else "?"
        qt_log.log(level, "[%s] %s (%s)", category, message, where)
        if msg_type == QtMsgType.QtFatalMsg:
            text = f"Qt fatal: [{category}] {message} ({where})\n"
            stream = _fault_stream
            if stream is not None:
                stream.write(text)
                stream.flush()
            if fatal_sink is not None:
                fatal_sink(text)

    qInstallMessageHandler(handler)


SHUTDOWN_SIGNALS = tuple(getattr(signal, name) for name in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT")
                         if hasattr(signal, name))
FORCE_WINDOW_SECONDS = 2.0


def ignore_shutdown_signals() -> None:
    """Once the exit status is decided, a late SIGTERM/SIGINT/SIGHUP/SIGQUIT must not kill us."""
    if threading.current_thread() is not threading.main_thread():
        return  # only the main thread may set handlers; the process is ending anyway
    for signum in SHUTDOWN_SIGNALS:
        signal.signal(signum, signal.SIG_IGN)


class EarlyStop:
    """Shutdown signals during start-up, before the Qt signal router exists.

    The first is remembered (start-up goes on, and the orderly shutdown runs as soon as the event
    loop does); a second within 2 s calls ``force_exit(signum)``. Without this, a SIGTERM during
    start-up would kill the process by the default action.
    """

    def __init__(self, force_exit: Callable[[int], None]) -> None:
        self.force_exit = force_exit
        self.signum: int | None = None
        self.first: float | None = None

    def install(self) -> None:
        for signum in SHUTDOWN_SIGNALS:
            signal.signal(signum, self._handler)

    def _handler(self, signum, frame) -> None:
        import time

        now = time.monotonic()
        if self.first is not None and now - self.first <= FORCE_WINDOW_SECONDS:
            self.force_exit(signum)
            return
        self.signum, self.first = signum, now
        log.info("received %s during start-up: shutting down once the window is up",
                 signal.Signals(signum).name)
