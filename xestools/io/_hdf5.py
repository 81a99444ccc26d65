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
#: size of each file when it was last opened: bounds its variable-length strings (one stat per open)
_OPENED_SIZE: dict[str, int] = {}
#: HDF5 file number -> file name, for the files open now (emptied when a file closes: numbers are reused)
_NAMES: dict[int, str] = {}


@contextlib.contextmanager
def open_file(path: str):
    """The HDF5 file read-only, without file locking (it may still be written); closed afterwards."""
    import h5py

    try:
        _OPENED_SIZE[path] = os.path.getsize(path)
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
        _OPENED_SIZE.pop(path, None)
        _NAMES.clear()


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


def filename(obj) -> str:
    """The file an h5py object belongs to; remembered per open file (``obj.file.filename`` is slow)."""
    number = obj.id.fileno
    name = _NAMES.get(number)
    if name is None:
        import h5py

        name = _NAMES[number] = os.fsdecode(h5py.h5f.get_name(obj.id))
    return name


def check_storage(dataset, path: str) -> None:
    """Refuse a dataset whose values live in another file: virtual (VDS) or external raw storage."""
    import h5py

    if dataset.id.get_offset() is not None:
        return  # contiguous storage inside this file: neither virtual nor external
    plist = dataset.id.get_create_plist()
    if plist.get_layout() == h5py.h5d.VIRTUAL:
        raise XesFormatError(path, f"{dataset.name} is a virtual dataset that maps data from other files",
                             _NO_OTHER_FILES)
    if plist.get_external_count() > 0:
        names = ", ".join(sorted({os.fsdecode(plist.get_external(i)[0]) for i in range(plist.get_external_count())}))
        raise XesFormatError(path, f"{dataset.name} keeps its values in external raw files ({names})", _NO_OTHER_FILES)


def _nbytes(shape, itemsize: int) -> int:
    return int(math.prod(int(n) for n in shape)) * int(itemsize)


def guard_size(path: str, nbytes: int, what) -> None:
    """The memory guard: refuse a read that would not fit in the memory available.

    ``what`` names the read; it may be a callable, called only for the message (h5py names cost time).
    """
    if nbytes > _SMALL_READ:
        _common.check_memory(path, float(nbytes), what() if callable(what) else what)


def read_array(dataset, path: str, *, element: tuple[int, ...] | None = None, checked: bool = False):
    """The numeric values of ``dataset`` (or of one ``element``), after the storage and size checks.

    ``checked``: the caller already ran ``check_storage`` on this dataset in the same open file.
    """
    if not checked:
        check_storage(dataset, path)
    dtype = dataset.dtype
    if dtype.kind not in "fiub":
        raise XesFormatError(path, f"{dataset.name} is not numeric ({dtype})", "the file is damaged")
    if element is not None:
        return dataset[element]
    guard_size(path, _nbytes(dataset.shape or (), dtype.itemsize), lambda: dataset.name)
    return dataset[()]


def _check_text_size(dtype, count: int, path: str, limit: int, label) -> None:
    """Refuse, before reading, a text value that cannot be a short text (fixed size over ``limit``,
    thousands of variable-length strings, or a compound)."""
    if dtype.kind == "O":
        if count > 4096:
            raise XesFormatError(path, f"{label()} holds {count} strings where one text was expected",
                                 "the file is damaged or crafted")
        size = _OPENED_SIZE.get(path)
        guard_size(path, os.path.getsize(path) if size is None else size, label)
    elif dtype.kind == "V" or count * dtype.itemsize > limit:
        raise XesFormatError(path, f"{label()} holds {count * dtype.itemsize} bytes of {dtype} where a text was "
                             f"expected (at most {limit} bytes)", "the file is damaged or crafted")


def _capped(value, path: str, limit: int, label) -> str:
    text = _common.as_text(value)
    if len(text) > limit:
        raise XesFormatError(path, f"{label()} is a text of {len(text)} characters (more than {limit} allowed)",
                             "the file is damaged or crafted")
    return text


def read_text(dataset, path: str, *, limit: int = MAX_TEXT_BYTES) -> str:
    """A text dataset as str (its first element), sized before it is read.

    Fixed-size values are refused above ``limit`` bytes before reading; a variable-length string
    lives in the file's own heap, so it is bounded by the file's size, and checked once read.
    """
    check_storage(dataset, path)
    shape = dataset.shape or ()
    count = math.prod(shape)
    if count == 0:
        return ""
    _check_text_size(dataset.dtype, count, path, limit, lambda: dataset.name)
    return _capped(dataset[(0,) * len(shape)] if shape else dataset[()], path, limit, lambda: dataset.name)


def read_attr_text(obj, key: str, path: str) -> str:
    """Attribute ``key`` of ``obj`` as text ("" when absent or empty), sized before it is read."""
    try:
        attribute = obj.attrs.get_id(key)
    except KeyError:
        return ""
    shape = attribute.shape
    if shape is None:  # an empty dataspace
        return ""
    count = math.prod(shape)
    if count == 0:
        return ""

    def label() -> str:
        return f"attribute {key!r} of {obj.name}"

    _check_text_size(attribute.dtype, count, path, MAX_ATTRIBUTE_BYTES, label)
    values = np.zeros(shape, dtype=attribute.dtype)
    attribute.read(values)
    return _capped(values, path, MAX_ATTRIBUTE_BYTES, label)


def read_attr(obj, key: str, path: str, default=None):
    """Attribute ``key`` of ``obj`` as h5py gives it (``default`` when absent), sized before it is read."""
    try:
        attribute = obj.attrs.get_id(key)
    except KeyError:
        return default
    shape = attribute.shape
    if shape is None:
        return default
    _check_text_size(attribute.dtype, math.prod(shape), path, MAX_ATTRIBUTE_BYTES,
                     lambda: f"attribute {key!r} of {obj.name}")
    return obj.attrs[key]
