"""Guarded HDF5 access: every object is reached without leaving the file, every read is sized first.

A scan file is untrusted. Nothing in it may make xestools open another file (external links, external
raw storage, virtual datasets), and nothing may be read before its size is known: numeric data by
shape × itemsize against the memory available, text by a fixed cap.
"""
from __future__ import annotations

import contextlib
import math
import os

import numpy as np

from . import _common
from .errors import XesFormatError

#: longest text field read (scan command, sample XML, our metadata JSON)
MAX_TEXT_BYTES = 16 * 1024 * 1024
#: longest text attribute read (NX_class, label, creator are a few bytes)
MAX_ATTRIBUTE_BYTES = 16 * 1024
#: below this, a read is too small to need the system's memory figures
_SMALL_READ = 32 * 1024 * 1024
#: soft links followed in a chain before the file is called damaged
_MAX_SOFT_HOPS = 16
_NO_OTHER_FILES = "xestools never reads a file named inside another file; open the scan it belongs to directly"


@contextlib.contextmanager
def open_file(path: str):
    """The HDF5 file read-only, without file locking (it may still be written); closed afterwards."""
    import h5py

    try:
        handle = h5py.File(path, "r", locking=False)
    except OSError as error:
        if "truncated file" in str(error):
            raise XesFormatError(path, f"HDF5 file is truncated (only {os.path.getsize(path)} bytes present)",
                                 "the copy is incomplete; copy the file again from the beamline") from error
        raise XesFormatError(path, f"HDF5 file cannot be opened ({error})",
                             "the file is damaged or truncated; copy it again from the beamline") from error
    try:
        yield handle
    finally:
        handle.close()


def _external_link(path: str, where: str, link) -> XesFormatError:
    return XesFormatError(path, f"{where} is an HDF5 external link to {link.filename}:{link.path}", _NO_OTHER_FILES)


def get(group, name: str, path: str, *, external: str = "refuse"):
    """``group[name]`` reached through hard links (and soft links inside the file) only, or None.

    An external link is refused (``external="refuse"``) or treated as absent (``"ignore"``, for the
    detector-frame links of I20 scans that xestools never needs); it is never followed.
    """
    import h5py

    link = group.get(name, getlink=True)
    if link is None:
        return None
    if isinstance(link, h5py.ExternalLink):
        if external == "ignore":
            return None
        raise _external_link(path, f"{group.name.rstrip('/')}/{name}", link)
    if isinstance(link, h5py.SoftLink):
        return _follow_soft(group, link.path, path, external, 0)
    return group[name]


def _follow_soft(group, target: str, path: str, external: str, hops: int):
    """Walk a soft link's target one component at a time, so no component can be an external link."""
    if hops >= _MAX_SOFT_HOPS:
        raise XesFormatError(path, f"soft links loop or chain more than {_MAX_SOFT_HOPS} times at {target}",
                             "the file is damaged")
    current = group.file["/"] if target.startswith("/") else group
    for part in (p for p in target.split("/") if p and p != "."):
        import h5py

        if not isinstance(current, h5py.Group):
            return None
        link = current.get(part, getlink=True)
        if link is None:
            return None
        if isinstance(link, h5py.ExternalLink):
            if external == "ignore":
                return None
            raise _external_link(path, f"{current.name.rstrip('/')}/{part} (reached by a soft link)", link)
        if isinstance(link, h5py.SoftLink):
            current = _follow_soft(current, link.path, path, external, hops + 1)
            if current is None:
                return None
        else:
            current = current[part]
    return current


def check_storage(dataset, path: str) -> None:
    """Refuse a dataset whose values live in another file: virtual (VDS) or external raw storage."""
    if dataset.is_virtual:
        raise XesFormatError(path, f"{dataset.name} is a virtual dataset that maps data from other files",
                             _NO_OTHER_FILES)
    external = dataset.external
    if external:
        names = ", ".join(sorted({os.fsdecode(entry[0]) for entry in external}))
        raise XesFormatError(path, f"{dataset.name} keeps its values in external raw files ({names})", _NO_OTHER_FILES)


def _nbytes(shape, itemsize: int) -> int:
    return int(math.prod(int(n) for n in shape)) * int(itemsize)


def guard_size(path: str, nbytes: int, what: str) -> None:
    """The memory guard: refuse a read that would not fit in the memory available."""
    if nbytes > _SMALL_READ:
        _common.check_memory(path, float(nbytes), what)


def read_array(dataset, path: str, *, element: tuple[int, ...] | None = None):
    """The numeric values of ``dataset`` (or of one ``element``), after the storage and size checks."""
    check_storage(dataset, path)
    if dataset.dtype.kind not in "fiub":
        raise XesFormatError(path, f"{dataset.name} is not numeric ({dataset.dtype})", "the file is damaged")
    if element is not None:
        return dataset[element]
    guard_size(path, _nbytes(dataset.shape or (), dataset.dtype.itemsize), dataset.name)
    return dataset[()]


def read_text(obj, path: str, *, name: str | None = None, limit: int = MAX_TEXT_BYTES) -> str:
    """A text field (dataset) or attribute as str (its first element), sized before it is read.

    Fixed-size values are refused above MAX_TEXT_BYTES before reading; a variable-length string
    lives in the file's own heap, so it is bounded by the file's size, and checked once read.
    """
    import h5py

    label = name or getattr(obj, "name", "a text field")
    if isinstance(obj, h5py.Dataset):
        check_storage(obj, path)
    shape = tuple(obj.shape or ())
    count = math.prod(shape) if shape else 1
    if count == 0:
        return ""
    dtype = obj.dtype
    if dtype.kind == "O":
        if h5py.check_string_dtype(dtype) is None:
            raise XesFormatError(path, f"{label} is not a text field ({dtype})", "the file is damaged")
        if count > 4096:
            raise XesFormatError(path, f"{label} holds {count} strings where one text was expected",
                                 "the file is damaged or crafted")
        guard_size(path, os.path.getsize(path), label)
    elif dtype.kind == "V" or count * dtype.itemsize > limit:
        raise XesFormatError(path, f"{label} holds {count * dtype.itemsize} bytes of {dtype} where a text was expected"
                             f" (at most {limit} bytes)", "the file is damaged or crafted")
    value = obj[(0,) * len(shape)] if shape else obj[()]
    text = _common.as_text(value)
    if len(text) > limit:
        raise XesFormatError(path, f"{label} is a text of {len(text)} characters (more than {limit} allowed)",
                             "the file is damaged or crafted")
    return text


def read_attr_text(obj, key: str, path: str) -> str:
    """Attribute ``key`` of ``obj`` as text ("" when absent), sized before it is read."""
    if key not in obj.attrs:
        return ""
    return read_text(_Attribute(obj, key), path, name=f"attribute {key!r} of {obj.name}", limit=MAX_ATTRIBUTE_BYTES)


class _Attribute:
    """An attribute seen like a dataset (dtype, shape, indexing) so read_text serves both."""

    def __init__(self, owner, key: str) -> None:
        attribute = owner.attrs.get_id(key)
        self._owner, self._key = owner, key
        self.dtype = attribute.dtype
        self.shape = attribute.shape

    def __getitem__(self, index):
        value = self._owner.attrs[self._key]
        return value if np.ndim(value) == 0 else np.asarray(value)[index]
