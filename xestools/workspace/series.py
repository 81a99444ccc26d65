"""Series of repeats in the workspace, averaged maps and map differences, the processing recipe. No Qt.

Every loaded scan goes into a :class:`~xestools.analysis.series.SeriesIndex` (one series per sample,
command and channel; twins, the same scan in two formats, set aside with a notice). The dataset panel
shows :meth:`SeriesWorkspace.groups`: the datasets of each series under its name, e.g.
"ZnO_standard — VtC XES, 3 scans".

An averaged map or a map difference is a :class:`DerivedDataset`: a dataset like any other (map
document, both views, cuts, normalisation, export, Ω slices), whose objects are computed from the
datasets it names (``members``) by :mod:`xestools.analysis`. The session keeps its recipe (members,
operation, options), and recomputes it once the member files are open again.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field

from xestools.analysis.series import SeriesIndex, average_series
from xestools.model import RXESMap, evolve
from xestools.workspace.datasets import Dataset
from xestools.workspace.events import Event

DERIVED_PREFIX = "derived:"
OPERATIONS = ("average", "difference")


@dataclass
class DerivedDataset(Dataset):
    """A map computed from open datasets: ``operation`` "average" (of ``members``) or "difference" (A − B)."""

    name: str = ""
    operation: str = "average"
    members: tuple[str, ...] = ()
    options: dict = field(default_factory=dict)

    @property
    def key(self) -> str:
        return DERIVED_PREFIX + self.name

    @property
    def title(self) -> str:
        return self.name

    def to_state(self) -> dict:
        return {"name": self.name, "operation": self.operation, "members": list(self.members),
                "options": dict(self.options)}


@dataclass(frozen=True)
class SeriesGroup:
    """One series as the dataset panel shows it: its name, notices, member and twin dataset keys."""

    name: str
    kind: str
    keys: tuple[str, ...]
    twin_keys: tuple[str, ...]
    notices: tuple[str, ...]


def compute_derived_maps(operation: str, datasets: list[Dataset], options: dict) -> list[RXESMap]:
    """The maps of a derived dataset, one per channel the inputs share (average, or A − B of two)."""
    from xestools.analysis.map_average import map_difference

    if operation not in OPERATIONS:
        raise ValueError(f"unknown map operation {operation!r}")
    channels = [m.channel for m in datasets[0].maps if all(d.map_for(m.channel) is not None for d in datasets)]
    if not channels:
        raise ValueError("the maps share no spectrometer channel")
    results = []
    for channel in channels:
        maps = [dataset.map_for(channel) for dataset in datasets]
        if operation == "difference":
            results.append(map_difference(maps[0], maps[1], label=options.get("label", "")))
        else:
            results.append(average_series(maps, weighted=bool(options.get("weighted", False)),
                                          grid=options.get("grid", "overlap"), label=options.get("label", "")))
    # a derived map is no file's map: its sources are in metadata["members"], not in ``source``
    return [evolve(result, source="") for result in results]


class SeriesWorkspace:
    """The series of the open scans, and which averages follow their series (module docstring).

    Callbacks: ``changed()`` when a series gains or loses a scan.
    """

    def __init__(self) -> None:
        self.index = SeriesIndex()
        #: when True, an averaged map whose series gains a repeat is recomputed
        self.follow_averages = False
        self.changed = Event()
        #: id of every scan object → key of the dataset it was read from (a file's own exports keep the
        #: original ``source``, so the object's source does not name the dataset)
        self._owners: dict[int, str] = {}

    def set_follow_averages(self, on: bool) -> None:
        """Keep averages up to date as their series gains repeats (or not)."""
        self.follow_averages = bool(on)

    def _key_of(self, obj) -> str:
        return self._owners.get(id(obj)) or (os.path.abspath(obj.source) if obj.source else "")

    def add(self, dataset: Dataset) -> list[str]:
        """Put every scan of ``dataset`` into its series; returns the notices (twins)."""
        notices = []
        for obj in dataset.objects:
            self._owners[id(obj)] = dataset.key
            result = self.index.add(obj)
            if result.notice:
                notices.append(result.notice)
        self.changed.emit()
        return notices

    def remove(self, dataset: Dataset) -> None:
        for obj in dataset.objects:
            self.index.remove(obj)
            self._owners.pop(id(obj), None)
        self.changed.emit()

    def series_of_dataset(self, dataset: Dataset):
        """The series of ``dataset``'s first scan (all its channels are repeats alike), or None."""
        return self.index.series_of(dataset.objects[0]) if dataset.objects else None

    def groups(self) -> list[SeriesGroup]:
        """One group per series of the first channel of each file (other channels group the same files)."""
        groups, seen = [], set()
        for series in self.index.series:
            keys = tuple(dict.fromkeys(self._key_of(obj) for obj in series.members))
            twins = tuple(dict.fromkeys(self._key_of(obj) for obj in series.twins if self._key_of(obj) not in keys))
            if (keys, twins) in seen:
                continue
            seen.add((keys, twins))
            groups.append(SeriesGroup(series.name, series.signature.kind, keys, twins, tuple(series.notices)))
        return groups

    def member_keys(self, dataset: Dataset) -> tuple[list[str], list[str]]:
        """(member dataset keys, twin dataset keys) of ``dataset``'s series; ([], []) when it has none."""
        series = self.series_of_dataset(dataset)
        if series is None:
            return [], []
        keys = list(dict.fromkeys(self._key_of(obj) for obj in series.members))
        twins = [key for key in dict.fromkeys(self._key_of(obj) for obj in series.twins) if key not in keys]
        return keys, twins


