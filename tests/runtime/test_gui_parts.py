"""The Qt parts of the runtime: error message, crash dialog + restart, autosave and restore."""
from __future__ import annotations

import json
import os
import signal
import threading
import time

from PySide6.QtWidgets import QApplication, QMessageBox, QPushButton

from .apprun import PROJECT_ROOT, app_env, console, finish, make_dirs, start, wait_for, wait_ready
from xestools.runtime import qt_runtime, supervisor
from xestools.runtime.options import parse_options

SAMPLE = PROJECT_ROOT / "data_samples" / "990101_1.nxs"


def test_error_message_is_non_modal_with_details_and_report_folder(qtbot, tmp_path):
    presenter = qt_runtime.ErrorPresenter(tmp_path / "crash_reports")
    try:
        raise ValueError("cut width must be positive")
    except ValueError as exc:
        presenter.present_exception(exc, "CutTable.apply")
    qtbot.waitUntil(lambda: any(isinstance(w, QMessageBox) and w.isVisible() for w in QApplication.topLevelWidgets()))
    box = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible())
    assert not box.isModal()
    assert "cut width must be positive" in box.text() and "CutTable.apply" in box.text()
    assert "Traceback" in box.detailedText()
    assert any(b.text() == "Open report folder" for b in box.findChildren(QPushButton))
    box.grab().save(str(tmp_path / "error_message.png"))
    presenter.close_all()
    for _ in range(50):                       # the same error again and again: not shown again
        try:
            raise ValueError("cut width must be positive")
        except ValueError as exc:
            presenter.present_exception(exc, "CutTable.apply")
    qtbot.wait(100)
    assert not any(isinstance(w, QMessageBox) and w.isVisible() for w in QApplication.topLevelWidgets())


def test_crash_dialog_offers_three_choices(qapp, tmp_path):
    seen = {}

    def answer():
        box = QApplication.activeModalWidget()
        seen["buttons"] = [b.text() for b in box.buttons()]
        seen["text"] = box.text()
        box.grab().save(str(tmp_path / "crash_dialog.png"))
        next(b for b in box.buttons() if b.text() == "Restart in safe mode").click()

    from PySide6.QtCore import QTimer

    QTimer.singleShot(200, answer)
    choice = supervisor._crash_dialog("xestools stopped unexpectedly: it crashed.", tmp_path / "r.json")
    assert choice == "safe"
    assert sorted(seen["buttons"]) == ["Quit", "Restart and restore my session", "Restart in safe mode"]
    assert "r.json" in seen["text"] and "nothing is sent" in seen["text"]


def test_supervisor_restarts_in_safe_mode_after_the_users_choice(tmp_path, monkeypatch):
    dirs = make_dirs(tmp_path)
    for key, value in app_env(dirs).items():
        monkeypatch.setenv(key, value)
    monkeypatch.setattr(supervisor.Supervisor, "_can_ask", lambda self: True)
    answers = []

    def fake_dialog(text, path):
        answers.append((text, path))
        return "safe"

    monkeypatch.setattr(supervisor, "_crash_dialog", fake_dialog)

    def stop_restarted_child():
        marker = wait_for(lambda: next((m for m in dirs.markers() if m.get("phase") == "running"
                                        and m.get("safe_mode")), None), 60, what="the restarted GUI")
        os.kill(marker["pid"], signal.SIGTERM)

    stopper = threading.Thread(target=stop_restarted_child, daemon=True)
    stopper.start()
    argv = ["--crash-test", "abort", "--quit-after", "30"]
    sup = supervisor.Supervisor(parse_options(argv))
    try:
        status = sup.run()
    finally:
        sup.restore_signals()          # it ignores shutdown signals once done: give pytest its own back
    stopper.join(10)
    assert status == 0
    assert len(answers) == 1 and "aborted" in answers[0][0]
    assert [r["kind"] for r in dirs.reports()] == ["abort"]
    assert "safe mode on (requested)" in dirs.all_log_text()


