"""Long fuzz run of the loaders: prints ``name: value unit`` lines.

Generates ``--cases`` deterministic cases (tests/fuzz/fuzzgen.py: byte flips, truncations and splices
of the real scans, the samples and our exports; crafted HDF5; bad text and encodings) and judges each
in a child process with a per-file limit (tests/fuzz/fuzzrun.py). Findings (hangs, deaths by signal,
exceptions other than XesFormatError, silent garbage) are listed on stderr by file name.

Usage: ``python bench/fuzz.py [--cases 10000] [--seed N] [--real-data DIR] [--batch 200]``
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
for folder in (ROOT, ROOT / "tests" / "fuzz", ROOT / "tests" / "io"):
    sys.path.insert(0, str(folder))

import fuzzgen  # noqa: E402
import fuzzrun  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--batch", type=int, default=200)
    parser.add_argument("--limit", type=float, default=60.0, help="seconds per file before it counts as a hang")
    parser.add_argument("--real-data", default=os.environ.get("XESTOOLS_REAL_DATA", ROOT.parent / "shared" / "data" / "i20"))
    args = parser.parse_args(argv)
    real = Path(args.real_data)
    seeds = fuzzgen.seed_files(ROOT / "data_samples", real if real.is_dir() else None)
    counts: Counter = Counter()
    families: Counter = Counter()
    findings: list = []
    start = time.monotonic()
    for first in range(0, args.cases, args.batch):
        with tempfile.TemporaryDirectory(prefix="xestools-fuzz-") as folder:
            paths = []
            for index in range(first, min(first + args.batch, args.cases)):
                case = fuzzgen.make_case(seeds, args.seed, index)
                families[case.family] += 1
                path = Path(folder) / case.name
                path.write_bytes(case.data)
                paths.append(path)
            report = fuzzrun.run_cases(paths, limit=args.limit)
        counts.update(report.counts)
        findings.extend(report.findings)
    seconds = time.monotonic() - start
    print(f"fuzz_cases: {args.cases} files")
    for family, _ in fuzzgen.FAMILIES:
        print(f"fuzz_family_{family}: {families[family]} files")
    for name in ("ok", "refused", "timeout_refusals", "hang", "died", "bad"):
        print(f"fuzz_{name}: {counts[name]} files")
    print(f"fuzz_seconds: {seconds:.1f} s")
    print(f"fuzz_per_case: {1e3 * seconds / max(args.cases, 1):.1f} ms")
    for name, reason in findings:
        print(f"finding: {name}: {reason}", file=sys.stderr)
    return 1 if findings else 0


if __name__ == "__main__":
    sys.exit(main())
