"""Issue 8 (runtime): planted run markers, symlinks in the bundle, private files, safe-mode counting,
the window factory, --read-timeout and --version. In-process where possible (no GUI needed)."""
from __future__ import annotations

import ast
import json
import os
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from xestools.io import atomic
from xestools.runtime import crash_reports, files, logs, paths, postmortem, runstate

PROJECT_ROOT = Path(__file__).resolve().parents[2]
SECRET = "TOP-SECRET-CONTENT-4711"


def _dead_pid() -> int:
    """The pid of a process that has just ended (not reused within a test)."""
    done = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True,
                          timeout=60)
    return int(done.stdout)


def _next_launch(log_dir: Path) -> list[tuple[dict, Path]]:
    """What a launch does with the run markers it finds (GuiRuntime._detect_previous_crashes)."""
    run_folder = paths.run_dir(log_dir)
    stale = runstate.stale_markers(run_folder, {os.getpid()})
    stale += runstate.orphan_fault_files(log_dir, {str(m.get("fault_file")) for m in stale})
    return [postmortem.report_dead_run(m, paths.crash_dir(log_dir), detected_by="next launch") for m in stale]


def _outside_files(tmp_path: Path) -> dict[str, Path]:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    secret = outside / "secret.txt"
    secret.write_text("Fatal Python error: Segmentation fault\n" + SECRET + "\n")
    victim = outside / "precious.dat"
    victim.write_text("do not rename me\n")
    empty = outside / "empty.dat"
    empty.write_text("")
    return {"secret": secret, "victim": victim, "empty": empty}


def _assert_untouched(outside: dict[str, Path], log_dir: Path) -> None:
    assert outside["victim"].read_text() == "do not rename me\n"
    assert not outside["victim"].with_name("precious.dat.reported").exists()
    assert outside["empty"].exists(), "a planted marker must not make xestools delete a file"
    assert outside["secret"].exists() and not outside["secret"].with_name("secret.txt.reported").exists()
    for report in crash_reports.list_reports(log_dir / "crash_reports"):
        assert SECRET not in json.dumps(report)


def test_planted_marker_naming_files_outside_the_log_folder_touches_nothing(tmp_path):
    log_dir = tmp_path / "logs"
    outside = _outside_files(tmp_path)
    pid = _dead_pid()
    marker = paths.run_dir(log_dir) / f"run-{pid}.json"
    marker.write_text(json.dumps({"pid": pid, "phase": "running", "fault_file": str(outside["secret"]),
                                  "stacks_file": str(outside["empty"]), "log_file": str(outside["secret"])}))
    os.chmod(marker, 0o600)
    _next_launch(log_dir)
    _assert_untouched(outside, log_dir)
    assert not marker.exists(), "the rejected marker is removed from run/"
    # Renaming through a path that leaves the folder is refused as well.
    sneaky = paths.run_dir(log_dir) / f"run-{pid}.json"
    sneaky.write_text(json.dumps({"pid": pid, "fault_file": str(log_dir / ".." / "elsewhere" / "precious.dat")}))
    os.chmod(sneaky, 0o600)
    _next_launch(log_dir)
    _assert_untouched(outside, log_dir)


def test_marker_fields_that_are_symlinks_are_neither_read_nor_renamed(tmp_path):
    log_dir = tmp_path / "logs"
    outside = _outside_files(tmp_path)
    pid = _dead_pid()
    link = log_dir / f"xestools-20260101-000000-{pid}.fault.log"
    paths.run_dir(log_dir)
    link.symlink_to(outside["secret"])
    stacks = log_dir / f"xestools-20260101-000000-{pid}.stacks.log"
    stacks.symlink_to(outside["empty"])
    marker = paths.run_dir(log_dir) / f"run-{pid}.json"
    marker.write_text(json.dumps({"pid": pid, "phase": "running", "fault_file": str(link),
                                  "stacks_file": str(stacks)}))
    os.chmod(marker, 0o600)
    reports = _next_launch(log_dir)
    assert [r["kind"] for r, _ in reports] == ["killed"], "the run is still reported, without the planted dump"
    _assert_untouched(outside, log_dir)
    assert link.is_symlink() and stacks.is_symlink(), "symlinks are left alone"


