"""A deterministic generator of damaged and crafted input files for the loaders.

Case ``i`` of seed ``s`` is always the same file: its random numbers come from
``numpy.random.default_rng([s, i])`` whatever other cases are made. The families:

- ``flip`` / ``truncate`` / ``splice``: byte flips (biased to the first 64 kB, where HDF5 keeps its
  metadata), truncations and cut or doubled chunks of real scans, the shipped samples and our own exports;
- ``hdf5``: I20 NeXus scans, our NeXus exports and generic NXdata files (as silx or NeXpy write
  them) with wrong shapes, dtypes, attributes, scan dimensions,
  non-finite values, external links, external raw storage, virtual datasets and soft-link loops;
- ``text``: I20 ASCII, plain columns and our CSV with bad tokens and crafted header fields;
- ``encoding``: the same texts in UTF-16, Latin-1, with NUL bytes, CR line ends or a BOM.
"""
from __future__ import annotations

import io
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

import i20_synth as synth

FAMILIES = (("flip", 0.35), ("truncate", 0.12), ("splice", 0.06), ("hdf5", 0.22), ("text", 0.15),
            ("encoding", 0.10))
BAD_TOKENS = ("nan", "inf", "-inf", "1e400", "-1e400", "--", "0x1F", "1,5", "", "NaN", "1e-400", "9" * 400,
              "\u2212", "∞", "1.2.3", "+-1", "e5", "\x00", "1e308", "-0")
BAD_JSON = ("5", "null", "[]", "{}", '"text"', '{"warnings": 5}', '{"warnings": [1, 2]}', '{"normalisation": 3}',
            '{"scan_dimensions": "x"}', '{"scan_number": "12"}', '{"rowland_radius_mm": {"upper": "big"}}',
            "[" * 5000, '{"a": ' * 200 + "1" + "}" * 200, "1e400", "NaN", '"' + "x" * 70000 + '"')
HEAD = 65536


@dataclass(frozen=True)
class Case:
    index: int
    family: str
    name: str
    data: bytes


def seed_files(samples: Path, real: Path | None) -> dict[str, bytes]:
    """The files mutations start from: samples, real scans (when present) and exports written now."""
    from xestools.io import load, write_csv, write_nexus

    files = {p.name: p.read_bytes() for p in sorted(samples.glob("*")) if p.suffix in (".nxs", ".dat")}
    if real is not None:
        files.update({p.name: p.read_bytes() for p in sorted(real.glob("*")) if p.suffix in (".nxs", ".dat")})
    with tempfile.TemporaryDirectory() as folder:
        for source in ("990101_1.nxs", "990110_1.nxs"):
            if (samples / source).is_file():
                obj = load(samples / source)[0]
                for writer, suffix in ((write_csv, ".csv"), (write_nexus, ".nxs")):
                    target = Path(folder) / f"export_{Path(source).stem}{suffix}"
                    writer(obj, target)
                    files[target.name] = target.read_bytes()
        generic = Path(folder) / "generic_nxdata.nxs"
        _nxdata_file(generic, np.random.default_rng(0))
        files[generic.name] = generic.read_bytes()
    return files


def _flip(data: bytes, rng) -> bytes:
    out = bytearray(data)
    for _ in range(int(rng.integers(1, 17))):
        limit = min(len(out), HEAD) if rng.random() < 0.6 else len(out)
        position = int(rng.integers(0, limit))
        out[position] ^= int(rng.integers(1, 256))
    return bytes(out)


def _splice(data: bytes, rng) -> bytes:
    start = int(rng.integers(0, len(data)))
    length = int(rng.integers(1, max(2, min(4096, len(data) - start))))
    chunk = data[start:start + length]
    return data[:start] + (chunk * 2 if rng.random() < 0.5 else b"") + data[start + length:]


def _mutate(seeds: dict[str, bytes], family: str, rng) -> tuple[str, bytes]:
    name = sorted(seeds)[int(rng.integers(0, len(seeds)))]
    data = seeds[name]
    if family == "flip":
        return name, _flip(data, rng)
    if family == "truncate":
        return name, data[:int(rng.integers(0, len(data)))]
    return name, _splice(data, rng)


