"""Series of repeats in the workspace, averaged maps and map differences, the processing recipe. No Qt.

Every loaded scan goes into a :class:`~xestools.analysis.series.SeriesIndex` (one series per sample,
command and channel; twins, the same scan in two formats, set aside with a notice). The dataset panel
shows :meth:`SeriesWorkspace.groups`: the datasets of each series under its name, e.g.
"ZnO_standard — VtC XES, 3 scans".

An averaged map or a map difference is a :class:`DerivedDataset`: a dataset like any other (map
document, both views, cuts, normalisation, export, Ω slices), whose objects are computed from the
datasets it names (``members``) by :mod:`xestools.analysis`. The session keeps its recipe (members,
operation, options), and recomputes it once the member files are open again.

A scan still being measured (its reader noted "in progress") is a member like any other, and an
average says so: "Average of ZnO_standard — VtC XES (3 scans, 1 in progress)". With
``complete_only`` (an option of each average; by default the user's last choice,
:attr:`SeriesWorkspace.complete_scans_only`) it is left out until it is complete
("2 scans; 1 in progress left out").
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
        #: default of a new average's ``complete_only``: leave out scans still being measured
        self.complete_scans_only = False
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

    def update(self, dataset: Dataset, old_objects) -> None:
        """``dataset`` was read further (a followed scan): the index holds its new objects, in the same series."""
        for obj in old_objects:
            self.index.remove(obj)
            self._owners.pop(id(obj), None)
        for obj in dataset.objects:
            self._owners[id(obj)] = dataset.key
            self.index.add(obj)

    def set_complete_scans_only(self, on: bool) -> None:
        """The default for new averages: scans still being measured are left out (True) or counted."""
        self.complete_scans_only = bool(on)

    def series_of_dataset(self, dataset: Dataset):
        """The series of ``dataset``'s first scan (all its channels are repeats alike), or None."""
        return self.index.series_of(dataset.objects[0]) if dataset.objects else None

    def groups(self) -> list[SeriesGroup]:
        """One group per series of the first channel of each file (other channels group the same files).

        Its name counts the repeats still being measured: "ZnO_standard — VtC XES, 3 scans, 1 in progress".
        """
        groups, seen = [], set()
        for series in self.index.series:
            keys = tuple(dict.fromkeys(self._key_of(obj) for obj in series.members))
            twins = tuple(dict.fromkeys(self._key_of(obj) for obj in series.twins if self._key_of(obj) not in keys))
            if (keys, twins) in seen:
                continue
            seen.add((keys, twins))
            running = sum(1 for obj in series.members if obj.metadata.get("in_progress"))
            name = series.name + (f", {running} in progress" if running else "")
            groups.append(SeriesGroup(name, series.signature.kind, keys, twins, tuple(series.notices)))
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


def in_progress(dataset: Dataset | None) -> bool:
    """``dataset`` is a scan still being measured (its reader noted its missing points "in progress")."""
    return dataset is not None and any(obj.metadata.get("in_progress") for obj in dataset.objects)


@dataclass(frozen=True)
class Members:
    """The scans an average takes: dataset keys (twins after them), and how many are still being measured."""

    keys: tuple[str, ...]
    twins: tuple[str, ...]
    in_progress: int
    left_out: int

    @property
    def text(self) -> str:
        """"3 scans, 1 in progress", "2 scans; 1 in progress left out" or "3 scans"."""
        count = f"{len(self.keys)} scan{'s' if len(self.keys) != 1 else ''}"
        if self.in_progress:
            return f"{count}, {self.in_progress} in progress"
        return f"{count}; {self.left_out} in progress left out" if self.left_out else count


def series_members(workspace, dataset: Dataset, complete_only: bool) -> Members:
    """The members of ``dataset``'s series an average takes (``complete_only``: none still being measured)."""
    keys, twins = workspace.series.member_keys(dataset)
    running = {key for key in keys + twins if in_progress(workspace.dataset(key))}
    if complete_only:
        used = [key for key in keys if key not in running]
        return Members(tuple(used), tuple(key for key in twins if key not in running), 0, len(keys) - len(used))
    return Members(tuple(keys), tuple(twins), sum(key in running for key in keys), 0)


def _chosen(workspace, complete_only: bool | None) -> bool:
    return workspace.series.complete_scans_only if complete_only is None else bool(complete_only)


def _too_few(dataset: Dataset, members: Members, twins: list[str]) -> str:
    if members.left_out:
        return (f"{dataset.title}: only {len(members.keys)} of its repeats are complete "
                f"({members.left_out} still being measured); average when they are complete, or include them")
    return (f"{dataset.title} has no repeats open: its series has one scan"
            + (" (its twin in the other format is the same scan)" if twins else ""))