def test_autosave_when_changed_and_restore_at_next_start(tmp_path):
    dirs = make_dirs(tmp_path)
    env = app_env(dirs, XESTOOLS_AUTOSAVE_SECONDS="0.2", XESTOOLS_MEMORY_WARN_MB="1")
    process = start(dirs, "--single-process", env=env)
    wait_ready(dirs, process)
    time.sleep(0.8)
    assert not dirs.session_file.exists(), "nothing changed, nothing saved"
    os.kill(process.pid, signal.SIGTERM)
    assert finish(process) == 0
    first = dirs.session_file.read_text()                 # saved at the orderly exit

    process = start(dirs, "--single-process", str(SAMPLE), env=env)
    wait_ready(dirs, process)
    wait_for(lambda: dirs.session_file.exists() and SAMPLE.name in dirs.session_file.read_text(), 30,
             what="the autosave after opening a file")
    assert process.poll() is None, "autosaved while running"
    marker = wait_for(lambda: next((m for m in dirs.markers() if m.get("open_files")), None), 10,
                      what="open files in the run marker")
    assert marker["open_files"] == [SAMPLE.name]
    os.kill(process.pid, signal.SIGTERM)
    assert finish(process) == 0
    from xestools.session import decode

    backup_text = dirs.session_file.with_name("session.json.bak").read_text()
    assert "main_window" in decode(backup_text), "the previous good copy is kept"
    assert backup_text != dirs.session_file.read_text()
    assert json.loads(first)["state"]["main_window"]["files"] == [], "the first run had nothing open"
    assert "xestools is using" in dirs.all_log_text(), "memory warning above XESTOOLS_MEMORY_WARN_MB"

    for log in dirs.main_logs():
        log.unlink()
    process = start(dirs, "--single-process", "--quit-after", "1", env=env)
    assert finish(process) == 0, console(process)
    assert "session restored from the session (1 files)" in dirs.all_log_text()
    process = start(dirs, "--single-process", "--quit-after", "0", "--no-restore", env=env)
    assert finish(process) == 0
    assert "session not restored (--no-restore)" in dirs.all_log_text()


CLOSE_DRIVER = """
import sys
from xestools.app import window_factory
from xestools.runtime.gui_process import run_gui
from xestools.runtime.options import parse_options

def after_start(runtime):
    from PySide6.QtCore import QTimer
    def close_when_loaded():
        if runtime.window.is_loading:
            QTimer.singleShot(100, close_when_loaded)
        else:
            runtime.window.close()          # the user closes the main window
    QTimer.singleShot(300, close_when_loaded)

sys.exit(run_gui(parse_options(["--single-process", sys.argv[1]]), window_factory(), after_start=after_start))
"""


def test_closing_the_main_window_saves_the_full_session_first(tmp_path):
    import subprocess
    import sys

    dirs = make_dirs(tmp_path)
    done = subprocess.run([sys.executable, "-c", CLOSE_DRIVER, str(SAMPLE)], env=app_env(dirs),
                          cwd=str(PROJECT_ROOT), capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    state = json.loads(dirs.session_file.read_text())["state"]["main_window"]
    assert [os.path.basename(f["path"]) for f in state["files"]] == [SAMPLE.name]
    # Saved after the window's closeEvent, the per-file state (channel, cuts) and the current file
    # would be gone: the panels have shut down by then.
    assert "channel" in state["files"][0] and "cuts" in state["files"][0]
    assert state["rxes"]["current"] and os.path.basename(state["rxes"]["current"]) == SAMPLE.name
    assert not dirs.reports() and not dirs.markers()


def test_second_launch_dialog_offers_hand_over_separate_window_or_cancel(qapp, tmp_path):
    from PySide6.QtCore import QTimer

    from xestools.runtime import instance

    for label, expected in (("Open the files there", "hand-over"), ("Open a separate window (own session)",
                                                                     "separate"), ("Cancel", "cancel")):
        seen = {}

        def answer(label=label):
            box = QApplication.activeModalWidget()
            seen["buttons"] = sorted(b.text() for b in box.buttons())
            seen["text"] = box.text()
            next(b for b in box.buttons() if b.text() == label).click()

        QTimer.singleShot(200, answer)
        assert instance.ask_user(4242, [str(tmp_path / "scan_1.nxs")]) == expected
        assert seen["buttons"] == sorted(["Open the files there", "Open a separate window (own session)", "Cancel"])
        assert "already running (process 4242)" in seen["text"] and "scan_1.nxs" in seen["text"]


def test_quitting_after_the_user_closed_an_error_message_reports_nothing(qtbot, tmp_path):
    """A message box closed by the user deletes itself; quitting then must not touch its wrapper
    ("QMessageBox already deleted" made a false crash report)."""
    from PySide6.QtCore import QCoreApplication, QEvent

    presenter = qt_runtime.ErrorPresenter(tmp_path / "crash_reports")
    presenter.message("error", "xestools", "the file could not be read")
    qtbot.waitUntil(lambda: any(isinstance(w, QMessageBox) and w.isVisible() for w in QApplication.topLevelWidgets()))
    box = next(w for w in QApplication.topLevelWidgets() if isinstance(w, QMessageBox) and w.isVisible())
    box.close()
    QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    qtbot.wait(50)
    presenter.message("warning", "xestools", "another message")  # the list is pruned here too
    qtbot.waitUntil(lambda: any(isinstance(w, QMessageBox) and w.isVisible() for w in QApplication.topLevelWidgets()))
    presenter.close_all()
