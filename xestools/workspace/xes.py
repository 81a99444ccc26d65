"""The XES tab's state without Qt: items, maps offered for Ω slices, failures, settings, metrics.

Every command of the tab (average, normalise, background, difference, channel switch, recompute,
metrics, export) is a method here that calls :mod:`xestools.analysis` and records a new, named,
removable item remembering its inputs and parameters. Listeners connect plain callbacks:
``settings_changed``, ``maps_changed``, ``failures_changed``, ``metrics_changed``, ``status(text)``,
``action(text)``, ``batch(active)`` around many changes at once (a restore: views redraw once at the end); the items list has its own (:class:`~xestools.workspace.items.XesItemList`).
"""
from __future__ import annotations

import json
import logging
import os
from dataclasses import replace
from typing import Callable, Iterable, Sequence

import numpy as np

from xestools.io.atomic import atomic_write
from xestools.model import Channel, RXESMap, Spectrum
from xestools.workspace.events import Event
from xestools.workspace.items import (ItemKind, XesItem, XesItemList, compute_derived, describe, recompute,
                                      recompute_dependants, spectra_of)
from xestools.workspace.xes_results import XesResults
from xestools.workspace.views import XesPlotSettings, XesSettings, XesToolSettings

log = logging.getLogger("xestools.workspace.xes")

SESSION_VERSION = 1


def map_title(rxes_map: RXESMap) -> str:
    channel = f" [{rxes_map.channel}]" if rxes_map.channel is not None else ""
    return f"{os.path.basename(rxes_map.source) or rxes_map.label}{channel}"


