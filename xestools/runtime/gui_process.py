"""The GUI process: everything the runtime installs around the main window, in order.

Logging, faulthandler and the Python hooks come first (before any Qt import), then the Qt
environment, the Qt message handler, the QApplication, the binding self-check, signal routing,
the main window, the session, and the monitors. :meth:`GuiRuntime.shutdown` undoes it in order.
"""
from __future__ import annotations

import gc
import importlib.metadata
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from xestools.runtime import breadcrumbs, crash_reports, hooks, logs, paths, postmortem, runstate, safe
from xestools.runtime.options import RuntimeOptions
from xestools.runtime.window_api import WindowFactory, check_window

log = logging.getLogger("xestools.runtime.gui")

EXIT_OK = 0
EXIT_NO_DISPLAY = 2
EXIT_STARTUP_FAILURE = 3
EXIT_FORCED = 4
EXIT_SESSION_NOT_SAVED = 5
SAFE_MODE_TITLE = " — safe mode"
SETTLE_MS = 500
VERSIONED_PACKAGES = ("PySide6-Essentials", "matplotlib", "numpy", "h5py", "psutil", "lmfit", "scipy",
                      "platformdirs")


def collect_versions() -> dict:
    """Versions for the start-up log and every report (lmfit and scipy are not imported)."""
    from xestools import __version__

    versions = {"xestools": __version__, "python": sys.version.split()[0]}
    try:
        from PySide6 import __version__ as pyside_version
        from PySide6.QtCore import qVersion

        versions["PySide6"] = pyside_version
        versions["Qt"] = qVersion()
    except ImportError:
        versions["PySide6"] = "missing"
    for package in VERSIONED_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = "not installed"
    return versions