def test_markers_that_are_not_ours_are_rejected_before_anything_is_read(tmp_path):
    log_dir = tmp_path / "logs"
    run_folder = paths.run_dir(log_dir)
    pid = _dead_pid()
    good = {"pid": pid, "fault_file": str(log_dir / f"xestools-20260101-000000-{pid}.fault.log")}
    cases = {
        "symlink": lambda p: p.symlink_to(tmp_path / "target.json"),
        "writable by others": lambda p: (p.write_text(json.dumps(good)), os.chmod(p, 0o666)),
        "pid mismatch": lambda p: p.write_text(json.dumps(dict(good, pid=pid + 1))),
        "other run's file": lambda p: p.write_text(json.dumps(dict(good, fault_file=str(
            log_dir / "xestools-20260101-000000-1.fault.log")))),
        "not JSON": lambda p: p.write_text("{"),
        "nested JSON": lambda p: p.write_text("[" * 100_000 + "]" * 100_000),
        "nested JSON object": lambda p: p.write_text('{"pid": ' + "[" * 50_000 + "]" * 50_000 + "}"),
    }
    (tmp_path / "target.json").write_text(json.dumps(good))
    for why, plant in cases.items():
        path = run_folder / f"run-{pid}.json"
        plant(path)
        if not path.is_symlink() and why != "writable by others":
            os.chmod(path, 0o600)
        with pytest.raises(runstate.MarkerRejected):
            runstate.validate_marker(path, log_dir)
        assert runstate.stale_markers(run_folder) == [], why
        assert not os.path.lexists(path), why
    files.private_write(run_folder / f"run-{pid}.json", json.dumps(good))
    accepted = runstate.validate_marker(run_folder / f"run-{pid}.json", log_dir)
    assert accepted["fault_file"] == good["fault_file"]


def test_marker_of_another_user_is_rejected(tmp_path):
    if os.getuid() != 0:
        pytest.skip("needs root to give a file to another user")
    log_dir = tmp_path / "logs"
    pid = _dead_pid()
    path = paths.run_dir(log_dir) / f"run-{pid}.json"
    files.private_write(path, json.dumps({"pid": pid}))
    os.chown(path, 12345, 12345)
    with pytest.raises(runstate.MarkerRejected, match="this user"):
        runstate.validate_marker(path, log_dir)


