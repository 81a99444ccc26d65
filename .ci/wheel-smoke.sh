#!/usr/bin/env bash
# Build the sdist and, from it, the wheel; install the wheel into a fresh venv (no access to this
# checkout) and use it as a new user would: --version, python -m xestools, samples, the CLI on a
# real I20 file. Dependency wheels are kept in a wheelhouse so later runs install offline and fast.
# Exits non-zero on the first failure.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
work=$(mktemp -d "${TMPDIR:-/tmp}/xestools-wheel.XXXXXX")
trap 'rm -rf "$work"' EXIT
trap 'echo "CI wheel: failed at line $LINENO: $BASH_COMMAND" >&2' ERR
wheelhouse=${XESTOOLS_WHEELHOUSE:-${XDG_CACHE_HOME:-$HOME/.cache}/xestools-ci/wheelhouse}
mkdir -p "$wheelhouse"
step() { echo "CI wheel: $*"; }

step "building sdist and wheel"
python -m build --outdir "$work/dist" . >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
wheel=$(ls "$work"/dist/xestools-*.whl)

step "installing $(basename "$wheel") into a fresh venv"
python -m venv "$work/venv"
venv_python="$work/venv/bin/python"
if ! "$venv_python" -m pip install -q --no-index --find-links "$wheelhouse" "$wheel" 2>"$work/offline.log"; then
    step "wheelhouse incomplete; downloading the dependencies once into $wheelhouse"
    "$venv_python" -m pip download -q -d "$wheelhouse" "$wheel"
    "$venv_python" -m pip install -q --no-index --find-links "$wheelhouse" "$wheel"
fi
bin="$work/venv/bin"

# Run from an empty folder with a throw-away per-user data folder: nothing may come from the checkout.
mkdir -p "$work/cwd" "$work/home"
cd "$work/cwd"
export XDG_DATA_HOME="$work/home/data" XDG_STATE_HOME="$work/home/state" XDG_CONFIG_HOME="$work/home/config"
export XESTOOLS_LOG_DIR="$work/home/logs" PYTHONPATH=""

location=$("$bin/python" -c 'import xestools; print(xestools.__file__)')
case "$location" in
    "$work/venv/"*) ;;
    *) echo "CI wheel: xestools imported from $location, not from the venv" >&2; exit 1 ;;
esac

expected=$(python -c "import ast, sys; tree = ast.parse(open(sys.argv[1]).read()); print(next(n.value.value for n in tree.body if isinstance(n, ast.Assign) and n.targets[0].id == '__version__'))" "$root/xestools/__init__.py")
step "--version"
[ "$("$bin/xestools" --version)" = "xestools $expected" ]
[ "$("$bin/python" -m xestools --version)" = "xestools $expected" ]
[ "$("$bin/xestools-gui" --version)" = "xestools $expected" ]

step "the GUI entry point and Qt in the venv"
[ -x "$bin/xestools-gui" ]
QT_QPA_PLATFORM=offscreen "$bin/python" -c "from PySide6.QtWidgets import QApplication; QApplication([])"

step "samples into the per-user data folder"
"$bin/xestools" samples -q >"$work/samples.txt"
grep -q "^$XDG_DATA_HOME/xestools/samples/990101_1.nxs$" "$work/samples.txt"
[ -z "$(ls -A "$work/cwd")" ] || { echo "CI wheel: samples wrote into the current folder" >&2; exit 1; }
if find "$work/venv" -name '990101_1.nxs' | grep -q .; then
    echo "CI wheel: samples were written into the venv" >&2; exit 1
fi
"$bin/xestools" cut "$XDG_DATA_HOME/xestools/samples/990101_1.nxs" --type CEE --at 8638.9 --width 1.0 -o sample_herfd.csv -q
head -c 40 sample_herfd.csv | grep -q "^# xestools"

real="$root/../shared/data/i20/279517_1.nxs"
if [ -f "$real" ]; then
    step "CLI on the real file $(basename "$real")"
    "$bin/xestools" info "$real" >info.txt
    grep -q "RXES map" info.txt
    "$bin/xestools" cut "$real" --type CEE --at 8638.9 --width 0.6 -o herfd.csv -q
    "$bin/python" - "$real" herfd.csv <<'PY'
import sys
import h5py
import numpy as np
from xestools import load
# independent of xestools.analysis: rows of the map whose ω read-back is within 0.3 eV of 8638.9 (width 0.6)
with h5py.File(sys.argv[1], "r") as handle:
    counts = handle["entry1/instrument/medipix1/medipix1_roi_total"][()]
    i1 = handle["entry1/instrument/I1/I1"][()]
    omega = handle["entry1/instrument/XESEnergyUpper/XESEnergyUpper"][()]
(profile,) = load(sys.argv[2])
column = np.abs(omega.mean(axis=0) - 8638.9) <= 0.3
expected = (counts / i1)[:, column].sum(axis=1)
np.testing.assert_allclose(profile.intensity, expected, rtol=1e-9)
PY
elif [ "${CI:-}" = "true" ]; then
    echo "CI wheel: real I20 data missing at $real" >&2; exit 1
else
    step "real I20 data not found at $real; skipping that part"
fi
step "ok"
