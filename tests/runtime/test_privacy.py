"""With a fake home folder, user name and host name, no report or bundle contains any of them."""
from __future__ import annotations

import subprocess
import sys
import zipfile

from .apprun import app_env, console, finish, make_dirs, start, wait_for, wait_ready

FAKE_USER = "fakeuser-q7z"
FAKE_HOST = "fakehost-k3w"

SITECUSTOMIZE = f'''
import platform, socket
socket.gethostname = lambda: "{FAKE_HOST}"
socket.getfqdn = lambda name="": "{FAKE_HOST}.example.org"
platform.node = lambda: "{FAKE_HOST}"
'''


def test_reports_and_bundle_are_scrubbed(tmp_path):
    home = tmp_path / "home" / FAKE_USER
    home.mkdir(parents=True)
    dirs = make_dirs(tmp_path)
    dirs.log_dir = home / f"{FAKE_HOST}-logs"          # every logged path names the home, user and host
    dirs.session_file = home / ".state" / "session.json"
    patch_dir = tmp_path / "patch"
    patch_dir.mkdir()
    (patch_dir / "sitecustomize.py").write_text(SITECUSTOMIZE, encoding="utf-8")
    env = app_env(dirs, HOME=str(home), USER=FAKE_USER, LOGNAME=FAKE_USER)
    env["PYTHONPATH"] = str(patch_dir) + ":" + env["PYTHONPATH"]
    data_file = home / "beamtime" / f"{FAKE_HOST}_{FAKE_USER}_scan.dat"

    # A native crash reported by the supervisor, with a file named after the user on the command line.
    process = start(dirs, "--crash-test", "segfault", "--no-dialog", str(data_file), env=env)
    assert finish(process) != 0
    # An exception reported by the GUI process itself.
    process = start(dirs, "--single-process", "--crash-test", "exception", str(data_file), env=env)
    wait_ready(dirs, process)
    wait_for(lambda: len(dirs.reports()) == 2, 30, what="the second report")
    process.terminate()
    assert finish(process) == 0, console(process)

    reports = dirs.reports()
    assert sorted(r["kind"] for r in reports) == ["exception", "native_crash"]
    texts = [open(r["_path"], encoding="utf-8").read() for r in reports]
    bundle = tmp_path / "bundle.zip"     # built as the (fake) user would, in their environment
    subprocess.run([sys.executable, "-c", "import sys; from xestools.runtime.crash_reports import build_bundle; "
                    "build_bundle(sys.argv[1], sys.argv[2])", str(bundle), str(dirs.log_dir)],
                   env=env, check=True, timeout=60)
    with zipfile.ZipFile(bundle) as archive:
        names = archive.namelist()
        texts += [archive.read(name).decode("utf-8") for name in names]
    assert any(name.startswith("logs/") for name in names) and any(name.startswith("crash_reports/") for name in names)
    for text in texts:
        for secret in (FAKE_USER, FAKE_HOST, str(home), str(tmp_path)):
            assert secret not in text
    joined = "\n".join(texts)
    # The identifying strings were there and were replaced, not merely absent.
    assert "<host>" in joined and "<user>" in joined and "~/" in joined
