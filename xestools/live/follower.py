"""Follow one growing scan: ``poll()`` re-reads only what is new and returns updated models.

Qt-free and single-threaded by design: the GUI calls :meth:`Follower.poll` from a QTimer (default
every :data:`DEFAULT_INTERVAL_S`), the CLI, tests and benches from a loop. Changes are detected by
polling size and modification time, which also works on the network file systems of the beamline
(where inotify sees nothing). A file that is still being written may be caught mid-write: a
half-written row, a short read, a dataset that has not grown yet or a transient HDF5 error is
"try again at the next poll" (logged at debug level), never an error.
"""
from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import Callable, Iterator

import numpy as np

from ..io import _common
from ..io.errors import XesFormatError
from ..io.growing import STALL_TIME_S, may_still_grow
from ..model import Spectrum, evolve
from .source import LiveSource, SourceStopped, open_source

log = logging.getLogger("xestools.live")

DEFAULT_INTERVAL_S = 1.0
#: a scan whose file has not changed for this long is taken as finished (aborted, or the writer died)
DEFAULT_STALE_AFTER_S = STALL_TIME_S
#: what reading a file mid-write can raise (h5py reports HDF5 errors as OSError, some as KeyError/ValueError)
TRANSIENT_ERRORS = (OSError, KeyError, ValueError, RuntimeError, XesFormatError)


@dataclass(frozen=True)
class Progress:
    """How far a followed scan is: ``measured`` of ``expected`` points; ``reason`` once it stopped.

    ``ended`` says how it stopped: "replaced" or "missing" (the source is not the one being read any
    more: see :mod:`xestools.live.source`), otherwise "" (complete, unchanged too long, by the user).
    """

    measured: int
    expected: int | None
    following: bool
    reason: str = ""
    ended: str = ""

    @property
    def complete(self) -> bool:
        return self.expected is not None and self.measured >= self.expected

    @property
    def state(self) -> str:
        """"in progress", "complete", "replaced", "missing" or "stopped"."""
        if self.following:
            return "in progress"
        return self.ended or ("complete" if self.complete else "stopped")

    @property
    def text(self) -> str:
        """One line for a status bar or the dataset list."""
        of = f"{self.measured} of {self.expected}" if self.expected else f"{self.measured}"
        if self.following:
            return f"in progress — {of} points"
        state = {"missing": "deleted or renamed"}.get(self.state, self.state)
        return f"{state} — {of} points ({self.reason})"


@dataclass(frozen=True)
class FollowUpdate:
    """What one poll found: the models (one per channel; new objects when ``changed``) and the progress."""

    models: tuple = field(default_factory=tuple)
    progress: Progress = Progress(0, None, True)
    changed: bool = False
    new_points: int = 0
    waiting_for: str = ""


