"""``detect`` says what a file is without reading its arrays; ``load`` reads it into model objects.

Any problem with the input file surfaces as :class:`XesFormatError` (naming the file, the problem
and what to do); no other exception type escapes for a bad file.
"""
from __future__ import annotations

import hashlib
import logging
import os
from typing import Callable

from ..model import Channel, RXESMap, Spectrum, evolve
from . import _common, _hdf5, _sanity, ascii_i20, formats, nexus_i20, nxdata, plain, sandbox
from .detection import Detection
from .errors import XesFormatError

log = logging.getLogger("xestools.io.reader")

__all__ = ["Detection", "detect", "load", "read_in_process"]

#: bytes of a text file examined to recognise its format
TEXT_HEAD_BYTES = 16384
#: exceptions that a damaged file makes h5py, numpy and the text parser raise
_READ_ERRORS = (OSError, KeyError, ValueError, TypeError, IndexError, RuntimeError, AttributeError,
                UnicodeDecodeError, OverflowError, MemoryError, EOFError, ZeroDivisionError)


def _refuse_raw_detector(path: str) -> None:
    if formats.is_raw_detector_name(path):
        raise XesFormatError(path, "this is a raw medipix detector image file, not a scan",
                             "open the scan's .nxs or .dat file instead; it holds the ROI intensities")


def _raw_frames_only(handle) -> bool:
    """An HDF5 file holding detector frames only (/entry/instrument/detector/data, no scan axes)."""
    import h5py

    found = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset) and obj.ndim >= 3:
            found.append(name)

    handle.visititems(visit)
    return bool(found)


def _hdf5_format(handle, path: str) -> formats.FileFormat:
    """The first HDF5 format of the table that recognises the open file."""
    for fmt in formats.input_formats("hdf5"):
        if fmt.function("recognise")(handle):
            return fmt
    if _raw_frames_only(handle):
        raise XesFormatError(path, "this HDF5 file holds detector frames only, not a scan",
                             "open the scan's .nxs or .dat file instead; it holds the ROI intensities")
    raise XesFormatError(path, "HDF5 file is not an I20 scan, a xestools export or a NeXus NXdata with a signal",
                         "open an I20 .nxs scan, an I20 .dat file, a xestools export or a NeXus file with a default NXdata")


def _read_text(path: str) -> str:
    size = os.path.getsize(path)
    _common.check_memory(path, size * 6.0, "the text file")
    with open(path, "rb") as handle:
        raw = handle.read()
    if b"\x00" in raw[:TEXT_HEAD_BYTES]:
        raise XesFormatError(path, "binary file of an unknown format",
                             "open an I20 .nxs scan, an I20 .dat file or a text file of numeric columns")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        return raw.decode("latin-1")


def _text_format(text: str, path: str) -> formats.FileFormat:
    """The first text format of the table that recognises the file's head (plain columns take any)."""
    head = text[:TEXT_HEAD_BYTES]
    for fmt in formats.input_formats("text"):
        if fmt.function("recognise")(head):
            return fmt
    raise XesFormatError(path, "text of no format xestools reads",
                         "open an I20 .nxs scan, an I20 .dat file or a text file of numeric columns")


def _guard(path, action: Callable):
    """Run ``action``; turn any low-level failure on a bad file into XesFormatError."""
    try:
        return action()
    except XesFormatError:
        raise
    except _READ_ERRORS as error:
        log.debug("reading %s failed", path, exc_info=True)
        raise XesFormatError(path, f"cannot be read: {type(error).__name__}: {error}",
                             "the file is damaged, truncated or not a scan; copy it again or open another file") from error
    except Exception as error:  # a damaged file may trip any library error; log it with the traceback
        log.exception("unexpected error reading %s", path)
        raise XesFormatError(path, f"cannot be read: {type(error).__name__}: {error}",
                             "the file is damaged or not a scan; if it opens elsewhere, send the log to support") from error


def detect(path) -> Detection:
    """What ``path`` is, reading headers and attributes only (no big arrays)."""
    name = _common.ensure_readable_file(path)
    return _read("detect", name, None)


def load(path, *, channel=None) -> list[Spectrum | RXESMap]:
    """Read a scan: one Spectrum or RXESMap per available channel (or only ``channel``)."""
    name = _common.ensure_readable_file(path)
    return _read("load", name, channel)


def _read(operation: str, path: str, channel):
    """HDF5 not yet proven good in this process is read in the time-limited reader process."""
    if sandbox.enabled() and _guard(path, lambda: formats.is_hdf5(path)) and not sandbox.is_proven(path, operation, channel):
        return sandbox.read(operation, path, channel)
    return read_in_process(operation, path, channel)


