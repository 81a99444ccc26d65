"""``detect`` says what a file is without reading its arrays; ``load`` reads it into model objects.

Any problem with the input file surfaces as :class:`XesFormatError` (naming the file, the problem
and what to do); no other exception type escapes for a bad file.
"""
from __future__ import annotations

import fnmatch
import hashlib
import logging
import os
from typing import Callable

from ..model import Channel, RXESMap, Spectrum, evolve
from . import _common, _hdf5, _sanity, ascii_i20, nexus_i20, nxdata, plain, sandbox, xestools_nexus
from .detection import Detection
from .errors import XesFormatError

log = logging.getLogger("xestools.io.reader")

__all__ = ["Detection", "detect", "load", "read_in_process"]

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
#: bytes of a text file examined to recognise its format
TEXT_HEAD_BYTES = 16384
RAW_DETECTOR_PATTERNS = ("medipix*.hdf", "medipix*.h5", "medipix*.hdf5")
#: exceptions that a damaged file makes h5py, numpy and the text parser raise
_READ_ERRORS = (OSError, KeyError, ValueError, TypeError, IndexError, RuntimeError, AttributeError,
                UnicodeDecodeError, OverflowError, MemoryError, EOFError, ZeroDivisionError)


def _is_hdf5(path: str) -> bool:
    """The HDF5 signature at offset 0, 512, 1024, 2048, … (after a user block), found without libhdf5."""
    with open(path, "rb") as handle:
        if handle.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE:
            return True
        size = os.fstat(handle.fileno()).st_size
        offset = 512
        while offset + len(HDF5_SIGNATURE) <= size:
            handle.seek(offset)
            if handle.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE:
                return True
            offset = 512 if offset == 0 else offset * 2
    return False


def _refuse_raw_detector(path: str) -> None:
    name = os.path.basename(path).lower()
    if any(fnmatch.fnmatch(name, pattern) for pattern in RAW_DETECTOR_PATTERNS):
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


def _hdf5_kind(handle, path: str) -> str:
    if xestools_nexus.is_xestools_nexus(handle):
        return "xestools-nexus"
    if nexus_i20.looks_like_i20(handle):
        return "i20-nexus"
    if nxdata.find_nxdata(handle) is not None:
        return "nxdata"
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


def _text_kind(text: str) -> str:
    head = text[:TEXT_HEAD_BYTES]
    if plain.is_xestools_csv(head):
        return "xestools-csv"
    if ascii_i20.looks_like_i20_ascii(head):
        return "i20-ascii"
    return "plain"


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
    if sandbox.enabled() and _guard(path, lambda: _is_hdf5(path)) and not sandbox.is_proven(path, operation, channel):
        return sandbox.read(operation, path, channel)
    return read_in_process(operation, path, channel)


def read_in_process(operation: str, path: str, channel=None):
    """``detect`` or ``load`` in this process (the reader process serves its requests with this)."""
    if operation == "detect":
        return _guard(path, lambda: _detect(path))
    return _guard(path, lambda: [_sanity.check(obj, path) for obj in _load(path, channel)])


def _detect(path: str) -> Detection:
    _refuse_raw_detector(path)
    if _is_hdf5(path):
        with _hdf5.open_file(path) as handle:
            kind = _hdf5_kind(handle, path)
            if kind == "xestools-nexus":
                return xestools_nexus.detect(handle, path)
            if kind == "nxdata":
                return nxdata.detect(handle, path)
            layout = nexus_i20.probe(handle, path)
            return Detection(path, nexus_i20.FORMAT, layout.kind, layout.channels, layout.shape, layout.info)
    text = _read_text(path)
    kind = _text_kind(text)
    if kind == "i20-ascii":
        scan = ascii_i20.parse(text, path)
        layout = ascii_i20.classify(scan, path)
        shape = layout.dims if not (layout.kind == "rxes" and layout.emission_outer) else layout.dims[::-1]
        return Detection(path, ascii_i20.FORMAT, layout.kind, layout.channels, tuple(shape), layout.info)
    return plain.detect_text(text, path, kind)


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


def _load(path: str, channel) -> list:
    _refuse_raw_detector(path)
    if _is_hdf5(path):
        with _hdf5.open_file(path) as handle:
            kind = _hdf5_kind(handle, path)
            if kind == "xestools-nexus":
                return xestools_nexus.load(handle, path, channel)
            if kind == "nxdata":
                return _fingerprinted(nxdata.load(handle, path, channel), path)
            layout = nexus_i20.probe(handle, path)
            return _fingerprinted(nexus_i20.load(handle, path, layout, _select(path, layout.channels, channel)), path)
    text = _read_text(path)
    kind = _text_kind(text)
    if kind == "i20-ascii":
        scan = ascii_i20.parse(text, path)
        layout = ascii_i20.classify(scan, path)
        return _fingerprinted(ascii_i20.load(scan, path, layout, _select(path, layout.channels, channel)), path)
    objects = plain.load_text(text, path, kind)
    if kind != "xestools-csv":
        objects = _fingerprinted(objects, path)
    if channel is not None:
        available = tuple(obj.channel for obj in objects if obj.channel is not None)
        wanted = _select(path, available, channel)
        objects = [obj for obj in objects if obj.channel in wanted]
    return objects
