"""The state files and messages xestools reads back, fuzzed: sessions, run markers, settings, hand-over
messages and recipes. A damaged one is accepted or refused by its reader, never a crash, a hang or a
foreign exception (issue 17: such files stopped the program from starting)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import fuzzstate

SEED = 20261207
CASES_PER_KIND = 60
#: generous for ~300 cases on a loaded 2-core machine; a hang shows as the case where the answers stop
LIMIT_S = 600


def _case_path(folder: Path, kind: str, index: int) -> Path:
    home = folder / f"{kind}-{index}"
    if kind == "marker":
        home = home / "logs" / "run"
        return home / "run-424242.json"
    return home / {"session": "session.json", "settings": "settings.ini", "handover": "message.json",
                   "recipe": "recipe.json"}[kind]


def _write_cases(folder: Path) -> list[tuple[str, Path]]:
    seeds = fuzzstate.seeds()
    cases = []
    for kind in fuzzstate.KINDS:
        for index in range(CASES_PER_KIND):
            path = _case_path(folder, kind, index)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(fuzzstate.make_case(kind, seeds[kind], SEED, index))
            os.chmod(path, 0o600)
            cases.append((kind, path))
    return cases


def test_generator_is_deterministic():
    seeds = fuzzstate.seeds()
    for kind in fuzzstate.KINDS:
        assert fuzzstate.make_case(kind, seeds[kind], SEED, 3) == fuzzstate.make_case(kind, seeds[kind], SEED, 3)


def test_state_files_and_messages_are_accepted_or_refused_never_a_crash(tmp_path):
    cases = _write_cases(tmp_path)
    env = dict(os.environ, PYTHONPATH=str(fuzzstate.ROOT), QT_QPA_PLATFORM="offscreen",
               XDG_CONFIG_HOME=str(tmp_path / "config"), XDG_STATE_HOME=str(tmp_path / "state"))
    stdin = "".join(f"{kind}\t{path}\n" for kind, path in cases)
    try:
        done = subprocess.run([sys.executable, fuzzstate.__file__], input=stdin, env=env, capture_output=True,
                              text=True, timeout=LIMIT_S)
    except subprocess.TimeoutExpired as stop:
        answered = (stop.stdout or b"").count(b"\n") if isinstance(stop.stdout, bytes) else (stop.stdout or "").count("\n")
        raise AssertionError(f"no answer within {LIMIT_S} s: a hang at {cases[answered]}") from None
    answers = [json.loads(line) for line in done.stdout.splitlines()]
    assert done.returncode == 0 and len(answers) == len(cases), \
        f"the reader died (status {done.returncode}) at {cases[len(answers)] if len(answers) < len(cases) else '?'}: " \
        f"{done.stderr[-2000:]}"
    bad = [(kind, path.name, answer) for (kind, path), answer in zip(cases, answers) if answer["outcome"] == "bad"]
    assert not bad, bad[:10]
    for kind in fuzzstate.KINDS:
        outcomes = {answer["outcome"] for (k, _), answer in zip(cases, answers) if k == kind}
        assert "refused" in outcomes, f"no {kind} case was refused: the cases do not exercise the reader"
