"""Everything that is open, without Qt: datasets, the RXES map documents and the XES items.

The one place a loaded file is routed: maps to the RXES documents (and to the XES tab for Ω
slices), spectra to the XES items. The main window shows this; the session is its ``to_state``,
and :meth:`Workspace.restore` brings a saved state back: each file read once, then applied in small
steps that a GUI spreads over event-loop turns.
"""
from __future__ import annotations

import copy
import logging
import os
from dataclasses import dataclass, field
from typing import Callable, Iterator

from xestools.workspace import session
from xestools.workspace.datasets import Dataset, LoadOutcome, load_files
from xestools.workspace.events import Event
from xestools.workspace.maps import MapWorkspace
from xestools.workspace import series as derived_maps
from xestools.workspace.series import DerivedDataset, SeriesWorkspace
from xestools.workspace.xes import XesWorkspace

log = logging.getLogger("xestools.workspace")

SESSION_VERSION = 1

#: ``read(paths, deliver)``: read every path once (the GUI on its worker pool) and call ``deliver(outcomes)``;
#: parts may come first as ``deliver(part, more=True)`` (their files are applied while the rest is read)
Reader = Callable[[list, Callable[..., None]], None]
#: ``run(steps)``: drive a restore's steps (an iterator) until it ends or yields :data:`WAITING`, and again
#: when more files arrive; the GUI runs a slice per event-loop turn so that the window keeps answering
Runner = Callable[[Iterator], None]
#: yielded by a restore's steps while the next file it needs is still being read
WAITING = "waiting for files"


def read_here(paths: list[str], deliver: Callable[[list], None]) -> None:
    """Read on the calling thread (tests, scripts); the GUI passes a reader on its worker pool."""
    deliver(load_files(paths))


def run_now(steps: Iterator) -> None:
    """Every step at once, as far as the files read so far allow (tests, scripts)."""
    for step in steps:
        if step is WAITING:
            return


@dataclass
class RestoreReport:
    """What a restore brought back and what it could not: for the message the user sees."""

    opened: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    live: dict = field(default_factory=dict)


