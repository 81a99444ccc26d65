"""Open RXES maps as documents: the dataset, the shown channel, its cuts and its normalisation.

A channel, view, colour-scale or normalisation change never touches the cuts; the displayed map is
always computed from the raw map (a normalisation never compounds). No Qt here.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from xestools.model import Channel, RXESMap, Spectrum
from xestools.workspace.cuts import CutModel
from xestools.workspace.datasets import Dataset


@dataclass
class MapDocument:
    """One open map file: its channels, the shown channel, its cuts and its normalisation."""

    dataset: Dataset
    channel: Channel | None
    cuts: CutModel = field(default_factory=CutModel)
    normalisation: dict | None = None     # {"reference": Spectrum, "window": (lo, hi)}
    _display_cache: dict = field(default_factory=dict)

    @property
    def channels(self) -> tuple[str, ...]:
        return tuple(c.value for c in self.dataset.channels)

    def raw_map(self) -> RXESMap:
        return self.dataset.map_for(self.channel) or self.dataset.maps[0]

    def display_map(self) -> RXESMap:
        """The shown map: the raw map of the channel, normalised (from raw, never compounding) if asked."""
        key = (self.channel, id(self.normalisation))
        cached = self._display_cache.get(key)
        if cached is not None:
            return cached
        rxes_map = self.raw_map()
        if self.normalisation is not None:
            from xestools.analysis import normalise_map

            rxes_map = normalise_map(rxes_map, self.normalisation["reference"], tuple(self.normalisation["window"]))
        self._display_cache.clear()
        self._display_cache[key] = rxes_map
        return rxes_map

    def set_channel(self, channel: Channel | str) -> None:
        self.channel = Channel(getattr(channel, "value", channel))
        self._display_cache.clear()

    def set_dataset(self, dataset: Dataset) -> None:
        """The file was opened again: new data, same cuts; the channel is kept when it still exists."""
        self.dataset = dataset
        if self.channel not in dataset.channels:
            self.channel = dataset.maps[0].channel
        self._display_cache.clear()

    def set_normalisation(self, reference: Spectrum | None, window=None) -> None:
        self.normalisation = None if reference is None else {"reference": reference, "window": tuple(window)}
        self._display_cache.clear()

    def restore_normalisation(self, normalisation: dict | None) -> None:
        """Put back a normalisation exactly as it was (the same record: an undo step compares it by identity)."""
        if normalisation is not self.normalisation:
            self.normalisation = normalisation
            self._display_cache.clear()

    def normalise(self, reference: Spectrum, window: tuple[float, float]) -> RXESMap:
        """Normalise and return the new display map; on a ValueError the previous state stays."""
        previous = self.normalisation
        self.set_normalisation(reference, window)
        try:
            return self.display_map()
        except ValueError:
            self.normalisation = previous
            self._display_cache.clear()
            raise

    def to_state(self) -> dict:
        state = {"path": self.dataset.path, "channel": self.channel.value if self.channel else None,
                 "cuts": self.cuts.to_state()}
        if self.normalisation is not None:
            reference = self.normalisation["reference"]
            state["normalisation"] = {"window": [float(v) for v in self.normalisation["window"]],
                                      "reference_source": reference.source,
                                      "reference_channel": reference.channel.value if reference.channel else None}
        return state