class GuiRuntime:
    """One run of the GUI process (``run()`` returns the exit status)."""

    def __init__(self, options: RuntimeOptions, window_factory: WindowFactory) -> None:
        self.options = options
        self.window_factory = window_factory
        self.started = time.monotonic()
        self.exit_code = EXIT_OK
        self.safe_mode = False
        self.safe_mode_reason = ""
        self.app = None
        self.window = None
        self.presenter = None
        self.router = None
        self.monitor = None
        self.watchdog = None
        self.session = None
        self.instance = None
        self.early = hooks.EarlyStop(self._force_exit)
        self.session_file = paths.default_session_file(options.session_file)
        self._timers: list = []
        self._notices: list[tuple[str, str, str]] = []
        self._previous_ends: list[tuple[dict, Path]] = []
        self._stopped = False
        self._saved_on_close = False
        self._ready = False

    @property
    def open_files(self) -> list[str]:
        return self.session.open_files if self.session is not None else []

    # ------------------------------------------------------------------ start-up
    def run(self, after_start: Callable[["GuiRuntime"], None] | None = None) -> int:
        self.early.install()       # first: from here on a SIGTERM is an orderly exit, never a kill
        try:
            choice = paths.choose_log_dir(self.options.log_dir)
            self._start_files(choice.path)
        except OSError as exc:
            print(f"xestools: no safe folder for logs and crash reports: {exc}", file=sys.stderr)
            return EXIT_NO_DISPLAY
        if choice.note:
            log.warning("%s", choice.note)
        try:
            self._detect_previous_crashes()
            self._decide_safe_mode()
            self._tell_previous_crashes()
            self.reporter.safe_mode = self.safe_mode
            self.marker.update(safe_mode=self.safe_mode)
            if self.options.crash_test == "startup":
                raise RuntimeError("crash test: deliberate start-up failure")
            from xestools.runtime import qtenv

            changes = qtenv.harden_environment()
            for name, change in changes.items():
                log.warning("Qt environment: %s %s (another Qt installation would break PySide6)", name, change)
            try:
                platform_name = qtenv.check_display()
            except qtenv.NoDisplayError as exc:
                print(str(exc), file=sys.stderr)
                log.error("%s", exc)
                self._finish_files(clean=True)
                return EXIT_NO_DISPLAY
            if not self._start_qt(platform_name, after_start):
                self._finish_files(clean=True)
                return EXIT_OK
        except Exception as exc:
            return self._startup_failed(exc)
        self.app.exec()
        self.shutdown("event loop ended")
        return self.exit_code

    def _start_files(self, log_dir: Path) -> None:
        """Logs, faulthandler, run marker, crash reporter and Python hooks: before anything can fail."""
        self.log_dir = log_dir
        self.logging = logs.setup_logging(self.log_dir, self.options.log_level, **_log_limits())
        self.crash_folder = paths.crash_dir(self.log_dir)
        self.run_folder = paths.run_dir(self.log_dir)
        self.fault_file = self.log_dir / f"{self.logging.run_name}.fault.log"
        self.stacks_file = self.log_dir / f"{self.logging.run_name}.stacks.log"
        hooks.enable_faulthandler(self.fault_file, self.stacks_file)
        self.marker = runstate.RunMarker(self.run_folder)
        self.marker.update(phase="starting", log_file=str(self.logging.main_file),
                           error_log_file=str(self.logging.error_file), fault_file=str(self.fault_file),
                           stacks_file=str(self.stacks_file),
                           platform=crash_reports.platform_info(), versions={"python": sys.version.split()[0]},
                           supervised=os.environ.get("XESTOOLS_SUPERVISED") == "1",
                           supervisor_pid=_supervisor_pid(),
                           main_thread_ident=f"0x{threading.main_thread().ident:016x}", open_files=[])
        self.reporter = crash_reports.Reporter(
            self.crash_folder, started=self.started, versions={"python": sys.version.split()[0]},
            tail=self.logging.tail.snapshot, memory=self._memory_snapshot, open_files=lambda: self.open_files)
        safe.add_exception_reporter(self._report_exception)
        hooks.install_python_hooks(self.reporter.report, on_thread_exception=self._present_from_any_thread)
        log.info("xestools %s starting (pid %d); log folder %s; crash reports in %s",
                 _app_version(), os.getpid(), self.log_dir, self.crash_folder)

    def _start_qt(self, platform_name: str, after_start) -> bool:
        """QApplication, instance lock, window, session, monitors; False when this launch handed
        its files to a GUI that was already running (nothing more to do)."""
        from xestools.runtime import qtenv

        hooks.install_qt_message_handler()
        qtenv.apply_library_paths()
        from PySide6.QtCore import QTimer
        from PySide6.QtWidgets import QApplication

        self.app = QApplication.instance() or QApplication([sys.argv[0] if sys.argv else "xestools"])
        self.app.setApplicationName("xestools")
        self.app.setQuitOnLastWindowClosed(True)
        qtenv.use_qtagg()
        hooks.install_matplotlib_fallback()
        self._log_versions(platform_name)
        from xestools.runtime import qt_runtime, selfcheck

        self.presenter = qt_runtime.ErrorPresenter(self.crash_folder, lambda: self.window)
        safe.add_exception_presenter(self.presenter.present_exception)
        if not self._claim_instance():
            return False
        check = selfcheck.run_selfcheck()
        if not check["ok"]:
            self._notices.append(("error", "xestools: broken Qt binding", check["message"]))
        self.router = qt_runtime.SignalRouter(self._on_signal, self._force_exit, first_signal=self.early.first)
        self.router.install()
        if self.early.signum is not None:
            QTimer.singleShot(0, lambda: self._on_signal(self.early.signum))
        self._make_window()
        self._start_monitors()
        QTimer.singleShot(0, self._on_ready)
        if after_start is not None:
            QTimer.singleShot(0, lambda: after_start(self))
        return True

    def _log_versions(self, platform_name: str) -> None:
        versions = collect_versions()
        self.reporter.versions = versions
        self.marker.update(versions=versions)
        log.info("versions: %s", ", ".join(f"{k} {v}" for k, v in versions.items()))
        log.info("platform: %s; Qt platform plugin: %s", crash_reports.platform_info()["platform"],
                 self.app.platformName() or platform_name)
        log.info("log files: %s, %s; fault file: %s", self.logging.main_file, self.logging.error_file,
                 self.fault_file)

    def _claim_instance(self) -> bool:
        """Take this session's lock; else hand the files to the running GUI (False) or move to a
        session of our own (see :mod:`xestools.runtime.instance`)."""
        from xestools.runtime import instance

        claim = instance.claim(self.session_file, list(self.options.files), new=self.options.new_instance,
                               can_ask=_can_ask(self.options))
        if claim.lock is None:
            return False
        self.instance = claim.lock
        if claim.session_file != self.session_file:
            log.warning("another xestools uses %s: this one works on %s (settings %s)", self.session_file,
                        claim.session_file, os.environ.get("XESTOOLS_SETTINGS_FILE"))
            self._notices.append(("info", "xestools: separate session", claim.message))
            self.session_file = claim.session_file
        return True

    def _make_window(self) -> None:
        from xestools.runtime.autosave import SessionKeeper

        self.window = check_window(self.window_factory.create(self.safe_mode))
        if self.safe_mode and "safe mode" not in self.window.windowTitle().lower():
            self.window.setWindowTitle((self.window.windowTitle() or "xestools") + SAFE_MODE_TITLE)
        self.window.user_action.connect(self._on_user_action)
        self._close_filter = _CloseFilter(self)
        self.window.installEventFilter(self._close_filter)
        restoring = not (self.safe_mode or self.options.no_restore)
        self.session = SessionKeeper(self.session_file, self.window, delay=self.options.autosave_seconds,
                                     restoring=restoring, on_files=self._files_changed,
                                     on_save_error=self._session_not_saved, parent=self.app)
        if not restoring:
            log.info("session not restored (%s)", "safe mode" if self.safe_mode else "--no-restore")
            message = self.session.keep_unrestored()
            if message:
                self._notices.append(("warning", "xestools session", message))
        else:
            _count, message = self.session.restore()
            if message:
                self._notices.append(("warning", "xestools session", message))
        self.instance.serve(self._open_handed_over)
        if self.options.files:
            breadcrumbs.add("opened from the command line: " + ", ".join(os.path.basename(f) for f in self.options.files))
            self.window.open_paths(list(self.options.files))
            self.session.changed()
        if self.options.watch and hasattr(self.window, "watch_folder"):
            self.window.watch_folder(self.options.watch, self.options.watch_pattern)
        self.window.show()
        log.info("main window shown: %r", self.window.windowTitle())

    def _start_monitors(self) -> None:
        self.monitor = _memory_monitor(self)
        _after_first_paint(self.window, safe.safe_slot(self._start_memory_monitor))
        from xestools.runtime.watchdog import HangWatchdog

        self.watchdog = HangWatchdog(self.options.hang_seconds, self.reporter.report)
        heartbeat = self._timer(min(max(self.options.hang_seconds / 4.0, 0.05), 0.5), self.watchdog.beat)
        heartbeat.start()
        self.watchdog.start()
        if _supervisor_pid() is not None:
            self._timer(1.0, safe.safe_slot(self._check_parent)).start()

    def _start_memory_monitor(self) -> None:
        """Once (its thread imports psutil, which the first paint need not wait for)."""
        if not self._stopped and self.monitor is not None and self.monitor.ident is None:
            self.monitor.start()

    def _check_parent(self) -> None:
        """The supervisor is gone (killed -9) and no parent-death signal came (it was armed too late,
        or the platform has none): save and shut down as for a signal."""
        if not self._stopped and os.getppid() != _supervisor_pid():
            log.warning("the supervisor (pid %s) has ended: saving the session and shutting down", _supervisor_pid())
            self.shutdown("supervisor ended")

    def _timer(self, seconds: float, slot) -> object:
        from PySide6.QtCore import QTimer

        timer = QTimer(self.app)
        timer.setInterval(int(seconds * 1000))
        timer.timeout.connect(slot)
        self._timers.append(timer)
        return timer

    @safe.safe_slot
    def _on_ready(self) -> None:
        from PySide6.QtCore import QTimer

        from xestools.runtime import selfcheck

        if self._stopped:  # a signal during start-up: the shutdown already ran
            return
        self._ready = True
        self.marker.update(phase="running", ready_after_seconds=round(time.monotonic() - self.started, 3))
        runstate.clear_startup_crashes(self.run_folder)
        log.info("ready after %.2f s%s", time.monotonic() - self.started,
                 f" (safe mode: {self.safe_mode_reason})" if self.safe_mode else "")
        if selfcheck.pyplot_imported():
            log.warning("matplotlib.pyplot was imported by something; the GUI must not use pyplot")
        # The window manager settles the frame geometry just after show(): take the autosave baseline
        # once that has happened, so an untouched workspace is not saved as "changed".
        opened = bool(self.options.files)
        QTimer.singleShot(SETTLE_MS, lambda: self.session.start(opened=opened))
        for level, title, text in self._notices:
            log.info("message to the user (%s): %s: %s", level, title, text.replace("\n", " "))
            self.presenter.message(level, title, text)
        self._notices.clear()
        if self.options.crash_test and self.options.crash_test not in ("exit-hang", "slow-exit"):
            delay = float(os.environ.get("XESTOOLS_CRASH_TEST_DELAY", "0.3"))
            QTimer.singleShot(int(delay * 1000), self._run_crash_test)
        if self.options.quit_after is not None:
            QTimer.singleShot(int(self.options.quit_after * 1000), lambda: self.shutdown("--quit-after"))

    def _run_crash_test(self) -> None:
        from xestools.runtime import crashtest

        kind = self.options.crash_test
        log.warning("crash test %r starting", kind)
        if kind == "hang":
            safe.safe_slot(crashtest.block_event_loop_slot)(self.options.hang_seconds * 1.5 + 0.5)
        else:
            safe.safe_slot(crashtest.SLOTS[kind])()

    # ------------------------------------------------------------------ crashes before this run
    def _detect_previous_crashes(self) -> None:
        exclude = {os.getpid()}
        stale = runstate.stale_markers(self.run_folder, exclude)
        stale += runstate.orphan_fault_files(self.log_dir, {str(m.get("fault_file")) for m in stale},
                                             keep=str(self.fault_file))
        for marker in stale:
            try:
                report, path = postmortem.report_dead_run(marker, self.crash_folder, detected_by="next launch")
            except Exception:  # a bad old marker must not stop this start
                log.exception("could not report the previous unclean end from %s", marker.get("_path"))
                continue
            log.warning("the previous run (pid %s) ended unexpectedly: %s; report %s", marker.get("pid"),
                        report["summary"], path)
            self._previous_ends.append((report, path))

    def _tell_previous_crashes(self) -> None:
        """One message per unclean end: what happened, the report, how old the restored session is."""
        from xestools.session import describe_age, saved_age

        if self.safe_mode or self.options.no_restore:
            restored = "the session was not restored (" + ("safe mode" if self.safe_mode else "--no-restore") + ")."
        else:
            age = saved_age(self.session_file)
            restored = (f"your session as last saved {describe_age(age)} ago has been restored." if age is not None
                        else "no session had been saved, so the workspace starts empty.")
        for report, path in self._previous_ends:
            process = report.get("process") or {}
            text = f"{report['summary']}.\nA crash report was saved as {path.name}; {restored}"
            if process.get("phase") == "starting" and not process.get("counts_towards_safe_mode"):
                text += ("\nIt ended during start-up without a crash of its own (stopped from outside): "
                         "this does not count towards safe mode.")
            self._notices.append(("warning", "xestools did not close properly last time", text))
        self._previous_ends.clear()

    def _decide_safe_mode(self) -> None:
        if self.options.safe_mode:
            self.safe_mode, self.safe_mode_reason = True, "requested"
        elif runstate.safe_mode_due(self.run_folder):
            self.safe_mode = True
            self.safe_mode_reason = (f"{runstate.STARTUP_CRASH_LIMIT} start-up crashes within "
                                     f"{runstate.STARTUP_CRASH_WINDOW / 3600:.0f} h")
            self._notices.append(("warning", "xestools is in safe mode",
                                  f"xestools started in safe mode after {self.safe_mode_reason} (crashes of "
                                  "xestools itself; kills from outside do not count): default settings, no "
                                  "session restore. Restart normally when the problem is solved."))
        if self.safe_mode:
            log.warning("safe mode on (%s): default settings, no session restore, no extras",
                        self.safe_mode_reason)

    def _startup_failed(self, exc: BaseException) -> int:
        log.critical("start-up failed: %s", exc, exc_info=(type(exc), exc, exc.__traceback__))
        path = self.reporter.report("startup_failure", f"Start-up failed: {type(exc).__name__}: {exc}",
                                    exception=exc)
        count = runstate.record_startup_crash(self.run_folder)
        print(f"xestools failed to start: {type(exc).__name__}: {exc}\n"
              f"crash report: {path} (start-up crashes in the last 6 h: {count})", file=sys.stderr)
        self._finish_files(clean=True)
        return EXIT_STARTUP_FAILURE

    # ------------------------------------------------------------------ session
    def save_session(self, *, force: bool) -> bool:
        """Save now (see :meth:`SessionKeeper.save`); False before the window exists."""
        if self.window is None or self.session is None:
            return False
        return self.session.save(force=force)

    def _session_not_saved(self, text: str) -> None:
        """A failed save (disk full): the window says so (status bar and a message)."""
        status_bar = getattr(self.window, "statusBar", None)
        if callable(status_bar):
            status_bar().showMessage(text.split(". ")[0])
        if not self._stopped and self.presenter is not None:
            log.info("message to the user (error): xestools: session not saved: %s", text)
            self.presenter.message("error", "xestools: session not saved", text)

    def _files_changed(self, names: list[str]) -> None:
        self.marker.update(open_files=names)

    # ------------------------------------------------------------------ events
    @safe.safe_slot
    def _on_user_action(self, text: str) -> None:
        breadcrumbs.add(text)
        if self.session is not None:
            self.session.changed()

    @safe.safe_slot
    def _open_handed_over(self, paths_: list[str]) -> None:
        if self._stopped or self.window is None:
            return
        if paths_:
            breadcrumbs.add("opened from a second launch: " + ", ".join(os.path.basename(p) for p in paths_))
            self.window.open_paths(paths_)
        self.window.showNormal()
        self.window.raise_()
        self.window.activateWindow()

    def _report_exception(self, exc: BaseException, context: str) -> None:
        thread = threading.current_thread()
        if thread is threading.main_thread():
            self.reporter.report("exception", f"Unhandled {type(exc).__name__} in {context}: {exc}", exception=exc)
        else:  # e.g. a QThread's run(): PySide hands it to sys.excepthook on that thread
            self.reporter.report("thread_exception", f"Unhandled {type(exc).__name__} in thread {thread.name!r} "
                                 f"({context}): {exc}", exception=exc, thread=thread)

    def _present_from_any_thread(self, exc: BaseException, context: str) -> None:
        if self.presenter is not None:
            self.presenter.present_exception(exc, context)  # emits a queued signal

    def _memory_warning(self, message: str, sample: dict) -> None:
        """On the GUI thread: collect garbage here (never in the monitor thread), then tell the user."""
        freed = gc.collect()
        log.info("memory warning: gc.collect() on the GUI thread found %d unreachable objects", freed)
        if self.presenter is not None:
            self.presenter.message("warning", "xestools: memory", message)

    def _memory_snapshot(self) -> dict:
        return self.monitor.snapshot() if self.monitor is not None else {}

    def _on_signal(self, signum: int) -> None:
        self.shutdown(f"signal {signum}")

    def _force_exit(self, signum: int) -> None:
        """A second signal within 2 s (the event loop is busy, or the supervisor died and something
        else asks too): exit now, after saving the state collected since the last save, if any."""
        saved = self.session is not None and self.session.save_collected()
        log.critical("second signal (%d) within 2 s: forcing exit (%s)", signum,
                     "the unsaved changes were saved first" if saved else "nothing unsaved to save")
        if hasattr(self, "marker"):   # (not yet there when both signals came before the log folder)
            self._finish_files(clean=True)
        os._exit(EXIT_FORCED)

    # ------------------------------------------------------------------ shutdown
    def shutdown(self, reason: str) -> None:
        """Orderly shutdown; idempotent: save session, close windows, stop threads/timers, flush."""
        if self._stopped:
            return
        self._stopped = True
        log.info("shutting down (%s)", reason)
        self.marker.update(phase="stopping")
        for timer in self._timers:
            timer.stop()
        if self.watchdog is not None:
            self.watchdog.stop()
        step = "saving the session"
        try:
            if not (self._saved_on_close and self.window is not None and not self.window.isVisible()):
                # (else it was saved just before the window's closeEvent shut its panels down)
                self.save_session(force=True)
            if self.session is not None:
                self.session.stop()
                if self.session.save_error is not None:
                    log.error("exiting with the session not saved (%s)", self.session.save_error)
                    print(f"xestools: the session could not be saved to {self.session_file}: "
                          f"{self.session.save_error}; the previous session file is kept as it was",
                          file=sys.stderr)
                    self.exit_code = EXIT_SESSION_NOT_SAVED
            step = "closing the main window"
            if self.options.crash_test == "exit-hang":
                from xestools.runtime import crashtest

                crashtest.hang_in_shutdown(60.0)
            if self.window is not None:
                self.window.shutdown()
            step = "closing windows"
            if self.presenter is not None:
                self.presenter.close_all()
            if self.app is not None:
                self.app.closeAllWindows()
            step = "waiting for worker threads"
            if not self.window_factory.wait_for_workers(3000):
                log.warning("worker threads still busy at exit")
        except Exception as exc:  # shutdown continues; the failure is reported
            safe.handle_exception(exc, f"shutdown ({step})")
        if self.monitor is not None:
            self.monitor.stop()
        if self.router is not None:
            self.router.uninstall()
        self._finish_files(clean=True)
        if self.options.crash_test == "slow-exit":
            from xestools.runtime import crashtest

            crashtest.linger_after_shutdown(1.5)
        if self.app is not None:
            self.app.quit()

    def _finish_files(self, *, clean: bool) -> None:
        """Clean end: remove the marker and an empty fault file; release the session; flush the logs.

        From here on shutdown signals are ignored: the process is ending with its status decided
        (and Python would reset its own handlers to "terminate" while the interpreter exits).
        """
        hooks.ignore_shutdown_signals()
        if clean:
            self.marker.remove()
        if self.instance is not None:
            self.instance.release()
        log.info("clean exit after %.2f s", time.monotonic() - self.started)
        hooks.close_faulthandler()
        for path in (self.fault_file, self.stacks_file):
            try:
                if path.exists() and path.stat().st_size == 0:
                    path.unlink()
            except OSError:
                log.warning("could not remove the empty file %s", path, exc_info=True)
        logs.flush_all()