class Workspace:
    """Datasets by file key (in opening order), the current one, the map and XES workspaces.

    Callbacks: ``datasets_changed()`` (a file was added or closed, or the current one changed),
    ``status(text)`` for one-line messages, ``restored(report)`` when a restore has been applied.
    """

    def __init__(self) -> None:
        self._datasets: dict[str, Dataset] = {}
        self.current_key: str | None = None
        self.maps = MapWorkspace()
        self.xes = XesWorkspace()
        self.series = SeriesWorkspace()
        self._restoring: _RestoreJob | None = None
        self._chosen_while_restoring: str | None = None
        self._live = None
        self.datasets_changed = Event()
        self.status = Event()
        self.restored = Event()

    @property
    def datasets(self) -> list[Dataset]:
        return list(self._datasets.values())

    def dataset(self, key: str | None) -> Dataset | None:
        return self._datasets.get(key) if key is not None else None

    @property
    def current(self) -> Dataset | None:
        return self.dataset(self.current_key)

    @property
    def is_restoring(self) -> bool:
        """A restore was started and is still reading its files or applying them."""
        return self._restoring is not None

    def say(self, text: str) -> None:
        """A one-line message for the status bar."""
        self.status.emit(text)

    def attach_live(self, live) -> None:
        """The followed scans and watched folder (an object with ``to_state()``): kept in the session."""
        self._live = live

    # ------------------------------------------------------------------ adding and closing
    def add_outcomes(self, outcomes: list[LoadOutcome]) -> tuple[list[Dataset], list[str]]:
        """Add every loaded file; returns (datasets opened, error messages naming the files)."""
        errors, opened = [], []
        for outcome in outcomes:
            if outcome.error:
                errors.append(outcome.error)
                continue
            dataset = Dataset(outcome.path, outcome.objects)
            self.add_dataset(dataset)
            opened.append(dataset)
        if opened:
            if self._restoring is not None:   # the user's own file (named on the command line) stays the one shown
                self._chosen_while_restoring = opened[-1].key
            self.datasets_changed.emit()
        return opened, errors

    def add_dataset(self, dataset: Dataset, *, to_xes: bool = True, show: bool = True) -> None:
        """Route a dataset: a map to the RXES documents (shown unless ``show`` is False; and, with
        ``to_xes``, to the XES tab's Ω slices), spectra to the XES items."""
        key = dataset.key
        self._datasets[key] = dataset
        if dataset.kind == "rxes":
            self.maps.add_dataset(dataset, show=show)
        if to_xes:
            self._add_to_xes(dataset)
        self.current_key = key
        if not isinstance(dataset, DerivedDataset):
            for notice in self.series.add(dataset):
                self.say(notice)
            derived_maps.refresh_followed(self, dataset)

    def _add_to_xes(self, dataset: Dataset) -> None:
        if dataset.kind == "rxes":
            for rxes_map in dataset.maps:
                self.xes.add_map(rxes_map, path=dataset.path)
        else:
            self.xes.add_spectra(dataset.spectra)

    def add_derived(self, dataset: DerivedDataset) -> None:
        """An averaged map or map difference: shown like any loaded map."""
        self.add_dataset(dataset)
        self.datasets_changed.emit()

    def select(self, key: str) -> bool:
        """Make ``key`` the current dataset (and its map the shown one); False when it is not open."""
        dataset = self._datasets.get(key)
        if dataset is None:
            return False
        self.current_key = key
        if dataset.kind == "rxes":
            self.maps.show(key)
        self.datasets_changed.emit()
        return True

    def replace_models(self, key: str, models) -> Dataset | None:
        """New models of the open dataset ``key`` (a followed scan read further), updated in place.

        The map document keeps its cuts, channel and normalisation; the XES tab's Ω-slice maps and scan
        items of the file take the new data (their derived items are recomputed); the series index and the
        averages that follow it are brought up to date. Returns the dataset, None when ``key`` is not open.
        """
        dataset = self._datasets.get(key)
        if dataset is None:
            return None
        was_in_progress, old_objects = derived_maps.in_progress(dataset), dataset.objects
        dataset.replace_objects(models)
        if not isinstance(dataset, DerivedDataset):
            self.series.update(dataset, old_objects)
        if dataset.kind == "rxes":
            self.maps.replace_data(dataset)
        self.xes.update_source(dataset.path, dataset.objects)
        if was_in_progress and not derived_maps.in_progress(dataset):
            derived_maps.refresh_followed(self, dataset)     # a repeat became complete: its averages say so
        return dataset

    def close(self, key: str | None) -> Dataset | None:
        """Close a dataset: its map document, its XES items and maps go (derived items stay, stale)."""
        dataset = self._datasets.pop(key, None) if key is not None else None
        if dataset is None:
            return None
        if dataset.kind == "rxes":
            self.maps.remove(key)
        self.xes.remove_source(dataset.path)
        if not isinstance(dataset, DerivedDataset):
            self.series.remove(dataset)
        if self.current_key == key:
            self.current_key = next(reversed(self._datasets), None) if self._datasets else None
        self.datasets_changed.emit()
        return dataset

    def replace_datasets(self, datasets: dict, current_key: str | None) -> None:
        """Exactly these datasets (an undo re-opens a closed one) with ``current_key`` current."""
        if list(datasets) == list(self._datasets):
            return
        self._datasets = dict(datasets)
        if current_key in self._datasets:
            self.current_key = current_key
        elif self.current_key not in self._datasets:
            self.current_key = next(reversed(self._datasets), None)
        self.datasets_changed.emit()

    def clear(self) -> None:
        """Close everything (another session is being opened): datasets, maps, XES items, failures."""
        self._restoring = None
        for key in list(self._datasets):
            self.close(key)
        self.xes.clear()

    def follow_map(self) -> None:
        """The shown map became current (chosen in the RXES tab)."""
        document = self.maps.current
        if document is not None and document.dataset.key in self._datasets and document.dataset.key != self.current_key:
            self.current_key = document.dataset.key
            self.datasets_changed.emit()

    def reference_spectra(self) -> list[tuple[str, object]]:
        """Loaded 1D spectra usable as normalisation references: (label, Spectrum)."""
        found = []
        for dataset in self._datasets.values():
            for spectrum in dataset.spectra:
                channel = f" ({spectrum.channel})" if spectrum.channel is not None else ""
                found.append((f"{dataset.title}{channel}", spectrum))
        return found

    def _restore_normalisation(self, key: str, state: dict) -> str:
        """Re-apply a saved map normalisation; returns why not ("" when done)."""
        source = os.path.abspath(str(state.get("reference_source") or ""))
        channel, window = state.get("reference_channel"), state.get("window")
        reference = next((spectrum for dataset in self._datasets.values() for spectrum in dataset.spectra
                          if os.path.abspath(spectrum.source or dataset.path) == source
                          and (spectrum.channel.value if spectrum.channel else None) == channel), None)
        name = os.path.basename(key)
        if reference is None or not isinstance(window, (list, tuple)) or len(window) != 2:
            return f"Session normalisation of {name} not restored: its reference {os.path.basename(source)} is not open"
        document = self.maps.document(key)
        try:
            if document is self.maps.current:
                self.maps.normalise(reference, (float(window[0]), float(window[1])))
            elif document is not None:
                document.set_normalisation(reference, (float(window[0]), float(window[1])))
        except ValueError as exc:
            return f"Session normalisation of {name} not restored: {exc}"
        return ""

    # ------------------------------------------------------------------ session
    def to_state(self) -> dict:
        """Files (with their channels, cuts, normalisations), the current one, the map style, the XES tab,
        followed scans and the watched folder. While a restore is reading its files, the state being
        restored with what the user opened meanwhile: a half-restored workspace never replaces its session."""
        state = self._state_now()
        if self._restoring is not None:
            return session.merge_restoring(copy.deepcopy(self._restoring.state), state)
        return state

    def _state_now(self) -> dict:
        rxes = self.maps.to_state()
        documents = {os.path.abspath(d["path"]): d for d in rxes.pop("documents")}
        files, derived = [], []
        for key, dataset in self._datasets.items():
            if isinstance(dataset, DerivedDataset):
                document = self.maps.document(key)
                derived.append({**dataset.to_state(), "document": document.to_state() if document else {}})
                continue
            entry = {"path": dataset.path, "kind": dataset.kind}
            entry.update({k: v for k, v in documents.get(key, {}).items() if k != "path"})
            files.append(entry)
        current = self._datasets[self.current_key].path if self.current_key in self._datasets else None
        state = {"version": SESSION_VERSION, "files": files, "current": current, "rxes": rxes,
                 "xes_panel": self.xes.to_state(), "derived": derived}
        if self._live is not None:
            state["live"] = self._live.to_state()
        return state

    def restore(self, state: dict, read: Reader = read_here, run: Runner = run_now) -> None:
        """Bring back a saved state: every file it needs is listed once and read once by ``read`` (the GUI's
        worker pool; default: here), then maps, cuts, normalisations, derived maps, the XES items and the
        current dataset are applied in that order by ``run`` (default: at once; the GUI: a slice per
        event-loop turn), files as they arrive, and ``restored(report)`` is emitted. Until then
        :meth:`to_state` keeps describing the state being restored and :attr:`is_restoring` is true."""
        state = state if isinstance(state, dict) else {}
        paths, missing = session.restore_paths(state)
        job = _RestoreJob(state, paths, missing)
        job.steps = self._applying(job)
        self._restoring = job

        def deliver(outcomes, more: bool = False) -> None:
            if self._restoring is not job:
                return
            for outcome in outcomes:
                job.read[os.path.abspath(outcome.path)] = outcome
            job.complete = job.complete or not more
            run(job.steps)
        if paths:
            read(paths, deliver)
        else:
            deliver([])

    def _applying(self, job: "_RestoreJob") -> Iterator:
        """The restore's steps, each small (one file, one derived map, …); yields WAITING while the next
        file is still being read. A restore replaced or cleared meanwhile stops at its next step."""
        state = job.state
        live = state.get("live")
        report = RestoreReport(missing=list(job.missing), live=dict(live) if isinstance(live, dict) else {})
        try:
            yield from self._apply_files(job, report)
            if self._restoring is not job:
                return
            current = state.get("current")
            current = os.path.abspath(current) if isinstance(current, str) else None
            if self._chosen_while_restoring in self._datasets:
                current = self._chosen_while_restoring
            shown = current if self.maps.document(current) is not None else None
            if shown is None and self.maps.current is None and self.maps.documents:
                shown = self.maps.documents[-1].dataset.key
            if shown is not None:
                self.current_key = shown        # the views following the shown map hear it once, below
                self.maps.show(shown)
                yield
        except BaseException:
            if self._restoring is job:
                self._restoring = None
            raise
        if self._restoring is not job:
            return
        self._restoring = None
        self._chosen_while_restoring = None
        if not (current is not None and self.select(current)):
            self.datasets_changed.emit()
        yield
        if self._restoring is not None:      # another restore began meanwhile: its report is the one said
            return
        for note in report.notes:
            self.say(note)
        self.restored.emit(report)

    def _apply_files(self, job: "_RestoreJob", report: RestoreReport) -> Iterator:
        state = job.state
        rxes = state.get("rxes") if isinstance(state.get("rxes"), dict) else {}
        if isinstance(rxes.get("style"), dict):
            try:
                self.maps.restore_style(rxes["style"])
            except (TypeError, ValueError) as exc:
                log.warning("ignoring map style from session: %s", exc)
        xes_state = state.get("xes_panel") if isinstance(state.get("xes_panel"), dict) else None
        entries = [entry for entry in session.dicts_in(state.get("files")) if entry.get("path")]
        current = state.get("current")
        current = os.path.abspath(current) if isinstance(current, str) else None
        opened = []
        for entry in entries:
            path = os.path.abspath(str(entry["path"]))
            while path in job.wanted and path not in job.read and not job.complete:
                yield WAITING
            if self._restoring is not job:
                return
            outcome = job.read.get(path)
            if outcome is None:
                continue
            if outcome.error:
                report.errors.append(outcome.error)
                continue
            dataset = Dataset(outcome.path, outcome.objects)
            self.add_dataset(dataset, to_xes=xes_state is None, show=False)     # shown once, below
            document = self.maps.document(dataset.key)
            if document is not None:
                self.maps.restore_document(document, entry)
            opened.append((dataset, entry))
            yield
            if document is not None and dataset.key == current and self.maps.current is None \
                    and not isinstance(entry.get("normalisation"), dict):
                self.current_key = current      # the saved map is drawn while the other files are read
                self.maps.show(current)
                yield
        while not job.complete:
            yield WAITING
        for dataset, entry in opened:
            if isinstance(entry.get("normalisation"), dict) and self._restoring is job:
                report.notes.append(self._restore_normalisation(dataset.key, entry["normalisation"]))
                yield
        for entry in session.dicts_in(state.get("derived")):
            if self._restoring is not job:
                return
            waiting = derived_maps.restore_derived(self, [entry])
            report.notes += [f"Session map {w.get('name')!r} not restored: a member file is not open" for w in waiting]
            yield
        if self._restoring is not job:
            return
        report.notes = [note for note in report.notes if note]
        report.opened = [dataset.path for dataset, _ in opened]
        if xes_state is not None:
            derived = [LoadOutcome(d.path, objects=d.objects) for d in self.datasets if isinstance(d, DerivedDataset)]
            self.xes.restore(xes_state, session.loaded_lookup(list(job.read.values()) + derived))
            yield
            shown = self.xes.shown_files()
            for dataset in self.datasets:     # files the saved XES tab does not show (opened meanwhile)
                if not isinstance(dataset, DerivedDataset) and dataset.key not in shown:
                    self._add_to_xes(dataset)


class _RestoreJob:
    """One restore under way: the state being restored, the files it reads and those read so far."""

    def __init__(self, state: dict, wanted: list[str], missing: list[str]) -> None:
        self.state = state
        self.wanted = set(wanted)
        self.missing = missing
        self.read: dict[str, LoadOutcome] = {}
        self.complete = False
        self.steps: Iterator | None = None