# ----------------------------------------------------------------------------- crafted HDF5
def _i20_file(path: Path, rng) -> None:
    kind = rng.integers(0, 3)
    if kind == 0:
        scan = synth.make_rxes(int(rng.integers(2, 7)), int(rng.integers(2, 9)), snake=bool(rng.integers(0, 2)),
                               emission_outer=bool(rng.integers(0, 2)), seed=int(rng.integers(0, 1000)))
    elif kind == 1:
        scan = synth.make_xes(int(rng.integers(2, 40)), seed=int(rng.integers(0, 1000)))
    else:
        scan = synth.make_rxes(3, 4, channels=("upper", "lower"), seed=int(rng.integers(0, 1000)))
    measured = int(rng.integers(1, scan.i1.size + 1)) if rng.random() < 0.3 else None
    synth.write_nexus(path, scan, measured=measured, short_datasets=bool(rng.integers(0, 2)),
                      with_ffi1=rng.random() < 0.8)


def _export_file(path: Path, rng) -> None:
    from xestools.io import write_nexus
    from xestools.model import RXESMap, Spectrum

    if rng.random() < 0.5:
        n = int(rng.integers(2, 30))
        write_nexus(Spectrum(energy=np.sort(rng.uniform(8600, 8700, n)), intensity=rng.uniform(0, 5, n),
                             uncertainty=rng.uniform(0, 1, n), metadata={"warnings": []}), path)
        return
    rows, cols = int(rng.integers(2, 8)), int(rng.integers(2, 8))
    incident_axis, emission_axis = np.linspace(9650, 9660, rows), np.linspace(8630, 8640, cols)
    incident, emission = np.meshgrid(incident_axis, emission_axis, indexing="ij")
    write_nexus(RXESMap(incident=incident, emission=emission, incident_axis=incident_axis, emission_axis=emission_axis,
                        intensity=rng.uniform(0, 5, (rows, cols))), path)


def _nxdata_file(path: Path, rng) -> None:
    """A NeXus file from another program: /@default → entry → NXdata with @signal and @axes."""
    two_d = rng.random() < 0.5
    shape = (int(rng.integers(2, 8)), int(rng.integers(2, 8))) if two_d else (int(rng.integers(2, 40)),)
    with h5py.File(path, "w") as handle:
        handle.attrs["default"] = "entry"
        entry = handle.create_group("entry")
        entry.attrs.update({"NX_class": "NXentry", "default": "data"})
        data = entry.create_group("data")
        axes = ["incident_energy", "emission_energy"] if two_d else ["energy"]
        data.attrs.update({"NX_class": "NXdata", "signal": "data", "axes": axes})
        for name, size in zip(axes, shape):
            data[name] = np.sort(rng.uniform(8600, 9700, size))
            data[name].attrs["units"] = str(rng.choice(["eV", "keV", "eV", "mm"]))
        data["data"] = rng.uniform(0, 10, shape)
        if rng.random() < 0.5:
            data["data_errors"] = rng.uniform(0, 1, shape)


def _datasets(handle) -> list[str]:
    names: list[str] = []
    handle.visititems(lambda name, obj: names.append(name) if isinstance(obj, h5py.Dataset) else None)
    return names