def read_in_process(operation: str, path: str, channel=None):
    """``detect`` or ``load`` in this process (the reader process serves its requests with this)."""
    if operation == "detect":
        return _guard(path, lambda: _detect(path))
    return _guard(path, lambda: [_sanity.check(obj, path) for obj in _load(path, channel)])


def _detect(path: str) -> Detection:
    _refuse_raw_detector(path)
    if formats.is_hdf5(path):
        with _hdf5.open_file(path) as handle:
            return _hdf5_format(handle, path).function("detect")(handle, path)
    text = _read_text(path)
    return _text_format(text, path).function("detect")(text, path)


def _select(path: str, available: tuple[Channel, ...], channel) -> tuple[Channel, ...]:
    if channel is None:
        return available
    try:
        wanted = channel if isinstance(channel, Channel) else Channel(str(channel).lower())
    except ValueError as error:
        raise XesFormatError(path, f"unknown channel {channel!r}", "use 'upper' or 'lower'") from error
    if wanted not in available:
        have = ", ".join(c.value for c in available) or "none"
        raise XesFormatError(path, f"has no {wanted.value} channel (channels in the file: {have})",
                             "choose one of the channels the file holds")
    return (wanted,)


def _may_still_grow(path: str) -> bool:
    """Missing points of a scan still being written are "in progress", not "aborted" (one rule: io.growing)."""
    from .growing import may_still_grow

    return may_still_grow(path)
def file_sha256(path) -> str:
    """SHA-256 of a file, recorded with what is read from it so a reader of a result can check its sources."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fingerprinted(objects: list, path: str) -> list:
    """Objects read from a measured file carry its SHA-256 (``metadata["sha256"]``), as their source's
    fingerprint; our own exports keep the fingerprint of the file they were made from."""
    digest = file_sha256(path)
    return [evolve(obj, metadata={"sha256": digest}) for obj in objects]


#: our own exports keep the fingerprint of the file they were made from instead of their own
_OWN_EXPORTS = ("xestools-nexus", "xestools-csv")


def _load(path: str, channel) -> list:
    _refuse_raw_detector(path)
    if formats.is_hdf5(path):
        with _hdf5.open_file(path) as handle:
            fmt = _hdf5_format(handle, path)
            objects = fmt.function("load")(handle, path, channel)
    else:
        text = _read_text(path)
        fmt = _text_format(text, path)
        objects = fmt.function("load")(text, path, channel)
    return objects if fmt.name in _OWN_EXPORTS else _fingerprinted(objects, path)


# ----------------------------------------------------------------------------- the table's readers
# (``formats.FORMATS`` names these: detect(opened, path), load(opened, path, channel), recognise(opened))
def has_nxdata(handle) -> bool:
    return nxdata.find_nxdata(handle) is not None


def detect_i20_nexus(handle, path: str) -> Detection:
    layout = nexus_i20.probe(handle, path)
    return Detection(path, nexus_i20.FORMAT, layout.kind, layout.channels, layout.shape, layout.info)


def load_i20_nexus(handle, path: str, channel) -> list:
    layout = nexus_i20.probe(handle, path)
    return nexus_i20.load(handle, path, layout, _select(path, layout.channels, channel),
                          in_progress=_may_still_grow(path))


def _ascii_layout(text: str, path: str):
    scan = ascii_i20.parse(text, path)
    return scan, ascii_i20.classify(scan, path)


def detect_i20_ascii(text: str, path: str) -> Detection:
    _, layout = _ascii_layout(text, path)
    shape = layout.dims if not (layout.kind == "rxes" and layout.emission_outer) else layout.dims[::-1]
    return Detection(path, ascii_i20.FORMAT, layout.kind, layout.channels, tuple(shape), layout.info)


def load_i20_ascii(text: str, path: str, channel) -> list:
    scan, layout = _ascii_layout(text, path)
    return ascii_i20.load(scan, path, layout, _select(path, layout.channels, channel),
                          in_progress=_may_still_grow(path))


def _channel_of(objects: list, path: str, channel) -> list:
    if channel is None:
        return objects
    available = tuple(obj.channel for obj in objects if obj.channel is not None)
    wanted = _select(path, available, channel)
    return [obj for obj in objects if obj.channel in wanted]


def detect_xestools_csv(text: str, path: str) -> Detection:
    return plain.detect_text(text, path, "xestools-csv")


def load_xestools_csv(text: str, path: str, channel) -> list:
    return _channel_of(plain.load_text(text, path, "xestools-csv"), path, channel)


def any_text(head: str) -> bool:
    """Plain numeric columns: the last text format, tried when no other recognises the file."""
    return True


def detect_plain(text: str, path: str) -> Detection:
    return plain.detect_text(text, path, "plain")


def load_plain(text: str, path: str, channel) -> list:
    return _channel_of(plain.load_text(text, path, "plain"), path, channel)