class XesWorkspace(XesResults):
    """Items, maps, failures and settings of the XES tab (see the module docstring); the result
    commands (fit, calibrate, align, exclude a repeat) are in :class:`~xestools.workspace.results.XesResults`."""

    def __init__(self) -> None:
        self.items = XesItemList()
        self.maps: list[RXESMap] = []
        self.current_map = -1
        self.failures: list[tuple[str, str]] = []
        self.metrics_rows: list = []
        self.background_settings: dict = {}
        self._settings = XesSettings()
        for name in ("settings_changed", "maps_changed", "failures_changed", "metrics_changed", "status",
                     "action", "batch"):
            setattr(self, name, Event())

    # ------------------------------------------------------------------ item access (delegated)
    def item(self, uid: int) -> XesItem | None:
        return self.items.item(uid)

    def all_items(self) -> list[XesItem]:
        return self.items.items

    def set_visible(self, uid: int, visible: bool) -> None:
        self.items.set_visible(uid, visible)

    def describe_item(self, uid: int) -> str:
        return describe(self.items.item(uid), self.items)

    # ------------------------------------------------------------------ settings
    @property
    def settings(self) -> XesSettings:
        return self._settings

    def set_settings(self, settings: XesSettings) -> None:
        if settings != self._settings:
            self._settings = settings
            self.settings_changed.emit()

    def set_plot_settings(self, plot: XesPlotSettings) -> None:
        self.set_settings(replace(self._settings, plot=plot))

    def set_tool_settings(self, tools: XesToolSettings) -> None:
        self.set_settings(replace(self._settings, tools=tools))

    def update_tools(self, **changes) -> None:
        self.set_tool_settings(replace(self._settings.tools, **changes))

    def _say(self, text: str) -> None:
        log.info(text)
        self.status.emit(text)

    def _did(self, text: str) -> None:
        self.action.emit(text)

    # ------------------------------------------------------------------ loading
    def add_loaded(self, path: str, objects: Sequence) -> None:
        """The objects read from ``path``: maps become available for Ω slices, spectra one item."""
        spectra = [obj for obj in objects if isinstance(obj, Spectrum)]
        for obj in objects:
            if isinstance(obj, RXESMap):
                self.add_map(obj, path=path)
        if spectra:
            self.add_scan(spectra, path)

    def add_failures(self, failures: Iterable[tuple[str, str]]) -> None:
        self.failures.extend((str(path), str(reason)) for path, reason in failures)
        self.failures_changed.emit()

    def add_spectra(self, spectra: Sequence[Spectrum]) -> list[XesItem]:
        """Add loaded spectra; spectra of one file that differ only by channel become one item."""
        groups: list[list[Spectrum]] = []
        for spectrum in spectra:
            last = groups[-1] if groups else None
            if (last and spectrum.source and last[0].source == spectrum.source
                    and spectrum.channel not in {s.channel for s in last}):
                last.append(spectrum)
            else:
                groups.append([spectrum])
        return [self.add_scan(group, group[0].source) for group in groups]

    def add_scan(self, spectra: Sequence[Spectrum], path: str) -> XesItem:
        """One item per file: a file already in the list is not added twice (e.g. when the main
        window reopens the files of a restored session), the existing item is returned."""
        first = spectra[0]
        if path:
            key = os.path.abspath(path)
            for existing in self.items.items:
                if existing.kind is ItemKind.SCAN and existing.source_path and os.path.abspath(existing.source_path) == key:
                    self._say(f"{os.path.basename(path)} is already in the XES list")
                    return existing
        name = os.path.basename(path) if path else (first.label or "scan")
        channels = {spectrum.channel: spectrum for spectrum in spectra}
        item = self.items.add_item(ItemKind.SCAN, first, name=name, source_path=path or first.source, channels=channels)
        self._suggest_windows(first)
        self._relink(item)
        return item

    def _relink(self, scan: XesItem) -> None:
        """A file closed earlier was opened again: derived items that used it take the new scan and
        are recomputed (they were kept, marked stale, when it was closed)."""
        key = os.path.abspath(scan.source_path)
        relinked = self.items.relink(scan, key)
        if relinked:
            self.recompute(relinked)
            self._say(f"{len(relinked)} derived item(s) use {os.path.basename(key)} again and were recomputed")

    def _suggest_windows(self, spectrum: Spectrum) -> None:
        """Give the normalisation and metrics windows the data's range the first time data arrive."""
        lo, hi = self._settings.tools.normalise_window
        window = data_window(spectrum)
        if hi > lo or window is None:
            return
        self.update_tools(normalise_window=window, metrics_window=window)

    def fit_windows_to(self, uid: int) -> None:
        """Windows that miss the data of item ``uid`` (the one selected) move to its range; a window
        that overlaps them stays where the user put it."""
        window = data_window(self.items.item(uid).spectrum)
        if window is None:
            return
        tools = self._settings.tools
        changes = {name: window for name in ("normalise_window", "metrics_window")
                   if not windows_overlap(getattr(tools, name), window)}
        if changes:
            self.update_tools(**changes)

    def add_map(self, rxes_map: RXESMap, *, path: str = "") -> None:
        """Make a map available for 1D XES slices at a chosen Ω (and make it the current one)."""
        if path and not rxes_map.source:
            from xestools.model import evolve

            rxes_map = evolve(rxes_map, source=path)
        for index, known in enumerate(self.maps):
            if known.source and known.source == rxes_map.source and known.channel == rxes_map.channel:
                self.choose_map(index)
                return
        self.maps.append(rxes_map)
        self.choose_map(len(self.maps) - 1)

    def choose_map(self, index: int) -> None:
        """The map the Ω-slice chooser offers (-1: none)."""
        self.current_map = index if -1 <= index < len(self.maps) else len(self.maps) - 1
        self.maps_changed.emit()

    def set_maps(self, maps: Sequence[RXESMap], current: int) -> None:
        """Exactly these maps (an undo puts a closed file's maps back)."""
        if [id(m) for m in maps] != [id(m) for m in self.maps]:
            self.maps = list(maps)
            self.choose_map(min(current, len(self.maps) - 1))

    def shown_files(self) -> set[str]:
        """The files (absolute paths) a scan item or a map in the tab was read from."""
        return {os.path.abspath(item.source_path) for item in self.items.items
                if item.kind is ItemKind.SCAN and item.source_path} | {os.path.abspath(m.source) for m in self.maps
                                                                       if m.source}

    def clear(self) -> None:
        """Forget every item, map and failure (another session is being opened)."""
        self.items.clear()
        if self.maps:
            self.maps, self.current_map = [], -1
            self.maps_changed.emit()
        if self.failures:
            self.failures.clear()
            self.failures_changed.emit()

    def add_map_slice(self, map_index: int, omega: float, width: float | None = None) -> XesItem:
        """A 1D XES of a loaded map at incident energy Ω (``analysis.xes_at_incident``)."""
        rxes_map = self.maps[map_index]
        params = {"omega": float(omega), "width": None if not width else float(width),
                  "map_source": rxes_map.source, "map_channel": None if rxes_map.channel is None else str(rxes_map.channel)}
        name = f"{os.path.basename(rxes_map.source) or rxes_map.label} at Ω = {omega:.2f} eV"
        spectrum, _ = compute_derived(ItemKind.MAP_SLICE, [], params, label=name, source_map=rxes_map)
        self._did(f"XES of a map at Ω = {omega:.2f} eV")
        return self.items.add_item(ItemKind.MAP_SLICE, spectrum, name=name, params=params, source_map=rxes_map,
                                   source_path=rxes_map.source)

    # ------------------------------------------------------------------ derived items
    def ticked_scan_uids(self) -> list[int]:
        """Ticked measured spectra (loaded scans and map slices), not derived results."""
        return [item.uid for item in self.items.visible_items() if item.kind in (ItemKind.SCAN, ItemKind.MAP_SLICE)]

    def ticked_uids(self) -> list[int]:
        return [item.uid for item in self.items.visible_items()]

    def average(self, uids: Sequence[int] | None = None, *, grid: str | None = None, weighted: bool | None = None,
                name: str = "", follow_key: str | None = None, complete_only: bool = False) -> XesItem:
        """New average item of the given (default: ticked) items; it remembers its members (and, with
        ``follow_key``, the dataset whose series it follows and whether it takes complete scans only)."""
        tools = self._settings.tools
        uids = list(uids) if uids is not None else self.ticked_scan_uids()
        if len(uids) < 2:
            raise ValueError("tick at least two loaded scans to average")
        grid = grid or tools.average_grid
        weighted = tools.average_weighted if weighted is None else weighted
        params = {"grid": grid, "weighted": bool(weighted)}
        spectrum, _ = compute_derived(ItemKind.AVERAGE, spectra_of(self.items, uids), params)
        members = len(spectrum.metadata.get("members", uids))  # a twin (.nxs + .dat of one scan) counts once
        count = sum(item.kind is ItemKind.AVERAGE for item in self.items.items) + 1
        name = name or tools.average_name.strip() or (f"average {count} ({members} scan{'s' if members != 1 else ''}"
                                                  + (", 1/σ²)" if weighted else ")"))
        spectrum = replace(spectrum, label=name)
        self._did(f"average of {members} items ({grid}, {'weighted' if weighted else 'plain'})")
        for note in spectrum.metadata.get("notes", []):
            self._say(note)
        if follow_key is not None:
            params.update(follow_key=follow_key, complete_only=bool(complete_only))
        return self.items.add_item(ItemKind.AVERAGE, spectrum, name=name, inputs=uids, params=params)

    def update_average(self, uid: int, inputs: Sequence[int], name: str) -> None:
        """An average following its series: its new members and the name that counts them; recomputed."""
        item = self.items.item(uid)
        if item is None:
            return
        self.items.set_spectrum(uid, item.spectrum, inputs=list(inputs), name=name)
        if item.params.get("excluded"):          # repeats left out stay out (and named) as the series grows
            self._set_exclusions(uid, list(item.params["excluded"]), dict(item.params.get("reasons") or {}))
        else:
            self.recompute([uid])

    def normalise(self, uid: int, window: tuple[float, float] | None = None, *,
                  reference_uid: int | None = None) -> XesItem:
        """New item: ``uid`` divided by the area of itself or of ``reference_uid`` over ``window``."""
        window = tuple(sorted(window or self._settings.tools.normalise_window))
        if window[1] <= window[0]:
            raise ValueError("choose a normalisation window (drag on the plot or type its limits)")
        self.update_tools(normalise_window=window)
        item = self.items.item(uid)
        inputs = [uid] + ([reference_uid] if reference_uid is not None else [])
        params = {"window": list(window),
                  "reference": None if reference_uid is None else self.items.item(reference_uid).name}
        suffix = "own area" if reference_uid is None else f"area of {params['reference']}"
        name = f"{item.name} / {suffix} {window[0]:.1f}–{window[1]:.1f}"
        spectrum, _ = compute_derived(ItemKind.NORMALISED, spectra_of(self.items, inputs), params, label=name)
        params["factor"] = (spectrum.metadata.get("normalisation", {}) or {}).get("factor")
        self._did(f"normalise {item.name} ({suffix}, {window[0]:.2f}–{window[1]:.2f} eV)")
        if (spectrum.metadata.get("normalisation", {}) or {}).get("window_clipped"):
            self._say(spectrum.metadata["warnings"][-1])  # the area was taken over less than the window asked
        return self.items.add_item(ItemKind.NORMALISED, spectrum, name=name, inputs=inputs, params=params)

    def add_difference(self, a_uid: int, b_uid: int) -> XesItem:
        a, b = self.items.item(a_uid), self.items.item(b_uid)
        name = f"{a.name} − {b.name}"
        spectrum, _ = compute_derived(ItemKind.DIFFERENCE, spectra_of(self.items, [a_uid, b_uid]), {}, label=name)
        self._did(f"difference {name}")
        return self.items.add_item(ItemKind.DIFFERENCE, spectrum, name=name, inputs=[a_uid, b_uid])

    def background_candidates(self, uid: int) -> list[tuple[int, str, Spectrum]]:
        """Items that may serve as the wide scan of a background fit of ``uid`` (same energy axis)."""
        item = self.items.item(uid)
        return [(other.uid, other.name, other.spectrum) for other in self.items.items
                if other.uid != uid and other.spectrum.axis == item.spectrum.axis]

    def add_background_fit(self, uid: int, fit, *, wide_uid: int | None, settings: dict) -> tuple[XesItem, XesItem]:
        """Background and residual of an accepted fit as two new items (parameters remembered)."""
        from xestools.model import evolve

        item = self.items.item(uid)
        params = {
            "components": [component.spec() for component in fit.components],
            "exclusions": [list(span) for span in fit.exclusions],
            "weighted": bool(settings.get("weighted", True)),
            "weighting": fit.weighting,
            "wide": None if wide_uid is None else self.items.item(wide_uid).name,
            "r_squared": fit.r_squared,
        }
        inputs = [uid] + ([wide_uid] if wide_uid is not None else [])
        background_name, residual_name = f"background of {item.name}", f"{item.name} − background"
        background = self.items.add_item(ItemKind.BACKGROUND, evolve(fit.background, label=background_name),
                                         name=background_name, inputs=inputs, params=params, fit_report=fit.report)
        residual = self.items.add_item(ItemKind.RESIDUAL, evolve(fit.residual, label=residual_name),
                                       name=residual_name, inputs=inputs, params=params, fit_report=fit.report)
        self._did(f"background fit of {item.name}: {fit.model_name}, R² = {fit.r_squared:.4f}")
        return background, residual

    def remember_background_settings(self, settings: dict, wide_uid: int | None) -> None:
        """The dialog's last settings; the wide scan by name, since ids change between sessions."""
        wide_item = self.items.item(wide_uid) if wide_uid is not None else None
        self.background_settings = {**settings, "wide": None, "wide_name": wide_item.name if wide_item else None}

    def background_dialog_settings(self, uid: int) -> dict:
        settings = dict(self.background_settings)
        wide_name = settings.pop("wide_name", None)
        settings["wide"] = next((other for other, name, _ in self.background_candidates(uid) if name == wide_name), None)
        return settings

    def set_channel(self, uid: int, channel: Channel | str) -> list[XesItem]:
        """Switch a scan's channel; averages, normalisations and differences are recomputed (or kept
        and marked stale when impossible); background fits are kept and marked stale, because their
        exclusion spans were chosen on the other channel's data — "Recompute selected" refits them."""
        channel = Channel(channel)
        affected = self.items.set_channel(uid, channel)
        self._did(f"channel of {self.items.item(uid).name} → {channel}")
        still_stale = recompute_dependants(self.items, uid, include_fits=False)
        if affected:
            if still_stale:
                self._say(f"{len(affected) - len(still_stale)} derived item(s) recomputed; "
                          f"{len(still_stale)} kept and marked stale: {still_stale[0].stale_reason}")
            else:
                self._say(f"{len(affected)} derived item(s) recomputed for the {channel} channel")
        return still_stale

    def recompute(self, uids: Sequence[int]) -> int:
        """Recompute the given derived items (and what depends on them); returns how many succeeded."""
        succeeded = 0
        for uid in uids:
            if recompute(self.items, uid):
                succeeded += 1
                recompute_dependants(self.items, uid)
        return succeeded

    def remove(self, uids: Sequence[int]) -> None:
        self.items.remove_uids(uids)

    def update_source(self, path: str, objects: Sequence) -> None:
        """New data of the open file ``path`` (a followed scan read further), in place.

        Its maps in the Ω-slice chooser are replaced channel by channel; its scan items keep their row,
        colour and channel and take the new spectrum (derived items recomputed, fits left stale).
        """
        from xestools.model import evolve

        key = os.path.abspath(os.fspath(path))
        new_maps = {m.channel: m if m.source else evolve(m, source=path) for m in objects if isinstance(m, RXESMap)}
        replaced = False
        for index, known in enumerate(self.maps):
            if known.source and os.path.abspath(known.source) == key and known.channel in new_maps:
                self.maps[index] = new_maps[known.channel]
                replaced = True
        if replaced:
            self.maps_changed.emit()
        spectra = [obj for obj in objects if isinstance(obj, Spectrum)]
        if not spectra:
            return
        channels = {spectrum.channel: spectrum for spectrum in spectra}
        for item in list(self.items.items):
            if item.kind is ItemKind.SCAN and item.source_path and os.path.abspath(item.source_path) == key:
                self.items.set_spectrum(item.uid, channels.get(item.channel) or spectra[0], channels=channels)
                recompute_dependants(self.items, item.uid, include_fits=False)

    def remove_source(self, path: str) -> None:
        """Forget everything that came from the file ``path`` (the main window closed it).

        Removed: the loaded scan items of that file, its maps (from the Ω-slice chooser) and the
        XES-at-Ω items taken from those maps — they are the file's own data. Kept: averages,
        normalisations, fits and differences that used them, with their last result, marked stale
        with the reason (as for a channel switch). They are the scientist's work, may already have
        been exported or compared, and the other members of an average are still loaded; removing
        them silently would lose it, while a stale mark says exactly why they can't be recomputed.
        """
        key = os.path.abspath(os.fspath(path))

        def same_file(other: str | None) -> bool:
            return bool(other) and os.path.abspath(other) == key

        doomed = [item.uid for item in self.items.items
                  if (item.kind is ItemKind.SCAN and same_file(item.source_path))
                  or (item.kind is ItemKind.MAP_SLICE and item.source_map is not None and same_file(item.source_map.source))]
        kept_maps = [m for m in self.maps if not same_file(m.source)]
        if not doomed and len(kept_maps) == len(self.maps):
            return
        name = os.path.basename(key)
        self._did(f"remove the items of {name}")
        if len(kept_maps) != len(self.maps):
            current = self.maps[self.current_map] if 0 <= self.current_map < len(self.maps) else None
            self.maps = kept_maps
            self.current_map = next((i for i, known in enumerate(self.maps) if known is current), len(self.maps) - 1)
            self.maps_changed.emit()
        kept = {dependant.uid for uid in doomed for dependant in self.items.dependants(uid)} - set(doomed)
        self.items.remove_uids(doomed, reason=f"input file {name} was closed; the last result is kept")
        self._say(f"Removed {len(doomed)} item(s) of {name}"
                  + (f"; {len(kept)} derived item(s) kept, marked stale" if kept else ""))

    # ------------------------------------------------------------------ metrics and export
    def compute_metrics(self, uids: Sequence[int] | None = None, *, window: tuple[float, float] | None = None,
                        reference_uid: int | None = None) -> list:
        from xestools.analysis.metrics import line_shape_metrics

        tools = self._settings.tools
        uids = list(uids) if uids is not None else self.ticked_uids()
        if window is None and not tools.metrics_whole_range:
            window = tools.metrics_window
        reference = self.items.item(reference_uid) if reference_uid is not None else None
        rows = []
        for uid in uids:
            # a scan with a background fit gets its background-subtracted row right after its raw one
            shown = [self.items.item(uid)] + [residual for residual in self.items.items
                                              if residual.kind is ItemKind.RESIDUAL and residual.inputs[:1] == [uid]
                                              and residual.uid not in uids]
            for item in shown:
                row = line_shape_metrics(item.spectrum, window=window, reference=reference.spectrum if reference else None)
                rows.append(replace(row, label=item.name, reference=reference.name if reference else ""))
        self.metrics_rows = rows
        self.metrics_changed.emit()
        return rows

    def export_metrics(self, path: str | os.PathLike) -> None:
        from xestools.analysis.metrics import metrics_csv

        atomic_write(path, metrics_csv(self.metrics_rows))
        self._say(f"Metrics written to {path}")

    def export_item(self, uid: int, path: str | os.PathLike) -> None:
        """In the data format the extension names (CSV for an unknown one); read back by ``xestools.io.load``."""
        from xestools.io import formats

        item = self.items.item(uid)
        path = os.fspath(path)
        provenance = {
            "item": item.name,
            "kind": item.kind.value,
            "sources": ", ".join(self.source_names(item)),
            "channel": str(item.channel) if item.channel is not None else "",
            "parameters": json.dumps(item.params, default=str),
            "operations": json.dumps(item.spectrum.metadata.get("operations", []), default=str),
        }
        formats.write(item.spectrum, path, header=provenance)
        self._did(f"export {item.name} to {os.path.basename(path)}")
        self._say(f"{item.name} written to {path}")

    def source_names(self, item: XesItem) -> list[str]:
        if not item.inputs:
            return [item.source_path or item.spectrum.source or item.name]
        names = []
        for uid in item.inputs:
            parent = self.items.item(uid)
            names.extend(self.source_names(parent) if parent is not None else [f"(removed #{uid})"])
        return names

    def save_fit_report(self, uid: int, path: str | os.PathLike) -> None:
        item = self.items.item(uid)
        if not item.fit_report:
            raise ValueError(f"{item.name} has no fit report (only background, residual and fit items do)")
        atomic_write(path, item.fit_report)

    # ------------------------------------------------------------------ session
    def to_state(self) -> dict:
        """JSON-serialisable: items (with inputs and parameters), maps, plot and tool settings."""
        from xestools.workspace.session import xes_to_state

        return xes_to_state(self)

    def restore(self, state: dict, objects_of: Callable[[str], list]) -> None:
        """Rebuild from ``state`` once its files were read; ``objects_of(path)`` returns what a file holds
        (or raises XesFormatError/OSError). Items whose files or inputs are gone become failures naming why."""
        from xestools.workspace import session

        state = state if isinstance(state, dict) else {}
        self.batch.emit(True)
        try:
            self.clear()
            self.set_settings(session.settings_from_state(state))
            saved = state.get("background_dialog")
            self.background_settings = dict(saved) if isinstance(saved, dict) else {}
            maps, failures = session.maps_of_state(state, objects_of)
            for rxes_map, path in maps:
                self.add_map(rxes_map, path=path)
            failures += session.restore_items(self.items, self.maps, state, objects_of)
            self.add_failures(failures)
        finally:
            self.batch.emit(False)


def data_window(spectrum: Spectrum) -> tuple[float, float] | None:
    """The energy range of a spectrum's finite points (to 0.01 eV), or None without any."""
    energy = np.asarray(spectrum.energy, dtype=float)
    energy = energy[np.isfinite(energy)]
    if not energy.size:
        return None
    return round(float(energy.min()), 2), round(float(energy.max()), 2)


def windows_overlap(a: tuple[float, float], b: tuple[float, float]) -> bool:
    """Two energy windows share more than a point (an empty window overlaps nothing)."""
    return a[1] > a[0] and b[1] > b[0] and min(a[1], b[1]) > max(a[0], b[0])