def _replacement(rng, old):
    """New data for a dataset: a wrong shape, dtype or value, chosen by ``rng``."""
    if old.size > 100_000:  # an earlier edit declared a huge dataset: replace it with a small one
        return np.zeros(int(rng.integers(0, 10)))
    shape = old.shape
    choice = int(rng.integers(0, 9))
    if choice == 0:
        return np.zeros(tuple(int(rng.integers(0, 5)) for _ in range(int(rng.integers(0, 4)))))
    if choice == 1:
        return np.array([b"not a number"] * max(1, old.size)).reshape(shape) if old.size else b"text"
    if choice == 2:
        return np.full(shape, rng.choice([np.nan, np.inf, -np.inf, 1e308]))
    if choice == 3:
        values = np.asarray(old[()], dtype=float) if old.dtype.kind in "fiu" else np.zeros(shape)
        values.flat[int(rng.integers(0, max(1, values.size)))] = rng.choice([np.nan, np.inf, 0.0, -1.0])
        return values
    if choice == 4:
        return np.asarray(rng.integers(-5, 5, shape), dtype=rng.choice(["i1", "u2", "i8"]))
    if choice == 5:
        return (np.ones(shape) + 1j) if old.size else np.array(1j)
    if choice == 6:
        return np.asarray([int(v) for v in rng.integers(-3, 10**9, int(rng.integers(1, 4)))])
    if choice == 7:
        return np.zeros(shape + (2,))
    return np.ones(shape, dtype=[("a", "f8"), ("b", "i4")])


def _plant(handle, name: str, folder: Path, rng) -> None:
    """Replace ``name`` by something that points outside the file, or loops."""
    shape = handle[name].shape
    del handle[name]
    target = folder / "planted_target.h5"
    how = int(rng.integers(0, 4))
    if how == 0:
        handle[name] = h5py.ExternalLink(str(target), "/values")
    elif how == 1:
        handle.create_dataset(name, shape=shape, dtype="<f8",
                              external=[(str(folder / "planted.raw"), 0, h5py.h5f.UNLIMITED)])
    elif how == 2:
        layout = h5py.VirtualLayout(shape=shape, dtype="<f8")
        layout[...] = h5py.VirtualSource(str(target), "values", shape=shape)
        handle.create_virtual_dataset(name, layout)
    else:
        handle[name] = h5py.SoftLink(name)


def _edit_hdf5(path: Path, folder: Path, rng) -> None:
    with h5py.File(path, "r+") as handle:
        names = _datasets(handle)
        for _ in range(int(rng.integers(1, 4))):
            name = names[int(rng.integers(0, len(names)))]
            if not isinstance(handle.get(name, getlink=True), h5py.HardLink):
                continue  # deleted or planted by an earlier edit
            try:
                _edit_one(handle, name, folder, rng)
            except (OSError, ValueError, TypeError) as error:  # an edit h5py refuses to make is skipped
                _SKIPPED.append(f"{name}: {error}")


_SKIPPED: list[str] = []


def _edit_one(handle, name: str, folder: Path, rng) -> None:
    """One edit of dataset ``name``: planted, deleted, odd attribute, huge declared shape or replaced."""
    action = int(rng.integers(0, 5))
    if action == 0:
        _plant(handle, name, folder, rng)
    elif action == 1:
        del handle[name]
    elif action == 2:
        values = (np.arange(5), b"\xff\xfe", "1", np.array([b"x" * 100] * 3), 3.5, b"NXentry")
        handle[name].attrs[str(rng.choice(["label", "NX_class", "axis", "units"]))] = \
            values[int(rng.integers(0, len(values)))]
    elif action == 3:
        shaped = tuple(int(rng.integers(1, 10**int(rng.integers(1, 12)))) for _ in range(int(rng.integers(1, 3))))
        del handle[name]
        handle.create_dataset(name, shape=shaped, dtype="<f8", chunks=True, compression="gzip")
    else:
        replacement = _replacement(rng, handle[name])
        del handle[name]
        handle.create_dataset(name, data=replacement)


def _crafted_hdf5(rng) -> tuple[str, bytes]:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / ("crafted.nxs")
        builders = (_i20_file, _i20_file, _i20_file, _export_file, _nxdata_file)
        builders[int(rng.integers(0, len(builders)))](path, rng)
        _edit_hdf5(path, Path(folder), rng)
        return path.name, path.read_bytes()


