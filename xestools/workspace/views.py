"""Each tab's view settings as plain, frozen dataclasses.

How a plot is drawn (:class:`~xestools.plot_settings.MapStyle`, :class:`~xestools.plot_settings.XesPlotSettings`)
belongs to the drawing layer and is imported from there; the tools' inputs are the workspace's own.

A controls widget turns its widgets into one of these and back; the workspace, the drawing and the
session read these, never the widgets.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields, replace

from xestools.plot_settings import MapStyle, XesPlotSettings

AVERAGE_GRIDS = ("overlap", "union")


@dataclass(frozen=True)
class XesToolSettings:
    """The XES tools' inputs: average grid/weighting/name, normalisation and metrics windows."""

    average_grid: str = "overlap"
    average_weighted: bool = False
    average_name: str = ""
    normalise_window: tuple[float, float] = (0.0, 0.0)
    metrics_window: tuple[float, float] = (0.0, 0.0)
    metrics_whole_range: bool = True

    def __post_init__(self) -> None:
        if self.average_grid not in AVERAGE_GRIDS:
            raise ValueError(f"average grid must be one of {AVERAGE_GRIDS}, not {self.average_grid!r}")
        object.__setattr__(self, "normalise_window", tuple(float(v) for v in self.normalise_window))
        object.__setattr__(self, "metrics_window", tuple(float(v) for v in self.metrics_window))


@dataclass(frozen=True)
class XesSettings:
    """Everything a user sets in the XES tab besides the items themselves."""

    plot: XesPlotSettings = field(default_factory=XesPlotSettings)
    tools: XesToolSettings = field(default_factory=XesToolSettings)


def style_to_state(style: MapStyle) -> dict:
    """A map style as JSON data (percentiles are fixed by the controls and not saved)."""
    state = asdict(style)
    state.pop("percentiles", None)
    return state


def style_from_state(state: dict, base: MapStyle | None = None) -> MapStyle:
    """A map style from session data; unknown keys are ignored, bad values raise ValueError/TypeError."""
    known = {f.name for f in fields(MapStyle)} - {"percentiles"}
    return replace(base or MapStyle(), **{k: v for k, v in (state or {}).items() if k in known})


__all__ = ["AVERAGE_GRIDS", "XesPlotSettings", "XesSettings", "XesToolSettings", "style_from_state", "style_to_state"]