def _CloseFilter(runtime: GuiRuntime):
    """Saves the session when the user closes the main window, before its closeEvent shuts the
    panels down (after that, ``session_state()`` would describe closed plots)."""
    from PySide6.QtCore import QEvent, QObject

    class CloseFilter(QObject):
        def eventFilter(self, watched, event):  # noqa: N802 - Qt name
            if event.type() == QEvent.Type.Close and watched is runtime.window and not runtime._stopped:
                try:
                    runtime.save_session(force=True)
                    runtime._saved_on_close = True
                except Exception as exc:  # closing must go on; the failure is reported
                    safe.handle_exception(exc, "saving the session on close")
            return False

    return CloseFilter(runtime.app)


def _after_first_paint(window, callback, fallback_ms: int = 2000) -> None:
    """Call ``callback`` when ``window`` has painted for the first time, or after ``fallback_ms`` if
    it has not (a minimised window does not paint); ``callback`` must be safe to call twice."""
    from PySide6.QtCore import QEvent, QObject, QTimer

    class FirstPaint(QObject):
        def eventFilter(self, watched, event):  # noqa: N802 - Qt name
            if watched is window and event.type() == QEvent.Type.Paint:
                window.removeEventFilter(self)
                QTimer.singleShot(0, callback)   # after the children painted in the same pass
            return False

    window.installEventFilter(FirstPaint(window))
    QTimer.singleShot(fallback_ms, callback)