__all__ = ["DERIVED_PREFIX", "DerivedDataset", "SeriesGroup", "SeriesWorkspace", "compute_derived_maps"]


# ----------------------------------------------------------------------------- workspace operations
def _series_label(series) -> str:
    """The series name without its count ("ZnO_standard — Kα RXES"): stable while repeats arrive."""
    return series.name.rsplit(",", 1)[0]


def average_map_series(workspace, key: str, *, weighted: bool = False, grid: str = "overlap") -> DerivedDataset:
    """Average the series of the map dataset ``key`` into a new map dataset (twins counted once)."""
    dataset = workspace.dataset(key)
    if dataset is None or dataset.kind != "rxes" or isinstance(dataset, DerivedDataset):
        raise ValueError("choose a loaded RXES map to average its series")
    keys, twins = workspace.series.member_keys(dataset)
    if len(keys) < 2:
        raise ValueError(f"{dataset.title} has no repeats open: its series has one scan")
    series = workspace.series.series_of_dataset(dataset)
    name = f"Average of {_series_label(series)}"
    options = {"weighted": bool(weighted), "grid": grid, "label": f"{name} ({len(keys)} scans)", "follow_key": key}
    return _add_derived(workspace, name, "average", keys + twins, options)


def map_difference(workspace, key_a: str, key_b: str) -> DerivedDataset:
    """A − B of two open maps (σ propagated) as a new map dataset."""
    a, b = workspace.dataset(key_a), workspace.dataset(key_b)
    if a is None or b is None or a.kind != "rxes" or b.kind != "rxes":
        raise ValueError("choose two open RXES maps for the difference A − B")
    if a is b:
        raise ValueError("choose two different maps for the difference A − B")
    name = f"{a.title} − {b.title}"
    return _add_derived(workspace, name, "difference", [key_a, key_b], {"label": name})


def _add_derived(workspace, name: str, operation: str, keys: list[str], options: dict) -> DerivedDataset:
    datasets = [workspace.dataset(key) for key in keys]
    missing = [os.path.basename(key) for key, dataset in zip(keys, datasets) if dataset is None]
    if missing:
        raise ValueError(f"{name}: {', '.join(missing)} not open")
    maps = compute_derived_maps(operation, datasets, options)
    derived = DerivedDataset(path=name, objects=maps, name=name, operation=operation, members=tuple(keys),
                             options=options)
    workspace.add_derived(derived)
    return derived


