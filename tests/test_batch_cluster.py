"""``xestools batch --scheduler``: the Dask path writes what the process pool writes, byte for byte."""
from __future__ import annotations

import sys
from pathlib import Path

import pytest

from test_batch import CUT, GOOD, run_cli, summary, write_recipe

pytest.importorskip("distributed")

#: the one line a writer puts in that depends on the clock, not on the data
CLOCK_LINE = b"# xestools.written:"


def written_files(folder: Path) -> dict[str, bytes]:
    """Every output of a batch folder, the write-time line left out, the folder's own name made neutral."""
    files = {}
    for path in sorted(folder.iterdir()):
        lines = [line for line in path.read_bytes().split(b"\n") if not line.startswith(CLOCK_LINE)]
        files[path.name] = b"\n".join(lines).replace(str(folder).encode(), b"OUT")
    return files


def test_cluster_outputs_equal_the_pool_and_a_failing_file_is_reported(tmp_path, real_file, samples_dir, capsys):
    broken = tmp_path / "281000_1.nxs"
    broken.write_bytes(real_file("279517_1.nxs").read_bytes()[:5000])          # a truncated copy
    inputs = [real_file(name) for name in GOOD] + sorted(samples_dir.glob("*.nxs"))[:3] + [broken]
    recipe = write_recipe(tmp_path / "recipe.json", cuts=[CUT], metrics={}, average={})
    runs = {}
    for name, option in (("pool", ["--jobs", 2]), ("cluster", ["--scheduler", "local:2"])):
        status, _stdout, stderr = run_cli(capsys, "batch", *inputs, "--recipe", recipe, "-o", tmp_path / name,
                                          *option)
        runs[name] = status, stderr
    pool, cluster = written_files(tmp_path / "pool"), written_files(tmp_path / "cluster")
    assert len(pool) > len(GOOD) and pool == cluster
    assert runs["pool"][0] == runs["cluster"][0] == 2
    for _status, stderr in runs.values():
        assert stderr.split("failed:")[-1].strip().startswith("281000_1.nxs")
    assert "xestools batch: [1/" in runs["cluster"][1]           # progress on stderr, as with the pool
    rows = summary(tmp_path / "cluster" / "summary.csv")
    assert [row["status"] for row in rows].count("failed") == 1


def test_a_lost_worker_is_retried_and_the_summary_says_so(tmp_path, real_data, real_file, capsys, monkeypatch):
    """The damaged file makes libhdf5 spin: the time limit ends its worker, Dask runs it on another
    worker, which ends too; the file is reported as lost, the summary says a worker was lost running it."""
    import dask

    damaged = real_data.parent / "damaged" / "corrupt_export_hangs_hdf5.nxs"
    if not damaged.is_file():
        pytest.skip(f"damaged sample {damaged} not found")
    monkeypatch.setenv("XESTOOLS_READ_TIMEOUT", "300")  # the batch limit (8 s), not the reader's, must end the read
    recipe = write_recipe(tmp_path / "r.json")
    out = tmp_path / "out"
    with dask.config.set({"distributed.scheduler.allowed-failures": 1}):
        status, _stdout, stderr = run_cli(capsys, "batch", real_file("280772_1.nxs"), damaged, "--recipe", recipe,
                                          "-o", out, "--scheduler", "local:2", "--timeout", 8)
    assert status == 2
    assert (out / "280772_1.csv").is_file()
    rows = {row["input"]: row for row in summary(out / "summary.csv")}
    assert rows["280772_1.nxs"]["status"] == "ok" and "retried" not in rows["280772_1.nxs"]["notes"]
    lost = rows["corrupt_export_hangs_hdf5.nxs"]
    assert lost["status"] == "failed" and "worker process ended" in lost["notes"]
    assert "retried: 2 cluster workers lost while running it" in lost["notes"]
    assert "ran again on another worker" in stderr and "corrupt_export_hangs_hdf5.nxs" in stderr.split("failed:")[-1]


def test_without_distributed_one_line_names_the_install_command(tmp_path, real_file, capsys, monkeypatch):
    monkeypatch.setitem(sys.modules, "distributed", None)       # import distributed -> ImportError
    recipe = write_recipe(tmp_path / "r.json")
    status, _stdout, stderr = run_cli(capsys, "batch", real_file("280772_1.nxs"), "--recipe", recipe,
                                      "-o", tmp_path / "out", "--scheduler", "local:2")
    assert status == 2
    assert stderr.strip().count("\n") == 0 and "pip install 'xestools[cluster]'" in stderr


@pytest.mark.parametrize("address", ["local:0", "local:two", " "])
def test_a_bad_scheduler_address_is_one_line(tmp_path, real_file, capsys, address):
    recipe = write_recipe(tmp_path / "r.json")
    status, _stdout, stderr = run_cli(capsys, "batch", real_file("280772_1.nxs"), "--recipe", recipe,
                                      "-o", tmp_path / "out", "--scheduler", address)
    assert status == 2 and stderr.strip().count("\n") == 0 and "--scheduler" in stderr
