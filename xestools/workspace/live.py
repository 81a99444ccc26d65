"""Scans followed while they are measured, and the watched data folder — the workspace side, no Qt.

:class:`LiveScans` keeps one :class:`~xestools.live.Follower` per followed dataset (by file key) and
its :class:`~xestools.live.Progress`. ``poll()`` (the GUI calls it from a QTimer, tests from a loop)
reads what is new and puts the new models into the workspace *in place*: the map document keeps its
cuts, channel and normalisation (:meth:`MapDocument.set_dataset`), the XES scan item keeps its row,
colour and channel (derived items are recomputed). A followed scan stops by itself when it is complete
or unchanged for ``stale_after`` s; the reason stays in its progress text.

The watched folder is a :class:`~xestools.live.FolderPoller`; its entries are listed, not loaded.

Callbacks: ``progress_changed(key)`` (a followed dataset's progress or follow state changed),
``data_updated(key)`` (its models were replaced), ``entries_changed()`` (the watched folder's list).
"""
from __future__ import annotations

import logging
import os

from xestools.io.errors import XesFormatError, XesReadRefused
from xestools.io.formats import HDF5_SIGNATURE
from xestools.live import DEFAULT_STALE_AFTER_S, Follower, FolderPoller, FollowUpdate, Progress, ScanEntry
from xestools.workspace.datasets import Dataset, LoadOutcome
from xestools.workspace.events import Event
from xestools.workspace.items import ItemKind, recompute_dependants

log = logging.getLogger("xestools.workspace.live")

def _is_hdf5(path: str) -> bool:
    try:
        with open(path, "rb") as handle:
            return handle.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE
    except OSError:
        return False