# ----------------------------------------------------------------------------- crafted text
def _i20_ascii(rng) -> str:
    scan = synth.make_rxes(int(rng.integers(2, 6)), int(rng.integers(2, 7)), seed=int(rng.integers(0, 1000))) \
        if rng.random() < 0.5 else synth.make_xes(int(rng.integers(2, 30)), seed=int(rng.integers(0, 1000)))
    with np.errstate(divide="ignore", invalid="ignore"):
        return synth.ascii_text(scan)


def _plain_text(rng) -> str:
    rows = int(rng.integers(1, 30))
    columns = int(rng.integers(1, 5))
    data = rng.uniform(0, 10, (rows, columns))
    data[:, 0] = np.sort(data[:, 0]) if rng.random() < 0.7 else data[:, 0]
    buffer = io.StringIO()
    np.savetxt(buffer, data, fmt="%.6g")
    return "# energy intensity\n" + buffer.getvalue()


def _csv_text(rng) -> str:
    from xestools.io import write_csv
    from xestools.model import Spectrum

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "export.csv"
        n = int(rng.integers(2, 20))
        write_csv(Spectrum(energy=np.arange(float(n)), intensity=rng.uniform(0, 1, n), metadata={"warnings": []}), path)
        text = path.read_text()
    if rng.random() < 0.7:
        key = str(rng.choice(["metadata", "info", "label", "source", "shape", "columns", "kind", "axis", "channel"]))
        value = str(rng.choice(BAD_JSON))
        text = "\n".join(f"# xestools.{key}: {value}" if line.startswith(f"# xestools.{key}:") else line
                         for line in text.splitlines()) + "\n"
    return text


def _bad_tokens(text: str, rng) -> str:
    """Replace a few tokens of the data rows (not the ``#`` header) with bad ones."""
    lines = text.splitlines(keepends=True)
    rows = [i for i, line in enumerate(lines) if line.strip() and not line.lstrip().startswith("#")]
    for _ in range(int(rng.integers(0, 6)) if rows else 0):
        index = rows[int(rng.integers(0, len(rows)))]
        tokens = lines[index].replace(",", " , ").split(" ")
        spots = [k for k, t in enumerate(tokens) if t.strip() and t.strip() != ","]
        if spots:
            tokens[spots[int(rng.integers(0, len(spots)))]] = str(rng.choice(BAD_TOKENS))
        lines[index] = " ".join(tokens).replace(" , ", ",")
    return "".join(lines)


def _crafted_text(rng, family: str) -> tuple[str, bytes]:
    pick = int(rng.integers(0, 3))
    text = (_i20_ascii, _plain_text, _csv_text)[pick](rng)
    name = ("scan.dat", "columns.txt", "export.csv")[pick]
    text = _bad_tokens(text, rng)
    if family == "text":
        return name, text.encode("utf-8", errors="surrogateescape")
    encoding = int(rng.integers(0, 6))
    if encoding == 0:
        return name, text.encode("utf-16")
    if encoding == 1:
        return name, text.encode("latin-1", errors="replace") + bytes(rng.integers(128, 256, 8, dtype=np.uint8))
    if encoding == 2:
        position = int(rng.integers(0, max(1, len(text))))
        return name, (text[:position] + "\x00" + text[position:]).encode()
    if encoding == 3:
        return name, text.replace("\n", "\r").encode()
    if encoding == 4:
        return name, b"\xef\xbb\xbf" + text.encode()
    return name, text.encode("utf-32")


def make_case(seeds: dict[str, bytes], seed: int, index: int) -> Case:
    """Case ``index`` of ``seed``: the same bytes every time."""
    rng = np.random.default_rng([seed, index])
    names, weights = zip(*FAMILIES)
    family = str(rng.choice(names, p=np.asarray(weights) / sum(weights)))
    if family in ("flip", "truncate", "splice"):
        source, data = _mutate(seeds, family, rng)
    elif family == "hdf5":
        source, data = _crafted_hdf5(rng)
    else:
        source, data = _crafted_text(rng, family)
    return Case(index, family, f"{index:05d}_{family}_{source}", data)


def describe(case: Case) -> str:
    return json.dumps({"index": case.index, "family": case.family, "name": case.name, "bytes": len(case.data)})
