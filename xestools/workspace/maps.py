"""The RXES tab's state without Qt: open map documents, the shown one, and the map style.

Listeners connect plain callbacks: ``current_changed()`` (another document is shown, or none),
``display_changed()`` (the shown map's data changed: channel or normalisation), ``style_changed(old)``
(view, scale, colours, contours), ``action(text)`` for the user-action log.
"""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from xestools.model import Channel, Spectrum
from xestools.plot_settings import MapStyle
from xestools.workspace.datasets import Dataset
from xestools.workspace.documents import MapDocument
from xestools.workspace.events import Event
from xestools.workspace.views import style_from_state, style_to_state


def default_cut(rxes_map, kind: str, position: float | None, width: float | None) -> tuple[float, float]:
    """Position (centre of the map) and width (three grid steps) of a new cut when not given."""
    from xestools.analysis.cuts import CutType
    from xestools.analysis.grid import estimate_step

    definition = CutType(kind).definition
    if position is None:
        omega_in = float(np.mean(rxes_map.incident_axis[[0, -1]]))
        emission = float(np.mean(rxes_map.emission_axis[[0, -1]]))
        position = round(float(definition.coordinate(omega_in, emission)), 2)
    if width is None:
        # three grid steps (the larger step of the axes the cut runs across): band edges fall midway
        # between grid values, so read-back jitter never decides whether a neighbouring row or column is in the band
        step = max(abs(coefficient) * estimate_step(axis) for coefficient, axis in
                   ((definition.incident, rxes_map.incident_axis), (definition.emission, rxes_map.emission_axis))
                   if coefficient != 0)
        width = round(3 * step, 2) or 0.5
    return position, width


class MapWorkspace:
    """Map documents by file key, the current one and the style shared by all (module docstring)."""

    def __init__(self) -> None:
        self._documents: dict[str, MapDocument] = {}
        self.current: MapDocument | None = None
        self.style = MapStyle()
        for name in ("current_changed", "display_changed", "style_changed", "action", "document_added"):
            setattr(self, name, Event())

    @property
    def documents(self) -> list[MapDocument]:
        return list(self._documents.values())

    def document(self, key: str) -> MapDocument | None:
        return self._documents.get(key)

    def available_channels(self) -> tuple[str, ...]:
        return self.current.channels if self.current is not None else ()

    # ------------------------------------------------------------------ documents
    def add_dataset(self, dataset: Dataset, *, show: bool = True, channel: str | None = None) -> MapDocument:
        """Register an RXES dataset (all its channels) and, by default, show it."""
        document = self._documents.get(dataset.key)
        if document is None:
            document = MapDocument(dataset, dataset.maps[0].channel)
            self._documents[dataset.key] = document
            self.document_added.emit(document)
        elif document.dataset is not dataset:
            document.set_dataset(dataset)
            if document is self.current:
                self.current = None   # shown again below, from the new data
        if channel is not None and any(c.value == channel for c in dataset.channels):
            document.set_channel(channel)
        if show:
            self.show(dataset.key)
        return document

    def remove(self, key: str) -> None:
        document = self._documents.pop(key, None)
        if document is None or document is not self.current:
            return
        remaining = list(self._documents)
        if remaining:
            self.show(remaining[-1])
        else:
            self.current = None
            self.current_changed.emit()

    def put_back(self, documents: list[tuple[MapDocument, dict | None]], current: str | None) -> None:
        """Exactly these documents, each with this normalisation (what an undo puts back); ``current``
        is shown when the shown one is gone or documents came back."""
        wanted = {document.dataset.key: document for document, _ in documents}
        shown_normalisation = self.current.normalisation if self.current is not None else None
        reopened = set(wanted) != set(self._documents)
        for document in wanted.values():
            if document not in self._documents.values():
                self.document_added.emit(document)
        self._documents = wanted
        for document, normalisation in documents:
            document.restore_normalisation(normalisation)
        if reopened or self.current is None or self.current.dataset.key not in wanted:
            key = current if current in wanted else next(reversed(wanted), None)
            self._show_or_clear(key)
        elif self.current.normalisation is not shown_normalisation:
            self.display_changed.emit()

    def _show_or_clear(self, key: str | None) -> None:
        if key is not None and key in self._documents:
            self.show(key)
        elif self.current is not None:
            self.current = None
            self.current_changed.emit()

    def replace_data(self, dataset: Dataset) -> None:
        """New data of an open map (a followed scan grew), in place: cuts, channel and normalisation stay."""
        document = self._documents.get(dataset.key)
        if document is not None:
            document.set_dataset(dataset)
            if document is self.current:
                self.display_changed.emit()

    def show(self, key: str) -> None:
        document = self._documents[key]
        if document is not self.current:
            self.current = document
            self.current_changed.emit()

    # ------------------------------------------------------------------ channel, style, normalisation
    def set_channel(self, channel: str | Channel) -> None:
        """Show another channel of the current scan; cuts, view and scale stay as they are."""
        document = self.current
        value = getattr(channel, "value", channel)
        if document is None:
            return
        if value not in document.channels:
            raise ValueError(f"{document.dataset.title} has no {value} channel")
        if document.channel is not None and document.channel.value == value:
            return
        document.set_channel(value)
        self.action.emit(f"channel {value}")
        self.display_changed.emit()

    def set_style(self, style: MapStyle) -> None:
        if style != self.style:
            old, self.style = self.style, style
            self.style_changed.emit(old)

    def set_view(self, view: str) -> None:
        view = getattr(view, "value", view)
        if view != self.style.view:
            self.set_style(replace(self.style, view=view))
            self.action.emit(f"view {view}")

    def normalise(self, reference: Spectrum, window: tuple[float, float]) -> None:
        """Divide the shown map by the area of ``reference`` over ``window`` (from the raw map: no compounding)."""
        if self.current is None:
            raise ValueError("no map is open")
        self.current.normalise(reference, window)
        self.action.emit(f"normalise map by {reference.label or reference.source} over {window}")
        self.display_changed.emit()

    def remove_normalisation(self) -> None:
        if self.current is None or self.current.normalisation is None:
            return
        self.current.set_normalisation(None)
        self.action.emit("remove map normalisation")
        self.display_changed.emit()

    # ------------------------------------------------------------------ cuts
    def add_cut(self, kind: str, position: float | None = None, width: float | None = None,
                mean: bool = False) -> int:
        """Add a cut (at the centre of the current map when no position is given); returns its id."""
        if self.current is None:
            raise ValueError("open a map before adding cuts")
        position, width = default_cut(self.current.display_map(), kind, position, width)
        ident = self.current.cuts.add(kind, position, width, mean)
        self.action.emit(f"add cut {kind} at {position:.2f} width {width:.2f}")
        return ident

    def remove_all_cuts(self) -> None:
        if self.current is not None:
            self.current.cuts.clear()
            self.action.emit("remove all cuts")

    # ------------------------------------------------------------------ session
    def to_state(self) -> dict:
        return {"documents": [d.to_state() for d in self._documents.values()],
                "current": self.current.dataset.path if self.current else None,
                "style": style_to_state(self.style)}

    def restore_style(self, state: dict) -> None:
        """Apply a saved style; a bad one is refused with ValueError/TypeError and nothing changes."""
        self.set_style(style_from_state(state))

    def restore_document(self, document: MapDocument, state: dict) -> None:
        """A document's saved channel and cuts (the normalisation waits for its reference spectrum)."""
        channel = state.get("channel")
        if channel in document.channels:
            if document is self.current:
                self.set_channel(channel)
            else:
                document.set_channel(channel)
        document.cuts.restore(state.get("cuts", []))