class LiveScans:
    """Followed datasets of ``workspace`` and the watched folder (module docstring)."""

    def __init__(self, workspace, *, stale_after: float = DEFAULT_STALE_AFTER_S) -> None:
        self.workspace = workspace
        self.stale_after = float(stale_after)
        self._followers: dict[str, Follower] = {}
        self._progress: dict[str, Progress] = {}
        self._opened: set[str] = set()
        self._guarded: set[str] = set()     # HDF5 files whose first read passed the reader process
        self.poller: FolderPoller | None = None
        self.progress_changed = Event()
        self.data_updated = Event()
        self.entries_changed = Event()
        workspace.datasets_changed.connect(self._forget_closed)

    # ------------------------------------------------------------------ state
    def follower(self, path) -> Follower:
        """A new follower for ``path`` (not yet polled: its first poll is the "open")."""
        return Follower(path, stale_after=self.stale_after)

    def is_live(self, key: str | None) -> bool:
        """``key`` was opened through a follower (it has a progress and a Follow toggle)."""
        return key in self._progress

    def is_following(self, key: str | None) -> bool:
        follower = self._followers.get(key)
        return follower is not None and follower.following

    def progress(self, key: str | None) -> Progress | None:
        return self._progress.get(key)

    def progress_text(self, key: str | None) -> str:
        progress = self._progress.get(key)
        return progress.text if progress is not None else ""

    @property
    def following_keys(self) -> list[str]:
        return [key for key, follower in self._followers.items() if follower.following]

    # ------------------------------------------------------------------ opening and following
    def first_poll(self, follower: Follower) -> FollowUpdate:
        """The follower's first read of an HDF5 file goes through the io layer's guard first.

        The file's structure is read once in the time-limited reader process (:func:`xestools.io.detect`):
        a file that makes libhdf5 hang or crash is refused there (the follower stops, saying why) instead
        of blocking or killing this process; other errors of a file still being written are "not yet"
        (the follower reads again at the next poll). Later polls read only the new slices in-process.
        """
        key = os.path.abspath(follower.path)
        if key not in self._guarded and _is_hdf5(follower.path):
            from xestools.io import detect, sandbox

            if sandbox.enabled():
                try:
                    detect(follower.path)
                except XesReadRefused as error:       # the reader process hung or crashed on it
                    follower.stop(f"refused: {error.problem}")
                    return follower.poll()
                except XesFormatError as error:
                    # the reader process got through libhdf5 to a format-level answer: no hang, no crash;
                    # a scan being written may simply not be complete yet — the follower decides
                    log.debug("%s: structure not readable yet: %s", follower.path, error)
            self._guarded.add(key)
        return follower.poll()

    def add_first(self, follower: Follower, update: FollowUpdate) -> tuple[Dataset | None, str]:
        """Open what the follower's first poll read; returns (dataset, error message naming the file).

        No models yet (the header is not written, or the file is not readable yet): nothing is added and
        the follower is kept, so ``poll()`` opens the dataset as soon as the first points can be read.
        """
        key = os.path.abspath(follower.path)
        self._followers[key] = follower
        self._progress[key] = update.progress
        if not update.models:
            if not follower.following:
                self._followers.pop(key, None)
                self._progress.pop(key, None)
                name = os.path.basename(follower.path)
                return None, f"{name}: {update.progress.reason or 'no spectrum or map found in the file'}"
            return None, ""
        opened, errors = self.workspace.add_outcomes([LoadOutcome(follower.path, objects=list(update.models))])
        self._opened.add(key)
        self.progress_changed.emit(key)
        return (opened[0] if opened else None), "; ".join(errors)

    def set_follow(self, key: str, on: bool) -> None:
        """The Follow toggle: off stops the follower (points so far stay); on follows the file again."""
        if key not in self._progress:
            return
        follower = self._followers.get(key)
        if not on and follower is not None and follower.following:
            follower.stop("stopped by the user")
        elif on and (follower is None or not follower.following):
            dataset = self.workspace.dataset(key)
            self._followers[key] = self.follower(dataset.path if dataset is not None else key)
        else:
            return
        self._progress[key] = self._followers[key].progress
        self.progress_changed.emit(key)

    def poll(self) -> list[str]:
        """Poll every followed file; returns the keys whose data were replaced."""
        changed = []
        for key, follower in list(self._followers.items()):
            if not follower.following:
                continue
            opened = self.workspace.dataset(key) is not None
            update = follower.poll() if opened else self.first_poll(follower)
            if update.changed and update.models:
                if self.workspace.dataset(key) is None:
                    self.add_first(follower, update)
                else:
                    self.replace_models(key, update.models)
                changed.append(key)
            if update.progress != self._progress.get(key):
                self._progress[key] = update.progress
                self.progress_changed.emit(key)
        return changed

    def replace_models(self, key: str, models) -> None:
        """New models of an open dataset, in place: cuts, channel, normalisation and XES rows stay."""
        dataset = self.workspace.dataset(key)
        if dataset is None:
            return
        dataset.objects = list(models)
        if dataset.kind == "rxes":
            self._replace_map(dataset)
        else:
            self._replace_spectra(dataset)
        self.data_updated.emit(key)

    def _replace_map(self, dataset: Dataset) -> None:
        maps = self.workspace.maps
        document = maps.document(dataset.key)
        if document is not None:
            document.set_dataset(dataset)
            if document is maps.current:
                maps.display_changed.emit()
        xes = self.workspace.xes
        replaced = False
        for new_map in dataset.maps:
            for index, known in enumerate(xes.maps):
                if known.source and os.path.abspath(known.source) == dataset.key and known.channel == new_map.channel:
                    from xestools.model import evolve

                    xes.maps[index] = new_map if new_map.source else evolve(new_map, source=dataset.path)
                    replaced = True
        if replaced:
            xes.maps_changed.emit()

    def _replace_spectra(self, dataset: Dataset) -> None:
        items = self.workspace.xes.items
        channels = {spectrum.channel: spectrum for spectrum in dataset.spectra}
        for item in list(items.items):
            if item.kind is not ItemKind.SCAN or not item.source_path \
                    or os.path.abspath(item.source_path) != dataset.key:
                continue
            spectrum = channels.get(item.channel) or dataset.spectra[0]
            items.set_spectrum(item.uid, spectrum, channels=channels)
            recompute_dependants(items, item.uid, include_fits=False)

    def _forget_closed(self) -> None:
        for key in [key for key in self._opened if self.workspace.dataset(key) is None]:
            follower = self._followers.pop(key, None)
            if follower is not None:
                follower.stop("the dataset was closed")
            self._opened.discard(key)
            self._progress.pop(key, None)

    # ------------------------------------------------------------------ watched folder
    def watch(self, folder, pattern: str | None = None) -> None:
        """Watch ``folder`` for I20 scans (names matching the glob ``pattern`` when given)."""
        if not os.path.isdir(folder):
            raise ValueError(f"{folder}: not a folder")
        self.poller = FolderPoller(folder, pattern or None)
        self.entries_changed.emit()

    def stop_watching(self) -> None:
        if self.poller is not None:
            self.poller = None
            self.entries_changed.emit()

    @property
    def entries(self) -> list[ScanEntry]:
        """Every scan of the watched folder found so far, newest first (listed, not loaded)."""
        return self.poller.entries if self.poller is not None else []

    def poll_folder(self) -> list[ScanEntry]:
        """New scans of the watched folder since the last call, newest first."""
        if self.poller is None:
            return []
        new = self.poller.poll()
        if new:
            self.entries_changed.emit()
        return new
