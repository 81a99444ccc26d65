"""A growable array: appending costs the new rows (amortised), reading the filled part is a view."""
from __future__ import annotations

import numpy as np


class Rows:
    """Rows appended at the end of a preallocated array that doubles when full."""

    def __init__(self, capacity: int = 1024, width: int | None = None):
        shape = (max(capacity, 1),) if width is None else (max(capacity, 1), width)
        self._data = np.empty(shape, dtype=float)
        self.size = 0

    def extend(self, values: np.ndarray) -> None:
        count = len(values)
        if self.size + count > len(self._data):
            grown = np.empty((max(2 * len(self._data), self.size + count), *self._data.shape[1:]), dtype=float)
            grown[:self.size] = self._data[:self.size]
            self._data = grown
        self._data[self.size:self.size + count] = values
        self.size += count

    def view(self, size: int | None = None) -> np.ndarray:
        """The first ``size`` rows (all by default), read-only so no consumer can alter the buffer."""
        part = self._data[:self.size if size is None else size]
        part.flags.writeable = False
        return part
