"""What a user installs: the sdist and the wheel built from it (``python -m build``), their metadata,
contents and entry points, and the version defined in one place."""
from __future__ import annotations

import ast
import email.parser
import re
import subprocess
import sys
import tarfile
import zipfile
from pathlib import Path

import pytest

PROJECT_ROOT = Path(__file__).resolve().parents[1]


def source_version() -> str:
    """``__version__`` read from the source text, without importing xestools."""
    tree = ast.parse((PROJECT_ROOT / "xestools" / "__init__.py").read_text(encoding="utf-8"))
    for node in tree.body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", "") == "__version__":
            return node.value.value
    raise AssertionError("no __version__ in xestools/__init__.py")


@pytest.fixture(scope="module")
def built(tmp_path_factory) -> dict[str, Path]:
    """sdist and wheel as ``python -m build`` makes them (the wheel is built from the sdist)."""
    pytest.importorskip("build", reason="the 'build' package is in the test extra: pip install -e '.[test]'")
    out = tmp_path_factory.mktemp("dist")
    done = subprocess.run([sys.executable, "-m", "build", "--outdir", str(out), str(PROJECT_ROOT)],
                          capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "SetuptoolsDeprecationWarning" not in done.stdout + done.stderr
    (sdist,) = out.glob("xestools-*.tar.gz")
    (wheel,) = out.glob("xestools-*.whl")
    return {"sdist": sdist, "wheel": wheel}


def wheel_metadata(wheel: Path):
    with zipfile.ZipFile(wheel) as archive:
        name = next(n for n in archive.namelist() if n.endswith(".dist-info/METADATA"))
        return email.parser.Parser().parsestr(archive.read(name).decode("utf-8"))


def test_version_is_defined_once():
    version = source_version()
    tomllib = pytest.importorskip("tomllib", reason="tomllib is in the standard library from Python 3.11")
    pyproject = tomllib.loads((PROJECT_ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in pyproject["project"] and "version" in pyproject["project"]["dynamic"]
    assert pyproject["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "xestools.__version__"}
    assert pyproject["project"]["license"] == "MIT" and pyproject["project"]["license-files"] == ["LICENSE"]
    for path in (PROJECT_ROOT / "xestools").rglob("*.py"):
        if path.name != "__init__.py" or path.parent.name != "xestools":
            assert f'"{version}"' not in path.read_text(encoding="utf-8"), path
    changelog = (PROJECT_ROOT / "CHANGELOG.md").read_text(encoding="utf-8")
    assert re.search(rf"^## {re.escape(version.split('.dev')[0])}\b", changelog, re.M), "no CHANGELOG entry"


def test_wheel_metadata(built):
    metadata = wheel_metadata(built["wheel"])
    assert metadata["Name"] == "xestools"
    assert metadata["Version"] == source_version()
    assert metadata["License-Expression"] == "MIT"
    assert metadata.get_all("License-File") == ["LICENSE"]
    assert metadata["Author"]
    assert metadata.get_all("Project-URL")
    classifiers = metadata.get_all("Classifier")
    assert "Intended Audience :: Science/Research" in classifiers
    assert not [c for c in classifiers if c.startswith("License ::")]  # the SPDX expression replaces them
    requires = " ".join(metadata.get_all("Requires-Dist"))
    for dependency in ("PySide6-Essentials", "matplotlib", "numpy", "h5py", "platformdirs", "shtab"):
        assert dependency in requires


def test_wheel_contents_and_entry_points(built):
    with zipfile.ZipFile(built["wheel"]) as archive:
        names = archive.namelist()
        entry_points = archive.read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    top = {name.split("/")[0] for name in names}
    assert top == {"xestools", f"xestools-{source_version()}.dist-info"}, top  # no data_samples/, tests/
    for module in ("xestools/__main__.py", "xestools/cli.py", "xestools/samples.py", "xestools/scanfiles.py"):
        assert module in names
    assert any(n.endswith(".dist-info/licenses/LICENSE") for n in names)
    assert "xestools = xestools.requirements:cli_main" in entry_points
    assert "xestools-gui = xestools.app:main" in entry_points


def test_sdist_carries_tests_docs_and_licence(built):
    with tarfile.open(built["sdist"]) as archive:
        names = {name.split("/", 1)[1] for name in archive.getnames() if "/" in name}
    required = {"LICENSE", "README.md", "CHANGELOG.md", "pyproject.toml", "main_enhanced.py", ".ci/run"}
    required |= {str(p.relative_to(PROJECT_ROOT)) for p in (PROJECT_ROOT / "docs").glob("*.md")}
    required |= {str(p.relative_to(PROJECT_ROOT)) for p in (PROJECT_ROOT / "tests").rglob("*.py")}
    required |= {f"data_samples/{p.name}" for p in (PROJECT_ROOT / "data_samples").iterdir()}
    assert not required - names, sorted(required - names)
    assert not [n for n in names if "__pycache__" in n or n.endswith(".pyc")]


def _ci_with_fake_python(tmp_path: Path, pytest_status: int) -> subprocess.CompletedProcess:
    """Run .ci/run with a ``python`` on PATH that succeeds at everything but returns ``pytest_status``
    for pytest and builds no wheel, so the wheel smoke test has nothing to install."""
    shim = tmp_path / "bin"
    shim.mkdir()
    (shim / "python").write_text(f'#!/bin/sh\ncase "$*" in *pytest*) exit {pytest_status};; esac\nexit 0\n')
    (shim / "python").chmod(0o755)
    env = {"PATH": f"{shim}:/usr/bin:/bin", "HOME": str(tmp_path), "TMPDIR": str(tmp_path)}
    return subprocess.run(["bash", str(PROJECT_ROOT / ".ci" / "run")], capture_output=True, text=True,
                          env=env, timeout=300)


def test_ci_fails_when_pytest_collects_nothing(tmp_path):
    done = _ci_with_fake_python(tmp_path, 5)
    assert done.returncode != 0
    assert "collected no tests" in done.stderr


def test_ci_fails_when_the_wheel_smoke_test_fails(tmp_path):
    done = _ci_with_fake_python(tmp_path, 0)
    assert done.returncode != 0
    assert "CI wheel: failed" in done.stderr
    assert "CI: tests" in done.stdout  # the timing line is printed either way
