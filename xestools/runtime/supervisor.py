"""The supervisor: a small parent process that runs the GUI as a child and watches it.

Only a parent can see a segfault or abort in native code, a ``kill -9``, the out-of-memory killer or
a hang at exit. The supervisor forwards SIGTERM/SIGINT/SIGHUP/SIGQUIT to the child, and after an
abnormal end turns what the child left behind (run marker, fault file, memory sample, log) into a
crash report, then asks the user: restart and restore, restart in safe mode, or quit. Where nobody
can answer (offscreen platform, ``--no-dialog``) it prints where the report is and exits non-zero.

Its signal handlers stay installed while a GUI runs or the user is asked; once the outcome is
decided the shutdown signals are ignored (not reset: Python resets its own handlers to the default
action while the interpreter exits). So a second SIGTERM after the GUI's clean shutdown is forwarded
to a process that ignores it, or dropped, and never turns the clean exit (0) into a kill (143).

Light by design: no matplotlib, no numpy, no data; Qt only for the dialog after a crash.
"""
from __future__ import annotations

import ctypes
import logging
import logging.handlers
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from xestools.runtime import logs, paths, runstate
from xestools.runtime.options import RuntimeOptions

log = logging.getLogger("xestools.runtime.supervisor")

EXIT_CRASHED = 1
CHILD_CLEAN_CODES = (0, 2, 4, 5)     # clean, no display, forced exit by a second signal, session not saved
FORWARDED = tuple(getattr(signal, n) for n in ("SIGTERM", "SIGINT", "SIGHUP", "SIGQUIT") if hasattr(signal, n))
EXIT_HANG_SECONDS = float(os.environ.get("XESTOOLS_EXIT_HANG_SECONDS", "20"))
HEADLESS = {"offscreen", "minimal"}


def _die_with_parent() -> None:
    """Linux: the child gets SIGTERM (orderly shutdown, session saved) if the supervisor dies."""
    try:
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except OSError:
        return  # no libc.so.6 (musl): the child just will not follow a dying supervisor


def _strip_crash_test(argv: list[str]) -> list[str]:
    out, skip = [], False
    for token in argv:
        if skip:
            skip = False
            continue
        if token == "--crash-test":
            skip = True
            continue
        if token.startswith("--crash-test=") or token in ("--no-restore", "--quit-after") or \
                token.startswith("--quit-after="):
            skip = token == "--quit-after"
            continue
        out.append(token)
    return out


