"""Scans followed while they are measured, and the watched data folder — the workspace side, no Qt.

:class:`LiveScans` keeps one :class:`~xestools.live.Follower` per followed dataset (by dataset key) and
its :class:`~xestools.live.Progress`; it knows live sources only through the follower (what a source
is: :mod:`xestools.live.source`). ``poll()`` (the GUI calls it from a QTimer, tests from a loop) reads
what is new and hands the new models to :meth:`Workspace.replace_models`, which updates the dataset
*in place*: the map document keeps its cuts, channel and normalisation, the XES scan item keeps its
row, colour and channel (derived items are recomputed). A followed scan stops by itself when it is
complete, replaced, deleted or renamed, or unchanged for ``stale_after`` s; the reason stays in its
progress (``progress(key).state``, ``.text``) and what was read stays in the dataset.
:meth:`LiveScans.follow` starts following a source given its path (a dataset restored with a session).

The watched folder is a :class:`~xestools.live.FolderPoller`; its entries are listed, not loaded.

Callbacks: ``progress_changed(key)`` (a followed dataset's progress or follow state changed),
``data_updated(key)`` (its models were replaced), ``entries_changed()`` (the watched folder's list).
"""
from __future__ import annotations

import logging
import os

from xestools.live import DEFAULT_STALE_AFTER_S, Follower, FolderPoller, FollowUpdate, Progress, ScanEntry
from xestools.workspace.datasets import Dataset, LoadOutcome
from xestools.workspace.events import Event

log = logging.getLogger("xestools.workspace.live")


def _key(follower: Follower) -> str:
    """The key of the dataset a follower feeds (as :attr:`Dataset.key` of its path)."""
    return Dataset(follower.path).key


class LiveScans:
    """Followed datasets of ``workspace`` and the watched folder (module docstring)."""

    def __init__(self, workspace, *, stale_after: float = DEFAULT_STALE_AFTER_S) -> None:
        self.workspace = workspace
        self.stale_after = float(stale_after)
        self._followers: dict[str, Follower] = {}
        self._progress: dict[str, Progress] = {}
        self._opened: set[str] = set()
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
        """The follower's first read, after its source's check for this process (:meth:`LiveSource.vet`).

        A source refused by the check (an HDF5 file that hangs or crashes libhdf5 in the io layer's
        reader process) stops the follower, saying why; later polls read only what is new, in-process.
        """
        refusal = follower.source.vet()
        if refusal:
            follower.stop(f"refused: {refusal}")
        return follower.poll()

    def follow(self, path) -> Follower:
        """Follow the source ``path`` from now on (e.g. a dataset restored with a session, or reopened).

        Its dataset, when open, gets the new points in place at the next :meth:`poll`; when not open,
        the next poll that reads points opens it. Returns the follower (already following).
        """
        follower = self.follower(path)
        key = _key(follower)
        self._followers[key] = follower
        self._progress[key] = follower.progress
        if self.workspace.dataset(key) is not None:
            self._opened.add(key)
        self.progress_changed.emit(key)
        return follower

    def add_first(self, follower: Follower, update: FollowUpdate) -> tuple[Dataset | None, str]:
        """Open what the follower's first poll read; returns (dataset, error message naming the file).

        No models yet (the header is not written, or the file is not readable yet): nothing is added and
        the follower is kept, so ``poll()`` opens the dataset as soon as the first points can be read.
        """
        key = _key(follower)
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
        """The Follow toggle: off stops the follower (points so far stay); on follows the file again.

        A scan whose file was replaced, deleted or renamed is not followed again: the file at its path
        is another one (or none), whose points must not enter this dataset; the progress stays as it was.
        """
        if key not in self._progress:
            return
        follower = self._followers.get(key)
        if on and self._progress[key].ended:
            self.progress_changed.emit(key)       # the toggle shows the state again: not following
            return
        if not on and follower is not None and follower.following:
            follower.stop("stopped by the user")
        elif on and (follower is None or not follower.following):
            dataset = self.workspace.dataset(key)
            self._followers[key] = self.follower(dataset.path if dataset is not None else key)
        else:
            return
        self._progress[key] = self._followers[key].progress
        self.progress_changed.emit(key)

    def follow_open(self, key: str) -> None:
        """Follow an open dataset again (a restored session followed it): the next poll reads it in place."""
        dataset = self.workspace.dataset(key)
        if dataset is None or self.is_following(key):
            return
        self._followers[key] = self.follower(dataset.path)
        self._progress[key] = self._followers[key].progress
        self._opened.add(key)
        self.progress_changed.emit(key)

    def to_state(self) -> dict:
        """What a session keeps: the watched folder (and pattern) and the files still followed."""
        watched = {"folder": self.poller.folder, "pattern": self.poller.pattern} if self.poller is not None else None
        followed = [self.workspace.dataset(key).path for key in self.following_keys if self.workspace.dataset(key)]
        return {"watched": watched, "followed": followed}

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
        if self.workspace.replace_models(key, models) is not None:
            self.data_updated.emit(key)

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
