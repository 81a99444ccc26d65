"""The HDF5 file signature, defined once, and recognising an HDF5 file by it without libhdf5.

A leaf module: the format table, the growing-file checks and the live sources all use it.
"""
from __future__ import annotations

import os

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"


def is_hdf5(path: str | os.PathLike) -> bool:
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
            offset *= 2
    return False
