"""Readers and writers: I20 NeXus and ASCII scans, plain columns, xestools CSV and NeXus exports."""
from .errors import XesFormatError
from .reader import Detection, detect, load
from .writers import write_csv, write_nexus

__all__ = ["Detection", "XesFormatError", "detect", "load", "write_csv", "write_nexus"]