def _memory_monitor(runtime: GuiRuntime):
    """The memory monitor, not started (see ``GuiRuntime._start_memory_monitor``)."""
    from PySide6.QtCore import QObject, Qt, Signal

    from xestools.runtime.memory import MemoryMonitor

    class _MemoryBridge(QObject):
        warning = Signal(str, object)

    bridge = _MemoryBridge(runtime.app)
    bridge.warning.connect(safe.safe_slot(runtime._memory_warning), Qt.ConnectionType.QueuedConnection)
    monitor = MemoryMonitor(runtime_sample_file(runtime), interval=runtime.options.memory_interval,
                            warn_mb=runtime.options.memory_warn_mb, on_warning=bridge.warning.emit)
    monitor.bridge = bridge
    return monitor


def runtime_sample_file(runtime: GuiRuntime) -> Path:
    return runstate.memory_path(runtime.run_folder, os.getpid())


def _supervisor_pid() -> int | None:
    if os.environ.get("XESTOOLS_SUPERVISED") != "1":
        return None
    try:
        return int(os.environ.get("XESTOOLS_SUPERVISOR_PID", ""))
    except ValueError:
        return None


def _log_limits() -> dict:
    """Small rotation limits for tests (``XESTOOLS_LOG_MAX_BYTES``, ``XESTOOLS_LOG_KEEP_RUNS``)."""
    limits = {}
    if os.environ.get("XESTOOLS_LOG_MAX_BYTES"):
        size = int(os.environ["XESTOOLS_LOG_MAX_BYTES"])
        limits.update(main_max_bytes=size, error_max_bytes=size)
    if os.environ.get("XESTOOLS_LOG_KEEP_RUNS"):
        limits["keep_runs"] = int(os.environ["XESTOOLS_LOG_KEEP_RUNS"])
    return limits


def _app_version() -> str:
    from xestools import __version__

    return __version__


def _can_ask(options: RuntimeOptions) -> bool:
    """Can a dialog be answered? (Not offscreen, not with ``--no-dialog``.)"""
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    return not options.no_dialog and app is not None and app.platformName() not in ("offscreen", "minimal")


def run_gui(options: RuntimeOptions, window_factory: WindowFactory,
            after_start: Callable[[GuiRuntime], None] | None = None) -> int:
    """Run the GUI process with the window ``window_factory`` makes (handed in by ``xestools.app``;
    runtime never imports gui); ``after_start(runtime)`` runs once the window is up (tests, embedding)."""
    return GuiRuntime(options, window_factory).run(after_start)