def test_group_writable_log_folder_is_refused_for_the_per_user_folder(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    shared = tmp_path / "shared-logs"
    shared.mkdir()
    os.chmod(shared, 0o775)
    choice = paths.choose_log_dir(shared)
    assert choice.path == tmp_path / "xdg" / "xestools" / "log"
    assert "writable by other users" in choice.note and str(shared) in choice.note
    assert stat.S_IMODE(choice.path.stat().st_mode) == 0o700
    private = tmp_path / "private-logs"
    private.mkdir(mode=0o700)
    assert paths.choose_log_dir(private) == paths.LogFolderChoice(private)
    link = tmp_path / "link-logs"
    link.symlink_to(private)
    assert paths.choose_log_dir(link).path == private, "an explicit symlink is followed to the real folder"
    run = private / "run"
    run.mkdir(mode=0o777)
    os.chmod(run, 0o777)
    assert stat.S_IMODE(paths.run_dir(private).stat().st_mode) == 0o700, "our own run/ is tightened"


def test_without_any_safe_log_folder_the_gui_says_so_in_one_line(tmp_path, monkeypatch):
    if os.getuid() != 0:
        pytest.skip("needs root to give the per-user folder to another user")
    monkeypatch.setenv("XDG_STATE_HOME", str(tmp_path / "xdg"))
    foreign = tmp_path / "xdg" / "xestools" / "log"
    foreign.mkdir(parents=True)
    os.chown(foreign, 12345, 12345)
    shared = tmp_path / "shared"
    shared.mkdir()
    os.chmod(shared, 0o777)
    with pytest.raises(files.UnsafeFolderError, match="belongs to another user"):
        paths.choose_log_dir(shared)
    env = {k: v for k, v in os.environ.items() if not k.startswith("XESTOOLS_")}
    env.update(QT_QPA_PLATFORM="offscreen", PYTHONPATH=str(PROJECT_ROOT), XESTOOLS_LOG_DIR=str(shared),
               XDG_STATE_HOME=str(tmp_path / "xdg"))
    for extra in ([], ["--single-process"]):
        done = subprocess.run([sys.executable, str(PROJECT_ROOT / "main_enhanced.py"), *extra], env=env,
                              capture_output=True, text=True, timeout=120, cwd=str(tmp_path))
        assert done.returncode == 2, done.stderr
        assert "no safe folder for logs" in done.stderr and "Traceback" not in done.stderr
    assert not any(shared.iterdir()), "nothing was written into the refused folder"


def test_bundle_takes_regular_files_of_the_log_folder_only(tmp_path):
    log_dir = tmp_path / "logs"
    crash_folder = paths.crash_dir(log_dir)
    outside = _outside_files(tmp_path)
    (log_dir / "xestools-20260101-000000-42.log").write_text("a real log line\n")
    (log_dir / "xestools-20260101-000000-43.log").symlink_to(outside["secret"])
    (log_dir / "supervisor.log").symlink_to(outside["secret"])
    (crash_folder / "20260101T000000-killed-aaaaaaaaaaaa.json").symlink_to(outside["secret"])
    report = crash_reports.new_report("killed", "a real report")
    crash_reports.write_report(report, crash_folder)
    out = crash_reports.build_bundle(tmp_path / "bundle.zip", log_dir)
    with zipfile.ZipFile(out) as archive:
        names = archive.namelist()
        contents = [archive.read(name).decode("utf-8") for name in names]
        manifest = json.loads(archive.read("manifest.json"))
    assert "logs/xestools-20260101-000000-42.log" in names
    assert sum(name.startswith("crash_reports/") for name in names) == 1
    assert all(SECRET not in text for text in contents)
    assert len(manifest["skipped"]) == 3 and all("symlink" in line for line in manifest["skipped"])
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    # A crash_reports folder that is itself a symlink is not followed.
    (tmp_path / "fake_reports").mkdir()
    (tmp_path / "fake_reports" / "x.json").write_text(json.dumps({"kind": "killed", "summary": SECRET}))
    other = tmp_path / "other_logs"
    other.mkdir()
    (other / "crash_reports").symlink_to(tmp_path / "fake_reports")
    with zipfile.ZipFile(crash_reports.build_bundle(tmp_path / "b2.zip", other)) as archive:
        assert all(SECRET not in archive.read(n).decode() for n in archive.namelist())


def test_logs_reports_markers_and_samples_are_private(tmp_path):
    log_dir = tmp_path / "logs"
    setup = logs.setup_logging(log_dir, "CRITICAL", console=False, main_max_bytes=300, main_backups=2)
    try:
        import logging

        for index in range(20):
            logging.getLogger("xestools.test_private").error("line %d %s", index, "z" * 40)
        setup.flush()
    finally:
        setup.close()
        logging.captureWarnings(False)
    crash_reports.write_report(crash_reports.new_report("killed", "x"), paths.crash_dir(log_dir))
    marker = runstate.RunMarker(paths.run_dir(log_dir))
    marker.update(phase="running")
    runstate.record_startup_crash(paths.run_dir(log_dir))
    from xestools.session import SessionStore

    store = SessionStore(tmp_path / "state" / "session.json")
    store.save({"n": 1})
    store.save({"n": 2})
    written = [p for p in list(log_dir.rglob("*")) + list((tmp_path / "state").rglob("*"))]
    assert any(p.name.endswith(".log.2") for p in written), "rotated files were made"
    assert any(p.name == "session.json.bak" for p in written)
    for path in written:
        expected = 0o700 if path.is_dir() else 0o600
        assert stat.S_IMODE(path.stat().st_mode) == expected, path
    for folder in (log_dir, tmp_path / "state"):
        assert stat.S_IMODE(folder.stat().st_mode) == 0o700


def test_private_modes_follow_a_stricter_umask(monkeypatch):
    monkeypatch.setattr(atomic, "_UMASK", 0o077)
    assert (files.file_mode(), files.folder_mode()) == (0o600, 0o700)
    monkeypatch.setattr(atomic, "_UMASK", 0o277)
    assert (files.file_mode(), files.folder_mode()) == (0o400, 0o500)
    monkeypatch.setattr(atomic, "_UMASK", 0o000)
    assert (files.file_mode(), files.folder_mode()) == (0o600, 0o700), "a loose umask never loosens them"


def test_only_the_programs_own_start_up_crashes_count_towards_safe_mode(tmp_path):
    log_dir = tmp_path / "logs"
    run_folder = paths.run_dir(log_dir)
    crash_folder = paths.crash_dir(log_dir)
    outcomes = {}
    for status in (-9, -15, None, -11, -6, 1):
        pid = _dead_pid()
        marker = runstate.RunMarker(run_folder, pid)
        marker.update(phase="starting")
        loaded = dict(marker.data, _path=str(marker.path))
        before = len(runstate.recent_startup_crashes(run_folder))
        report, _ = postmortem.report_dead_run(loaded, crash_folder, exit_status=status)
        outcomes[status] = len(runstate.recent_startup_crashes(run_folder)) - before
        assert report["process"]["counts_towards_safe_mode"] == bool(outcomes[status])
    assert outcomes == {-9: 0, -15: 0, None: 0, -11: 1, -6: 1, 1: 1}
    assert not runstate.safe_mode_due(run_folder) or len(runstate.recent_startup_crashes(run_folder)) == 3


def test_three_external_kills_during_start_up_do_not_switch_on_safe_mode(tmp_path):
    log_dir = tmp_path / "logs"
    run_folder = paths.run_dir(log_dir)
    for _ in range(3):
        marker = runstate.RunMarker(run_folder, _dead_pid())
        marker.update(phase="starting")
        postmortem.report_dead_run(dict(marker.data, _path=str(marker.path)), paths.crash_dir(log_dir),
                                   exit_status=-9)
    assert not runstate.safe_mode_due(run_folder)


def test_crash_dialog_says_how_old_the_restored_session_is(tmp_path):
    from xestools.runtime import supervisor
    from xestools.runtime.options import parse_options

    session_file = tmp_path / "state" / "session.json"
    session_file.parent.mkdir()
    session_file.write_text("{}")
    saved = time.time() - 125
    os.utime(session_file, (saved, saved))
    sup = supervisor.Supervisor.__new__(supervisor.Supervisor)
    sup.options = parse_options(["--session-file", str(session_file)], environ={})
    text = sup._explain({"process": {"phase": "running"}}, saved + 3.0)
    assert "last saved 3 s before the end" in text
    text = sup._explain({"process": {"phase": "starting", "counts_towards_safe_mode": False}}, saved + 125)
    assert "2 min 5 s" in text and "does not count towards safe mode" in text
    session_file.unlink()
    assert "No session was saved yet" in sup._explain({"process": {}}, time.time())


def test_runtime_never_imports_gui():
    runtime_dir = PROJECT_ROOT / "xestools" / "runtime"
    offenders = []
    for source in sorted(runtime_dir.glob("*.py")):
        for node in ast.walk(ast.parse(source.read_text(encoding="utf-8"))):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else \
                [node.module or ""] if isinstance(node, ast.ImportFrom) else []
            offenders += [f"{source.name}: {n}" for n in names if n.startswith("xestools.gui")]
    assert not offenders, offenders
    from xestools.app import window_factory

    factory = window_factory()
    assert callable(factory.create) and callable(factory.wait_for_workers)


def test_read_timeout_switch_reaches_the_environment(monkeypatch):
    from xestools import app
    from xestools.runtime import gui_process, options

    seen = {}

    def fake_run_gui(parsed, factory):
        seen["env"] = os.environ.get("XESTOOLS_READ_TIMEOUT")
        seen["option"] = parsed.read_timeout
        return 0

    monkeypatch.setattr(gui_process, "run_gui", fake_run_gui)
    monkeypatch.delenv("XESTOOLS_READ_TIMEOUT", raising=False)
    assert app.main(["--single-process", "--read-timeout", "2.5"]) == 0
    assert seen == {"env": "2.5", "option": 2.5}
    monkeypatch.setenv("XESTOOLS_READ_TIMEOUT", "7")
    assert app.main(["--single-process"]) == 0
    assert seen == {"env": "7", "option": 7.0}
    monkeypatch.delenv("XESTOOLS_READ_TIMEOUT")
    assert app.main(["--single-process"]) == 0 and seen["env"] == "10"
    for bad in ("0", "-1", "nan"):
        with pytest.raises(SystemExit):
            options.parse_options(["--read-timeout", bad], environ={})


@pytest.mark.parametrize("launcher", [["main_enhanced.py"], ["-m", "xestools.app"]])
def test_version_switch(launcher):
    import xestools

    env = dict(os.environ, PYTHONPATH=str(PROJECT_ROOT))
    done = subprocess.run([sys.executable, *launcher, "--version"], capture_output=True, text=True,
                          cwd=str(PROJECT_ROOT), env=env, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == f"xestools {xestools.__version__}"
    assert "PySide6" not in done.stderr


def test_a_nested_json_run_marker_does_not_stop_the_next_launch(tmp_path):
    """A run marker of 100,000 nested brackets crashed every launch (RecursionError), safe mode too."""
    from . import apprun

    dirs = apprun.make_dirs(tmp_path)
    run_folder = paths.run_dir(dirs.log_dir)
    marker = run_folder / f"run-{_dead_pid()}.json"
    marker.write_text("[" * 100_000 + "]" * 100_000)
    os.chmod(marker, 0o600)
    for mode in ((), ("--safe-mode",)):
        process = apprun.start(dirs, "--single-process", *mode)
        apprun.wait_ready(dirs, process)
        process.terminate()
        assert apprun.finish(process) in (0, 4), apprun.console(process)
        assert not marker.exists(), "the damaged marker is removed"
        assert not [r for r in dirs.reports() if "RecursionError" in json.dumps(r)]
        marker.write_text("{" * 100_000)
        os.chmod(marker, 0o600)
