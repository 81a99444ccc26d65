"""Memory monitor: a thread that samples resident memory and available system memory.

It only measures and reports: it never touches Qt objects (warnings go through a callback that the
GUI turns into a queued signal) and never calls ``gc.collect()``. Its latest sample is written to
``run/memory-<pid>.json`` so the supervisor can put it in the report when the process is killed.
Without psutil it says so once and stays off.
"""
from __future__ import annotations

import json
import logging
import os
import threading
import time
from pathlib import Path
from typing import Callable

from xestools.runtime.files import private_write

log = logging.getLogger("xestools.runtime.memory")

MB = 1024.0 * 1024.0
LOW_SYSTEM_MEMORY_MB = 500.0


class MemoryMonitor(threading.Thread):
    """Samples every ``interval`` s; warns (once per excursion) above ``warn_mb`` resident or when
    the system has less than 500 MB available."""

    def __init__(self, sample_file: Path | None, *, interval: float = 5.0, warn_mb: float = 4096.0,
                 on_warning: Callable[[str, dict], None] | None = None) -> None:
        super().__init__(name="xestools-memory-monitor", daemon=True)
        self.sample_file = sample_file
        self.interval = max(float(interval), 0.05)
        self.warn_mb = float(warn_mb)
        self.on_warning = on_warning
        self.peak_rss_mb = 0.0
        self.last_sample: dict | None = None
        self._stop_event = threading.Event()
        self._warned = False
        self._loading = threading.Lock()
        self._psutil = self._process = None
        self._loaded = False

    def _load(self) -> None:
        """Import psutil on first use, normally on this thread: the import takes 0.1–0.3 s, which
        the GUI thread would otherwise spend before its first paint."""
        with self._loading:
            if self._loaded:
                return
            try:
                import psutil
            except ImportError:
                psutil = None
                log.warning("psutil is not installed: memory monitoring is off (pip install psutil)")
            self._psutil = psutil
            self._process = psutil.Process(os.getpid()) if psutil is not None else None
            self._loaded = True

    @property
    def available(self) -> bool:
        self._load()
        return self._process is not None

    def sample(self) -> dict | None:
        """Take one sample now (also used for the "current" memory in crash reports)."""
        self._load()
        if self._process is None:
            return None
        rss_mb = self._process.memory_info().rss / MB
        system = self._psutil.virtual_memory()
        self.peak_rss_mb = max(self.peak_rss_mb, rss_mb)
        return {"time": time.time(), "pid": os.getpid(), "rss_mb": round(rss_mb, 1),
                "peak_rss_mb": round(self.peak_rss_mb, 1), "available_mb": round(system.available / MB, 1),
                "total_mb": round(system.total / MB, 1), "system_percent": system.percent,
                "threads": threading.active_count()}

    def snapshot(self) -> dict:
        """Memory section of a crash report: current, peak, last sample."""
        current = None
        try:
            current = self.sample()
        except Exception:  # psutil can fail in odd states; the report must still be written
            log.debug("memory sample for the report failed", exc_info=True)
        return {"current_mb": current["rss_mb"] if current else None,
                "peak_mb": round(self.peak_rss_mb, 1) if self.available else None,
                "last_sample": self.last_sample, "monitor": "psutil" if self.available else "off"}

    def run(self) -> None:
        if not self.available:
            return
        while not self._stop_event.is_set():
            try:
                self._tick()
            except Exception:  # keep monitoring; this thread must not die on one bad sample
                log.exception("memory sample failed")
            self._stop_event.wait(self.interval)

    def _tick(self) -> None:
        sample = self.sample()
        self.last_sample = sample
        if self.sample_file is not None:
            private_write(self.sample_file, json.dumps(sample))
        high = sample["rss_mb"] > self.warn_mb
        low = sample["available_mb"] < LOW_SYSTEM_MEMORY_MB
        if (high or low) and not self._warned:
            self._warned = True
            if high:
                message = (f"xestools is using {sample['rss_mb']:.0f} MB of memory (warning threshold "
                           f"{self.warn_mb:.0f} MB). Close plots or files you no longer need.")
            else:
                message = (f"The computer is running out of memory ({sample['available_mb']:.0f} MB left). "
                           "Save your work and close plots or files you no longer need.")
            log.warning(message)
            if self.on_warning is not None:
                self.on_warning(message, sample)
        elif not high and not low and self._warned and sample["rss_mb"] < 0.9 * self.warn_mb:
            self._warned = False

    def stop(self, timeout: float = 2.0) -> None:
        self._stop_event.set()
        if self.is_alive():
            self.join(timeout)
