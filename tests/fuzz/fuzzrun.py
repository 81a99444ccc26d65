"""Run the loaders on fuzz cases in a child process with a time limit per file, and judge the outcome.

The child (``python fuzzrun.py``) reads one path per line on stdin and answers one JSON line per path:
what ``detect`` and ``load`` did, and any silent garbage in what was loaded. The parent feeds it,
waits for each answer with a limit, and restarts it after a hang or a death by signal, so one bad
case is recorded and the run goes on.
"""
from __future__ import annotations

import json
import os
import select
import subprocess
import sys
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
#: XESTOOLS_READ_TIMEOUT inside the child: the loaders' own bound for one read
READ_TIMEOUT = 3.0


def silent_garbage(obj) -> str | None:
    """What is wrong with a loaded object that carries no warning about it (None when it is sound)."""
    import numpy as np

    from xestools.model import RXESMap, Spectrum

    warned = bool(obj.metadata.get("warnings"))
    if isinstance(obj, Spectrum):
        if len(obj) < 2:
            return "a spectrum of fewer than 2 points"
        if not np.isfinite(obj.energy).all():
            return "non-finite energy"
        if np.isinf(obj.intensity).any():
            return "infinite intensity"
        if not warned and np.isnan(obj.intensity).any():
            return "NaN intensity without a warning"
        steps = np.diff(obj.energy)
        if not warned and not ((steps > 0).all() or (steps < 0).all()):
            return "unordered or repeated energies without a warning"
        return None
    if isinstance(obj, RXESMap):
        if min(obj.shape) < 2:
            return f"a {obj.shape} map"
        for axis in (obj.incident_axis, obj.emission_axis):
            if not np.isfinite(axis).all() or (np.diff(axis) < 0).any():
                return "a map axis that is not finite and ascending"
        if not (np.isfinite(obj.incident).all() and np.isfinite(obj.emission).all()):
            return "non-finite point coordinates"
        if not np.isfinite(obj.intensity[obj.mask]).all():
            return "non-finite intensity where not masked"
        if not warned and not obj.mask.all():
            return "masked points without a warning"
        if not obj.mask.any():
            return "a map with no measured point"
        return None
    return f"unexpected object {type(obj).__name__}"


def judge(path: str) -> dict:
    """Outcome of detect + load on one file: "ok", "refused" or "bad" (with the reason)."""
    from xestools.io import XesFormatError, detect, load

    result: dict = {"path": path, "outcome": "ok", "timeouts": 0}
    for call in (detect, load):
        try:
            value = call(path)
        except XesFormatError as error:
            result["outcome"] = "refused" if result["outcome"] == "ok" else result["outcome"]
            result["timeouts"] += "took more than" in str(error)
            if os.path.basename(path) not in str(error):
                result.update(outcome="bad", reason=f"message does not name the file: {error}")
            continue
        except BaseException as error:  # the point of the fuzz run: anything but XesFormatError is a finding
            result.update(outcome="bad", reason=f"{call.__name__} raised {type(error).__name__}: {error}"[:500])
            continue
        if call is load:
            for obj in value:
                problem = silent_garbage(obj)
                if problem:
                    result.update(outcome="bad", reason=f"silent garbage: {problem}")
    return result


def child_main() -> int:
    for line in sys.stdin:
        path = line.rstrip("\n")
        if path:
            print(json.dumps(judge(path)), flush=True)
    return 0


@dataclass
class Report:
    """Counts per outcome and the findings (hangs, signals, bad outcomes) with their file names."""

    counts: Counter = field(default_factory=Counter)
    findings: list = field(default_factory=list)
    seconds: float = 0.0


class _Child:
    def __init__(self) -> None:
        env = dict(os.environ, XESTOOLS_READ_TIMEOUT=str(READ_TIMEOUT))
        env["PYTHONPATH"] = os.pathsep.join([str(ROOT), env.get("PYTHONPATH", "")])
        self.process = subprocess.Popen([sys.executable, __file__], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.DEVNULL, env=env, text=True, bufsize=1)

    def ask(self, path: str, limit: float) -> dict | str:
        """The child's answer for ``path``, "hang" after ``limit`` s, or "signal N"/"exit N" when it died."""
        try:
            self.process.stdin.write(path + "\n")
            self.process.stdin.flush()
        except BrokenPipeError:
            return self._death()
        ready, _, _ = select.select([self.process.stdout], [], [], limit)
        if not ready:
            return "hang"
        line = self.process.stdout.readline()
        return json.loads(line) if line else self._death()

    def _death(self) -> str:
        code = self.process.wait(timeout=60)
        return f"signal {-code}" if code < 0 else f"exit {code}"

    def end(self) -> None:
        """Kill by PID and reap; the child's reader processes die with it."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait(timeout=60)
        for stream in (self.process.stdin, self.process.stdout):
            stream.close()


def run_cases(paths: list[Path], *, limit: float = 60.0) -> Report:
    """Judge every file in a child process; ``limit`` is the per-file bound before it counts as a hang."""
    report = Report()
    start = time.monotonic()
    child = _Child()
    try:
        for path in paths:
            answer = child.ask(str(path), limit)
            if isinstance(answer, dict):
                report.counts[answer["outcome"]] += 1
                report.counts["timeout_refusals"] += answer["timeouts"]
                if answer["outcome"] == "bad":
                    report.findings.append((path.name, answer["reason"]))
                continue
            report.counts["hang" if answer == "hang" else "died"] += 1
            report.findings.append((path.name, answer))
            child.end()
            child = _Child()
    finally:
        child.end()
    report.seconds = time.monotonic() - start
    return report


if __name__ == "__main__":
    sys.exit(child_main())
