"""The GUI process: everything the runtime installs around the main window, in order.

Logging, faulthandler and the Python hooks come first (before any Qt import), then the Qt
environment, the Qt message handler, the QApplication, the binding self-check, signal routing,
the main window, the session, and the monitors. :meth:`GuiRuntime.shutdown` undoes it in order.
"""
from __future__ import annotations

import gc
import importlib.metadata
import json
import logging
import os
import sys
import threading
import time
from pathlib import Path
from typing import Callable

from xestools.runtime import breadcrumbs, crash_reports, hooks, logs, paths, postmortem, runstate, safe
from xestools.runtime.options import RuntimeOptions

log = logging.getLogger("xestools.runtime.gui")

EXIT_OK = 0
EXIT_NO_DISPLAY = 2
EXIT_STARTUP_FAILURE = 3
EXIT_FORCED = 4
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


def file_names_in(state) -> list[str]:
    """Base names of the files a session state refers to (keys ``path``, ``paths``, ``files``)."""
    found: list[str] = []

    def walk(value, key=""):
        if isinstance(value, dict):
            for k, v in value.items():
                walk(v, str(k).lower())
        elif isinstance(value, (list, tuple)):
            for v in value:
                walk(v, key)
        elif isinstance(value, str) and key in ("path", "paths", "file", "files", "source") and value:
            found.append(os.path.basename(value))

    walk(state)
    return list(dict.fromkeys(found))


