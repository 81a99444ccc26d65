"""The one exception type a reader lets escape for a bad input file."""
from __future__ import annotations

import os


class XesFormatError(Exception):
    """A file cannot be read as a scan. The message names the file, the problem and what to do."""

    def __init__(self, path: str | os.PathLike | None, problem: str, hint: str = "") -> None:
        self.path = os.fspath(path) if path is not None else ""
        self.problem = problem
        self.hint = hint
        name = os.path.basename(self.path) if self.path else "input"
        message = f"{name}: {problem}"
        if hint:
            message += f" ({hint})"
        super().__init__(message)


class XesReadRefused(XesFormatError):
    """The time-limited reader process gave up on a file: it hung or crashed inside the HDF5 library.

    A subclass, so callers that must tell "damaged beyond reading" from "not a scan (yet)" — such as
    following a scan that is still being written — can ask by type, not by message text.
    """