class Supervisor:
    def __init__(self, options: RuntimeOptions) -> None:
        self.options = options
        choice = paths.choose_log_dir(options.log_dir)
        self.log_dir = choice.path
        self.crash_folder = paths.crash_dir(self.log_dir)
        self.run_folder = paths.run_dir(self.log_dir)
        self.child: subprocess.Popen | None = None
        self.forwarded: list[int] = []
        self._exit_hang: tuple[int, dict, Path] | None = None
        self._previous_handlers: dict[int, object] = {}
        self._setup_logging()
        if choice.note:
            log.warning("%s", choice.note)

    def _setup_logging(self) -> None:
        handler = logs.PrivateRotatingFileHandler(self.log_dir / "supervisor.log", maxBytes=1_000_000,
                                                  backupCount=2, encoding="utf-8")
        handler.setFormatter(logging.Formatter(logs.LOG_FORMAT))
        console = logging.StreamHandler(sys.stderr)
        console.setLevel(getattr(logging, self.options.log_level, logging.INFO))
        console.setFormatter(logging.Formatter("xestools supervisor: %(message)s"))
        top = logging.getLogger("xestools")
        top.setLevel(logging.DEBUG)
        for h in (handler, console):
            top.addHandler(h)

    # ------------------------------------------------------------------ child
    def _environment(self, restarting: bool) -> dict:
        env = dict(os.environ)
        env["XESTOOLS_SUPERVISED"] = "1"
        env["XESTOOLS_SUPERVISOR_PID"] = str(os.getpid())
        env["XESTOOLS_LOG_DIR"] = str(self.log_dir)
        root = str(paths.PROJECT_ROOT)
        parts = [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
        if root not in parts:
            env["PYTHONPATH"] = os.pathsep.join([root] + parts)
        if restarting:
            for name in ("XESTOOLS_CRASH_TEST", "XESTOOLS_NO_RESTORE", "XESTOOLS_QUIT_AFTER"):
                env.pop(name, None)
        return env

    def _forward(self, signum, frame) -> None:
        self.forwarded.append(signum)
        child = self.child
        if child is None:
            log.debug("%s with no GUI process running: the supervisor is finishing", signal.Signals(signum).name)
            return
        if child.poll() is None:
            log.debug("forwarding %s to the GUI process %d", signal.Signals(signum).name, child.pid)
            try:
                child.send_signal(signum)
            except ProcessLookupError:
                log.debug("the GUI process ended before the signal reached it")

    def _launch(self, argv: list[str], restarting: bool) -> subprocess.Popen:
        command = [sys.executable, "-m", "xestools.app", *argv]
        log.debug("starting the GUI process: %s", command)
        return subprocess.Popen(command, env=self._environment(restarting), start_new_session=True,
                                preexec_fn=_die_with_parent if sys.platform.startswith("linux") else None)

    def _wait(self, child: subprocess.Popen) -> int:
        """Wait for the child; a child stuck in its shutdown for too long gets its stacks dumped,
        a ``hang`` report, and SIGKILL."""
        stopping_since = None
        marker_file = runstate.marker_path(self.run_folder, child.pid)
        next_check = time.monotonic() + 1.0
        while True:
            try:
                return child.wait(timeout=0.1)
            except subprocess.TimeoutExpired:
                now = time.monotonic()
            if now < next_check:
                continue
            next_check = now + 1.0
            marker = runstate.read_json(marker_file) or {}  # only the phase is used here
            if marker.get("phase") == "stopping":
                stopping_since = stopping_since or now
                if now - stopping_since > EXIT_HANG_SECONDS:
                    self._report_exit_hang(child)
            else:
                stopping_since = None

    def _report_exit_hang(self, child: subprocess.Popen) -> None:
        from xestools.runtime import crash_reports

        stacks_text = ""
        marker = runstate.load_marker(runstate.marker_path(self.run_folder, child.pid), self.log_dir) or {}
        if hasattr(signal, "SIGUSR1") and marker.get("stacks_file"):
            child.send_signal(signal.SIGUSR1)
            time.sleep(1.0)
            stacks_text = "\n".join(logs.read_tail(Path(marker["stacks_file"]), 400))
        report = crash_reports.new_report(
            "hang", f"The GUI process did not finish its shutdown within {EXIT_HANG_SECONDS:.0f} s; it was killed",
            native_dump=stacks_text or None, log_tail=logs.read_tail(Path(marker.get("log_file", "")), 200),
            open_files=marker.get("open_files") or [], versions=marker.get("versions") or {},
            platform_=marker.get("platform"), process={"pid": child.pid, "role": "gui", "phase": "stopping",
                                                       "detected_by": "supervisor"})
        path = crash_reports.write_report(report, self.crash_folder)
        log.error("GUI process %d hung during shutdown; report %s; killing it", child.pid, path)
        self._exit_hang = (child.pid, report, path)
        child.kill()

    def restore_signals(self) -> None:
        """Put back the handlers :meth:`run` replaced (for a supervisor run inside another program,
        e.g. a test; the launcher just exits with them in place)."""
        for signum, handler in self._previous_handlers.items():
            signal.signal(signum, handler if handler is not None else signal.SIG_DFL)
        self._previous_handlers.clear()

    # ------------------------------------------------------------------ main loop
    def run(self) -> int:
        try:
            return self._run()
        finally:
            for signum in FORWARDED:
                self._previous_handlers.setdefault(signum, signal.getsignal(signum))
                signal.signal(signum, signal.SIG_IGN)

    def _run(self) -> int:
        argv = list(self.options.argv)
        restarting = False
        for signum in FORWARDED:   # kept until the supervisor exits (see the module docstring)
            self._previous_handlers.setdefault(signum, signal.signal(signum, self._forward))
        while True:
            self.child = self._launch(argv, restarting)
            _import_reporting()
            status = self._wait(self.child)
            exit_time = time.time()
            child, self.child = self.child, None
            try:
                outcome = self._judge(child, status, exit_time)
            except Exception:  # the supervisor's own failure must still end with a clear message
                log.exception("could not judge the end of the GUI process (status %s)", status)
                print(f"xestools: the GUI process ended with status {status}; see {self.log_dir / 'supervisor.log'}",
                      file=sys.stderr)
                return EXIT_CRASHED
            if outcome is None:
                return status if status >= 0 else 0
            report, path = outcome
            self.forwarded.clear()
            choice = self._ask(report, path, exit_time)
            log.info("after the crash the user chose: %s", choice)
            if choice == "quit" or self.forwarded:   # a signal while asking means quit
                return EXIT_CRASHED
            argv = _strip_crash_test(argv)
            argv = [a for a in argv if a != "--safe-mode"] + (["--safe-mode"] if choice == "safe" else [])
            restarting = True

    def _judge(self, child: subprocess.Popen, status: int, exit_time: float) -> tuple[dict, Path] | None:
        """None for a clean end; else the report (written now, or found if the child wrote it)."""
        from xestools.runtime import crash_reports, postmortem

        marker = runstate.load_marker(runstate.marker_path(self.run_folder, child.pid), self.log_dir)
        if self._exit_hang is not None and self._exit_hang[0] == child.pid:
            _, report, path = self._exit_hang
            self._exit_hang = None
            if marker is not None:
                postmortem._cleanup(marker, marker.get("fault_file"), self.run_folder, child.pid)
            return report, path
        if status in CHILD_CLEAN_CODES and marker is None:
            return None
        if status < 0 and -status in self.forwarded and -status != signal.SIGKILL:
            # The child died of a signal we forwarded before it could handle it (interpreter start):
            # the user asked it to stop, and it had nothing to save yet. Status 0.
            log.info("the GUI process ended by the forwarded %s", postmortem.signal_name(-status))
            if marker is not None:
                postmortem._cleanup(marker, marker.get("fault_file"), self.run_folder, child.pid)
            return None
        if marker is not None:
            report, path = postmortem.report_dead_run(marker, self.crash_folder, exit_status=status,
                                                      exit_time=exit_time, detected_by="supervisor")
            return report, path
        own = [r for r in crash_reports.list_reports(self.crash_folder)
               if (r.get("process") or {}).get("pid") == child.pid]
        if own:
            return own[-1], Path(own[-1]["_path"])
        report = crash_reports.new_report(
            "startup_failure" if status == 3 else "killed",
            f"The GUI process exited with status {status} and left nothing behind",
            process={"pid": child.pid, "role": "gui", "exit_status": status, "detected_by": "supervisor"})
        return report, crash_reports.write_report(report, self.crash_folder)

    # ------------------------------------------------------------------ telling the user
    def _can_ask(self) -> bool:
        if self.options.no_dialog:
            return False
        platform_name = (os.environ.get("QT_QPA_PLATFORM") or "").split(":")[0].lower()
        if platform_name in HEADLESS:
            return False
        from xestools.runtime import qtenv

        try:
            qtenv.check_display()
        except qtenv.NoDisplayError as exc:
            log.info("no crash dialog: %s", exc)
            return False
        return True

    def _ask(self, report: dict, path: Path, exit_time: float) -> str:
        explanation = self._explain(report, exit_time)
        text = f"xestools stopped unexpectedly: {report.get('summary')}.\n\n" + explanation
        print(f"xestools: the GUI process ended abnormally ({report.get('kind')}): {report.get('summary')}\n"
              f"xestools: crash report {report.get('id')}: {path}\n"
              + "".join(f"xestools: {line}\n" for line in explanation.splitlines()), end="", file=sys.stderr,
              flush=True)
        if not self._can_ask():
            return "quit"
        try:
            return _crash_dialog(text, path)
        except Exception:  # no dialog possible: the report is written and printed, so quit
            log.exception("could not show the crash dialog")
            return "quit"

    def _explain(self, report: dict, exit_time: float) -> str:
        """How old the session a restart restores is, and whether this counts towards safe mode."""
        from xestools.session import describe_age, saved_age

        session_file = paths.default_session_file(self.options.session_file)
        age = saved_age(session_file, exit_time)
        lines = [f"Restarting restores your session as last saved {describe_age(age)} before the end."
                 if age is not None else "No session was saved yet: a restart starts with an empty workspace."]
        process = report.get("process") or {}
        if process.get("phase") == "starting":
            lines.append("It happened during start-up; " + (
                "this counts towards safe mode (3 start-up crashes within 6 h)."
                if process.get("counts_towards_safe_mode") else
                "it was stopped from outside (not a crash of xestools), so it does not count towards safe mode."))
        return "\n".join(lines)


def _import_reporting() -> None:
    """Load what judging the GUI process's end needs (the methods import it where they use it) once
    that process is launched, not before: its start need not wait for these imports (0.1–0.2 s)."""
    from xestools import session  # noqa: F401
    from xestools.runtime import crash_reports, postmortem  # noqa: F401


def _crash_dialog(text: str, path: Path) -> str:
    from PySide6.QtWidgets import QApplication, QMessageBox

    app = QApplication.instance() or QApplication(["xestools"])
    box = QMessageBox(QMessageBox.Icon.Critical, "xestools crashed",
                      text + "\n\nA crash report was saved (nothing is sent anywhere):\n" + str(path) +
                      "\n\nSend this file to support if the problem comes back.")
    restore = box.addButton("Restart and restore my session", QMessageBox.ButtonRole.AcceptRole)
    safe = box.addButton("Restart in safe mode", QMessageBox.ButtonRole.ActionRole)
    box.addButton("Quit", QMessageBox.ButtonRole.RejectRole)
    box.setDefaultButton(restore)
    box.exec()
    clicked = box.clickedButton()
    app.processEvents()
    if clicked is restore:
        return "restore"
    if clicked is safe:
        return "safe"
    return "quit"


def run_supervisor(options: RuntimeOptions) -> int:
    try:
        supervisor = Supervisor(options)
    except OSError as exc:   # e.g. no safe log folder: one line, status 2 (docs/runtime.md)
        print(f"xestools: no safe folder for logs and crash reports: {exc}", file=sys.stderr)
        return 2
    return supervisor.run()