class GuiRuntime:
    """One run of the GUI process (``run()`` returns the exit status)."""

    def __init__(self, options: RuntimeOptions) -> None:
        self.options = options
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
        self.session_store = None
        self._timers: list = []
        self._notices: list[tuple[str, str, str]] = []
        self._last_saved_text: str | None = None
        self._saves = 0
        self._dirty = False          # a user action happened since the last save
        self._files_watch_until = 0.0
        self._stopped = False
        self._saved_on_close = False
        self._ready = False
        self.open_files: list[str] = []

    # ------------------------------------------------------------------ start-up
    def run(self, after_start: Callable[["GuiRuntime"], None] | None = None) -> int:
        options = self.options
        self.log_dir = paths.resolve_log_dir(options.log_dir)
        self.logging = logs.setup_logging(self.log_dir, options.log_level, **_log_limits())
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
        try:
            self._detect_previous_crashes()
            self._decide_safe_mode()
            self.reporter.safe_mode = self.safe_mode
            self.marker.update(safe_mode=self.safe_mode)
            if options.crash_test == "startup":
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
            self._start_qt(platform_name, after_start)
        except Exception as exc:
            return self._startup_failed(exc)
        self.app.exec()
        self.shutdown("event loop ended")
        return self.exit_code

    def _start_qt(self, platform_name: str, after_start) -> None:
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
        versions = collect_versions()
        self.reporter.versions = versions
        self.marker.update(versions=versions)
        log.info("versions: %s", ", ".join(f"{k} {v}" for k, v in versions.items()))
        log.info("platform: %s; Qt platform plugin: %s", crash_reports.platform_info()["platform"],
                 self.app.platformName() or platform_name)
        log.info("log files: %s, %s; fault file: %s", self.logging.main_file, self.logging.error_file,
                 self.fault_file)

        from xestools.runtime import qt_runtime, selfcheck

        self.presenter = qt_runtime.ErrorPresenter(self.crash_folder, lambda: self.window)
        safe.add_exception_presenter(self.presenter.present_exception)
        check = selfcheck.run_selfcheck()
        if not check["ok"]:
            self._notices.append(("error", "xestools: broken Qt binding", check["message"]))
        self.router = qt_runtime.SignalRouter(self._on_signal, self._force_exit)
        self.router.install()

        from xestools.gui.main_window import MainWindow

        self.window = MainWindow(safe_mode=self.safe_mode)
        if self.safe_mode and "safe mode" not in self.window.windowTitle().lower():
            self.window.setWindowTitle((self.window.windowTitle() or "xestools") + SAFE_MODE_TITLE)
        self.window.user_action.connect(self._on_user_action)
        self._close_filter = _CloseFilter(self)
        self.window.installEventFilter(self._close_filter)
        self._restore_session()
        if self.options.files:
            breadcrumbs.add("opened from the command line: " + ", ".join(os.path.basename(f) for f in self.options.files))
            self.window.open_paths(list(self.options.files))
            self._dirty = True
            self._files_watch_until = time.monotonic() + 15.0
        self.window.show()
        log.info("main window shown: %r", self.window.windowTitle())

        self.monitor = _start_memory_monitor(self)
        from xestools.runtime.watchdog import HangWatchdog

        self.watchdog = HangWatchdog(self.options.hang_seconds, self.reporter.report)
        heartbeat = self._timer(min(max(self.options.hang_seconds / 4.0, 0.05), 0.5), self.watchdog.beat)
        heartbeat.start()
        self.watchdog.start()
        self._files_timer = self._timer(1.0, self._refresh_open_files)
        self._files_timer.start()
        self._autosave_timer = self._timer(max(self.options.autosave_seconds, 0.05), self._autosave)
        QTimer.singleShot(0, self._on_ready)
        if after_start is not None:
            QTimer.singleShot(0, lambda: after_start(self))

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

        self._ready = True
        self.marker.update(phase="running", ready_after_seconds=round(time.monotonic() - self.started, 3))
        runstate.clear_startup_crashes(self.run_folder)
        log.info("ready after %.2f s%s", time.monotonic() - self.started,
                 f" (safe mode: {self.safe_mode_reason})" if self.safe_mode else "")
        if selfcheck.pyplot_imported():
            log.warning("matplotlib.pyplot was imported by something; the GUI must not use pyplot")
        # The window manager settles the frame geometry just after show(): take the autosave baseline
        # once that has happened, so an untouched workspace is not saved as "changed".
        self._last_saved_text = self._state_text()
        QTimer.singleShot(SETTLE_MS, self._take_autosave_baseline)
        for level, title, text in self._notices:
            self.presenter.message(level, title, text)
        self._notices.clear()
        if self.options.crash_test and self.options.crash_test != "exit-hang":
            delay = float(os.environ.get("XESTOOLS_CRASH_TEST_DELAY", "0.3"))
            QTimer.singleShot(int(delay * 1000), self._run_crash_test)
        if self.options.quit_after is not None:
            QTimer.singleShot(int(self.options.quit_after * 1000), lambda: self.shutdown("--quit-after"))

    @safe.safe_slot
    def _take_autosave_baseline(self) -> None:
        if self._stopped:
            return
        if self._saves == 0:
            self._last_saved_text = self._state_text()
        self._autosave_timer.start()

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
            self._notices.append(("warning", "xestools did not close properly last time",
                                  f"{report['summary']}.\nA crash report was saved as {path.name}; "
                                  "your last saved session has been restored."))

    def _decide_safe_mode(self) -> None:
        if self.options.safe_mode:
            self.safe_mode, self.safe_mode_reason = True, "requested"
        elif runstate.safe_mode_due(self.run_folder):
            self.safe_mode = True
            self.safe_mode_reason = (f"{runstate.STARTUP_CRASH_LIMIT} start-up crashes within "
                                     f"{runstate.STARTUP_CRASH_WINDOW / 3600:.0f} h")
            self._notices.append(("warning", "xestools is in safe mode",
                                  f"xestools started in safe mode after {self.safe_mode_reason}: default "
                                  "settings, no session restore. Restart normally when the problem is solved."))
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
    def _restore_session(self) -> None:
        from xestools.session import SessionStore

        self.session_store = SessionStore(paths.default_session_file(self.options.session_file))
        if self.safe_mode or self.options.no_restore:
            log.info("session not restored (%s)", "safe mode" if self.safe_mode else "--no-restore")
            return
        result = self.session_store.load()
        if result.message:
            log.warning("%s", result.message)
            self._notices.append(("warning", "xestools session", result.message))
        if result.state is None:
            return
        window_state = result.state.get("main_window")
        if not isinstance(window_state, dict):
            return
        try:
            self.window.restore_session(window_state)
        except Exception as exc:  # a session the window cannot take must not block start-up
            safe.handle_exception(exc, "restoring the session")
            return
        self.open_files = file_names_in(window_state)
        self.marker.update(open_files=self.open_files)
        breadcrumbs.add(f"session restored from the {result.source} ({len(self.open_files)} files)")

    def _state(self) -> dict:
        return {"main_window": self.window.session_state()}

    def _state_text(self) -> str | None:
        try:
            return json.dumps(self._state(), sort_keys=True, default=str)
        except Exception:  # session_state() failing is reported, the runtime keeps going
            log.exception("could not collect the session state")
            return None

    def save_session(self, *, force: bool) -> bool:
        """Save when the state changed since the last save (or always with ``force``, except in safe
        mode, where an untouched workspace never overwrites the user's real session)."""
        if self.window is None or self.session_store is None:
            return False
        text = self._state_text()
        if text is None:
            return False
        changed = text != self._last_saved_text or self._dirty
        if not changed and not (force and not self.safe_mode):
            return False
        state = json.loads(text)
        self.session_store.save(state)
        self._last_saved_text = text
        self._saves += 1
        self._dirty = False
        self.open_files = file_names_in(state)
        self.marker.update(open_files=self.open_files)
        return True

    @safe.safe_slot
    def _autosave(self) -> None:
        if self.save_session(force=False):
            log.debug("session autosaved")

    # ------------------------------------------------------------------ events
    @safe.safe_slot
    def _on_user_action(self, text: str) -> None:
        breadcrumbs.add(text)
        self._dirty = True
        self._files_watch_until = time.monotonic() + 15.0

    @safe.safe_slot
    def _refresh_open_files(self) -> None:
        """For a while after each user action (loading is asynchronous), keep the marker's list of
        open files current, so a report written after a native crash names them."""
        if time.monotonic() > self._files_watch_until or self.window is None:
            return
        names = file_names_in(self._state())
        if names != self.open_files:
            self.open_files = names
            self.marker.update(open_files=names)

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
        log.critical("second signal (%d) within 2 s: forcing exit without saving", signum)
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
            from xestools.gui import workers

            if not workers.wait_for_idle(3000):
                log.warning("worker threads still busy at exit")
        except Exception as exc:  # shutdown continues; the failure is reported
            safe.handle_exception(exc, f"shutdown ({step})")
        if self.monitor is not None:
            self.monitor.stop()
        if self.router is not None:
            self.router.uninstall()
        self._finish_files(clean=True)
        if self.app is not None:
            self.app.quit()

    def _finish_files(self, *, clean: bool) -> None:
        """Clean end: remove the marker and an empty fault file; flush the logs."""
        if clean:
            self.marker.remove()
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


def _start_memory_monitor(runtime: GuiRuntime):
    from PySide6.QtCore import QObject, Qt, Signal

    from xestools.runtime.memory import MemoryMonitor

    class _MemoryBridge(QObject):
        warning = Signal(str, object)

    bridge = _MemoryBridge(runtime.app)
    bridge.warning.connect(safe.safe_slot(runtime._memory_warning), Qt.ConnectionType.QueuedConnection)
    monitor = MemoryMonitor(runtime_sample_file(runtime), interval=runtime.options.memory_interval,
                            warn_mb=runtime.options.memory_warn_mb, on_warning=bridge.warning.emit)
    monitor.bridge = bridge
    monitor.start()
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


def run_gui(options: RuntimeOptions, after_start: Callable[[GuiRuntime], None] | None = None) -> int:
    """Run the GUI process; ``after_start(runtime)`` runs once the window is up (tests, embedding)."""
    return GuiRuntime(options).run(after_start)