def average_map_series(workspace, key: str, *, weighted: bool = False, grid: str = "overlap",
                       complete_only: bool | None = None) -> DerivedDataset:
    """Average the series of the map dataset ``key`` into a new map dataset (twins counted once).

    ``complete_only`` leaves out scans still being measured (None: the user's last choice).
    """
    dataset = workspace.dataset(key)
    if dataset is None or dataset.kind != "rxes" or isinstance(dataset, DerivedDataset):
        raise ValueError("choose a loaded RXES map to average its series")
    complete_only = _chosen(workspace, complete_only)
    members = series_members(workspace, dataset, complete_only)
    if len(members.keys) < 2:
        raise ValueError(_too_few(dataset, members, list(members.twins)))
    series = workspace.series.series_of_dataset(dataset)
    name = f"Average of {_series_label(series)}"
    options = {"weighted": bool(weighted), "grid": grid, "label": f"{name} ({members.text})", "follow_key": key,
               "complete_only": complete_only}
    return _add_derived(workspace, name, "average", list(members.keys + members.twins), options)


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


def _scan_uids(workspace, keys) -> list[int]:
    """The XES scan items of the datasets ``keys``, in that order."""
    from xestools.workspace.items import ItemKind

    by_path = {os.path.abspath(item.source_path): item.uid for item in workspace.xes.items.items
               if item.kind is ItemKind.SCAN and item.source_path}
    return [by_path[key] for key in keys if key in by_path]


def average_spectra_series(workspace, key: str, *, weighted: bool | None = None, grid: str | None = None,
                           complete_only: bool | None = None):
    """Average the series of the XES dataset ``key`` into a new XES item (twins counted once, said in status).

    ``complete_only`` leaves out scans still being measured (None: the user's last choice).
    """
    dataset = workspace.dataset(key)
    if dataset is None or dataset.kind != "xes":
        raise ValueError("choose a loaded XES scan to average its series")
    complete_only = _chosen(workspace, complete_only)
    members = series_members(workspace, dataset, complete_only)
    if len(members.keys) < 2:
        _keys, twins = workspace.series.member_keys(dataset)
        raise ValueError(_too_few(dataset, members, twins))
    series = workspace.series.series_of_dataset(dataset)
    uids = _scan_uids(workspace, members.keys)
    item = workspace.xes.average(uids, grid=grid, weighted=weighted,
                                 name=f"Average of {_series_label(series)} ({members.text})", follow_key=key,
                                 complete_only=complete_only)
    for notice in series.notices:
        workspace.say(notice)
    return item


def _refresh_spectra(workspace, dataset: Dataset) -> list[int]:
    from xestools.workspace.items import ItemKind

    refreshed = []
    keys, _twins = workspace.series.member_keys(dataset)
    for item in workspace.xes.items.items:
        if item.kind is not ItemKind.AVERAGE or item.params.get("follow_key") not in keys:
            continue
        members = series_members(workspace, dataset, bool(item.params.get("complete_only")))
        uids = _scan_uids(workspace, members.keys)
        name = item.name.rsplit(" (", 1)[0] + f" ({members.text})"
        if len(uids) < 2 or (set(uids) == set(item.inputs) and name == item.name):
            continue
        workspace.xes.update_average(item.uid, uids, name)
        refreshed.append(item.uid)
    return refreshed


def refresh_followed(workspace, dataset: Dataset) -> list:
    """Recompute the averages (maps and spectra) that follow ``dataset``'s series, when the user asked for it.

    An average is recomputed when its members changed: a repeat arrived, or a scan still being
    measured became complete (its count "in progress" changes, or it joins a complete-only average).
    """
    if not workspace.series.follow_averages:
        return []
    if dataset.kind != "rxes":
        return _refresh_spectra(workspace, dataset)
    keys, _twins = workspace.series.member_keys(dataset)
    refreshed = []
    for derived in [d for d in workspace.datasets if isinstance(d, DerivedDataset) and d.operation == "average"]:
        if derived.options.get("follow_key") not in keys:
            continue
        members = series_members(workspace, dataset, bool(derived.options.get("complete_only")))
        label = f"{derived.name} ({members.text})"
        if len(members.keys) < 2 or (set(members.keys + members.twins) == set(derived.members)
                                     and label == derived.options.get("label")):
            continue
        options = {**derived.options, "label": label}
        refreshed.append(_add_derived(workspace, derived.name, "average", list(members.keys + members.twins), options))
    return refreshed


def restore_derived(workspace, states: list[dict]) -> list[dict]:
    """Recompute the saved derived maps whose members are all open; returns the states still waiting."""
    waiting = []
    for state in states:
        members = [os.path.abspath(path) for path in state.get("members") or [] if isinstance(path, str)] \
            if isinstance(state.get("members"), list) else []
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


__all__ += ["Members", "average_map_series", "average_spectra_series", "in_progress", "map_difference",
            "refresh_followed", "restore_derived", "series_members"]