class Follower:
    """Follows a live source (a path: the registered source that reads it, see :mod:`.source`) until it is complete.

    It stops by itself when the source says it is complete (the footer of a ``.dat``, all points of a
    NeXus file), when it is not the source it was (replaced, deleted, renamed: what was read stays),
    or when it is unchanged for ``stale_after`` seconds, and says why in ``progress.reason``.
    ``channel`` selects one spectrometer (None: all). ``clock`` is injectable for tests.
    """

    def __init__(self, source: LiveSource | str | os.PathLike, *, channel=None,
                 stale_after: float = DEFAULT_STALE_AFTER_S, clock: Callable[[], float] = time.monotonic):
        self._tail = open_source(source) if isinstance(source, (str, os.PathLike)) else source
        self.path = self._tail.path
        self.channel = channel
        self.stale_after = float(stale_after)
        self._clock = clock
        self._ended = ""
        self._signature: tuple[int, int] | None = None     # size and mtime when last read
        self._seen: tuple[int, int] | None = None          # size and mtime when last looked at
        self._last_change = clock()
        self._models: tuple = ()
        self._following = True
        self._reason = ""
        self._waiting_for = ""
        self._stale_models = False

    @property
    def following(self) -> bool:
        return self._following

    @property
    def models(self) -> tuple:
        return self._models

    @property
    def progress(self) -> Progress:
        return Progress(self._tail.measured, self._tail.expected, self._following, self._reason, self._ended)

    @property
    def source(self) -> LiveSource:
        return self._tail

    def stop(self, reason: str = "stopped by the user") -> None:
        """Stop following (the models keep the points read so far)."""
        if self._following:
            self._following = False
            self._reason = reason

    def poll(self) -> FollowUpdate:
        """Check size and mtime; if the file changed, read what is new and rebuild the models."""
        if not self._following:
            return self._update(False, 0)
        try:
            signature = self._tail.look()
        except SourceStopped as stopped:
            return self._stopped(stopped)
        if signature is None:
            return self._unchanged(f"{os.path.basename(self.path)} does not exist (yet)")
        if signature != self._seen:
            self._seen, self._last_change = signature, self._clock()
        elif signature == self._signature or self._clock() - self._last_change >= self.stale_after:
            # read already, or unreadable and unchanged for too long
            return self._unchanged("")
        new = 0
        try:
            new = self._tail.read_new()
            complete = self._tail.complete
            if new or complete or self._stale_models:
                self._models = self._build(in_progress=not complete)
        except SourceStopped as stopped:
            return self._stopped(stopped)
        except XesFormatError as error:
            if self._tail.error_is_final(error):
                self._finish(f"cannot be read: {error}")
                return self._update(False, 0)
            return self._retry(error, bool(new))
        except TRANSIENT_ERRORS as error:
            return self._retry(error, False)
        self._signature = signature
        self._waiting_for = ""
        changed, self._stale_models = bool(new) or complete or self._stale_models, False
        if complete:
            self._finish(self._tail.complete_reason)
        return self._update(changed, new)

    def _stopped(self, stopped: SourceStopped) -> FollowUpdate:
        """Not the source it was: stop with the points read so far (nothing of the new one is read).

        The models are built once more from those points, no longer "in progress" (a scan that will not
        grow is not counted as being measured); their points are the same.
        """
        self._ended = stopped.kind
        self._finish(stopped.reason)
        changed = bool(self._tail.measured)
        if changed:
            try:
                self._models = self._build(in_progress=False)
            except TRANSIENT_ERRORS as error:
                log.info("%s: the points read so far stay as they were shown: %s", self.path, error)
                changed = False
        return self._update(changed, 0)

    def _build(self, *, in_progress: bool) -> tuple:
        models = self._tail.models(self.channel, in_progress=in_progress)
        return tuple(pad_spectrum(m) if in_progress and isinstance(m, Spectrum) else m for m in models)

    def _retry(self, error: Exception, read_points: bool) -> FollowUpdate:
        """Mid-write: the signature is not recorded, so the next poll reads (and builds) again."""
        log.debug("%s: not readable yet, trying again at the next poll: %s", self.path, error)
        self._waiting_for = str(error)
        self._stale_models = self._stale_models or read_points
        return self._update(False, 0)

    def _unchanged(self, waiting_for: str) -> FollowUpdate:
        if waiting_for:
            self._waiting_for = waiting_for
        idle = self._clock() - self._last_change
        if idle < self.stale_after:
            return self._update(False, 0)
        reason = f"unchanged for {self.stale_after:g} s"
        if self._waiting_for:
            reason += f"; last problem: {self._waiting_for}"
        elif self._tail.measured:
            reason += "; the scan looks aborted"
        changed = bool(self._tail.measured)
        if changed:
            # no longer "in progress": the missing points are noted as an aborted scan, as when opened
            try:
                self._tail.finalize()
                self._models = self._build(in_progress=False)
            except SourceStopped as stopped:
                return self._stopped(stopped)
            except TRANSIENT_ERRORS as error:
                changed, reason = False, f"{reason}; cannot be read: {error}"
        self._finish(reason)
        return self._update(changed, 0)

    def _finish(self, reason: str) -> None:
        self._following = False
        self._reason = reason
        log.info("%s: stopped following (%s)", self.path, reason)

    def _update(self, changed: bool, new: int) -> FollowUpdate:
        return FollowUpdate(self._models, self.progress, changed, new, self._waiting_for)


def looks_in_progress(path, *, stale_after: float = DEFAULT_STALE_AFTER_S) -> bool:
    """Cheap guess whether GDA is still writing ``path`` (to switch Follow on when a scan is opened).

    The io layer's one answer (:func:`xestools.io.growing.may_still_grow`), which the readers use too.
    """
    return may_still_grow(path, stale_after=stale_after)


def pad_spectrum(spectrum: Spectrum) -> Spectrum:
    """An XES still being measured keeps its whole ω range: the points to come are NaN at their nominal ω.

    The nominal points come from the GDA command; without them the spectrum is left as measured.
    """
    command = spectrum.info.command if spectrum.info is not None else ""
    motor = next((m for m in _common.moving_motors(command) if m.name in _common.EMISSION_MOTORS), None)
    nominal = motor.nominal_points(spectrum.channel) if motor is not None else np.empty(0)
    if nominal.size <= len(spectrum):
        return spectrum
    energy = np.concatenate([spectrum.energy, nominal[len(spectrum):]])
    order = np.argsort(energy, kind="stable")
    missing = np.full(nominal.size - len(spectrum), np.nan)

    def padded(values):
        return None if values is None else np.concatenate([values, missing])[order]

    return evolve(spectrum, energy=energy[order], intensity=padded(spectrum.intensity),
                  uncertainty=padded(spectrum.uncertainty), monitor=padded(spectrum.monitor))


def follow(path, *, interval: float = DEFAULT_INTERVAL_S, timeout: float | None = None,
           sleep: Callable[[float], None] = time.sleep, **options) -> Iterator[FollowUpdate]:
    """Poll ``path`` every ``interval`` s, yielding each update with new points, until it stops.

    ``timeout`` (s) stops following with reason "timed out"; other options go to :class:`Follower`.
    """
    follower = Follower(path, **options)
    started = time.monotonic()
    while True:
        update = follower.poll()
        if update.changed:
            yield update
        if not follower.following:
            return
        if timeout is not None and time.monotonic() - started > timeout:
            follower.stop("timed out")
            yield follower.poll()
            return
        sleep(interval)