def _scan_uids(workspace, keys: list[str]) -> list[int]:
    """The XES scan items of the datasets ``keys``, in that order."""
    from xestools.workspace.items import ItemKind

    by_path = {os.path.abspath(item.source_path): item.uid for item in workspace.xes.items.items
               if item.kind is ItemKind.SCAN and item.source_path}
    return [by_path[key] for key in keys if key in by_path]


def average_spectra_series(workspace, key: str, *, weighted: bool | None = None, grid: str | None = None):
    """Average the series of the XES dataset ``key`` into a new XES item (twins counted once, said in status)."""
    dataset = workspace.dataset(key)
    if dataset is None or dataset.kind != "xes":
        raise ValueError("choose a loaded XES scan to average its series")
    keys, twins = workspace.series.member_keys(dataset)
    if len(keys) < 2:
        raise ValueError(f"{dataset.title} has no repeats open: its series has one scan"
                         + (" (its twin in the other format is the same scan)" if twins else ""))
    series = workspace.series.series_of_dataset(dataset)
    uids = _scan_uids(workspace, keys)
    item = workspace.xes.average(uids, grid=grid, weighted=weighted,
                                 name=f"Average of {_series_label(series)} ({len(uids)} scans)", follow_key=key)
    for notice in series.notices:
        workspace.say(notice)
    return item


def _refresh_spectra(workspace, keys: list[str]) -> list[int]:
    from xestools.workspace.items import ItemKind

    uids = _scan_uids(workspace, keys)
    refreshed = []
    for item in workspace.xes.items.items:
        if item.kind is ItemKind.AVERAGE and item.params.get("follow_key") in keys and set(item.inputs) < set(uids):
            workspace.xes.items.set_inputs(item.uid, uids, name=item.name.rsplit(" (", 1)[0] + f" ({len(uids)} scans)")
            workspace.xes.recompute([item.uid])
            refreshed.append(item.uid)
    return refreshed


def refresh_followed(workspace, dataset: Dataset) -> list:
    """Recompute the averages (maps and spectra) that follow ``dataset``'s series, when the user asked for it."""
    if not workspace.series.follow_averages:
        return []
    keys, twins = workspace.series.member_keys(dataset)
    if dataset.kind != "rxes":
        return _refresh_spectra(workspace, keys)
    refreshed = []
    for derived in [d for d in workspace.datasets if isinstance(d, DerivedDataset) and d.operation == "average"]:
        if dataset.key in derived.members or derived.options.get("follow_key") not in keys:
            continue
        if len(keys) < 2:
            continue
        options = {**derived.options, "label": f"{derived.name} ({len(keys)} scans)"}
        refreshed.append(_add_derived(workspace, derived.name, "average", keys + twins, options))
    return refreshed


def restore_derived(workspace, states: list[dict]) -> list[dict]:
    """Recompute the saved derived maps whose members are all open; returns the states still waiting."""
    waiting = []
    for state in states:
        members = [os.path.abspath(str(path)) for path in state.get("members") or []]
        if not members or not all(workspace.dataset(key) is not None for key in members):
            waiting.append(state)
            continue
        operation = state.get("operation")
        options = state.get("options") if isinstance(state.get("options"), dict) else {}
        try:
            derived = _add_derived(workspace, str(state.get("name") or operation), str(operation), members, options)
        except ValueError as exc:
            workspace.say(f"Session map {state.get('name')!r} not restored: {exc}")
            continue
        saved = state.get("document") or {}
        document = workspace.maps.document(derived.key)
        if document is not None and isinstance(saved, dict):
            workspace.maps.restore_document(document, saved)
    return waiting


__all__ += ["average_map_series", "average_spectra_series", "map_difference", "refresh_followed", "restore_derived"]
