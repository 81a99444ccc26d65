"""Everything that is open, without Qt: datasets, the RXES map documents and the XES items.

The one place a loaded file is routed: maps to the RXES documents (and to the XES tab for Ω
slices), spectra to the XES items. The main window shows this; the session is its ``to_state``.
"""
from __future__ import annotations

import logging
import os

from xestools.workspace.datasets import Dataset, LoadOutcome
from xestools.workspace.events import Event
from xestools.workspace.maps import MapWorkspace
from xestools.workspace import series as derived_maps
from xestools.workspace.series import DerivedDataset, SeriesWorkspace
from xestools.workspace.xes import XesWorkspace

log = logging.getLogger("xestools.workspace")

SESSION_VERSION = 1


class Workspace:
    """Datasets by file key (in opening order), the current one, the map and XES workspaces.

    Callbacks: ``datasets_changed()`` (a file was added or closed, or the current one changed),
    ``status(text)`` for one-line messages.
    """

    def __init__(self) -> None:
        self._datasets: dict[str, Dataset] = {}
        self.current_key: str | None = None
        self.maps = MapWorkspace()
        self.xes = XesWorkspace()
        self.series = SeriesWorkspace()
        self._pending_derived: list[dict] = []
        self._pending_files: dict[str, dict] = {}
        self._pending_normalisations: dict[str, dict] = {}
        self.pending_current: str | None = None
        self.datasets_changed = Event()
        self.status = Event()

    @property
    def datasets(self) -> list[Dataset]:
        return list(self._datasets.values())

    def dataset(self, key: str | None) -> Dataset | None:
        return self._datasets.get(key) if key is not None else None

    @property
    def current(self) -> Dataset | None:
        return self.dataset(self.current_key)

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
        if self._pending_derived and opened:
            self._pending_derived = derived_maps.restore_derived(self, self._pending_derived)
        self.apply_pending_normalisations()
        if self.pending_current and self.pending_current in self._datasets:
            self.select(self.pending_current)
            self.pending_current = None
        if opened:
            self.datasets_changed.emit()
        return opened, errors

    def add_dataset(self, dataset: Dataset) -> None:
        """Route a dataset: a map to the RXES documents (and the XES tab's Ω slices), spectra to the XES items."""
        key = dataset.key
        self._datasets[key] = dataset
        pending = self._pending_files.pop(key, None)
        if dataset.kind == "rxes":
            document = self.maps.add_dataset(dataset, show=True)
            if pending:
                self.maps.restore_document(document, pending)
                if isinstance(pending.get("normalisation"), dict):
                    self._pending_normalisations[key] = pending["normalisation"]
            for rxes_map in dataset.maps:
                self.xes.add_map(rxes_map, path=dataset.path)
        else:
            self.xes.add_spectra(dataset.spectra)
        self.current_key = key
        if not isinstance(dataset, DerivedDataset):
            for notice in self.series.add(dataset):
                self.status.emit(notice)
            derived_maps.refresh_followed(self, dataset)

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

    def update_objects(self, key: str, objects) -> Dataset | None:
        """New objects of the open dataset ``key`` (a followed scan read further), updated in place.

        The map document keeps its cuts, channel and normalisation; the XES tab's Ω-slice maps and scan
        items of the file take the new data (their derived items are recomputed). Returns the dataset,
        None when ``key`` is not open.
        """
        dataset = self._datasets.get(key)
        if dataset is None:
            return None
        was_in_progress, old_objects = derived_maps.in_progress(dataset), dataset.objects
        dataset.objects = list(objects)
        if not isinstance(dataset, DerivedDataset):
            self.series.update(dataset, old_objects)
        if dataset.kind == "rxes":
            self.maps.update_dataset(dataset)
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
        self._datasets = dict(datasets)
        if current_key in self._datasets:
            self.current_key = current_key
        elif self.current_key not in self._datasets:
            self.current_key = next(reversed(self._datasets), None)
        self.datasets_changed.emit()

    def clear(self) -> None:
        """Close everything (another session is being opened): datasets, maps, XES items, failures."""
        for key in list(self._datasets):
            self.close(key)
        self._pending_files.clear()
        self._pending_normalisations.clear()
        self.pending_current = None
        xes = self.xes
        xes.pending_restore = None
        xes.items.clear()
        if xes.maps:
            xes.maps, xes.current_map = [], -1
            xes.maps_changed.emit()
        if xes.failures:
            xes.failures.clear()
            xes.failures_changed.emit()

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

    def apply_pending_normalisations(self) -> None:
        """Re-apply session normalisations whose reference spectrum is now loaded."""
        for key, state in list(self._pending_normalisations.items()):
            source = os.path.abspath(str(state.get("reference_source") or ""))
            channel, window = state.get("reference_channel"), state.get("window")
            reference = next((spectrum for dataset in self._datasets.values() for spectrum in dataset.spectra
                              if os.path.abspath(spectrum.source or dataset.path) == source
                              and (spectrum.channel.value if spectrum.channel else None) == channel), None)
            if reference is None or not isinstance(window, (list, tuple)) or len(window) != 2:
                continue
            del self._pending_normalisations[key]
            document = self.maps.document(key)
            if document is None:
                continue
            try:
                if document is self.maps.current:
                    self.maps.normalise(reference, (float(window[0]), float(window[1])))
                else:
                    document.set_normalisation(reference, (float(window[0]), float(window[1])))
            except ValueError as exc:
                self.status.emit(f"Session normalisation of {os.path.basename(key)} not restored: {exc}")

    # ------------------------------------------------------------------ session
    def to_state(self) -> dict:
        """Files (with their channels, cuts, normalisations), the current one, the map style, the XES tab."""
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
        return {"version": SESSION_VERSION, "files": files, "current": current, "rxes": rxes,
                "xes_panel": self.xes.to_state(), "derived": derived}

    def prepare_restore(self, state: dict) -> tuple[list[str], list[str]]:
        """Apply the style and remember each file's saved state until it is loaded.

        Returns (paths to open, paths that no longer exist).
        """
        rxes = state.get("rxes") or {}
        if isinstance(rxes.get("style"), dict):
            try:
                self.maps.restore_style(rxes["style"])
            except (TypeError, ValueError) as exc:
                log.warning("ignoring map style from session: %s", exc)
        paths, missing = [], []
        for entry in state.get("files") or []:
            if not isinstance(entry, dict) or not entry.get("path"):
                continue
            path = str(entry["path"])
            if not os.path.isfile(path):
                missing.append(path)
                continue
            self._pending_files[os.path.abspath(path)] = entry
            paths.append(path)
        self._pending_derived = [entry for entry in state.get("derived") or [] if isinstance(entry, dict)]
        current = state.get("current")
        self.pending_current = os.path.abspath(current) if isinstance(current, str) else None
        return paths, missing
